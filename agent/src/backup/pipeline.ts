// source → count → compress → age encrypt → sha256 → file. One stream.pipeline: back-pressure end
// to end, constant memory, and the first stage to fail stops every other stage with its own error.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import type { Readable, TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AgeEncryptStream } from './age/stream.ts';
import { createCompressor } from './compression.ts';
import { FlushBehind } from './flush-behind.ts';
import { gcPacer } from './gc-pacer.ts';
import type { CompressionAlgorithm } from './compression.ts';

/** Passes bytes through, counting them, calling `onBytes` with the running total and pacing GC. */
export class ByteCounter extends Transform {
  bytes = 0;
  private readonly onBytes: ((bytes: number) => void) | undefined;
  private readonly inspect: ((chunk: Buffer) => void) | undefined;
  private readonly pace = gcPacer();

  constructor(onBytes?: (bytes: number) => void, inspect?: (chunk: Buffer) => void) {
    super();
    this.onBytes = onBytes;
    this.inspect = inspect;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.inspect?.(chunk);
    this.pace(chunk.length);
    this.onBytes?.(this.bytes);
    callback(null, chunk);
  }
}

/** Passes bytes through and hashes them. */
export class Sha256Stream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export interface PipelineOptions {
  compression: CompressionAlgorithm;
  level?: number | undefined;
  recipients: string[];
  signal: AbortSignal;
  onSourceBytes?: (bytes: number) => void;
  /** Sees every source chunk (row counting for the restore test). */
  inspect?: (chunk: Buffer) => void;
}

export interface PipelineResult {
  sourceBytes: number;
  size: number;
  sha256: string;
}

/**
 * Runs the pipeline into `output`: a path (created 0600, must not exist, flushed behind the writes
 * and fsynced at the end: flush-behind.ts) or a writable such as the body of a streamed hub upload.
 */
export async function runPipeline(source: Readable, output: string | Writable, options: PipelineOptions): Promise<PipelineResult> {
  const counter = new ByteCounter(options.onSourceBytes, options.inspect);
  const hasher = new Sha256Stream();
  const file = typeof output === 'string' ? createWriteStream(output, { flags: 'wx', mode: 0o600, highWaterMark: 2 << 20 }) : null;
  const flush = file ? new FlushBehind(file, output as string) : null;
  const stages = [
    source,
    counter,
    createCompressor(options.compression, options.level),
    ...(options.recipients.length > 0 ? [new AgeEncryptStream(options.recipients)] : []),
    hasher,
    ...(file && flush ? [flush, file] : [output]),
  ];
  try {
    await (pipeline as (...args: unknown[]) => Promise<void>)(...stages, { signal: options.signal });
  } catch (error) {
    await flush?.close();
    throw error;
  }
  await flush?.syncAll();
  return { sourceBytes: counter.bytes, size: hasher.bytes, sha256: hasher.digest() };
}
