// The allowlists of the `exec`, `git_pull` and `docker_restart` commands. The hub only names an
// action, a repository or a container from these lists; every program and argv comes from here.
import { isAbsolute, normalize } from 'node:path';
import { z } from 'zod';
import { AGENT_KEY_NAMES } from '@tether/shared/child-env.ts';

/** A program the agent runs: an absolute path or a bare name looked up in PATH (no shell). */
const programSchema = z
  .string()
  .min(1)
  .refine((value) => isAbsolute(value) || /^[A-Za-z0-9_.+-]+$/.test(value), {
    message: 'must be an absolute path or a bare program name such as git',
  });

const absolutePathSchema = z
  .string()
  .min(1)
  .refine((value) => isAbsolute(value), { message: 'must be an absolute path such as /srv/app' })
  .refine((value) => !value.split('/').includes('..'), { message: 'must not contain ".." segments; write the real path' })
  .transform((value) => (value === '/' ? value : normalize(value).replace(/\/+$/, '')));

/** Variables set for a program: names as the shell writes them; never the agent key. */
const envSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name such as LANG'), z.string())
  .refine((env) => !Object.keys(env).some((name) => AGENT_KEY_NAMES.includes(name)), { message: 'the agent key never reaches a program; remove TETHER_API_KEY / MICROHACK_API_KEY' })
  .default({});

/** Names of the agent's own environment variables passed through to a program (default: none). */
const passEnvSchema = z
  .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name such as SSH_AUTH_SOCK'))
  .refine((names) => !names.some((name) => AGENT_KEY_NAMES.includes(name)), { message: 'the agent key never reaches a program; remove TETHER_API_KEY / MICROHACK_API_KEY' })
  .default([]);

const regexSchema = z
  .string()
  .min(1)
  .refine(
    (value) => {
      try {
        new RegExp(value);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be a valid regular expression, e.g. ^[a-z0-9_-]{1,64}$' },
  );

const actionArgSchema = z.object({
  /** The whole value must match (the pattern is anchored for you). */
  pattern: regexSchema,
  /** Absolute paths are refused unless they fall under one of these directories. */
  paths_under: z.array(absolutePathSchema).default([]),
});

export const ACTION_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const actionSchema = z
  .object({
    /** argv[0] is the program; `{name}` inside an element is replaced by the checked value of args.name. */
    argv: z.array(z.string()).min(1, 'argv needs at least the program'),
    args: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'arg names are lower-case letters, digits and "_"'), actionArgSchema).default({}),
    cwd: absolutePathSchema.optional(),
    /** The program's environment is PATH, HOME, USER, LOGNAME, LANG, LC_*, TZ, TMPDIR plus these. */
    env: envSchema,
    pass_env: passEnvSchema,
    timeout_s: z
      .number()
      .positive()
      .max(7 * 24 * 3600)
      .optional(),
  })
  .superRefine((action, context) => {
    if (!programSchema.safeParse(action.argv[0]).success) {
      context.addIssue({ code: 'custom', path: ['argv', 0], message: 'argv[0] must be an absolute path or a bare program name (no placeholders)' });
    }
    for (const [index, element] of action.argv.entries()) {
      for (const match of element.matchAll(/\{([a-z][a-z0-9_]*)\}/g)) {
        if (!(match[1]! in action.args)) context.addIssue({ code: 'custom', path: ['argv', index], message: `placeholder {${match[1]}} has no entry under args:` });
      }
    }
  });

export const actionsConfigShape = {
  /** Named programs the hub may run with `exec` (permission exec). */
  actions: z
    .record(z.string(), actionSchema)
    .superRefine((actions, context) => {
      for (const name of Object.keys(actions)) {
        if (!ACTION_NAME_PATTERN.test(name)) context.addIssue({ code: 'custom', path: [name], message: 'action names are 1-64 lower-case letters, digits, "_" or "-"' });
      }
    })
    .default({}),
  /** Repositories the hub may update with `git_pull` (permission git_pull). */
  git_pull: z
    .object({
      repositories: z.array(absolutePathSchema).default([]),
      git: programSchema.default('git'),
      remote: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a remote name such as origin')
        .default('origin'),
      timeout_s: z
        .number()
        .positive()
        .max(24 * 3600)
        .default(300),
      env: envSchema,
      pass_env: passEnvSchema,
    })
    .default({ repositories: [], git: 'git', remote: 'origin', timeout_s: 300, env: {}, pass_env: [] }),
  /** Containers the hub may restart with `docker_restart` (permission docker_restart). */
  docker_restart: z
    .object({
      containers: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/, 'a container name such as web-1')).default([]),
      docker: programSchema.default('docker'),
      timeout_s: z.number().positive().max(3600).default(120),
      env: envSchema,
      pass_env: passEnvSchema,
    })
    .default({ containers: [], docker: 'docker', timeout_s: 120, env: {}, pass_env: [] }),
};

const actionsConfigObject = z.object(actionsConfigShape);
export type ActionsConfig = z.infer<typeof actionsConfigObject>;
export type ActionConfig = z.infer<typeof actionSchema>;
