// The hub's REST API as the console uses it: same-origin fetch with the session cookie, the CSRF
// token on every change, and one place that notices a session has ended.
import type { ConnectedAgentView, CommandView, KeyView } from '@tether/shared/protocol/admin-views.ts';
import type { AuditEntry } from '@tether/shared/protocol/audit-views.ts';
import type { StoredArtifact, TargetStatus } from '@tether/shared/protocol/backup-views.ts';
import type { HeartbeatPoint, HostView } from '@tether/shared/protocol/host-views.ts';
import type { ConsoleSessionView, OperatorView } from '@tether/shared/protocol/operator-views.ts';

// The hub's answers, declared once in shared/src/protocol/ for the hub and the console alike.
export type { AuditEntry, CommandView, ConnectedAgentView, ConsoleSessionView, HeartbeatPoint, OperatorView, HostView, KeyView, StoredArtifact, TargetStatus };

/** A query string from the set values only. */
export function query(params: Record<string, string | readonly string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of typeof value === 'string' ? [value] : (value ?? [])) if (item !== '') search.append(name, item);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

let csrfToken = '';
let onSignedOut: () => void = () => {};

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called whenever the hub answers 401: the session is gone (expired, signed out, new admin token). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const message = (parsed as { error?: string } | null)?.error ?? `HTTP ${response.status}`;
    if (response.status === 401 && !(method === 'POST' && path === '/api/console/session')) onSignedOut();
    throw new ApiError(response.status, message);
  }
  return parsed as T;
}
