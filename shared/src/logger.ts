// Logging: pino, JSON lines on stdout. Secrets are removed by field (pino redact paths, then any
// secret-named field at any depth), by pattern (URL passwords, ?api_key=, NAME=value secrets) and
// by value (every known secret, and the values of the process's own secret-named environment
// variables, wherever they appear, even inside a message). The rules live in redact.ts.
import pino from 'pino';
import type { Logger, LoggerOptions } from 'pino';
import { MASK, maskDeep, secretValuesInEnv } from './redact.ts';
import { escapeRawInJson } from './terminal-text.ts';

export type { Logger };

const SECRET_FIELDS = ['api_key', 'apiKey', 'key', 'token', 'admin_token', 'adminToken', 'password', 'secret', 'authorization', 'Authorization', 'private_key', 'privateKey', 'identity'];

/** Field paths pino masks: the field itself, one level down, and in request headers. */
export const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
  ...SECRET_FIELDS.map((field) => `*.*.${field}`),
  'req.headers.authorization',
  'headers.authorization',
  'headers.Authorization',
];

export { MASK };

export interface LoggerSettings {
  name: string;
  level?: string;
  /** Secret values to mask anywhere they appear (the agent key, the admin token, database passwords). */
  secrets?: () => Iterable<string>;
  destination?: pino.DestinationStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    name: settings.name,
    level: settings.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: MASK },
    timestamp: pino.stdTimeFunctions.isoTime,
    base: { pid: process.pid },
  };
  const fromEnv = secretValuesInEnv(process.env);
  const secretsOf = settings.secrets;
  options.hooks = {
    logMethod(args, method) {
      const secrets = secretsOf ? [...fromEnv, ...secretsOf()] : fromEnv;
      // pino escapes C0 controls itself; C1 and bidi characters (an agent's hostname) it leaves raw.
      const masked = args.map((arg) => maskDeep(arg, { secrets, afterMasking: escapeRawInJson })) as Parameters<typeof method>;
      return method.apply(this, masked);
    },
  };
  return pino(options, settings.destination ?? pino.destination({ fd: 1, sync: true }));
}
