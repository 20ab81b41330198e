// Durable outbox: every response is stored (atomic, fsync) in <state>/outbox/ before it is sent,
// and stays until the hub acks it (or, for a peer without protocol 1, until the write completed).
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic, writeFileAtomicSync } from '@tether/shared/atomic-file.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { setAside } from './state.ts';

const storedSchema = z.object({
  command_id: z.string().min(1),
  message: z.record(z.string(), z.unknown()),
});

export interface OutboxEntry {
  seq: number;
  commandId: string;
  message: Record<string, unknown>;
  file: string;
}

const FILE_PATTERN = /^(\d{12})\.json$/;

export class Outbox {
  readonly dir: string;
  #log: Logger;
  #entries: OutboxEntry[] = [];
  #nextSeq = 1;
  #removedListeners: Array<(commandId: string) => void> = [];
  #adding: Promise<void> = Promise.resolve();

  constructor(stateDir: string, log: Logger) {
    this.dir = join(stateDir, 'outbox');
    this.#log = log;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.#load();
  }

  #load(): void {
    for (const name of readdirSync(this.dir).sort()) {
      const match = FILE_PATTERN.exec(name);
      if (!match) continue;
      const file = join(this.dir, name);
      const seq = Number(match[1]);
      this.#nextSeq = Math.max(this.#nextSeq, seq + 1);
      try {
        const parsed = storedSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
        if (!parsed.success) throw new Error(parsed.error.message);
        this.#entries.push({ seq, commandId: parsed.data.command_id, message: parsed.data.message, file });
      } catch (error) {
        setAside(file, this.#log, (error as Error).message);
      }
    }
  }

  /** In send order. */
  entries(): readonly OutboxEntry[] {
    return this.#entries;
  }

  has(commandId: string): boolean {
    return this.#entries.some((entry) => entry.commandId === commandId);
  }

  get(commandId: string): OutboxEntry | undefined {
    return this.#entries.find((entry) => entry.commandId === commandId);
  }

  get size(): number {
    return this.#entries.length;
  }

  /**
   * Stores a response; a response already waiting for that command is kept as is. `sync: false`
   * skips the fsync, for responses of effect-free commands (see CommandDefinition.effectFree).
   */
  add(commandId: string, message: Record<string, unknown>, options: { sync?: boolean } = {}): Promise<void> {
    // Serialised, so entries become visible (and are sent) in the order they were added.
    const added = this.#adding.then(async () => {
      if (this.has(commandId)) return;
      const seq = this.#nextSeq++;
      const file = join(this.dir, `${String(seq).padStart(12, '0')}.json`);
      const text = JSON.stringify({ command_id: commandId, message });
      // Without fsync the write is a few fast syscalls: done inline, it spares threadpool round trips.
      if (options.sync === false) writeFileAtomicSync(file, text, { sync: false });
      else await writeFileAtomic(file, text);
      this.#entries.push({ seq, commandId, message, file });
    });
    this.#adding = added.catch(() => {});
    return added;
  }

  /** Forgets delivered responses (acked, or written to a peer that never acks). */
  async remove(commandIds: Iterable<string>): Promise<void> {
    const ids = new Set(commandIds);
    const removed = this.#entries.filter((entry) => ids.has(entry.commandId));
    if (removed.length === 0) return;
    this.#entries = this.#entries.filter((entry) => !ids.has(entry.commandId));
    for (const entry of removed) {
      await rm(entry.file, { force: true });
      for (const listener of this.#removedListeners) listener(entry.commandId);
    }
  }

  onRemoved(listener: (commandId: string) => void): void {
    this.#removedListeners.push(listener);
  }
}
