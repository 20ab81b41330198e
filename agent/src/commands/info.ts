import { z } from 'zod';
import { VERSION } from '@tether/shared/version.ts';
import { hostInfo } from '../host-info.ts';
import type { CommandDefinition } from './command.ts';

export const infoCommand: CommandDefinition<Record<string, unknown>> = {
  name: 'info',
  permission: 'info',
  lane: 'priority',
  effectFree: true,
  params: z.looseObject({}),
  async run(_params, context) {
    const host = hostInfo();
    return {
      agent_id: context.agentId,
      hostname: host.hostname,
      local_ip: host.ip,
      os: host.os,
      version: VERSION,
      runtime: host.runtime,
      arch: host.arch,
      uptime_s: Math.round(process.uptime()),
      supervised: host.supervised,
    };
  },
};
