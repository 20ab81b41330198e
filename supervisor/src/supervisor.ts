// The supervision loop: start the agent, act on how it exits (lifecycle.ts), back off on crashes,
// halt on fatal exits, and stop or restart it on request. What it is doing is one explicit phase
// (phase.ts); every change of the status is written to <state>/supervisor.json. Between events the
// supervisor only waits on timers and the child: no polling, so a crash-looping agent costs the
// supervisor next to nothing.
import { Backoff } from '@tether/shared/backoff.ts';
import { describeExit } from '@tether/shared/exit-codes.ts';
import { AgentProcess } from './agent-process.ts';
import { actionForExit } from './lifecycle.ts';
import { RECENT_CRASHES_KEPT } from '@tether/shared/release/supervisor-status.ts';
import type { AgentExit, SupervisorStatus } from '@tether/shared/release/supervisor-status.ts';
import { clearPhaseTimers } from './phase.ts';
import type { BackoffPhase, Phase, RunningPhase } from './phase.ts';
import { StatusWriter } from './status-writer.ts';
import type { RunOptions } from './cli-args.ts';
import type { Logger } from './logger.ts';
import { VersionManager } from './versions/version-manager.ts';
import type { SelfProgram } from './versions/release-task-process.ts';
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
  #statusWriter: StatusWriter;
  #versions: VersionManager;
  #phase: Phase = { kind: 'installing' };
  /** Restart requests (exit 42) in a row, each soon after starting. */
  #quickRestarts = 0;
  #resolveDone: (code: number) => void = () => {};

  /** `self`: the supervisor's own program (release work runs in a child of it). */
  constructor(options: RunOptions, log: Logger, self: SelfProgram) {
    this.#options = options;
    this.#log = log;
    this.#backoff = new Backoff({ baseMs: options.backoffBaseMs, capMs: options.backoffCapMs });
    this.#statusWriter = new StatusWriter(options.stateDir, log);
    this.#versions = new VersionManager({
      stateDir: options.stateDir,
      baseEntry: options.agentEntry,
      baseEntryExplicit: options.agentEntryExplicit,
      env: process.env,
      log,
      trialWindowMs: options.updateTrialMs,
      self,
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
    const done = new Promise<number>((resolve) => {
      this.#resolveDone = resolve;
    });
    this.#log.info(
      {
        agent_entry: this.#options.agentEntry,
        state_dir: this.#options.stateDir,
        backoff_cap_ms: this.#options.backoffCapMs,
        stop_grace_ms: this.#options.stopGraceMs,
      },
      'supervisor started',
    );
    this.#afterInstallWork(() => this.#versions.prepare(), false);
    return done;
  }

  /** SIGTERM/SIGINT: stop the agent (SIGTERM, SIGKILL after the grace) and exit 0. A second request kills at once. */
  requestStop(signal: string): void {
    const phase = this.#phase;
    if (phase.kind === 'stopped' || (phase.kind === 'running' && phase.afterExit === 'stop')) {
      this.#log.warn(`${signal} again while stopping; killing the agent now`);
      if (phase.kind === 'running') phase.agent.kill();
      return;
    }
    this.#log.info(`${signal} received; stopping`);
    clearPhaseTimers(phase);
    if (phase.kind === 'running' && !phase.agent.exited) {
      phase.afterExit = 'stop';
      this.#update({ state: 'stopping' });
      phase.agent.stop(this.#options.stopGraceMs);
      return;
    }
    this.#finish();
  }

  /** SIGHUP: restart the agent now (graceful stop first). Also leaves backoff and the halted state. */
  requestRestart(): void {
    const phase = this.#phase;
    if (phase.kind === 'stopped' || phase.kind === 'installing' || (phase.kind === 'running' && phase.afterExit === 'stop')) return;
    this.#log.info('SIGHUP received; restarting the agent');
    this.#backoff.reset();
    this.#quickRestarts = 0;
    if (phase.kind === 'running' && !phase.agent.exited) {
      phase.afterExit = 'restart';
      phase.agent.stop(this.#options.stopGraceMs);
      return;
    }
    clearPhaseTimers(phase);
    this.#status.restarts += 1;
    this.#startAgent();
  }

  /** Called from process 'exit': never leave the agent behind without at least asking it to stop. */
  onProcessExit(): void {
    if (this.#phase.kind === 'running') this.#phase.agent.terminateWithoutWaiting();
  }

  #startAgent(): void {
    if (this.#phase.kind === 'stopped') return;
    const env: NodeJS.ProcessEnv = { ...process.env, TETHER_SUPERVISED: '1', MICROHACK_SUPERVISED: '1' };
    if (this.#options.stateDirFromFlag) env.TETHER_STATE_DIR = this.#options.stateDir;
    const target = this.#versions.target;
    let agent: AgentProcess;
    try {
      // The callbacks fire from the child's events, after `phase` below is set.
      agent = new AgentProcess({
        entry: target.entry,
        runtime: target.runtime,
        env,
        log: this.#log,
        onReady: (version) => this.#onReady(phase, version),
        onExit: (code, signal) => this.#onExit(phase, code, signal),
      });
    } catch (error) {
      // spawn can throw synchronously (e.g. out of file descriptors): a crash like any other.
      this.#log.error({ err: error }, 'could not start the agent');
      return this.#scheduleRestart();
    }
    const phase: RunningPhase = { kind: 'running', agent, readyGrace: null, trialTimer: null, afterExit: 'act-on-exit', trialFailure: null };
    this.#phase = phase;
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
    phase.readyGrace = setTimeout(() => {
      phase.readyGrace = null;
      if (this.#phase !== phase || this.#status.ready_at !== null) return;
      if (onTrial && this.#versions.trial !== null) {
        // Not ready in time: stop it; the exit handler rolls back and starts the previous version.
        phase.trialFailure = `not ready within ${Math.round(graceMs / 1000)} s of starting`;
        this.#log.error({ agent_pid: agent.pid, update_grace_ms: graceMs }, 'new version did not report ready in time');
        agent.stop(this.#options.stopGraceMs);
        return;
      }
      this.#log.warn({ agent_pid: agent.pid, ready_grace_ms: this.#options.readyGraceMs }, 'agent has not reported ready within the grace period');
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
    const phase = { kind: 'installing' } as const;
    this.#phase = phase;
    work()
      .catch((error: unknown) => this.#log.error({ err: error }, 'install step failed; starting what is installed'))
      .then(() => {
        if (this.#phase !== phase) return; // stopped meanwhile
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

  #onReady(phase: RunningPhase, version: string | null): void {
    if (this.#phase !== phase) return;
    const first = this.#status.ready_at === null;
    this.#update({ ready_at: this.#status.ready_at ?? new Date().toISOString(), version: version ?? this.#status.version });
    if (first) this.#log.info({ agent_pid: phase.agent.pid, version }, 'agent ready');
    if (first && this.#versions.trial !== null) {
      void this.#versions.trialReady().then(() => this.#update({ trial: this.#trialStatus() }));
      // Still up after the trial window: the update is confirmed.
      if (phase.trialTimer !== null) clearTimeout(phase.trialTimer);
      phase.trialTimer = setTimeout(() => {
        phase.trialTimer = null;
        if (this.#phase === phase && !phase.agent.exited) {
          this.#versions.endTrial();
          this.#update({ trial: null });
        }
      }, this.#options.updateTrialMs);
    }
  }

  #onExit(phase: RunningPhase, code: number | null, signal: string | null): void {
    if (this.#phase !== phase) return;
    clearPhaseTimers(phase);
    const agent = phase.agent;
    const uptimeMs = Date.now() - agent.startedAt;
    const exit: AgentExit = { code, signal, description: describeExit(code, signal), at: new Date().toISOString(), uptime_ms: uptimeMs };
    this.#update({ agent_pid: null, last_exit: exit });
    this.#log.info({ agent_pid: agent.pid, code, signal, description: exit.description, uptime_ms: uptimeMs }, 'agent exited');

    if (phase.afterExit === 'stop') return this.#finish();
    if (phase.afterExit === 'restart') {
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
    const trialFailure = phase.trialFailure ?? this.#trialFailureFor(action, exit);
    if (trialFailure !== null) {
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
    const phase: BackoffPhase = { kind: 'backoff', timer: null };
    this.#phase = phase;
    phase.timer = setTimeout(() => {
      phase.timer = null;
      this.#status.restarts += 1;
      // A crashed agent may have been staging an update: never leave half a download behind.
      void this.#versions.cleanLeftovers().finally(() => {
        if (this.#phase === phase) this.#startAgent();
      });
    }, delayMs);
  }

  #halt(reason: string): void {
    this.#update({ state: 'halted', halted_reason: reason, next_start_at: null });
    this.#log.error({ reason }, 'agent halted; it will not be restarted until SIGHUP or a supervisor restart');
    this.#phase = { kind: 'halted', idle: setInterval(() => {}, HALTED_IDLE_MS) };
  }

  #finish(): void {
    clearPhaseTimers(this.#phase);
    this.#phase = { kind: 'stopped' };
    this.#update({ state: 'stopped', agent_pid: null, next_start_at: null });
    this.#log.info('supervisor stopped');
    this.#resolveDone(0);
  }

  #update(changes: Partial<SupervisorStatus>): void {
    const now = new Date().toISOString();
    const stateChanged = changes.state !== undefined && changes.state !== this.#status.state;
    this.#status = { ...this.#status, ...changes, updated_at: now, since: stateChanged ? now : this.#status.since };
    this.#statusWriter.write(this.#status);
  }
}
