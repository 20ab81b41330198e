// Logging: pino, JSON lines on stdout. Secrets are removed twice: by field (redact paths) and by
// value (every known secret string is masked wherever it appears, even inside a message).
import pino from 'pino';
import type { Logger, LoggerOptions } from 'pino';

export type { Logger };

const SECRET_FIELDS = [
  'api_key', 'apiKey', 'key', 'token', 'admin_token', 'adminToken', 'password', 'secret',
  'authorization', 'Authorization', 'private_key', 'privateKey', 'identity',
];

/** Field paths pino masks: the field itself, one level down, and in request headers. */
export const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
  ...SECRET_FIELDS.map((field) => `*.*.${field}`),
  'req.headers.authorization',
  'headers.authorization',
  'headers.Authorization',
];

export const MASK = '[redacted]';

export interface LoggerSettings {
  name: string;
  level?: string;
  /** Secret values to mask anywhere they appear (the agent key, the admin token). */
  secrets?: () => Iterable<string>;
  destination?: pino.DestinationStream;
}

export function maskSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 8) out = out.split(secret).join(MASK);
  }
  return out;
}

function maskDeep(value: unknown, secrets: string[], depth = 0): unknown {
  if (typeof value === 'string') return maskSecrets(value, secrets);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const copy = new Error(maskSecrets(value.message, secrets));
    copy.name = value.name;
    copy.stack = value.stack === undefined ? undefined : maskSecrets(value.stack, secrets);
    return copy;
  }
  if (Array.isArray(value)) return value.map((item) => maskDeep(item, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = maskDeep(item, secrets, depth + 1);
  return out;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    name: settings.name,
    level: settings.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: MASK },
    timestamp: pino.stdTimeFunctions.isoTime,
    base: { pid: process.pid },
  };
  // pino reads options.hooks.logMethod unguarded once `hooks` is present, so set it only with secrets.
  if (settings.secrets) {
    const secretsOf = settings.secrets;
    options.hooks = {
      logMethod(args, method) {
        const secrets = [...secretsOf()];
        const masked = args.map((arg) => maskDeep(arg, secrets)) as Parameters<typeof method>;
        return method.apply(this, masked);
      },
    };
  }
  return pino(options, settings.destination ?? pino.destination({ fd: 1, sync: true }));
}
