// Every command this agent ships, in one registry.
import type { SystemMetricsSampler } from '../metrics/system-metrics.ts';
import { CommandRegistry } from './registry.ts';
import { pingCommand } from './ping.ts';
import { echoCommand } from './echo.ts';
import { infoCommand } from './info.ts';
import { createMetricsCommand } from './metrics.ts';
import { createCapabilitiesCommand } from './capabilities.ts';
import { restartCommand } from './restart.ts';
import { updateAgentCommand, updateCommand } from '../update/update-command.ts';
import { redeployCommand } from '../update/redeploy-command.ts';
import { createBackupCommands } from '../backup/commands.ts';
import type { BackupConfig } from '../backup/config-schema.ts';
import { createExecCommand } from '../actions/exec-command.ts';
import { createGitPullCommand } from '../actions/git-pull-command.ts';
import { createDockerRestartCommand } from '../actions/docker-restart-command.ts';
import type { ActionsConfig } from '../actions/config-schema.ts';

export interface CommandDeps {
  sampler: SystemMetricsSampler;
  effectiveCommands: () => string[];
  backup: BackupConfig;
  actions: ActionsConfig;
}

export function createCommandRegistry(deps: CommandDeps): CommandRegistry {
  return new CommandRegistry([
    pingCommand,
    echoCommand,
    infoCommand,
    createMetricsCommand(deps.sampler),
    createCapabilitiesCommand(deps.effectiveCommands),
    restartCommand,
    updateCommand,
    updateAgentCommand,
    redeployCommand,
    ...createBackupCommands(deps.backup),
    createExecCommand(deps.actions),
    createGitPullCommand(deps.actions),
    createDockerRestartCommand(deps.actions),
  ]);
}
