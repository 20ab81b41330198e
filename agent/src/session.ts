// One hub session over whatever transport is up: connected → register → registered → heartbeats;
// routes commands, cancels, acks and grant changes (the last three only when signed, once a key is
// pinned); keeps health.json and the supervisor informed.
// `registered` is optional in the micro-hack protocol (its agent only logs it): with a peer that did
// not announce protocol 1 the session counts as registered once `register` is sent.
import { commandSchema, hubMessageSchema, HUB_MESSAGE_TYPES, PROTOCOL_VERSION } from '@tether/shared/protocol/hub-messages.ts';
import type { CommandMessage, ConnectedMessage, PermissionsMessage } from '@tether/shared/protocol/hub-messages.ts';
import type { HeartbeatMessage, JobEvent, RegisterMessage, UpdateOutcome } from '@tether/shared/protocol/agent-messages.ts';
import type { SystemMetrics } from '@tether/shared/protocol/metrics.ts';
import { SIGNING_SCHEME } from '@tether/shared/protocol/signed-payloads.ts';
import { VERSION } from '@tether/shared/version.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { RegistrationAnswer, Transport, TransportEvents, DownInfo } from './transport/transport.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { Delivery } from './delivery.ts';
import type { Outbox } from './outbox.ts';
import type { Permissions } from './permissions.ts';
import type { CommandRegistry } from './commands/registry.ts';
import type { CommandSigning } from './signature.ts';
import type { SystemMetricsSampler } from './metrics/system-metrics.ts';
import type { HealthFile } from './health.ts';
import type { SupervisorLink } from './ipc.ts';
import { JobEventBuffer } from './job-event-buffer.ts';
import { hostInfo } from './host-info.ts';

/** A micro-hack-style server may never send `connected`: register anyway after this long. */
const REGISTER_WITHOUT_CONNECTED_MS = 5000;
const MAX_COMMAND_ID_CHARS = 200;

export interface SessionDeps {
  agentId: string;
  defaultHeartbeatS: number;
  log: Logger;
  permissions: Permissions;
  registry: CommandRegistry;
  signing: CommandSigning;
  delivery: Delivery;
  outbox: Outbox;
  sampler: SystemMetricsSampler;
  health: HealthFile;
  supervisor: SupervisorLink;
  dispatcher: () => Dispatcher;
  onFatal(reason: string): void;
  /** The last update's outcome, sent with `register` until the hub has answered `registered`. */
  updateOutcome?: { pending(): UpdateOutcome | undefined; reported(): void };
  /** Job events kept while the link is down (job-event-buffer.ts). */
  jobEvents?: JobEventBuffer;
  /** Per-target backup state for the heartbeat ([ext] `backups`); absent on hosts without targets. */
  backupSummary?: () => Promise<HeartbeatMessage['backups']>;
}

/** What the hub says about this session, from `connected` (WebSocket) or the register answer (HTTP). */
interface HubInfo {
  protocol: number | undefined;
  permissions: string[] | null | undefined;
  signingKey: string | undefined;
  heartbeatS?: number;
}

/** The parts of an invalid frame worth reading to answer it. */
interface FrameFields {
  type?: unknown;
  command_id?: unknown;
  command?: unknown;
}

export class Session implements TransportEvents {
  #deps: SessionDeps;
  #log: Logger;
  #transport: Transport | null = null;
  #registered = false;
  #registerSent = false;
  #peerProtocol: number | undefined;
  #heartbeatS: number;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #registerFallback: NodeJS.Timeout | null = null;
  #jobEvents: JobEventBuffer;

  constructor(deps: SessionDeps) {
    this.#deps = deps;
    this.#log = deps.log;
    this.#heartbeatS = deps.defaultHeartbeatS;
    this.#jobEvents = deps.jobEvents ?? new JobEventBuffer();
  }

  attach(transport: Transport): void {
    this.#transport = transport;
  }

  get registered(): boolean {
    return this.#registered;
  }

  /** The effective command set: known commands that local policy and the hub's grant allow. */
  effectiveCommands(): string[] {
    return this.#deps.registry.allowedNames((permission) => this.#deps.permissions.allows(permission));
  }

  /** A job event: sent now when the session is up, else kept (bounded) and sent after the next registration. */
  sendEvent(event: JobEvent): void {
    if (!this.#registered || !this.#transport?.isUp || this.#jobEvents.size > 0) {
      this.#jobEvents.add(event);
      return;
    }
    this.#sendEventNow(this.#transport, event);
  }

