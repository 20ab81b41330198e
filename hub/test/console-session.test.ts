// The console's session over HTTP on real hub processes: cookie attributes over TLS, a session
// accepted by another hub with the same signing key and admin token (and refused by one without),
// tampered cookies refused, and a CSRF token that only works with the session it was made for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, fetch as undiciFetch } from 'undici';
import { makeTempDir, startHubProcess } from './helpers/hub-process.ts';
import type { HubProcess } from './helpers/hub-process.ts';

interface Jar {
  session: string;
  csrfCookie: string;
  csrfToken: string;
  setCookies: string[];
}

const cookieValue = (setCookies: string[], name: string): string => {
  const line = setCookies.find((cookie) => cookie.startsWith(`${name}=`));
  assert.ok(line, `no ${name} cookie in ${JSON.stringify(setCookies)}`);
  return line.slice(name.length + 1).split(';')[0]!;
};

async function signIn(hub: HubProcess, fetcher: typeof fetch = fetch, prefix = ''): Promise<Jar> {
  const response = await fetcher(`${hub.url}/api/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: hub.adminToken }) });
  assert.equal(response.status, 200, await response.clone().text());
  const setCookies = response.headers.getSetCookie();
  const body = (await response.json()) as { csrf_token: string };
  return { session: cookieValue(setCookies, `${prefix}tether_session`), csrfCookie: cookieValue(setCookies, `${prefix}tether_csrf`), csrfToken: body.csrf_token, setCookies };
}

const withSession = (session: string, csrfCookie?: string, prefix = '') => `${prefix}tether_session=${session}${csrfCookie ? `; ${prefix}tether_csrf=${csrfCookie}` : ''}`;

test('over TLS the cookies are __Host- prefixed, Secure, HttpOnly and SameSite=Strict', async (t) => {
  const dir = await makeTempDir(t);
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1']);
  const hub = await startHubProcess(join(dir, 'hub'), ['--tls-cert', cert, '--tls-key', key]);
  t.after(() => hub.stop());
  assert.match(hub.url, /^https:/);
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  t.after(() => dispatcher.close());
  const insecureFetch = ((url: string, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher })) as unknown as typeof fetch;

  const jar = await signIn(hub, insecureFetch, '__Host-');
  for (const name of ['__Host-tether_session', '__Host-tether_csrf']) {
    const line = jar.setCookies.find((cookie) => cookie.startsWith(`${name}=`))!;
    assert.match(line, /; Path=\//);
    assert.match(line, /; HttpOnly/);
    assert.match(line, /; Secure/);
    assert.match(line, /; SameSite=Strict/);
    assert.doesNotMatch(line, /Domain=/i);
  }
  const keys = await insecureFetch(`${hub.url}/api/agents/keys`, { headers: { cookie: withSession(jar.session, undefined, '__Host-') } });
  assert.equal(keys.status, 200);
});

test('a session works on another hub with the same signing key and admin token, and on no other', async (t) => {
  const dir = await makeTempDir(t);
  const first = await startHubProcess(join(dir, 'first'));
  const jar = await signIn(first);
  await first.stop();
  // A second hub of the same deployment: the same data (signing key, admin token hash).
  await cp(join(dir, 'first'), join(dir, 'second'), { recursive: true });
  const second = await startHubProcess(join(dir, 'second'));
  t.after(() => second.stop());
  const other = await startHubProcess(join(dir, 'other'));
  t.after(() => other.stop());

  const onSecond = await fetch(`${second.url}/api/agents/keys`, { headers: { cookie: withSession(jar.session) } });
  assert.equal(onSecond.status, 200);
  // The CSRF token made on the first hub is accepted by the second for a change.
  const created = await fetch(`${second.url}/api/agents/keys`, {
    method: 'POST',
    headers: { cookie: withSession(jar.session, jar.csrfCookie), 'x-csrf-token': jar.csrfToken, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'via-second' }),
  });
  assert.equal(created.status, 201, await created.text());
  const onOther = await fetch(`${other.url}/api/agents/keys`, { headers: { cookie: withSession(jar.session) } });
  assert.equal(onOther.status, 401);
});

test('tampered session cookies are refused; a CSRF token works only with its own session', async (t) => {
  const dir = await makeTempDir(t);
  const hub = await startHubProcess(join(dir, 'hub'));
  t.after(() => hub.stop());
  const one = await signIn(hub);
  const two = await signIn(hub);
  const status = async (cookie: string, init: RequestInit = {}) => (await fetch(`${hub.url}/api/agents/keys`, { ...init, headers: { cookie, ...(init.headers as object) } })).status;

  assert.equal(await status(withSession(one.session)), 200);
  const [value, signature] = [one.session.slice(0, one.session.lastIndexOf('.')), one.session.slice(one.session.lastIndexOf('.') + 1)];
  const [, expires, nonce] = value.split('.');
  // A later expiry with the old signature, a changed nonce, no signature at all.
  assert.equal(await status(withSession(`v1.${Number(expires) + 3_600_000}.${nonce}.${signature}`)), 401);
  assert.equal(await status(withSession(`v1.${expires}.${nonce!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}.${signature}`)), 401);
  assert.equal(await status(withSession(value)), 401);

  const post = (session: string, csrfCookie: string, token: string) =>
    status(withSession(session, csrfCookie), { method: 'POST', headers: { 'x-csrf-token': token, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'csrf-check' }) });
  assert.equal(await post(one.session, one.csrfCookie, one.csrfToken), 201);
  // Session two with session one's CSRF secret and token: the token is bound to session one.
  assert.equal(await post(two.session, one.csrfCookie, one.csrfToken), 403);
  assert.equal(await post(one.session, one.csrfCookie, ''), 403);
  // A wrong bearer token beside a valid cookie is a wrong token, not a session.
  assert.equal(await status(withSession(one.session), { headers: { authorization: 'Bearer tadm_wrong' } }), 401);
});
