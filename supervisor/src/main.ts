// tether-supervisor entry: parse the command line, then either supervise the agent or print the
// status. Wiring only; the logic lives in supervisor.ts and status-command.ts.
import { fileURLToPath } from 'node:url';
import { EXIT_CONFIG } from '@tether/shared/exit-codes.ts';
import { parseCli, UsageError, EnvironmentError, USAGE } from './cli-args.ts';
import type { CliOptions, RunOptions } from './cli-args.ts';
import { createLogger } from './logger.ts';
import { Supervisor } from './supervisor.ts';
import { statusCommand } from './status-command.ts';
import { releaseTaskChild } from './versions/release-task.ts';
import { RELEASE_TASK_COMMAND, selfProgram } from './versions/release-task-process.ts';

const EXIT_USAGE = 2;
/** The supervisor itself failed unexpectedly (EX_SOFTWARE). */
const EXIT_INTERNAL = 70;

function parseOrExit(): CliOptions {
  try {
    return parseCli(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`tether-supervisor: ${error.message}\n\n${USAGE}`);
      process.exit(EXIT_USAGE);
    }
    if (error instanceof EnvironmentError) {
      process.stderr.write(`tether-supervisor: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
}

async function run(options: RunOptions): Promise<number> {
  const log = createLogger(options.logLevel);
  const supervisor = new Supervisor(options, log, selfProgram(fileURLToPath(import.meta.url)));
  process.on('SIGTERM', () => supervisor.requestStop('SIGTERM'));
  process.on('SIGINT', () => supervisor.requestStop('SIGINT'));
  process.on('SIGHUP', () => supervisor.requestRestart());
  process.on('exit', () => supervisor.onProcessExit());
  process.on('uncaughtException', (error) => {
    log.error({ err: error }, 'supervisor failed unexpectedly; exiting');
    process.exit(EXIT_INTERNAL);
  });
  return supervisor.run();
}

if (process.argv[2] === RELEASE_TASK_COMMAND) {
  // Internal: the supervisor's own child for release work (versions/release-task.ts).
  process.exit(await releaseTaskChild());
}
const options = parseOrExit();
if (options.command === 'help') {
  process.stdout.write(USAGE);
} else if (options.command === 'status') {
  process.exitCode = statusCommand(options, (text) => process.stdout.write(text));
} else {
  process.exit(await run(options));
}
