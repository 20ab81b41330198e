// Uploads an artifact file to the hub: PUT /api/agents/artifacts/{id}, streamed, with its sha256
// in X-Tether-Sha256 so that the hub refuses anything that arrives different.
import { createReadStream } from 'node:fs';
import { request, EnvHttpProxyAgent } from 'undici';
import { VERSION } from '@tether/shared/version.ts';
import type { Manifest } from '../manifest.ts';

/** ws(s)://host/ws/agent → http(s)://host (protocol.md section 4). */
export function hubHttpBase(serverUrl: string): string {
  const url = new URL(serverUrl.replace(/^ws(s?):\/\//i, 'http$1://'));
  const segments = url.pathname.split('/');
  const cut = segments.findIndex((segment, index) => segment === 'ws' && segments[index + 1] === 'agent');
  url.pathname = cut === -1 ? url.pathname : segments.slice(0, cut).join('/');
  url.search = '';
  return url.href.replace(/\/+$/, '');
}

let dispatcher: EnvHttpProxyAgent | undefined;

export async function uploadToHub(path: string, manifest: Manifest, hub: { serverUrl: string; apiKey: string }, signal: AbortSignal): Promise<string> {
  dispatcher ??= new EnvHttpProxyAgent();
  const url = `${hubHttpBase(hub.serverUrl)}/api/agents/artifacts/${encodeURIComponent(manifest.id)}`;
  const response = await request(url, {
    method: 'PUT',
    dispatcher,
    signal,
    body: createReadStream(path),
    headers: {
      authorization: `Bearer ${hub.apiKey}`,
      'content-type': 'application/octet-stream',
      'content-length': String(manifest.size),
      'user-agent': `tether-agent/${VERSION}`,
      'x-tether-sha256': manifest.sha256,
      'x-tether-target': manifest.target,
    },
  });
  const text = await response.body.text();
  if (response.statusCode !== 200 && response.statusCode !== 201) {
    throw new Error(`hub refused the upload of ${manifest.id} (HTTP ${response.statusCode}): ${text.slice(0, 300)}`);
  }
  const body = JSON.parse(text) as { location?: unknown };
  if (typeof body.location !== 'string') throw new Error('hub accepted the upload but returned no location');
  return body.location;
}
