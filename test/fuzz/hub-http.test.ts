// Fuzzing the hub's HTTP surface (issue 9, "Fuzzing"): every route, with fast-check-made methods,
// path parameters, query strings, headers (credentials, content types, anything) and bodies (JSON
// of any shape, near-valid bodies of the route's own fields, bytes that are not JSON), sent to a
// real hub process. Properties: the hub answers every request (no hang) below 500 (no crash), a
// refusal is a 4xx with a JSON `error` that says what was wrong, the hub logs no internal error,
// stays up, and stores nothing for a refused request (its database's row counts do not move; the
// audit log records an operator's refusals, and nothing for a request without the admin token).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadSqlite } from '@tether/shared/sqlite.ts';
import { startHub, tempDir } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { fuzz, jsonish, nastyString } from './fuzz-run.ts';

let dir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
let agentKey: { id: string; key: string };
let spareKey: { id: string; key: string };

before(async () => {
  dir = await tempDir('fuzz-hub-http');
  // Rate limits high enough that the fuzzer's own volume is not what gets refused.
  hub = await startHub({
    dataDir: dir.path,
    args: ['--max-auth-failures-per-minute', '1000000', '--max-connects-per-minute-per-key', '1000000', '--max-connects-per-minute-per-ip', '1000000', '--max-sign-ins-per-minute', '1000000'],
  });
  agentKey = await hub.createKey('fuzz-agent', ['ping', 'echo', 'info', 'exec', 'backup', 'backup_read']);
  spareKey = await hub.createKey('fuzz-spare', ['ping']);
});

after(async () => {
  await hub?.stop();
  await dir?.remove();
});

