// Signed frames, scheme 2 (protocol.md section 6): pin the hub's key at first use (or from the
// install), then require every command to carry a valid Ed25519 signature over a payload bound to
// this agent's own key (key_sha256, computed here from the key, never taken from the peer), and
// ignore cancel / ack / permissions frames that are not signed the same way. Scheme 1 is never
// accepted once a key is pinned: a relay that strips the agent's announcement only makes commands fail.
import { hashSecret, publicKeyFingerprint, verifyEd25519 } from '@tether/shared/crypto.ts';
import { parseTimestamp } from '@tether/shared/protocol/timestamp.ts';
import { ackPayload, cancelPayload, commandPayload, MAX_CLOCK_SKEW_MS, permissionsPayload } from '@tether/shared/protocol/signed-payloads.ts';
import type { AckMessage, CancelMessage, CommandMessage, PermissionsMessage } from '@tether/shared/protocol/hub-messages.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { SigningKeyPin } from './pins.ts';

export { MAX_CLOCK_SKEW_MS };

/**
 * `verified`: the signature checked out against the pinned key (so the command id can be trusted
 * and the first answer is journaled, whatever it is). `stale`: verified, but its timestamp is
 * outside the 300 s window: answered `expired`.
 */
export type SignatureVerdict = { ok: true; verified: boolean; stale?: string } | { ok: false; code: 'bad_signature'; reason: string };

type ControlFrame = CancelMessage | AckMessage | PermissionsMessage;

export class CommandSigning {
  #pin: SigningKeyPin;
  #log: Logger;
  #keySha256: string;
  /** The hub offered a key other than the pinned one: refuse everything until an operator looks. */
  #mismatch = false;
  /** Newest signed grant applied: an older one replayed inside the window is ignored. */
  #lastGrantAt = -Infinity;

  /** `apiKey` is this agent's own key: signatures must be bound to its SHA-256. */
  constructor(pin: SigningKeyPin, apiKey: string, log: Logger) {
    this.#pin = pin;
    this.#keySha256 = hashSecret(apiKey);
    this.#log = log;
  }

  get required(): boolean {
    return this.#pin.key !== undefined;
  }

  /** Called with each `connected` message (and the HTTP register answer). Its key id is not used. */
  onConnected(signingKey: string | undefined): void {
    if (!signingKey) return;
    const pinned = this.#pin.key;
    if (!pinned) {
      if (Buffer.from(signingKey, 'base64').length !== 32) {
        this.#log.warn('the hub offered a signing key that is not a 32-byte Ed25519 key; not pinned');
        return;
      }
      this.#pin.pin(signingKey, 'first_use');
      this.#log.info({ fingerprint: publicKeyFingerprint(signingKey), path: this.#pin.path }, 'pinned the hub signing key (first use)');
    } else if (pinned !== signingKey) {
      this.#mismatch = true;
      this.#log.error(
        { pinned_fingerprint: publicKeyFingerprint(pinned), offered_fingerprint: publicKeyFingerprint(signingKey) },
        `SECURITY: the hub offered a signing key different from the pinned one; refusing all commands. If the hub key was replaced on purpose, set signing.public_key in the agent config to the new key.`,
      );
    } else {
      this.#mismatch = false;
    }
  }

  verify(command: CommandMessage, now = Date.now()): SignatureVerdict {
    const check = this.#check(command.signature, command.timestamp, (timestamp) => commandPayload({ ...command, timestamp }, this.#keySha256));
    if (check.kind === 'unpinned') return { ok: true, verified: false };
    if (check.kind === 'refused') return { ok: false, code: 'bad_signature', reason: check.reason };
    if (Math.abs(now - check.at) > MAX_CLOCK_SKEW_MS) return { ok: true, verified: true, stale: 'command timestamp is more than 300 s away from the agent clock' };
    return { ok: true, verified: true };
  }

  /**
   * Whether a cancel / ack / permissions frame may be acted on: always before a key is pinned;
   * once one is, only when signed for this agent's key within the 300 s window. A refused frame
   * is logged (SECURITY) and must be ignored.
   */
  accepts(frame: ControlFrame, now = Date.now()): boolean {
    const check = this.#check(frame.signature, frame.timestamp, (timestamp) => {
      if (frame.type === 'cancel') return cancelPayload({ command_id: frame.command_id, timestamp }, this.#keySha256);
      if (frame.type === 'ack') return ackPayload({ command_ids: frame.command_ids, timestamp }, this.#keySha256);
      return permissionsPayload({ permissions: frame.permissions, timestamp }, this.#keySha256);
    });
    if (check.kind === 'unpinned') return true;
    let refusal = check.kind === 'refused' ? check.reason : undefined;
    if (check.kind === 'verified') {
      if (Math.abs(now - check.at) > MAX_CLOCK_SKEW_MS) refusal = 'timestamp is more than 300 s away from the agent clock';
      else if (frame.type === 'permissions' && check.at <= this.#lastGrantAt) refusal = 'older than the grant already applied (a replay)';
      else if (frame.type === 'permissions') this.#lastGrantAt = check.at;
    }
    if (refusal) {
      this.#log.warn({ type: frame.type, reason: refusal, ...(frame.type === 'cancel' ? { command_id: frame.command_id } : {}) }, `SECURITY: ignored a ${frame.type} frame: ${refusal}`);
      return false;
    }
    return true;
  }

  #check(
    signature: string | undefined,
    timestamp: string | undefined,
    payload: (timestamp: string) => string,
  ): { kind: 'unpinned' } | { kind: 'refused'; reason: string } | { kind: 'verified'; at: number } {
    const key = this.#pin.key;
    if (!key) return { kind: 'unpinned' };
    const refused = (reason: string) => ({ kind: 'refused' as const, reason });
    if (this.#mismatch) return refused('the hub signing key does not match the pinned key');
    if (!signature) return refused('not signed; this agent requires signed frames (scheme 2)');
    if (!timestamp) return refused('signed frame has no timestamp');
    if (!verifyEd25519(key, payload(timestamp), signature)) return refused('signature does not verify against the pinned hub key for this agent key (scheme 2)');
    return { kind: 'verified', at: parseTimestamp(timestamp) };
  }
}
