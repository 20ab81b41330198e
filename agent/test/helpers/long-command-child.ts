// Child process for the kill -9 test: the agent's own dispatcher and command log on a state dir,
// running one normal-lane command that never finishes. Prints "running" once the command runs (its
// marker is durable by then); the test then kills it with SIGKILL.
import { z } from 'zod';
import { createLogger } from '@tether/shared/logger.ts';
import { agentConfigSchema } from '@tether/shared/config/agent-config.ts';
import { Dispatcher } from '../../src/dispatcher.ts';
import { CommandRegistry } from '../../src/commands/registry.ts';
import { Permissions } from '../../src/permissions.ts';
import { Lanes } from '../../src/lanes.ts';
import { Journal } from '../../src/journal.ts';
import { Outbox } from '../../src/outbox.ts';
import { RunningMarkers } from '../../src/running-markers.ts';
import { openCommandLog } from '../../src/log/open.ts';
import { AgentStateFile, ensureStateDir } from '../../src/state.ts';
import { CommandSigning } from '../../src/signature.ts';
import { SigningKeyPin } from '../../src/pins.ts';

const [stateDir, commandId, commandName] = process.argv.slice(2) as [string, string, string];
ensureStateDir(stateDir);
const log = createLogger({ name: 'long-command-child', level: 'warn' });
const config = agentConfigSchema.parse({ server_url: 'ws://unused', api_key: 'k_12345678', state_dir: stateDir, allow: [commandName] });
const commandLog = await openCommandLog(stateDir, { retentionMs: 3600_000, maxEntries: 1000 }, log);
const dispatcher = new Dispatcher({
  config,
  stateDir,
  agentId: 'child',
  log,
  registry: new CommandRegistry([
    {
      name: commandName,
      permission: commandName,
      lane: 'normal',
      params: z.looseObject({}),
      run: () => {
        process.stdout.write('running\n');
        return new Promise(() => {});
      },
    },
  ]),
  permissions: new Permissions(config.allow),
  lanes: new Lanes({ workers: 1, maxQueued: 1 }),
  signing: new CommandSigning(new SigningKeyPin({ stateDir, state: new AgentStateFile(stateDir, log), configuredKey: undefined, signingKeyUrl: 'unused', log }), config.api_key, log),
  journal: new Journal(commandLog),
  outbox: new Outbox(commandLog),
  markers: new RunningMarkers(commandLog),
  fsyncEffectFree: true,
  sendEvent: () => {},
  deliver: () => {},
  exitAfterDelivery: () => {},
});
await dispatcher.handle({ type: 'command', command_id: commandId, command: commandName, data: {} });
