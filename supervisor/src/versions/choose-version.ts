// Which agent version the supervisor runs at start: one pure function over what the state dir
// holds. It returns either the next fact it needs, one check of one installed version (checks hash
// whole releases, so they are made lazily, only as far as the rules get), or the decision.
// The rules, in order:
//  1. a base entry without a VERSION file (a checkout, a plain --agent-entry) that was named
//     explicitly, or that has no installed version beside it, runs: there is nothing to choose;
//  2. the current version runs unless it is marked bad, when its install record verifies, or when it
//     has no record but its release files are complete (installed by hand, or by a deploy.sh older
//     than install records);
//  3. otherwise the newest other installed version that verifies and is not marked bad: switch to it;
//  4. the base entry runs when its version is newer than that choice (a newer Docker image than the
//     versions in its state volume), or when nothing was chosen and it has a version;
//  5. nothing verifies: the current version anyway when its files are complete (a damaged install
//     beats no agent at all), else the base entry.
import { compareVersions } from '@tether/shared/release/versions.ts';
import type { InstalledCheck } from '@tether/shared/release/state-files.ts';

export interface VersionFacts {
  /** The version <state>/current points at, or null. */
  current: string | null;
  /** versions/<current> exists. */
  currentExists: boolean;
  /** Installed versions, oldest first. */
  installed: readonly string[];
  /** Versions marked bad (rolled back on this host). */
  bad: ReadonlySet<string>;
  base: {
    /** The base entry's VERSION, or null when it has none. */
    version: string | null;
    /** False when the base entry lies inside the state dir (it is then an installed version). */
    candidate: boolean;
    /** --agent-entry / TETHER_AGENT_ENTRY named it. */
    explicit: boolean;
  };
}

/** Checks made so far, by version. */
export interface KnownChecks {
  /** checkInstalled: the install record and every file against it. */
  record: ReadonlyMap<string, InstalledCheck>;
  /** checkComplete: the release files are all there (true) or not. */
  complete: ReadonlyMap<string, boolean>;
}

export type ChoiceReason = 'base-without-version' | 'current' | 'newest-that-verifies' | 'newer-base' | 'nothing-verifies-base' | 'nothing-verifies-current-anyway' | 'nothing-usable';

export type VersionChoice =
  | { kind: 'check-record'; version: string }
  | { kind: 'check-complete'; version: string }
  | {
      kind: 'decided';
      /** The base entry, or an installed version. */
      run: { kind: 'base' } | { kind: 'installed'; version: string };
      /** Point `current` here first (rule 3), whatever runs. */
      switchTo: string | null;
      reason: ChoiceReason;
    };

function decided(run: 'base' | string, switchTo: string | null, reason: ChoiceReason): VersionChoice {
  return { kind: 'decided', run: run === 'base' ? { kind: 'base' } : { kind: 'installed', version: run }, switchTo, reason };
}

export function chooseVersion(facts: VersionFacts, known: KnownChecks): VersionChoice {
  const { current, base } = facts;
  if (base.candidate && base.version === null && (base.explicit || current === null)) return decided('base', null, 'base-without-version');

  let chosen: string | null = null;
  let switchTo: string | null = null;
  if (current !== null && !facts.bad.has(current) && facts.currentExists) {
    const record = known.record.get(current);
    if (record === undefined) return { kind: 'check-record', version: current };
    if (record.ok) {
      chosen = current;
    } else if (record.unrecorded) {
      const complete = known.complete.get(current);
      if (complete === undefined) return { kind: 'check-complete', version: current };
      if (complete) chosen = current;
    }
  }
  if (chosen === null) {
    for (const version of [...facts.installed].reverse()) {
      if (version === current || facts.bad.has(version)) continue;
      const record = known.record.get(version);
      if (record === undefined) return { kind: 'check-record', version };
      if (record.ok) {
        chosen = version;
        switchTo = version;
        break;
      }
    }
  }

  if (base.candidate && base.version !== null && (chosen === null || compareVersions(base.version, chosen) > 0)) {
    return decided('base', switchTo, chosen === null ? 'nothing-verifies-base' : 'newer-base');
  }
  if (chosen !== null) return decided(chosen, switchTo, switchTo === null ? 'current' : 'newest-that-verifies');
  if (current !== null) {
    const complete = known.complete.get(current);
    if (complete === undefined) return { kind: 'check-complete', version: current };
    if (complete) return decided(current, null, 'nothing-verifies-current-anyway');
  }
  return decided('base', null, 'nothing-usable');
}
