// Counts the rows of every table in a plain pg_dump script as it streams past: each
// `COPY schema.table (…) FROM stdin;` block holds one row per line up to a line `\.` (COPY text
// format escapes newlines inside values). The counts are exact for the dump, so a restore test can
// compare the restored tables with them. Inside COPY blocks it only looks for newlines (no
// per-row objects), the only hot path on a large database.
import { LineSplitter } from './line-splitter.ts';
import { countNewlines } from './count-newlines.ts';

const COPY_LINE = /^COPY ((?:"(?:[^"]|"")*"|[^ ."]+)\.(?:"(?:[^"]|"")*"|[^ ."(]+)) .*FROM stdin;$/;

/** `public."Order Lines"` → `public.Order Lines` (the name as the catalog holds it). */
export function unquoteQualified(name: string): string {
  const parts: string[] = [];
  const pattern = /"((?:[^"]|"")*)"|([^."]+)/g;
  for (const match of name.matchAll(pattern)) parts.push(match[1] !== undefined ? match[1].replace(/""/g, '"') : match[2]!);
  return parts.join('.');
}

const typedIndexOf = Uint8Array.prototype.indexOf;

function findNewline(chunk: Buffer, from: number): number {
  return typedIndexOf.call(chunk, 10, from);
}

/** The end of a COPY block is the line `\.` (values write a backslash as `\\`, so no row is that line). */
const END_MARKER = Buffer.from('\\.\n', 'latin1');

/**
 * Where the end-marker line starts at or after `lineStart` (itself a line start), or -1. Searched
 * from its backslash, a byte most rows do not hold, so the search mostly runs at memchr speed.
 */
function findEndMarker(chunk: Buffer, lineStart: number): number {
  for (let at = chunk.indexOf(END_MARKER, lineStart); at !== -1; at = chunk.indexOf(END_MARKER, at + 1)) {
    if (at === lineStart || chunk[at - 1] === 10) return at;
  }
  return -1;
}

export class PostgresRowCounter {
  readonly counts: Record<string, number> = {};
  private table: string | null = null;
  /** In a COPY block: the first bytes (at most 3) of the line being read, and its length so far. */
  private lineHead = '';
  private lineLength = 0;
  private readonly lines = new LineSplitter((line) => this.onHeaderLine(line));

  push(chunk: Buffer): void {
    let position = 0;
    while (position < chunk.length) {
      if (this.table === null) {
        // Outside COPY: split lines until a COPY line switches modes (the rest of the chunk goes on below).
        const newline = chunk.indexOf(10, position);
        const end = newline === -1 ? chunk.length : newline + 1;
        this.lines.push(chunk.subarray(position, end));
        position = end;
        continue;
      }
      position = this.copyData(chunk, position);
    }
  }

  private onHeaderLine(line: Buffer): void {
    if (line.length < 5 || line[0] !== 0x43 /* C */) return;
    const match = COPY_LINE.exec(line.toString('utf8'));
    if (!match) return;
    this.table = unquoteQualified(match[1]!);
    this.counts[this.table] = 0;
    this.lineHead = '';
    this.lineLength = 0;
  }

  /**
   * Counts rows from `position`; returns where COPY data stopped (end of chunk or after `\.`).
   * Rows are newlines, counted over the whole stretch up to the end marker at once
   * (count-newlines.ts); only a line cut by a chunk boundary is looked at on its own.
   */
  private copyData(chunk: Buffer, position: number): number {
    let lineStart = position;
    if (this.lineLength > 0) {
      // The line the previous chunk ended in: it is the end marker only if it is exactly `\.`.
      const newline = findNewline(chunk, position);
      if (newline === -1) {
        this.carryLine(chunk, position);
        return chunk.length;
      }
      const isEnd = this.lineLength + newline - position === 2 && `${this.lineHead}${chunk.toString('latin1', position, newline)}` === '\\.';
      this.lineHead = '';
      this.lineLength = 0;
      if (isEnd) return this.endCopy(newline + 1);
      this.rows++;
      lineStart = newline + 1;
    }
    const marker = findEndMarker(chunk, lineStart);
    if (marker !== -1) {
      this.rows += countNewlines(chunk.subarray(lineStart, marker));
      return this.endCopy(marker + 3);
    }
    this.rows += countNewlines(chunk.subarray(lineStart));
    const lastNewline = chunk.lastIndexOf(10);
    this.carryLine(chunk, Math.max(lineStart, lastNewline + 1));
    this.flushRows();
    return chunk.length;
  }

  /** Remembers the start (at most 3 bytes) and length of a line cut at the end of the chunk. */
  private carryLine(chunk: Buffer, from: number): void {
    if (from >= chunk.length) return;
    if (this.lineHead.length < 3) this.lineHead += chunk.toString('latin1', from, Math.min(chunk.length, from + 3 - this.lineHead.length));
    this.lineLength += chunk.length - from;
  }

  private endCopy(next: number): number {
    this.flushRows();
    this.table = null;
    return next;
  }

  /** Rows of the current table counted in a local (no record lookup per row). */
  private rows = 0;

  private flushRows(): void {
    if (this.table !== null && this.rows > 0) this.counts[this.table]! += this.rows;
    this.rows = 0;
  }
}
