// `exec`: runs a named action from the local config (protocol.md section 5). The hub sends the
// action's name and args; the program and argv come from this host's config only.
import { z } from 'zod';
import { childEnv } from '@tether/shared/child-env.ts';
import { CommandFailure } from '../commands/command.ts';
import type { CommandContext, CommandDefinition } from '../commands/command.ts';
import type { ActionsConfig } from './config-schema.ts';
import { ACTION_NAME_PATTERN } from './config-schema.ts';
import { buildActionArgv } from './argv-template.ts';
import { UnsafeValue } from './safe-values.ts';
import { runProgram } from './run-program.ts';
import { recordActionRun } from './orphan-runs.ts';
import type { ProgramResult } from './run-program.ts';

const execParams = z.looseObject({
  action: z.string({ message: 'exec needs data.action, the name of an action in the agent config' }).regex(ACTION_NAME_PATTERN, 'action names are lower-case letters, digits, "_" or "-"'),
  args: z.record(z.string(), z.unknown()).default({}),
});

/**
 * Runs argv for a command, audit-logs it, and turns a non-zero exit into a `failed` answer.
 * `env` is the child's whole environment (childEnv): nothing of the agent's own is inherited.
 */
export async function runAudited(what: string, argv: string[], context: CommandContext, options: { cwd?: string; env: Record<string, string>; timeoutS?: number }): Promise<ProgramResult> {
  context.log.info({ audit: true, run: what, argv }, 'running program');
  // The configured timeout applies on top of the command's own: whichever comes first ends it.
  const ownTimeout = options.timeoutS ? AbortSignal.timeout(options.timeoutS * 1000) : null;
  const signal = ownTimeout ? AbortSignal.any([context.signal, ownTimeout]) : context.signal;
  let result: ProgramResult;
  let forget: (() => Promise<void>) | null = null;
  try {
    result = await runProgram({
      argv,
      cwd: options.cwd,
      env: options.env,
      signal,
      job: context.job,
      onStarted: async (pid) => {
        forget = await recordActionRun(context.stateDir, context.commandId, pid);
      },
    });
  } catch (error) {
    throw new CommandFailure('failed', `${what}: ${(error as Error).message}; check the program path in the agent config`);
  } finally {
    await (forget as (() => Promise<void>) | null)?.().catch(() => {});
  }
  context.log.info({ audit: true, run: what, exit_code: result.exit_code, signal: result.signal, duration_ms: result.duration_ms }, 'program finished');
  if (context.signal.aborted) throw context.signal.reason;
  if (ownTimeout?.aborted) throw new CommandFailure('timeout', `${what} timed out after ${options.timeoutS} s (timeout_s in the agent config)`);
  if (result.exit_code !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new CommandFailure('failed', `${what} exited with ${result.exit_code === null ? `signal ${result.signal}` : `code ${result.exit_code}`}${tail ? `: ${tail}` : ''}`);
  }
  return result;
}

export function createExecCommand(config: ActionsConfig): CommandDefinition<z.infer<typeof execParams>> {
  return {
    name: 'exec',
    permission: 'exec',
    lane: 'normal',
    params: execParams,
    async run(params, context) {
      const action = Object.hasOwn(config.actions, params.action) ? config.actions[params.action] : undefined;
      if (!action) {
        const known = Object.keys(config.actions);
        throw new CommandFailure('invalid_params', `no action "${params.action}" in this agent's config (actions:); known: ${known.join(', ') || 'none'}`);
      }
      let argv: string[];
      try {
        argv = await buildActionArgv(params.action, action, params.args);
      } catch (error) {
        if (error instanceof UnsafeValue) throw new CommandFailure('invalid_params', error.message);
        throw error;
      }
      const result = await runAudited(`action ${params.action}`, argv, context, {
        cwd: action.cwd,
        env: childEnv({ pass: action.pass_env, set: action.env }),
        timeoutS: action.timeout_s,
      });
      return { exit_code: result.exit_code, stdout: result.stdout, stderr: result.stderr, duration_ms: result.duration_ms };
    },
  };
}
