// The systemd units the manager writes: systemd-analyze verifies both, and scores the system unit
// (a root install, run as the service user) at most 3.5; test/deploy/root-trust.bats checks the
// same for the unit `deploy.sh --dry-run` prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { layoutOf } from '../src/layout.ts';
import { renderUnit } from '../src/systemd-unit.ts';

const run = promisify(execFile);

async function haveSystemdAnalyze(): Promise<boolean> {
  return run('systemd-analyze', ['--version']).then(
    () => true,
    () => false,
  );
}

/** A prefix whose state/current/bin/node exists (systemd-analyze verify checks ExecStart). */
async function prefixWithNode(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tether-unit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'state', 'versions', '1.0.0', 'bin'), { recursive: true });
  await symlink(process.execPath, join(dir, 'state', 'versions', '1.0.0', 'bin', 'node'));
  await symlink('versions/1.0.0', join(dir, 'state', 'current'));
  return dir;
}

test('the system unit: runs the supervisor as the service user, sandboxed; verify passes and the score is at most 3.5', async (t) => {
  const prefix = await prefixWithNode(t);
  const unit = renderUnit({ name: 'tether-agent', layout: layoutOf(prefix), scope: 'system', user: 'tether' });
  for (const line of [
    'User=tether',
    'Group=tether',
    'UMask=0077',
    'CapabilityBoundingSet=',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    'PrivateDevices=yes',
    'SystemCallFilter=@system-service',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    `ReadWritePaths=${prefix}/state`,
    `Environment=TETHER_CONFIG=${prefix}/agent.yaml`,
    'RestartPreventExitStatus=99',
    'KillMode=mixed',
    'WantedBy=multi-user.target',
  ]) {
    assert.ok(unit.split('\n').includes(line), `unit lacks ${line}`);
  }
  // V8 compiles code at run time: writable, executable memory stays allowed.
  assert.doesNotMatch(unit, /MemoryDenyWriteExecute/);
  // /proc stays readable for the metrics (no ProcSubset=pid).
  assert.doesNotMatch(unit, /ProcSubset/);
  if (!(await haveSystemdAnalyze())) return t.skip('systemd-analyze is missing (apt-get install systemd)');
  const file = join(prefix, 'tether-agent.service');
  await writeFile(file, unit);
  await run('systemd-analyze', ['verify', file]);
  const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', '--threshold=35', file]);
  const score = Number(/Overall exposure level for tether-agent\.service: ([0-9.]+)/.exec(stdout)?.[1]);
  assert.ok(score <= 3.5, `exposure ${score}`);
});

test('the user unit (non-root installs): no User=, the settings a user manager applies; verify passes', async (t) => {
  const prefix = await prefixWithNode(t);
  const unit = renderUnit({ name: 'edge-1', layout: layoutOf(prefix), scope: 'user', user: null });
  assert.doesNotMatch(unit, /^User=/m);
  assert.match(unit, /^WantedBy=default\.target$/m);
  assert.match(unit, /^Description=tether agent \(edge-1\)$/m);
  assert.match(unit, /^SystemCallFilter=@system-service$/m);
  if (!(await haveSystemdAnalyze())) return t.skip('systemd-analyze is missing (apt-get install systemd)');
  const file = join(prefix, 'edge-1.service');
  await writeFile(file, unit);
  await run('systemd-analyze', ['verify', file]);
});
