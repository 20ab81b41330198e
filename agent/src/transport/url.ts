// The WebSocket URL rules of protocol.md section 2.

export const AGENT_WS_PATH = '/ws/agent';

export interface AgentUrlOptions {
  apiKey: string;
  /** Put the key in ?api_key= as well (micro-hack servers that do not read the header). */
  keyInQuery: boolean;
}

/** `<server>/ws/agent`: trailing slashes stripped, the path never doubled, http(s) mapped to ws(s). */
export function agentWebSocketUrl(serverUrl: string, options: AgentUrlOptions): string {
  const url = new URL(serverUrl.trim());
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = /(^|\/)ws\/agent$/.test(path) ? path : `${path}${AGENT_WS_PATH}`;
  if (options.keyInQuery) url.searchParams.set('api_key', options.apiKey);
  return url.toString();
}

/**
 * The HTTP fallback base of protocol.md section 4: ws→http, wss→https, and everything from the
 * `/ws/agent` path segment on removed (the segment, never a substring of the host).
 */
export function agentHttpBase(serverUrl: string): string {
  const url = new URL(serverUrl.trim());
  if (url.protocol === 'ws:') url.protocol = 'http:';
  if (url.protocol === 'wss:') url.protocol = 'https:';
  const segments = url.pathname.split('/');
  const at = segments.findIndex((segment, index) => segment === 'ws' && segments[index + 1] === 'agent');
  const kept = at >= 0 ? segments.slice(0, at) : segments;
  url.pathname = kept.join('/').replace(/\/+$/, '');
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}
