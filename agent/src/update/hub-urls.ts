// HTTP URLs of the hub's release endpoints, derived from the agent's configured server URL
// (protocol.md section 4: ws→http, wss→https, everything from the /ws/agent segment on removed).

export function hubHttpBase(serverUrl: string): string {
  const url = new URL(serverUrl.trim());
  if (url.protocol === 'ws:') url.protocol = 'http:';
  if (url.protocol === 'wss:') url.protocol = 'https:';
  const segments = url.pathname.split('/');
  const cut = segments.findIndex((segment, index) => segment === 'ws' && segments[index + 1] === 'agent');
  const path = (cut === -1 ? segments : segments.slice(0, cut)).join('/').replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}

/** …/api/agents/releases: `latest`, `<version>/<file>` hang below it. */
export function releasesUrl(serverUrl: string): string {
  return `${hubHttpBase(serverUrl)}/api/agents/releases`;
}

export function releaseKeysUrl(serverUrl: string): string {
  return `${hubHttpBase(serverUrl)}/api/agents/release-keys`;
}
