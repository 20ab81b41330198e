// The hub's REST API as the console uses it: same-origin fetch with the session cookie, the CSRF
// token on every change, and one place that notices a session has ended.
export interface KeyView {
  id: string;
  name: string;
  permissions: string[];
  status: 'active' | 'disabled';
  created_at: string;
  last_used_at: string | null;
  key_prefix: string;
  labels?: Record<string, string>;
}

export interface ConnectedAgent {
  key_id: string;
  agent_id: string;
  hostname: string;
  version: string;
  transport: 'websocket' | 'http_polling';
  protocol: number | null;
  connected_since: string;
  last_heartbeat: string | null;
  metrics: Record<string, unknown> | null;
}

export interface CommandView {
  command_id: string;
  key_id: string;
  command: string;
  data: Record<string, unknown>;
  status: string;
  created_at: string;
  sent_at: string | null;
  completed_at: string | null;
  result: { success?: boolean; data?: unknown; error?: string; error_code?: string } | null;
}

export interface StoredArtifact {
  key_id: string;
  id: string;
  target: string;
  size: number;
  sha256: string;
  created_at: string;
  received_at: string | null;
  encrypted: boolean;
  verify: { ok: boolean; at: string } | null;
}

export interface HostView {
  agent_id: string;
  key_id: string;
  key_name: string | null;
  labels: Record<string, string>;
  hostname: string;
  version: string;
  os: string | null;
  transport: string;
  state: 'online' | 'stale' | 'offline';
  last_heartbeat_at: string;
  metrics: Record<string, unknown> | null;
  jobs: { running: number; queued: number } | null;
  outbox: { pending: number } | null;
}

export interface HeartbeatPoint {
  at: string;
  cpu_percent: number | null;
  memory_percent: number | null;
  disk_percent: number | null;
  load_1min: number | null;
  jobs_running: number | null;
  outbox_pending: number | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  key_id: string | null;
  command_id: string | null;
  outcome: string;
  detail: Record<string, unknown>;
}

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

export interface SessionAnswer {
  expires_at: string;
  csrf_token: string;
}
