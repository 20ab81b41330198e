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
import { EntryTable } from './entry-table.ts';
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

interface Marker {
  marker: RunningMarker;
  location: Location;
}

export class CommandLog {
  readonly dir: string;
  #store: SegmentStore;
  #log: Logger;
  #limits: JournalLimits;
  /**
   * Response records, one slot each. The journal and the outbox each point at the slot that is
   * their answer for a command (usually the same one); a slot neither points at is garbage.
   */
  #entries = new EntryTable();
  /** Command id → slot of the journal's answer, oldest first (journal order). */
  #journal = new Map<string, number>();
  /** Command id → slot of the response waiting for delivery, in send order. */
  #pending = new Map<string, number>();
  #markers = new Map<string, Marker>();
  #leftovers: RunningMarker[] = [];
  /** Live bytes per segment: what compaction would have to copy. */
  #live = new Map<number, number>();
  #liveTotal = 0;
  /** Segments compaction must leave alone (see #compactOldest). */
  #keep = new Set<number>();
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
    const slot = this.#pending.get(commandId);
    return slot === undefined ? undefined : this.#messageOf(slot);
  }

  /** A pending message was handed to a link: memory need not hold it any longer. */
  sent(commandId: string): void {
    const slot = this.#pending.get(commandId);
    if (slot !== undefined) this.#entries.forgetMessage(slot);
  }

  /**
   * Stores a finished command's response: pending delivery, and the journal's answer for that
   * command when `journal`. With `sync` it resolves once the record is durable (group commit);
   * without, the record is written at once and survives a crash of the agent, not a power loss.
   * A response already pending for that command is kept as it is (the hub may have stored it);
   * with `journal`, `message` still becomes the journal's answer when there is none yet, so a
   * verified command refused after an unverified frame under its id never runs on a replay.
   */
  async store(commandId: string, message: ResponseMessage, options: { journal: boolean; sync: boolean }): Promise<void> {
    if (this.#pending.has(commandId)) {
      if (options.journal && !this.#journal.has(commandId)) await this.remember(commandId, message, { sync: options.sync });
      return;
    }
    await this.#writeResponse(commandId, message, { journal: options.journal, pending: true, sync: options.sync });
  }

  /** Makes `message` the journal's answer for this command (the outbox is left as it is). */
  async remember(commandId: string, message: ResponseMessage, options: { sync: boolean }): Promise<void> {
    await this.#writeResponse(commandId, message, { journal: true, pending: false, sync: options.sync });
  }

  /** Delivered (acked, or written to a peer that never acks): out of the outbox. */
  delivered(commandIds: Iterable<string>): void {
    for (const commandId of commandIds) {
      const slot = this.#pending.get(commandId);
      if (slot === undefined) continue;
      this.#entries.forgetMessage(slot);
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
    const slot = this.#journal.get(commandId);
    if (slot === undefined) return false;
    if (!this.#pending.has(commandId)) this.#point(this.#pending, commandId, slot);
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
    const slot = this.#journal.get(commandId);
    if (slot === undefined) return undefined;
    const response = this.#messageOf(slot);
    return response ? { command_id: commandId, finished_at: this.#entries.finishedAt(slot), response } : undefined;
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
      const slot = this.#entries.add(commandId, seq, finishedAt, location);
      this.#hold(location);
      if (faces.j) this.#point(this.#journal, commandId, slot);
      if (faces.p) this.#point(this.#pending, commandId, slot);
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
    return {
      segments: this.#store.sealedSegments().length + 1,
      bytes: this.#store.totalBytes,
      live_bytes: this.#liveBytes(),
      pending: this.#pending.size,
      journal: this.#journal.size,
      running: this.#markers.size,
      fdatasyncs: this.#store.syncs,
    };
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
    const slot = this.#entries.add(commandId, seq, finishedAt, location, how.pending ? message : undefined);
    this.#hold(location);
    if (how.journal) this.#point(this.#journal, commandId, slot);
    if (how.pending) this.#point(this.#pending, commandId, slot);
    const marker = this.#markers.get(commandId);
    if (marker) {
      this.#markers.delete(commandId);
      this.#release(marker.location);
    }
    if (how.journal) this.#trimJournal(finishedAt);
    this.#maybeCompact();
  }

  /** Points one face (journal or outbox) at `slot` for this command; a slot nothing points at is freed. */
  #point(face: Map<string, number>, commandId: string, slot: number | undefined): void {
    const previous = face.get(commandId);
    if (previous === slot) return;
    face.delete(commandId); // re-inserted: the newest goes last
    if (slot !== undefined) face.set(commandId, slot);
    if (previous !== undefined && !this.#isLive(commandId, previous)) {
      this.#release(this.#entries.location(previous));
      this.#entries.remove(previous);
    }
  }

  #isLive(commandId: string, slot: number): boolean {
    return this.#journal.get(commandId) === slot || this.#pending.get(commandId) === slot;
  }

  /** Keeps the newest maxEntries and older ones within the retention, never more than the hard cap. */
  #trimJournal(now: number): void {
    const cutoff = now - this.#limits.retentionMs;
    const hardCap = this.#limits.maxEntries * JOURNAL_HARD_CAP_FACTOR;
    while (this.#journal.size > this.#limits.maxEntries) {
      const [oldestId, oldestSlot] = this.#journal.entries().next().value!;
      if (this.#journal.size <= hardCap && this.#entries.finishedAt(oldestSlot) >= cutoff) break;
      this.#point(this.#journal, oldestId, undefined);
    }
  }

  #messageOf(slot: number): ResponseMessage | undefined {
    const kept = this.#entries.message(slot);
    if (kept) return kept;
    try {
      const body = this.#store.read(this.#entries.location(slot));
      const decoded = decodeHeader(body);
      if (!decoded.ok) throw new Error(decoded.reason);
      return decodeMessage(body, decoded.messageAt);
    } catch (error) {
      this.#log.error({ command_id: this.#entries.id(slot), err: (error as Error).message }, 'command log: a stored response cannot be read back');
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
    this.#liveTotal += location.bytes;
  }

  #release(location: Location): void {
    this.#live.set(location.segment, (this.#live.get(location.segment) ?? 0) - location.bytes);
    this.#liveTotal -= location.bytes;
  }

  #liveBytes(): number {
    return this.#liveTotal;
  }

  /** The oldest sealed segment, when compacting it is worth its cost. */
  #compactionCandidate(): number | undefined {
    const oldest = this.#store.oldestSealed();
    if (oldest === undefined || this.#keep.has(oldest)) return undefined;
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
    const slots = [...new Set([...this.#journal.values(), ...this.#pending.values()])].filter((slot) => this.#entries.segment(slot) === segment);
    const markers = [...this.#markers.values()].filter((marker) => marker.location.segment === segment);
    for (let start = 0; start < slots.length; start += COMPACTION_CHUNK) {
      for (const slot of slots.slice(start, start + COMPACTION_CHUNK)) {
        // A slot freed (or freed and reused) since the list was made is skipped.
        const id = this.#entries.id(slot);
        if (id !== undefined && this.#isLive(id, slot) && this.#entries.segment(slot) === segment) this.#copyEntry(id, slot);
      }
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
    const left = this.#live.get(segment) ?? 0;
    if (left !== 0) {
      // Never remove a segment something may still point at: keep it, and say so once.
      this.#keep.add(segment);
      this.#log.error({ segment, live_bytes: left }, 'command log: a compacted segment still has live records; kept');
      return;
    }
    this.#live.delete(segment);
    this.#store.remove(segment);
  }

  #copyEntry(id: string, slot: number): void {
    const from = this.#entries.location(slot);
    const body = this.#store.read(from);
    const decoded = decodeHeader(body);
    if (!decoded.ok || decoded.header.k !== 'r') throw new Error(`the record of ${id} became unreadable before compaction copied it`);
    const faces = { j: this.#journal.get(id) === slot, p: this.#pending.get(id) === slot };
    const copy = this.#store.appendNow(responseBody({ id, seq: this.#entries.seq(slot), at: this.#entries.finishedAt(slot), ...faces }, messageText(body, decoded.messageAt)));
    this.#release(from);
    this.#entries.move(slot, copy);
    this.#hold(copy);
  }

  /** Replays the segments: a record sets the faces it names; deliveries and stops apply after it. */
  #load(): void {
    interface Loaded {
      seq: number;
      finishedAt: number;
      location: Location;
    }
    const journal = new Map<string, Loaded>();
    const pending = new Map<string, Loaded>();
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
          const record: Loaded = { seq: header.seq, finishedAt: header.at, location };
          this.#nextSeq = Math.max(this.#nextSeq, header.seq + 1);
          if (header.j) {
            journal.delete(header.id);
            journal.set(header.id, record);
          }
          if (header.p) {
            pending.delete(header.id);
            pending.set(header.id, record);
          }
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
    // One slot per record, shared when the journal and the outbox name the same one.
    const slots = new Map<Loaded, number>();
    const slotOf = (id: string, record: Loaded): number => {
      let slot = slots.get(record);
      if (slot === undefined) {
        slot = this.#entries.add(id, record.seq, record.finishedAt, record.location);
        slots.set(record, slot);
        this.#hold(record.location);
      }
      return slot;
    };
    const bySeq = (a: [string, Loaded], b: [string, Loaded]) => a[1].seq - b[1].seq;
    for (const [id, record] of [...journal].sort(bySeq)) this.#journal.set(id, slotOf(id, record));
    for (const [id, record] of [...pending].sort(bySeq)) this.#pending.set(id, slotOf(id, record));
    for (const marker of markers.values()) this.#hold(marker.location);
    this.#markers = markers;
    this.#leftovers = [...markers.values()].map((marker) => marker.marker);
    this.#trimJournal(Date.now());
    this.#maybeCompact();
  }
}
