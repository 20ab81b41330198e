// Checks for values that come from the hub and land in an argv: never an option (leading "-"),
// never a ".." path segment, never a NUL byte. Paths are checked on disk in allowed-path.ts.
import { TetherError } from '@tether/shared/errors.ts';

export class UnsafeValue extends TetherError {
  override name = 'UnsafeValue';

  constructor(message: string) {
    super('TETHER_ERR_UNSAFE_VALUE', message);
  }
}

const MAX_VALUE_CHARS = 4096;

/** The rules every hub value passes before any other check. */
export function checkArgvValue(what: string, value: string): string {
  if (value.length === 0) throw new UnsafeValue(`${what} is empty`);
  if (value.length > MAX_VALUE_CHARS) throw new UnsafeValue(`${what} is longer than ${MAX_VALUE_CHARS} characters`);
  if (value.includes('\0')) throw new UnsafeValue(`${what} contains a NUL byte`);
  if (value.startsWith('-')) throw new UnsafeValue(`${what} must not start with "-" (it would be read as an option)`);
  if (value.split(/[\\/]/).includes('..')) throw new UnsafeValue(`${what} must not contain ".." path segments`);
  return value;
}
