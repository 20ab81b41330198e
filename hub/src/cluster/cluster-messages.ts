// What hubs tell each other over Redis. Redis is a network input like any other: every message
// is validated before use, and a bad one is dropped with a log line.
import { z } from 'zod';

export const presenceEntrySchema = z.object({
  hub_id: z.string().min(1),
  session_id: z.string().min(1),
  key_id: z.string().min(1),
  transport: z.enum(['websocket', 'http_polling']),
  agent_id: z.string().nullable(),
  since: z.string(),
  /** What the connected-agents listing shows for a session on another hub. */
  hostname: z.string().max(255).optional(),
  version: z.string().max(100).optional(),
});
export type PresenceEntry = z.infer<typeof presenceEntrySchema>;

export const hubMessageSchema = z.discriminatedUnion('type', [
  /** Send this stored command over the socket you hold for the key (read it from the store). */
  z.object({ type: z.literal('deliver'), key_id: z.string().min(1), command_id: z.string().min(1), from_hub: z.string().min(1) }),
  /** A newer session of the key opened elsewhere: close this one (4008). */
  z.object({ type: z.literal('close_session'), key_id: z.string().min(1), session_id: z.string().min(1), from_hub: z.string().min(1) }),
  /** The key was deleted, disabled or regenerated on another hub: close its sessions with this code. */
  z.object({ type: z.literal('close_key'), key_id: z.string().min(1), code: z.number().int().min(4000).max(4999), reason: z.string().max(120), from_hub: z.string().min(1) }),
  /** The key's grant changed on another hub: push it to the sessions you hold. */
  z.object({ type: z.literal('push_grant'), key_id: z.string().min(1), permissions: z.array(z.string().min(1).max(64)).max(100), from_hub: z.string().min(1) }),
  /** The operator cancelled this command on another hub: send the signed cancel to the key's session here. */
  z.object({ type: z.literal('cancel'), key_id: z.string().min(1), command_id: z.string().min(1), from_hub: z.string().min(1) }),
]);
export type HubMessage = z.infer<typeof hubMessageSchema>;

export const wakeMessageSchema = z.object({ key_id: z.string().min(1) });

export const batchProgressSchema = z
  .object({
    batch_id: z.string().min(1),
    key_id: z.string().min(1).optional(),
    state: z.enum(['queued', 'running', 'succeeded', 'failed', 'offline', 'expired']).optional(),
    command_id: z.string().optional(),
    summary: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();
export type BatchProgress = z.infer<typeof batchProgressSchema>;

/** A command's news, for hubs waiting on it: its result is stored, or one more job event is. */
export const commandUpdateSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('done'), command_id: z.string().min(1) }),
  z.object({
    type: z.literal('event'),
    command_id: z.string().min(1),
    event: z.object({ id: z.number().int(), command_id: z.string(), type: z.string(), event: z.record(z.string(), z.unknown()), created_at: z.string() }),
  }),
]);
export type CommandUpdate = z.infer<typeof commandUpdateSchema>;

/** Parses a JSON message against a schema; undefined (never a throw) when it does not fit. */
export function parseMessage<T>(schema: z.ZodType<T>, raw: string): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
