// The command log's index of response records: one slot per record, its fields in parallel typed
// arrays rather than objects. As objects each entry was three small heap objects (entry, location,
// boxed timestamp, ~130 bytes) that live on among short-lived garbage and keep old-space pages
// from being freed after a burst; a slot is 36 bytes in five arrays, plus the command id string.
import type { ResponseMessage } from '@tether/shared/protocol/agent-messages.ts';
import type { Location } from './segments.ts';

const INITIAL_SLOTS = 1024;

export class EntryTable {
  #ids: Array<string | undefined> = [];
  #seq = new Float64Array(INITIAL_SLOTS);
  #finishedAt = new Float64Array(INITIAL_SLOTS);
  #segment = new Int32Array(INITIAL_SLOTS);
  #offset = new Float64Array(INITIAL_SLOTS);
  #bytes = new Int32Array(INITIAL_SLOTS);
  #free: number[] = [];
  /** Messages not sent yet (after the first send a re-send reads the record back). */
  #messages = new Map<number, ResponseMessage>();

  add(id: string, seq: number, finishedAt: number, location: Location, message?: ResponseMessage): number {
    const slot = this.#free.pop() ?? this.#grow();
    this.#ids[slot] = id;
    this.#seq[slot] = seq;
    this.#finishedAt[slot] = finishedAt;
    this.#place(slot, location);
    if (message) this.#messages.set(slot, message);
    return slot;
  }

  remove(slot: number): void {
    this.#ids[slot] = undefined;
    this.#messages.delete(slot);
    this.#free.push(slot);
  }

  /** The command id of a slot in use (undefined once it is freed). */
  id(slot: number): string | undefined {
    return this.#ids[slot];
  }

  seq(slot: number): number {
    return this.#seq[slot]!;
  }

  finishedAt(slot: number): number {
    return this.#finishedAt[slot]!;
  }

  segment(slot: number): number {
    return this.#segment[slot]!;
  }

  location(slot: number): Location {
    return { segment: this.#segment[slot]!, offset: this.#offset[slot]!, bytes: this.#bytes[slot]! };
  }

  /** The record moved (compaction copied it). */
  move(slot: number, location: Location): void {
    this.#place(slot, location);
  }

  message(slot: number): ResponseMessage | undefined {
    return this.#messages.get(slot);
  }

  forgetMessage(slot: number): void {
    this.#messages.delete(slot);
  }

  #place(slot: number, location: Location): void {
    this.#segment[slot] = location.segment;
    this.#offset[slot] = location.offset;
    this.#bytes[slot] = location.bytes;
  }

  #grow(): number {
    const slot = this.#ids.length;
    this.#ids.push(undefined);
    if (slot >= this.#seq.length) {
      const size = this.#seq.length * 2;
      this.#seq = grown(this.#seq, new Float64Array(size));
      this.#finishedAt = grown(this.#finishedAt, new Float64Array(size));
      this.#segment = grown(this.#segment, new Int32Array(size));
      this.#offset = grown(this.#offset, new Float64Array(size));
      this.#bytes = grown(this.#bytes, new Int32Array(size));
    }
    return slot;
  }
}

function grown<T extends Float64Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
