// A failed install leaves nothing behind: each step that creates something registers how to take
// it back, and a failure runs those in reverse order. Undo steps never throw.
import { warn } from './output.ts';

export class Undo {
  #steps: Array<{ what: string; run: () => Promise<unknown> }> = [];

  add(what: string, run: () => Promise<unknown>): void {
    this.#steps.push({ what, run });
  }

  /** The install is complete: from here on, a failure (say, to start) must not undo it. */
  forget(): void {
    this.#steps = [];
  }

  async runAll(): Promise<void> {
    for (const step of this.#steps.reverse()) {
      await step.run().catch((error: unknown) => warn(`could not undo ${step.what}: ${(error as Error).message}`));
    }
    this.#steps = [];
  }
}
