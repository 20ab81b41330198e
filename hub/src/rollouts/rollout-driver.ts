// Drives staged rollouts (issue 12): a release version to the keys a selector picks, first to the
// canaries, then to the rest within the in-flight limit, halting by itself when a host fails or
// is rolled back. Everything lives in the store and every change is conditional there, so any hub
// of a cluster drives any rollout: each hub sweeps the active ones every few seconds (and at once
// when an update command gets its result), judges the updating hosts (rollout-rules.ts), and
// starts what may start now. A host's agent counts as online when it has a session on any hub.
import type { Logger } from '@tether/shared/logger.ts';
import type { RolloutSettings } from '@tether/shared/protocol/rollout-views.ts';
import { TetherError } from '@tether/shared/errors.ts';
import type { HubStore } from '../store/store.ts';
import type { NewRolloutHost, RolloutHost, RolloutRecord } from '../store/rollout-records.ts';
import type { Presence } from '../presence.ts';
import type { SessionDirectory } from '../cluster/session-directory.ts';
import type { CommandRouter } from '../commands/command-router.ts';
import { sendIfGranted } from '../commands/send-if-granted.ts';
import { onlineKeys } from '../cluster/online-keys.ts';
import { CoalescedRuns } from '../coalesced-runs.ts';
import { inFlightLimit, judgeSucceeded, judgeUpdating } from './rollout-rules.ts';
import type { Verdict } from './rollout-rules.ts';

export interface RolloutDriverDeps {
  store: HubStore;
  presence: Presence;
  directory: SessionDirectory;
  router: CommandRouter;
  /** Whether this version is published (on this hub's disk or in the shared store; any platform). */
  isPublished(version: string): boolean | Promise<boolean>;
  log: Logger;
  /** How often the active rollouts are checked (default 2 s). */
  sweepMs?: number;
}

export type RolloutRequest = RolloutSettings;

/** A request the driver refuses, with the HTTP status that says why (400 bad input, 404 unknown, 409 wrong state). */
export class RolloutRefused extends TetherError {
  override name = 'RolloutRefused';
  readonly status: 400 | 404 | 409;

  constructor(status: 400 | 404 | 409, message: string) {
    super('TETHER_ERR_ROLLOUT', message);
    this.status = status;
  }
}

const DEFAULT_SWEEP_MS = 2_000;

export class RolloutDriver {
  readonly #deps: RolloutDriverDeps;
  /** One advance per rollout at a time; a request during one runs once more after it. */
  readonly #advancing: CoalescedRuns;
  readonly #sweep: NodeJS.Timeout;
  #sweeping = false;

