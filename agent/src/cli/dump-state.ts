// `tether-agent dump-state`: the effective config and the state files as JSON, secrets masked.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, MASK } from '@tether/shared/logger.ts';
import { CommandLog } from '../log/command-log.ts';
import { loadConfigOrExit } from './load-config.ts';

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

/** Field names whose values are secrets, at any depth of the config (api_key, backup passwords…). */
const SECRET_NAME = /^(api_key|password|secret|token|private_key|identity|.*_(password|secret|token))$/i;

function maskSecretFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecretFields);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, SECRET_NAME.test(key) && item !== undefined && item !== null ? MASK : maskSecretFields(item)]),
  );
}

export function dumpState(options: { allowSecrets?: boolean }): void {
  const { config, configPath } = loadConfigOrExit();
  const shownConfig = options.allowSecrets ? config : maskSecretFields(config);
  const dump = {
    config_path: configPath,
    config: shownConfig,
    agent: readJson(join(config.state_dir, 'agent.json')),
    health: readJson(join(config.state_dir, 'health.json')),
    command_log: commandLogSummary(config.state_dir, config.journal),
  };
  process.stdout.write(`${JSON.stringify(dump, null, 2)}\n`);
}
