// The agent's one durable log (<state>/log/): the outbox (responses not yet delivered), the journal
// (finished commands and their responses, so a command that arrives again is answered from here
// and never runs twice) and the running markers (a normal-lane command started: one left over at
// start-up was interrupted). In memory it keeps only an index (where each record is, and whether it
// is pending or journaled) plus the messages not sent yet; everything else is read back from disk.
//
// Writes: a response of an effectful command (and a running marker) goes through the group commit
// and counts only once it is fdatasync'ed; effect-free ones and deliveries are written at once
// without fsync. Compaction copies the live records of the oldest segment forward (with their
// current state) and removes it, one bounded chunk per tick, and only when at least half of that
// segment is garbage (or the log holds much more garbage than live data): copying costs at most
// what it frees.
import { join } from 'node:path';
import type { Logger } from '@tether/shared/logger.ts';
import type { ResponseMessage } from '@tether/shared/protocol/agent-messages.ts';
import { SegmentStore } from './segments.ts';
import type { Location } from './segments.ts';
import { decodeHeader, decodeMessage, deliveredBody, messageText, responseBody, runningBody, stoppedBody } from './records.ts';
import type { RunningMarker } from './records.ts';

export interface JournalLimits {
  /** Entries younger than this are always kept. */
  retentionMs: number;
  /** The newest this many entries are always kept. */
  maxEntries: number;
}

/** Never more than this many times maxEntries, however many arrived within the retention. */
export const JOURNAL_HARD_CAP_FACTOR = 10;

export interface JournalEntry {
  command_id: string;
  finished_at: number;
  response: ResponseMessage;
}

export interface CommandLogOptions {
  /** Segment size; small values are for tests of compaction. */
  segmentBytes?: number;
  /** Look, never write (dump-state while the agent runs). */
  readOnly?: boolean;
}

/** Records copied per compaction step (one group commit); the event loop runs between steps. */
const COMPACTION_CHUNK = 512;

/** One response record. The journal and the outbox each point at the entry that is their answer
 * for a command (usually the same one); an entry neither points at is garbage. */
interface Entry {
  id: string;
  seq: number;
  finishedAt: number;
  location: Location;
  /** Kept only until its first send; after that a re-send reads it back from disk. */
  message: ResponseMessage | null;
}

interface Marker {
  marker: RunningMarker;
  location: Location;
}

export class CommandLog {
  readonly dir: string;
  #store: SegmentStore;
  #log: Logger;
  #limits: JournalLimits;
  /** Journaled entries, oldest first (journal order). */
  #journal = new Map<string, Entry>();
  /** Entries waiting for delivery, in send order. */
  #pending = new Map<string, Entry>();
  #markers = new Map<string, Marker>();
  #leftovers: RunningMarker[] = [];
  /** Live bytes per segment: what compaction would have to copy. */
  #live = new Map<number, number>();
  #nextSeq = 1;
  /** Deliveries not written yet (one record per tick). */
  #deliveredToWrite = new Set<string>();
  #deliveredFlush: NodeJS.Immediate | null = null;
  #deliveredListeners: Array<(commandId: string) => void> = [];
  #compacting = false;
  #closed = false;
  #readOnly: boolean;

  constructor(stateDir: string, limits: JournalLimits, log: Logger, options: CommandLogOptions = {}) {
    this.dir = join(stateDir, 'log');
    this.#limits = limits;
    this.#log = log;
    this.#readOnly = options.readOnly === true;
    this.#store = new SegmentStore(this.dir, log, { segmentBytes: options.segmentBytes, readOnly: this.#readOnly });
    this.#load();
  }


  // ——— outbox ———

