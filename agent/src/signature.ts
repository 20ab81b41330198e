// Signed commands (protocol.md section 6): pin the hub's key at first use, then require a valid
// Ed25519 signature on every command and a timestamp within 300 s of the local clock.
import { canonicalJson } from '@tether/shared/canonical-json.ts';
import { verifyEd25519 } from '@tether/shared/crypto.ts';
import { parseTimestamp } from '@tether/shared/protocol/timestamp.ts';
import type { CommandMessage } from '@tether/shared/protocol/hub-messages.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { AgentStateFile } from './state.ts';

export const MAX_CLOCK_SKEW_MS = 300_000;

export type SignatureVerdict = { ok: true } | { ok: false; code: 'bad_signature' | 'expired'; reason: string };

export class CommandSigning {
  #state: AgentStateFile;
  #log: Logger;
  #agentKeyId: string | undefined;
  /** The hub offered a key other than the pinned one: refuse everything until an operator looks. */
  #mismatch = false;

  constructor(state: AgentStateFile, configuredKey: string | undefined, log: Logger) {
    this.#state = state;
    this.#log = log;
    if (configuredKey && !state.signingKey) state.pinSigningKey(configuredKey);
    if (configuredKey && state.signingKey && configuredKey !== state.signingKey) {
      this.#mismatch = true;
      log.error('signing.public_key in the config differs from the key pinned in agent.json: refusing all commands');
    }
  }

  get required(): boolean {
    return this.#state.signingKey !== undefined;
  }

  /** Called with each `connected` message. */
  onConnected(signingKey: string | undefined, agentKeyId: string | undefined): void {
    this.#agentKeyId = agentKeyId;
    if (!signingKey) return;
    const pinned = this.#state.signingKey;
    if (!pinned) {
      this.#state.pinSigningKey(signingKey);
      this.#log.info('pinned the hub signing key (first use)');
    } else if (pinned !== signingKey) {
      this.#mismatch = true;
      this.#log.error(
        { pinned_key: pinned, offered_key: signingKey },
        'SECURITY: the hub offered a signing key different from the pinned one; refusing all commands. If the hub key was rotated on purpose, remove signing_key from agent.json.',
      );
    }
  }

  verify(command: CommandMessage, now = Date.now()): SignatureVerdict {
    const key = this.#state.signingKey;
    if (!key) return { ok: true };
    if (this.#mismatch) return { ok: false, code: 'bad_signature', reason: 'the hub signing key does not match the pinned key' };
    if (!command.signature) return { ok: false, code: 'bad_signature', reason: 'command is not signed; this agent requires signed commands' };
    if (!command.timestamp) return { ok: false, code: 'bad_signature', reason: 'signed command has no timestamp' };
    const payload = canonicalJson({
      command_id: command.command_id,
      command: command.command,
      data: command.data,
      timestamp: command.timestamp,
      deadline: command.deadline,
      agent_key_id: this.#agentKeyId,
    });
    if (!verifyEd25519(key, payload, command.signature)) return { ok: false, code: 'bad_signature', reason: 'signature does not verify against the pinned hub key' };
    if (Math.abs(now - parseTimestamp(command.timestamp)) > MAX_CLOCK_SKEW_MS) {
      return { ok: false, code: 'expired', reason: 'command timestamp is more than 300 s away from the agent clock' };
    }
    return { ok: true };
  }
}
