// The HTTP transport against scripted servers: a micro-hack-style server (plain polls, no `wait`,
// no events endpoint, no protocol) and a protocol-1 server (long poll, events, acks by 2xx).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startAgent, makeTempDir, until, TEST_API_KEY } from './helpers/agent-process.ts';

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  auth: string | undefined;
  userAgent: string | undefined;
  body: any;
}

async function fakeHttpHub(t: { after(fn: () => unknown): void }, style: 'microhack' | 'tether') {
  const seen: Seen[] = [];
  const queue: Record<string, unknown>[] = [];
  let failResultsLeft = 0;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let text = '';
    for await (const chunk of req) text += chunk;
    const entry: Seen = {
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      auth: req.headers.authorization,
      userAgent: req.headers['user-agent'],
      body: text ? JSON.parse(text) : null,
    };
    seen.push(entry);
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.headers.upgrade) return json(404, { detail: 'Not Found' });
    if (url.pathname === '/api/agents/heartbeat') {
      return json(200, style === 'tether' && entry.body?.connection_mode ? { ok: true, agent_id: entry.body.agent_id, protocol: 1, permissions: ['ping', 'echo'] } : { status: 'ok' });
    }
    if (url.pathname === '/api/agents/poll') {
      if (style === 'tether' && url.searchParams.get('wait')) await new Promise((resolve) => setTimeout(resolve, queue.length ? 0 : 200));
      return json(200, { commands: queue.splice(0) });
    }
    if (url.pathname === '/api/agents/result') {
      if (failResultsLeft > 0) {
        failResultsLeft -= 1;
        return json(503, { error: 'busy' });
      }
      return json(200, { ok: true });
    }
    if (url.pathname === '/api/agents/events' && style === 'tether') return json(200, { ok: true });
    return json(404, { detail: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    queue,
    failNextResults(count: number) {
      failResultsLeft = count;
    },
    results: () => seen.filter((entry) => entry.path === '/api/agents/result').map((entry) => entry.body),
  };
}

test('micro-hack-style HTTP server: register, heartbeat, plain polls without wait, results, no events', async (t) => {
  const hub = await fakeHttpHub(t, 'microhack');
  const dir = await makeTempDir(t);
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir: join(dir, 'state'), env: { TETHER_FORCE_HTTP: '1' } });
  await agent.waitForLog('registered');
  hub.queue.push({ command_id: 101, command: 'echo', data: { message: 'hi' } });
  const result = await until('the result', () => hub.results()[0]);
  assert.equal(result.command_id, '101');
  assert.equal(result.result.success, true);
  assert.equal(result.result.data.echo, 'hi');

  const register = hub.seen.find((entry) => entry.body?.connection_mode === 'http_polling')!;
  assert.equal(register.auth, `Bearer ${TEST_API_KEY}`);
  assert.match(register.userAgent ?? '', /^tether-agent\//);
  assert.equal(typeof register.body.hostname, 'string');
  await until('a heartbeat', () => hub.seen.find((entry) => entry.path === '/api/agents/heartbeat' && entry.body?.mode === 'http_polling' && entry.body.metrics));
  const polls = hub.seen.filter((entry) => entry.path === '/api/agents/poll');
  assert.ok(polls.length >= 1 && polls.every((entry) => !entry.query.has('wait')), 'plain polls only');
  assert.equal(hub.seen.filter((entry) => entry.path === '/api/agents/events').length, 0, 'no events endpoint on micro-hack');
  assert.equal(hub.seen.filter((entry) => entry.query.has('api_key')).length, 0, 'the key never goes in a query string');
});

test('protocol-1 HTTP server: long polls, events before the result, a refused result is retried in order', async (t) => {
  const hub = await fakeHttpHub(t, 'tether');
  const dir = await makeTempDir(t);
  const agent = await startAgent(t, { serverUrl: hub.url, stateDir: join(dir, 'state'), env: { TETHER_FORCE_HTTP: '1' } });
  await agent.waitForLog('registered');
  hub.failNextResults(2);
  hub.queue.push({ command_id: 'a', command: 'echo', data: { message: 'first' } }, { command_id: 'b', command: 'echo', data: { message: 'second' } });
  await until(
    'both results stored',
    () =>
      hub.seen.filter((entry) => entry.path === '/api/agents/result').length >= 4 &&
      hub
        .results()
        .map((body) => body.command_id)
        .includes('b'),
    30_000,
  );
  const order = hub.results().map((body) => body.command_id);
  assert.equal(order.indexOf('a') < order.lastIndexOf('b'), true, `order: ${order.join(',')}`);
  assert.ok(
    hub.seen.some((entry) => entry.path === '/api/agents/poll' && Number(entry.query.get('wait')) > 0),
    'long polls',
  );
  const events = hub.seen.filter((entry) => entry.path === '/api/agents/events').flatMap((entry) => entry.body.events);
  assert.ok(events.some((event: any) => event.type === 'job_accepted' && event.command_id === 'a'));
  const firstResultAt = hub.seen.findIndex((entry) => entry.path === '/api/agents/result');
  const firstEventAt = hub.seen.findIndex((entry) => entry.path === '/api/agents/events');
  assert.ok(firstEventAt >= 0 && firstEventAt < firstResultAt, 'job_accepted reached the hub before the first result');
  const permissionRefused = await (async () => {
    hub.queue.push({ command_id: 'c', command: 'info', data: {} });
    return until('refusal', () => hub.results().find((body) => body.command_id === 'c'));
  })();
  assert.equal(permissionRefused.result.error_code, 'permission_denied', 'the register answer narrowed permissions');
});
