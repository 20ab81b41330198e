// The CONNECT proxy agent for the WebSocket and the HTTP transport. Its own module, imported lazily,
// so https-proxy-agent loads only when a proxy applies (and bundles keep it in a lazy chunk: a
// dynamic import() of the CommonJS package itself does not survive esbuild's code splitting).
import type { Agent } from 'node:http';
import { HttpsProxyAgent } from 'https-proxy-agent';

export function connectProxyAgent(proxyUrl: string, options: { keepAlive?: boolean } = {}): Agent {
  return new HttpsProxyAgent(proxyUrl, { keepAlive: options.keepAlive ?? false }) as unknown as Agent;
}
