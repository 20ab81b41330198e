// `tether-agent dump-state`: the effective config and the state files as JSON, secrets masked by
// name, by pattern and by value (shared/src/redact.ts) unless --allow-secrets.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@tether/shared/logger.ts';
import { maskDeep } from '@tether/shared/redact.ts';
import { jsonForTerminal } from '@tether/shared/terminal-text.ts';
import { CommandLog } from '../log/command-log.ts';
import { loadConfigOrExit } from './load-config.ts';
import { configSecretValues } from '../secret-values.ts';

function readJson(path: string): unknown {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return { unreadable: (error as Error).message };
  }
}

/** The command log as the running agent left it on disk, read without writing anything. */
function commandLogSummary(stateDir: string, journal: { retention_h: number; max_entries: number }): unknown {
  const log = createLogger({ name: 'dump-state', level: 'warn', destination: process.stderr });
  const commandLog = new CommandLog(stateDir, { retentionMs: journal.retention_h * 3600_000, maxEntries: journal.max_entries }, log, { readOnly: true });
  try {
    const { fdatasyncs: _fdatasyncs, ...stats } = commandLog.stats();
    return { path: commandLog.dir, ...stats, pending_command_ids: commandLog.pendingIds(), running: commandLog.leftoverMarkers() };
  } finally {
    commandLog.close();
  }
}

export function dumpState(options: { allowSecrets?: boolean }): void {
  const { config, configPath } = loadConfigOrExit();
  const dump = {
    config_path: configPath,
    config,
    agent: readJson(join(config.state_dir, 'agent.json')),
    health: readJson(join(config.state_dir, 'health.json')),
    command_log: commandLogSummary(config.state_dir, config.journal),
  };
  const shown = options.allowSecrets ? dump : maskDeep(dump, { secrets: configSecretValues(config) });
  process.stdout.write(`${jsonForTerminal(shown)}\n`);
}
