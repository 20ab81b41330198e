// Journal of finished commands and their responses, so a command that arrives again is answered
// from here and never run twice. Append-only JSON lines (fsync per entry of an effectful command),
// compacted atomically.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomicSync } from '@tether/shared/atomic-file.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { setAside } from './state.ts';

const entrySchema = z.object({
  command_id: z.string().min(1),
  finished_at: z.number(),
  response: z.record(z.string(), z.unknown()),
});

export type JournalEntry = z.infer<typeof entrySchema>;

export interface JournalLimits {
  /** Entries younger than this are always kept. */
  retentionMs: number;
  /** The newest this many entries are always kept. */
  maxEntries: number;
}

/** Never more than this many times maxEntries, however many arrived within the retention. */
export const JOURNAL_HARD_CAP_FACTOR = 10;

/** In memory each entry is its journal line: a flat string, several times smaller than the object. */
interface StoredEntry {
  finishedAt: number;
  line: string;
}

export class Journal {
  readonly path: string;
  #log: Logger;
  #limits: JournalLimits;
  #entries = new Map<string, StoredEntry>();
  #appendsSinceCompaction = 0;
  #fd: number | null = null;

  constructor(stateDir: string, limits: JournalLimits, log: Logger) {
    this.path = join(stateDir, 'journal.jsonl');
    this.#limits = limits;
    this.#log = log;
    this.#load();
    this.compact();
  }

  #load(): void {
    if (!existsSync(this.path)) return;
    const lines = readFileSync(this.path, 'utf8').split('\n');
    let bad = 0;
    for (const [index, line] of lines.entries()) {
      if (line.trim() === '') continue;
      try {
        const parsed = entrySchema.safeParse(JSON.parse(line));
        if (!parsed.success) throw new Error(parsed.error.message);
        this.#entries.delete(parsed.data.command_id);
        this.#entries.set(parsed.data.command_id, { finishedAt: parsed.data.finished_at, line: `${JSON.stringify(parsed.data)}\n` });
      } catch {
        // A crash during an append leaves at most a torn last line; anything else is damage.
        if (index !== lines.length - 1 || line.endsWith('}')) bad += 1;
        else this.#log.warn({ path: this.path }, 'journal: dropped a torn last line');
      }
    }
    if (bad > 0) {
      setAside(this.path, this.#log, `${bad} unreadable journal line(s); kept ${this.#entries.size} good entries`);
      this.#rewrite();
    }
  }

  get(commandId: string): JournalEntry | undefined {
    const stored = this.#entries.get(commandId);
    return stored === undefined ? undefined : (JSON.parse(stored.line) as JournalEntry);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** `sync: false` skips the fsync, for effect-free commands (see CommandDefinition.effectFree). */
  record(commandId: string, response: Record<string, unknown>, options: { sync?: boolean } = {}): void {
    const entry: JournalEntry = { command_id: commandId, finished_at: Date.now(), response };
    const line = `${JSON.stringify(entry)}\n`;
    this.#entries.delete(commandId);
    this.#entries.set(commandId, { finishedAt: entry.finished_at, line });
    // The append descriptor stays open: an open() per response costs more than the write itself.
    this.#fd ??= openSync(this.path, 'a', 0o600);
    writeSync(this.#fd, line);
    if (options.sync !== false) fsyncSync(this.#fd);
    this.#appendsSinceCompaction += 1;
    // Compaction rewrites the whole file: do it once the file has about doubled, not more often.
    if (this.#appendsSinceCompaction >= Math.max(1000, this.#limits.maxEntries / 10, this.#entries.size / 2)) this.compact();
  }

  /**
   * Keeps the newest maxEntries, and any older entry still within the retention, but never more
   * than JOURNAL_HARD_CAP_FACTOR × maxEntries: a busy agent must not grow without bound for a day.
   */
  compact(): void {
    const cutoff = Date.now() - this.#limits.retentionMs;
    const all = [...this.#entries];
    const keepFrom = Math.max(0, all.length - this.#limits.maxEntries);
    const hardFrom = Math.max(0, all.length - this.#limits.maxEntries * JOURNAL_HARD_CAP_FACTOR);
    const kept = all.filter(([, entry], index) => index >= keepFrom || (index >= hardFrom && entry.finishedAt >= cutoff));
    this.#entries = new Map(kept);
    this.#appendsSinceCompaction = 0;
    if (existsSync(this.path) || kept.length > 0) this.#rewrite();
  }

  #rewrite(): void {
    // The rename replaces the file: appends must go to the new one.
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
    const text = [...this.#entries.values()].map((entry) => entry.line).join('');
    writeFileAtomicSync(this.path, text);
  }
}
