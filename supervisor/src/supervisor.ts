// The supervision loop: start the agent, act on how it exits (lifecycle.ts), back off on crashes,
// halt on fatal exits, and stop or restart it on request. Every state change is written to
// <state>/supervisor.json. Between events the supervisor only waits on timers and the child:
// no polling, so a crash-looping agent costs the supervisor next to nothing.
import { Backoff } from '@tether/shared/backoff.ts';
import { describeExit } from '@tether/shared/exit-codes.ts';
import { AgentProcess } from './agent-process.ts';
import { actionForExit } from './lifecycle.ts';
import { writeStatusFile, RECENT_CRASHES_KEPT } from './status-file.ts';
import type { AgentExit, SupervisorStatus } from './status-file.ts';
import type { RunOptions } from './cli-args.ts';
import type { Logger } from './logger.ts';
import { VersionManager } from './versions/version-manager.ts';
import type { ExitAction } from './lifecycle.ts';

/** Restart requests (exit 42/43/44) in a row, each soon after starting, before backoff applies anyway. */
const QUICK_RESTARTS_BEFORE_BACKOFF = 5;
/** While halted nothing is scheduled; this idle timer only keeps the process alive. */
const HALTED_IDLE_MS = 24 * 60 * 60 * 1000;
/** Crashes in a row (backoff attempts) from which the status reports a crash loop. */
const CRASH_LOOP_ATTEMPTS = 3;

export class Supervisor {
  #options: RunOptions;
  #log: Logger;
  #backoff: Backoff;
  #status: SupervisorStatus;
  #agent: AgentProcess | null = null;
  #startTimer: NodeJS.Timeout | null = null;
  #readyGraceTimer: NodeJS.Timeout | null = null;
  #haltedIdle: NodeJS.Timeout | null = null;
  #stopping = false;
  #restartRequested = false;
  #quickRestarts = 0;
  #statusWriteFailing = false;
  #versions: VersionManager;
  /** Why the version on trial must be rolled back once its process has exited. */
  #trialFailure: string | null = null;
  #trialTimer: NodeJS.Timeout | null = null;
  /** An install step is running; it starts the agent when done. */
  #installing = false;
  #resolveDone: (code: number) => void = () => {};

