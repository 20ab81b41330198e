import { z } from 'zod';
import type { CommandDefinition } from './command.ts';

const echoParams = z.looseObject({
  message: z.string({ message: 'echo needs data.message, a string' }).max(64 * 1024, 'message is limited to 64 KiB'),
});

export const echoCommand: CommandDefinition<z.infer<typeof echoParams>> = {
  name: 'echo',
  permission: 'echo',
  lane: 'priority',
  effectFree: true,
  params: echoParams,
  async run(params) {
    return { echo: params.message, timestamp: new Date().toISOString() };
  },
};
