import { z } from 'zod';
import type { SystemMetricsSampler } from '../metrics/system-metrics.ts';
import type { CommandDefinition } from './command.ts';

export function createMetricsCommand(sampler: SystemMetricsSampler): CommandDefinition<Record<string, unknown>> {
  return {
    name: 'metrics',
    permission: 'metrics',
    lane: 'priority',
    effectFree: true,
    params: z.looseObject({}),
    async run() {
      return { ...(await sampler.sample()) };
    },
  };
}
