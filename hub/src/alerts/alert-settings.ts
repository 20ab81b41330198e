// Where the hub sends alerts and when (docs/alerts.md). From the flags (--alert-webhook,
// --alert-webhook-secret-file, --alert-offline-after-s, --alert-check-s), else the environment
// (TETHER_ALERT_WEBHOOK_URL, TETHER_ALERT_WEBHOOK_SECRET), else <data-dir>/alerts.json (mode 0600
// when it holds the secret); each field on its own, validated with zod. No URL anywhere: alerts off.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { TetherError } from '@tether/shared/errors.ts';

export interface AlertFlags {
  alertWebhook?: string;
  alertWebhookSecretFile?: string;
  alertOfflineAfterS?: number;
  alertCheckS?: number;
}

export const ALERT_URL_ENV = 'TETHER_ALERT_WEBHOOK_URL';
export const ALERT_SECRET_ENV = 'TETHER_ALERT_WEBHOOK_SECRET';

const settingsSchema = z.strictObject({
  webhook_url: z.url({ protocol: /^https?$/, message: 'the alert webhook must be an http(s) URL such as https://alerts.example.com/tether' }),
  secret: z.string().min(16, 'the alert webhook secret must be at least 16 characters (e.g. openssl rand -hex 32)').max(1024).optional(),
  /** An agent not connected to any hub for longer than this is offline. */
  offline_after_s: z
    .number()
    .int('offline_after_s is a whole number of seconds')
    .min(1, 'offline_after_s is a whole number of seconds from 1')
    .max(30 * 86_400)
    .default(600),
  /** How often the hub looks for incidents and cleared ones. */
  check_interval_s: z.number().min(0.2, 'check_interval_s is 0.2 s or more').max(3600).default(15),
  /** Delivery attempts per notice (retried with backoff on errors, 5xx, 408 and 429). */
  max_attempts: z.number().int('max_attempts is a whole number').min(1, 'max_attempts is 1-20').max(20, 'max_attempts is 1-20').default(6),
});

export type AlertSettings = z.infer<typeof settingsSchema>;

/** The file's fields are the settings' (all optional there: flags and environment may give them). */
const fileSchema = settingsSchema.partial();

export class AlertSettingsError extends TetherError {
  override name = 'AlertSettingsError';

  constructor(message: string) {
    super('TETHER_ERR_ALERT_SETTINGS', message);
  }
}

function issues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`).join('; ');
}

async function readJsonFile(file: string, secretInside: (value: unknown) => boolean): Promise<unknown> {
  const info = await stat(file).catch(() => null);
  if (!info) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new AlertSettingsError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (secretInside(parsed) && (info.mode & 0o077) !== 0) throw new AlertSettingsError(`${file} holds the alert webhook secret and must not be readable by others: chmod 600 ${file}`);
  return parsed;
}

async function readSecretFile(file: string): Promise<string> {
  const info = await stat(file).catch(() => null);
  if (!info) throw new AlertSettingsError(`--alert-webhook-secret-file ${file} does not exist`);
  if ((info.mode & 0o077) !== 0) throw new AlertSettingsError(`${file} holds the alert webhook secret and must not be readable by others: chmod 600 ${file}`);
  return (await readFile(file, 'utf8')).trim();
}

/** null when no webhook URL is configured anywhere. */
export async function loadAlertSettings(flags: AlertFlags, dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<AlertSettings | null> {
  const file = join(dataDir, 'alerts.json');
  const raw = await readJsonFile(file, (value) => typeof value === 'object' && value !== null && 'secret' in value);
  const fromFile = fileSchema.safeParse(raw ?? {});
  if (!fromFile.success) throw new AlertSettingsError(`${file}: ${issues(fromFile.error)}`);
  const stored = fromFile.data;
  const secret = flags.alertWebhookSecretFile !== undefined ? await readSecretFile(flags.alertWebhookSecretFile) : env[ALERT_SECRET_ENV] || stored.secret;
  const merged = {
    ...stored,
    webhook_url: flags.alertWebhook ?? (env[ALERT_URL_ENV] || stored.webhook_url),
    ...(secret === undefined ? {} : { secret }),
    ...(flags.alertOfflineAfterS === undefined ? {} : { offline_after_s: flags.alertOfflineAfterS }),
    ...(flags.alertCheckS === undefined ? {} : { check_interval_s: flags.alertCheckS }),
  };
  if (merged.webhook_url === undefined) {
    if (secret !== undefined || flags.alertOfflineAfterS !== undefined)
      throw new AlertSettingsError(`alert settings without a webhook URL: give --alert-webhook URL (or ${ALERT_URL_ENV}, or webhook_url in ${file})`);
    return null;
  }
  const parsed = settingsSchema.safeParse(merged);
  // The messages name fields and rules, never the values: the secret stays out of every error.
  if (!parsed.success) throw new AlertSettingsError(`alert settings: ${issues(parsed.error)}`);
  return parsed.data;
}

/** The URL as logs may show it: scheme, host and port only (a webhook path often carries a token). */
export function webhookOrigin(url: string): string {
  return new URL(url).origin;
}