  up(): void {
    this.#registered = false;
    this.#registerSent = false;
    this.#peerProtocol = undefined;
    this.#log.info({ transport: this.#transport?.name }, 'connected');
    void this.#deps.health.update({ connected: true, registered: false, since: new Date().toISOString(), transport: this.#transport?.name });
    if (this.#transport?.announcesConnected === false) {
      void this.#register(); // HTTP has no `connected`: the register answer says the same
      return;
    }
    this.#registerFallback = setTimeout(() => {
      if (!this.#registerSent) {
        this.#log.info('no `connected` message from the server: registering anyway');
        void this.#register();
      }
    }, REGISTER_WITHOUT_CONNECTED_MS);
  }

  down(info: DownInfo): void {
    this.#registered = false;
    this.#stopTimers();
    this.#deps.delivery.close();
    this.#log.info({ code: info.code, reason: info.reason }, 'disconnected');
    void this.#deps.health.update({ connected: false, registered: false, since: new Date().toISOString() });
  }

  attemptFailed(reason: string): void {
    this.#log.debug({ reason }, 'connection attempt failed');
    this.#deps.supervisor.ready('hub unreachable; transport loop running');
  }

  fatal(reason: string): void {
    this.#stopTimers();
    this.#deps.onFatal(reason);
  }

  message(raw: unknown): void {
    const parsed = hubMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.#handleInvalid(raw, parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case 'connected':
        return void this.#onConnected(message);
      case 'registered':
        return void this.#onRegistered(message.agent_id);
      case 'heartbeat_ack':
        return;
      case 'command':
        return this.#dispatch(message);
      case 'cancel':
        if (!this.#deps.signing.accepts(message)) return;
        return void this.#deps.dispatcher().cancel(message.command_id);
      case 'ack':
        if (!this.#deps.signing.accepts(message)) return; // the response stays in the outbox and is re-sent
        return void this.#deps.delivery.acked(message.command_ids).catch((error) => this.#log.error({ err: error }, 'ack handling failed'));
      case 'permissions':
        return this.#onPermissions(message);
      case 'error':
        return void this.#log.warn({ hub_message: message.message }, 'hub reported an error');
    }
  }

  /** One command of an HTTP poll answer: validated like a WebSocket `command` frame. */
  command(entry: unknown): void {
    const parsed = commandSchema.safeParse(entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? { ...entry, type: 'command' } : entry);
    if (parsed.success) this.#dispatch(parsed.data);
    else this.#handleInvalid({ ...(entry as FrameFields), type: 'command' }, parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  }

  #dispatch(message: CommandMessage): void {
    this.#deps
      .dispatcher()
      .handle(message)
      .catch((error) => this.#log.error({ err: error }, 'dispatch failed'));
  }

  #handleInvalid(raw: unknown, problems: string): void {
    const fields: FrameFields | null = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as FrameFields) : null;
    const type = fields?.type;
    if (typeof type === 'string' && !HUB_MESSAGE_TYPES.includes(type)) {
      this.#log.debug({ type }, 'ignored a message of unknown type');
      return;
    }
    const commandId = fields?.command_id;
    if (type === 'command' && (typeof commandId === 'string' || typeof commandId === 'number') && String(commandId).length > 0 && String(commandId).length <= MAX_COMMAND_ID_CHARS) {
      const command = typeof fields?.command === 'string' ? fields.command : '(none)';
      void this.#deps.dispatcher().refuseMalformed(String(commandId), command, `malformed command: ${problems}`);
      return;
    }
    this.#log.warn({ problems }, 'dropped an invalid message');
  }

  async #onConnected(message: ConnectedMessage): Promise<void> {
    this.#applyHubInfo({ protocol: message.protocol, permissions: message.permissions, signingKey: message.signing_key, heartbeatS: message.heartbeat_interval_s });
    await this.#register();
  }

  #applyHubInfo(info: HubInfo): void {
    this.#peerProtocol = info.protocol;
    if (info.heartbeatS) this.#heartbeatS = info.heartbeatS;
    this.#deps.permissions.setHubGrant(info.permissions);
    this.#deps.signing.onConnected(info.signingKey);
  }

  /** The hub changed this key's grant: it applies at once (still intersected with local policy). */
  #onPermissions(message: PermissionsMessage): void {
    if (!this.#deps.signing.accepts(message)) return;
    this.#deps.permissions.setHubGrant(message.permissions);
    this.#log.info({ permissions: message.permissions, effective: this.effectiveCommands() }, "the hub changed this key's grant");
  }

  #registerMessage(): RegisterMessage {
    const host = hostInfo();
    return {
      type: 'register',
      protocol: PROTOCOL_VERSION,
      data: {
        agent_id: this.#deps.agentId,
        hostname: host.hostname,
        ip: host.ip,
        version: VERSION,
        os: host.os,
        capabilities: this.effectiveCommands(),
        is_docker: host.is_docker,
        is_root: host.is_root,
        protocol: PROTOCOL_VERSION,
        platform: host.platform,
        arch: host.arch,
        runtime: host.runtime,
        supervised: host.supervised,
        transports: ['websocket', 'http_polling'],
        pending_command_ids: this.#deps.outbox.ids(),
        signing: SIGNING_SCHEME,
        update_outcome: this.#deps.updateOutcome?.pending(),
      },
    };
  }

  async #register(): Promise<void> {
    const transport = this.#transport;
    if (this.#registerSent || !transport?.isUp) return;
    this.#registerSent = true;
    if (this.#registerFallback) clearTimeout(this.#registerFallback);
    let result;
    try {
      result = await transport.send(this.#registerMessage());
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'register not sent');
      return;
    }
    if (result.kind === 'registered') {
      this.#applyRegistrationAnswer(result.answer);
      this.#onRegistered(result.answer.agentId);
    } else if (this.#peerProtocol !== PROTOCOL_VERSION) {
      this.#onRegistered(undefined); // micro-hack: `registered` is optional
    }
  }

  #applyRegistrationAnswer(answer: RegistrationAnswer): void {
    this.#applyHubInfo({ protocol: answer.protocol, permissions: answer.permissions, signingKey: answer.signingKey });
  }

  #onRegistered(agentId: string | undefined): void {
    if (this.#registered || !this.#transport?.isUp) return;
    this.#registered = true;
    this.#deps.updateOutcome?.reported();
    this.#log.info({ agent_id: agentId ?? this.#deps.agentId, heartbeat_interval_s: this.#heartbeatS, protocol: this.#peerProtocol ?? null }, 'registered');
    void this.#deps.health.update({ registered: true, heartbeat_interval_s: this.#heartbeatS });
    void this.#heartbeat();
    this.#heartbeatTimer = setInterval(() => void this.#heartbeat(), this.#heartbeatS * 1000);
    // Job events kept during the drop go first: they belong before the responses that end their jobs.
    this.#flushJobEvents();
    this.#deps.delivery.open(this.#peerProtocol === PROTOCOL_VERSION);
    this.#deps.supervisor.ready('registered');
  }

  #flushJobEvents(): void {
    const transport = this.#transport;
    if (!transport) return;
    for (const event of this.#jobEvents.drain()) this.#sendEventNow(transport, event);
  }

  #sendEventNow(transport: Transport, event: JobEvent): void {
    transport.send(event).then(
      (result) => {
        if (result.kind === 'skipped') this.#log.debug({ reason: result.reason, type: event.type }, 'job event not wanted by this server');
      },
      (error: unknown) => {
        // Kept for the next link, like the events made while it is down.
        this.#log.debug({ err: (error as Error).message }, 'job event not sent; kept for the next link');
        this.#jobEvents.add(event);
      },
    );
  }

  #heartbeatMessage(metrics: SystemMetrics, backups: HeartbeatMessage['backups']): HeartbeatMessage {
    const dispatcher = this.#deps.dispatcher();
    return {
      type: 'heartbeat',
      status: { uptime: 'running', timestamp: new Date().toISOString(), uptime_s: Math.round(process.uptime()) },
      system_metrics: metrics,
      jobs: { running: dispatcher.running, queued: dispatcher.queued },
      outbox: { pending: this.#deps.outbox.size },
      // Only to peers that speak the extensions (a micro-hack hub never needs it).
      ...(backups && this.#peerProtocol ? { backups } : {}),
    };
  }

  async #heartbeat(): Promise<void> {
    try {
      const metrics = await this.#deps.sampler.sample();
      const backups = await this.#deps.backupSummary?.().catch((error: Error) => {
        this.#log.warn({ err: error.message }, 'backup summary not available for this heartbeat');
        return undefined;
      });
      const transport = this.#transport;
      if (!this.#registered || !transport?.isUp) return;
      const message = this.#heartbeatMessage(metrics, backups);
      await transport.send(message);
      await this.#deps.health.update({ last_heartbeat_at: message.status?.timestamp });
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'heartbeat not sent');
    }
  }

  #stopTimers(): void {
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    if (this.#registerFallback) clearTimeout(this.#registerFallback);
    this.#heartbeatTimer = null;
    this.#registerFallback = null;
  }
}
