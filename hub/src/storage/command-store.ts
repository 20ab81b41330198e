// Commands and their results. A result is stored once: the first one wins (dedupe by command_id).
import type { CommandStatus, CommandView } from '@tether/shared/protocol/admin-api.ts';
import type { Database } from './database.ts';

export interface CommandRecord extends CommandView {
  deadline: string | null;
  timeout_s: number | null;
  sent_via: string | null;
}

interface CommandRow {
  command_id: string;
  key_id: string;
  command: string;
  data: string;
  status: CommandStatus;
  created_at: string;
  sent_at: string | null;
  sent_via: string | null;
  completed_at: string | null;
  deadline: string | null;
  timeout_s: number | null;
  result: string | null;
}

function toRecord(row: CommandRow): CommandRecord {
  return {
    ...row,
    data: JSON.parse(row.data) as Record<string, unknown>,
    result: row.result ? (JSON.parse(row.result) as Record<string, unknown>) : null,
  };
}

export class CommandStore {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  insert(command: { command_id: string; key_id: string; command: string; data: Record<string, unknown>; deadline: string | null; timeout_s: number | null }): CommandRecord {
    this.db
      .prepare(
        `INSERT INTO commands (command_id, key_id, command, data, status, created_at, deadline, timeout_s)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)`,
      )
      .run(command.command_id, command.key_id, command.command, JSON.stringify(command.data), new Date().toISOString(), command.deadline, command.timeout_s);
    return this.get(command.command_id)!;
  }

  get(commandId: string): CommandRecord | undefined {
    const row = this.db.prepare('SELECT * FROM commands WHERE command_id = ?').get(commandId) as CommandRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** Commands of a key that still need delivering: queued, or sent and never answered. */
  unanswered(keyId: string): CommandRecord[] {
    const rows = this.db
      .prepare("SELECT * FROM commands WHERE key_id = ? AND status IN ('queued', 'sent') ORDER BY created_at, rowid")
      .all(keyId) as unknown as CommandRow[];
    return rows.map(toRecord);
  }

  markSent(commandId: string, via: string): void {
    this.db
      .prepare("UPDATE commands SET status = 'sent', sent_at = ?, sent_via = ? WHERE command_id = ? AND status IN ('queued', 'sent')")
      .run(new Date().toISOString(), via, commandId);
  }

  markExpired(commandId: string): void {
    this.db
      .prepare("UPDATE commands SET status = 'expired', completed_at = ? WHERE command_id = ? AND status IN ('queued', 'sent')")
      .run(new Date().toISOString(), commandId);
  }

  /** Stores the result unless one is already stored. True when this call stored it. */
  complete(commandId: string, result: Record<string, unknown>, success: boolean): boolean {
    const changes = this.db
      .prepare('UPDATE commands SET status = ?, completed_at = ?, result = ? WHERE command_id = ? AND result IS NULL')
      .run(success ? 'completed' : 'failed', new Date().toISOString(), JSON.stringify(result), commandId).changes;
    return Number(changes) > 0;
  }
}
