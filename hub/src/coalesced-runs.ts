// One run of some work per id at a time (advancing a fleet batch, a rollout): a request while it
// runs makes it run once more afterwards, so bursts of triggers cost at most two runs and none is
// lost. A failed run is reported and the next trigger tries again.
export class CoalescedRuns {
  readonly #work: (id: string) => Promise<void>;
  readonly #failed: (id: string, error: Error) => void;
  readonly #running = new Map<string, { again: boolean; done: Promise<void> }>();

  constructor(work: (id: string) => Promise<void>, failed: (id: string, error: Error) => void) {
    this.#work = work;
    this.#failed = failed;
  }

  /** Resolves once the run that covers this request has ended. */
  run(id: string): Promise<void> {
    const running = this.#running.get(id);
    if (running) {
      running.again = true;
      return running.done;
    }
    const state = { again: false, done: Promise.resolve() };
    state.done = (async () => {
      try {
        do {
          state.again = false;
          await this.#work(id);
        } while (state.again);
      } catch (error) {
        this.#failed(id, error as Error);
      } finally {
        this.#running.delete(id);
      }
    })();
    this.#running.set(id, state);
    return state.done;
  }
}
