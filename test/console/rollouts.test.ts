// The Releases and rollouts page in a real browser (Debian chromium via playwright-core) against a
// real hub with two hosts run by the release's own supervisor: the published releases are listed,
// a rollout of a version that exits at start goes to the canary, its supervisor rolls it back, the
// page shows the rollout halt with the canary rolled back and the other host untouched, live; Abort
// skips the other host. A change without the CSRF token is refused. Screenshots go to
// test-output/console/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setUpFixture } from '../lifecycle/fixture.ts';
import { currentVersion, waitServing } from '../lifecycle/helpers.ts';
import { buildConsole, chromiumProblem, launchChromium, openPage, screenshot, signIn } from './browser.ts';

const skip = chromiumProblem();

test('console: start a rollout to two hosts, see it halt when the canary rolls back, abort it', { skip, timeout: 300_000 }, async (t) => {
  const scratch = await mkdtemp(join(tmpdir(), 'tether-console-rollout-'));
  t.after(() => rm(scratch, { recursive: true, force: true }));
  const consoleDir = await buildConsole(join(scratch, 'console-dist'));
  const fx = await setUpFixture({ build: [{ version: '1.0.0' }, { version: '2.0.1', bad: 'exits-1' }], publish: ['2.0.1'], hubArgs: ['--console-dir', consoleDir] });
  t.after(() => fx.cleanup());
  // One after the other: the first key created is the first the selector picks, the canary.
  const canary = await fx.host('1.0.0', { updateTrialS: 30 });
  const other = await fx.host('1.0.0', { updateTrialS: 30 });
  for (const host of [canary, other]) await waitServing(fx.hub, host.keyId, '1.0.0');

  const browser = await launchChromium();
  t.after(() => browser.close());
  const { page, problems } = await openPage(browser, fx.hub.url);
  page.on('dialog', (dialog) => void dialog.accept());
  await signIn(page, fx.hub.token);
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();

  await page.click('a[href="#/rollouts"]');
  await page.getByRole('heading', { name: 'Releases and rollouts' }).waitFor();
  await page.locator('table.releases tr[data-version="2.0.1"]').waitFor();

  const form = page.locator('form.start-rollout');
  await form.locator('select[name="version"]').selectOption('2.0.1');
  await form.locator('select[name="select-by"]').selectOption('keys');
  await form.locator('input[name="target"]').fill(`${canary.keyId}, ${other.keyId}`);
  await form.locator('input[name="canaries"]').fill('1');
  await form.locator('input[name="max-in-flight"]').fill('100');
  await form.locator('button[data-test="start-rollout"]').click();

  const rollout = page.locator('.rollout');
  await rollout.waitFor();
  const row = (keyId: string, outcome = '') => rollout.locator(`tr[data-key-id="${keyId}"]${outcome ? `[data-outcome="${outcome}"]` : ''}`);
  const canaryRow = row(canary.keyId);
  const otherRow = row(other.keyId);
  await row(other.keyId, 'pending').waitFor();
  await screenshot(page, 'rollout-started');

  // The canary's supervisor rolls 2.0.1 back (it exits at start); the page shows the halt by itself.
  await page.locator('.rollout[data-state="halted"]').waitFor({ timeout: 150_000 });
  await row(canary.keyId, 'rolled_back').waitFor();
  assert.match(await canaryRow.textContent().then(String), /rolled back to 1\.0\.0/);
  assert.match(await page.locator('.halt-reason').textContent().then(String), new RegExp(`Halted: ${canary.keyId} rolled back`));
  assert.equal(await otherRow.getAttribute('data-outcome'), 'pending', 'the other host was never sent the update');
  await page.locator('button[data-test="resume-rollout"]').waitFor();
  await screenshot(page, 'rollout-halted');
  await waitServing(fx.hub, canary.keyId, '1.0.0');
  assert.equal(await currentVersion(canary.stateDir), '1.0.0');
  assert.equal(await currentVersion(other.stateDir), '1.0.0');

  // A change with the session cookie but without the CSRF token is refused; the rollout stays halted.
  const forged = await page.evaluate(
    async (id) => {
      const response = await fetch(`/api/rollouts/${id}/abort`, { method: 'POST' });
      return { status: response.status, body: await response.text() };
    },
    String(await rollout.getAttribute('data-rollout-id')),
  );
  assert.equal(forged.status, 403, forged.body);
  assert.match(forged.body, /CSRF token missing or wrong/);
  await page.locator('.rollout[data-state="halted"]').waitFor();

  await page.click('button[data-test="abort-rollout"]');
  await page.locator('.rollout[data-state="aborted"]').waitFor();
  await row(other.keyId, 'skipped').waitFor();
  await page.locator(`table.rollouts tr[data-rollout-id]`).first().waitFor();
  await screenshot(page, 'rollout-aborted');
  assert.equal(await currentVersion(other.stateDir), '1.0.0');
  assert.deepEqual(problems, []);
});
