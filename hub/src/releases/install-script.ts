// GET /install.sh: the repository's deploy.sh with this hub's URL as the default server, so
// `curl -fsSL https://hub/install.sh | bash -s -- --key K` needs no --server.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

const DEFAULT_LINE = "TETHER_DEFAULT_SERVER_URL=''";
/** A Host header fit to be pasted into a single-quoted shell string: host, IPv4/IPv6, port. */
export const SAFE_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** deploy.sh of the checkout (hub/src/releases → repo root), or beside a bundled tether.mjs. */
export function defaultInstallScriptCandidates(): string[] {
  return [fileURLToPath(new URL('../../../deploy.sh', import.meta.url)), fileURLToPath(new URL('./deploy.sh', import.meta.url))];
}

/** The hub's WebSocket URL as this client reached it, or null when the Host header is unusable. */
export function hubWsUrl(req: IncomingMessage): string | null {
  const host = req.headers.host;
  if (typeof host !== 'string' || !SAFE_HOST.test(host)) return null;
  const tls = (req.socket as TLSSocket).encrypted === true;
  return `${tls ? 'wss' : 'ws'}://${host}`;
}

export const BAD_HOST = 'the Host header is missing or not a plain host[:port]; request the hub by its name or address';

export type InstallScript = { ok: true; body: string } | { ok: false; status: number; message: string };

export async function renderInstallScript(req: IncomingMessage, candidates: readonly string[]): Promise<InstallScript> {
  let script: string | undefined;
  for (const path of candidates) {
    script = await readFile(path, 'utf8').catch(() => undefined);
    if (script !== undefined) break;
  }
  if (script === undefined) {
    return { ok: false, status: 404, message: `install script not available: deploy.sh not found (looked in ${candidates.join(', ')})` };
  }
  const url = hubWsUrl(req);
  if (url === null) return { ok: false, status: 400, message: BAD_HOST };
  if (!script.includes(DEFAULT_LINE)) {
    return { ok: false, status: 500, message: `deploy.sh has no line ${DEFAULT_LINE}; it cannot be given this hub's URL` };
  }
  return { ok: true, body: script.replace(DEFAULT_LINE, `TETHER_DEFAULT_SERVER_URL='${url}'`) };
}
