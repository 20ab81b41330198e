// Backups in the console, in Chromium against a real hub and a real supervised agent: run a backup
// to the hub from the Host page, see it on the Backups page, download it in the browser and
// decrypt it with the real `age` CLI (then zstd and tar read it); ranges over HTTP; delete. A
// target with no good backup yet is flagged stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { agentEnv, startHub, startSupervisor, tempDir } from '../helpers/system.ts';
import { waitFor } from '../helpers/process.ts';
import { buildConsole, chromiumProblem, launchChromium, openPage, screenshot, signIn } from './browser.ts';

const run = promisify(execFile);
const skip = chromiumProblem();

test('console backups: back up to the hub, download in the browser, decrypt with age, delete', { skip }, async (t) => {
  const dir = await tempDir('console-backups');
  t.after(() => dir.remove());
  const identity = join(dir.path, 'identity.txt');
  await run('age-keygen', ['-o', identity]);
  const recipient = (await run('age-keygen', ['-y', identity])).stdout.trim();
  const site = join(dir.path, 'site');
  await mkdir(site);
  await writeFile(join(site, 'index.html'), '<h1>backed up from the console</h1>\n');

  const consoleDir = await buildConsole(join(dir.path, 'console-dist'));
  const hub = await startHub({ dataDir: join(dir.path, 'hub'), args: ['--console-dir', consoleDir] });
  t.after(() => hub.stop());
  const key = await hub.createKey('files-01', ['ping', 'backup', 'backup_read']);
  const config = join(dir.path, 'agent.yaml');
  await writeFile(
    config,
    ['allow: [ping, backup, backup_read]', 'backup:', `  recipients: ["${recipient}"]`, '  targets:', '    site:', '      kind: files', `      roots: ["${site}"]`, '      alert_after_h: 26', ''].join(
      '\n',
    ),
    { mode: 0o600 },
  );
  const stateDir = join(dir.path, 'agent');
  const supervisor = startSupervisor(agentEnv(hub, key.key, stateDir, { TETHER_CONFIG: config }), ['--state-dir', stateDir]);
  t.after(() => supervisor.stop('SIGKILL'));

  const browser = await launchChromium();
  t.after(() => browser.close());
  const { page, problems } = await openPage(browser, hub.url);
  await signIn(page, hub.token);
  await page.locator(`tr[data-key-id="${key.id}"][data-state="online"]`).waitFor({ timeout: 60_000 });
  // Before any backup, the host's target is reported and flagged: it never had a good one.
  await page.click('a[href="#/backups"]');
  const target = page.locator('table.targets tr[data-target="site"]');
  await waitFor(async () => {
    if ((await target.count()) > 0) return true;
    await page.reload();
    return false;
  }, 'the host to report its target');
  assert.equal(await target.getAttribute('data-stale'), 'true');
  assert.match(await target.textContent().then(String), /stale/);
  await screenshot(page, 'backups-stale');
  // The same flag for Prometheus.
  const metrics = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${hub.token}` } }).then((response) => response.text());
  assert.match(metrics, new RegExp(`^tether_backup_stale\\{key_id="${key.id}",target="site"\\} 1$`, 'm'));
  await page.click('a[href="#/fleet"]');
  await page.locator(`tr[data-key-id="${key.id}"][data-state="online"] a.hostname`).click();

  const form = page.locator('form[data-command="backup"]');
  await form.locator('input[name="target"]').fill('site');
  await form.locator('input[name="destination"]').fill('hub');
  await form.locator('button[type="submit"]').click();
  await page.locator('.job[data-status="completed"]').waitFor({ timeout: 120_000 });
  // The host's backups list refreshes when the job is done.
  const row = page.locator('table.artifacts tr[data-artifact-id^="site-"]');
  await row.waitFor();
  const id = String(await row.getAttribute('data-artifact-id'));

  await page.click('a[href="#/backups"]');
  await page.locator(`table.artifacts tr[data-artifact-id="${id}"]`).waitFor();
  await screenshot(page, 'backups');

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`table.artifacts tr[data-artifact-id="${id}"] a[data-test="download"]`).click()]);
  assert.equal(download.suggestedFilename(), `${id}.age`);
  const saved = join(dir.path, `${id}.age`);
  await download.saveAs(saved);
  const stored = await readFile(join(hub.dataDir, 'artifacts', key.id, id));
  assert.deepEqual(await readFile(saved), stored, 'the browser saved exactly the stored bytes');
  await run('age', ['-d', '-i', identity, '-o', join(dir.path, 'backup.tar.zst'), saved]);
  await run('zstd', ['-q', '-d', join(dir.path, 'backup.tar.zst'), '-o', join(dir.path, 'backup.tar')]);
  const listing = (await run('tar', ['-tf', join(dir.path, 'backup.tar')])).stdout;
  assert.match(listing, /index\.html/);

  // Over HTTP: Content-Length, the sha256 header, and a byte range (the age header).
  const url = `${hub.url}/api/artifacts/${key.id}/${id}/download`;
  const whole = await fetch(url, { headers: { authorization: `Bearer ${hub.token}` } });
  assert.equal(whole.status, 200);
  assert.equal(Number(whole.headers.get('content-length')), stored.length);
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  const body = Buffer.from(await whole.arrayBuffer());
  assert.equal(whole.headers.get('x-tether-sha256'), createHash('sha256').update(body).digest('hex'));
  const part = await fetch(url, { headers: { authorization: `Bearer ${hub.token}`, range: 'bytes=0-20' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 0-20/${stored.length}`);
  assert.equal(Buffer.from(await part.arrayBuffer()).toString('latin1'), 'age-encryption.org/v1');
  const beyond = await fetch(url, { headers: { authorization: `Bearer ${hub.token}`, range: `bytes=${stored.length + 10}-` } });
  assert.equal(beyond.status, 416);
  // Ids are checked before any path is built from them.
  for (const bad of [`${hub.url}/api/artifacts/..%2F..%2Fhub/${id}/download`, `${hub.url}/api/artifacts/${key.id}/..%2F..%2Fadmin-token/download`]) {
    assert.equal((await fetch(bad, { headers: { authorization: `Bearer ${hub.token}` } })).status, 400);
  }
  assert.equal((await fetch(url)).status, 401);

  // Verify: the hub reads its copy against the recorded sha256.
  await page.locator(`table.artifacts tr[data-artifact-id="${id}"] button[data-test="verify"]`).click();
  const verdict = page.locator(`table.artifacts tr[data-artifact-id="${id}"] [data-test="verdict"]`);
  await waitFor(async () => !/verifying/.test(await verdict.textContent().then(String)), 'the verify to finish', 120_000);
  assert.match(await verdict.textContent().then(String), /^ok/);

  // A damaged copy is found: one byte flipped on the hub's disk.
  const storedPath = join(hub.dataDir, 'artifacts', key.id, id);
  const damaged = Buffer.from(stored);
  damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0xff, damaged.length - 1);
  await writeFile(storedPath, damaged);
  const check = await fetch(`${hub.url}/api/artifacts/${key.id}/${id}/verify`, { method: 'POST', headers: { authorization: `Bearer ${hub.token}` } }).then(
    (response) => response.json() as Promise<{ ok: boolean }>,
  );
  assert.equal(check.ok, false);
  await writeFile(storedPath, stored);

  page.on('dialog', (dialog) => void dialog.accept());
  await page.locator(`table.artifacts tr[data-artifact-id="${id}"] button.danger`).click();
  await page.locator(`table.artifacts tr[data-artifact-id="${id}"]`).waitFor({ state: 'detached' });
  assert.equal(await stat(join(hub.dataDir, 'artifacts', key.id, id)).catch(() => null), null);
  assert.equal((await fetch(url, { headers: { authorization: `Bearer ${hub.token}` } })).status, 404);
  assert.deepEqual(problems, []);
});
