// Shared by the backup tests: a real CommandContext, an age key pair on disk, and the CLIs.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createLogger } from '@tether/shared/logger.ts';
import { agentConfigSchema } from '@tether/shared/config/agent-config.ts';
import type { CommandContext, CommandDefinition } from '../../src/commands/command.ts';
import { backupConfigSchema } from '../../src/backup/config-schema.ts';
import type { BackupConfig } from '../../src/backup/config-schema.ts';
import { createBackupCommands } from '../../src/backup/commands.ts';
import { generateIdentity } from '../../src/backup/age/x25519.ts';

export const run = promisify(execFile);

export interface Harness {
  dir: string;
  identityFile: string;
  recipient: string;
  logs: string[];
  progress: Array<Record<string, unknown>>;
  context(overrides?: Partial<CommandContext>): CommandContext;
  commands(backup: unknown): Record<string, CommandDefinition>;
  call(commands: Record<string, CommandDefinition>, name: string, data: unknown, context?: CommandContext): Promise<Record<string, unknown>>;
  cleanup(): Promise<void>;
}

export async function harness(serverUrl = 'ws://127.0.0.1:1', apiKey = 'tk_test_key_0123456789'): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'tether-backup-test-'));
  const { identity, recipient } = generateIdentity();
  const identityFile = join(dir, 'identity.txt');
  await writeFile(identityFile, `# test identity\n${identity}\n`, { mode: 0o600 });
  const logs: string[] = [];
  const progress: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(String(chunk));
      callback();
    },
  });
  const log = createLogger({ name: 'backup-test', level: 'debug', destination, secrets: () => [apiKey] });
  const config = agentConfigSchema.parse({ server_url: serverUrl, api_key: apiKey, state_dir: join(dir, 'state') });
  const h: Harness = {
    dir,
    identityFile,
    recipient,
    logs,
    progress,
    context(overrides = {}) {
      return {
        commandId: 'cmd-1',
        jobId: 'cmd-1',
        signal: new AbortController().signal,
        config,
        stateDir: config.state_dir,
        agentId: 'agent-test',
        log,
        job: { progress: (update) => progress.push(update), output: () => {} },
        requestExit: () => {},
        ...overrides,
      };
    },
    commands(backup) {
      const parsed: BackupConfig = backupConfigSchema.parse(backup);
      return Object.fromEntries(createBackupCommands(parsed).map((command) => [command.name, command]));
    },
    async call(commands, name, data, context = h.context()) {
      const command = commands[name];
      if (!command) throw new Error(`no command ${name}`);
      return command.run(command.params.parse(data), context);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  return h;
}

/** age -d | zstd -d with the real CLIs: what an operator does by hand (docs/backup.md). */
export async function decryptWithCli(artifactPath: string, identityFile: string, outputPath: string): Promise<void> {
  await run('age', ['-d', '-i', identityFile, '-o', `${outputPath}.zst`, artifactPath]);
  await run('zstd', ['-d', '-q', '-f', `${outputPath}.zst`, '-o', outputPath]);
}

export function requireServices(): boolean {
  return process.env.TETHER_REQUIRE_SERVICES === '1';
}

export function artifactPathOf(result: Record<string, unknown>): string {
  return String(result.location).replace(/^local:/, '');
}
