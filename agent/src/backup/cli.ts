// `tether-agent backup run|list|verify|restore`: the same handlers the hub calls, run locally by
// an operator. Progress (bytes, rate, ETA) is drawn on stderr when it is a TTY.
import type { Command } from 'commander';
import pino from 'pino';
import { agentConfigSchema, loadAgentConfig } from '@tether/shared/config/agent-config.ts';
import { ConfigError } from '@tether/shared/config/config-error.ts';
import { EXIT_CONFIG } from '@tether/shared/exit-codes.ts';
import { createLogger } from '@tether/shared/logger.ts';
import type { CommandContext, CommandDefinition, JobReporter } from '../commands/command.ts';
import { backupConfigShape } from './config-schema.ts';
import { createBackupCommands } from './commands.ts';

/** A command line the backup CLI cannot act on (as commander's own usage errors). */
const EXIT_USAGE = 2;

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function progressBar(): JobReporter & { done(): void } {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let drawn = false;
  return {
    progress(update) {
      if (!tty || update.bytes_done === undefined) return;
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const rate = update.bytes_done / seconds;
      const total = update.bytes_total;
      const eta = total && rate > 0 ? `${Math.max(0, Math.round((total - update.bytes_done) / rate))}s` : '?';
      const width = 30;
      const filled = total ? Math.min(width, Math.round((update.bytes_done / total) * width)) : 0;
      const bar = total ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
      process.stderr.write(`\r${bar}${formatBytes(update.bytes_done)}${total ? ` / ${formatBytes(total)}` : ''}  ${formatBytes(rate)}/s  ETA ${eta}   `);
      drawn = true;
    },
    output(line) {
      process.stderr.write(`${line}\n`);
    },
    done() {
      if (drawn) process.stderr.write('\n');
    },
  };
}

/** A refusal before anything ran: one line on stderr and an exit code, never a stack trace. */
function refuse(message: string, exitCode: number): never {
  process.stderr.write(`tether-agent: ${message}\n`);
  process.exit(exitCode);
}

function loadBackupConfig() {
  try {
    return loadAgentConfig(process.env, agentConfigSchema.extend(backupConfigShape)).config;
  } catch (error) {
    if (error instanceof ConfigError) refuse(error.message, EXIT_CONFIG);
    throw error;
  }
}

async function runLocally(name: string, data: Record<string, unknown>): Promise<void> {
  const config = loadBackupConfig();
  const log = createLogger({ name: 'tether-agent', level: 'warn', secrets: () => [config.api_key], destination: pino.destination({ fd: 2, sync: true }) });
  const command = createBackupCommands(config.backup).find((candidate): candidate is CommandDefinition => candidate.name === name)!;
  const parsed = command.params.safeParse(data);
  if (!parsed.success) refuse(parsed.error.issues.map((issue) => `${issue.path.join('.') || name}: ${issue.message}`).join('\n'), EXIT_USAGE);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const job = progressBar();
  const context: CommandContext = {
    commandId: `cli-${Date.now()}`,
    jobId: `cli-${Date.now()}`,
    signal: abort.signal,
    config,
    stateDir: config.state_dir,
    agentId: 'local-cli',
    log,
    job,
    requestExit: () => {},
  };
  try {
    const result = await command.run(parsed.data, context);
    job.done();
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } catch (error) {
    job.done();
    process.stderr.write(`${name} failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

export function registerBackupCli(program: Command): void {
  const backup = program.command('backup').description('back up, list, verify and restore the targets in the backup: section of the config');
  backup
    .command('run <target>')
    .description('back up one target now')
    .option('--destination <where>', 'local (default), hub or s3 (through URLs the hub presigns)', 'local')
    .action((target: string, options: { destination: string }) => runLocally('backup', { target, destination: options.destination }));
  backup
    .command('list [target]')
    .description('list artifacts, newest first')
    .action((target?: string) => runLocally('backup_list', target ? { target } : {}));
  backup
    .command('verify <id>')
    .description('re-read an artifact: sha256, age structure (full decrypt when identity_file is set)')
    .option('--restore', 'restore it into a scratch database or directory and compare with what the backup recorded (needs identity_file)')
    .action((id: string, options: { restore?: boolean }) => runLocally('backup_verify', options.restore ? { id, restore: true } : { id }));
  backup
    .command('prune <target>')
    .description('remove all but the newest --keep artifacts')
    .requiredOption('--keep <n>', 'artifacts to keep', (value) => Number.parseInt(value, 10))
    .action((target: string, options: { keep: number }) => runLocally('backup_prune', { target, keep: options.keep }));
  backup
    .command('restore <id> <target>')
    .description('restore an artifact into a target (needs backup.restore_enabled and backup.identity_file)')
    .action((id: string, target: string) => runLocally('restore', { id, target }));
}
