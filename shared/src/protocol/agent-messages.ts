// Messages an agent sends to the hub (protocol.md section 3). Unknown fields are stripped.
import { z } from 'zod';
import { timestampSchema } from './timestamp.ts';
import { errorCodeSchema } from './error-codes.ts';
import { systemMetricsSchema } from './metrics.ts';

/** What the supervisor reports about the last update; sent once at registration (protocol ext). */
export const updateOutcomeSchema = z.object({
  from: z.string(),
  to: z.string(),
  outcome: z.enum(['updated', 'rolled_back', 'redeployed', 'failed']),
  reason: z.string().optional(),
  at: timestampSchema.optional(),
});

export const registerDataSchema = z.object({
  agent_id: z.string().min(1).max(200),
  hostname: z.string().max(255),
  ip: z.string().max(100).optional(),
  version: z.string().max(100),
  os: z.string().max(200).optional(),
  capabilities: z.array(z.string()).optional(),
  is_docker: z.boolean().optional(),
  is_root: z.boolean().optional(),
  // [ext]
  protocol: z.number().int().optional(),
  platform: z.string().optional(),
  arch: z.string().optional(),
  runtime: z.string().optional(),
  supervised: z.boolean().optional(),
  transports: z.array(z.string()).optional(),
  pending_command_ids: z.array(z.string()).optional(),
  update_outcome: updateOutcomeSchema.optional(),
  /** The command-signing scheme the agent verifies (2); absent: scheme 1 (protocol.md section 6). */
  signing: z.number().int().optional(),
});

export const registerSchema = z.object({
  type: z.literal('register'),
  data: registerDataSchema,
  protocol: z.number().int().optional(),
});

/** [ext] One backup target's state as the agent knows it (docs/backup.md "Staleness"). */
export const backupTargetStatusSchema = z.object({
  /** created_at of the newest artifact. */
  last_success_at: z.string().max(64).optional(),
  last_artifact_id: z.string().max(128).optional(),
  /** Bytes of the newest artifact as stored (compressed, encrypted). */
  last_size_bytes: z.number().int().nonnegative().optional(),
  /** The target's alert_after_h, so the hub can flag it without the agent's config. */
  alert_after_h: z.number().positive().optional(),
  /** The newest restore test result among the target's artifacts. */
  last_verify: z.object({ ok: z.boolean(), at: z.string().max(64), id: z.string().max(128) }).optional(),
});
export type BackupTargetStatus = z.infer<typeof backupTargetStatusSchema>;

export const heartbeatSchema = z.object({
  type: z.literal('heartbeat'),
  status: z
    .object({
      uptime: z.string().optional(),
      timestamp: timestampSchema.optional(),
      uptime_s: z.number().optional(),
    })
    .optional(),
  system_metrics: systemMetricsSchema.partial().optional(),
  jobs: z.object({ running: z.number().int(), queued: z.number().int() }).optional(),
  outbox: z.object({ pending: z.number().int() }).optional(),
  /** [ext] Per backup target (by name): last success and last restore test. */
  backups: z
    .record(z.string().max(64), backupTargetStatusSchema)
    .refine((value) => Object.keys(value).length <= 1000, 'at most 1000 backup targets')
    .optional(),
});

export const jobAcceptedSchema = z.object({
  type: z.literal('job_accepted'),
  job_id: z.string(),
  command_id: z.string(),
  command: z.string(),
  queue_position: z.number().int(),
  is_priority: z.boolean(),
  agent_id: z.string().optional(),
  regular_queue_size: z.number().int().optional(),
  priority_queue_size: z.number().int().optional(),
  timestamp: timestampSchema.optional(),
});

export const jobProgressSchema = z.object({
  type: z.literal('job_progress'),
  job_id: z.string(),
  progress: z.number().min(0).max(100),
  message: z.string().optional(),
  agent_id: z.string().optional(),
  timestamp: timestampSchema.optional(),
  command_id: z.string().optional(),
  bytes_done: z.number().optional(),
  bytes_total: z.number().optional(),
});

export const jobOutputSchema = z.object({
  type: z.literal('job_output'),
  job_id: z.string(),
  line: z.string(),
  agent_id: z.string().optional(),
  timestamp: timestampSchema.optional(),
  command_id: z.string().optional(),
  stream: z.enum(['stdout', 'stderr']).optional(),
  /** [ext] Set on the marker line that stands where output was dropped while the link was down. */
  dropped: z.object({ lines: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() }).optional(),
});

export const responseSchema = z.object({
  type: z.literal('response'),
  command_id: z.union([z.string().min(1), z.number()]).transform(String),
  success: z.boolean(),
  data: z.record(z.string(), z.unknown()).nullish(),
  error: z.string().nullish(),
  error_code: errorCodeSchema.optional(),
  duration_ms: z.number().optional(),
  agent_id: z.string().optional(),
});

export const jobEventSchema = z.discriminatedUnion('type', [jobAcceptedSchema, jobProgressSchema, jobOutputSchema]);

export const agentMessageSchema = z.discriminatedUnion('type', [registerSchema, heartbeatSchema, jobAcceptedSchema, jobProgressSchema, jobOutputSchema, responseSchema]);

export type UpdateOutcome = z.infer<typeof updateOutcomeSchema>;
export type RegisterData = z.infer<typeof registerDataSchema>;
export type RegisterMessage = z.infer<typeof registerSchema>;
export type HeartbeatMessage = z.infer<typeof heartbeatSchema>;
export type JobAcceptedMessage = z.infer<typeof jobAcceptedSchema>;
export type JobProgressMessage = z.infer<typeof jobProgressSchema>;
export type JobOutputMessage = z.infer<typeof jobOutputSchema>;
export type JobEvent = z.infer<typeof jobEventSchema>;
export type ResponseMessage = z.infer<typeof responseSchema>;
export type AgentMessage = z.infer<typeof agentMessageSchema>;
