// Retention of the artifacts this hub stores, per key and target. The policy is the target's own
// `retention:` in the agent's config (keep the newest N, and/or drop what is older than D days),
// sent with every upload's manifest: one setting governs the host's copies and the hub's alike.
// It is applied when a manifest arrives and every hour (an age limit bites without new uploads).
// Never removed: the newest `minKeep` artifacts (--artifact-min-keep, default 1: a floor the host
// cannot lower), and the newest one whose restore test passed. Every removal is in the audit log
// (actor `retention`, action `artifact.expire`).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '@tether/shared/logger.ts';
import type { StoredArtifact } from '@tether/shared/protocol/backup-views.ts';
import type { HubStore } from '../store/store.ts';
import { deleteArtifact, KEY_ID, listArtifacts } from './stored-artifacts.ts';
import type { ArtifactShelf } from './stored-artifacts.ts';
import { artifactDir } from './upload-handler.ts';

export const reportedRetentionSchema = z.object({
  keep: z.number().int().min(1).max(100_000).optional(),
  max_age_days: z.number().positive().max(36_500).optional(),
});
export type ReportedRetention = z.infer<typeof reportedRetentionSchema>;

export interface RetentionDeps {
  shelf: ArtifactShelf;
  store: Pick<HubStore, 'appendAudit'>;
  log: Logger;
  /** The newest this many of a target always stay (at least 1). */
  minKeep: number;
}

const DAY_MS = 86_400_000;
const EVERY_MS = 3_600_000;

/** Why an artifact goes, or null when it stays; `artifacts` newest first. */
function expiryReason(artifacts: readonly StoredArtifact[], index: number, policy: ReportedRetention, keptVerified: string | undefined, minKeep: number, now: number): string | null {
  const artifact = artifacts[index]!;
  if (index < Math.max(1, minKeep) || artifact.id === keptVerified) return null;
  if (policy.keep !== undefined && index >= policy.keep) return `beyond the newest ${policy.keep} (retention.keep)`;
  if (policy.max_age_days !== undefined && now - Date.parse(artifact.created_at) > policy.max_age_days * DAY_MS) return `older than ${policy.max_age_days} days (retention.max_age_days)`;
  return null;
}

/** Applies the policy to one key's target; returns the ids removed. */
export async function enforceRetention(deps: RetentionDeps, keyId: string, target: string, policy: ReportedRetention, now = Date.now()): Promise<string[]> {
  if (policy.keep === undefined && policy.max_age_days === undefined) return [];
  const artifacts = await listArtifacts(deps.shelf, { keyId, target });
  const keptVerified = artifacts.find((artifact) => artifact.verify?.ok === true)?.id;
  const removed: string[] = [];
  for (const [index, artifact] of artifacts.entries()) {
    const reason = expiryReason(artifacts, index, policy, keptVerified, deps.minKeep, now);
    if (reason === null || !(await deleteArtifact(deps.shelf, keyId, artifact.id))) continue;
    removed.push(artifact.id);
    deps.log.info({ key_id: keyId, target, id: artifact.id, reason }, 'artifact removed by retention');
    await deps.store.appendAudit({
      actor: 'retention',
      action: 'artifact.expire',
      key_id: keyId,
      command_id: null,
      outcome: 'ok',
      detail: { artifact_id: artifact.id, target, size: artifact.size, reason, policy },
    });
  }
  return removed;
}

/** The policy the newest manifest of the target carried, or null when it carried none. */
async function reportedPolicy(dataDir: string, keyId: string, artifacts: readonly StoredArtifact[]): Promise<ReportedRetention | null> {
  for (const artifact of artifacts) {
    const text = await readFile(join(artifactDir(dataDir, keyId), `${artifact.id}.manifest.json`), 'utf8').catch(() => null);
    if (text === null) continue;
    try {
      const parsed = reportedRetentionSchema.safeParse((JSON.parse(text) as { retention?: unknown }).retention);
      return parsed.success && parsed.data ? parsed.data : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** Every key and target on this hub's disk, each with the policy its newest manifest reported. */
export async function enforceAllRetention(deps: RetentionDeps, now = Date.now()): Promise<number> {
  let removed = 0;
  const keyIds = (await readdir(join(deps.shelf.dataDir, 'artifacts')).catch(() => [] as string[])).filter((name) => KEY_ID.test(name));
  for (const keyId of keyIds) {
    const byTarget = new Map<string, StoredArtifact[]>();
    for (const artifact of await listArtifacts(deps.shelf, { keyId })) byTarget.set(artifact.target, [...(byTarget.get(artifact.target) ?? []), artifact]);
    for (const [target, artifacts] of byTarget) {
      const policy = await reportedPolicy(deps.shelf.dataDir, keyId, artifacts);
      if (policy) removed += (await enforceRetention(deps, keyId, target, policy, now)).length;
    }
  }
  return removed;
}

export function enforceRetentionRegularly(deps: RetentionDeps): { stop(): void } {
  const sweep = () => void enforceAllRetention(deps).catch((error: Error) => deps.log.warn({ err: error.message }, 'could not apply the retention of stored artifacts'));
  sweep();
  const timer = setInterval(sweep, EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