  constructor(options: RunOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
    this.#backoff = new Backoff({ baseMs: options.backoffBaseMs, capMs: options.backoffCapMs });
    this.#versions = new VersionManager({
      stateDir: options.stateDir,
      baseEntry: options.agentEntry,
      baseEntryExplicit: options.agentEntryExplicit,
      env: process.env,
      log,
      trialWindowMs: options.updateTrialMs,
    });
    const now = new Date().toISOString();
    this.#status = {
      state: 'starting',
      since: now,
      supervisor_pid: process.pid,
      supervisor_started_at: now,
      agent_entry: options.agentEntry,
      agent_pid: null,
      agent_started_at: null,
      ready_at: null,
      version: null,
      restarts: 0,
      last_exit: null,
      next_start_at: null,
      halted_reason: null,
      recent_crashes: [],
      updated_at: now,
    };
  }

  /** Runs until the supervisor should exit; resolves with its exit code. */
  run(): Promise<number> {
    const done = new Promise<number>((resolve) => { this.#resolveDone = resolve; });
    this.#log.info({
      agent_entry: this.#options.agentEntry,
      state_dir: this.#options.stateDir,
      backoff_cap_ms: this.#options.backoffCapMs,
      stop_grace_ms: this.#options.stopGraceMs,
    }, 'supervisor started');
    this.#afterInstallWork(() => this.#versions.prepare(), false);
    return done;
  }

  /** SIGTERM/SIGINT: stop the agent (SIGTERM, SIGKILL after the grace) and exit 0. A second request kills at once. */
  requestStop(signal: string): void {
    if (this.#stopping) {
      this.#log.warn(`${signal} again while stopping; killing the agent now`);
      this.#agent?.kill();
      return;
    }
    this.#stopping = true;
    this.#log.info(`${signal} received; stopping`);
    this.#clearTimers();
    if (this.#agent && !this.#agent.exited) {
      this.#update({ state: 'stopping' });
      this.#agent.stop(this.#options.stopGraceMs);
      return;
    }
    this.#finish();
  }

  /** SIGHUP: restart the agent now (graceful stop first). Also leaves backoff and the halted state. */
  requestRestart(): void {
    if (this.#stopping || this.#installing) return;
    this.#log.info('SIGHUP received; restarting the agent');
    this.#backoff.reset();
    this.#quickRestarts = 0;
    if (this.#agent && !this.#agent.exited) {
      this.#restartRequested = true;
      this.#agent.stop(this.#options.stopGraceMs);
      return;
    }
    this.#clearTimers();
    this.#status.restarts += 1;
    this.#startAgent();
  }

  /** Called from process 'exit': never leave the agent behind without at least asking it to stop. */
  onProcessExit(): void {
    this.#agent?.terminateWithoutWaiting();
  }

  #startAgent(): void {
    if (this.#stopping) return;
    const env: NodeJS.ProcessEnv = { ...process.env, TETHER_SUPERVISED: '1', MICROHACK_SUPERVISED: '1' };
    if (this.#options.stateDirFromFlag) env.TETHER_STATE_DIR = this.#options.stateDir;
    const target = this.#versions.target;
    let agent: AgentProcess;
    try {
      agent = new AgentProcess({
        entry: target.entry,
        runtime: target.runtime,
        env,
        log: this.#log,
        onReady: (version) => this.#onReady(agent, version),
        onExit: (code, signal) => this.#onExit(agent, code, signal),
      });
    } catch (error) {
      // spawn can throw synchronously (e.g. out of file descriptors): a crash like any other.
      this.#log.error({ err: error }, 'could not start the agent');
      return this.#scheduleRestart();
    }
    this.#agent = agent;
    this.#update({
      state: agent.pid === null ? 'starting' : 'running',
      agent_pid: agent.pid,
      agent_started_at: new Date(agent.startedAt).toISOString(),
      ready_at: null,
      next_start_at: null,
      halted_reason: null,
      agent_entry: target.entry,
      version: target.version,
      install: { kind: target.kind, version: target.version },
      trial: this.#trialStatus(),
    });
    this.#log.info({ agent_pid: agent.pid, restarts: this.#status.restarts, version: target.version, kind: target.kind }, 'agent started');
    const onTrial = this.#versions.trial !== null;
    const graceMs = onTrial ? this.#options.updateGraceMs : this.#options.readyGraceMs;
    this.#readyGraceTimer = setTimeout(() => {
      this.#readyGraceTimer = null;
      if (this.#agent === agent && this.#status.ready_at === null && onTrial && this.#versions.trial !== null) {
        // Not ready in time: stop it; the exit handler rolls back and starts the previous version.
        this.#trialFailure = `not ready within ${Math.round(graceMs / 1000)} s of starting`;
        this.#log.error({ agent_pid: agent.pid, update_grace_ms: graceMs }, 'new version did not report ready in time');
        agent.stop(this.#options.stopGraceMs);
        return;
      }
      if (this.#agent === agent && this.#status.ready_at === null) {
        this.#log.warn({
          agent_pid: agent.pid, ready_grace_ms: this.#options.readyGraceMs,
        }, 'agent has not reported ready within the grace period');
      }
    }, graceMs);
  }

  #trialStatus(): SupervisorStatus['trial'] {
    const trial = this.#versions.trial;
    return trial === null ? null : { from: trial.from_version, to: trial.to, ready_at: trial.ready_at, crashes: trial.crashes.length };
  }

  /** Runs an install step (prepare, update, redeploy, rollback), then starts whatever it chose. */
  #afterInstallWork(work: () => Promise<void>, countRestart = true): void {
    this.#update({ state: 'updating', agent_pid: null, next_start_at: null });
    this.#backoff.reset();
    this.#quickRestarts = 0;
    this.#installing = true;
    work()
      .catch((error: unknown) => this.#log.error({ err: error }, 'install step failed; starting what is installed'))
      .then(() => {
        this.#installing = false;
        if (this.#stopping) return;
        if (countRestart) this.#status.restarts += 1;
        this.#startAgent();
      });
  }

  /** Why the version on trial has failed with this exit, or null when it has not (yet). */
  #trialFailureFor(action: ExitAction, exit: AgentExit): string | null {
    if (this.#versions.trial === null) return null;
    if (action.kind === 'halt') return `new version stopped fatally: ${exit.description}`;
    if (action.kind === 'restart-after-backoff' && this.#versions.trialCrashed()) {
      return `crashed ${this.#versions.trial.crashes.length} times within ${Math.round(this.#options.updateTrialMs / 1000)} s (last: ${exit.description})`;
    }
    return null;
  }

  #onReady(agent: AgentProcess, version: string | null): void {
    if (this.#agent !== agent) return;
    const first = this.#status.ready_at === null;
    this.#update({ ready_at: this.#status.ready_at ?? new Date().toISOString(), version: version ?? this.#status.version });
    if (first) this.#log.info({ agent_pid: agent.pid, version }, 'agent ready');
    if (first && this.#versions.trial !== null) {
      void this.#versions.trialReady().then(() => this.#update({ trial: this.#trialStatus() }));
      // Still up after the trial window: the update is confirmed.
      if (this.#trialTimer !== null) clearTimeout(this.#trialTimer);
      this.#trialTimer = setTimeout(() => {
        this.#trialTimer = null;
        if (this.#agent === agent && !agent.exited) {
          this.#versions.endTrial();
          this.#update({ trial: null });
        }
      }, this.#options.updateTrialMs);
    }
  }

  #onExit(agent: AgentProcess, code: number | null, signal: string | null): void {
    if (this.#agent !== agent) return;
    this.#agent = null;
    if (this.#readyGraceTimer !== null) clearTimeout(this.#readyGraceTimer);
    this.#readyGraceTimer = null;

    const uptimeMs = Date.now() - agent.startedAt;
    const exit: AgentExit = { code, signal, description: describeExit(code, signal), at: new Date().toISOString(), uptime_ms: uptimeMs };
    this.#update({ agent_pid: null, last_exit: exit });
    this.#log.info({ agent_pid: agent.pid, code, signal, description: exit.description, uptime_ms: uptimeMs }, 'agent exited');

    if (this.#stopping) return this.#finish();
    if (this.#restartRequested) {
      this.#restartRequested = false;
      this.#status.restarts += 1;
      return this.#startAgent();
    }

    // A run that stayed up for the stable period starts a new series of quick restarts / crashes.
    const stable = uptimeMs >= this.#options.stableMs;
    if (stable) {
      this.#backoff.reset();
      this.#quickRestarts = 0;
      this.#update({ crash_loop: false });
    }

    const action = actionForExit(code, signal);
    const trialFailure = this.#trialFailure ?? this.#trialFailureFor(action, exit);
    this.#trialFailure = null;
    if (trialFailure !== null) {
      if (this.#trialTimer !== null) clearTimeout(this.#trialTimer);
      this.#trialTimer = null;
      this.#status.recent_crashes = [...this.#status.recent_crashes, exit].slice(-RECENT_CRASHES_KEPT);
      return this.#afterInstallWork(() => this.#versions.rollback(trialFailure));
    }
    switch (action.kind) {
      case 'update':
        return this.#afterInstallWork(async () => {
          this.#versions.endTrial(false); // it has proven itself; no pruning while a new one is staged
          await this.#versions.applyStaged();
        });
      case 'redeploy':
        return this.#afterInstallWork(() => this.#versions.redeploy());
      case 'stop':
        this.#log.info('agent stopped normally; supervisor exits');
        return this.#finish();
      case 'halt':
        return this.#halt(action.reason);
      case 'restart-now':
        this.#quickRestarts = stable ? 0 : this.#quickRestarts + 1;
        if (this.#quickRestarts < QUICK_RESTARTS_BEFORE_BACKOFF) {
          this.#status.restarts += 1;
          return this.#startAgent();
        }
        this.#log.warn({ quick_restarts: this.#quickRestarts }, 'agent keeps asking to restart right after starting; backing off');
        return this.#scheduleRestart();
      case 'restart-after-backoff':
        this.#status.recent_crashes = [...this.#status.recent_crashes, exit].slice(-RECENT_CRASHES_KEPT);
        return this.#scheduleRestart();
    }
  }

  #scheduleRestart(): void {
    const windowMs = this.#backoff.window();
    const delayMs = this.#backoff.next();
    const nextStart = new Date(Date.now() + delayMs).toISOString();
    this.#update({ state: 'backoff', next_start_at: nextStart, crash_loop: this.#backoff.attempt >= CRASH_LOOP_ATTEMPTS });
    this.#log.info({ delay_ms: delayMs, backoff_window_ms: windowMs, next_start_at: nextStart }, 'restarting the agent after backoff');
    this.#startTimer = setTimeout(() => {
      this.#startTimer = null;
      this.#status.restarts += 1;
      // A crashed agent may have been staging an update: never leave half a download behind.
      void this.#versions.cleanLeftovers().finally(() => {
        if (this.#agent === null && this.#startTimer === null && !this.#installing) this.#startAgent();
      });
    }, delayMs);
  }

  #halt(reason: string): void {
    this.#update({ state: 'halted', halted_reason: reason, next_start_at: null });
    this.#log.error({ reason }, 'agent halted; it will not be restarted until SIGHUP or a supervisor restart');
    this.#haltedIdle = setInterval(() => {}, HALTED_IDLE_MS);
  }

  #finish(): void {
    this.#clearTimers();
    this.#update({ state: 'stopped', agent_pid: null, next_start_at: null });
    this.#log.info('supervisor stopped');
    this.#resolveDone(0);
  }

  #clearTimers(): void {
    if (this.#startTimer !== null) clearTimeout(this.#startTimer);
    if (this.#readyGraceTimer !== null) clearTimeout(this.#readyGraceTimer);
    if (this.#haltedIdle !== null) clearInterval(this.#haltedIdle);
    if (this.#trialTimer !== null) clearTimeout(this.#trialTimer);
    this.#trialTimer = null;
    this.#startTimer = null;
    this.#readyGraceTimer = null;
    this.#haltedIdle = null;
  }

  #update(changes: Partial<SupervisorStatus>): void {
    const now = new Date().toISOString();
    const stateChanged = changes.state !== undefined && changes.state !== this.#status.state;
    this.#status = { ...this.#status, ...changes, updated_at: now, since: stateChanged ? now : this.#status.since };
    try {
      writeStatusFile(this.#options.stateDir, this.#status);
      if (this.#statusWriteFailing) this.#log.info('status file written again');
      this.#statusWriteFailing = false;
    } catch (error) {
      // A full disk must not stop supervision; say so once, not on every change.
      if (!this.#statusWriteFailing) this.#log.error({ err: error }, 'cannot write the status file; supervision continues');
      this.#statusWriteFailing = true;
    }
  }
}
