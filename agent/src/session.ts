// One hub session over whatever transport is up: connected → register → registered → heartbeats;
// routes commands, cancels, acks and grant changes (the last three only when signed, once a key is
// pinned); keeps health.json and the supervisor informed.
import { HUB_MESSAGE_TYPES, hubMessageSchema, PROTOCOL_VERSION } from '@tether/shared/protocol/hub-messages.ts';
import type { ConnectedMessage, PermissionsMessage } from '@tether/shared/protocol/hub-messages.ts';
import { SIGNING_SCHEME } from '@tether/shared/protocol/signed-payloads.ts';
import { VERSION } from '@tether/shared/version.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { Transport, TransportEvents, DownInfo } from './transport/transport.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { Delivery } from './delivery.ts';
import type { Outbox } from './outbox.ts';
import type { Permissions } from './permissions.ts';
import type { CommandRegistry } from './commands/registry.ts';
import type { CommandSigning } from './signature.ts';
import type { SystemMetricsSampler } from './metrics/system-metrics.ts';
import type { HealthFile } from './health.ts';
import type { SupervisorLink } from './ipc.ts';
import { hostInfo } from './host-info.ts';

/** A micro-hack-style server may never send `connected`: register anyway after this long. */
const REGISTER_WITHOUT_CONNECTED_MS = 5000;

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
  updateOutcome?: { pending(): Record<string, unknown> | undefined; reported(): void };
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

  constructor(deps: SessionDeps) {
    this.#deps = deps;
    this.#log = deps.log;
    this.#heartbeatS = deps.defaultHeartbeatS;
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

  /** Best-effort event (job_accepted, progress, output); responses go through the outbox instead. */
  sendEvent(message: Record<string, unknown>): void {
    if (!this.#registered || !this.#transport?.isUp) return;
    this.#transport.send(message).catch((error) => this.#log.debug({ err: (error as Error).message }, 'event not sent'));
  }

  up(): void {
    this.#registered = false;
    this.#registerSent = false;
    this.#log.info({ transport: this.#transport?.name }, 'connected');
    void this.#deps.health.update({ connected: true, registered: false, since: new Date().toISOString(), transport: this.#transport?.name });
    if (this.#transport?.announcesConnected === false) {
      void this.#register(); // HTTP has no `connected`: its register answer carries the same fields
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
      case 'connected': return void this.#onConnected(message);
      case 'registered': return void this.#onRegistered(message.agent_id);
      case 'heartbeat_ack': return;
      case 'command': return void this.#deps.dispatcher().handle(message).catch((error) => this.#log.error({ err: error }, 'dispatch failed'));
      case 'cancel':
        if (!this.#deps.signing.accepts(message)) return;
        return void this.#deps.dispatcher().cancel(message.command_id);
      case 'ack':
        if (!this.#deps.signing.accepts(message)) return; // the response stays in the outbox and is re-sent
        return void this.#deps.delivery.acked(message.command_ids).catch((error) => this.#log.error({ err: error }, 'ack handling failed'));
      case 'permissions': return this.#onPermissions(message);
      case 'error': return void this.#log.warn({ hub_message: message.message }, 'hub reported an error');
    }
  }

  #handleInvalid(raw: unknown, problems: string): void {
    const record = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : null;
    const type = record?.type;
    if (typeof type === 'string' && !HUB_MESSAGE_TYPES.includes(type)) {
      this.#log.debug({ type }, 'ignored a message of unknown type');
      return;
    }
    const commandId = record?.command_id;
    if (type === 'command' && (typeof commandId === 'string' || typeof commandId === 'number') && String(commandId).length > 0 && String(commandId).length <= 200) {
      const command = typeof record?.command === 'string' ? record.command : '(none)';
      void this.#deps.dispatcher().refuseMalformed(String(commandId), command, `malformed command: ${problems}`);
      return;
    }
    this.#log.warn({ problems }, 'dropped an invalid message');
  }

  async #onConnected(message: ConnectedMessage): Promise<void> {
    this.#peerProtocol = message.protocol;
    if (message.heartbeat_interval_s) this.#heartbeatS = message.heartbeat_interval_s;
    this.#deps.permissions.setHubGrant(message.permissions);
    this.#deps.signing.onConnected(message.signing_key);
    await this.#register();
  }

  /** The hub changed this key's grant: it applies at once (still intersected with local policy). */
  #onPermissions(message: PermissionsMessage): void {
    if (!this.#deps.signing.accepts(message)) return;
    this.#deps.permissions.setHubGrant(message.permissions);
    this.#log.info({ permissions: message.permissions, effective: this.effectiveCommands() }, 'the hub changed this key\'s grant');
  }

  async #register(): Promise<void> {
    if (this.#registerSent || !this.#transport?.isUp) return;
    this.#registerSent = true;
    if (this.#registerFallback) clearTimeout(this.#registerFallback);
    const host = hostInfo();
    const data = {
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
      pending_command_ids: this.#deps.outbox.entries().map((entry) => entry.commandId),
      signing: SIGNING_SCHEME,
      update_outcome: this.#deps.updateOutcome?.pending(),
    };
    await this.#transport.send({ type: 'register', protocol: PROTOCOL_VERSION, data }).catch((error) => {
      this.#log.warn({ err: (error as Error).message }, 'register not sent');
    });
  }

  #onRegistered(agentId: string | undefined): void {
    if (this.#registered) return;
    this.#registered = true;
    this.#deps.updateOutcome?.reported();
    this.#log.info({ agent_id: agentId ?? this.#deps.agentId, heartbeat_interval_s: this.#heartbeatS, protocol: this.#peerProtocol ?? null }, 'registered');
    void this.#deps.health.update({ registered: true, heartbeat_interval_s: this.#heartbeatS });
    void this.#heartbeat();
    this.#heartbeatTimer = setInterval(() => void this.#heartbeat(), this.#heartbeatS * 1000);
    this.#deps.delivery.open(this.#peerProtocol === PROTOCOL_VERSION);
    this.#deps.supervisor.ready('registered');
  }

  async #heartbeat(): Promise<void> {
    try {
      const metrics = await this.#deps.sampler.sample();
      if (!this.#registered || !this.#transport?.isUp) return;
      const dispatcher = this.#deps.dispatcher();
      const now = new Date().toISOString();
      await this.#transport.send({
        type: 'heartbeat',
        status: { uptime: 'running', timestamp: now, uptime_s: Math.round(process.uptime()) },
        system_metrics: metrics,
        jobs: { running: dispatcher.running, queued: dispatcher.queued },
        outbox: { pending: this.#deps.outbox.size },
      });
      await this.#deps.health.update({ last_heartbeat_at: now });
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
