// Staged rollouts on SQLite. Each function runs inside the store's transaction (#durably), so the
// checks and the writes of one call are atomic against every other hub process on the file.
import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { HALTING_OUTCOMES, toRollout, toRolloutHost } from '../rollout-records.ts';
import type { NewRollout, NewRolloutHost, RolloutHost, RolloutHostChange, RolloutRecord, RolloutTransition } from '../rollout-records.ts';

type Row = Record<string, unknown>;

export function createRollout(db: DatabaseSync, input: NewRollout, hosts: readonly NewRolloutHost[]): string {
  const rolloutId = randomUUID();
  const now = new Date().toISOString();
  db.prepare(
    `INSERT INTO rollouts (rollout_id, version, selector, canaries, max_in_flight_percent, host_timeout_s, created_by, state, phase, halt_reason, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'running', 'canary', NULL, ?, ?)`,
  ).run(rolloutId, input.version, JSON.stringify(input.selector), input.canaries, input.max_in_flight_percent, input.host_timeout_s, input.created_by, now, now);
  const insert = db.prepare('INSERT INTO rollout_hosts (rollout_id, key_id, position, canary, outcome, from_version, detail, finished_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  hosts.forEach((host, position) => void insert.run(rolloutId, host.key_id, position, host.canary ? 1 : 0, host.outcome, host.from_version, host.detail, host.outcome === 'skipped' ? now : null, now));
  return rolloutId;
}

export function getRollout(db: DatabaseSync, rolloutId: string): RolloutRecord | undefined {
  const row = db.prepare('SELECT * FROM rollouts WHERE rollout_id = ?').get(rolloutId) as Row | undefined;
  return row ? toRollout(row) : undefined;
}

export function listRollouts(db: DatabaseSync, limit: number): RolloutRecord[] {
  return (db.prepare('SELECT * FROM rollouts ORDER BY created_at DESC, rollout_id DESC LIMIT ?').all(limit) as Row[]).map(toRollout);
}

export function listRolloutHosts(db: DatabaseSync, rolloutId: string): RolloutHost[] {
  return (db.prepare('SELECT * FROM rollout_hosts WHERE rollout_id = ? ORDER BY position').all(rolloutId) as Row[]).map(toRolloutHost);
}

export function activeRolloutIds(db: DatabaseSync): string[] {
  const rows = db
    .prepare("SELECT rollout_id FROM rollouts WHERE state = 'running' OR rollout_id IN (SELECT rollout_id FROM rollout_hosts WHERE outcome = 'updating') ORDER BY created_at")
    .all() as Row[];
  return rows.map((row) => String(row.rollout_id));
}

/** Returns the ids of the `update` commands created. */
export function startRolloutHosts(db: DatabaseSync, rolloutId: string, options: { keyIds: readonly string[]; limit: number }): string[] {
  const rollout = getRollout(db, rolloutId);
  if (rollout?.state !== 'running') return [];
  const updating = Number((db.prepare("SELECT COUNT(*) AS n FROM rollout_hosts WHERE rollout_id = ? AND outcome = 'updating'").get(rolloutId) as Row).n);
  const room = options.limit - updating;
  if (room <= 0 || options.keyIds.length === 0) return [];
  const candidates = db
    .prepare(
      `SELECT key_id FROM rollout_hosts WHERE rollout_id = ? AND outcome = 'pending' AND (? = 0 OR canary = 1)
       AND key_id IN (SELECT value FROM json_each(?)) ORDER BY position LIMIT ?`,
    )
    .all(rolloutId, rollout.phase === 'canary' ? 1 : 0, JSON.stringify(options.keyIds), room) as Row[];
  const now = new Date().toISOString();
  const insertCommand = db.prepare(
    "INSERT INTO commands (command_id, key_id, command, data, status, created_at, deadline, timeout_s, batch_id) VALUES (?, ?, 'update', ?, 'queued', ?, NULL, NULL, NULL)",
  );
  const markUpdating = db.prepare("UPDATE rollout_hosts SET outcome = 'updating', command_id = ?, started_at = ?, updated_at = ? WHERE rollout_id = ? AND key_id = ?");
  return candidates.map((candidate) => {
    const commandId = randomUUID();
    insertCommand.run(commandId, String(candidate.key_id), JSON.stringify({ version: rollout.version }), now);
    markUpdating.run(commandId, now, now, rolloutId, String(candidate.key_id));
    return commandId;
  });
}

export function settleRolloutHost(db: DatabaseSync, rolloutId: string, keyId: string, change: RolloutHostChange): { changed: boolean; halted: boolean } {
  if (change.from.length === 0) return { changed: false, halted: false };
  const now = new Date().toISOString();
  const finished = change.to === 'pending' || change.to === 'updating' ? null : now;
  const changed =
    Number(
      db
        .prepare(`UPDATE rollout_hosts SET outcome = ?, detail = ?, finished_at = ?, updated_at = ? WHERE rollout_id = ? AND key_id = ? AND outcome IN (${change.from.map(() => '?').join(', ')})`)
        .run(change.to, change.detail, finished, now, rolloutId, keyId, ...change.from).changes,
    ) > 0;
  if (!changed || !HALTING_OUTCOMES.has(change.to)) return { changed, halted: false };
  const reason = `${keyId} ${change.to === 'rolled_back' ? 'rolled back' : 'failed'}: ${change.detail ?? 'no detail'}`;
  const halted = Number(db.prepare("UPDATE rollouts SET state = 'halted', halt_reason = ?, updated_at = ? WHERE rollout_id = ? AND state = 'running'").run(reason, now, rolloutId).changes) > 0;
  return { changed, halted };
}

export function transitionRollout(db: DatabaseSync, rolloutId: string, transition: RolloutTransition): boolean {
  if (transition.from.length === 0) return false;
  const now = new Date().toISOString();
  const changed =
    Number(
      db
        .prepare(
          `UPDATE rollouts SET state = ?, phase = COALESCE(?, phase), halt_reason = CASE WHEN ? THEN ? ELSE halt_reason END, updated_at = ?
           WHERE rollout_id = ? AND state IN (${transition.from.map(() => '?').join(', ')})`,
        )
        .run(transition.to, transition.phase ?? null, transition.halt_reason !== undefined ? 1 : 0, transition.halt_reason ?? null, now, rolloutId, ...transition.from).changes,
    ) > 0;
  if (changed && transition.to === 'aborted') {
    db.prepare("UPDATE rollout_hosts SET outcome = 'skipped', detail = 'the rollout was aborted', finished_at = ?, updated_at = ? WHERE rollout_id = ? AND outcome = 'pending'").run(
      now,
      now,
      rolloutId,
    );
  }
  return changed;
}
