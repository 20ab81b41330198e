// Operator accounts in the console, in Chromium against a real hub: the admin creates an operator
// on the Operators page; the operator signs in, creates a key, and the Audit page shows that
// operator as the one who did it; wrong passwords for one account are refused, then rate limited
// (429) even with the right one; disabling an account on the page ends its session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startHub, tempDir } from '../helpers/system.ts';
import { buildConsole, chromiumProblem, launchChromium, openPage, screenshot, signIn, signInAsOperator } from './browser.ts';

const skip = chromiumProblem();
const PASSWORD = 'the operator passphrase';

test('console: an operator signs in, acts, and is named in the audit log; wrong passwords are rate limited', { skip }, async (t) => {
  const dir = await tempDir('console-operators');
  t.after(() => dir.remove());
  const consoleDir = await buildConsole(join(dir.path, 'console-dist'));
  const hub = await startHub({ dataDir: join(dir.path, 'hub'), args: ['--console-dir', consoleDir, '--max-sign-in-failures-per-account', '3'] });
  t.after(() => hub.stop());
  assert.equal((await hub.api('POST', '/api/operators', { name: 'bob', password: PASSWORD })).status, 201);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const admin = await openPage(browser, hub.url);

  await t.test('the admin creates alice on the Operators page', async () => {
    await signIn(admin.page, hub.token);
    await admin.page.click('a[href="#/operators"]');
    await admin.page.fill('input[name="operator-name"]', 'alice');
    await admin.page.fill('input[name="operator-password"]', PASSWORD);
    await admin.page.click('form.create-operator button[type="submit"]');
    await admin.page.locator('table.operators tr[data-operator="alice"][data-status="active"]').waitFor();
    await screenshot(admin.page, 'operators');
    const { body } = await hub.api('GET', '/api/operators/alice');
    assert.equal(body.status, 'active');
    assert.equal(body.password_hash, undefined, 'the hash never leaves the hub');
  });
  let alicePage: Awaited<ReturnType<typeof openPage>>['page'] | undefined;

  await t.test('alice signs in, creates a key, and the Audit page names her', async () => {
    const { page, problems } = await openPage(browser, hub.url);
    alicePage = page;
    await signInAsOperator(page, 'alice', PASSWORD);
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    assert.equal(await page.locator('[data-test="signed-in-as"]').textContent(), 'signed in as alice');
    await page.click('a[href="#/keys"]');
    await page.fill('form.create-key input[name="name"]', 'made-by-alice');
    await page.click('form.create-key button[type="submit"]');
    await page.locator('table.keys tr', { hasText: 'made-by-alice' }).waitFor();
    await page.click('a[href="#/audit"]');
    const row = page.locator('table.audit tr[data-action="key.create"]');
    await row.waitFor();
    assert.equal(await row.getAttribute('data-actor'), 'operator:alice');
    assert.match(await row.textContent().then(String), /operator:alice/);
    await page.locator('table.audit tr[data-action="console.sign_in"][data-actor="operator:alice"]').waitFor();
    await screenshot(page, 'audit-operator');
    assert.deepEqual(problems, []);
  });

  await t.test('wrong passwords for bob are refused, then limited even with the right one', async () => {
    const { page, problems } = await openPage(browser, hub.url);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await signInAsOperator(page, 'bob', `not the passphrase ${attempt}`);
      await page.getByRole('alert').filter({ hasText: 'wrong operator name or password' }).waitFor();
    }
    await signInAsOperator(page, 'bob', PASSWORD);
    await page.getByRole('alert').filter({ hasText: 'too many failed sign-ins for this account' }).waitFor();
    await screenshot(page, 'sign-in-operator-rate-limited');
    const { status, body } = await hub.api('GET', '/api/audit?action=console.sign_in');
    assert.equal(status, 200);
    assert.ok(!body.entries.some((entry: { actor: string }) => entry.actor === 'operator:bob'), 'bob never signed in');
    assert.deepEqual(problems, []);
  });

  await t.test('disabling alice on the Operators page ends her session in her browser', async () => {
    await admin.page.reload();
    await admin.page.locator('table.operators tr[data-operator="alice"] button', { hasText: 'Disable' }).click();
    await admin.page.locator('table.operators tr[data-operator="alice"][data-status="disabled"]').waitFor();
    const status = await alicePage!.evaluate(() => fetch('/api/agents/keys').then((response) => response.status));
    assert.equal(status, 401);
    assert.deepEqual(admin.problems, []);
  });
});
