import type { z } from 'zod';
import { TetherError } from '../errors.ts';

/** Bad configuration: the process prints `message` and exits 78 without starting anything. */
export class ConfigError extends TetherError {
  override name = 'ConfigError';

  constructor(message: string) {
    super('TETHER_ERR_CONFIG', message);
  }
}

/**
 * One line per problem, naming the field, where its value came from, what is wrong and how to
 * fix it, e.g. `server_url (env TETHER_SERVER_URL): must start with ws://, wss://, http:// or https://`.
 */
export function describeIssues(error: z.ZodError, sourceOf: (field: string) => string | undefined = () => undefined): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.map(String).join('.') || '(root)';
      const source = sourceOf(String(issue.path[0] ?? ''));
      return `  ${field}${source ? ` (${source})` : ''}: ${issue.message}`;
    })
    .join('\n');
}
