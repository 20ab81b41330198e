// Command targets: an argv from the local config whose stdout is the dump.
import type { Readable } from 'node:stream';
import type { CommandTarget } from '../config-schema.ts';
import type { BackupSource } from './source.ts';
import { programOutput, runWithInput } from './child-process.ts';

export function commandSource(target: CommandTarget, signal: AbortSignal): BackupSource {
  return {
    stream: programOutput(target.argv, { env: target.env, signal }),
    extension: target.extension,
    toolVersions: {},
    cleanup: async () => {},
  };
}

export async function commandRestore(target: CommandTarget, input: Readable, signal: AbortSignal): Promise<string> {
  if (!target.restore_argv) throw new Error('this command target has no restore_argv in the agent config, so it cannot be restored by the agent');
  await runWithInput(target.restore_argv, input, { env: target.env, signal });
  return target.restore_argv[0]!;
}
