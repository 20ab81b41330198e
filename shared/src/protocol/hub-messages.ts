// Messages the hub sends to an agent (protocol.md section 3). Unknown fields are stripped.
import { z } from 'zod';
import { timestampSchema } from './timestamp.ts';

export const PROTOCOL_VERSION = 1;

/** 1 MiB: the largest frame a hub may send to an agent. */
export const MAX_HUB_FRAME_BYTES = 1024 * 1024;
/** 16 MiB: the largest frame an agent may send to the hub. */
export const MAX_AGENT_FRAME_BYTES = 16 * 1024 * 1024;

export const connectedSchema = z.object({
  type: z.literal('connected'),
  message: z.string().optional(),
  agent_key_id: z.union([z.string(), z.number()]).transform(String).optional(),
  permissions: z.array(z.string()).nullish(),
  timestamp: timestampSchema.optional(),
  protocol: z.number().int().optional(),
  session_id: z.string().optional(),
  heartbeat_interval_s: z.number().positive().max(3600).optional(),
  signing_key: z.string().optional(),
});

export const registeredSchema = z.object({
  type: z.literal('registered'),
  agent_id: z.string().optional(),
});

export const heartbeatAckSchema = z.object({ type: z.literal('heartbeat_ack') });

/** `data` stays unknown here: a command whose data is not an object is answered invalid_params. */
export const commandSchema = z.object({
  type: z.literal('command'),
  command_id: z.union([z.string().min(1).max(200), z.number()]).transform(String),
  command: z.string().min(1).max(100),
  data: z.unknown().optional(),
  timestamp: timestampSchema.optional(),
  deadline: timestampSchema.optional(),
  timeout_s: z
    .number()
    .positive()
    .max(7 * 24 * 3600)
    .optional(),
  signature: z.string().optional(),
});

/** timestamp + signature (scheme 2, protocol.md section 6): a pinned agent ignores the frame without them. */
const signedFields = { timestamp: timestampSchema.optional(), signature: z.string().max(200).optional() };

export const cancelSchema = z.object({ type: z.literal('cancel'), command_id: z.string().min(1), ...signedFields });
export const ackSchema = z.object({ type: z.literal('ack'), command_ids: z.array(z.string()), ...signedFields });
/** The key's grant changed on the hub: it replaces `connected.permissions` at once. */
export const permissionsSchema = z.object({ type: z.literal('permissions'), permissions: z.array(z.string().max(100)).max(1000), ...signedFields });
export const hubErrorSchema = z.object({ type: z.literal('error'), message: z.string().optional() });

export const hubMessageSchema = z.discriminatedUnion('type', [connectedSchema, registeredSchema, heartbeatAckSchema, commandSchema, cancelSchema, ackSchema, permissionsSchema, hubErrorSchema]);

export type ConnectedMessage = z.infer<typeof connectedSchema>;
export type RegisteredMessage = z.infer<typeof registeredSchema>;
export type CommandMessage = z.infer<typeof commandSchema>;
export type CancelMessage = z.infer<typeof cancelSchema>;
export type AckMessage = z.infer<typeof ackSchema>;
export type PermissionsMessage = z.infer<typeof permissionsSchema>;
export type HubMessage = z.infer<typeof hubMessageSchema>;
export const HUB_MESSAGE_TYPES: readonly string[] = hubMessageSchema.options.map((option) => option.shape.type.value);
