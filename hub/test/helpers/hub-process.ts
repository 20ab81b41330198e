// Starts a real hub process (--port 0) and parses its "hub listening" line.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export const TETHER_BIN = fileURLToPath(new URL('../../bin/tether.js', import.meta.url));

export interface HubProcess {
  url: string;
  wsUrl: string;
  dataDir: string;
  adminToken: string;
  /** Every stdout/stderr line so far. */
  logs: string[];
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: string | null }>;
  stop(): Promise<void>;
}

export async function makeTempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tether-hub-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function startHubProcess(dataDir: string, extraArgs: string[] = []): Promise<HubProcess> {
  const child = spawn(process.execPath, [TETHER_BIN, 'hub', '--port', '0', '--data-dir', dataDir, '--log-level', 'debug', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start:\n${logs.join('\n')}`)), 30_000);
    const onLine = (line: string) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'hub listening' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not JSON: kept in logs
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        lines.filter(Boolean).forEach(onLine);
      });
    }
    void exited.then(() => reject(new Error(`hub exited early:\n${logs.join('\n')}`)));
  });
  const adminToken = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/ws/agent`,
    dataDir,
    adminToken,
    logs,
    child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export async function admin(hub: HubProcess, method: string, path: string, body?: unknown, token = hub.adminToken): Promise<{ status: number; body: any }> {
  const response = await fetch(`${hub.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

export async function createKey(hub: HubProcess, name = 'test', permissions?: string[]): Promise<{ id: string; key: string }> {
  const { status, body } = await admin(hub, 'POST', '/api/agents/keys', { name, permissions });
  if (status !== 201) throw new Error(`create key: ${status} ${JSON.stringify(body)}`);
  return { id: body.id, key: body.key };
}

export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A WebSocket test client that records every frame and the close code. */
export class TestSocket {
  readonly ws: WebSocket;
  readonly frames: any[] = [];
  closeCode: number | undefined;
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('message', (raw) => {
      try {
        this.frames.push(JSON.parse(raw.toString()));
      } catch {
        this.frames.push({ unparsable: raw.toString() });
      }
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`handshake ${res.statusCode}`), { status: res.statusCode })));
      this.ws.once('error', reject);
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  async next(type: string, predicate: (frame: any) => boolean = () => true): Promise<any> {
    return waitFor(`a ${type} frame`, () => this.frames.find((frame) => frame.type === type && predicate(frame)));
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The handshake status the hub answers for these headers/URL (101 when accepted). */
export async function handshakeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  const socket = new TestSocket(url, headers);
  try {
    await socket.opened;
    socket.close();
    return 101;
  } catch (error) {
    return (error as { status?: number }).status ?? -1;
  }
}

/** Naive UTC like micro-hack's Python datetime.utcnow().isoformat(). */
export function naiveTimestamp(): string {
  return new Date()
    .toISOString()
    .replace('Z', '')
    .replace(/\.(\d{3})$/, '.$1800');
}
