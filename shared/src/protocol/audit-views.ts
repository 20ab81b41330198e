// What GET /api/audit answers. Types only (hub and console).

/** Who did what to which key or command, and how it went. */
export interface AuditEntry {
  id: number;
  at: string;
  /** `admin token`, `console` (a session opened with the admin token), `operator:<name>`, or `agent` for what a host reported. */
  actor: string;
  action: string;
  key_id: string | null;
  command_id: string | null;
  outcome: string;
  detail: Record<string, unknown>;
}
