// Runs one program as an argv array (never a shell) in its own process group, streams its lines
// as job_output, keeps a capped copy of stdout/stderr for the result, and on abort (cancel or
// timeout) kills the whole group, grandchildren included.
import type { JobReporter } from '../commands/command.ts';

export interface ProgramRun {
  argv: string[];
  cwd?: string;
  /** The child's whole environment, built by childEnv (shared/src/child-env.ts); nothing else is inherited. */
  env: Record<string, string>;
  signal: AbortSignal;
  job: JobReporter;
  /** Bytes of stdout and of stderr kept for the result; the rest is counted and marked. */
  captureBytes?: number;
  /** Called once the program runs; the returned promise is awaited (e.g. a durable record). */
  onStarted?: (pid: number) => Promise<unknown>;
}

export interface ProgramResult {
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  duration_ms: number;
}

const DEFAULT_CAPTURE_BYTES = 64 * 1024;
/** After SIGTERM the group gets this long before SIGKILL. */
const KILL_GRACE_MS = 2000;

class CappedText {
  #limit: number;
  #kept = '';
  #keptBytes = 0;
  #dropped = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(text: string): void {
    const bytes = Buffer.byteLength(text);
    if (this.#keptBytes + bytes <= this.#limit) {
      this.#kept += text;
      this.#keptBytes += bytes;
    } else {
      this.#dropped += bytes;
    }
  }

  toString(): string {
    return this.#dropped > 0 ? `${this.#kept}\n[output truncated: ${this.#dropped} more bytes]` : this.#kept;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export async function runProgram(run: ProgramRun): Promise<ProgramResult> {
  const { execa } = await import('execa'); // loaded only when an action runs
  const started = Date.now();
  const [program, ...args] = run.argv;
  const subprocess = execa(program!, args, {
    cwd: run.cwd,
    env: run.env,
    extendEnv: false,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    detached: true, // its own process group, so a kill reaches grandchildren too
    cleanup: true,
    shell: false,
  });
  const captured = { stdout: new CappedText(run.captureBytes ?? DEFAULT_CAPTURE_BYTES), stderr: new CappedText(run.captureBytes ?? DEFAULT_CAPTURE_BYTES) };
  for (const stream of ['stdout', 'stderr'] as const) {
    let partial = '';
    subprocess[stream]?.setEncoding('utf8');
    subprocess[stream]?.on('data', (chunk: string) => {
      captured[stream].add(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) run.job.output(line, stream);
    });
    subprocess[stream]?.on('end', () => {
      if (partial) run.job.output(partial, stream);
    });
  }

  if (subprocess.pid !== undefined && run.onStarted) await run.onStarted(subprocess.pid).catch(() => {});

  let forceTimer: NodeJS.Timeout | null = null;
  const onAbort = () => {
    if (subprocess.pid === undefined) return;
    killGroup(subprocess.pid, 'SIGTERM');
    forceTimer = setTimeout(() => killGroup(subprocess.pid!, 'SIGKILL'), KILL_GRACE_MS);
  };
  if (run.signal.aborted) onAbort();
  else run.signal.addEventListener('abort', onAbort, { once: true });

  try {
    const result = await subprocess;
    if (result.failed && result.exitCode === undefined && result.signal === undefined) {
      throw new Error(`cannot run ${program}: ${result.originalMessage ?? result.shortMessage}`);
    }
    return {
      exit_code: result.exitCode ?? null,
      signal: result.signal ?? null,
      stdout: captured.stdout.toString(),
      stderr: captured.stderr.toString(),
      duration_ms: Date.now() - started,
    };
  } finally {
    run.signal.removeEventListener('abort', onAbort);
    if (forceTimer) clearTimeout(forceTimer);
    // Whatever the program left running in its group goes with it.
    if (subprocess.pid !== undefined) killGroup(subprocess.pid, 'SIGKILL');
  }
}
