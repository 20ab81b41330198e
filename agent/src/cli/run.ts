// `tether-agent run`: composes the agent from its parts and runs until stopped.
import { createLogger } from '@tether/shared/logger.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { EXIT_CONFIG, EXIT_FATAL, EXIT_STOP } from '@tether/shared/exit-codes.ts';
import { VERSION } from '@tether/shared/version.ts';
import { loadConfigOrExit } from './load-config.ts';
import { configSecretValues } from '../secret-values.ts';
import { AgentStateFile, ensureStateDir } from '../state.ts';
import { openCommandLog } from '../log/open.ts';
import { Outbox } from '../outbox.ts';
import { Journal } from '../journal.ts';
import { RunningMarkers } from '../running-markers.ts';
import { Permissions } from '../permissions.ts';
import { Lanes } from '../lanes.ts';
import { CommandSigning } from '../signature.ts';
import { PinError, SigningKeyPin } from '../pins.ts';
import { PLAIN_TEXT_FIX, plainTextProblem } from '../transport/plain-text.ts';
import { agentHttpBase } from '../transport/url.ts';
import { Dispatcher } from '../dispatcher.ts';
import { Delivery } from '../delivery.ts';
import { Session } from '../session.ts';
import { HealthFile } from '../health.ts';
import { SupervisorLink } from '../ipc.ts';
import { UpdateOutcomeReport } from '../update/outcome-report.ts';
import { SystemMetricsSampler } from '../metrics/system-metrics.ts';
import { SwitchingTransport } from '../transport/switch.ts';
import { IdleReclaim } from '../memory/idle-reclaim.ts';
import { killOrphanedActionRuns } from '../actions/orphan-runs.ts';
import { createCommandRegistry } from '../commands/index.ts';
import { cleanupPartialBackups } from '../backup/cleanup.ts';
import { startScheduledBackups } from '../backup/schedule/start.ts';
import type { Transport } from '../transport/transport.ts';
import type { CommandRegistry } from '../commands/registry.ts';

/** After a restart/update response, exit once it is delivered, or after this long at most. */
const EXIT_DELIVERY_BOUND_MS = 5000;

const SKIPPED_UPDATE_REASON = 'updates are switched off on this host (update.skip, env TETHER_SKIP_UPDATE or MICROHACK_SKIP_UPDATE): the installed version stays';
/** update.skip withholds the commands that change the installed version. */
const SKIPPED_UPDATE_PERMISSIONS = { update: SKIPPED_UPDATE_REASON, redeploy: SKIPPED_UPDATE_REASON };

