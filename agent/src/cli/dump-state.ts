// `tether-agent dump-state`: the effective config and the state files as JSON, secrets masked.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MASK } from '@tether/shared/logger.ts';
import { loadConfigOrExit } from './load-config.ts';

function readJson(path: string): unknown {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return { unreadable: (error as Error).message };
  }
}

function listJson(dir: string): unknown[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => name.endsWith('.json')).sort().map((name) => readJson(join(dir, name)));
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
  const journalPath = join(config.state_dir, 'journal.jsonl');
  const journalEntries = existsSync(journalPath) ? readFileSync(journalPath, 'utf8').split('\n').filter(Boolean).length : 0;
  const dump = {
    config_path: configPath,
    config: shownConfig,
    agent: readJson(join(config.state_dir, 'agent.json')),
    health: readJson(join(config.state_dir, 'health.json')),
    outbox: listJson(join(config.state_dir, 'outbox')),
    running: listJson(join(config.state_dir, 'running')),
    journal: { path: journalPath, entries: journalEntries },
  };
  process.stdout.write(`${JSON.stringify(dump, null, 2)}\n`);
}
