// HTTP URLs of the hub's release endpoints, derived from the agent's configured server URL
// (protocol.md section 4: ws→http, wss→https, everything from the /ws/agent segment on removed).
import { agentHttpBase } from '../transport/url.ts';

export const hubHttpBase = agentHttpBase;

/** …/api/agents/releases: `latest`, `<version>/<file>` hang below it. */
export function releasesUrl(serverUrl: string): string {
  return `${hubHttpBase(serverUrl)}/api/agents/releases`;
}

export function releaseKeysUrl(serverUrl: string): string {
  return `${hubHttpBase(serverUrl)}/api/agents/release-keys`;
}
