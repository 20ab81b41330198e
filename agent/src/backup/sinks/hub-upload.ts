// Uploads an artifact file to the hub: PUT /api/agents/artifacts/{id}, streamed, with its sha256
// in X-Tether-Sha256 so that the hub refuses anything that arrives different.
import { createReadStream } from 'node:fs';
import { httpRequest } from './http-request.ts';
import { VERSION } from '@tether/shared/version.ts';
import type { Manifest } from '../manifest.ts';
import { agentHttpBase } from '../../transport/url.ts';

/** ws(s)://host/ws/agent → http(s)://host (protocol.md section 4). */
export const hubHttpBase = agentHttpBase;

export async function uploadToHub(path: string, manifest: Manifest, hub: { serverUrl: string; apiKey: string }, signal: AbortSignal): Promise<string> {
  const url = `${hubHttpBase(hub.serverUrl)}/api/agents/artifacts/${encodeURIComponent(manifest.id)}`;
  const response = await httpRequest(url, {
    method: 'PUT',
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
