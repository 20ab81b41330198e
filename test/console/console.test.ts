// The operator console in a real browser (Debian chromium via playwright-core) against a real hub
// with a real supervised agent: sign in, a host online then offline, ping, a command's result, a
// long exec job's live output and its cancel, a new key's install line, sign-out; and the attacks: CSRF, a hostile hostname, sign-in guessing,
// an expired session. Screenshots of each page go to test-output/console/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentEnv, startHub, startSupervisor, tempDir } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { isAlive, waitFor } from '../helpers/process.ts';
import { TestSocket } from '../../hub/test/helpers/hub-process.ts';
import { buildConsole, chromiumProblem, launchChromium, openPage, screenshot, signIn } from './browser.ts';

const skip = chromiumProblem();

/** A raw protocol-1 agent over WebSocket that registers with whatever hostname it is given. */
async function connectRawAgent(hub: HubHandle, key: string, hostname: string): Promise<TestSocket> {
  const socket = new TestSocket(`${hub.wsUrl}/ws/agent`, { authorization: `Bearer ${key}` });
  await socket.opened;
  await socket.next('connected');
  socket.send({
    type: 'register',
    protocol: 1,
    data: { agent_id: 'agent-hostile', hostname, ip: '10.0.0.9', version: '9.9.9', os: 'Linux', capabilities: ['ping'], is_docker: false, is_root: false },
  });
  await socket.next('registered');
  socket.send({ type: 'heartbeat', status: { uptime: 'running', timestamp: new Date().toISOString() }, system_metrics: { cpu_percent: 12, memory_percent: 34, disk_percent: 56 } });
  return socket;
}

