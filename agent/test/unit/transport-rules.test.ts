import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bypassesProxy, proxyForUrl } from '../../src/transport/proxy-env.ts';
import { classifyConnectError, classifyHandshakeAnswer } from '../../src/transport/ws-failure.ts';
import { agentHttpBase } from '../../src/transport/url.ts';
import { buildActionArgv } from '../../src/actions/argv-template.ts';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('HTTP base: ws→http, wss→https, /ws/agent segment and below removed, never part of a host', () => {
  assert.equal(agentHttpBase('ws://hub:8080'), 'http://hub:8080');
  assert.equal(agentHttpBase('wss://hub.example.com/ws/agent'), 'https://hub.example.com');
  assert.equal(agentHttpBase('wss://hub.example.com/tether/ws/agent/extra?api_key=x'), 'https://hub.example.com/tether');
  assert.equal(agentHttpBase('ws://ws.agent.example/'), 'http://ws.agent.example');
  assert.equal(agentHttpBase('https://hub.example.com/base/'), 'https://hub.example.com/base');
  assert.equal(agentHttpBase('ws://hub/wsx/agent'), 'http://hub/wsx/agent');
});

test('proxy selection follows HTTP(S)_PROXY and NO_PROXY like undici', () => {
  const env = { HTTP_PROXY: 'http://proxy:3128', HTTPS_PROXY: 'http://secure-proxy:3128', NO_PROXY: 'internal.example, .corp.example,hub.local:8080' };
  assert.equal(proxyForUrl('ws://hub.example.com', env), 'http://proxy:3128');
  assert.equal(proxyForUrl('wss://hub.example.com', env), 'http://secure-proxy:3128');
  assert.equal(proxyForUrl('wss://internal.example', env), null);
  assert.equal(proxyForUrl('wss://a.b.corp.example', env), null);
  assert.equal(proxyForUrl('ws://hub.local:8080', env), null);
  assert.equal(proxyForUrl('ws://hub.local:9090', env), 'http://proxy:3128');
  assert.equal(proxyForUrl('ws://hub.example.com', {}), null);
  assert.equal(proxyForUrl('wss://x', { http_proxy: 'http://lower:1' }), 'http://lower:1', 'https falls back to http_proxy');
  assert.equal(bypassesProxy('anything', 443, '*'), true);
  assert.equal(bypassesProxy('notinternal.example', 443, 'internal.example'), false);
});

test("WebSocket failures: the hub's refusals, proxies' answers and network errors", () => {
  assert.equal(classifyHandshakeAnswer(401, { 'x-tether-hub': '1', 'content-type': 'application/json' }).kind, 'refused_by_hub');
  assert.equal(classifyHandshakeAnswer(403, { 'content-type': 'application/json' }).kind, 'refused_by_hub');
  assert.equal(classifyHandshakeAnswer(403, { 'content-type': 'text/html' }).kind, 'structural');
  assert.equal(classifyHandshakeAnswer(407, {}).kind, 'structural');
  assert.equal(classifyHandshakeAnswer(404, { 'content-type': 'application/json' }).kind, 'structural');
  assert.equal(classifyHandshakeAnswer(200, {}).kind, 'structural');
  assert.equal(classifyHandshakeAnswer(503, { 'x-tether-hub': '1' }).kind, 'transient');
  assert.equal(classifyHandshakeAnswer(429, { 'x-tether-hub': '1' }).kind, 'transient', "the hub's rate limit: WebSocket works, wait");
  assert.equal(classifyHandshakeAnswer(429, {}).kind, 'structural');
  assert.equal(classifyHandshakeAnswer(502, {}).kind, 'structural');
  assert.equal(classifyConnectError('connect ECONNREFUSED 127.0.0.1:9').kind, 'transient');
});

test('action argv: placeholders filled inside their element only; checks before any use', async () => {
  const base = await mkdtemp(join(tmpdir(), 'tether-argv-'));
  try {
    const data = join(base, 'data');
    await mkdir(data);
    const action = {
      argv: ['/usr/bin/tool', '--name={name}', '{path}', 'literal {name}'],
      args: { name: { pattern: '[a-z ]+', paths_under: [] }, path: { pattern: '.+', paths_under: [data] } },
      env: {},
      pass_env: [],
    };
    assert.deepEqual(await buildActionArgv('a', action, { name: 'two words', path: `${data}/x` }), ['/usr/bin/tool', '--name=two words', `${data}/x`, 'literal two words']);
    await assert.rejects(buildActionArgv('a', action, { name: 'x', path: `${data}-other/x` }), /outside the allowed directories/);
    await assert.rejects(buildActionArgv('a', action, { name: 'x', path: `${data}/../etc` }), /\.\." path segments/);
    await assert.rejects(buildActionArgv('a', action, { name: 'x', path: `-${data}` }), /must not start with "-"/);
    await assert.rejects(buildActionArgv('a', action, { name: 'x\u0000', path: `${data}/y` }), /NUL/);
    await assert.rejects(buildActionArgv('a', action, { name: 'X', path: `${data}/y` }), /does not match/);
    await assert.rejects(buildActionArgv('a', action, { name: { nested: 1 }, path: `${data}/y` }), /string or a number/);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('actions config: placeholders need an args entry, argv[0] is a fixed program, patterns compile', async () => {
  const { z } = await import('zod');
  const { actionsConfigShape } = await import('../../src/actions/config-schema.ts');
  const schema = z.object(actionsConfigShape);
  const problems = (actions: unknown) => {
    const result = schema.safeParse({ actions });
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };
  assert.deepEqual(problems({ ok: { argv: ['/bin/echo', '{x}'], args: { x: { pattern: '[a-z]+' } } } }), []);
  assert.match(problems({ bad: { argv: ['/bin/echo', '{missing}'] } }).join(), /placeholder \{missing\} has no entry/);
  assert.match(problems({ bad: { argv: ['{prog}'], args: { prog: { pattern: '.+' } } } }).join(), /argv\[0\]|argv\.0/);
  assert.match(problems({ bad: { argv: ['sh -c'] } }).join(), /absolute path or a bare program name/);
  assert.match(problems({ bad: { argv: ['/bin/echo', '{x}'], args: { x: { pattern: '([a-z' } } } }).join(), /valid regular expression/);
  assert.match(problems({ '../x': { argv: ['/bin/true'] } }).join(), /action names/);
});
