// The agent's identity file <state>/agent.json: a stable agent_id, and the record that a signing
// key was pinned (the key itself lives in pins.json, see pins.ts).
import { mkdirSync, chmodSync, readFileSync, renameSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { writeFileAtomicSync } from '@tether/shared/atomic-file.ts';
import type { Logger } from '@tether/shared/logger.ts';

const agentStateSchema = z.object({
  agent_id: z.string().min(1),
  created_at: z.string().optional(),
  /** Only in files written before pins.json existed: migrated there, then removed from here. */
  signing_key: z.string().optional(),
  /** A signing key was pinned: if pins.json is then missing or corrupt, that is an error. */
  signing_key_pinned_at: z.string().optional(),
  signing_key_fingerprint: z.string().optional(),
});

export type AgentState = z.infer<typeof agentStateSchema>;

/** Creates the state dir (0700) and returns its path. */
export function ensureStateDir(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(stateDir, 0o700);
  } catch {
    // Not ours to change (e.g. a mounted volume); the files inside are still 0600.
  }
  return stateDir;
}

/** Renames a damaged store file to *.corrupt so it can be inspected, and never read again. */
export function setAside(path: string, log: Logger, why: string): void {
  const target = `${path}.${Date.now()}.corrupt`;
  try {
    renameSync(path, target);
    log.warn({ path, moved_to: target, why }, 'corrupt state file set aside');
  } catch (error) {
    log.warn({ path, why, err: error }, 'corrupt state file could not be set aside');
  }
}

export class AgentStateFile {
  readonly path: string;
  #state: AgentState;

  constructor(stateDir: string, log: Logger) {
    this.path = join(stateDir, 'agent.json');
    this.#state = this.#load(log);
  }

  get agentId(): string {
    return this.#state.agent_id;
  }

  /** A key pinned by an agent older than pins.json, still to migrate. */
  get legacySigningKey(): string | undefined {
    return this.#state.signing_key;
  }

  /** When and which key was pinned, if this file says one was. */
  get pinMarker(): { pinnedAt: string; fingerprint: string | undefined } | undefined {
    const pinnedAt = this.#state.signing_key_pinned_at;
    return pinnedAt ? { pinnedAt, fingerprint: this.#state.signing_key_fingerprint } : undefined;
  }

  /** Records that a key is pinned (in pins.json); drops a migrated legacy key. */
  markPinned(pinnedAt: string, fingerprint: string): void {
    const { signing_key: _legacy, ...rest } = this.#state;
    if (_legacy === undefined && rest.signing_key_pinned_at === pinnedAt && rest.signing_key_fingerprint === fingerprint) return;
    this.#state = { ...rest, signing_key_pinned_at: pinnedAt, signing_key_fingerprint: fingerprint };
    this.#save();
  }

  #load(log: Logger): AgentState {
    if (existsSync(this.path)) {
      try {
        const parsed = agentStateSchema.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
        if (parsed.success) return parsed.data;
        setAside(this.path, log, parsed.error.message);
      } catch (error) {
        setAside(this.path, log, (error as Error).message);
      }
    }
    this.#state = { agent_id: randomUUID(), created_at: new Date().toISOString() };
    this.#save();
    return this.#state;
  }

  #save(): void {
    writeFileAtomicSync(this.path, `${JSON.stringify(this.#state, null, 2)}\n`);
  }
}
