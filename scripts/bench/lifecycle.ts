// Lifecycle benchmark, with real signed releases, a local hub and the release's own supervisor:
//  - update: from the `update` command to the new version answering ping (p50 of N runs; ≤ 10 s);
//  - rollback: from a bad version's start to the previous version answering ping (≤ 20 s);
//  - supervisor CPU while the agent crash-loops (default backoff) for a while.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildTestRelease, command, makeReleaseKey, publish, releaseDirOf, startHost, startHub, tempDir, waitFor } from '../../test/lifecycle/helpers.ts';
import type { Host } from '../../test/lifecycle/helpers.ts';
import type { HubHandle } from '../../test/helpers/system.ts';
import { median, round } from './memory.ts';
import type { BenchRow } from './table.ts';

export interface LifecycleOptions {
  updates: number;
  crashLoopS: number;
}

async function answersPingAs(hub: HubHandle, keyId: string, version: string): Promise<boolean> {
  const info = await command(hub, keyId, 'info', {}, 2).catch(() => null);
  if (info?.body?.result?.data?.version !== version) return false;
  const ping = await command(hub, keyId, 'ping', {}, 2).catch(() => null);
  return ping?.body?.result?.data?.message === 'pong';
}

async function untilServing(hub: HubHandle, keyId: string, version: string): Promise<number> {
  await waitFor(() => answersPingAs(hub, keyId, version), `version ${version} answering ping`, 120_000, 50);
  return Date.now();
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

export async function runLifecycleBench(options: LifecycleOptions): Promise<{ rows: BenchRow[]; json: Record<string, unknown> }> {
  const temp = await tempDir('bench-lifecycle');
  const hosts: Host[] = [];
  let hub: HubHandle | null = null;
  try {
    const key = await makeReleaseKey(join(temp.path, 'keys'));
    const out = join(temp.path, 'releases');
    const releases = {
      a: await buildTestRelease({ version: '1.0.0', key, outDir: out, work: temp.path }),
      b: await buildTestRelease({ version: '1.1.0', key, outDir: out, work: temp.path }),
      bad: await buildTestRelease({ version: '1.2.0', key, outDir: out, work: temp.path, bad: 'exits-1' }),
    };
    const hubData = join(temp.path, 'hub');
    await mkdir(hubData, { recursive: true, mode: 0o700 });
    await writeFile(join(hubData, 'release-keys'), `${key.publicKey}\n`);
    for (const [name, artifact] of Object.entries(releases)) {
      const result = await publish(await releaseDirOf(artifact, join(temp.path, `publish-${name}`)), hubData);
      if (result.code !== 0) throw new Error(`publish failed: ${result.output}`);
    }
    hub = await startHub({ dataDir: hubData });

    // Update: alternate between two good versions on one host (each run is a full update).
    const host = await startHost(hub, join(temp.path, 'host'), releases.a, key.publicKey);
    hosts.push(host);
    await untilServing(hub, host.keyId, '1.0.0');
    const updateMs: number[] = [];
    let running = '1.0.0';
    for (let i = 0; i < options.updates; i++) {
      const next = running === '1.0.0' ? '1.1.0' : '1.0.0';
      const started = Date.now();
      const answer = await command(hub, host.keyId, 'update', { version: next }, 60);
      if (answer.body?.result?.success !== true) throw new Error(`update to ${next} failed: ${JSON.stringify(answer.body?.result)}`);
      updateMs.push((await untilServing(hub, host.keyId, next)) - started);
      running = next;
    }

    // Rollback: a version that exits 1 at start, with the default crash backoff.
    const answer = await command(hub, host.keyId, 'update', { version: '1.2.0' }, 60);
    if (answer.body?.result?.success !== true) throw new Error(`update to the bad version failed: ${JSON.stringify(answer.body?.result)}`);
    const started = await host.supervisor.waitForLine((_line, record) => record?.msg === 'agent started' && record.version === '1.2.0', 60_000);
    const backAt = await untilServing(hub, host.keyId, running);
    const rollbackMs = backAt - Date.parse(String(started?.time));

    // Crash loop: a host whose only version crashes at once, default backoff (base 1 s, cap 60 s).
    const loop = await startHost(hub, join(temp.path, 'loop'), releases.bad, key.publicKey, {}, false);
    hosts.push(loop);
    const loopStatusPath = join(loop.stateDir, 'supervisor.json');
    await waitFor(async () => JSON.parse(await readFile(loopStatusPath, 'utf8')).restarts >= 1, 'the crash loop to start', 60_000);
    const cpuBefore = await cpuSeconds(loop.supervisor.pid);
    await new Promise((done) => setTimeout(done, options.crashLoopS * 1000));
    const cpuAfter = await cpuSeconds(loop.supervisor.pid);
    const after = JSON.parse(await readFile(loopStatusPath, 'utf8')) as { restarts: number; crash_loop?: boolean };
    const cpuPercent = ((cpuAfter - cpuBefore) / options.crashLoopS) * 100;

    const p50 = median(updateMs);
    const rows: BenchRow[] = [
      {
        metric: `update → new version answers ping (p50 of ${updateMs.length})`,
        value: round(p50 / 1000, 2),
        unit: 's',
        target: '≤ 10 s',
        baseline: `runs: ${updateMs.map((ms) => round(ms / 1000, 1)).join(', ')}`,
      },
      { metric: 'bad version start → previous answers ping', value: round(rollbackMs / 1000, 2), unit: 's', target: '≤ 20 s' },
      {
        metric: `supervisor CPU, agent crash-looping ${options.crashLoopS} s`,
        value: round(cpuPercent, 2),
        unit: '%',
        baseline: `${after.restarts} restarts, crash_loop=${after.crash_loop ?? false}`,
      },
    ];
    return {
      rows,
      json: { update_ms: updateMs, update_p50_ms: p50, rollback_ms: rollbackMs, crash_loop_s: options.crashLoopS, supervisor_cpu_percent: cpuPercent, crash_loop_restarts: after.restarts },
    };
  } finally {
    for (const host of hosts) await host.supervisor.stop('SIGTERM', 10_000).catch(() => undefined);
    await hub?.stop();
    await rm(temp.path, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { printTable } = await import('./table.ts');
  const quick = process.argv.includes('--quick');
  const result = await runLifecycleBench(quick ? { updates: 3, crashLoopS: 15 } : { updates: 5, crashLoopS: 60 });
  printTable('lifecycle', result.rows);
}
