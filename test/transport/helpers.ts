// Shared pieces of the transport tests: the proxy fixture process and small hub helpers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startProcess, waitFor } from '../helpers/process.ts';
import type { RunningProcess } from '../helpers/process.ts';
import type { HubHandle } from '../helpers/system.ts';

export const PROXY_MAIN = join(REPO_ROOT, 'test/transport/fixtures/proxy.ts');

export interface ProxyHandle {
  process: RunningProcess;
  port: number;
  url: string;
  setMode(mode: 'pass' | 'refuse-upgrade' | 'strip-upgrade' | 'blackhole-after-upgrade', options?: { drop?: boolean }): Promise<Record<string, any>>;
  stats(): Promise<Record<string, any>>;
  stop(): Promise<unknown>;
}

export async function startProxy(options: { mode?: string; upstreamPort?: number } = {}): Promise<ProxyHandle> {
  const args = [PROXY_MAIN, '--mode', options.mode ?? 'pass'];
  if (options.upstreamPort) args.push('--upstream', `127.0.0.1:${options.upstreamPort}`);
  const process = startProcess(args);
  const line = await process.waitForLine((_line, record) => record !== null && 'proxy_port' in record);
  const port = Number(line!.proxy_port);
  const control = `http://127.0.0.1:${Number(line!.control_port)}`;
  return {
    process,
    port,
    url: `http://127.0.0.1:${port}`,
    async setMode(mode, setOptions = {}) {
      const response = await fetch(`${control}/mode?set=${mode}${setOptions.drop ? '&drop=1' : ''}`);
      return response.json() as Promise<Record<string, any>>;
    },
    async stats() {
      return (await fetch(`${control}/stats`)).json() as Promise<Record<string, any>>;
    },
    stop: () => process.stop(),
  };
}

/** The agent of this key as /api/agents/connected lists it, on the wanted transport. */
export async function waitForTransport(hub: HubHandle, keyId: string, transport: 'websocket' | 'http_polling', timeoutMs = 30_000): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const { body } = await hub.api('GET', '/api/agents/connected');
      const list: Record<string, any>[] = Array.isArray(body) ? body : (body?.agents ?? []);
      return list.find((agent) => String(agent.key_id) === keyId && agent.agent_id && agent.transport === transport);
    },
    `agent of key ${keyId} on ${transport}`,
    timeoutMs,
    50,
  );
}

/** Kills effect.mjs runs that outlived their agent (it was killed with SIGKILL mid-command). */
export function killLeftoverEffects(markerFile: string): void {
  let text = '';
  try {
    text = readFileSync(`${markerFile}.pids`, 'utf8');
  } catch {
    return;
  }
  for (const pid of text.split('\n').filter(Boolean).map(Number)) {
    try {
      // Only a process that still is that effect run: a finished one's pid may be reused by now.
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (commandLine.includes('effect.mjs') && commandLine.includes(markerFile)) process.kill(pid, 'SIGKILL');
    } catch {
      // already finished
    }
  }
}
