// The supervisor as a release ships it: one esbuild bundle (supervisor.mjs) next to agent.mjs,
// which it finds without --agent-entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { FAKE_AGENT } from './helpers.ts';

const SUPERVISOR_MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

test('a bundled supervisor.mjs runs agent.mjs from its own directory by default', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tether-supervisor-bundle-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const common = { bundle: true, platform: 'node', format: 'esm', target: 'node22', logLevel: 'warning' } as const;
  await build({ ...common, entryPoints: [SUPERVISOR_MAIN], outfile: join(dir, 'supervisor.mjs') });
  await build({ ...common, entryPoints: [FAKE_AGENT], outfile: join(dir, 'agent.mjs') });

  const markerDir = join(dir, 'markers');
  const env: NodeJS.ProcessEnv = { ...process.env, FAKE_AGENT_MARKER_DIR: markerDir, FAKE_AGENT_EXITS: '0' };
  delete env.TETHER_AGENT_ENTRY;
  const child = spawn(process.execPath, [join(dir, 'supervisor.mjs'), 'run', '--state-dir', join(dir, 'state')], { env, stdio: 'ignore' });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));

  assert.equal(code, 0);
  assert.deepEqual((await readdir(markerDir)).filter((name) => name.startsWith('start-')), ['start-0000.json']);
  const status = JSON.parse(await readFile(join(dir, 'state', 'supervisor.json'), 'utf8')) as { state: string; agent_entry: string };
  assert.equal(status.state, 'stopped');
  assert.equal(status.agent_entry, join(dir, 'agent.mjs'));
});
