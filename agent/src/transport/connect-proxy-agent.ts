// The CONNECT proxy agent for the WebSocket. Its own module, imported lazily by websocket.ts, so
// https-proxy-agent loads only when a proxy applies (and bundles keep it in a lazy chunk: a
// dynamic import() of the CommonJS package itself does not survive esbuild's code splitting).
import type { Agent } from 'node:http';
import { HttpsProxyAgent } from 'https-proxy-agent';

export function connectProxyAgent(proxyUrl: string): Agent {
  return new HttpsProxyAgent(proxyUrl) as unknown as Agent;
}
