// Staged rollouts on PostgreSQL. The changing calls run in one transaction each and lock the
// rollout's row first (FOR UPDATE), so hubs starting or settling hosts at once take turns: the
// in-flight limit holds and a host is started once.
import { randomUUID } from 'node:crypto';
import { toCommand } from '../rows.ts';
import type { CommandRecord } from '../store.ts';
import { HALTING_OUTCOMES, toRollout, toRolloutHost } from '../rollout-records.ts';
import type { NewRollout, NewRolloutHost, RolloutHost, RolloutHostChange, RolloutRecord, RolloutTransition } from '../rollout-records.ts';

type Row = Record<string, unknown>;
export type Query = (sql: string, params?: unknown[]) => Promise<Row[]>;

export async function createRollout(query: Query, input: NewRollout, hosts: readonly NewRolloutHost[]): Promise<RolloutRecord> {
  const rolloutId = randomUUID();
  const [row] = await query(
    `INSERT INTO rollouts (rollout_id, version, selector, canaries, max_in_flight_percent, host_timeout_s, created_by, state, phase, halt_reason, created_at, updated_at)
     VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, 'running', 'canary', NULL, now(), now()) RETURNING *`,
    [rolloutId, input.version, JSON.stringify(input.selector), input.canaries, input.max_in_flight_percent, input.host_timeout_s, input.created_by],
  );
  if (hosts.length > 0) {
    await query(
      `INSERT INTO rollout_hosts (rollout_id, key_id, position, canary, outcome, from_version, detail, finished_at, updated_at)
       SELECT $1, k, ord - 1, c, o, f, d, CASE WHEN o = 'skipped' THEN now() END, now()
       FROM unnest($2::text[], $3::boolean[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(k, c, o, f, d, ord)`,
      [rolloutId, hosts.map((h) => h.key_id), hosts.map((h) => h.canary), hosts.map((h) => h.outcome), hosts.map((h) => h.from_version), hosts.map((h) => h.detail)],
    );
  }
  return toRollout(row!);
}

export async function getRollout(query: Query, rolloutId: string, lock = false): Promise<RolloutRecord | undefined> {
  const [row] = await query(`SELECT * FROM rollouts WHERE rollout_id = $1${lock ? ' FOR UPDATE' : ''}`, [rolloutId]);
  return row ? toRollout(row) : undefined;
}

export async function listRollouts(query: Query, limit: number): Promise<RolloutRecord[]> {
  return (await query('SELECT * FROM rollouts ORDER BY created_at DESC, rollout_id DESC LIMIT $1', [limit])).map(toRollout);
}

export async function listRolloutHosts(query: Query, rolloutId: string): Promise<RolloutHost[]> {
  return (await query('SELECT * FROM rollout_hosts WHERE rollout_id = $1 ORDER BY position', [rolloutId])).map(toRolloutHost);
}

export async function activeRolloutIds(query: Query): Promise<string[]> {
  const rows = await query("SELECT rollout_id FROM rollouts WHERE state = 'running' OR rollout_id IN (SELECT rollout_id FROM rollout_hosts WHERE outcome = 'updating') ORDER BY created_at");
  return rows.map((row) => String(row.rollout_id));
}

/** In a transaction. */
export async function startRolloutHosts(query: Query, rolloutId: string, options: { keyIds: readonly string[]; limit: number }): Promise<CommandRecord[]> {
  const rollout = await getRollout(query, rolloutId, true);
  if (rollout?.state !== 'running' || options.keyIds.length === 0) return [];
  const [counted] = await query("SELECT count(*)::int AS n FROM rollout_hosts WHERE rollout_id = $1 AND outcome = 'updating'", [rolloutId]);
  const room = options.limit - Number(counted!.n);
  if (room <= 0) return [];
  const candidates = (
    await query(
      `SELECT key_id FROM rollout_hosts WHERE rollout_id = $1 AND outcome = 'pending' AND (NOT $2::boolean OR canary)
       AND key_id = ANY($3::text[]) ORDER BY position LIMIT $4`,
      [rolloutId, rollout.phase === 'canary', [...options.keyIds], room],
    )
  ).map((row) => String(row.key_id));
  if (candidates.length === 0) return [];
  const commandIds = candidates.map(() => randomUUID());
  const rows = await query(
    `INSERT INTO commands (command_id, key_id, command, data, status, created_at, deadline, timeout_s, batch_id)
     SELECT c, k, 'update', $3::jsonb, 'queued', now(), NULL, NULL, NULL FROM unnest($1::text[], $2::text[]) AS u(c, k)
     RETURNING *`,
    [commandIds, candidates, JSON.stringify({ version: rollout.version })],
  );
  await query(
    `UPDATE rollout_hosts t SET outcome = 'updating', command_id = u.c, started_at = now(), updated_at = now()
     FROM unnest($2::text[], $3::text[]) AS u(k, c) WHERE t.rollout_id = $1 AND t.key_id = u.k`,
    [rolloutId, candidates, commandIds],
  );
  return rows.map(toCommand);
}

/** In a transaction. */
export async function settleRolloutHost(query: Query, rolloutId: string, keyId: string, change: RolloutHostChange): Promise<{ changed: boolean; halted: boolean }> {
  if (change.from.length === 0) return { changed: false, halted: false };
  await getRollout(query, rolloutId, true);
  const final = change.to !== 'pending' && change.to !== 'updating';
  const changed = await query(
    `UPDATE rollout_hosts SET outcome = $3, detail = $4, finished_at = CASE WHEN $5::boolean THEN now() END, updated_at = now()
     WHERE rollout_id = $1 AND key_id = $2 AND outcome = ANY($6::text[]) RETURNING 1`,
    [rolloutId, keyId, change.to, change.detail, final, [...change.from]],
  );
  if (changed.length === 0 || !HALTING_OUTCOMES.has(change.to)) return { changed: changed.length > 0, halted: false };
  const reason = `${keyId} ${change.to === 'rolled_back' ? 'rolled back' : 'failed'}: ${change.detail ?? 'no detail'}`;
  const halted = await query("UPDATE rollouts SET state = 'halted', halt_reason = $2, updated_at = now() WHERE rollout_id = $1 AND state = 'running' RETURNING 1", [rolloutId, reason]);
  return { changed: true, halted: halted.length > 0 };
}

/** In a transaction. */
export async function transitionRollout(query: Query, rolloutId: string, transition: RolloutTransition): Promise<RolloutRecord | undefined> {
  if (transition.from.length === 0) return undefined;
  const [row] = await query(
    `UPDATE rollouts SET state = $2, phase = COALESCE($3, phase), halt_reason = CASE WHEN $4::boolean THEN $5 ELSE halt_reason END, updated_at = now()
     WHERE rollout_id = $1 AND state = ANY($6::text[]) RETURNING *`,
    [rolloutId, transition.to, transition.phase ?? null, transition.halt_reason !== undefined, transition.halt_reason ?? null, [...transition.from]],
  );
  if (!row) return undefined;
  if (transition.to === 'aborted') {
    await query("UPDATE rollout_hosts SET outcome = 'skipped', detail = 'the rollout was aborted', finished_at = now(), updated_at = now() WHERE rollout_id = $1 AND outcome = 'pending'", [rolloutId]);
  }
  return toRollout(row);
}
