// <state>/update-trial.json: a freshly switched version on probation. Written before `current`
// is switched and removed once the version has stayed up; a supervisor killed in between finds it
// at start and resumes the trial (or finishes a rollback).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '@tether/shared/atomic-file.ts';
import { isValidVersion } from '@tether/shared/release/versions.ts';

export interface Trial {
  /** What ran before: an installed version, or the base entry (image / --agent-entry). */
  from_kind: 'installed' | 'base';
  from_version: string | null;
  to: string;
  started_at: string;
  /** Crash times (ms since epoch) of the new version during the trial. */
  crashes: number[];
  /** Set once the new version has reported ready. */
  ready_at: string | null;
}

function trialPath(stateDir: string): string {
  return join(stateDir, 'update-trial.json');
}

export function readTrial(stateDir: string): Trial | null {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(trialPath(stateDir), 'utf8'));
  } catch {
    return null;
  }
  const record = (value ?? {}) as Record<string, unknown>;
  if (typeof record.to !== 'string' || !isValidVersion(record.to)) return null;
  const fromVersion = typeof record.from_version === 'string' && isValidVersion(record.from_version) ? record.from_version : null;
  return {
    from_kind: record.from_kind === 'installed' && fromVersion !== null ? 'installed' : 'base',
    from_version: fromVersion,
    to: record.to,
    started_at: typeof record.started_at === 'string' ? record.started_at : new Date().toISOString(),
    crashes: Array.isArray(record.crashes) ? record.crashes.filter((at): at is number => Number.isFinite(at)).slice(-20) : [],
    ready_at: typeof record.ready_at === 'string' ? record.ready_at : null,
  };
}

export function writeTrial(stateDir: string, trial: Trial): void {
  writeFileAtomicSync(trialPath(stateDir), `${JSON.stringify(trial, null, 2)}\n`, { mode: 0o600 });
}

export function removeTrial(stateDir: string): void {
  rmSync(trialPath(stateDir), { force: true });
}
