import { z } from 'zod';

/** The heartbeat's `system_metrics`, also the result of the `metrics` command. */
export const systemMetricsSchema = z.object({
  cpu_percent: z.number(),
  cpu_count: z.number().int(),
  memory_percent: z.number(),
  memory_used_gb: z.number(),
  memory_total_gb: z.number(),
  disk_percent: z.number(),
  disk_used_gb: z.number(),
  disk_total_gb: z.number(),
  net_bytes_sent: z.number(),
  net_bytes_recv: z.number(),
  load_1min: z.number(),
});
export type SystemMetrics = z.infer<typeof systemMetricsSchema>;
