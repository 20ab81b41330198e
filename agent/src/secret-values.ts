// Every secret value the agent's config holds or points to, so that logs and `dump-state` can
// mask it wherever it shows up (an argv, a URL, an error message), not only under its own name.
import { secretValuesIn, secretValuesInEnv } from '@tether/shared/redact.ts';
import type { AgentWorkerConfig } from './config.ts';

export function configSecretValues(config: AgentWorkerConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  // api_key, secret-named env: entries, passwords inside URLs.
  const values = new Set<string>([config.api_key, ...secretValuesIn(config), ...secretValuesInEnv(env)]);
  for (const target of Object.values(config.backup.targets)) {
    if ('password_env' in target && target.password_env && env[target.password_env]) values.add(env[target.password_env]!);
    // A command target's env: is treated as secret whatever its names (backup/config-schema.ts).
    if (target.kind === 'command') for (const value of Object.values(target.env)) values.add(value);
  }
  return [...values];
}
