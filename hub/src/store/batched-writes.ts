// The group-committed half of the store API, the same for both engines: each call becomes a
// stamped write (writes.ts) in the engine's GroupCommit and resolves once its batch is durable.
import { GroupCommit } from './group-commit.ts';
import type { GroupCommitOptions } from './group-commit.ts';
import type { AgentRegistration, CompleteCommand, NewAuditEntry, NewCommand, StoredEvent, WriteOptions } from './store.ts';
import type { StoreWrite, WriteResult } from './writes.ts';

export class BatchedWrites {
  readonly #group: GroupCommit<StoreWrite, WriteResult>;

  constructor(commit: GroupCommitOptions<StoreWrite, WriteResult>['commit']) {
    this.#group = new GroupCommit({ commit });
  }

  get stats(): { batches: number; writes: number } {
    return { ...this.#group.stats };
  }

  close(): Promise<void> {
    return this.#group.close();
  }

  async saveRegistration(registration: AgentRegistration): Promise<void> {
    await this.#group.submit({ kind: 'registration', registration, at: now() });
  }

  async saveHeartbeat(agentId: string, keyId: string, heartbeat: Record<string, unknown>): Promise<void> {
    await this.#group.submit({ kind: 'heartbeat', agent_id: agentId, key_id: keyId, heartbeat, at: now() });
  }

  async insertCommand(command: NewCommand, options?: WriteOptions): Promise<boolean> {
    return (await this.#group.submit({ kind: 'insert_command', command, at: now() }, options)) as boolean;
  }

  async markSent(commandId: string, via: string, options?: WriteOptions): Promise<void> {
    await this.#group.submit({ kind: 'mark_sent', command_id: commandId, via, at: now() }, options);
  }

  async markExpired(commandId: string): Promise<boolean> {
    return (await this.#group.submit({ kind: 'mark_expired', command_id: commandId, at: now() })) as boolean;
  }

  async completeCommand(completion: CompleteCommand, options?: WriteOptions): Promise<boolean> {
    return (await this.#group.submit({ kind: 'complete', completion, at: now() }, options)) as boolean;
  }

  async appendAudit(entry: NewAuditEntry): Promise<void> {
    await this.#group.submit({ kind: 'audit', entry, at: entry.at === undefined ? now() : new Date(entry.at).toISOString() });
  }

  async appendEvent(commandId: string, type: string, event: Record<string, unknown>): Promise<StoredEvent | undefined> {
    return (await this.#group.submit({ kind: 'event', command_id: commandId, type, event, at: now() })) as StoredEvent | undefined;
  }
}

function now(): string {
  return new Date().toISOString();
}
