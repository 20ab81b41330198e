// `tether-agent dump-state`: the effective config and the state files as JSON, secrets masked by
// name, by pattern and by value (shared/src/redact.ts) unless --allow-secrets.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { maskDeep } from '@tether/shared/redact.ts';
import { jsonForTerminal } from '@tether/shared/terminal-text.ts';
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

function listJson(dir: string): unknown[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => name.endsWith('.json')).sort().map((name) => readJson(join(dir, name)));
}

export function dumpState(options: { allowSecrets?: boolean }): void {
  const { config, configPath } = loadConfigOrExit();
  const journalPath = join(config.state_dir, 'journal.jsonl');
  const journalEntries = existsSync(journalPath) ? readFileSync(journalPath, 'utf8').split('\n').filter(Boolean).length : 0;
  const dump = {
    config_path: configPath,
    config,
    agent: readJson(join(config.state_dir, 'agent.json')),
    health: readJson(join(config.state_dir, 'health.json')),
    outbox: listJson(join(config.state_dir, 'outbox')),
    running: listJson(join(config.state_dir, 'running')),
    journal: { path: journalPath, entries: journalEntries },
  };
  const shown = options.allowSecrets ? dump : maskDeep(dump, { secrets: configSecretValues(config) });
  process.stdout.write(`${jsonForTerminal(shown)}\n`);
}
