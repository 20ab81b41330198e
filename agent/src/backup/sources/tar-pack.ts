// A small POSIX tar (ustar + pax) writer for the files source. Written here instead of npm `tar`
// (still used to extract): every file costs npm tar several thread-pool round trips and its entries
// buffer without back-pressure. scripts/bench/backup.ts measures both on 1 GiB of mixed files
// (2026-12-01, 2 busy cores, medians of 3): tar alone, this writer ran 3.6x npm tar (GNU tar: 1.2x
// this one), and the whole zstd-1 backup 2.0x-3.3x, peaking at +31-75 MB above idle against npm
// tar's +120-131 MB (docs/decisions.md). This writer walks the tree depth-first with synchronous
// fs calls (microseconds each for metadata and small files), copies file bytes straight into 1 MiB
// output blocks and yields one block at a time, so memory is a couple of blocks whatever the tree
// size and the event loop gets a turn after every block.
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

const BLOCK = 512;
/** Output block size: large enough to amortise per-chunk costs downstream, small enough to keep RSS flat. */
export const OUTPUT_BLOCK_BYTES = 1 << 20;
const MAX_OCTAL_SIZE = 0o77777777777; // 8 GiB - 1: larger sizes go in a pax record
const MAX_OCTAL_ID = 0o7777777;
const PROBE = Buffer.alloc(1);

export interface PackOptions {
  /** Absolute directory the entry names are relative to ("/" for the files source). */
  cwd: string;
  /** Keeps an entry (and, for a directory, its contents) when true. Gets the entry name. */
  filter: (entryName: string) => boolean;
  /** Told about each file whose size changed between its header and the end of its read. */
  onFileChanged?: (change: FileChange) => void;
  /** Told the sha256 of each regular file's bytes as archived (what an extraction gives back). */
  onFileHashed?: (name: string, sha256: string) => void;
  /** One last regular file appended after the roots (e.g. the sha256 list), made when the walk is done. */
  trailer?: () => { name: string; content: Buffer } | null;
}

/** A file that shrank (zero padded to `size`) or grew (cut at `size`) while it was archived. */
export interface FileChange {
  name: string;
  change: 'shrank' | 'grew';
  /** The size in the entry's header: what lstat saw, and what the archive holds. */
  size: number;
  /** Bytes the file really had: where reading hit EOF (shrank), or its size afterwards (grew). */
  actual: number;
}

interface Entry {
  name: string;
  stats: Stats;
  type: 'file' | 'directory' | 'symlink';
  linkName?: string;
}

function needsPax(text: string, limit: number): boolean {
  return Buffer.byteLength(text) > limit || !/^[\x20-\x7e]*$/.test(text);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body);
  // The length prefix counts its own digits.
  while (String(length + String(length).length).length !== String(length).length) length++;
  return `${length + String(length).length}${body}`;
}

function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  header.write(
    `${Math.max(0, Math.floor(value))
      .toString(8)
      .padStart(width - 1, '0')}\0`,
    offset,
    width,
    'ascii',
  );
}

/** One 512-byte ustar header. `name` must already fit (callers put long names in a pax record). */
function ustarHeader(name: string, typeflag: string, size: number, stats: Stats, linkName = ''): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  writeOctal(header, 100, 8, stats.mode & 0o7777);
  writeOctal(header, 108, 8, stats.uid <= MAX_OCTAL_ID ? stats.uid : 0);
  writeOctal(header, 116, 8, stats.gid <= MAX_OCTAL_ID ? stats.gid : 0);
  writeOctal(header, 124, 12, size <= MAX_OCTAL_SIZE ? size : 0);
  writeOctal(header, 136, 12, stats.mtimeMs / 1000);
  header.write(typeflag, 156, 1, 'ascii');
  header.write(linkName, 157, 100, 'utf8');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The header blocks of one entry: an optional pax 'x' header for what ustar cannot hold, then ustar. */
export function entryHeader(entry: Entry, size: number): Buffer {
  const typeflag = entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2';
  const records: string[] = [];
  if (needsPax(entry.name, 100)) records.push(paxRecord('path', entry.name));
  if (entry.linkName !== undefined && needsPax(entry.linkName, 100)) records.push(paxRecord('linkpath', entry.linkName));
  if (size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(size)));
  if (entry.stats.uid > MAX_OCTAL_ID) records.push(paxRecord('uid', String(entry.stats.uid)));
  if (entry.stats.gid > MAX_OCTAL_ID) records.push(paxRecord('gid', String(entry.stats.gid)));
  const asciiName = records.length > 0 ? entry.name.replace(/[^\x20-\x7e]/g, '_').slice(-99) : entry.name;
  const asciiLink = (entry.linkName ?? '').replace(/[^\x20-\x7e]/g, '_').slice(0, 100);
  const main = ustarHeader(asciiName, typeflag, size, entry.stats, asciiLink);
  if (records.length === 0) return main;
  const body = Buffer.from(records.join(''), 'utf8');
  const pax = ustarHeader(`PaxHeader/${asciiName}`.slice(0, 99), 'x', body.length, entry.stats);
  return Buffer.concat([pax, body, Buffer.alloc(padding(body.length)), main]);
}

