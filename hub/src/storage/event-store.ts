// Job events (job_accepted / job_progress / job_output) per command, for the SSE stream.
import type { Database } from './database.ts';

/** Events kept per command by default (--max-events-per-command); a chatty job cannot fill the disk. */
export const MAX_EVENTS_PER_COMMAND = 2000;

export interface StoredEvent {
  id: number;
  command_id: string;
  type: string;
  event: Record<string, unknown>;
  created_at: string;
}

export class EventStore {
  private readonly db: Database;
  private readonly maxPerCommand: number;

  constructor(db: Database, maxPerCommand = MAX_EVENTS_PER_COMMAND) {
    this.db = db;
    this.maxPerCommand = maxPerCommand;
  }

  /** Appends an event; undefined when the command already has its cap of events. */
  append(commandId: string, type: string, event: Record<string, unknown>): StoredEvent | undefined {
    const { count } = this.db.prepare('SELECT COUNT(*) AS count FROM job_events WHERE command_id = ?').get(commandId) as { count: number };
    if (count >= this.maxPerCommand) return undefined;
    const createdAt = new Date().toISOString();
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO job_events (command_id, type, event, created_at) VALUES (?, ?, ?, ?)')
      .run(commandId, type, JSON.stringify(event), createdAt);
    return { id: Number(lastInsertRowid), command_id: commandId, type, event, created_at: createdAt };
  }

  listAfter(commandId: string, afterId: number): StoredEvent[] {
    const rows = this.db
      .prepare('SELECT * FROM job_events WHERE command_id = ? AND id > ? ORDER BY id')
      .all(commandId, afterId) as unknown as Array<Omit<StoredEvent, 'event'> & { event: string }>;
    return rows.map((row) => ({ ...row, id: Number(row.id), event: JSON.parse(row.event) as Record<string, unknown> }));
  }
}
