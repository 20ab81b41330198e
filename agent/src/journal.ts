// The journal of finished commands and their responses, kept in the command log
// (log/command-log.ts): a command that arrives again is answered from here and never run twice.
// It keeps at least journal.max_entries and everything within journal.retention_h, up to
// JOURNAL_HARD_CAP_FACTOR × max_entries.
import type { ResponseMessage } from '@tether/shared/protocol/agent-messages.ts';
import type { CommandLog, JournalEntry } from './log/command-log.ts';

export type { JournalEntry, JournalLimits } from './log/command-log.ts';
export { JOURNAL_HARD_CAP_FACTOR } from './log/command-log.ts';

export class Journal {
  #log: CommandLog;

  constructor(log: CommandLog) {
    this.#log = log;
  }

  get(commandId: string): JournalEntry | undefined {
    return this.#log.journalEntry(commandId);
  }

  has(commandId: string): boolean {
    return this.#log.journalHas(commandId);
  }

  get size(): number {
    return this.#log.journalSize;
  }

  /**
   * Makes `response` the journal's answer for this command (the outbox is left as it is). A
   * response that is also sent is stored with Outbox.add(…, { journal: true }) instead: one record.
   */
  record(commandId: string, response: ResponseMessage, options: { sync?: boolean } = {}): Promise<void> {
    return this.#log.remember(commandId, response, { sync: options.sync !== false });
  }
}
