// `tether`: the operator CLI. Wiring only: each subcommand lives in its own file.
import { Command, CommanderError } from 'commander';
import { VERSION } from '@tether/shared/version.ts';
import { addHubCommand } from './hub-command.ts';
import { addKeysCommand } from './keys-command.ts';
import { addOperatorsCommand } from './operators-command.ts';
import { addAgentsCommand } from './agents-command.ts';
import { addSendCommand } from './send-command.ts';
import { addCancelCommand } from './cancel-command.ts';
import { addRolloutCommand } from './rollout-command.ts';
import { HubError, UsageError } from './usage-error.ts';
import { addReleaseKeyCommand } from './release-key-command.ts';
import { addPublishCommand } from './publish-command.ts';
import { printError } from './output.ts';

const EXIT_USAGE = 2;

const program = new Command('tether')
  .description('tether: run the hub and command agents')
  .version(VERSION)
  .exitOverride()
  .configureOutput({ outputError: () => {} })
  .showSuggestionAfterError(true);

addPublishCommand(addHubCommand(program));
addKeysCommand(program);
addOperatorsCommand(program);
addAgentsCommand(program);
addSendCommand(program);
addCancelCommand(program);
addRolloutCommand(program);
addReleaseKeyCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) process.exit(0);
    printError(error.message.replace(/^error: /, ''));
    process.exit(EXIT_USAGE);
  }
  if (error instanceof UsageError) {
    printError(error.message);
    process.exit(EXIT_USAGE);
  }
  if (error instanceof HubError) {
    printError(error.message);
    process.exit(1);
  }
  printError((error as Error).message);
  process.exit(1);
}
