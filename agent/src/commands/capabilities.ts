import { z } from 'zod';
import { VERSION } from '@tether/shared/version.ts';
import type { CommandDefinition } from './command.ts';

/** `effectiveCommands` is read at call time: the hub's grant can change with each connection. */
export function createCapabilitiesCommand(effectiveCommands: () => string[]): CommandDefinition<Record<string, unknown>> {
  return {
    name: 'capabilities',
    permission: 'capabilities',
    lane: 'priority',
    effectFree: true,
    params: z.looseObject({}),
    async run() {
      return { commands: effectiveCommands(), version: VERSION };
    },
  };
}
