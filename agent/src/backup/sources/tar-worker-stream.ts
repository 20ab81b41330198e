// The files source's tar stream as a Readable on the main thread, made by tar-worker.ts in a
// worker thread. The worker may run `ahead` blocks in front of the consumer; each block the
// consumer asks for grants one more, so back-pressure reaches the tree walk. Destroying the stream
// (a failed stage, cancel) terminates the worker.
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { TarWorkerData, TarWorkerMessage } from './tar-worker.ts';

/** tar-worker.ts beside this file in the sources; in a build, `chunks/backup-tar-worker.mjs` (scripts/build.ts). */
function workerUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return new URL('./tar-worker.ts', here);
  return new URL(here.includes('/chunks/') ? './backup-tar-worker.mjs' : './chunks/backup-tar-worker.mjs', here);
}

export interface TarWorkerOutcome {
  /** Regular files hashed into the sha256 list. */
  files: number;
  warnings: string[];
}

export class TarWorkerStream extends Readable {
  readonly #spec: TarWorkerData;
  readonly #onEnd: (outcome: TarWorkerOutcome) => void;
  #worker: Worker | null = null;
  #ended = false;

  constructor(spec: TarWorkerData, onEnd: (outcome: TarWorkerOutcome) => void) {
    // highWaterMark 1: a block waits here only until the consumer takes it.
    super({ highWaterMark: 1 });
    this.#spec = spec;
    this.#onEnd = onEnd;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    const worker = new Worker(workerUrl(), { workerData: { tetherTarWorker: this.#spec } });
    this.#worker = worker;
    worker.on('message', (message: TarWorkerMessage) => {
      if (message.type === 'block') {
        this.push(Buffer.from(message.buffer, message.offset, message.length));
      } else if (message.type === 'end') {
        this.#ended = true;
        this.#onEnd({ files: message.files, warnings: message.warnings });
        this.push(null);
      } else {
        const error: NodeJS.ErrnoException = new Error(message.message);
        if (message.code) error.code = message.code;
        this.destroy(error);
      }
    });
    worker.once('error', (error) => this.destroy(error));
    worker.once('exit', (code) => {
      if (!this.#ended && !this.destroyed) this.destroy(new Error(`the tar worker stopped (exit code ${code}) before the archive was complete`));
    });
    callback();
  }

  override _read(): void {
    this.#worker?.postMessage(null);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const worker = this.#worker;
    this.#worker = null;
    if (worker) void worker.terminate();
    callback(error);
  }
}
