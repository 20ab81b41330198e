// A real HAProxy (Debian's `haproxy`) in front of several hubs, for multi-hub tests and the load
// tool: round robin, WebSocket upgrades tunnelled, hubs health-checked on /api/health so a dead one
// leaves the rotation within about a second.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const HAPROXY_BIN = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((path) => existsSync(path));

export interface HaproxyHandle {
  url: string;
  wsUrl: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startHaproxy(dir: string, backendPorts: number[], options: { maxConnections?: number } = {}): Promise<HaproxyHandle> {
  if (!HAPROXY_BIN) throw new Error('haproxy is not installed (Debian: apt-get install haproxy)');
  const port = await freePort();
  const maxconn = options.maxConnections ?? 4000;
  const config = [
    'global',
    // Each proxied connection holds two descriptors; this machine allows 20,000 per process.
    `  maxconn ${maxconn}`,
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 90s',
    '  timeout server 90s',
    '  timeout tunnel 1h',
    '  option redispatch',
    '  retries 2',
    'frontend hubs',
    `  bind 127.0.0.1:${port}`,
    `  maxconn ${maxconn}`,
    '  default_backend hubs',
    'backend hubs',
    '  balance roundrobin',
    '  option httpchk GET /api/health',
    ...backendPorts.map((backend, index) => `  server hub${index} 127.0.0.1:${backend} check inter 300ms fall 1 rise 2 maxconn ${maxconn}`),
    '',
  ].join('\n');
  const configPath = join(dir, `haproxy-${port}.cfg`);
  await writeFile(configPath, config);
  const child = spawn(HAPROXY_BIN, ['-db', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  // Ready once it answers the health check through to a hub.
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`haproxy did not come up: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
