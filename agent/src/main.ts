// tether-agent CLI: wires subcommands to their modules, nothing else.
import { Command, CommanderError } from 'commander';
import { VERSION } from '@tether/shared/version.ts';
import { runAgent } from './cli/run.ts';
import { printVersion } from './cli/version.ts';
import { healthCheck } from './cli/health-check.ts';
import { dumpState } from './cli/dump-state.ts';
import { registerBackupCli } from './backup/cli.ts';

const program = new Command('tether-agent')
  .description('tether host agent: connects to a tether hub and runs the commands it allows')
  .version(VERSION, '-V, --version-number')
  .exitOverride()
  .showHelpAfterError('(run tether-agent --help for usage)');

program.command('run').description('connect to the hub and serve commands (config: TETHER_CONFIG, TETHER_* env)').action(runAgent);
program.command('version').description('print the version').option('--json', 'as JSON').action(printVersion);
program.command('health-check').description('exit 0 when the running agent is connected and heartbeating').action(healthCheck);
program
  .command('dump-state')
  .description('print config and state files as JSON (secrets masked)')
  .option('--allow-secrets', 'show secrets unmasked')
  .action((options: { allowSecrets?: boolean }) => dumpState(options));

registerBackupCli(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  throw error;
}
