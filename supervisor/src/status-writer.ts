// Writes <state>/supervisor.json on every change. A full disk must not stop supervision: a failing
// write is logged once (not on every change), and once more when writes work again.
import { writeStatusFile } from '@tether/shared/release/supervisor-status.ts';
import type { SupervisorStatus } from '@tether/shared/release/supervisor-status.ts';
import type { Logger } from './logger.ts';

export class StatusWriter {
  #stateDir: string;
  #log: Logger;
  #failing = false;

  constructor(stateDir: string, log: Logger) {
    this.#stateDir = stateDir;
    this.#log = log;
  }

  write(status: SupervisorStatus): void {
    try {
      writeStatusFile(this.#stateDir, status);
      if (this.#failing) this.#log.info('status file written again');
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) this.#log.error({ err: error }, 'cannot write the status file; supervision continues');
      this.#failing = true;
    }
  }
}
