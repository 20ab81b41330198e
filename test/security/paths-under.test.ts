// Issue 9 item 6: `paths_under` was checked on the path string, so `allowed/link -> /etc` let an
// exec action read /etc/shadow. Attacked through a real hub and a real agent: symlinks out of the
// root (absolute and relative to the action's cwd), ".." segments, dangling links; a symlink that
// stays inside the root, a root that is itself a symlink, and a path that does not exist yet work,
// and the program is handed the resolved path, not the hub's string.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentEnv, command, startAgent, startHub, tempDir, waitForAgent } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import type { RunningProcess } from '../helpers/process.ts';

let dir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
let agent: RunningProcess;
let keyId: string;
let root: string;
let outside: string;

before(async () => {
  dir = await tempDir('security-paths');
  root = join(dir.path, 'allowed');
  outside = join(dir.path, 'outside');
  await mkdir(join(root, 'sub'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'real.txt'), 'inside the root\n');
  await writeFile(join(root, 'sub', 'inner.txt'), 'inner file\n');
  await writeFile(join(outside, 'secret.txt'), 'OUTSIDE SECRET\n');
  await symlink('/etc', join(root, 'link-etc'));
  await symlink(outside, join(root, 'link-out'));
  await symlink('../outside/secret.txt', join(root, 'link-out-file'));
  await symlink('sub/inner.txt', join(root, 'link-inside'));
  await symlink(join(dir.path, 'nowhere', 'target'), join(root, 'dangling'));
  await symlink(root, join(dir.path, 'root-link'));

  const hubData = join(dir.path, 'hub');
  await mkdir(hubData);
  hub = await startHub({ dataDir: hubData });
  const key = await hub.createKey('paths-host', ['ping', 'exec']);
  keyId = key.id;
  const config = join(dir.path, 'agent.yaml');
  const under = (roots: string[]) => `{ pattern: ".+", paths_under: ${JSON.stringify(roots)} }`;
  await writeFile(
    config,
    `
allow: [ping, exec]
actions:
  cat_file:
    argv: [/bin/cat, "{path}"]
    args: { path: ${under([root])} }
  show_path:
    argv: [/bin/echo, "--path={path}"]
    args: { path: ${under([root])} }
  cat_relative:
    argv: [/bin/cat, "{path}"]
    cwd: ${JSON.stringify(root)}
    args: { path: ${under([root])} }
  touch_file:
    argv: [/usr/bin/touch, "{path}"]
    args: { path: ${under([root])} }
  cat_via_root_link:
    argv: [/bin/cat, "{path}"]
    args: { path: ${under([join(dir.path, 'root-link')])} }
`,
    { mode: 0o600 },
  );
  agent = startAgent(agentEnv(hub, key.key, join(dir.path, 'state'), { TETHER_CONFIG: config }));
  await waitForAgent(hub, keyId);
});

after(async () => {
  await agent?.stop();
  await hub?.stop();
  await dir?.remove();
});

async function exec(action: string, path: string): Promise<any> {
  const answer = await command(hub, keyId, 'exec', { action, args: { path } }, 30);
  assert.ok(answer.body.result, JSON.stringify(answer.body));
  return answer.body.result;
}

async function refused(action: string, path: string, why: RegExp): Promise<void> {
  const result = await exec(action, path);
  assert.equal(result.success, false, `${action} ${path} must be refused: ${JSON.stringify(result)}`);
  assert.equal(result.error_code, 'invalid_params', JSON.stringify(result));
  assert.match(result.error, why);
}

test('a symlink inside the root pointing out of it is refused: /etc/shadow and a file next to the root', async () => {
  await refused('cat_file', join(root, 'link-etc', 'shadow'), /outside the allowed directories/);
  await refused('cat_file', join(root, 'link-etc', 'passwd'), /outside the allowed directories/);
  await refused('cat_file', join(root, 'link-out', 'secret.txt'), /outside the allowed directories/);
  await refused('cat_file', join(root, 'link-out-file'), /outside the allowed directories/);
  await refused('cat_relative', 'link-etc/shadow', /outside the allowed directories/);
  await refused('cat_relative', 'link-out-file', /outside the allowed directories/);
});

test('".." segments are refused before anything is resolved', async () => {
  await refused('cat_file', `${root}/../outside/secret.txt`, /"\.\." path segments/);
  await refused('cat_file', `${root}/sub/../../outside/secret.txt`, /"\.\." path segments/);
  await refused('cat_relative', '../outside/secret.txt', /"\.\." path segments/);
});

test('a symlink that stays inside the root works, and the program gets the resolved path', async () => {
  const read = await exec('cat_file', join(root, 'link-inside'));
  assert.equal(read.success, true, JSON.stringify(read));
  assert.equal(read.data.stdout, 'inner file\n');
  const shown = await exec('show_path', join(root, 'link-inside'));
  assert.equal(shown.data.stdout, `--path=${join(root, 'sub', 'inner.txt')}\n`);
  const relative = await exec('cat_relative', 'real.txt');
  assert.equal(relative.data.stdout, 'inside the root\n');
  // A root configured through a symlink is resolved too.
  const viaLink = await exec('cat_via_root_link', join(dir.path, 'root-link', 'sub', 'inner.txt'));
  assert.equal(viaLink.success, true, JSON.stringify(viaLink));
  assert.equal(viaLink.data.stdout, 'inner file\n');
});

test('a path that does not exist yet: allowed under the root, refused under a link out or a dangling link', async () => {
  const created = join(root, 'sub', 'new.txt');
  const touched = await exec('touch_file', created);
  assert.equal(touched.success, true, JSON.stringify(touched));
  assert.ok(existsSync(created));
  const shown = await exec('show_path', join(root, 'not', 'yet', 'there.txt'));
  assert.equal(shown.data.stdout, `--path=${join(root, 'not', 'yet', 'there.txt')}\n`);

  await refused('touch_file', join(root, 'link-out', 'planted.txt'), /outside the allowed directories/);
  assert.equal(existsSync(join(outside, 'planted.txt')), false, 'nothing was written outside the root');
  await refused('touch_file', join(root, 'dangling'), /symlink whose target does not exist/);
  await refused('touch_file', join(root, 'dangling', 'x'), /symlink whose target does not exist/);
  await refused('touch_file', join(root, 'real.txt', 'x'), /not a directory/);
  assert.equal(existsSync(join(dir.path, 'nowhere')), false);
});
