// Gives memory back once a burst of commands is over. Under load V8 promotes short-lived objects
// into old-space pages among the few that live on (journal entries), and once the agent goes
// quiet no further GC runs, so V8's memory reducer never learns that allocation stopped: those
// pages stay resident. Measured on the bundled agent with 1 MB semi-spaces (`npm run bench --
// --only microhack`): 20.6 MB private idle, 69-78 MB after 21,000 commands, still so 40 s later;
// one memory-reducing GC when the work stops brings it to 28-29 MB. So: when at least
// `afterCommands` responses went out and then none for `quietMs`, run one last-resort GC (a
// compacting full GC, tens of ms on an idle agent). Needs `gc` (node --expose-gc, as the
// supervisor runs the agent); without it this does nothing.

export interface IdleReclaimOptions {
  /** Responses since the last reclaim before one is worth it. */
  afterCommands?: number;
  /** No response for this long counts as quiet. */
  quietMs?: number;
  gc?: NodeJS.GCFunction;
}

export class IdleReclaim {
  #afterCommands: number;
  #quietMs: number;
  #gc: NodeJS.GCFunction | undefined;
  #since = 0;
  #timer: NodeJS.Timeout | null = null;
  #reclaims = 0;

  constructor(options: IdleReclaimOptions = {}) {
    this.#afterCommands = options.afterCommands ?? 2000;
    this.#quietMs = options.quietMs ?? 2000;
    this.#gc = options.gc ?? globalThis.gc;
  }

  get available(): boolean {
    return this.#gc !== undefined;
  }

  /** How many reclaims ran (tests, benchmarks). */
  get reclaims(): number {
    return this.#reclaims;
  }

  /** A response went out. Cheap: a counter, and a timer re-armed in place. */
  activity(): void {
    if (!this.#gc) return;
    this.#since += 1;
    if (this.#since < this.#afterCommands) return;
    if (this.#timer) this.#timer.refresh();
    else this.#timer = setTimeout(() => this.#reclaim(), this.#quietMs).unref();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #reclaim(): void {
    this.#timer = null;
    this.#since = 0;
    this.#reclaims += 1;
    this.#gc!({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  }
}