test('console: sign in, fleet live, ping, a command, keys, CSRF and a hostile hostname', { skip }, async (t) => {
  const dir = await tempDir('console');
  t.after(() => dir.remove());
  const consoleDir = await buildConsole(join(dir.path, 'console-dist'));
  const hub = await startHub({ dataDir: join(dir.path, 'hub'), args: ['--console-dir', consoleDir] });
  t.after(() => hub.stop());
  const browser = await launchChromium();
  t.after(() => browser.close());

  const key = await hub.createKey('web-01', ['ping', 'echo', 'info', 'metrics', 'capabilities', 'exec']);
  const agentConfig = join(dir.path, 'agent.yaml');
  const tickerPid = join(dir.path, 'ticker.pid');
  const ticker = JSON.stringify([process.execPath, join(import.meta.dirname, 'fixtures', 'ticker.mjs'), tickerPid]);
  await writeFile(agentConfig, `allow: [ping, echo, info, metrics, capabilities, exec]\nactions:\n  ticker:\n    argv: ${ticker}\n`, { mode: 0o600 });
  const stateDir = join(dir.path, 'agent');
  const supervisor = startSupervisor(agentEnv(hub, key.key, stateDir, { TETHER_CONFIG: agentConfig }), ['--state-dir', stateDir]);
  t.after(() => supervisor.stop('SIGKILL'));

  const { page, problems } = await openPage(browser, hub.url);

  await t.test('a wrong token is refused, the right one signs in', async () => {
    await signIn(page, 'tadm_not-the-token');
    await page.getByRole('alert').filter({ hasText: 'wrong admin token' }).waitFor();
    await screenshot(page, 'sign-in');
    await signIn(page, hub.token);
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    const cookies = await page.context().cookies();
    const session = cookies.find((cookie) => cookie.name === 'tether_session');
    assert.ok(session, JSON.stringify(cookies));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
  });

  await t.test('the supervised agent shows up online with its heartbeat, live', async () => {
    const row = page.locator(`tr[data-key-id="${key.id}"][data-state="online"]`);
    await row.waitFor({ timeout: 60_000 });
    assert.match(await row.textContent().then(String), /websocket/);
    await screenshot(page, 'fleet');
  });

  await t.test('host page: ping answers pong, echo shows its result', async () => {
    await page.locator(`tr[data-key-id="${key.id}"] a.hostname`).click();
    await page.getByRole('heading', { name: 'Ping' }).waitFor();
    await page.click('button[data-test="ping"]');
    await page
      .locator('.ping-result')
      .filter({ hasText: /pong in [\d.]+ ms/ })
      .waitFor();
    const echo = page.locator('form[data-command="echo"]');
    await echo.locator('input[name="message"]').fill('hello from the console');
    await echo.locator('button[type="submit"]').click();
    const job = page.locator('.job[data-status="completed"]');
    await job.waitFor();
    assert.match(await job.locator('.result').textContent().then(String), /"echo": "hello from the console"/);
    // The host's heartbeat history has its first point, and the command is in its recent list.
    await page.locator('figure[data-chart="CPU"][data-points]').waitFor();
    await page.locator('table.history tr[data-status="completed"]').first().waitFor();
    await screenshot(page, 'host');
  });

  await t.test('a long exec job streams its output live, and Cancel stops it', async () => {
    const exec = page.locator('form[data-command="exec"]');
    await exec.locator('input[name="action"]').fill('ticker');
    await exec.locator('button[type="submit"]').click();
    await page.locator('.job[data-status="running"] .output').filter({ hasText: 'tick 3' }).waitFor();
    const pid = Number(await readFile(tickerPid, 'utf8'));
    assert.ok(isAlive(pid));
    await screenshot(page, 'host-job-running');
    await page.click('button[data-test="cancel"]');
    const job = page.locator('.job[data-status="failed"]');
    await job.waitFor();
    assert.match(await job.locator('.result').textContent().then(String), /"error_code": "cancelled"/);
    await waitFor(() => !isAlive(pid), 'the cancelled program to be gone');
    // The output stops growing once the job is gone: what streamed before stays.
    assert.match(await job.locator('.output').textContent().then(String), /tick 3/);
    await screenshot(page, 'host-job-cancelled');
  });

  await t.test('history: the commands with their results, filtered; the audit log names the console', async () => {
    await page.click('a[href="#/history"]');
    await page.locator('table.history tr[data-status="completed"]').first().waitFor();
    await page.fill('form.filters input[name="command"]', 'echo');
    await page.click('form.filters button[type="submit"]');
    const rows = page.locator('table.history tbody tr[data-command-id]');
    await waitFor(async () => (await rows.count()) === 1 && (await rows.first().locator('td').nth(2).textContent()) === 'echo', 'only the echo command to be listed');
    await rows.first().click();
    assert.match(await page.locator('table.history tr.result-row pre').textContent().then(String), /"echo": "hello from the console"/);
    await screenshot(page, 'history');

    await page.click('a[href="#/audit"]');
    const sent = page.locator('table.audit tr[data-action="command.send"]').first();
    await sent.waitFor();
    assert.match(await sent.textContent().then(String), /console/);
    assert.match(await page.locator('table.audit').textContent().then(String), /console\.sign_in/);
    await screenshot(page, 'audit');
  });

  await t.test('keys page: a new key is shown once with its install line, and works', async () => {
    await page.click('a[href="#/keys"]');
    await page.fill('form.create-key input[name="name"]', 'db-02');
    await page.fill('form.create-key input[name="labels"]', 'role=db env=prod');
    await page.click('form.create-key button[type="submit"]');
    const line = await page.locator('[data-test="install-line"]').textContent().then(String);
    const secret = await page.locator('[data-test="new-key"]').textContent().then(String);
    assert.equal(line, `curl -fsSL ${hub.url}/install.sh | bash -s -- --key ${secret}`);
    assert.match(secret, /^tak_/);
    await screenshot(page, 'keys');
    await page.click('a[href="#/fleet"]');
    await page.locator(`tr[data-key-id="${key.id}"][data-state="online"]`).waitFor();
    await page.locator('tr[data-state="offline"]').first().waitFor();
    await screenshot(page, 'fleet-overview'); // the README's picture (docs/console-fleet.png)
    // Labels are searchable: role=db leaves only the new key's row.
    await page.fill('input[aria-label="search"]', 'role=db');
    await waitFor(async () => (await page.locator('table.fleet tbody tr[data-key-id]').count()) === 1, 'only the labelled key');
    assert.match(await page.locator('table.fleet tbody tr[data-key-id]').textContent().then(String), /role=db/);
    await page.fill('input[aria-label="search"]', '');
    await page.click('a[href="#/keys"]');
    // The key is real: an agent could use it (the hub accepts it on the WebSocket handshake).
    const socket = new TestSocket(`${hub.wsUrl}/ws/agent`, { authorization: `Bearer ${secret}` });
    await socket.opened;
    await socket.next('connected');
    socket.close();
  });

  await t.test('CSRF: a change with the session cookie but without the token is refused', async () => {
    const attempts = await page.evaluate(async () => {
      const post = (headers: Record<string, string>) =>
        fetch('/api/agents/keys', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: 'forged' }) }).then(async (response) => ({
          status: response.status,
          body: await response.text(),
        }));
      return { none: await post({}), wrong: await post({ 'x-csrf-token': 'forged-token' }) };
    });
    assert.equal(attempts.none.status, 403, attempts.none.body);
    assert.match(attempts.none.body, /CSRF token missing or wrong/);
    assert.equal(attempts.wrong.status, 403, attempts.wrong.body);
    const { body } = await hub.api('GET', '/api/agents/keys');
    assert.equal(
      body.keys.some((item: { name: string }) => item.name === 'forged'),
      false,
    );
    // The bearer token needs no CSRF token (the CLI), as before the console.
    assert.equal((await hub.api('POST', '/api/agents/keys', { name: 'from-cli' })).status, 201);
  });

  await t.test('a hostname made of HTML and script is shown as text and runs nothing', async () => {
    const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    const hostileKey = await hub.createKey('hostile');
    const socket = await connectRawAgent(hub, hostileKey.key, hostile);
    t.after(() => socket.close());
    await page.click('a[href="#/fleet"]');
    const cell = page.locator(`tr[data-key-id="${hostileKey.id}"][data-state="online"] a.hostname`);
    await cell.waitFor();
    assert.equal(await cell.textContent().then(String), hostile);
    await cell.click();
    // The heading names the host once the page's own live stream has the session.
    await page.locator('h1 .state.online').waitFor();
    assert.equal(await page.locator('h1 .hostname').textContent().then(String), hostile);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    await page.click('a[href="#/fleet"]');
  });

  await t.test('the host goes offline when its agent stops', async () => {
    await supervisor.stop('SIGTERM');
    await page.locator(`tr[data-key-id="${key.id}"][data-state="offline"]`).waitFor({ timeout: 60_000 });
    assert.match(await page.locator(`tr[data-key-id="${key.id}"] a.hostname`).textContent().then(String), /\S/);
  });

  await t.test('sign-out ends the session in the browser', async () => {
    await page.click('button[data-test="sign-out"]');
    await page.locator('form.sign-in').waitFor();
    const status = await page.evaluate(() => fetch('/api/agents/keys').then((response) => response.status));
    assert.equal(status, 401);
  });

  assert.deepEqual(problems, [], 'the console ran under its Content-Security-Policy without violations or errors');
});

