// The hub: HTTP(S) server with the admin API, the agents' HTTP fallback and their WebSocket
// endpoint (http/app.ts, on Fastify). startHub wires the store (SQLite or PostgreSQL), identity,
// limits and routing together.
import { mkdirSync, chmodSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@tether/shared/logger.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { VERSION } from '@tether/shared/version.ts';
import { describeStoreLocation, openHubStore, storeLocation } from './store/open-store.ts';
import { loadS3Settings } from './artifacts/s3-settings.ts';
import { importVerifyFiles } from './artifacts/verify-file-import.ts';
import { enforceRetentionRegularly } from './artifacts/hub-retention.ts';
import type { S3Flags } from './artifacts/s3-settings.ts';
import { loadAdminToken } from './identity/admin-token.ts';
import { loadCommandSigner } from './identity/signing-key.ts';
import { Presence } from './presence.ts';
import { HeartbeatRing } from './hosts/heartbeat-ring.ts';
import { pruneAuditRegularly } from './audit/audit-retention.ts';
import { auditCommandOutcomes } from './audit/command-outcomes.ts';
import { LocalDirectory } from './cluster/local-directory.ts';
import type { SessionDirectory } from './cluster/session-directory.ts';
import { pushGrant } from './commands/grant-push.ts';
import { cancelLocally } from './commands/cancel-command.ts';
import { BatchDispatcher } from './fleet/batch-dispatcher.ts';
import { RolloutDriver } from './rollouts/rollout-driver.ts';
import { recentRollouts } from './rollouts/rollout-view.ts';
import { ReleaseStore } from './releases/release-store.ts';
import { loadAlertSettings, webhookOrigin } from './alerts/alert-settings.ts';
import type { AlertFlags } from './alerts/alert-settings.ts';
import { AlertMonitor } from './alerts/alert-monitor.ts';
import { AlertWebhook } from './alerts/alert-webhook.ts';
import { CommandRouter } from './commands/command-router.ts';
import { SignedFrames } from './commands/signed-frames.ts';
import { buildHttpApp } from './http/app.ts';
import { HubMetrics } from './metrics/hub-metrics.ts';
import { storeOperationHistogram, timedStore } from './metrics/store-timings.ts';
import { backupStatus } from './backups/backup-status.ts';
import { CLOSE_GOING_AWAY } from './ws/close-codes.ts';
import { defaultInstallScriptCandidates } from './releases/install-script.ts';
import { defaultConsoleDirCandidates } from './console/static-files.ts';
import { resolveLimits } from './limits/hub-limits.ts';
import type { HubLimits } from './limits/hub-limits.ts';
import { ArtifactQuota } from './limits/artifact-quota.ts';
import { WindowCounter } from './limits/window-counter.ts';

export interface HubOptions {
  host?: string;
  port?: number;
  dataDir: string;
  /** The store: a SQLite file path (default <data-dir>/hub.sqlite) or a postgres:// URL (many hubs). */
  database?: string;
  /** Redis shared by hubs on one PostgreSQL store: presence, routing, one live session per key. */
  redis?: string;
  /** Key prefix in that Redis (default "tether:"). */
  redisPrefix?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  logLevel?: string;
  /** Defaults to a JSON logger on stdout that masks the admin token. */
  log?: Logger;
  heartbeatIntervalS?: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  pollIntervalS?: number;
  /** A command handed to an HTTP poll and never answered is offered again after this long. */
  httpReofferS?: number;
  /** Trusted release public keys, one per line; default <data-dir>/release-keys. */
  releaseKeysFile?: string;
  /** deploy.sh served as /install.sh; default the repository's (or one beside the bundle). */
  installScriptPath?: string;
  /** Largest artifact an agent may upload (default 64 GiB); the same as limits.artifactMaxBytes. */
  artifactMaxBytes?: number;
  /** Per-key quotas and request timeouts (limits/hub-limits.ts); unset ones keep their defaults. */
  limits?: Partial<HubLimits>;
  /** Where the console's built files are (default: the repository's console/dist). */
  consoleDir?: string;
  /** The alert webhook and its thresholds (--alert-* flags; docs/alerts.md). */
  alerts?: AlertFlags;
  /** How often this hub checks the active rollouts (default 2000 ms; tests make it shorter). */
  rolloutSweepMs?: number;
  /** S3-compatible storage that agents upload to through presigned URLs (--s3-* flags). */
  s3?: S3Flags;
}

export interface RunningHub {
  url: string;
  log: Logger;
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;
/** Rollouts in /metrics: the newest ones only, so the series stay few. */
const METRICS_ROLLOUTS = 20;

export async function startHub(options: HubOptions): Promise<RunningHub> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const limits = resolveLimits({ artifactMaxBytes: options.artifactMaxBytes, ...options.limits });

  // Before the logger: the webhook secret is masked in every line, like the admin token.
  const alertSettings = await loadAlertSettings(options.alerts ?? {}, dataDir);
  let adminTokenForMasking: string | undefined;
  const maskedSecrets = () => [...(adminTokenForMasking ? [adminTokenForMasking] : []), ...(alertSettings?.secret ? [alertSettings.secret] : [])];
  const log = options.log ?? createLogger({ name: 'tether-hub', level: options.logLevel ?? 'info', secrets: maskedSecrets });
  const location = storeLocation(options.database, dataDir);
  const storeTimings = storeOperationHistogram();
  const opened = await openHubStore(location, log, { eventsPerCommand: limits.eventsPerCommand }).catch((error: unknown) => {
    throw new Error(
      `could not open the store (${describeStoreLocation(location)}): ${(error as Error).message}; check that it is reachable and the --database value (or TETHER_HUB_DATABASE_URL) is right`,
    );
  });
  const store = timedStore(opened, storeTimings);
  let adminToken: Awaited<ReturnType<typeof loadAdminToken>>;
  let signer: Awaited<ReturnType<typeof loadCommandSigner>>;
  try {
    adminToken = await loadAdminToken(store, dataDir, log);
    signer = await loadCommandSigner(store, dataDir, log);
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  adminTokenForMasking = adminToken.known();
  await importVerifyFiles(dataDir, store, log).catch((error: Error) =>
    log.warn({ err: error.message }, 'could not move the .verify.json files of an older hub into the store; retried at the next start'),
  );

  const presence = new Presence();
  const heartbeatIntervalS = options.heartbeatIntervalS ?? 30;
  let directory: SessionDirectory;
  try {
    // ioredis is loaded only by hubs that join a cluster.
    directory = options.redis
      ? await (await import('./cluster/session-directory.ts')).ClusterDirectory.connect({ redisUrl: options.redis, prefix: options.redisPrefix, heartbeatIntervalS, presence, log })
      : new LocalDirectory(presence);
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  const heartbeats = new HeartbeatRing(store, log);
  const frames = new SignedFrames(signer);
  const router = new CommandRouter({
    store,
    presence,
    directory,
    frames,
    log,
    httpReofferMs: (options.httpReofferS ?? 120) * 1000,
    scheduledResults: new WindowCounter(limits.scheduledResultsPerHour, HOUR_MS),
    eventLineMaxChars: limits.eventLineMaxChars,
  });
  const auditPruning = pruneAuditRegularly(store, log);
  const retention = { shelf: { dataDir, store }, store, log, minKeep: limits.artifactMinKeep };
  const artifactRetention = enforceRetentionRegularly(retention);
  auditCommandOutcomes(router, store, log);
  directory.bind({
    deliver: (keyId, commandId) =>
      void router
        .deliverStored(keyId, commandId)
        .catch((error: Error) => log.warn({ key_id: keyId, command_id: commandId, err: error.message }, 'could not deliver a command routed from another hub')),
    wake: (keyId) => router.wake(keyId),
    closeKey: (keyId, code, reason) => presence.closeKey(keyId, code, reason),
    pushGrant: (keyId, permissions) => pushGrant(presence, keyId, permissions, log),
    cancel: (keyId, commandId) => {
      const transport = cancelLocally({ presence, frames, router }, keyId, commandId);
      log.info({ key_id: keyId, command_id: commandId, transport: transport ?? 'none' }, transport ? 'cancel from another hub sent' : 'cancel from another hub found no session of the key here');
    },
  });
  const dispatcher = new BatchDispatcher({ store, presence, directory, router, log });
  const releases = new ReleaseStore(dataDir);
  const rollouts = new RolloutDriver({
    store,
    presence,
    directory,
    router,
    // On this hub's disk, or published through another hub of the cluster (the store has its metadata).
    isPublished: async (version) => releases.published().some((release) => release.version === version) || (await store.listReleases()).some((release) => release.version === version),
    log,
    sweepMs: options.rolloutSweepMs,
  });
  const s3 = options.s3 ? await loadS3Settings(options.s3, dataDir) : null;
  const alerts = alertSettings ? new AlertMonitor({ store, presence, directory, settings: alertSettings, webhook: new AlertWebhook(alertSettings, log), log }) : null;
  if (alertSettings)
    log.info({ webhook: webhookOrigin(alertSettings.webhook_url), signed: alertSettings.secret !== undefined, offline_after_s: alertSettings.offline_after_s }, 'alerts go to a webhook');

  let shuttingDown = false;
  const { app, deadlines } = await buildHttpApp({
    log,
    tls: options.tlsCertFile && options.tlsKeyFile ? { certFile: options.tlsCertFile, keyFile: options.tlsKeyFile } : undefined,
    limits,
    admin: {
      store,
      directory,
      dispatcher,
      presence,
      router,
      frames,
      metrics: new HubMetrics({
        presence,
        router,
        storeTimings,
        backupTargets: async () => backupStatus(await store.listAgents(), new Date()),
        rollouts: () => recentRollouts(store, METRICS_ROLLOUTS),
        firingAlerts: () => store.listAlerts({ state: 'firing', limit: 100_000 }),
      }),
      adminToken,
      log,
    },
    agent: { store, directory, dispatcher, presence, router, signer, frames, log, heartbeats, pollIntervalS: options.pollIntervalS ?? 5, agentsPerKey: limits.agentsPerKey },
    artifacts: { store, dataDir, log, quota: new ArtifactQuota(dataDir, limits), uploadIdleTimeoutMs: limits.uploadIdleTimeoutMs, s3, retention },
    // Every agent row with its last heartbeat (its backups summary), for GET /api/backups/status.
    backups: { agentHeartbeats: () => store.listAgents() },
    rollouts: { driver: rollouts, releases },
    alerts: { enabled: alerts !== null },
    releases: {
      dataDir,
      store,
      releaseKeysFile: options.releaseKeysFile,
      installScriptCandidates: options.installScriptPath ? [options.installScriptPath] : defaultInstallScriptCandidates(),
      log,
    },
    signingKey: { signer },
    console: { dirs: options.consoleDir ? [options.consoleDir] : defaultConsoleDirCandidates(), signer },
    websocket: {
      store,
      directory,
      dispatcher,
      presence,
      router,
      signer,
      frames,
      log,
      heartbeats,
      heartbeatIntervalS,
      pingIntervalMs: options.pingIntervalMs ?? 25_000,
      pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
      agentsPerKey: limits.agentsPerKey,
      isShuttingDown: () => shuttingDown,
    },
    async closeSockets(wss) {
      for (const client of wss.clients) client.close(CLOSE_GOING_AWAY, 'hub shutting down');
      // Give the close frames a moment to leave, then drop whatever is left.
      await new Promise((done) => setTimeout(done, 200));
      for (const client of wss.clients) client.terminate();
    },
  });

  await app.listen({ port: options.port ?? 7070, host: options.host ?? '127.0.0.1' });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${options.tlsCertFile ? 'https' : 'http'}://${host}:${address.port}`;
  log.info(
    {
      url,
      data_dir: dataDir,
      store: describeStoreLocation(location),
      redis: directory.clustered ? directory.describe() : null,
      hub_id: directory.clustered ? directory.hubId : null,
      version: VERSION,
    },
    'hub listening',
  );

  return {
    url,
    log,
    async close() {
      if (shuttingDown) return;
      shuttingDown = true;
      log.info('hub shutting down');
      await app.close();
      deadlines.close();
      auditPruning.stop();
      artifactRetention.stop();
      dispatcher.close();
      rollouts.close();
      await alerts?.close();
      await directory.close().catch((error: Error) => log.warn({ err: error.message }, 'could not leave the cluster cleanly; its presence entries expire by themselves'));
      await store.close();
    },
  };
}
