// `tether hub`: run the control server.
import type { Command } from 'commander';
import { runHub } from '../main.ts';
import { parsePort } from './parse-args.ts';
import { UsageError } from './usage-error.ts';
import { addLimitOptions, limitsFromOptions } from '../limits/limit-options.ts';
import { DATABASE_ENV, parseDatabaseOption } from '../store/database-option.ts';
import { REDIS_ENV, REDIS_PREFIX_ENV, parseRedisOptions } from '../cluster/redis-option.ts';
import { ALERT_SECRET_ENV, ALERT_URL_ENV } from '../alerts/alert-settings.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function addHubCommand(program: Command): Command {
  const hub = program
    .command('hub')
    .description('run the tether hub (control server agents connect to)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '7070')
    .option('--data-dir <dir>', 'where the database, admin token and signing key live', './tether-data')
    .option('--database <location>', `the store: a SQLite file (default <data-dir>/hub.sqlite) or postgres://user@host:5432/db to run several hubs on one database (env ${DATABASE_ENV})`)
    .option('--redis <url>', `redis://host:6379: hubs on one PostgreSQL database share presence and routing through it (env ${REDIS_ENV})`)
    .option('--redis-prefix <prefix>', `prefix of the hub's Redis keys (default tether:; env ${REDIS_PREFIX_ENV})`)
    .option('--heartbeat-interval-s <seconds>', 'how often agents heartbeat; with --redis, presence lasts one interval plus 10 s', '30')
    .option('--tls-cert <file>', 'TLS certificate (PEM); serve https/wss')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'info')
    .option('--http-reoffer-s <seconds>', 'offer an unanswered polled command again after this long', '120')
    .option('--release-keys <file>', 'trusted release public keys, one per line (default <data-dir>/release-keys)')
    .option('--console-dir <dir>', "the operator console's built files (default: the repository's console/dist, made by `npm run build:console`)")
    .option('--s3-bucket <bucket>', 'S3 bucket agents upload backups to through presigned URLs (credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or <data-dir>/s3.json)')
    .option('--s3-endpoint <url>', 'S3-compatible endpoint (default https://s3.<region>.amazonaws.com)')
    .option('--s3-region <region>', 'S3 region (default us-east-1)')
    .option('--alert-webhook <url>', `POST alerts (host offline, rollout halted, backup stale) and recovery notices to this URL (env ${ALERT_URL_ENV}, or webhook_url in <data-dir>/alerts.json)`)
    .option('--alert-webhook-secret-file <file>', `sign each notice with HMAC-SHA256 using the secret in this file, mode 0600 (or env ${ALERT_SECRET_ENV}, or secret in <data-dir>/alerts.json)`)
    .option('--alert-offline-after-s <seconds>', 'a host not connected for longer than this is offline (default 600)')
    .option('--alert-check-s <seconds>', 'how often the hub looks for incidents and cleared ones (default 15)');
  return addLimitOptions(hub).action(
    async (
      options: {
        host: string;
        port: string;
        dataDir: string;
        database?: string;
        redis?: string;
        redisPrefix?: string;
        heartbeatIntervalS: string;
        tlsCert?: string;
        tlsKey?: string;
        logLevel: string;
        httpReofferS: string;
        releaseKeys?: string;
        consoleDir?: string;
        s3Bucket?: string;
        s3Endpoint?: string;
        s3Region?: string;
        alertWebhook?: string;
        alertWebhookSecretFile?: string;
        alertOfflineAfterS?: string;
        alertCheckS?: string;
      } & Record<string, unknown>,
    ) => {
      if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together: give both or neither');
      if (!LOG_LEVELS.includes(options.logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      const reoffer = Number(options.httpReofferS);
      if (!Number.isFinite(reoffer) || reoffer <= 0) throw new UsageError('--http-reoffer-s must be a positive number of seconds');
      const database = parseDatabaseOption(options.database, process.env, options.dataDir);
      if (!database.ok) throw new UsageError(database.error);
      const redis = parseRedisOptions({ redis: options.redis, redisPrefix: options.redisPrefix }, process.env, database.location.engine);
      if (!redis.ok) throw new UsageError(redis.error);
      const heartbeat = Number(options.heartbeatIntervalS);
      if (!Number.isInteger(heartbeat) || heartbeat < 1 || heartbeat > 3600) throw new UsageError('--heartbeat-interval-s must be a whole number of seconds from 1 to 3600');
      const alertNumber = (text: string | undefined, flag: string) => {
        if (text === undefined) return undefined;
        const value = Number(text);
        if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${flag} must be a positive number of seconds`);
        return value;
      };
      const alerts = {
        alertWebhook: options.alertWebhook,
        alertWebhookSecretFile: options.alertWebhookSecretFile,
        alertOfflineAfterS: alertNumber(options.alertOfflineAfterS, '--alert-offline-after-s'),
        alertCheckS: alertNumber(options.alertCheckS, '--alert-check-s'),
      };
      await runHub({
        host: options.host,
        port: parsePort(options.port),
        dataDir: options.dataDir,
        database: database.value,
        redis: redis.url,
        redisPrefix: redis.prefix,
        heartbeatIntervalS: heartbeat,
        tlsCertFile: options.tlsCert,
        tlsKeyFile: options.tlsKey,
        logLevel: options.logLevel,
        httpReofferS: reoffer,
        releaseKeysFile: options.releaseKeys,
        consoleDir: options.consoleDir,
        limits: limitsFromOptions(options),
        alerts,
        s3: options.s3Bucket || options.s3Endpoint || options.s3Region ? { s3Bucket: options.s3Bucket, s3Endpoint: options.s3Endpoint, s3Region: options.s3Region } : undefined,
      });
    },
  );
}
