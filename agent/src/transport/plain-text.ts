// Plain-text transport rule (issue 9 item 15): ws:// and http:// carry the agent key in clear and
// let anyone on the path inject frames (a close 4002 halts the agent for good). They are refused
// for any host that is not loopback unless the host's config says allow_insecure: true.
import { BlockList, isIP } from 'node:net';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6'); // also matches ::ffff:127.x.y.z, which BlockList maps to IPv4

/** 127.0.0.0/8, ::1 and `localhost`; the URL parser has already normalised forms like 127.1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && loopback.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

/** Why this URL is plain text to a non-loopback host, or null when it is TLS or stays on the machine. */
export function plainTextProblem(urlText: string): string | null {
  const url = new URL(urlText.trim());
  if (url.protocol !== 'ws:' && url.protocol !== 'http:') return null;
  if (isLoopbackHost(url.hostname)) return null;
  return `${url.protocol}// to ${url.hostname} is unencrypted: the agent key crosses the network in clear and anyone on the path can send the agent frames`;
}

export const PLAIN_TEXT_FIX = 'use a wss:// (or https://) server_url, or set allow_insecure: true in the agent config (env TETHER_ALLOW_INSECURE=1) if this network is trusted';