  hasPending(commandId: string): boolean {
    return this.#pending.has(commandId);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Pending command ids, in send order. */
  pendingIds(): string[] {
    return [...this.#pending.keys()];
  }

  /** The pending response for this command (read back from disk once it has been sent). */
  pendingMessage(commandId: string): ResponseMessage | undefined {
    const entry = this.#pending.get(commandId);
    return entry ? this.#messageOf(entry) : undefined;
  }

  /** A pending message was handed to a link: memory need not hold it any longer. */
  sent(commandId: string): void {
    const entry = this.#pending.get(commandId);
    if (entry) entry.message = null;
  }

  /**
   * Stores a finished command's response: pending delivery, and the journal's answer for that
   * command when `journal`. With `sync` it resolves once the record is durable (group commit);
   * without, the record is written at once and survives a crash of the agent, not a power loss.
   * A response already pending for that command is kept as it is.
   */
  async store(commandId: string, message: ResponseMessage, options: { journal: boolean; sync: boolean }): Promise<void> {
    if (this.#pending.has(commandId)) return;
    await this.#writeResponse(commandId, message, { journal: options.journal, pending: true, sync: options.sync });
  }

  /** Makes `message` the journal's answer for this command (the outbox is left as it is). */
  async remember(commandId: string, message: ResponseMessage, options: { sync: boolean }): Promise<void> {
    await this.#writeResponse(commandId, message, { journal: true, pending: false, sync: options.sync });
  }

  /** Delivered (acked, or written to a peer that never acks): out of the outbox. */
  delivered(commandIds: Iterable<string>): void {
    for (const commandId of commandIds) {
      const entry = this.#pending.get(commandId);
      if (!entry) continue;
      entry.message = null;
      this.#point(this.#pending, commandId, undefined);
      this.#deliveredToWrite.add(commandId);
      for (const listener of this.#deliveredListeners) listener(commandId);
    }
    // One record for all deliveries of this tick. It needs no fsync: if it is lost, the response is
    // sent again after a restart, and the hub keeps one result per command.
    this.#deliveredFlush ??= setImmediate(() => this.#writeDelivered());
    this.#maybeCompact();
  }

  /** The journal's answer goes out again (the command was re-sent). In memory only: if it is lost,
   * the hub sends the command again and it is answered again. */
  resend(commandId: string): boolean {
    const entry = this.#journal.get(commandId);
    if (!entry) return false;
    if (!this.#pending.has(commandId)) this.#point(this.#pending, commandId, entry);
    return true;
  }

  onDelivered(listener: (commandId: string) => void): void {
    this.#deliveredListeners.push(listener);
  }

  // ——— journal ———

  journalHas(commandId: string): boolean {
    return this.#journal.has(commandId);
  }

  journalEntry(commandId: string): JournalEntry | undefined {
    const entry = this.#journal.get(commandId);
    if (!entry) return undefined;
    const response = this.#messageOf(entry);
    return response ? { command_id: commandId, finished_at: entry.finishedAt, response } : undefined;
  }

  get journalSize(): number {
    return this.#journal.size;
  }

  // ——— running markers ———

  /** Durable before it resolves: only then may the command start. */
  async markRunning(marker: RunningMarker): Promise<void> {
    const location = await this.#store.appendDurable(runningBody(marker), 'marker');
    this.#hold(location);
    const previous = this.#markers.get(marker.command_id);
    if (previous) this.#release(previous.location);
    this.#markers.set(marker.command_id, { marker, location });
  }

  /** Ends a marker without a response (a response record ends it otherwise). */
  stopRunning(commandId: string): void {
    const marker = this.#markers.get(commandId);
    if (!marker) return;
    this.#markers.delete(commandId);
    this.#release(marker.location);
    this.#store.appendNow(stoppedBody(commandId));
  }

  /** Markers found at start-up and not ended since: those commands were interrupted. */
  leftoverMarkers(): RunningMarker[] {
    return this.#leftovers.filter((marker) => this.#markers.has(marker.command_id));
  }

  get runningCount(): number {
    return this.#markers.size;
  }

  // ——— import of the stores of versions before the log (legacy-import.ts) ———

  /**
   * Takes over what an older version left (journal entries, outbox responses, running markers),
   * skipping what the log already knows, and resolves once it is durable. Returns how many records
   * it added.
   */
  async adopt(legacy: { journal: JournalEntry[]; outbox: Array<{ commandId: string; message: ResponseMessage }>; markers: RunningMarker[] }): Promise<number> {
    // What the log knew before: an entry it has an answer for was taken over before (or ran here).
    const known = new Set([...this.#journal.keys(), ...this.#pending.keys()]);
    let added = 0;
    const add = (commandId: string, message: ResponseMessage, faces: { j: boolean; p: boolean }, finishedAt: number) => {
      const seq = this.#nextSeq++;
      const location = this.#store.appendNow(responseBody({ id: commandId, seq, at: finishedAt, ...faces }, JSON.stringify(message)));
      const entry: Entry = { id: commandId, seq, finishedAt, location, message: null };
      this.#hold(location);
      if (faces.j) this.#point(this.#journal, commandId, entry);
      if (faces.p) this.#point(this.#pending, commandId, entry);
      added += 1;
    };
    for (const item of [...legacy.journal].sort((a, b) => a.finished_at - b.finished_at)) {
      if (!known.has(item.command_id)) add(item.command_id, item.response, { j: true, p: false }, item.finished_at);
    }
    for (const item of legacy.outbox) {
      if (!known.has(item.commandId) && !this.#pending.has(item.commandId)) add(item.commandId, item.message, { j: false, p: true }, Date.now());
    }
    for (const marker of legacy.markers) {
      if (known.has(marker.command_id) || this.#markers.has(marker.command_id) || this.#journal.has(marker.command_id)) continue;
      const location = this.#store.appendNow(runningBody(marker));
      this.#hold(location);
      this.#markers.set(marker.command_id, { marker, location });
      this.#leftovers.push(marker);
      added += 1;
    }
    await this.#store.flushDurable();
    this.#trimJournal(Date.now());
    return added;
  }

  // ——— housekeeping ———

  /** Sizes, for dump-state, tests and benchmarks. */
  stats(): { segments: number; bytes: number; live_bytes: number; pending: number; journal: number; running: number; fdatasyncs: number } {
    return { segments: this.#store.sealedSegments().length + 1, bytes: this.#store.totalBytes, live_bytes: this.#liveBytes(), pending: this.#pending.size, journal: this.#journal.size, running: this.#markers.size, fdatasyncs: this.#store.syncs };
  }

  /** Resolves once compaction has nothing left to do (tests). */
  async settled(): Promise<void> {
    while (this.#compacting) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  /** Writes what is buffered and closes the files (at shutdown). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#deliveredFlush) clearImmediate(this.#deliveredFlush);
    if (!this.#readOnly) this.#writeDelivered();
    this.#store.close();
  }

  async #writeResponse(commandId: string, message: ResponseMessage, how: { journal: boolean; pending: boolean; sync: boolean }): Promise<void> {
    // A delivery of this command still to be written must land before its new pending record.
    if (how.pending && this.#deliveredToWrite.has(commandId)) this.#writeDelivered();
    const seq = this.#nextSeq++;
    const finishedAt = Date.now();
    const body = responseBody({ id: commandId, seq, at: finishedAt, j: how.journal, p: how.pending }, JSON.stringify(message));
    const location = how.sync ? await this.#store.appendDurable(body, 'response') : this.#store.appendNow(body);
    if (this.#closed) return;
    const entry: Entry = { id: commandId, seq, finishedAt, location, message: how.pending ? message : null };
    this.#hold(location);
    if (how.journal) this.#point(this.#journal, commandId, entry);
    if (how.pending) this.#point(this.#pending, commandId, entry);
    const marker = this.#markers.get(commandId);
    if (marker) {
      this.#markers.delete(commandId);
      this.#release(marker.location);
    }
    if (how.journal) this.#trimJournal(finishedAt);
    this.#maybeCompact();
  }

  /** Points one face (journal or outbox) at `entry` for this command; a dropped entry is released. */
  #point(face: Map<string, Entry>, commandId: string, entry: Entry | undefined): void {
    const previous = face.get(commandId);
    if (previous === entry) return;
    if (entry) {
      face.delete(commandId); // re-inserted: the newest goes last
      face.set(commandId, entry);
    } else {
      face.delete(commandId);
    }
    if (previous && !this.#isLive(previous)) this.#release(previous.location);
  }

  #isLive(entry: Entry): boolean {
    return this.#journal.get(entry.id) === entry || this.#pending.get(entry.id) === entry;
  }

  /** Keeps the newest maxEntries and older ones within the retention, never more than the hard cap. */
  #trimJournal(now: number): void {
    const cutoff = now - this.#limits.retentionMs;
    const hardCap = this.#limits.maxEntries * JOURNAL_HARD_CAP_FACTOR;
    while (this.#journal.size > this.#limits.maxEntries) {
      const oldest = this.#journal.values().next().value!;
      if (this.#journal.size <= hardCap && oldest.finishedAt >= cutoff) break;
      this.#point(this.#journal, oldest.id, undefined);
    }
  }

  #messageOf(entry: Entry): ResponseMessage | undefined {
    if (entry.message) return entry.message;
    try {
      const body = this.#store.read(entry.location);
      const decoded = decodeHeader(body);
      if (!decoded.ok) throw new Error(decoded.reason);
      return decodeMessage(body, decoded.messageAt);
    } catch (error) {
      this.#log.error({ command_id: entry.id, err: (error as Error).message }, 'command log: a stored response cannot be read back');
      return undefined;
    }
  }

  #writeDelivered(): void {
    this.#deliveredFlush = null;
    if (this.#deliveredToWrite.size === 0) return;
    const ids = [...this.#deliveredToWrite];
    this.#deliveredToWrite.clear();
    try {
      this.#store.appendNow(deliveredBody(ids));
    } catch (error) {
      this.#log.warn({ err: (error as Error).message, delivered: ids.length }, 'command log: could not record deliveries; those responses are sent again after a restart');
    }
  }

  #hold(location: Location): void {
    this.#live.set(location.segment, (this.#live.get(location.segment) ?? 0) + location.bytes);
  }

  #release(location: Location): void {
    this.#live.set(location.segment, (this.#live.get(location.segment) ?? 0) - location.bytes);
  }

  #liveBytes(): number {
    let live = 0;
    for (const bytes of this.#live.values()) live += bytes;
    return live;
  }

  /** The oldest sealed segment, when compacting it is worth its cost. */
  #compactionCandidate(): number | undefined {
    const oldest = this.#store.sealedSegments()[0];
    if (oldest === undefined) return undefined;
    const size = this.#store.segmentSize(oldest);
    if ((this.#live.get(oldest) ?? 0) * 2 <= size) return oldest;
    // Safety valve: live records in the oldest segment must not pin a log that is mostly garbage.
    return this.#store.totalBytes > 2 * this.#liveBytes() + 4 * size ? oldest : undefined;
  }

  #maybeCompact(): void {
    if (this.#compacting || this.#closed || this.#readOnly || this.#compactionCandidate() === undefined) return;
    this.#compacting = true;
    setImmediate(() => {
      void this.#compactOldest()
        .catch((error: unknown) => this.#log.warn({ err: (error as Error).message }, 'command log: compaction failed; it is tried again later'))
        .finally(() => {
          this.#compacting = false;
          this.#maybeCompact();
        });
    });
  }

  /**
   * Copies the live records of the oldest segment forward, stating each as it is now (so the
   * deliveries recorded after them are no longer needed), makes the copies durable, then removes
   * the segment. Copies are written on one tick per chunk, so no state change falls in between.
   */
  async #compactOldest(): Promise<void> {
    const segment = this.#compactionCandidate();
    if (segment === undefined || this.#closed) return;
    const entries = [...new Set([...this.#journal.values(), ...this.#pending.values()])].filter((entry) => entry.location.segment === segment);
    const markers = [...this.#markers.values()].filter((marker) => marker.location.segment === segment);
    for (let start = 0; start < entries.length; start += COMPACTION_CHUNK) {
      for (const entry of entries.slice(start, start + COMPACTION_CHUNK)) if (this.#isLive(entry)) this.#copyEntry(entry);
      await this.#store.flushDurable();
      if (this.#closed) return;
    }
    for (const marker of markers) {
      if (this.#markers.get(marker.marker.command_id) !== marker) continue;
      const copy = this.#store.appendNow(runningBody(marker.marker));
      this.#release(marker.location);
      marker.location = copy;
      this.#hold(copy);
    }
    await this.#store.flushDurable();
    if (this.#closed) return;
    this.#live.delete(segment);
    this.#store.remove(segment);
  }

  #copyEntry(entry: Entry): void {
    const body = this.#store.read(entry.location);
    const decoded = decodeHeader(body);
    if (!decoded.ok || decoded.header.k !== 'r') throw new Error(`the record of ${entry.id} became unreadable before compaction copied it`);
    const faces = { j: this.#journal.get(entry.id) === entry, p: this.#pending.get(entry.id) === entry };
    const copy = this.#store.appendNow(responseBody({ id: entry.id, seq: entry.seq, at: entry.finishedAt, ...faces }, messageText(body, decoded.messageAt)));
    this.#release(entry.location);
    entry.location = copy;
    this.#hold(copy);
  }

  /** Replays the segments: a record sets the faces it names; deliveries and stops apply after it. */
  #load(): void {
    const journal = new Map<string, Entry>();
    const pending = new Map<string, Entry>();
    const markers = new Map<string, Marker>();
    let unreadable = 0;
    this.#store.load((location, body) => {
      const decoded = decodeHeader(body);
      if (!decoded.ok) {
        unreadable += 1;
        if (unreadable <= 5) this.#log.warn({ segment: location.segment, offset: location.offset, reason: decoded.reason }, 'command log: skipped a record this version cannot read');
        return;
      }
      const header = decoded.header;
      switch (header.k) {
        case 'r': {
          const entry: Entry = { id: header.id, seq: header.seq, finishedAt: header.at, location, message: null };
          this.#nextSeq = Math.max(this.#nextSeq, header.seq + 1);
          if (header.j) { journal.delete(header.id); journal.set(header.id, entry); }
          if (header.p) { pending.delete(header.id); pending.set(header.id, entry); }
          markers.delete(header.id);
          break;
        }
        case 'd':
          for (const id of header.ids) pending.delete(id);
          break;
        case 'm':
          markers.set(header.id, { marker: { command_id: header.id, command: header.command, job_id: header.job_id, started_at: header.started_at }, location });
          break;
        case 's':
          markers.delete(header.id);
          break;
      }
    });
    const bySeq = (a: [string, Entry], b: [string, Entry]) => a[1].seq - b[1].seq;
    this.#journal = new Map([...journal].sort(bySeq));
    this.#pending = new Map([...pending].sort(bySeq));
    for (const entry of new Set([...this.#journal.values(), ...this.#pending.values()])) this.#hold(entry.location);
    for (const marker of markers.values()) this.#hold(marker.location);
    this.#markers = markers;
    this.#leftovers = [...markers.values()].map((marker) => marker.marker);
    this.#trimJournal(Date.now());
    this.#maybeCompact();
  }
}
