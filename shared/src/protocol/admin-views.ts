// What the admin API answers about keys, connected agents and commands. Types only, no imports:
// the hub builds these and the console (a browser bundle) reads them.

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

export interface ConnectedAgentView {
  key_id: string;
  agent_id: string;
  hostname: string;
  version: string;
  transport: 'websocket' | 'http_polling';
  protocol: number | null;
  connected_since: string;
  last_heartbeat: string | null;
  metrics: Record<string, unknown> | null;
  /** The hub holding the session (cluster-wide lists; "local" for a hub on its own). */
  hub_id?: string;
}

export type CommandStatus = 'queued' | 'sent' | 'completed' | 'failed' | 'expired';

/** A command's result as the agent sent it (protocol.md section 5); other fields are kept as sent. */
export interface CommandResultView {
  success?: boolean;
  data?: unknown;
  error?: string;
  error_code?: string;
  [field: string]: unknown;
}

export interface CommandView {
  command_id: string;
  key_id: string;
  command: string;
  data: Record<string, unknown>;
  status: CommandStatus;
  created_at: string;
  sent_at: string | null;
  completed_at: string | null;
  result: CommandResultView | null;
}
