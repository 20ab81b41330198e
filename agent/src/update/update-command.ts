// `update` (alias `update_agent`): stage a verified release, answer, then exit 43 so that the
// supervisor verifies it again, switches to it and health-gates it (protocol.md section 7).
import { z } from 'zod';
import { EXIT_UPDATE } from '@tether/shared/exit-codes.ts';
import { isValidVersion } from '@tether/shared/release/versions.ts';
import { isSupervised } from '../host-info.ts';
import { CommandFailure } from '../commands/command.ts';
import type { CommandDefinition } from '../commands/command.ts';

const updateParamsSchema = z.looseObject({
  version: z
    .string()
    .refine((value) => value === 'latest' || isValidVersion(value), 'must be "latest" or an exact semver version such as 1.4.0')
    .default('latest'),
});

type UpdateParams = z.infer<typeof updateParamsSchema>;

/** One update at a time: a second one while staging is answered `busy`. */
let staging = false;

function createUpdateCommand(name: string): CommandDefinition<UpdateParams> {
  return {
    name,
    permission: 'update',
    lane: 'normal',
    params: updateParamsSchema,
    defaultTimeoutS: 900,
    async run(params, context) {
      if (!isSupervised()) throw new CommandFailure('not_supported', 'update needs the tether supervisor (it switches versions and rolls back); this agent runs unsupervised. Nothing was changed.');
      if (staging) throw new CommandFailure('busy', 'an update is already being staged');
      staging = true;
      try {
        // The update machinery (verification, install, undici) loads on first use, not at agent start.
        const { stageUpdate } = await import('./stage-update.ts');
        const hostConfig = context.config as { release_keys?: string[]; update?: { allow_downgrade?: boolean } };
        const configuredKeys = hostConfig.release_keys ?? [];
        const result = await stageUpdate({
          requested: params.version,
          serverUrl: context.config.server_url,
          configuredKeys,
          stateDir: context.stateDir,
          allowDowngrade: hostConfig.update?.allow_downgrade === true,
          allowInsecure: context.config.allow_insecure,
          log: context.log,
          signal: context.signal,
          progress: (progress, message) => context.job.progress({ progress, message }),
        });
        if (result.state === 'current') return { message: `already running ${result.version}`, version: result.version, staged: false };
        context.log.info({ from: result.from, to: result.to, key_id: result.key_id }, 'update staged; exiting 43 for the supervisor');
        context.requestExit(EXIT_UPDATE);
        return { message: `staged ${result.to}; the supervisor switches to it now`, from: result.from, to: result.to, staged: true, exit_code: EXIT_UPDATE };
      } catch (error) {
        if (error instanceof CommandFailure) throw error;
        const prefix = (error as Error).name === 'UpdateRefused' ? 'update refused' : 'update failed';
        throw new CommandFailure('failed', `${prefix}: ${(error as Error).message}. The running version is unchanged.`);
      } finally {
        staging = false;
      }
    },
  };
}

export const updateCommand = createUpdateCommand('update');
export const updateAgentCommand = createUpdateCommand('update_agent');
