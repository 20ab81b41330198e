// The pinned hub command-signing key, in its own file <state>/pins.json (0600, atomic writes), so
// a damaged agent.json never takes the pin with it. agent.json records that a pin exists: a pin
// file that is then missing or unreadable stops the agent (exit 78) instead of trusting whatever
// key the next hub offers. A key in the config (signing.public_key) is the operator's word: it is
// always the pin, and it is how a lost pin is restored.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomicSync } from '@tether/shared/atomic-file.ts';
import { publicKeyFingerprint } from '@tether/shared/crypto.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { setAside } from './state.ts';
import type { AgentStateFile } from './state.ts';
import { TetherError } from '@tether/shared/errors.ts';

export const PINS_FILE = 'pins.json';

const pinFileSchema = z.object({
  signing_key: z.string().refine((value) => Buffer.from(value, 'base64').length === 32, 'must be a base64 Ed25519 public key (32 bytes)'),
  fingerprint: z.string().optional(),
  pinned_at: z.string(),
  source: z.enum(['config', 'first_use', 'migrated']),
});

export type PinSource = z.infer<typeof pinFileSchema>['source'];

/** A pin that existed is gone or unreadable: the agent must not start (exit 78). */
export class PinError extends TetherError {
  override name = 'PinError';

  constructor(message: string) {
    super('TETHER_ERR_PIN', message);
  }
}

export interface SigningKeyPinOptions {
  stateDir: string;
  state: AgentStateFile;
  /** signing.public_key from the config, if set. */
  configuredKey: string | undefined;
  /** Where the operator can read the hub's key and fingerprint (GET /api/agents/signing-key). */
  signingKeyUrl: string;
  log: Logger;
}

export class SigningKeyPin {
  readonly path: string;
  #state: AgentStateFile;
  #log: Logger;
  #key: string | undefined;

  /** Throws PinError when a pin existed and can no longer be read. */
  constructor(options: SigningKeyPinOptions) {
    this.path = join(options.stateDir, PINS_FILE);
    this.#state = options.state;
    this.#log = options.log;
    this.#key = this.#load(options);
  }

  /** The pinned key (base64), or undefined while nothing is pinned (first use still to come). */
  get key(): string | undefined {
    return this.#key;
  }

  /** Pins a key: pins.json first, then the marker in agent.json (a crash in between is harmless). */
  pin(key: string, source: PinSource): void {
    const pinnedAt = new Date().toISOString();
    const fingerprint = publicKeyFingerprint(key);
    writeFileAtomicSync(this.path, `${JSON.stringify({ signing_key: key, fingerprint, pinned_at: pinnedAt, source }, null, 2)}\n`, { mode: 0o600 });
    this.#state.markPinned(pinnedAt, fingerprint);
    this.#key = key;
  }

  #load(options: SigningKeyPinOptions): string | undefined {
    const stored = this.#read();
    const configured = options.configuredKey;
    if (stored.kind === 'ok') {
      if (configured && configured !== stored.key) {
        this.#log.warn(
          { pinned_fingerprint: publicKeyFingerprint(stored.key), configured_fingerprint: publicKeyFingerprint(configured) },
          'signing.public_key in the config differs from the pinned key: the config wins, re-pinned',
        );
        this.pin(configured, 'config');
        return configured;
      }
      this.#state.markPinned(stored.pinnedAt, publicKeyFingerprint(stored.key)); // agent.json may have been recreated
      return stored.key;
    }
    if (configured) {
      if (stored.kind === 'corrupt') setAside(this.path, this.#log, stored.why);
      if (stored.kind !== 'missing' || this.#state.pinMarker) this.#log.warn({ path: this.path }, 'the pin file was lost; re-pinned from signing.public_key in the config');
      this.pin(configured, 'config');
      return configured;
    }
    const legacy = this.#state.legacySigningKey;
    if (stored.kind === 'missing' && legacy && Buffer.from(legacy, 'base64').length === 32) {
      this.pin(legacy, 'migrated');
      this.#log.info({ path: this.path }, 'moved the pinned signing key from agent.json to its own file');
      return legacy;
    }
    const marker = this.#state.pinMarker;
    const recovery = `To recover, set signing.public_key in the agent config to the hub's signing key (${options.signingKeyUrl} shows it with its fingerprint${marker?.fingerprint ? `; the key pinned before had fingerprint ${marker.fingerprint}` : ''}) and start the agent again. Only if the hub's key was replaced on purpose should it be a different key.`;
    if (stored.kind === 'corrupt') {
      throw new PinError(`the pinned hub signing key cannot be read: ${this.path} is damaged (${stored.why}). The agent does not fall back to trusting whichever key a hub offers. ${recovery}`);
    }
    if (marker) {
      throw new PinError(
        `the pinned hub signing key is missing: agent.json records a key pinned at ${marker.pinnedAt}, but ${this.path} does not exist. The agent does not fall back to trusting whichever key a hub offers. ${recovery}`,
      );
    }
    return undefined; // never pinned: the first hub's key is pinned at first connect
  }

  #read(): { kind: 'ok'; key: string; pinnedAt: string } | { kind: 'missing' } | { kind: 'corrupt'; why: string } {
    if (!existsSync(this.path)) return { kind: 'missing' };
    try {
      const parsed = pinFileSchema.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
      if (!parsed.success) return { kind: 'corrupt', why: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`).join('; ') };
      if (parsed.data.fingerprint && parsed.data.fingerprint !== publicKeyFingerprint(parsed.data.signing_key)) return { kind: 'corrupt', why: 'the fingerprint does not match the key' };
      return { kind: 'ok', key: parsed.data.signing_key, pinnedAt: parsed.data.pinned_at };
    } catch (error) {
      return { kind: 'corrupt', why: (error as Error).message };
    }
  }
}
