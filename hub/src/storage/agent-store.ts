// What the hub last heard from each agent: registration data and the last heartbeat.
import type { Database } from './database.ts';

export interface AgentRecord {
  agent_id: string;
  key_id: string;
  hostname: string;
  version: string;
  os: string | null;
  transport: string;
  last_seen: string;
  register_data: Record<string, unknown>;
  last_heartbeat: Record<string, unknown> | null;
}

export class AgentStore {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  saveRegistration(record: { agent_id: string; key_id: string; hostname: string; version: string; os?: string; transport: string; data: unknown }): void {
    this.db
      .prepare(
        `INSERT INTO agents (agent_id, key_id, hostname, version, os, transport, last_seen, register_data)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (agent_id) DO UPDATE SET key_id = excluded.key_id, hostname = excluded.hostname,
           version = excluded.version, os = excluded.os, transport = excluded.transport,
           last_seen = excluded.last_seen, register_data = excluded.register_data`,
      )
      .run(record.agent_id, record.key_id, record.hostname, record.version, record.os ?? null, record.transport, new Date().toISOString(), JSON.stringify(record.data));
  }

  /** Only the key the agent is registered under may update its row. */
  saveHeartbeat(agentId: string, keyId: string, heartbeat: unknown): void {
    this.db
      .prepare('UPDATE agents SET last_seen = ?, last_heartbeat = ? WHERE agent_id = ? AND key_id = ?')
      .run(new Date().toISOString(), JSON.stringify(heartbeat), agentId, keyId);
  }

  /** The key an agent_id is registered under, if any. */
  ownerOf(agentId: string): string | undefined {
    const row = this.db.prepare('SELECT key_id FROM agents WHERE agent_id = ?').get(agentId) as { key_id: string } | undefined;
    return row?.key_id;
  }

  countForKey(keyId: string): number {
    return Number((this.db.prepare('SELECT COUNT(*) AS count FROM agents WHERE key_id = ?').get(keyId) as { count: number }).count);
  }

  /** The key's agents, least recently seen first (to make room under the per-key quota). */
  idsByLastSeen(keyId: string): string[] {
    return (this.db.prepare('SELECT agent_id FROM agents WHERE key_id = ? ORDER BY last_seen, agent_id').all(keyId) as Array<{ agent_id: string }>).map((row) => row.agent_id);
  }

  delete(agentId: string): void {
    this.db.prepare('DELETE FROM agents WHERE agent_id = ?').run(agentId);
  }

  get(agentId: string): AgentRecord | undefined {
    const row = this.db.prepare('SELECT * FROM agents WHERE agent_id = ?').get(agentId) as Record<string, unknown> | undefined;
    if (!row) return undefined;
    return {
      ...(row as unknown as AgentRecord),
      register_data: JSON.parse(String(row.register_data)) as Record<string, unknown>,
      last_heartbeat: row.last_heartbeat ? (JSON.parse(String(row.last_heartbeat)) as Record<string, unknown>) : null,
    };
  }
}
