// The command log's files: <state>/log/<12-digit id>.log segments, appended to in order; the
// newest is the active one. Two ways to append:
//  - appendNow: written at once on the caller's tick, no fsync (effect-free responses, deliveries):
//    it survives a crash of the agent, not a power loss;
//  - appendDurable (group commit): what arrives while an fdatasync runs is collected, written with
//    one writev, made durable with one fdatasync, and then every caller of that batch is released.
// Segments are immutable once the next one starts; compaction (command-log.ts) copies what is still
// live out of the oldest and then removes it.
import { closeSync, existsSync, fdatasync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, unlinkSync, writeSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pauseForTest } from '@tether/shared/release/test-pause.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { encodeFrame, FRAME_HEADER_BYTES, frameBodyAt, scanFrames } from './frame.ts';

const fdatasyncAsync = promisify(fdatasync);

/** Where one record lives. */
export interface Location {
  segment: number;
  offset: number;
  /** The whole frame, header included. */
  bytes: number;
}

/** What a durable append is for: only batches with a response pause for the crash tests. */
export type AppendPurpose = 'response' | 'marker' | 'copy';

export const DEFAULT_SEGMENT_BYTES = 2 * 1024 * 1024;
const SEGMENT_NAME = /^(\d{12})\.log$/;
/** writev takes at most IOV_MAX (1024) buffers at a time. */
const MAX_IOVECS = 1024;

interface Segment {
  id: number;
  fd: number | null;
  bytes: number;
  /** Written since its last fdatasync started. */
  dirty: boolean;
}

interface Waiting {
  /** null: a barrier (durable once everything written before it is). */
  frame: Buffer | null;
  purpose: AppendPurpose;
  resolve(location: Location): void;
  reject(error: unknown): void;
}

function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the file itself is still synced.
  }
}

export class SegmentStore {
  readonly dir: string;
  #log: Logger;
  #segmentBytes: number;
  #segments = new Map<number, Segment>();
  #active!: Segment;
  #queue: Waiting[] = [];
  #committing = false;
  #syncs = 0;
  /** TETHER_TEST_PAUSE_AT=commit:<step>: the crash tests stop a group commit at that step. */
  #pauseSteps = (process.env.TETHER_TEST_PAUSE_AT ?? '').startsWith('commit:');

  /** Read-only: nothing is created, cut or appended (dump-state while the agent runs). */
  #readOnly: boolean;

