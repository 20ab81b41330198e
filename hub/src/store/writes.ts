// The writes that are group-committed (see group-commit.ts), each stamped when it was submitted.
import type { AgentRegistration, CompleteCommand, NewAuditEntry, NewCommand, StoredEvent } from './store.ts';

export type StoreWrite =
  | { kind: 'insert_command'; command: NewCommand; at: string }
  | { kind: 'mark_sent'; command_id: string; via: string; at: string }
  | { kind: 'mark_expired'; command_id: string; at: string }
  | { kind: 'complete'; completion: CompleteCommand; at: string }
  | { kind: 'event'; command_id: string; type: string; event: Record<string, unknown>; at: string }
  | { kind: 'registration'; registration: AgentRegistration; at: string }
  | { kind: 'heartbeat'; agent_id: string; key_id: string; heartbeat: Record<string, unknown>; at: string }
  /** An audit log entry (two per command sent through the API: joined to the batches, not one sync each). */
  | { kind: 'audit'; entry: NewAuditEntry; at: string };

/** insert_command, mark_expired, complete: whether it changed anything; event: the stored event. */
export type WriteResult = boolean | StoredEvent | undefined;
