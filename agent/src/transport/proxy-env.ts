// Which proxy (if any) a URL goes through: HTTP_PROXY / HTTPS_PROXY / NO_PROXY, with the same
// rules as undici's EnvHttpProxyAgent, so the WebSocket and the HTTP transport always agree.

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'ws:': 80, 'https:': 443, 'wss:': 443 };

function firstSet(env: NodeJS.ProcessEnv, names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** True when NO_PROXY exempts this host (exact name, a parent domain, `*`; an entry may name a port). */
export function bypassesProxy(hostname: string, port: number, noProxy: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  for (const raw of noProxy.split(/[,\s]/)) {
    if (!raw) continue;
    if (raw === '*') return true;
    const withPort = /^(.+):(\d+)$/.exec(raw);
    const entryHost = (withPort ? withPort[1]! : raw)
      .replace(/^\*?\./, '')
      .replace(/^\[|\]$/g, '')
      .toLowerCase();
    const entryPort = withPort ? Number(withPort[2]) : 0;
    if (entryPort && entryPort !== port) continue;
    if (host === entryHost || host.endsWith(`.${entryHost}`)) return true;
  }
  return false;
}

/** The proxy URL for `target` (ws:, wss:, http: or https:), or null to connect directly. */
export function proxyForUrl(target: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const url = new URL(target);
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  const httpProxy = firstSet(env, ['http_proxy', 'HTTP_PROXY']);
  const proxy = secure ? (firstSet(env, ['https_proxy', 'HTTPS_PROXY']) ?? httpProxy) : httpProxy;
  if (!proxy) return null;
  const port = Number(url.port) || DEFAULT_PORTS[url.protocol] || 0;
  const noProxy = firstSet(env, ['no_proxy', 'NO_PROXY']) ?? '';
  return bypassesProxy(url.hostname, port, noProxy) ? null : proxy;
}

/** True when any proxy variable is set: only then is the proxy machinery loaded. */
export function proxyConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return firstSet(env, ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY']) !== undefined;
}