test('console: sign-in guessing is rate limited and a session expires', { skip }, async (t) => {
  const dir = await tempDir('console-limits');
  t.after(() => dir.remove());
  const consoleDir = await buildConsole(join(dir.path, 'console-dist'));
  const hub = await startHub({ dataDir: join(dir.path, 'hub'), args: ['--console-dir', consoleDir, '--console-session-s', '3', '--max-sign-ins-per-minute', '4'] });
  t.after(() => hub.stop());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const { page, problems } = await openPage(browser, hub.url);

  await t.test('the session expires: the console asks to sign in again and the cookie no longer works', async () => {
    await signIn(page, hub.token);
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    const cookie = (await page.context().cookies()).find((item) => item.name === 'tether_session')!;
    // The fleet stream ends with the session; the page notices by itself.
    await page.getByText('Your session has ended').waitFor({ timeout: 30_000 });
    await screenshot(page, 'session-expired');
    const replay = await fetch(`${hub.url}/api/agents/keys`, { headers: { cookie: `tether_session=${cookie.value}` } });
    assert.equal(replay.status, 401);
  });

  await t.test('wrong tokens from one address are answered 429 once over the limit', async () => {
    // One sign-in above, then wrong tokens until the limit of 4 a minute is reached.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await signIn(page, `tadm_guess-${attempt}`);
      await page.getByRole('alert').filter({ hasText: 'wrong admin token' }).waitFor();
    }
    await signIn(page, hub.token);
    await page.getByRole('alert').filter({ hasText: 'too many sign-in attempts' }).waitFor();
    await screenshot(page, 'sign-in-rate-limited');
    const status = await waitFor(
      async () => (await fetch(`${hub.url}/api/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: hub.token }) })).status,
      'a 429',
    );
    assert.equal(status, 429);
    // The CLI's bearer token is not locked out by the console's limit.
    assert.equal((await hub.api('GET', '/api/agents/keys')).status, 200);
  });

  assert.deepEqual(problems, []);
});
