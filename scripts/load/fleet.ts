// The simulated fleet: N agents, each with its own key, spread over worker processes of at most
// AGENTS_PER_WORKER (each socket is one open file; the machine allows 20,000 per process) and over
// loopback source addresses 127.0.0.2… (each has its own ~28,000 ephemeral ports).
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AgentSpec, FleetStatus, WorkerReport } from './fleet-messages.ts';

export const AGENTS_PER_WORKER = 2500;
const SOURCE_ADDRESSES = 200;
const WORKER = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));

export interface FleetKey {
  id: string;
  key: string;
}

export class Fleet {
  readonly #workers: Array<{ child: ChildProcess; status: FleetStatus; agents: AgentSpec[] }> = [];
  readonly #changed = new Set<() => void>();

  static async start(keys: FleetKey[]): Promise<Fleet> {
    const fleet = new Fleet();
    const specs: AgentSpec[] = keys.map((key, index) => ({ keyId: key.id, key: key.key, agentId: `load-agent-${index}`, localAddress: `127.0.0.${2 + (index % SOURCE_ADDRESSES)}` }));
    const ready: Array<Promise<void>> = [];
    for (let start = 0; start < specs.length; start += AGENTS_PER_WORKER) {
      const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const status: FleetStatus = { type: 'status', registered: 0, everRegistered: 0, answered: 0, connects: 0, fatal: 0, fatalReason: null };
      const worker = { child, agents: specs.slice(start, start + AGENTS_PER_WORKER), status };
      fleet.#workers.push(worker);
      ready.push(
        new Promise<void>((resolve, reject) => {
          child.on('message', (message: WorkerReport) => {
            if (message.type === 'ready') return resolve();
            worker.status = message;
            for (const listener of fleet.#changed) listener();
          });
          child.once('exit', (code) => reject(new Error(`a fleet worker exited with code ${code}`)));
        }),
      );
    }
    await Promise.all(ready);
    return fleet;
  }

  /** Starts every agent at once (each worker connects its slice, the workers spread over the URLs). */
  connectAll(wsUrls: readonly string[]): void {
    for (const [index, worker] of this.#workers.entries()) worker.child.send({ type: 'start', wsUrl: wsUrls[index % wsUrls.length], agents: worker.agents });
  }

  get status(): Omit<FleetStatus, 'type'> {
    const sum = { registered: 0, everRegistered: 0, answered: 0, connects: 0, fatal: 0, fatalReason: null as string | null };
    for (const { status } of this.#workers) {
      sum.registered += status.registered;
      sum.everRegistered += status.everRegistered;
      sum.answered += status.answered;
      sum.connects += status.connects;
      sum.fatal += status.fatal;
      sum.fatalReason ??= status.fatalReason;
    }
    return sum;
  }

  get processes(): number {
    return this.#workers.length;
  }

  /** Resolves when `check` holds for the summed status; rejects after timeoutMs. */
  until(check: (status: Omit<FleetStatus, 'type'>) => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#changed.delete(test);
      };
      const test = () => {
        if (!check(this.status)) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}: ${JSON.stringify(this.status)}`));
      }, timeoutMs);
      this.#changed.add(test);
      test();
    });
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#workers.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.send({ type: 'stop' });
          }),
      ),
    );
  }
}
