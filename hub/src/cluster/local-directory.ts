// The session directory of a hub on its own: its Presence is the whole truth, and there is no
// other hub to route to or tell (session-directory.ts has the interface and the clustered one).
import type { ConnectedAgentView } from '@tether/shared/protocol/admin-views.ts';
import type { Presence } from '../presence.ts';
import type { RouteOutcome } from './cluster.ts';
import type { SessionDirectory } from './session-directory.ts';

/** One hub on its own: its Presence is the whole truth. */
export class LocalDirectory implements SessionDirectory {
  readonly clustered = false;
  readonly hubId = 'local';

  describe(): string {
    return 'none';
  }
  readonly #presence: Presence;

  constructor(presence: Presence) {
    this.#presence = presence;
  }

  bind(): void {}
  async opened(): Promise<void> {}
  async alive(): Promise<boolean> {
    return true;
  }
  closed(): void {}
  async route(): Promise<RouteOutcome> {
    return 'offline';
  }
  async isConnected(keyId: string): Promise<boolean> {
    return this.#presence.isConnected(keyId);
  }
  async connected(): Promise<ConnectedAgentView[]> {
    return this.#presence.view().map((view) => ({ ...view, hub_id: this.hubId }));
  }
  async closeKey(): Promise<void> {}
  async pushGrant(): Promise<void> {}
  async cancel(): Promise<undefined> {
    return undefined;
  }
  publish(): void {}
  async follow(): Promise<() => void> {
    return () => {};
  }
  async onlineKeys(): Promise<Set<string>> {
    return new Set();
  }
  publishBatch(): void {}
  async followBatch(): Promise<() => void> {
    return () => {};
  }
  async close(): Promise<void> {}
}
