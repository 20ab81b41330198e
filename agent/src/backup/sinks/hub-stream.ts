// Streams an artifact to the hub while it is being made: PUT /api/agents/artifacts/{id} with
// X-Tether-Sha256: streamed (chunked, no length), then POST …/commit {sha256} once the pipeline has
// computed it. The hub keeps the bytes aside until the commit matches, so a stream cut in the
// middle, or a wrong hash, leaves nothing stored. Unreachable hubs and refusals fail differently:
// the first is worth spooling locally for a later upload, the second is not.
import { PassThrough } from 'node:stream';
import { httpRequest } from './http-request.ts';
import { VERSION } from '@tether/shared/version.ts';
import { agentHttpBase } from '../../transport/url.ts';
import type { HubAccess } from './hub-verify-api.ts';
import { TetherError } from '@tether/shared/errors.ts';

/** The hub could not be reached or the connection broke: spool locally and upload later. */
export class HubUnreachable extends TetherError {
  override name = 'HubUnreachable';

  constructor(message: string) {
    super('TETHER_ERR_HUB_UNREACHABLE', message);
  }
}

function reason(text: string): string {
  try {
    return String((JSON.parse(text) as { error?: unknown }).error ?? text.slice(0, 300));
  } catch {
    return text.slice(0, 300);
  }
}

/** A broken connection or a hub that is down or restarting (not a refusal of this upload). */
function unreachable(error: unknown, what: string): Error {
  const err = error as NodeJS.ErrnoException;
  if (err.name === 'AbortError') return err;
  return new HubUnreachable(`${what}: ${err.message ?? String(error)}${err.code ? ` (${err.code})` : ''}`);
}

/** Quick reachability check before a dump starts, so an unreachable hub costs no wasted dump. */
export async function hubReachable(hub: HubAccess, signal: AbortSignal): Promise<boolean> {
  try {
    const response = await httpRequest(`${agentHttpBase(hub.serverUrl)}/api/health`, {
      method: 'GET',
      signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
      headers: { 'user-agent': `tether-agent/${VERSION}` },
    });
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}

export interface HubStream {
  /** Write the artifact bytes here. */
  body: PassThrough;
  /** Settles once the hub has read the whole body (202), or as soon as it refuses or the connection fails. */
  received: Promise<void>;
  /** Makes the received bytes the artifact when `sha256` matches; returns its location. */
  commit(sha256: string): Promise<string>;
}

export function openHubStream(hub: HubAccess, id: string, target: string, signal: AbortSignal): HubStream {
  const base = `${agentHttpBase(hub.serverUrl)}/api/agents/artifacts/${encodeURIComponent(id)}`;
  const headers = { authorization: `Bearer ${hub.apiKey}`, 'user-agent': `tether-agent/${VERSION}` };
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  const received = (async () => {
    let response;
    try {
      response = await httpRequest(base, {
        method: 'PUT',
        signal,
        body,
        headers: { ...headers, 'content-type': 'application/octet-stream', 'x-tether-sha256': 'streamed', 'x-tether-target': target },
      });
    } catch (error) {
      throw unreachable(error, `streaming ${id} to the hub broke off`);
    }
    const text = await response.body.text().catch(() => '');
    if (response.statusCode === 202) return;
    if (response.statusCode === 502 || response.statusCode === 503 || response.statusCode === 504) throw new HubUnreachable(`streaming ${id} to the hub: HTTP ${response.statusCode} ${reason(text)}`);
    throw new Error(`hub refused the streamed upload of ${id} (HTTP ${response.statusCode}): ${reason(text)}`);
  })();
  received.catch(() => body.destroy()); // stop the pipeline when the hub refuses or the connection is gone
  return {
    body,
    received,
    async commit(sha256) {
      let response;
      try {
        response = await httpRequest(`${base}/commit`, { method: 'POST', signal, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ sha256 }) });
      } catch (error) {
        throw unreachable(error, `committing ${id} on the hub failed`);
      }
      const text = await response.body.text();
      if (response.statusCode !== 200 && response.statusCode !== 201) throw new Error(`hub refused the commit of ${id} (HTTP ${response.statusCode}): ${reason(text)}`);
      const location = (JSON.parse(text) as { location?: unknown }).location;
      if (typeof location !== 'string') throw new Error('hub committed the streamed upload but returned no location');
      return location;
    },
  };
}
