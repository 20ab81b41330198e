// tether-agent CLI: wires subcommands to their modules, nothing else. Each module is imported when
// its subcommand runs, so that a short command (`backup run`, `health-check`) does not first load
// and compile the whole agent (the session, transports, update code): ~0.1 s of CPU per start.
import { Command, CommanderError } from 'commander';
import { VERSION } from '@tether/shared/version.ts';
import { registerBackupCli } from './backup/cli.ts';

const program = new Command('tether-agent')
  .description('tether host agent: connects to a tether hub and runs the commands it allows')
  .version(VERSION, '-V, --version-number')
  .exitOverride()
  .showHelpAfterError('(run tether-agent --help for usage)');

program
  .command('run')
  .description('connect to the hub and serve commands (config: TETHER_CONFIG, TETHER_* env)')
  .action(async () => (await import('./cli/run.ts')).runAgent());
program
  .command('version')
  .description('print the version')
  .option('--json', 'as JSON')
  .action(async (options: { json?: boolean }) => (await import('./cli/version.ts')).printVersion(options));
program
  .command('health-check')
  .description('exit 0 when the running agent is connected and heartbeating')
  .action(async () => (await import('./cli/health-check.ts')).healthCheck());
program
  .command('dump-state')
  .description('print config and state files as JSON (secrets masked)')
  .option('--allow-secrets', 'show secrets unmasked')
  .action(async (options: { allowSecrets?: boolean }) => (await import('./cli/dump-state.ts')).dumpState(options));

registerBackupCli(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  throw error;
}
