// chooseVersion, the supervisor's start-up rules, as a pure function: each rule, their order, and
// that it only asks for the checks it needs (a check hashes a whole release).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseVersion } from '../src/versions/choose-version.ts';
import type { VersionFacts } from '../src/versions/choose-version.ts';
import type { InstalledCheck } from '@tether/shared/release/state-files.ts';

type Verdict = 'ok' | 'damaged' | 'unrecorded';

interface World {
  current?: string | null;
  currentExists?: boolean;
  installed?: string[];
  bad?: string[];
  base?: Partial<VersionFacts['base']>;
  /** checkInstalled per version (default ok). */
  records?: Record<string, Verdict>;
  /** checkComplete per version (default true). */
  complete?: Record<string, boolean>;
}

/** Runs the rules the way VersionManager does; returns the decision and the checks asked for, in order. */
function decide(world: World) {
  const facts: VersionFacts = {
    current: world.current === undefined ? '1.0.0' : world.current,
    currentExists: world.currentExists ?? true,
    installed: world.installed ?? ['1.0.0'],
    bad: new Set(world.bad ?? []),
    base: { version: null, candidate: false, explicit: false, ...world.base },
  };
  const record = new Map<string, InstalledCheck>();
  const complete = new Map<string, boolean>();
  const asked: string[] = [];
  for (let i = 0; i < 100; i++) {
    const step = chooseVersion(facts, { record, complete });
    if (step.kind === 'check-record') {
      assert.ok(!record.has(step.version), `asked twice for the record of ${step.version}`);
      asked.push(`record ${step.version}`);
      const verdict = world.records?.[step.version] ?? 'ok';
      record.set(step.version, verdict === 'ok' ? { ok: true } : { ok: false, unrecorded: verdict === 'unrecorded', problem: verdict });
    } else if (step.kind === 'check-complete') {
      assert.ok(!complete.has(step.version), `asked twice whether ${step.version} is complete`);
      asked.push(`complete ${step.version}`);
      complete.set(step.version, world.complete?.[step.version] ?? true);
    } else {
      const run = step.run.kind === 'base' ? 'base' : step.run.version;
      return { run, switchTo: step.switchTo, reason: step.reason, asked };
    }
  }
  throw new Error('chooseVersion did not decide');
}

test('rule 1: a base entry without a version runs when named explicitly or when nothing is installed, without any check', () => {
  assert.deepEqual(decide({ base: { candidate: true, explicit: true } }), { run: 'base', switchTo: null, reason: 'base-without-version', asked: [] });
  assert.deepEqual(decide({ current: null, installed: [], base: { candidate: true } }), { run: 'base', switchTo: null, reason: 'base-without-version', asked: [] });
  // Found beside the supervisor (not named) while a version is installed: the installed one wins.
  assert.equal(decide({ base: { candidate: true } }).run, '1.0.0');
});

test('rule 2: the current version runs when its record verifies, checking nothing else', () => {
  assert.deepEqual(decide({ installed: ['0.9.0', '1.0.0', '1.1.0'] }), { run: '1.0.0', switchTo: null, reason: 'current', asked: ['record 1.0.0'] });
});

test('rule 2: an unrecorded current version runs when its files are complete; an unrecorded other one never', () => {
  assert.deepEqual(decide({ records: { '1.0.0': 'unrecorded' } }), { run: '1.0.0', switchTo: null, reason: 'current', asked: ['record 1.0.0', 'complete 1.0.0'] });
  const other = decide({ current: '1.1.0', currentExists: false, installed: ['1.0.0'], records: { '1.0.0': 'unrecorded' }, complete: { '1.1.0': false } });
  assert.equal(other.run, 'base');
  assert.equal(other.switchTo, null);
});

test('rule 3: a bad, missing or damaged current version gives way to the newest installed version that verifies', () => {
  const installed = ['0.8.0', '0.9.0', '1.0.0', '1.1.0'];
  const bad = decide({ installed, bad: ['1.0.0', '1.1.0'] });
  assert.deepEqual(bad, { run: '0.9.0', switchTo: '0.9.0', reason: 'newest-that-verifies', asked: ['record 0.9.0'] });
  const damaged = decide({ installed, records: { '1.0.0': 'damaged', '1.1.0': 'damaged' } });
  assert.deepEqual(damaged, { run: '0.9.0', switchTo: '0.9.0', reason: 'newest-that-verifies', asked: ['record 1.0.0', 'record 1.1.0', 'record 0.9.0'] });
  const missing = decide({ currentExists: false, installed: ['0.9.0'] });
  assert.deepEqual(missing, { run: '0.9.0', switchTo: '0.9.0', reason: 'newest-that-verifies', asked: ['record 0.9.0'] });
  // An unrecorded version that is not current is not trusted.
  assert.equal(decide({ installed, records: { '1.0.0': 'damaged', '1.1.0': 'unrecorded' } }).run, '0.9.0');
});

test('rule 4: a base entry with a newer version wins over the installed choice (a newer image than the state volume)', () => {
  assert.deepEqual(decide({ base: { candidate: true, version: '2.0.0' } }), { run: 'base', switchTo: null, reason: 'newer-base', asked: ['record 1.0.0'] });
  assert.equal(decide({ base: { candidate: true, version: '1.0.0' } }).run, '1.0.0', 'the same version: the installed one');
  assert.equal(decide({ base: { candidate: true, version: '0.5.0' } }).run, '1.0.0', 'an older base: the installed one');
  // Inside the state dir the "base" is an installed version and never a candidate.
  assert.equal(decide({ base: { candidate: false, version: '9.0.0' } }).run, '1.0.0');
  // The switch of rule 3 still happens when the base then wins.
  assert.deepEqual(decide({ installed: ['0.9.0', '1.0.0'], bad: ['1.0.0'], base: { candidate: true, version: '2.0.0' } }), {
    run: 'base',
    switchTo: '0.9.0',
    reason: 'newer-base',
    asked: ['record 0.9.0'],
  });
  // Nothing verifies and the base has a version: the base, before rule 5.
  assert.deepEqual(decide({ records: { '1.0.0': 'damaged' }, base: { candidate: true, version: '0.1.0' } }), { run: 'base', switchTo: null, reason: 'nothing-verifies-base', asked: ['record 1.0.0'] });
});

test('rule 5: nothing verifies: the current version anyway when complete (even marked bad), else the base entry', () => {
  assert.deepEqual(decide({ installed: ['0.9.0', '1.0.0'], records: { '0.9.0': 'damaged', '1.0.0': 'damaged' } }), {
    run: '1.0.0',
    switchTo: null,
    reason: 'nothing-verifies-current-anyway',
    asked: ['record 1.0.0', 'record 0.9.0', 'complete 1.0.0'],
  });
  assert.equal(decide({ bad: ['1.0.0'] }).reason, 'nothing-verifies-current-anyway');
  assert.deepEqual(decide({ records: { '1.0.0': 'damaged' }, complete: { '1.0.0': false } }), { run: 'base', switchTo: null, reason: 'nothing-usable', asked: ['record 1.0.0', 'complete 1.0.0'] });
  assert.deepEqual(decide({ current: null, installed: [], base: { candidate: false } }), { run: 'base', switchTo: null, reason: 'nothing-usable', asked: [] });
});
