// What every source hands the pipeline: a byte stream plus what the manifest records about it.
import type { Readable } from 'node:stream';
import type { ArtifactChecks } from '../manifest.ts';

export interface BackupSource {
  stream: Readable;
  /** File extension of the plain dump, e.g. "tar", "sql", "dump", "sqlite". */
  extension: string;
  /** Bytes the source expects to produce, when known up front (progress and ETA). */
  bytesTotal?: number;
  /**
   * Versions of the tools that produced the stream, e.g. { pg_dump: "pg_dump (PostgreSQL) 15.2" };
   * a promise when the `--version` probe runs alongside the dump (it is only needed for the manifest).
   */
  toolVersions: Record<string, string> | Promise<Record<string, string>>;
  /**
   * Things an operator should know about this dump, filled while the stream runs (read it after
   * the stream ends): e.g. files that grew or shrank while they were archived.
   */
  warnings?: string[];
  /**
   * What a restore test will compare, filled while the stream runs (read it after the stream
   * ends): row counts per table, or the files' sha256 list.
   */
  checks?: ArtifactChecks;
  /** Sees every source chunk as it passes (row counting); `end` once the stream is done. */
  inspector?: { push(chunk: Buffer): void; end?(): void };
  /** Removes temporary files (snapshots, option files). Always called, success or failure. */
  cleanup(): Promise<void>;
}
