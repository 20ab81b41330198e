import { z } from 'zod';
import { EXIT_RESTART } from '@tether/shared/exit-codes.ts';
import { isSupervised } from '../host-info.ts';
import type { CommandDefinition } from './command.ts';

/** Answers first; the agent exits 42 once the response is delivered, and the supervisor restarts it. */
export const restartCommand: CommandDefinition<Record<string, unknown>> = {
  name: 'restart',
  permission: 'restart',
  lane: 'normal',
  params: z.looseObject({}),
  async run(_params, context) {
    context.requestExit(EXIT_RESTART);
    return { message: 'restarting', exit_code: EXIT_RESTART, supervised: isSupervised() };
  },
};