  constructor(deps: RolloutDriverDeps) {
    this.#deps = deps;
    this.#advancing = new CoalescedRuns(
      (rolloutId) => this.#advanceOnce(rolloutId),
      (rolloutId, error) => deps.log.error({ rollout_id: rolloutId, err: error.message }, 'could not advance a rollout; the next sweep tries again'),
    );
    deps.router.onFinished((record) => {
      if (record.command === 'update') void this.sweep();
    });
    this.#sweep = setInterval(() => void this.sweep(), deps.sweepMs ?? DEFAULT_SWEEP_MS);
    this.#sweep.unref();
  }

  async start(request: RolloutRequest): Promise<RolloutRecord> {
    const { store } = this.#deps;
    if (!(await this.#deps.isPublished(request.version))) {
      throw new RolloutRefused(400, `version ${request.version} is not published on this hub; publish it first with tether hub publish <release-dir> (GET /api/releases lists what is)`);
    }
    const keyIds = await store.resolveSelector(request.selector);
    if (keyIds.length === 0) throw new RolloutRefused(400, 'the selector picks no active key; check the labels or key ids (GET /api/agents/keys)');
    const hosts: NewRolloutHost[] = [];
    let canaries = 0;
    for (const keyId of keyIds) {
      const agent = await store.latestAgentForKey(keyId);
      const current = agent?.version === request.version;
      const canary = !current && canaries < request.canaries;
      if (canary) canaries += 1;
      hosts.push({
        key_id: keyId,
        canary,
        outcome: current ? 'skipped' : 'pending',
        from_version: agent?.version ?? null,
        detail: current ? `already runs ${request.version}` : null,
      });
    }
    const rollout = await store.createRollout(request, hosts);
    this.#deps.log.info({ rollout_id: rollout.rollout_id, version: rollout.version, hosts: hosts.length, canaries }, 'rollout started');
    await this.advance(rollout.rollout_id);
    return (await store.getRollout(rollout.rollout_id))!;
  }

  async resume(rolloutId: string): Promise<RolloutRecord> {
    const resumed = await this.#deps.store.transitionRollout(rolloutId, { from: ['halted'], to: 'running', halt_reason: null });
    if (!resumed) throw await this.#wrongState(rolloutId, 'resumed', 'only a halted rollout can be resumed');
    this.#deps.log.info({ rollout_id: rolloutId }, 'rollout resumed');
    await this.advance(rolloutId);
    return (await this.#deps.store.getRollout(rolloutId))!;
  }

  async abort(rolloutId: string): Promise<RolloutRecord> {
    const aborted = await this.#deps.store.transitionRollout(rolloutId, { from: ['running', 'halted'], to: 'aborted' });
    if (!aborted) throw await this.#wrongState(rolloutId, 'aborted', 'it has ended already');
    this.#deps.log.info({ rollout_id: rolloutId }, 'rollout aborted; hosts already updating finish their update');
    return aborted;
  }

  async #wrongState(rolloutId: string, verb: string, why: string): Promise<RolloutRefused> {
    const rollout = await this.#deps.store.getRollout(rolloutId);
    if (!rollout) return new RolloutRefused(404, `no rollout with id ${rolloutId}`);
    return new RolloutRefused(409, `rollout ${rolloutId} is ${rollout.state} and cannot be ${verb}: ${why}`);
  }

  /** Advances every rollout that needs it (one sweep at a time on this hub). */
  async sweep(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      for (const rolloutId of await this.#deps.store.activeRolloutIds()) await this.advance(rolloutId);
    } catch (error) {
      this.#deps.log.warn({ err: (error as Error).message }, 'could not list the active rollouts; the next sweep tries again');
    } finally {
      this.#sweeping = false;
    }
  }

  /** Judges the hosts being updated and starts what may start now. Coalesced per rollout. */
  advance(rolloutId: string): Promise<void> {
    return this.#advancing.run(rolloutId);
  }

  close(): void {
    clearInterval(this.#sweep);
  }

  async #advanceOnce(rolloutId: string): Promise<void> {
    const { store } = this.#deps;
    let rollout = await store.getRollout(rolloutId);
    if (!rollout) return;
    let hosts = await store.listRolloutHosts(rolloutId);
    if (await this.#judge(rollout, hosts)) {
      rollout = (await store.getRollout(rolloutId))!;
      hosts = await store.listRolloutHosts(rolloutId);
    }
    if (rollout.state !== 'running') return;

    const updating = hosts.filter((host) => host.outcome === 'updating');
    if (rollout.phase === 'canary' && !hosts.some((host) => host.canary && (host.outcome === 'pending' || host.outcome === 'updating'))) {
      rollout = (await store.transitionRollout(rolloutId, { from: ['running'], to: 'running', phase: 'rest' })) ?? rollout;
      if (rollout.state !== 'running') return;
      this.#deps.log.info({ rollout_id: rolloutId }, 'rollout canaries done; updating the rest');
    }
    const pending = hosts.filter((host) => host.outcome === 'pending' && (rollout.phase === 'rest' || host.canary));
    if (pending.length === 0) {
      if (updating.length === 0 && rollout.phase === 'rest' && (await store.transitionRollout(rolloutId, { from: ['running'], to: 'completed' }))) {
        this.#deps.log.info({ rollout_id: rolloutId, version: rollout.version }, 'rollout completed');
      }
      return;
    }
    const room = inFlightLimit(rollout, hosts.length) - updating.length;
    if (room <= 0) return;
    const online = await onlineKeys(
      this.#deps.presence,
      this.#deps.directory,
      pending.map((host) => host.key_id),
    );
    const ready: string[] = [];
    for (const host of pending) {
      if (ready.length >= room) break;
      if (online.has(host.key_id)) ready.push(host.key_id);
      else await store.settleRolloutHost(rolloutId, host.key_id, { from: ['pending'], to: 'skipped', detail: 'not connected when its turn came; update it later with another rollout' });
    }
    const started = await store.startRolloutHosts(rolloutId, { keyIds: ready, limit: inFlightLimit(rollout, hosts.length) });
    for (const record of started) this.#deps.log.info({ rollout_id: rolloutId, key_id: record.key_id, command_id: record.command_id, version: rollout.version }, 'rollout host updating');
    await Promise.all(started.map((record) => sendIfGranted(store, this.#deps.router, record)));
    // Skipped hosts made room for more: go round again.
    if (ready.length < room && pending.length > ready.length) void this.advance(rolloutId);
  }

  /** Settles hosts whose outcome is known now; true when anything changed. */
  async #judge(rollout: RolloutRecord, hosts: RolloutHost[]): Promise<boolean> {
    const { store } = this.#deps;
    let changed = false;
    const watchSucceeded = rollout.state === 'running' || rollout.state === 'halted';
    for (const host of hosts) {
      let verdict: Verdict | null = null;
      if (host.outcome === 'updating') {
        const command = host.command_id === null ? undefined : await store.getCommand(host.command_id);
        verdict = judgeUpdating(rollout, host, command, await store.latestAgentForKey(host.key_id), Date.now());
      } else if (host.outcome === 'succeeded' && watchSucceeded) {
        verdict = judgeSucceeded(rollout, host, await store.latestAgentForKey(host.key_id));
      }
      if (!verdict) continue;
      const settled = await store.settleRolloutHost(rollout.rollout_id, host.key_id, { from: [host.outcome], to: verdict.to, detail: verdict.detail });
      if (!settled.changed) continue;
      changed = true;
      const line = { rollout_id: rollout.rollout_id, key_id: host.key_id, outcome: verdict.to, detail: verdict.detail };
      if (verdict.to === 'succeeded') this.#deps.log.info(line, 'rollout host updated');
      else this.#deps.log.warn(line, 'rollout host did not update');
      if (settled.halted) this.#deps.log.warn({ rollout_id: rollout.rollout_id, key_id: host.key_id }, 'rollout halted; resume or abort it (POST /api/rollouts/:id/resume or /abort)');
    }
    return changed;
  }
}
