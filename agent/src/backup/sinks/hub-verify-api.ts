// The hub's artifact endpoints beyond the upload itself (hub/src/http/verify-host-routes.ts): the
// owner's manifest and restore-test results, and what a verify host fetches (another key's
// manifest and bytes from the hub, or a presigned S3 GET).
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { httpRequest } from './http-request.ts';
import { VERSION } from '@tether/shared/version.ts';
import { agentHttpBase } from '../../transport/url.ts';
import { manifestSchema } from '../manifest.ts';
import type { Manifest, VerifyResult } from '../manifest.ts';
import { Sha256Stream } from '../pipeline.ts';
import type { RetentionPolicy } from '../retention.ts';

export interface HubAccess {
  serverUrl: string;
  apiKey: string;
}

async function call(hub: HubAccess, method: 'GET' | 'PUT' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<{ status: number; text: string }> {
  const response = await httpRequest(`${agentHttpBase(hub.serverUrl)}${path}`, {
    method,
    signal,
    headers: { authorization: `Bearer ${hub.apiKey}`, 'user-agent': `tether-agent/${VERSION}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.statusCode, text: await response.body.text() };
}

function hubError(what: string, status: number, text: string): Error {
  let reason = text.slice(0, 300);
  try {
    reason = String((JSON.parse(text) as { error?: unknown }).error ?? reason);
  } catch {
    // not JSON: keep the text
  }
  return new Error(`${what}: hub answered HTTP ${status}: ${reason}`);
}

/**
 * Puts this key's manifest beside its uploaded artifact (a verify host reads it from there), with
 * the target's retention: the hub applies it to the artifacts of this target it stores.
 */
export async function uploadManifest(hub: HubAccess, manifest: Manifest, retention: RetentionPolicy, signal: AbortSignal): Promise<void> {
  const { status, text } = await call(hub, 'PUT', `/api/agents/artifacts/${encodeURIComponent(manifest.id)}/manifest`, { ...manifest, retention }, signal);
  if (status !== 200) throw hubError(`storing the manifest of ${manifest.id}`, status, text);
}

/** Stores a restore test result with the artifact on the hub: own (`ownerKeyId` absent) or another key's. */
export async function reportVerifyResult(hub: HubAccess, id: string, result: VerifyResult, signal: AbortSignal, ownerKeyId?: string): Promise<void> {
  const path = ownerKeyId ? `/api/agents/verify/artifacts/${encodeURIComponent(ownerKeyId)}/${encodeURIComponent(id)}/result` : `/api/agents/artifacts/${encodeURIComponent(id)}/verify`;
  const { status, text } = await call(hub, 'POST', path, result, signal);
  if (status !== 200) throw hubError(`storing the restore test of ${id}`, status, text);
}

export async function fetchManifest(hub: HubAccess, ownerKeyId: string, id: string, signal: AbortSignal): Promise<Manifest> {
  const { status, text } = await call(hub, 'GET', `/api/agents/verify/artifacts/${encodeURIComponent(ownerKeyId)}/${encodeURIComponent(id)}/manifest`, undefined, signal);
  if (status !== 200) throw hubError(`fetching the manifest of ${id}`, status, text);
  const parsed = manifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success || parsed.data.id !== id) throw new Error(`the hub's manifest of ${id} is not a manifest this agent understands`);
  return parsed.data;
}

/**
 * Downloads another key's artifact into `path` (created 0600, must not exist), from the hub or
 * from S3 through a GET the hub presigns. Returns the bytes' sha256 (the caller compares).
 */
export async function fetchArtifact(hub: HubAccess, ownerKeyId: string, id: string, from: 'hub' | 's3', path: string, signal: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const base = `/api/agents/verify/artifacts/${encodeURIComponent(ownerKeyId)}/${encodeURIComponent(id)}`;
  let url = `${agentHttpBase(hub.serverUrl)}${base}`;
  let headers: Record<string, string> = { authorization: `Bearer ${hub.apiKey}`, 'user-agent': `tether-agent/${VERSION}` };
  if (from === 's3') {
    const { status, text } = await call(hub, 'POST', `${base}/s3`, {}, signal);
    if (status !== 200) throw hubError(`presigning the S3 GET of ${id}`, status, text);
    const presigned = JSON.parse(text) as { url: string; headers: Record<string, string> };
    url = presigned.url;
    headers = presigned.headers; // the agent key never goes to S3
  }
  const response = await httpRequest(url, { method: 'GET', signal, headers });
  if (response.statusCode !== 200) throw hubError(`fetching ${id} from ${from === 's3' ? 'S3' : 'the hub'}`, response.statusCode, await response.body.text());
  const hasher = new Sha256Stream();
  await pipeline(response.body, hasher, createWriteStream(path, { flags: 'wx', mode: 0o600 }), { signal });
  return { sha256: hasher.digest(), bytes: hasher.bytes };
}
