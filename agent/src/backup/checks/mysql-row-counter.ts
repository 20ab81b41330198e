// Counts the rows of every table in a mariadb-dump / mysqldump script as it streams past: rows
// are the top-level `(…)` groups of `INSERT INTO `table` VALUES (…),(…);` statements (one line, or
// one row per line as MariaDB 10.11 writes them), found by skipping quoted strings (backslash
// escapes; the dump tools never put a raw newline inside one). Exact for the dump, so a
// restore test can compare the restored tables with them. Tables with no rows count 0 (from their
// CREATE TABLE).
import { LineSplitter } from './line-splitter.ts';

const CREATE = /^CREATE TABLE `((?:[^`]|``)+)`/;
const INSERT = /^INSERT INTO `((?:[^`]|``)+)` (?:\([^)]*\) )?VALUES(?: |$)/;

function endsStatement(line: Buffer): boolean {
  let end = line.length - 1;
  while (end >= 0 && (line[end] === 0x20 || line[end] === 0x0d)) end--;
  return end >= 0 && line[end] === 0x3b; /* ; */
}

export class MysqlRowCounter {
  readonly counts: Record<string, number> = {};
  /** The table whose INSERT statement continues on the next line, if any. */
  private inserting: string | null = null;
  private readonly lines = new LineSplitter((line) => this.onLine(line));

  push(chunk: Buffer): void {
    this.lines.push(chunk);
  }

  end(): void {
    this.lines.end();
  }

  private onLine(line: Buffer): void {
    if (this.inserting !== null) {
      this.counts[this.inserting]! += countRows(line, 0);
      if (endsStatement(line)) this.inserting = null;
      return;
    }
    if (line.length < 12) return;
    const first = line[0];
    if (first !== 0x43 /* C */ && first !== 0x49 /* I */) return;
    const head = line.toString('utf8', 0, Math.min(line.length, 512));
    const created = CREATE.exec(head);
    if (created) {
      this.counts[created[1]!.replace(/``/g, '`')] ??= 0;
      return;
    }
    const insert = INSERT.exec(head);
    if (!insert) return;
    const table = insert[1]!.replace(/``/g, '`');
    this.counts[table] = (this.counts[table] ?? 0) + countRows(line, Buffer.byteLength(insert[0]) - 1);
    if (!endsStatement(line)) this.inserting = table;
  }
}

/** Top-level "(" outside quoted strings from `start` on. */
export function countRows(line: Buffer, start: number): number {
  let rows = 0;
  let depth = 0;
  for (let i = start; i < line.length; i++) {
    const byte = line[i];
    if (byte === 0x27 /* ' */ || byte === 0x22 /* " */) {
      i = skipString(line, i);
    } else if (byte === 0x28 /* ( */) {
      if (depth === 0) rows++;
      depth++;
    } else if (byte === 0x29 /* ) */) {
      depth--;
    }
  }
  return rows;
}

function skipString(line: Buffer, open: number): number {
  const quote = line[open];
  for (let i = open + 1; i < line.length; i++) {
    const byte = line[i];
    if (byte === 0x5c /* \ */) i++;
    else if (byte === quote) {
      if (line[i + 1] === quote)
        i++; // doubled quote
      else return i;
    }
  }
  return line.length;
}