export async function runAgent(): Promise<void> {
  const { config, configPath } = loadConfigOrExit();
  const secrets = configSecretValues(config);
  const log = createLogger({ name: 'tether-agent', level: config.log_level, secrets: () => secrets });
  // server_url is also the base of the HTTP fallback, updates, redeploys and uploads.
  const plainText = plainTextProblem(config.server_url);
  if (plainText && !config.allow_insecure) {
    process.stderr.write(`tether-agent: refusing server_url ${new URL(config.server_url).origin}: ${plainText}. To fix: ${PLAIN_TEXT_FIX}.\n`);
    process.exit(EXIT_CONFIG);
  }
  if (plainText) log.warn({ server_url: new URL(config.server_url).origin }, `SECURITY: allow_insecure is set: ${plainText}`);
  let stateFile: AgentStateFile;
  try {
    ensureStateDir(config.state_dir);
    stateFile = new AgentStateFile(config.state_dir, log);
  } catch (error) {
    process.stderr.write(`tether-agent: cannot use state_dir ${config.state_dir}: ${(error as Error).message}. Set TETHER_STATE_DIR to a writable directory.\n`);
    process.exit(EXIT_CONFIG);
  }
  let pin: SigningKeyPin;
  try {
    pin = new SigningKeyPin({
      stateDir: config.state_dir,
      state: stateFile,
      configuredKey: config.signing.public_key,
      signingKeyUrl: `${agentHttpBase(config.server_url)}/api/agents/signing-key`,
      log,
    });
  } catch (error) {
    if (!(error instanceof PinError)) throw error;
    log.fatal({ err: error.message }, 'the pinned signing key is lost');
    process.stderr.write(`tether-agent: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const agentId = stateFile.agentId;
  log.info({ version: VERSION, agent_id: agentId, config_path: configPath, state_dir: config.state_dir }, 'starting');

  const commandLog = await openCommandLog(config.state_dir, { retentionMs: config.journal.retention_h * 3600_000, maxEntries: config.journal.max_entries }, log);
  const outbox = new Outbox(commandLog);
  const journal = new Journal(commandLog);
  const markers = new RunningMarkers(commandLog);
  const permissions = new Permissions(config.allow, config.update.skip ? SKIPPED_UPDATE_PERMISSIONS : {});
  const lanes = new Lanes({ workers: config.queue.workers, maxQueued: config.queue.max_queued });
  const signing = new CommandSigning(pin, config.api_key, log);
  const sampler = new SystemMetricsSampler();
  void sampler.sample(); // primes the CPU delta so the first heartbeat has a real cpu_percent
  const health = new HealthFile(config.state_dir, new URL(config.server_url).origin, config.heartbeat_interval_s);
  const supervisor = new SupervisorLink();
  const delivery = new Delivery(outbox, log);

  let transport: Transport | null = null;
  let stopping = false;
  let stopSchedules = (): void => {};
  const shutdown = async (code: number, why: string): Promise<never> => {
    if (!stopping) {
      stopping = true;
      log.info({ exit_code: code, why }, 'stopping');
      stopSchedules();
      reclaim.stop();
      await transport?.stop().catch(() => {});
      await delivery.idle().catch(() => {});
      commandLog.close();
      await health.update({ connected: false, registered: false });
    }
    process.exit(code);
  };

  const reclaim = new IdleReclaim();
  const pendingExits = new Map<string, number>();
  outbox.onRemoved((commandId) => {
    reclaim.activity();
    const code = pendingExits.get(commandId);
    if (code !== undefined) void shutdown(code, `response to ${commandId} delivered`);
  });

  const registry: CommandRegistry = createCommandRegistry({
    sampler,
    backup: config.backup,
    actions: { actions: config.actions, git_pull: config.git_pull, docker_restart: config.docker_restart },
    effectiveCommands: () => registry.allowedNames((permission) => permissions.allows(permission)),
  });
  let dispatcher: Dispatcher;
  const session = new Session({
    agentId,
    defaultHeartbeatS: config.heartbeat_interval_s,
    log,
    permissions,
    registry,
    signing,
    delivery,
    outbox,
    sampler,
    health,
    supervisor,
    updateOutcome: new UpdateOutcomeReport(config.state_dir),
    // The summary module (and the store it reads) loads only on hosts with backup targets.
    ...(Object.keys(config.backup.targets).length > 0 ? { backupSummary: async () => (await import('../backup/status-summary.ts')).backupSummary(config.backup, config.state_dir) } : {}),
    dispatcher: () => dispatcher,
    onFatal: (reason) => {
      log.fatal({ reason }, 'fatal: stopping for good');
      void shutdown(EXIT_FATAL, reason);
    },
  });
  dispatcher = new Dispatcher({
    config,
    stateDir: config.state_dir,
    agentId,
    log,
    registry,
    permissions,
    lanes,
    signing,
    journal,
    outbox,
    markers,
    fsyncEffectFree: config.durability.fsync_effect_free,
    sendEvent: (message) => session.sendEvent(message),
    deliver: (commandId) => delivery.flush(commandId),
    exitAfterDelivery: (code, commandId) => {
      if (!outbox.has(commandId)) return void shutdown(code, 'exit requested');
      pendingExits.set(commandId, code);
      setTimeout(() => void shutdown(code, 'exit requested; delivery not confirmed in time'), EXIT_DELIVERY_BOUND_MS).unref();
    },
  });
  killOrphanedActionRuns(config.state_dir, log);
  await dispatcher.recoverInterrupted();
  // A backup killed mid-way leaves a partial file: remove it, never publish it.
  await cleanupPartialBackups(config.backup, config.state_dir, log).catch((error: unknown) => log.warn({ err: error }, 'could not clean up partial backups'));
  // Backups made while the hub was unreachable upload once it is back (nothing loads without targets).
  const stopSpool =
    Object.keys(config.backup.targets).length > 0
      ? (await import('../backup/spool.ts')).startSpoolUploader(config.backup, config.state_dir, { serverUrl: config.server_url, apiKey: config.api_key }, log, config.backup.spool_retry_s)
      : () => {};
  const stopBackupSchedules = await startScheduledBackups({
    config: config.backup,
    stateDir: config.state_dir,
    agentId,
    log,
    report: async (commandId, response) => {
      await outbox.add(commandId, response);
      delivery.flush(commandId);
    },
  });
  stopSchedules = () => {
    stopBackupSchedules();
    stopSpool();
  };

  transport = new SwitchingTransport({
    serverUrl: config.server_url,
    apiKey: config.api_key,
    keyInQuery: config.compat.key_in_query,
    userAgent: `tether-agent/${VERSION}`,
    log,
    events: session,
    forceHttp: config.transport.force_http,
    httpFallback: config.transport.http_fallback,
    wsProbeIntervalMs: config.transport.ws_probe_interval_s * 1000,
    frameTimeoutMs: config.transport.frame_timeout_s * 1000,
    longPollWaitS: config.transport.long_poll_wait_s,
    plainPollIntervalS: config.transport.http_poll_interval_s,
    acks: signing,
    pingIntervalMs: config.keepalive.ping_interval_s * 1000,
    pongTimeoutMs: config.keepalive.pong_timeout_s * 1000,
  });
  session.attach(transport);
  delivery.attach(transport);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void shutdown(EXIT_STOP, signal));
  // The supervisor is gone (killed): stop, or a restarted supervisor would run a second agent.
  process.on('disconnect', () => void shutdown(EXIT_STOP, 'supervisor IPC channel closed'));
  installCrashLogging(log);
  transport.start();
}

function installCrashLogging(log: Logger): void {
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
}
