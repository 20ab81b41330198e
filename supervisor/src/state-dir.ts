// Where the supervisor keeps supervisor.json (and, later, versions/). Same rule as
// shared/src/config/agent-config.ts defaultStateDir, restated here because that file imports zod.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TETHER_STATE_DIR) return env.TETHER_STATE_DIR;
  if (process.getuid?.() === 0) return '/var/lib/tether';
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'tether');
}
