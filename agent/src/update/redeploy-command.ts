// `redeploy`: ask the supervisor to fetch the running version afresh from the hub, verify it and
// reinstall it over a possibly damaged copy (exit 44 after the response).
import { z } from 'zod';
import { EXIT_REDEPLOY } from '@tether/shared/exit-codes.ts';
import { VERSION } from '@tether/shared/version.ts';
import { hostPlatform } from '@tether/shared/release/manifest.ts';
import { writeRedeployRequest } from '@tether/shared/release/state-files.ts';
import { isSupervised } from '../host-info.ts';
import { CommandFailure } from '../commands/command.ts';
import type { CommandDefinition } from '../commands/command.ts';
import { releasesUrl } from './hub-urls.ts';

export const redeployCommand: CommandDefinition<Record<string, unknown>> = {
  name: 'redeploy',
  permission: 'redeploy',
  lane: 'normal',
  params: z.looseObject({}),
  async run(_params, context) {
    if (!isSupervised()) throw new CommandFailure('not_supported', 'redeploy needs the tether supervisor; this agent runs unsupervised. Nothing was changed.');
    await writeRedeployRequest(context.stateDir, {
      version: VERSION,
      releases_url: releasesUrl(context.config.server_url),
      platform: hostPlatform(),
      requested_at: new Date().toISOString(),
    });
    context.requestExit(EXIT_REDEPLOY);
    return { message: `redeploying ${VERSION}`, version: VERSION, exit_code: EXIT_REDEPLOY };
  },
};
