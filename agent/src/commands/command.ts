// The contract between the dispatcher and every command handler.
import type { z } from 'zod';
import type { ErrorCode } from '@tether/shared/protocol/error-codes.ts';
import type { ResponseMessage } from '@tether/shared/protocol/agent-messages.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { AgentConfig } from '@tether/shared/config/agent-config.ts';
import { TetherError } from '@tether/shared/errors.ts';

export type Lane = 'priority' | 'normal';

/** What a handler returns: the `data` of its `response` (protocol.md section 5). */
export type CommandResult = NonNullable<ResponseMessage['data']>;

export interface JobReporter {
  /** Progress 0-100; the dispatcher rate-limits what reaches the hub. */
  progress(update: { progress: number; message?: string; bytes_done?: number; bytes_total?: number }): void;
  /** One line of output; the dispatcher caps line length and total volume. */
  output(line: string, stream?: 'stdout' | 'stderr'): void;
}

export interface CommandContext {
  commandId: string;
  jobId: string;
  /** Aborted on `cancel` or when the command's timeout expires: stop work, kill children. */
  signal: AbortSignal;
  config: AgentConfig;
  stateDir: string;
  agentId: string;
  log: Logger;
  job: JobReporter;
  /** Exit the agent with this code once the response has been delivered (42 restart, 43 update…). */
  requestExit(code: number): void;
}

export interface CommandDefinition<P = any> {
  name: string;
  /** The permission that allows it; usually the command's name. */
  permission: string;
  lane: Lane;
  /** Validates `data`; a failure is answered `invalid_params` with zod's message. */
  params: z.ZodType<P>;
  /** Used when the hub sends no timeout_s; else the agent's command_timeout_s. */
  defaultTimeoutS?: number;
  /**
   * The command changes nothing (ping, info, listing). Running it again has no effect, so an
   * operator may let its response skip the fsync (durability.fsync_effect_free: false).
   */
  effectFree?: boolean;
  run(params: P, context: CommandContext): Promise<CommandResult>;
}

/** Throw this from a handler to answer with a specific error code. Anything else is `failed`. */
export class CommandFailure extends TetherError {
  override name = 'CommandFailure';
  /** The protocol's error code the response carries (protocol.md section 3). */
  declare readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(code, message);
  }
}
