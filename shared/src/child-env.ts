// The environment of every program the agent (or the supervisor's installer) starts: an
// allowlist, never an inheritance. A child gets a small base set, the non-secret settings its
// kind of tool reads, and what its own config names; never the agent key (by name or by value)
// and never another target's or tool's secret. The agent's own environment holds the key and
// every database password named by `password_env`, so nothing is copied from it by default.

/** What every program needs to run at all: where programs are, whose it is, language, time, temp. */
const BASE_NAMES = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR'];
const BASE_PATTERNS = [/^LC_[A-Z]+$/];

/** Proxy settings: the agent's network config, needed by tools that fetch over HTTP(S). */
const PROXY_NAMES = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy'];

/**
 * Per kind of tool, the extra variables passed through from the agent's environment. These are
 * settings (where the server is, which TLS mode), never passwords: PGPASSWORD, MYSQL_PWD and the
 * like reach a database tool only as its own target's password, set by the code that runs it.
 */
export const TOOL_ENV = {
  /** exec actions, `command` backup targets, tar, `--version` probes: the base set only. */
  plain: [],
  /** pg_dump, pg_restore, psql (libpq's documented connection settings, minus PGPASSWORD). */
  postgres: [
    'PGHOST',
    'PGHOSTADDR',
    'PGPORT',
    'PGUSER',
    'PGPASSFILE',
    'PGSERVICE',
    'PGSERVICEFILE',
    'PGSYSCONFDIR',
    'PGSSLMODE',
    'PGSSLROOTCERT',
    'PGSSLCERT',
    'PGSSLKEY',
    'PGSSLCRL',
    'PGSSLCRLDIR',
    'PGSSLSNI',
    'PGREQUIRESSL',
    'PGGSSENCMODE',
    'PGKRBSRVNAME',
    'PGCONNECT_TIMEOUT',
    'PGAPPNAME',
    'PGOPTIONS',
    'PGTZ',
    'PGCLIENTENCODING',
    'PGTARGETSESSIONATTRS',
    'PGLOADBALANCEHOSTS',
  ],
  /** mariadb-dump / mysqldump / mariadb: everything comes from the option file the agent writes. */
  mysql: [],
  /** git pull: remotes over SSH (agent socket, ssh command) or HTTP(S) through the proxy. */
  git: ['SSH_AUTH_SOCK', 'GIT_SSH', 'GIT_SSH_COMMAND', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_NOSYSTEM', ...PROXY_NAMES],
  /** docker restart: which daemon and how to reach it (rootless docker lives under XDG_RUNTIME_DIR). */
  docker: ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY', 'DOCKER_API_VERSION', 'XDG_RUNTIME_DIR'],
} as const satisfies Record<string, readonly string[]>;

export type ToolKind = keyof typeof TOOL_ENV;

/** The names the agent key is read from (shared/src/config/agent-config.ts AGENT_ENV). */
export const AGENT_KEY_NAMES: readonly string[] = ['TETHER_API_KEY', 'MICROHACK_API_KEY'];

/** Names never passed through from the agent's environment, whatever a tool list says. */
const NEVER_INHERITED = [/^TETHER_/, /^MICROHACK_/, /^AWS_/];

const withheldValues = new Set<string>();

/**
 * Values no child may ever see, under any name (the agent key, wherever it was configured).
 * Called once the config is loaded; the key in the environment is withheld without it.
 */
export function withholdFromChildren(...values: Array<string | undefined>): void {
  for (const value of values) if (value) withheldValues.add(value);
}

export interface ChildEnvOptions {
  /** Which tool runs: decides the variables passed through from the agent's environment. */
  tool?: ToolKind;
  /** Names the child's own config asks to pass through from the agent's environment. */
  pass?: readonly string[];
  /** Values the child's own config sets (an action's `env:`, a target's password as PGPASSWORD). */
  set?: Readonly<Record<string, string>>;
  /** The environment to take passed-through values from; the agent's own by default. */
  parent?: NodeJS.ProcessEnv;
}

function withheld(parent: NodeJS.ProcessEnv): string[] {
  const values = [...withheldValues];
  for (const name of AGENT_KEY_NAMES) if (parent[name]) values.push(parent[name]!);
  return values;
}

/** Builds the complete environment of one child process (pass it with extendEnv: false). */
export function childEnv(options: ChildEnvOptions = {}): Record<string, string> {
  const parent = options.parent ?? process.env;
  const secrets = withheld(parent);
  const carriesSecret = (value: string) => secrets.some((secret) => value.includes(secret));
  const env: Record<string, string> = {};

  const inheritable = new Set<string>([...BASE_NAMES, ...TOOL_ENV[options.tool ?? 'plain']]);
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined || NEVER_INHERITED.some((pattern) => pattern.test(name))) continue;
    if (inheritable.has(name) || BASE_PATTERNS.some((pattern) => pattern.test(name))) env[name] = value;
  }
  // Named explicitly by the host's own config: passed even if it is a secret (the config says so),
  // except the agent key, which no child ever gets.
  for (const name of options.pass ?? []) {
    const value = parent[name];
    if (value !== undefined && !AGENT_KEY_NAMES.includes(name)) env[name] = value;
  }
  for (const [name, value] of Object.entries(options.set ?? {})) {
    if (!AGENT_KEY_NAMES.includes(name)) env[name] = value;
  }
  for (const [name, value] of Object.entries(env)) if (carriesSecret(value)) delete env[name];
  return env;
}
