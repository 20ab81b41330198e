// HTTP fallback bodies (protocol.md section 4).
import { z } from 'zod';
import { heartbeatSchema, registerDataSchema, responseSchema, jobEventSchema } from './agent-messages.ts';
import { systemMetricsSchema } from './metrics.ts';
import { timestampSchema } from './timestamp.ts';

/** POST /api/agents/heartbeat is both "register" (with agent fields) and "heartbeat". */
export const httpRegisterBodySchema = registerDataSchema.extend({
  connection_mode: z.literal('http_polling'),
});

export const httpHeartbeatBodySchema = z.object({
  hostname: z.string().max(255).optional(),
  platform: z.string().optional(),
  mode: z.string().optional(),
  version: z.string().optional(),
  metrics: systemMetricsSchema.partial().optional(),
  agent_id: z.string().optional(),
  /** [ext] The WebSocket heartbeat's per-target backup summary. */
  backups: heartbeatSchema.shape.backups,
});

export const httpRegisterAnswerSchema = z.object({
  ok: z.boolean(),
  agent_id: z.string().optional(),
  permissions: z.array(z.string()).nullish(),
  protocol: z.number().int().optional(),
  signing_key: z.string().optional(),
  poll_interval_s: z.number().positive().optional(),
  agent_key_id: z.union([z.string(), z.number()]).transform(String).optional(),
});

export const pollQuerySchema = z.object({
  wait: z.coerce.number().min(0).max(30).optional(),
});

export const polledCommandSchema = z.object({
  command_id: z.union([z.string().min(1), z.number()]).transform(String),
  command: z.string().min(1),
  data: z.unknown().optional(),
  timestamp: timestampSchema.optional(),
  deadline: timestampSchema.optional(),
  timeout_s: z.number().positive().optional(),
  signature: z.string().optional(),
});

/**
 * `frames` [ext]: hub → agent frames other than commands (a signed `permissions` frame) that HTTP
 * cannot push; the agent handles each as if it had arrived on the WebSocket.
 */
export const pollAnswerSchema = z.object({ commands: z.array(polledCommandSchema), frames: z.array(z.record(z.string(), z.unknown())).max(100).optional() });

/** The signed ack in the 2xx answer to POST /api/agents/result (scheme 2, protocol.md section 6). */
export const httpAckSchema = z.object({
  command_ids: z.array(z.string()),
  timestamp: timestampSchema,
  signature: z.string().max(200),
});

export const httpResultAnswerSchema = z.object({
  ok: z.boolean().optional(),
  stored: z.boolean().optional(),
  ack: httpAckSchema.optional(),
});

/** GET /api/agents/signing-key (no auth): the key to pin at install and its fingerprint (section 6). */
export const signingKeyAnswerSchema = z.object({
  signing_key: z.base64().refine((value) => Buffer.from(value, 'base64').length === 32, 'must be a base64 Ed25519 public key (32 bytes)'),
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/, 'must be the first 16 hex digits of the SHA-256 of the key'),
});

/** The result body carries the response object, with or without its `type`. */
export const httpResultBodySchema = z.object({
  command_id: z.union([z.string().min(1), z.number()]).transform(String),
  result: responseSchema.omit({ type: true }).extend({ type: z.literal('response').optional() }),
});

export const httpEventsBodySchema = z.object({ events: z.array(jobEventSchema).max(1000) });

export type HttpRegisterBody = z.infer<typeof httpRegisterBodySchema>;
export type HttpHeartbeatBody = z.infer<typeof httpHeartbeatBodySchema>;
export type HttpEventsBody = z.infer<typeof httpEventsBodySchema>;
export type HttpRegisterAnswer = z.infer<typeof httpRegisterAnswerSchema>;
export type PollAnswer = z.infer<typeof pollAnswerSchema>;
export type HttpResultBody = z.infer<typeof httpResultBodySchema>;
export type HttpAck = z.infer<typeof httpAckSchema>;
export type SigningKeyAnswer = z.infer<typeof signingKeyAnswerSchema>;
