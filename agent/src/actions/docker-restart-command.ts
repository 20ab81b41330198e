// `docker_restart`: restarts an allowlisted container (docker restart <name>).
import { z } from 'zod';
import { childEnv } from '@tether/shared/child-env.ts';
import { CommandFailure } from '../commands/command.ts';
import type { CommandDefinition } from '../commands/command.ts';
import type { ActionsConfig } from './config-schema.ts';
import { checkArgvValue, UnsafeValue } from './safe-values.ts';
import { runAudited } from './exec-command.ts';

const dockerRestartParams = z.looseObject({
  container_name: z.string({ message: 'docker_restart needs data.container_name, a container listed under docker_restart.containers' }).min(1).max(255),
});

export function createDockerRestartCommand(config: ActionsConfig): CommandDefinition<z.infer<typeof dockerRestartParams>> {
  return {
    name: 'docker_restart',
    permission: 'docker_restart',
    lane: 'normal',
    params: dockerRestartParams,
    defaultTimeoutS: config.docker_restart.timeout_s,
    async run(params, context) {
      const settings = config.docker_restart;
      let name: string;
      try {
        name = checkArgvValue('container_name', params.container_name);
        if (!settings.containers.includes(name)) {
          throw new UnsafeValue(`container "${name}" is not in this agent's allowlist (docker_restart.containers: ${settings.containers.join(', ') || 'empty'})`);
        }
      } catch (error) {
        if (error instanceof UnsafeValue) throw new CommandFailure('invalid_params', error.message);
        throw error;
      }
      const result = await runAudited(`docker restart ${name}`, [settings.docker, 'restart', name], context, {
        env: childEnv({ tool: 'docker', pass: settings.pass_env, set: settings.env }),
      });
      return { output: `${result.stdout}${result.stderr}`.trim() };
    },
  };
}
