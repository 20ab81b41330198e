import { z } from 'zod';
import type { CommandDefinition } from './command.ts';

export const pingCommand: CommandDefinition<Record<string, unknown>> = {
  name: 'ping',
  permission: 'ping',
  lane: 'priority',
  effectFree: true,
  params: z.looseObject({}),
  async run() {
    return { message: 'pong', timestamp: new Date().toISOString() };
  },
};
