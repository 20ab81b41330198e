// Messages the agent sends over the IPC channel. Only `ready` exists: {type:'ready', version?}.
// Checked by hand (no zod in the supervisor); anything else is reported and ignored, never trusted.

export interface ReadyMessage {
  type: 'ready';
  /** The agent's version when it sent a well-formed one, else null. */
  version: string | null;
}

export type ParsedAgentMessage = { ok: true; message: ReadyMessage; warning: string | null } | { ok: false; problem: string };

const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/;

export function parseAgentMessage(value: unknown): ParsedAgentMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: `expected an object like {"type":"ready"}, got ${describe(value)}` };
  }
  const record = value as Record<string, unknown>;
  if (record.type !== 'ready') {
    return { ok: false, problem: `unknown message type ${describe(record.type)}; the supervisor only understands "ready"` };
  }
  const version = record.version;
  if (version === undefined || version === null) return { ok: true, message: { type: 'ready', version: null }, warning: null };
  if (typeof version === 'string' && VERSION_PATTERN.test(version)) {
    return { ok: true, message: { type: 'ready', version }, warning: null };
  }
  return {
    ok: true,
    message: { type: 'ready', version: null },
    warning: `ready.version ${describe(version)} is not a version string (1-64 of [0-9A-Za-z.+-]); ignored`,
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
