// The operator CLI's errors. A mistake in how the CLI was called: printed as one line, exit 2 (one
// class with tether-supervisor's, in shared/src/errors.ts).
import { TetherError } from '@tether/shared/errors.ts';

export { UsageError } from '@tether/shared/errors.ts';

/** The hub answered with an error, or cannot be reached: printed as one line, exit 1. */
export class HubError extends TetherError {
  override name = 'HubError';

  constructor(message: string) {
    super('TETHER_ERR_HUB', message);
  }
}
