// The agent's configuration: defaults < YAML file (TETHER_CONFIG) < environment.
import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, describeIssues } from './config-error.ts';
import { parseYamlQuietly, YamlSyntaxError } from './yaml-errors.ts';
import { withholdFromChildren } from '../child-env.ts';

export const DEFAULT_CONFIG_PATH = '/etc/tether/agent.yaml';
export const DEFAULT_ALLOW = ['ping', 'echo', 'info', 'metrics', 'capabilities'] as const;

const serverUrlSchema = z
  .string()
  .trim()
  .refine((value) => /^(wss?|https?):\/\/[^\s/]+/i.test(value), {
    message: 'must be a URL starting with ws://, wss://, http:// or https://, e.g. wss://hub.example.com',
  });

const logLevelSchema = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
  message: 'must be one of trace, debug, info, warn, error, fatal, silent',
});

/** true/false, or what an environment variable says: 1/0, true/false, yes/no (any case, as micro-hack reads them). */
export const booleanish = z
  .preprocess((value) => (typeof value === 'string' ? value.trim().toLowerCase() : value), z.union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no', ''])]))
  .transform((value) => (typeof value === 'boolean' ? value : ['1', 'true', 'yes'].includes(value)));

export const agentConfigSchema = z.object({
  server_url: serverUrlSchema,
  /** Plain ws:// / http:// to a host that is not loopback: refused unless this is true (warned at every start). */
  allow_insecure: booleanish.default(false),
  api_key: z.string().trim().min(8, 'must be the agent key given by `tether keys create` (at least 8 characters)'),
  state_dir: z.string().min(1),
  log_level: logLevelSchema.default('info'),
  /** Local policy: the commands this host allows. The hub can narrow it, never widen it. */
  allow: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'permission names are lower-case command names')).default([...DEFAULT_ALLOW]),
  heartbeat_interval_s: z.number().positive().max(3600).default(30),
  queue: z
    .object({
      workers: z.number().int().min(1).max(64).default(2),
      max_queued: z.number().int().min(0).max(10_000).default(100),
    })
    .default({ workers: 2, max_queued: 100 }),
  /** Default per-command timeout for commands that do not set one. */
  command_timeout_s: z
    .number()
    .positive()
    .max(7 * 24 * 3600)
    .default(300),
  compat: z
    .object({
      /** Send the key as ?api_key= as well (micro-hack servers that do not read the header). */
      key_in_query: booleanish.default(false),
    })
    .default({ key_in_query: false }),
  transport: z
    .object({
      force_http: booleanish.default(false),
      ws_probe_interval_s: z.number().positive().max(3600).default(60),
    })
    .default({ force_http: false, ws_probe_interval_s: 60 }),
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;

/** Environment variables and the config keys they set. MICROHACK_* are micro-hack aliases. */
export const AGENT_ENV: ReadonlyArray<{ env: string; key: string; aliases?: string[] }> = [
  { env: 'TETHER_SERVER_URL', key: 'server_url', aliases: ['MICROHACK_SERVER_URL'] },
  { env: 'TETHER_API_KEY', key: 'api_key', aliases: ['MICROHACK_API_KEY'] },
  { env: 'TETHER_ALLOW_INSECURE', key: 'allow_insecure' },
  { env: 'TETHER_STATE_DIR', key: 'state_dir' },
  { env: 'TETHER_LOG_LEVEL', key: 'log_level' },
  { env: 'TETHER_FORCE_HTTP', key: 'transport.force_http', aliases: ['MICROHACK_FORCE_HTTP'] },
  { env: 'TETHER_HTTP_FALLBACK', key: 'transport.http_fallback', aliases: ['MICROHACK_HTTP_FALLBACK'] },
  { env: 'TETHER_HTTP_POLL_INTERVAL', key: 'transport.http_poll_interval_s', aliases: ['MICROHACK_HTTP_POLL_INTERVAL'] },
  { env: 'TETHER_SKIP_UPDATE', key: 'update.skip', aliases: ['MICROHACK_SKIP_UPDATE'] },
  { env: 'TETHER_RELEASE_KEYS', key: 'release_keys' },
  /** The pinned hub command-signing key; deploy.sh sets it in Docker containers (signing.public_key). */
  { env: 'TETHER_SIGNING_PUBLIC_KEY', key: 'signing.public_key' },
];

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/var/lib/tether';
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'tether');
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    node = (next && typeof next === 'object' ? next : (node[part] = {})) as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

export interface LoadedAgentConfig<T = AgentConfig> {
  config: T;
  /** The YAML file that was read, if any. */
  configPath: string | null;
}

/**
 * Loads and validates the agent config. Throws ConfigError with one clear line per problem.
 * `schema` lets the agent extend the base schema with its own sections (actions, backup targets).
 */
export function loadAgentConfig<T extends AgentConfig = AgentConfig>(env: NodeJS.ProcessEnv = process.env, schema: z.ZodType<T> = agentConfigSchema as unknown as z.ZodType<T>): LoadedAgentConfig<T> {
  const explicitPath = env.TETHER_CONFIG;
  const configPath = explicitPath || (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : null);
  const raw: Record<string, unknown> = {};
  const sources = new Map<string, string>();

  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read config file ${configPath} (TETHER_CONFIG): ${(error as Error).message}. Fix the path or unset TETHER_CONFIG.`);
    }
    let parsed: unknown;
    try {
      parsed = parseYamlQuietly(text);
    } catch (error) {
      if (!(error instanceof YamlSyntaxError)) throw error;
      // Positions only: the offending line may hold the key or a password.
      throw new ConfigError(`config file ${configPath} is not valid YAML:\n${error.problems.map((problem) => `  ${problem}`).join('\n')}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ConfigError(`config file ${configPath} must be a YAML mapping of keys such as server_url: and api_key:`);
      }
      Object.assign(raw, parsed);
      for (const key of Object.keys(parsed)) sources.set(key, `config file ${configPath}`);
    }
  }

  for (const { env: name, key, aliases } of AGENT_ENV) {
    const used = [name, ...(aliases ?? [])].find((candidate) => env[candidate] !== undefined && env[candidate] !== '');
    if (!used) continue;
    setPath(raw, key, env[used]);
    sources.set(key.split('.')[0]!, `env ${used}`);
  }
  if (raw.state_dir === undefined) raw.state_dir = defaultStateDir(env);

  const missing: string[] = [];
  if (raw.server_url === undefined) missing.push('  server_url: missing; set TETHER_SERVER_URL=wss://your-hub (or server_url: in the config file)');
  if (raw.api_key === undefined) missing.push('  api_key: missing; set TETHER_API_KEY to the key from `tether keys create` (or api_key: in the config file)');
  if (missing.length > 0) throw new ConfigError(`invalid agent configuration:\n${missing.join('\n')}`);

  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(`invalid agent configuration:\n${describeIssues(result.error, (field) => sources.get(field))}`);
  }
  // However it was configured (file or env), the key's value never reaches a child process.
  withholdFromChildren(result.data.api_key);
  return { config: result.data, configPath };
}
