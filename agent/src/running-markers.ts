// A marker per normal-lane command while it runs, kept in the command log (log/command-log.ts):
// durable before the command starts, ended by the command's response record. One left over at
// start-up means the agent stopped mid-command: that command is answered `failed`
// ("interrupted"), never run a second time.
import type { CommandLog } from './log/command-log.ts';
import type { RunningMarker } from './log/records.ts';

export type { RunningMarker } from './log/records.ts';

export class RunningMarkers {
  #log: CommandLog;

  constructor(log: CommandLog) {
    this.#log = log;
  }

  /** Resolves once the marker is durable: only then may the command start. */
  mark(marker: RunningMarker): Promise<void> {
    return this.#log.markRunning(marker);
  }

  /** Ends a marker whose command has no response record of its own (recovery). */
  clear(commandId: string): void {
    this.#log.stopRunning(commandId);
  }

  /** Markers left by a previous run whose command has no response yet. */
  leftovers(): RunningMarker[] {
    return this.#log.leftoverMarkers();
  }
}
