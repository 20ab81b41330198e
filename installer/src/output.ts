// What the manager tells the operator, in deploy.sh's voice: "tether: ..." lines. Messages go to
// stdout, warnings and errors to stderr. During a dry run stdout carries only the rendered unit, so
// messages go to stderr too.
import { TetherError } from '@tether/shared/errors.ts';

let messagesToStderr = false;

export function sendMessagesToStderr(): void {
  messagesToStderr = true;
}

export function say(text: string): void {
  (messagesToStderr ? process.stderr : process.stdout).write(`tether: ${text}\n`);
}

export function warn(text: string): void {
  process.stderr.write(`tether: warning: ${text}\n`);
}

/** A failure the operator can act on: one line, and the exit code deploy.sh documents. */
export class ManagerError extends TetherError {
  override name = 'ManagerError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super('TETHER_ERR_MANAGER', message);
    this.exitCode = exitCode;
  }
}

/** LSB "program is not running": what --status exits with when the agent is not running. */
export const EXIT_NOT_RUNNING = 3;
export const EXIT_USAGE = 2;
