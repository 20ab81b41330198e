// What the hub signs, scheme 2 (docs/protocol.md section 6): one canonical-JSON payload per frame
// type, bound to the agent's own key by key_sha256 (the hex SHA-256 of the agent key, exactly what
// the hub stores). key_sha256 never travels: each side computes it. Hub and agent both build
// payloads here, so the bytes that are signed and the bytes that are verified cannot drift apart.
import { canonicalJson } from '../canonical-json.ts';

/** The signing scheme a tether agent announces in `register.data.signing` (and the HTTP register body). */
export const SIGNING_SCHEME = 2;

/** Frames whose timestamp is further than this from the agent clock are refused or ignored. */
export const MAX_CLOCK_SKEW_MS = 300_000;

export interface CommandFields {
  command_id: string;
  command: string;
  data?: unknown;
  timestamp: string;
  deadline?: string | null;
  timeout_s?: number | null;
}

export function commandPayload(fields: CommandFields, keySha256: string): string {
  return canonicalJson({
    v: SIGNING_SCHEME,
    type: 'command',
    command_id: fields.command_id,
    command: fields.command,
    data: fields.data ?? {},
    timestamp: fields.timestamp,
    deadline: fields.deadline ?? null,
    timeout_s: fields.timeout_s ?? null,
    key_sha256: keySha256,
  });
}

export function cancelPayload(fields: { command_id: string; timestamp: string }, keySha256: string): string {
  return canonicalJson({ v: SIGNING_SCHEME, type: 'cancel', command_id: fields.command_id, timestamp: fields.timestamp, key_sha256: keySha256 });
}

export function ackPayload(fields: { command_ids: readonly string[]; timestamp: string }, keySha256: string): string {
  return canonicalJson({ v: SIGNING_SCHEME, type: 'ack', command_ids: fields.command_ids, timestamp: fields.timestamp, key_sha256: keySha256 });
}

export function permissionsPayload(fields: { permissions: readonly string[]; timestamp: string }, keySha256: string): string {
  return canonicalJson({ v: SIGNING_SCHEME, type: 'permissions', permissions: fields.permissions, timestamp: fields.timestamp, key_sha256: keySha256 });
}

/**
 * Scheme 1, for tether agents older than scheme 2 (they must stay updatable). It binds to the
 * key id the agent learns from the unsigned `connected` frame and leaves timeout_s unsigned:
 * scheme-2 agents never accept it.
 */
export function commandPayloadV1(fields: CommandFields & { agent_key_id: string }): string {
  return canonicalJson({
    command_id: fields.command_id,
    command: fields.command,
    data: fields.data,
    timestamp: fields.timestamp,
    deadline: fields.deadline ?? undefined,
    agent_key_id: fields.agent_key_id,
  });
}
