// Config for every CLI subcommand: a ConfigError prints its message and exits 78.
import { ConfigError } from '@tether/shared/config/config-error.ts';
import { EXIT_CONFIG } from '@tether/shared/exit-codes.ts';
import { loadConfig } from '../config.ts';
import type { AgentWorkerConfig } from '../config.ts';

export function loadConfigOrExit(exitCode = EXIT_CONFIG): { config: AgentWorkerConfig; configPath: string | null } {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`tether-agent: ${error.message}\n`);
    process.exit(exitCode);
  }
}
