// The supervisor as a release ships it: built by scripts/build.ts (the same esbuild options, code
// splitting and chunks as `npm run build` and releases), next to an agent.mjs it finds without
// --agent-entry. The agent here is the fake agent, bundled with the same options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundles, bundleEntry } from '../../scripts/build.ts';
import { FAKE_AGENT } from './helpers.ts';

test('the supervisor.mjs that scripts/build.ts ships runs agent.mjs from its own directory by default', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tether-supervisor-bundle-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const built = await buildBundles({ outDir: dir, bundles: ['supervisor'], version: '1.2.3' });
  assert.equal(built.supervisor, join(dir, 'supervisor.mjs'));
  await bundleEntry({ entry: FAKE_AGENT, outfile: join(dir, 'agent.mjs') });

  const markerDir = join(dir, 'markers');
  const env: NodeJS.ProcessEnv = { ...process.env, FAKE_AGENT_MARKER_DIR: markerDir, FAKE_AGENT_EXITS: '0' };
  delete env.TETHER_AGENT_ENTRY;
  const child = spawn(process.execPath, [join(dir, 'supervisor.mjs'), 'run', '--state-dir', join(dir, 'state')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));

  assert.equal(code, 0);
  assert.deepEqual(
    (await readdir(markerDir)).filter((name) => name.startsWith('start-')),
    ['start-0000.json'],
  );
  const status = JSON.parse(await readFile(join(dir, 'state', 'supervisor.json'), 'utf8')) as { state: string; agent_entry: string };
  assert.equal(status.state, 'stopped');
  assert.equal(status.agent_entry, join(dir, 'agent.mjs'));
  // The log lines are the bundled logger's: pino-shaped, fields after the message.
  assert.match(output, /\{"time":"[^"]+","level":30,"pid":\d+,"name":"supervisor","msg":"supervisor started","agent_entry":/);
  // node:crypto (~1.75 MB) is reached only at run time (shared/src/node-crypto.ts), in the release
  // task child: a static import would load it into every long-lived supervisor.
  assert.doesNotMatch(await readFile(built.supervisor, 'utf8'), /from\s*["']node:crypto["']|require\(["'](node:)?crypto["']\)/);
});
