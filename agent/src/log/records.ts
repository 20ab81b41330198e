// What the command log holds, one record per frame: a JSON header line, and for a response its
// message as a second JSON text (so loading reads the small headers and parses a message only
// when it is needed: a response still to send, or a journal lookup).
//   r  a finished command's response: id, order (seq), finished_at, and which faces it is: the
//      journal's answer for that command (j), the outbox's pending response (p), or both
//   d  responses delivered (acked by the hub, or written to a peer that never acks)
//   m  a normal-lane command started (the running marker)
//   s  a running marker ended without a response record (recovery)
import { z } from 'zod';
import { responseSchema } from '@tether/shared/protocol/agent-messages.ts';
import type { ResponseMessage } from '@tether/shared/protocol/agent-messages.ts';

const commandId = z.string().min(1).max(512);

const responseHeaderSchema = z.object({
  k: z.literal('r'),
  id: commandId,
  seq: z.number().int().nonnegative(),
  /** finished_at, ms since the epoch */
  at: z.number(),
  /** the journal's answer for this command (a replay is answered from it) */
  j: z.boolean(),
  /** the outbox's response for this command, waiting for delivery */
  p: z.boolean(),
});

const deliveredHeaderSchema = z.object({ k: z.literal('d'), ids: z.array(commandId) });

const runningHeaderSchema = z.object({
  k: z.literal('m'),
  id: commandId,
  command: z.string(),
  job_id: z.string().optional(),
  started_at: z.string(),
});

const stoppedHeaderSchema = z.object({ k: z.literal('s'), id: commandId });

const headerSchema = z.discriminatedUnion('k', [responseHeaderSchema, deliveredHeaderSchema, runningHeaderSchema, stoppedHeaderSchema]);

export type ResponseHeader = z.infer<typeof responseHeaderSchema>;
export type RunningHeader = z.infer<typeof runningHeaderSchema>;
export type RecordHeader = z.infer<typeof headerSchema>;

export interface RunningMarker {
  command_id: string;
  command: string;
  job_id?: string;
  started_at: string;
}

const NEWLINE = 0x0a;

/** JSON.stringify never writes a raw newline, so the first one ends the header. */
export function responseBody(header: Omit<ResponseHeader, 'k'>, messageJson: string): string {
  return `${JSON.stringify({ k: 'r', ...header })}\n${messageJson}`;
}

export function deliveredBody(ids: readonly string[]): string {
  return JSON.stringify({ k: 'd', ids });
}

export function runningBody(marker: RunningMarker): string {
  return JSON.stringify({ k: 'm', id: marker.command_id, command: marker.command, job_id: marker.job_id, started_at: marker.started_at });
}

export function stoppedBody(commandId: string): string {
  return JSON.stringify({ k: 's', id: commandId });
}

export type DecodedHeader = { ok: true; header: RecordHeader; messageAt: number } | { ok: false; reason: string };

/** The header of a record body; `messageAt` is where a response's message starts in the body. */
export function decodeHeader(body: Buffer): DecodedHeader {
  const newline = body.indexOf(NEWLINE);
  const headerEnd = newline < 0 ? body.length : newline;
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8', 0, headerEnd));
  } catch {
    return { ok: false, reason: 'record header is not JSON' };
  }
  const parsed = headerSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: `record header: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}` };
  if (parsed.data.k === 'r' && newline < 0) return { ok: false, reason: 'response record without its message' };
  return { ok: true, header: parsed.data, messageAt: headerEnd + 1 };
}

/** The response message stored after a response header. */
export function decodeMessage(body: Buffer, messageAt: number): ResponseMessage {
  return responseSchema.parse(JSON.parse(body.toString('utf8', messageAt)));
}

/** The message's JSON text, as stored (compaction copies it without parsing it). */
export function messageText(body: Buffer, messageAt: number): string {
  return body.toString('utf8', messageAt);
}