/** Row counts of every table in the hub's database, read beside the running hub. */
function rowCounts(): Record<string, number> {
  const { DatabaseSync } = loadSqlite();
  const db = new DatabaseSync(join(hub.dataDir, 'hub.sqlite'), { readOnly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
    return Object.fromEntries(tables.map(({ name }) => [name, Number((db.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n)]));
  } finally {
    db.close();
  }
}

interface Route {
  method: string;
  path: string;
  /** Fields a valid body has, so that near-valid bodies reach the route's own checks. */
  fields?: Record<string, fc.Arbitrary<unknown>>;
  /** Answers with an event stream that stays open: read the head, then hang up. */
  stream?: boolean;
}

/** Waits the hub honours are kept short (a valid wait_s holds the request that long); the rest are out of range or not numbers. */
const smallWait = fc.oneof(fc.constantFrom(0, 0.1, 1), fc.double({ max: -Number.MIN_VALUE }), fc.double({ min: 300.5 }), fc.integer({ max: -1 }), fc.integer({ min: 301 }), nastyString(8));
const permissionList = fc.array(fc.oneof(fc.constantFrom('ping', 'exec', 'backup', 'restart'), nastyString(16)), { maxLength: 5 });

const ROUTES: Route[] = [
  { method: 'GET', path: '/api/health' },
  { method: 'GET', path: '/api/agents/signing-key' },
  { method: 'GET', path: '/install.sh' },
  { method: 'GET', path: '/api/agents/release-keys' },
  { method: 'GET', path: '/api/agents/releases/latest' },
  { method: 'GET', path: '/api/agents/releases/:p/:p' },
  { method: 'POST', path: '/api/agents/keys', fields: { name: nastyString(), permissions: permissionList } },
  { method: 'GET', path: '/api/agents/keys' },
  { method: 'GET', path: '/api/agents/keys/:key' },
  { method: 'PATCH', path: '/api/agents/keys/:key', fields: { name: nastyString(), permissions: permissionList, status: fc.oneof(fc.constantFrom('active', 'disabled'), nastyString(8)) } },
  { method: 'DELETE', path: '/api/agents/keys/:key' },
  { method: 'POST', path: '/api/agents/keys/:key/regenerate' },
  { method: 'GET', path: '/api/agents/connected' },
  { method: 'POST', path: '/api/agents/keys/:key/ping', fields: { wait_s: smallWait } },
  {
    method: 'POST',
    path: '/api/agents/keys/:key/command',
    fields: {
      command: fc.oneof(fc.constantFrom('ping', 'echo', 'exec', 'backup', 'restore'), nastyString(16)),
      data: jsonish(),
      wait_s: smallWait,
      timeout_s: fc.oneof(fc.double(), nastyString(4)),
      deadline_s: fc.oneof(fc.double(), nastyString(4)),
    },
  },
  { method: 'GET', path: '/api/commands/:p' },
  { method: 'GET', path: '/api/commands/:p/events', stream: true },
  {
    method: 'POST',
    path: '/api/agents/heartbeat',
    fields: {
      connection_mode: fc.constantFrom('http_polling', 'websocket', ''),
      agent_id: nastyString(24),
      hostname: nastyString(),
      version: nastyString(12),
      capabilities: fc.array(nastyString(8), { maxLength: 3 }),
      protocol: fc.oneof(fc.constant(1), fc.integer()),
      metrics: jsonish(),
      mode: nastyString(12),
    },
  },
  { method: 'GET', path: '/api/agents/poll' },
  { method: 'POST', path: '/api/agents/result', fields: { command_id: nastyString(24), result: jsonish() } },
  {
    method: 'POST',
    path: '/api/agents/events',
    fields: {
      events: fc.array(
        fc.record(
          {
            type: fc.constantFrom('job_accepted', 'job_progress', 'job_output', 'other'),
            job_id: nastyString(16),
            command_id: nastyString(16),
            line: nastyString(),
            progress: fc.oneof(fc.double(), fc.integer()),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
    },
  },
  { method: 'PUT', path: '/api/agents/artifacts/:p' },
  { method: 'POST', path: '/api/agents/artifacts/:p/s3' },
  {
    method: 'PUT',
    path: '/api/agents/artifacts/:p/manifest',
    fields: { id: nastyString(30), target: nastyString(20), size: fc.oneof(fc.integer(), nastyString(4)), sha256: nastyString(64), encrypted: fc.boolean(), created_at: nastyString(24) },
  },
  { method: 'POST', path: '/api/agents/artifacts/:p/commit', fields: { sha256: nastyString(64), size: fc.oneof(fc.integer(), nastyString(4)) } },
  { method: 'POST', path: '/api/agents/artifacts/:p/verify' },
  { method: 'GET', path: '/api/agents/verify/artifacts/:p/:p' },
  { method: 'GET', path: '/api/agents/verify/artifacts/:p/:p/manifest' },
  {
    method: 'POST',
    path: '/api/agents/verify/artifacts/:p/:p/result',
    fields: { ok: fc.oneof(fc.boolean(), jsonish()), sha256: nastyString(64), bytes: fc.oneof(fc.integer(), nastyString(4)), error: nastyString() },
  },
  { method: 'POST', path: '/api/agents/verify/artifacts/:p/:p/s3' },
  { method: 'GET', path: '/api/artifacts' },
  { method: 'GET', path: '/api/artifacts/:key/:p' },
  { method: 'GET', path: '/api/artifacts/:key/:p/download' },
  { method: 'DELETE', path: '/api/artifacts/:key/:p' },
  { method: 'GET', path: '/api/backups/status' },
  { method: 'POST', path: '/api/commands/:p/cancel' },
  { method: 'GET', path: '/api/agents/connected/events', stream: true },
  { method: 'POST', path: '/api/console/session', fields: { token: fc.oneof(fc.constant('@token'), nastyString(40)) } },
  { method: 'GET', path: '/api/console/session' },
  { method: 'DELETE', path: '/api/console/session' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/ws/agent' },
  { method: 'GET', path: '/:p' },
];

/** Header values Node's client can send: printable ASCII and tabs. */
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 60 });

/** Credentials: none, the real ones, a real agent key on an admin route and the reverse, junk. */
const authorization = () =>
  fc.oneof(
    fc.constant(undefined),
    { arbitrary: fc.constant(`Bearer ${hub.token}`), weight: 5 },
    { arbitrary: fc.constant(`Bearer ${agentKey.key}`), weight: 4 },
    fc.constant(`Bearer ${spareKey.key}`),
    fc.constantFrom('Bearer', 'Bearer ', 'Basic YTpi', 'bearer tak_x', `Bearer ${'x'.repeat(4000)}`),
    headerValue.map((value) => `Bearer ${value}`),
    headerValue,
  );

const contentType = fc.oneof(
  fc.constant(undefined),
  { arbitrary: fc.constant('application/json'), weight: 6 },
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/octet-stream',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    ';;',
    'application/',
  ),
  headerValue,
);

const headerName = fc.oneof(
  fc.constantFrom('x-forwarded-for', 'content-length', 'transfer-encoding', 'x-tether-sha256', 'x-tether-size', 'accept', 'upgrade', 'connection', 'cookie', 'origin', 'host'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
);

function fill(route: Route, param: string): string {
  return route.path.replace(/:key/g, () => encodeURIComponent(param === '@agent' ? agentKey.id : param === '@spare' ? spareKey.id : param)).replace(/:p/g, () => encodeURIComponent(param));
}

const body = (route: Route) =>
  fc.oneof(
    fc.constant(undefined),
    jsonish().map((value) => JSON.stringify(value)),
    { arbitrary: route.fields ? fc.record(route.fields, { requiredKeys: [] }).map((value) => JSON.stringify(value)) : fc.constant('{}'), weight: 5 },
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.constantFrom('{', '{"a":', '[1,2', '"\\ud800"', '{"__proto__": {"polluted": true}}', '{"constructor": {"prototype": {"x": 1}}}', `{"name": "${'n'.repeat(300)}"}`, '\u0000'),
  );

const requestCase = fc.constantFrom(...ROUTES).chain((route) =>
  fc.record({
    route: fc.constant(`${route.method} ${route.path}`),
    method: fc.oneof({ arbitrary: fc.constant(route.method), weight: 5 }, { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'), weight: 1 }),
    param: fc.oneof(fc.constantFrom('@agent', '@spare', 'latest', '0.1.0', 'cmd_1', '.', '..', '%', ''), nastyString(40)),
    query: fc.array(
      fc.tuple(fc.oneof(fc.constantFrom('wait', 'platform', 'api_key', 'since', 'limit'), nastyString(10)), fc.oneof(fc.constantFrom('0', '1', '31', '-1', '1e3', 'linux-x64'), nastyString(20))),
      { maxLength: 3 },
    ),
    authorization: authorization(),
    contentType,
    headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 3 }),
    body: body(route),
  }),
);

type RequestCase = typeof requestCase extends fc.Arbitrary<infer T> ? T : never;

interface Answer {
  status: number;
  text: string;
}

/** Sends one case with node:http (any header, any bytes); a hub that does not answer in 40 s hangs. */
function send(testCase: RequestCase): Promise<Answer> {
  const route = ROUTES.find((candidate) => `${candidate.method} ${candidate.path}` === testCase.route)!;
  const query = testCase.query.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
  const path = `${fill(route, testCase.param)}${query ? `?${query}` : ''}`;
  const headers: Record<string, string> = {};
  for (const [name, value] of testCase.headers) headers[name] = value;
  if (testCase.authorization !== undefined) headers.authorization = testCase.authorization === '@admin' ? `Bearer ${hub.token}` : testCase.authorization;
  if (testCase.contentType !== undefined) headers['content-type'] = testCase.contentType;
  // "@token" in a body is the admin token (the console's sign-in), known only once the hub runs.
  const payload = testCase.body === undefined ? undefined : Buffer.from(testCase.body.replaceAll('"@token"', JSON.stringify(hub.token)));
  // A wrong framing header of the fuzzer's own would only test Node's client: let it set them.
  delete headers['content-length'];
  delete headers['transfer-encoding'];
  delete headers.host;
  if (payload) headers['content-length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: hub.port, method: testCase.method, path, headers, timeout: 40_000 }, (res) => {
      const chunks: Buffer[] = [];
      if (route.stream && res.statusCode === 200) {
        res.destroy(); // an open event stream: its head is the answer
        resolve({ status: 200, text: '' });
        return;
      }
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within 40 s to ${testCase.method} ${path}: the hub hangs`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A case that deleted, regenerated or disabled one of the fuzzer's keys: make it anew, so later cases still get past auth. */
async function restoreKeys(testCase: RequestCase, status: number): Promise<void> {
  if (status >= 300 || !/keys\/:key/.test(testCase.route) || testCase.method === 'GET') return;
  if (testCase.param === '@agent') agentKey = await hub.createKey('fuzz-agent', ['ping', 'echo', 'info', 'exec', 'backup', 'backup_read']);
  if (testCase.param === '@spare') spareKey = await hub.createKey('fuzz-spare', ['ping']);
}

function hubErrors(from: number): string[] {
  return hub.process.lines.slice(from).filter((line) => /"level":(50|60)/.test(line));
}

test('every hub HTTP route: no crash, no hang, no 5xx, a clear 4xx, nothing stored when refused', { timeout: 3_600_000 }, async () => {
  const statuses = new Map<number, number>();
  await fuzz(
    'hub HTTP routes',
    requestCase,
    async (testCase) => {
      const before = rowCounts();
      const logFrom = hub.process.lines.length;
      const answer = await send(testCase);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const what = `${testCase.method} for ${testCase.route} (${answer.status}): ${answer.text.slice(0, 300)}`;
      // The 5xx by design: a ping whose agent (here one an earlier case registered over HTTP and
      // that never polls) did not answer in time is a gateway timeout, with the reason.
      const agentTimeout = answer.status === 504 && testCase.route.endsWith('/ping') && /"error":"no answer within/.test(answer.text);
      // And the console's page when `npm run build:console` has not run here (npm test runs it).
      const consoleUnbuilt = answer.status === 503 && /console is not built/.test(answer.text);
      assert.ok(answer.status > 0 && (answer.status < 500 || agentTimeout || consoleUnbuilt), `a 5xx or no status: ${what}`);
      assert.equal(hub.process.exitInfo, null, `the hub exited: ${what}`);
      assert.deepEqual(hubErrors(logFrom), [], `the hub logged an error: ${what}`);
      if (answer.status >= 400 && answer.status < 500) {
        if (testCase.method !== 'HEAD') {
          // Node's own parser refusals are a bare 400 without a body (error-handler.ts clientErrorHandler).
          const parsed = answer.text ? (JSON.parse(answer.text) as { error?: unknown }) : { error: 'bare 400' };
          assert.equal(typeof parsed.error, 'string', `a refusal without an error message: ${what}`);
          assert.ok(String(parsed.error).length > 5, `an error message that says nothing: ${what}`);
        }
        // The audit log records an operator's refused requests by design; one that did not present
        // the admin token leaves no trace there either (nobody without it can fill the audit log).
        const { audit_log: auditAfter, ...after } = rowCounts();
        const { audit_log: auditBefore, ...rest } = before;
        assert.deepEqual(after, rest, `a refused request stored something: ${what}`);
        const asAdmin = testCase.authorization === '@admin' || /^bearer\s+(\S+)\s*$/i.exec(testCase.authorization ?? '')?.[1] === hub.token;
        if (!asAdmin) assert.equal(auditAfter, auditBefore, `an unauthenticated request was audited: ${what}`);
      }
      await restoreKeys(testCase, answer.status);
    },
    {
      boundedRuns: 150,
      shareOfFile: 0.7,
      // A HEAD of an event stream was never answered: the head waited for a first write (hub/src/http/*-events-sse.ts).
      regressions: [{ route: 'GET /api/agents/connected/events', method: 'HEAD', param: 'x', query: [], authorization: '@admin', contentType: undefined, headers: [], body: undefined }],
    },
  );
  console.log(
    `fuzz hub HTTP routes, answers by status: ${[...statuses]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status}: ${count}`)
      .join(', ')}`,
  );
  const health = await hub.api('GET', '/api/health');
  assert.equal(health.status, 200);
});

/** Bytes on a raw socket: request lines, header lines and framing no HTTP client would send. */
const rawRequest = fc
  .record({
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE', 'PRI', 'get', ''), nastyString(10)),
    path: fc.oneof(fc.constantFrom('/api/health', '/api/agents/keys', '/api/agents/heartbeat', '/ws/agent', '*', 'http://evil/', '/%', '//', '/api/../admin'), nastyString(60)),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', ''),
    headers: fc.array(
      fc.oneof(
        fc.constantFrom(
          'Host: 127.0.0.1',
          'Content-Length: 5',
          'Content-Length: -1',
          'Content-Length: 99999999999',
          'Transfer-Encoding: chunked',
          'Transfer-Encoding: gzip, chunked',
          'Content-Length: 3\r\nContent-Length: 4',
          'Connection: upgrade',
          'Upgrade: websocket',
          'Expect: 100-continue',
          'Authorization: Bearer @admin',
          'Content-Type: application/json',
        ),
        fc.string({ unit: 'binary', maxLength: 60 }),
      ),
      { maxLength: 6 },
    ),
    body: fc.oneof(fc.constant(''), fc.constantFrom('0\r\n\r\n', 'zz\r\nxx\r\n', '5\r\nhello\r\n0\r\n\r\n', '{"name":"x"}'), fc.string({ unit: 'binary', maxLength: 200 })),
  })
  .map(({ method, path, version, headers, body }) => `${method} ${path} ${version}\r\n${headers.join('\r\n')}${headers.length ? '\r\n' : ''}\r\n${body}`);

/** Writes the bytes, half-closes, and collects what the hub says until it closes (at most 15 s). */
function sendRaw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(hub.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the hub neither answered nor closed within 15 s after: ${JSON.stringify(text.slice(0, 300))}`));
    }, 15_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset is an answer too
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.end(Buffer.from(text.replaceAll('@admin', hub.token), 'utf8'));
  });
}

test('raw bytes that are not quite HTTP: an answer or a closed socket, the hub up, nothing stored', { timeout: 3_600_000 }, async () => {
  await fuzz(
    'hub raw HTTP requests',
    rawRequest,
    async (text) => {
      const before = rowCounts();
      const logFrom = hub.process.lines.length;
      const answer = await sendRaw(text);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
      if (status !== undefined) assert.ok(Number(status) < 500, `a ${status} for ${JSON.stringify(text.slice(0, 300))}:\n${answer.slice(0, 500)}`);
      assert.equal(hub.process.exitInfo, null, 'the hub exited');
      assert.deepEqual(hubErrors(logFrom), [], `the hub logged an error for ${JSON.stringify(text.slice(0, 300))}`);
      if (status === undefined || Number(status) >= 400) assert.deepEqual(rowCounts(), before, `a refused request stored something: ${JSON.stringify(text.slice(0, 300))}`);
      assert.equal((await hub.api('GET', '/api/health')).status, 200, 'the hub answers after it');
    },
    { boundedRuns: 60, shareOfFile: 0.3 },
  );
});
