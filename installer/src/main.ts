// manager.mjs: deploy.sh's install-and-manage program, shipped in every release beside agent.mjs
// and supervisor.mjs. The bootstrap (deploy.sh) verifies a release in shell and runs this program
// from it; an installed copy (PREFIX/lib/current, root-owned) manages the install afterwards.
// Wiring only: the commands live in commands/.
import { parseCommand, USAGE } from './cli.ts';
import { ManagerError, sendMessagesToStderr } from './output.ts';
import { installCommand } from './commands/install.ts';
import { statusCommand } from './commands/status.ts';
import { logsCommand } from './commands/logs.ts';
import { controlCommand } from './commands/control.ts';
import { uninstallCommand } from './commands/uninstall.ts';
import { stateInstallCommand, stateRemoveCommand } from './commands/state-side.ts';
import { rotateLogsCommand } from './commands/rotate-logs.ts';
import type { ManagerCommand } from './cli.ts';
import { TetherError } from '@tether/shared/errors.ts';

// The agent key reaches this process through the environment only; take it out at once so no
// child process (useradd, systemctl, the supervisor) can inherit it.
const apiKey = process.env.TETHER_API_KEY || null;
delete process.env.TETHER_API_KEY;
delete process.env.MICROHACK_API_KEY;

async function dispatch(command: ManagerCommand): Promise<number> {
  switch (command.command) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'install':
      if (command['dry-run']) sendMessagesToStderr();
      return installCommand({
        prefix: command.prefix,
        platform: command.platform,
        tarball: command.tarball,
        manifest: command.manifest,
        signature: command.signature,
        releaseKeysFile: command['release-keys'],
        name: command.name,
        server: command.server ?? null,
        apiKey,
        allow: command.allow ?? null,
        requestedVersion: command['requested-version'] ?? null,
        signingKey: command['signing-key'] ?? null,
        update: command.update,
        dryRun: command['dry-run'],
      });
    case 'status':
      return statusCommand(command.prefix);
    case 'start':
    case 'stop':
    case 'restart':
      return controlCommand(command.prefix, command.command);
    case 'logs':
      return logsCommand(command.prefix, command.follow);
    case 'uninstall':
      return uninstallCommand(command.prefix, command.purge);
    case 'state-install':
      return stateInstallCommand(command.prefix, command.version, command.tarball, command['clear-bad-mark']);
    case 'state-remove':
      return stateRemoveCommand(command.prefix, command.purge);
    case 'rotate-logs':
      return rotateLogsCommand(command.prefix, command.pid);
  }
}

try {
  process.exitCode = await dispatch(parseCommand(process.argv.slice(2)));
} catch (error) {
  const failure = error instanceof Error ? error : new Error(String(error));
  // tether's own errors are written for the operator (they name the file and what to do), and so are the system's (errno codes).
  if (failure instanceof TetherError || typeof (failure as NodeJS.ErrnoException).code === 'string') {
    process.stderr.write(`tether: error: ${failure.message}\n`);
  } else {
    process.stderr.write(`tether: error: unexpected failure in the manager: ${failure.message}\n${failure.stack ?? ''}\n`);
  }
  process.exitCode = failure instanceof ManagerError ? failure.exitCode : 1;
}
