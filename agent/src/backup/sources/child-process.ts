// External programs as sources and sinks: argv arrays only, never a shell. A non-zero exit (or an
// error line on stderr, for dump tools) fails the stream with the program's own words.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { basename } from 'node:path';
import { childEnv } from '@tether/shared/child-env.ts';
import type { ToolKind } from '@tether/shared/child-env.ts';

const STDERR_KEEP = 4096;
const COALESCE_BYTES = 1 << 20;

export interface ProgramOptions {
  /** Variables this program's own target sets (its `env:`, its password as PGPASSWORD). */
  env?: Readonly<Record<string, string>>;
  /** Which tool this is: decides what else it gets from the agent's environment (shared/src/child-env.ts). */
  tool?: ToolKind;
  signal?: AbortSignal;
  /** Treat a stderr line saying "error" as failure even when the exit code is 0 (dump tools). */
  stderrErrorsFail?: boolean;
  /** runWithInput: how much of stdout to keep (the tail); default 4096 bytes. */
  keepStdout?: number;
}

function start(argv: string[], stdin: 'ignore' | 'pipe', options: ProgramOptions): ChildProcess {
  const [program, ...args] = argv;
  if (!program) throw new Error('empty argv');
  // detached: the program leads its own process group so that a cancel kills the whole tree.
  const child = spawn(program, args, { stdio: [stdin, 'pipe', 'pipe'], env: childEnv({ tool: options.tool, set: options.env }), detached: true });
  const kill = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  if (options.signal?.aborted) kill();
  options.signal?.addEventListener('abort', kill, { once: true });
  child.once('close', () => options.signal?.removeEventListener('abort', kill));
  return child;
}

/** Resolves with an Error describing a failed run, or null when the program succeeded. */
function outcome(child: ChildProcess, argv: string[], options: ProgramOptions): Promise<Error | null> {
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_KEEP);
  });
  const name = basename(argv[0]!);
  return new Promise((resolve) => {
    child.once('error', (error) => resolve(new Error(`${name} could not start: ${error.message}`)));
    child.once('close', (code, signal) => {
      const tail = stderr.trim();
      if (options.signal?.aborted) resolve(new Error(`${name} was stopped: the command was cancelled or timed out`));
      else if (code !== 0) resolve(new Error(`${name} failed (${signal ? `signal ${signal}` : `exit code ${code}`})${tail ? `: ${tail}` : ''}`));
      else if (options.stderrErrorsFail && /\berror\b/i.test(tail)) resolve(new Error(`${name} reported an error: ${tail}`));
      else resolve(null);
    });
  });
}

/**
 * The program's stdout as a stream that only ends once the program exited cleanly. Dump tools
 * write in 4 KiB pieces, so the pipe wakes the event loop every few KiB: each piece is copied into
 * a 1 MiB block straight from the 'data' event (no promise or async-iterator step per piece), and
 * only full blocks travel on, which cuts the per-chunk cost of every later stage (pg_dump of a
 * 456 MiB database: ~45,000 pipe reads). A consumer that is full pauses the pipe (back-pressure
 * reaches the program); one that gives up kills the program's process group.
 */
class ProgramOutput extends Readable {
  readonly #argv: string[];
  readonly #options: ProgramOptions;
  #child: ChildProcess | null = null;
  #block = Buffer.allocUnsafe(COALESCE_BYTES);
  #used = 0;

  constructor(argv: string[], options: ProgramOptions) {
    super({ highWaterMark: COALESCE_BYTES });
    this.#argv = argv;
    this.#options = options;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    let child: ChildProcess;
    try {
      child = start(this.#argv, 'ignore', this.#options);
    } catch (error) {
      return callback(error as Error);
    }
    this.#child = child;
    const done = outcome(child, this.#argv, this.#options);
    const stdout = child.stdout!;
    stdout.on('data', (piece: Buffer) => this.#take(piece));
    stdout.once('error', (error) => this.destroy(error));
    stdout.once('end', () => {
      void done.then((failure) => {
        if (failure) return this.destroy(failure);
        if (this.#used > 0) this.push(this.#block.subarray(0, this.#used));
        this.push(null);
      });
    });
    stdout.pause(); // flows once the consumer reads
    callback();
  }

  #take(piece: Buffer): void {
    let offset = 0;
    while (offset < piece.length) {
      const count = Math.min(piece.length - offset, COALESCE_BYTES - this.#used);
      piece.copy(this.#block, this.#used, offset, offset + count);
      this.#used += count;
      offset += count;
      if (this.#used === COALESCE_BYTES) {
        const full = this.#block;
        this.#block = Buffer.allocUnsafe(COALESCE_BYTES);
        this.#used = 0;
        if (!this.push(full)) this.#child?.stdout?.pause();
      }
    }
  }

  override _read(): void {
    this.#child?.stdout?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const child = this.#child;
    // The consumer gave up (another stage failed, or cancel): stop the program.
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    child?.stdout?.destroy();
    callback(error);
  }
}

export function programOutput(argv: string[], options: ProgramOptions = {}): Readable {
  return new ProgramOutput(argv, options);
}

/** Several programs' outputs, one after the other, as one stream (e.g. one dump per database). */
export function concatenatedOutputs(argvs: string[][], options: ProgramOptions = {}): Readable {
  async function* produce(): AsyncGenerator<Buffer> {
    for (const argv of argvs) yield* programOutput(argv, options);
  }
  return Readable.from(produce(), { objectMode: false });
}

/** Feeds `input` to the program's stdin; rejects with the program's message if it fails. */
export async function runWithInput(argv: string[], input: Readable, options: ProgramOptions = {}): Promise<string> {
  const child = start(argv, 'pipe', options);
  let stdout = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (text: string) => {
    stdout = (stdout + text).slice(-(options.keepStdout ?? STDERR_KEEP));
  });
  const done = outcome(child, argv, options);
  const fed = pipeline(input, child.stdin!).catch((error: Error) => error);
  const failure = await done;
  const feedError = await fed;
  if (failure) throw failure;
  if (feedError instanceof Error) throw feedError;
  return stdout;
}

/** First line of `program --version`, or "unknown" (recorded in manifests). */
export async function programVersion(program: string): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of programOutput([program, '--version'])) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').split('\n')[0]!.trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}
