// The hub → agent frames that carry a signature (protocol.md section 6): command, cancel, ack and
// permissions. Sessions that announced signing scheme 2 get payloads bound to the key's stored
// hash (key_sha256, carried by the session from its authentication); older tether agents get scheme-1 commands and unsigned cancel/ack frames,
// and stock micro-hack agents ignore the extra fields.
import { ackPayload, cancelPayload, commandPayload, commandPayloadV1, permissionsPayload, SIGNING_SCHEME } from '@tether/shared/protocol/signed-payloads.ts';
import type { CommandSigner } from '../identity/signing-key.ts';
import type { AgentSession } from '../presence.ts';
import type { CommandRecord } from '../store/store.ts';

type Frame = Record<string, unknown>;
type SessionRef = Pick<AgentSession, 'keyHash' | 'signing'>;

export class SignedFrames {
  readonly #signer: CommandSigner;

  constructor(signer: CommandSigner) {
    this.#signer = signer;
  }

  /** The wire form of a command, signed now: the timestamp is fresh, so a queued command is not stale. */
  command(session: SessionRef, record: CommandRecord): Frame {
    const timestamp = new Date().toISOString();
    const fields = {
      command_id: record.command_id,
      command: record.command,
      data: record.data,
      timestamp,
      deadline: record.deadline,
      timeout_s: record.timeout_s,
    };
    const signature = scheme2(session) ? this.#signer.sign(commandPayload(fields, session.keyHash)) : this.#signer.sign(commandPayloadV1({ ...fields, agent_key_id: record.key_id }));
    return {
      type: 'command',
      command_id: record.command_id,
      command: record.command,
      data: record.data,
      timestamp,
      ...(record.deadline !== null ? { deadline: record.deadline } : {}),
      ...(record.timeout_s !== null ? { timeout_s: record.timeout_s } : {}),
      signature,
    };
  }

  cancel(session: SessionRef, commandId: string): Frame {
    if (!scheme2(session)) return { type: 'cancel', command_id: commandId };
    const timestamp = new Date().toISOString();
    return { type: 'cancel', command_id: commandId, timestamp, signature: this.#signer.sign(cancelPayload({ command_id: commandId, timestamp }, session.keyHash)) };
  }

  /** The WebSocket `ack` frame. */
  ack(session: SessionRef, commandIds: readonly string[]): Frame {
    if (!scheme2(session)) return { type: 'ack', command_ids: commandIds };
    return { type: 'ack', ...this.httpAck(session.keyHash, commandIds) };
  }

  /**
   * The `ack` member of the answer to POST /api/agents/result. Always scheme 2: agents that do not
   * verify it ignore an unknown answer field. `keyHash`: the stored hash of the key that sent it.
   */
  httpAck(keyHash: string, commandIds: readonly string[]): { command_ids: readonly string[]; timestamp: string; signature: string } {
    const timestamp = new Date().toISOString();
    return { command_ids: commandIds, timestamp, signature: this.#signer.sign(ackPayload({ command_ids: commandIds, timestamp }, keyHash)) };
  }

  /** A changed grant, for sessions that announced scheme 2 (older agents do not know the frame). */
  permissions(session: SessionRef, permissions: readonly string[]): Frame {
    const timestamp = new Date().toISOString();
    return { type: 'permissions', permissions, timestamp, signature: this.#signer.sign(permissionsPayload({ permissions, timestamp }, session.keyHash)) };
  }
}

export function scheme2(session: Pick<AgentSession, 'signing'>): boolean {
  return session.signing === SIGNING_SCHEME;
}
