// `git_pull`: fast-forwards an allowlisted repository (git -C <repo> pull --ff-only <remote> <branch>).
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { childEnv } from '@tether/shared/child-env.ts';
import { CommandFailure } from '../commands/command.ts';
import type { CommandDefinition } from '../commands/command.ts';
import type { ActionsConfig } from './config-schema.ts';
import { checkArgvValue, UnsafeValue } from './safe-values.ts';
import { runAudited } from './exec-command.ts';

const gitPullParams = z.looseObject({
  repository_path: z.string({ message: 'git_pull needs data.repository_path, a repository listed under git_pull.repositories' }).min(1).max(4096),
  branch: z.string().min(1).max(200).optional(),
});

/** A branch name git accepts and nobody can turn into an option or a path trick. */
const BRANCH_PATTERN = /^[A-Za-z0-9._][A-Za-z0-9._/-]*$/;

export function createGitPullCommand(config: ActionsConfig): CommandDefinition<z.infer<typeof gitPullParams>> {
  return {
    name: 'git_pull',
    permission: 'git_pull',
    lane: 'normal',
    params: gitPullParams,
    defaultTimeoutS: config.git_pull.timeout_s,
    async run(params, context) {
      const settings = config.git_pull;
      let repository: string;
      let branch: string | undefined;
      try {
        const path = checkArgvValue('repository_path', params.repository_path);
        if (!isAbsolute(path)) throw new UnsafeValue('repository_path must be an absolute path');
        repository = resolve(path);
        if (!settings.repositories.includes(repository)) {
          throw new UnsafeValue(`repository ${repository} is not in this agent's allowlist (git_pull.repositories: ${settings.repositories.join(', ') || 'empty'})`);
        }
        if (params.branch !== undefined) {
          branch = checkArgvValue('branch', params.branch);
          if (!BRANCH_PATTERN.test(branch) || branch.endsWith('.lock') || branch.endsWith('/')) throw new UnsafeValue(`branch "${branch}" is not a plain branch name`);
        }
      } catch (error) {
        if (error instanceof UnsafeValue) throw new CommandFailure('invalid_params', error.message);
        throw error;
      }
      const argv = [settings.git, '-C', repository, 'pull', '--ff-only', ...(branch ? [settings.remote, branch] : [])];
      // GIT_TERMINAL_PROMPT=0: a remote asking for credentials fails instead of waiting for a tty.
      const env = childEnv({ tool: 'git', pass: settings.pass_env, set: { ...settings.env, GIT_TERMINAL_PROMPT: '0' } });
      const result = await runAudited(`git pull in ${repository}`, argv, context, { env });
      return { output: `${result.stdout}${result.stderr}`.trim() };
    },
  };
}