/** Fills fixed-size output blocks and hands each one out exactly once. */
class BlockWriter {
  private block = Buffer.allocUnsafe(OUTPUT_BLOCK_BYTES);
  private used = 0;
  readonly full: Buffer[] = [];

  /** Copies bytes in. */
  write(data: Buffer): void {
    let offset = 0;
    while (offset < data.length) {
      const count = Math.min(data.length - offset, this.block.length - this.used);
      data.copy(this.block, this.used, offset, offset + count);
      this.used += count;
      offset += count;
      if (this.used === this.block.length) this.rotate();
    }
  }

  /** Reads up to `count` bytes of `fd` straight into the block; returns bytes read (0 at EOF). */
  readFrom(fd: number, count: number, position: number, hash: Hash | null): number {
    const read = readSync(fd, this.block, this.used, Math.min(count, this.block.length - this.used), position);
    hash?.update(this.block.subarray(this.used, this.used + read));
    this.used += read;
    if (this.used === this.block.length) this.rotate();
    return read;
  }

  zeros(count: number, hash: Hash | null = null): void {
    if (hash && count > 0) hash.update(Buffer.alloc(count));
    let left = count;
    while (left > 0) {
      const step = Math.min(left, this.block.length - this.used);
      this.block.fill(0, this.used, this.used + step);
      this.used += step;
      left -= step;
      if (this.used === this.block.length) this.rotate();
    }
  }

  private rotate(): void {
    this.full.push(this.block);
    this.block = Buffer.allocUnsafe(OUTPUT_BLOCK_BYTES);
    this.used = 0;
  }

  /** The partly filled last block (end of archive). */
  rest(): Buffer {
    return this.block.subarray(0, this.used);
  }
}

function describeEntry(stats: Stats): Entry['type'] | null {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  return null; // sockets, fifos and devices are not backed up
}

/**
 * Streams file contents: exactly the size lstat saw, so the archive stays valid when a file grows
 * (the tail is left out) or shrinks (zero padded) while it is read; either is reported.
 */
function* copyFile(out: BlockWriter, path: string, size: number, report: (change: FileChange['change'], actual: number) => void, hash: Hash | null): Generator<void> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${path} stopped being a regular file while it was archived`);
    let position = 0;
    while (position < size) {
      const read = out.readFrom(fd, size - position, position, hash);
      if (read === 0) {
        report('shrank', position);
        out.zeros(size - position, hash);
        break;
      }
      position += read;
      if (out.full.length > 0) yield;
    }
    // One byte past the header's size: a file that grew has it (fstat alone misses /proc files, which say 0).
    if (position === size && readSync(fd, PROBE, 0, 1, size) === 1) report('grew', Math.max(fstatSync(fd).size, size + 1));
  } finally {
    closeSync(fd);
  }
  out.zeros(padding(size));
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // removed since readdir: skip
    throw error;
  }
}

function* walk(out: BlockWriter, options: PackOptions, name: string): Generator<void> {
  if (!options.filter(name)) return;
  const path = join(options.cwd, name);
  const stats = lstatOrNull(path);
  if (!stats) return;
  const type = describeEntry(stats);
  if (!type) return;
  if (type === 'symlink') {
    out.write(entryHeader({ name, stats, type, linkName: readlinkSync(path) }, 0));
  } else if (type === 'file') {
    out.write(entryHeader({ name, stats, type }, stats.size));
    const hash = options.onFileHashed ? createHash('sha256') : null;
    yield* copyFile(out, path, stats.size, (change, actual) => options.onFileChanged?.({ name, change, size: stats.size, actual }), hash);
    if (hash) options.onFileHashed!(name, hash.digest('hex'));
  } else {
    if (name !== '') out.write(entryHeader({ name: `${name}/`, stats, type }, 0));
    // Sorted: the same tree gives the same archive.
    for (const child of readdirSync(path).sort()) yield* walk(out, options, name === '' ? child : `${name}/${child}`);
  }
  if (out.full.length > 0) yield;
}

/**
 * Yields the tar archive of `entryNames` (relative to options.cwd; "" is cwd itself) in blocks of
 * OUTPUT_BLOCK_BYTES (the last one shorter). Symlinks are stored as links and never followed.
 */
export async function* packTar(entryNames: string[], options: PackOptions): AsyncGenerator<Buffer> {
  const out = new BlockWriter();
  for (const name of entryNames) {
    for (const _ of walk(out, options, name)) {
      while (out.full.length > 0) yield out.full.shift()!;
    }
    while (out.full.length > 0) yield out.full.shift()!;
  }
  const trailer = options.trailer?.();
  if (trailer) {
    const now = new Date();
    const stats = { mode: 0o600, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtimeMs: now.getTime() } as Stats;
    out.write(entryHeader({ name: trailer.name, stats, type: 'file' }, trailer.content.length));
    out.write(trailer.content);
    out.zeros(padding(trailer.content.length));
  }
  out.zeros(2 * BLOCK);
  while (out.full.length > 0) yield out.full.shift()!;
  const rest = out.rest();
  if (rest.length > 0) yield rest;
}
