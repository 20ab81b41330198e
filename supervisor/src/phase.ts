// What the supervisor is doing, as one explicit state: exactly one phase at a time, each holding
// only the timers and flags that belong to it. A callback (timer, child exit) acts only while the
// phase it was made for is still the current one, compared by identity.
import type { AgentProcess } from './agent-process.ts';

/** An install step runs (prepare, update, redeploy, rollback); it starts the agent when done. */
export interface InstallingPhase {
  kind: 'installing';
}

/** An agent process is up (or being stopped). */
export interface RunningPhase {
  kind: 'running';
  agent: AgentProcess;
  /** Warns (or, on trial, fails the new version) when the agent is not ready in time. */
  readyGrace: NodeJS.Timeout | null;
  /** Confirms an update once the new version has stayed up through its trial window. */
  trialTimer: NodeJS.Timeout | null;
  /** What follows the agent's exit: act on its exit code, start it again (SIGHUP), or stop (SIGTERM). */
  afterExit: 'act-on-exit' | 'restart' | 'stop';
  /** Why the version on trial must be rolled back once this process has exited. */
  trialFailure: string | null;
}

/** The agent crashed; it starts again when the timer fires (null once it fired: cleaning up first). */
export interface BackoffPhase {
  kind: 'backoff';
  timer: NodeJS.Timeout | null;
}

/** A fatal exit: nothing runs until SIGHUP; the idle timer only keeps the process alive. */
export interface HaltedPhase {
  kind: 'halted';
  idle: NodeJS.Timeout;
}

export interface StoppedPhase {
  kind: 'stopped';
}

export type Phase = InstallingPhase | RunningPhase | BackoffPhase | HaltedPhase | StoppedPhase;

/** Clears every timer a phase holds (on leaving it). */
export function clearPhaseTimers(phase: Phase): void {
  switch (phase.kind) {
    case 'running':
      if (phase.readyGrace !== null) clearTimeout(phase.readyGrace);
      if (phase.trialTimer !== null) clearTimeout(phase.trialTimer);
      phase.readyGrace = null;
      phase.trialTimer = null;
      return;
    case 'backoff':
      if (phase.timer !== null) clearTimeout(phase.timer);
      phase.timer = null;
      return;
    case 'halted':
      clearInterval(phase.idle);
      return;
    default:
      return;
  }
}