  constructor(dir: string, log: Logger, options: { segmentBytes?: number; readOnly?: boolean } = {}) {
    this.dir = dir;
    this.#log = log;
    this.#segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.#readOnly = options.readOnly === true;
    if (!this.#readOnly) mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Reads every segment in order and calls `visit` for each good record. Damage in the middle of a
   * segment is skipped with a warning; a torn tail of the newest segment (a crash mid-append) is cut.
   */
  load(visit: (location: Location, body: Buffer) => void): void {
    const names = this.#readOnly && !existsSync(this.dir) ? [] : readdirSync(this.dir);
    const ids = names
      .map((name) => SEGMENT_NAME.exec(name))
      .filter((match) => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => a - b);
    for (const [index, id] of ids.entries()) {
      const path = this.#path(id);
      const content = readFileSync(path);
      const scan = scanFrames(content, (offset, bytes, body) => visit({ segment: id, offset, bytes }, body));
      for (const damage of scan.damaged)
        this.#log.warn({ segment: path, offset: damage.offset, bytes: damage.bytes }, 'command log: skipped a damaged stretch (checksum mismatch); the records after it are kept');
      const newest = index === ids.length - 1;
      if (scan.tornBytes > 0) {
        this.#log.warn(
          { segment: path, offset: scan.end, bytes: scan.tornBytes },
          newest ? 'command log: cut a torn tail (a write cut short by a crash)' : 'command log: ignored unreadable bytes at the end of an older segment',
        );
        if (newest && !this.#readOnly) this.#truncate(path, scan.end);
      }
      this.#segments.set(id, { id, fd: null, bytes: newest ? scan.end : content.length, dirty: false });
    }
    const last = ids.at(-1);
    if (this.#readOnly) this.#active = this.#segments.get(last ?? -1) ?? { id: 0, fd: null, bytes: 0, dirty: false };
    else if (last !== undefined && this.#segments.get(last)!.bytes < this.#segmentBytes) this.#activate(this.#segments.get(last)!);
    else this.#startSegment((last ?? 0) + 1);
  }

  get activeSegment(): number {
    return this.#active.id;
  }

  /** The oldest sealed segment, if any (the map holds segments in ascending order). */
  oldestSealed(): number | undefined {
    const oldest = this.#segments.keys().next().value;
    return oldest === undefined || oldest === this.#active.id ? undefined : oldest;
  }

  /** Sealed segments, oldest first (never the active one). */
  sealedSegments(): number[] {
    return [...this.#segments.keys()].filter((id) => id !== this.#active.id).sort((a, b) => a - b);
  }

  segmentSize(id: number): number {
    return this.#segments.get(id)?.bytes ?? 0;
  }

  /** fdatasync calls so far (tests: concurrent durable appends share them). */
  get syncs(): number {
    return this.#syncs;
  }

  get totalBytes(): number {
    let total = 0;
    for (const segment of this.#segments.values()) total += segment.bytes;
    return total;
  }

  /** Written now, on this tick; no fsync. */
  appendNow(body: string): Location {
    if (this.#readOnly) throw new Error('the command log is open read-only');
    if (!this.#committing) this.#rollIfFull();
    const frame = encodeFrame(body);
    return this.#write([frame])[0]!;
  }

  /** Written with the next group commit; resolves once it is on disk (fdatasync). */
  appendDurable(body: string, purpose: AppendPurpose): Promise<Location> {
    return this.#enqueue(encodeFrame(body), purpose);
  }

  /** Resolves once everything appended so far (appendNow included) is on disk. */
  async flushDurable(): Promise<void> {
    await this.#enqueue(null, 'copy');
  }

  #enqueue(frame: Buffer | null, purpose: AppendPurpose): Promise<Location> {
    if (this.#readOnly) return Promise.reject(new Error('the command log is open read-only'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ frame, purpose, resolve, reject });
      if (!this.#committing) void this.#commitLoop();
    });
  }

  /** The body of the record at `location` (its checksum checked again). */
  read(location: Location): Buffer {
    const segment = this.#segments.get(location.segment);
    if (!segment) throw new Error(`command log segment ${location.segment} is gone`);
    segment.fd ??= openSync(this.#path(segment.id), 'r');
    const frame = Buffer.allocUnsafe(location.bytes);
    let done = 0;
    while (done < frame.length) {
      const read = readSync(segment.fd, frame, done, frame.length - done, location.offset + done);
      if (read === 0) throw new Error(`command log segment ${location.segment} is shorter than expected`);
      done += read;
    }
    const body = frameBodyAt(frame, 0);
    if (body === null || body.length + FRAME_HEADER_BYTES !== frame.length) throw new Error(`command log record at ${location.segment}:${location.offset} no longer matches its checksum`);
    return body;
  }

  /** Removes a sealed segment (after its live records were copied and made durable). */
  remove(id: number): void {
    const segment = this.#segments.get(id);
    if (!segment || id === this.#active.id) return;
    if (segment.fd !== null) closeSync(segment.fd);
    segment.fd = null;
    this.#segments.delete(id);
    unlinkSync(this.#path(id));
  }

  close(): void {
    for (const segment of this.#segments.values()) if (segment.fd !== null) closeSync(segment.fd);
    for (const segment of this.#segments.values()) segment.fd = null;
  }

  async #commitLoop(): Promise<void> {
    this.#committing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0);
        const pausable = this.#pauseSteps && batch.some((waiting) => waiting.purpose === 'response');
        let locations: Location[];
        try {
          if (pausable) await pauseForTest('commit:before-write');
          this.#rollIfFull();
          const frames = batch.map((waiting) => waiting.frame).filter((frame) => frame !== null);
          const written = this.#write(frames);
          if (pausable) await pauseForTest('commit:after-write');
          await this.#syncDirty();
          if (pausable) await pauseForTest('commit:after-fsync');
          let next = 0;
          locations = batch.map((waiting) => (waiting.frame === null ? { segment: this.#active.id, offset: 0, bytes: 0 } : written[next++]!));
        } catch (error) {
          for (const waiting of batch) waiting.reject(error);
          continue;
        }
        for (const [index, waiting] of batch.entries()) waiting.resolve(locations[index]!);
      }
    } finally {
      this.#committing = false;
    }
  }

  /** fdatasync of every segment written since its last sync (the active one, and the one before a roll). */
  async #syncDirty(): Promise<void> {
    const dirty = [...this.#segments.values()].filter((segment) => segment.dirty && segment.fd !== null);
    for (const segment of dirty) segment.dirty = false; // writes from now on need the next sync
    this.#syncs += dirty.length;
    await Promise.all(dirty.map((segment) => fdatasyncAsync(segment.fd!)));
  }

  /** Appends frames to the active segment with as few writev calls as it takes. */
  #write(frames: Buffer[]): Location[] {
    const segment = this.#active;
    if (frames.length > 0) segment.dirty = true;
    const locations: Location[] = [];
    let offset = segment.bytes;
    for (const frame of frames) {
      locations.push({ segment: segment.id, offset, bytes: frame.length });
      offset += frame.length;
    }
    try {
      for (let start = 0; start < frames.length; start += MAX_IOVECS) {
        const chunk = frames.slice(start, start + MAX_IOVECS);
        const expected = chunk.reduce((sum, frame) => sum + frame.length, 0);
        const written = writevSync(segment.fd!, chunk);
        if (written < expected) this.#writeRest(segment.fd!, chunk, written);
        segment.bytes += expected;
      }
    } catch (error) {
      // Whatever reached the file (perhaps half a frame) is skipped as damage at the next load.
      segment.bytes = fstatSync(segment.fd!).size;
      throw error;
    }
    return locations;
  }

  #writeRest(fd: number, frames: Buffer[], written: number): void {
    let skip = written;
    for (const frame of frames) {
      if (skip >= frame.length) {
        skip -= frame.length;
        continue;
      }
      for (let done = skip; done < frame.length; ) done += writeSync(fd, frame, done);
      skip = 0;
    }
  }

  #rollIfFull(): void {
    if (this.#active.bytes >= this.#segmentBytes) this.#startSegment(this.#active.id + 1);
  }

  #startSegment(id: number): void {
    const segment: Segment = { id, fd: null, bytes: 0, dirty: false };
    this.#segments.set(id, segment);
    this.#activate(segment);
    // The new file's directory entry must be durable before records in it count as durable.
    syncDirectory(this.dir);
  }

  #activate(segment: Segment): void {
    if (segment.fd !== null) closeSync(segment.fd);
    segment.fd = openSync(this.#path(segment.id), 'a+', 0o600);
    segment.bytes = fstatSync(segment.fd).size;
    this.#active = segment;
  }

  #truncate(path: string, length: number): void {
    try {
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, length);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      this.#log.warn({ segment: path, err: (error as Error).message }, 'command log: could not cut the torn tail; it is skipped as damage instead');
    }
  }

  #path(id: number): string {
    return join(this.dir, `${String(id).padStart(12, '0')}.log`);
  }
}
