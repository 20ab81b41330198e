// The agent's release downloads: streamed to disk through HTTP_PROXY, retried with backoff on
// server errors and cut connections, never retried on 404, size-capped, no file left on failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const payload = randomBytes(3 * 1024 * 1024 + 17);
let origin: Server;
let proxy: Server;
let dir: string;
const proxied: string[] = [];
const failuresLeft = new Map<string, number>();
const hits = new Map<string, number>();

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

let originPort = 0;
// Loaded after HTTP_PROXY is set: the download module builds its proxy-aware dispatcher once.
let download: typeof import('../../src/update/http-download.ts');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tether-download-'));
  origin = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const left = failuresLeft.get(path) ?? 0;
    if (left > 0) {
      failuresLeft.set(path, left - 1);
      if (path.startsWith('/cut')) {
        res.writeHead(200, { 'content-length': payload.length });
        res.write(payload.subarray(0, 1000));
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      res.writeHead(503).end('busy, try again');
      return;
    }
    if (path === '/missing') return void res.writeHead(404).end('no such release');
    res.writeHead(200, { 'content-length': payload.length });
    res.end(payload);
  });
  originPort = await listen(origin);
  // An HTTP proxy (absolute-form requests and CONNECT tunnels), recording what it carried.
  proxy = createServer((req, res) => {
    proxied.push(req.url ?? '');
    const target = new URL(req.url ?? '');
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
      answer.on('aborted', () => res.destroy());
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  // undici tunnels through the proxy with CONNECT, for http:// targets too.
  proxy.on('connect', (req, socket, head) => {
    proxied.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host!, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  });
  const proxyPort = await listen(proxy);
  process.env.HTTP_PROXY = `http://127.0.0.1:${proxyPort}`;
  process.env.NO_PROXY = '';
  download = await import('../../src/update/http-download.ts');
});

after(async () => {
  origin.closeAllConnections();
  proxy.closeAllConnections();
  await new Promise((done) => origin.close(done));
  await new Promise((done) => proxy.close(done));
  await rm(dir, { recursive: true, force: true });
});

const options = { userAgent: 'tether-agent/test', backoffBaseMs: 50 };

test('streams the file to disk through HTTP_PROXY', async () => {
  const path = join(dir, 'ok.bin');
  const bytes = await download.downloadToFile(`http://127.0.0.1:${originPort}/ok`, path, payload.length, options);
  assert.equal(bytes, payload.length);
  assert.deepEqual(await readFile(path), payload);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.ok(
    proxied.some((target) => target === `127.0.0.1:${originPort}` || target === `http://127.0.0.1:${originPort}/ok`),
    `the proxy carried it (saw ${proxied.join(', ')})`,
  );
});

test('retries with backoff after 503s and after a connection cut mid-body', async () => {
  failuresLeft.set('/flaky', 2);
  const flaky = join(dir, 'flaky.bin');
  await download.downloadToFile(`http://127.0.0.1:${originPort}/flaky`, flaky, payload.length, options);
  assert.deepEqual(await readFile(flaky), payload);
  assert.equal(failuresLeft.get('/flaky'), 0);

  failuresLeft.set('/cut', 1);
  const cut = join(dir, 'cut.bin');
  await download.downloadToFile(`http://127.0.0.1:${originPort}/cut`, cut, payload.length, options);
  assert.deepEqual(await readFile(cut), payload);
});

test('a 404 is not retried; too many failures give up; nothing is left behind', async () => {
  const missing = join(dir, 'missing.bin');
  await assert.rejects(download.downloadToFile(`http://127.0.0.1:${originPort}/missing`, missing, 10, options), /answered 404: no such release/);
  assert.equal(hits.get('/missing'), 1, 'asked once: a 404 is not retried');
  await assert.rejects(stat(missing), { code: 'ENOENT' });

  failuresLeft.set('/down', 10);
  const down = join(dir, 'down.bin');
  await assert.rejects(download.downloadToFile(`http://127.0.0.1:${originPort}/down`, down, payload.length, { ...options, attempts: 3 }), /503.*after 3 attempts/);
  await assert.rejects(stat(down), { code: 'ENOENT' });
});

test('more bytes than expected are refused', async () => {
  const path = join(dir, 'big.bin');
  await assert.rejects(download.downloadToFile(`http://127.0.0.1:${originPort}/ok`, path, 1024, options), /more than the expected 1024 bytes; refused/);
  await assert.rejects(stat(path), { code: 'ENOENT' });
});
