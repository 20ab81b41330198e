// A scripted WebSocket server for agent tests: either a protocol-1 hub (connected with protocol 1,
// acks responses) or a micro-hack-style server (no protocol, no acks, optionally no `registered`).
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { hashSecret, signEd25519 } from '@tether/shared/crypto.ts';
import { ackPayload, commandPayload } from '@tether/shared/protocol/signed-payloads.ts';
import { TEST_API_KEY } from './agent-process.ts';

export interface FakeHubOptions {
  /** 'tether' sends protocol 1 and acks; 'microhack' does neither. */
  style?: 'tether' | 'microhack';
  permissions?: string[] | null;
  signingKey?: string;
  /** With signingKey: acks are signed (scheme 2) for `agentApiKey`, and signCommand() works. */
  signingPrivateKeyPem?: string;
  /** The key the agent under test holds (default TEST_API_KEY). */
  agentApiKey?: string;
  agentKeyId?: string;
  heartbeatIntervalS?: number;
  /** Answer the upgrade with this HTTP status instead of accepting. */
  rejectWithStatus?: number;
  /** Never answer WebSocket pings (a dead peer behind a live TCP connection). */
  noPong?: boolean;
  /** Do not ack responses (a tether hub that stalls). */
  withholdAcks?: boolean;
  /** Answer `register` with `registered` (default true; a bare micro-hack server may not). */
  sendRegistered?: boolean;
}

export interface ReceivedMessage {
  connection: number;
  message: Record<string, any>;
}

export class FakeHub {
  readonly options: FakeHubOptions;
  readonly received: ReceivedMessage[] = [];
  readonly upgradeRequests: IncomingMessage[] = [];
  /** Plain HTTP requests (not upgrades), e.g. the agent probing for HTTP polling. */
  readonly plainRequests: IncomingMessage[] = [];
  readonly sockets: WebSocket[] = [];
  #server: Server;
  #wss: WebSocketServer;
  url = '';

  constructor(options: FakeHubOptions = {}) {
    this.options = options;
    this.#server = createServer((req, res) => {
      this.plainRequests.push(req);
      res.writeHead(404);
      res.end();
    });
    this.#wss = new WebSocketServer({ noServer: true, autoPong: !options.noPong });
    this.#server.on('upgrade', (req, socket, head) => {
      this.upgradeRequests.push(req);
      if (this.options.rejectWithStatus) {
        socket.end(`HTTP/1.1 ${this.options.rejectWithStatus} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `ws://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** WebSocket pings received from agents. */
  pings = 0;

  get connectionCount(): number {
    return this.sockets.length;
  }

  get current(): WebSocket | undefined {
    return this.sockets.at(-1);
  }

  #accept(ws: WebSocket): void {
    const connection = this.sockets.length + 1;
    this.sockets.push(ws);
    const tether = (this.options.style ?? 'tether') === 'tether';
    ws.on('ping', () => {
      this.pings += 1;
    });
    ws.on('message', (data) => {
      let message: Record<string, any>;
      try {
        message = JSON.parse(String(data));
      } catch {
        return;
      }
      this.received.push({ connection, message });
      if (message.type === 'register' && this.options.sendRegistered !== false) ws.send(JSON.stringify({ type: 'registered', agent_id: message.data?.agent_id }));
      if (message.type === 'heartbeat') ws.send(JSON.stringify({ type: 'heartbeat_ack' }));
      if (message.type === 'response' && tether && !this.options.withholdAcks) ws.send(JSON.stringify(this.ack([message.command_id])));
    });
    const connected: Record<string, unknown> = { type: 'connected', message: 'welcome', agent_key_id: this.options.agentKeyId ?? 'key-1', timestamp: new Date().toISOString() };
    if (this.options.permissions !== undefined) connected.permissions = this.options.permissions;
    if (tether) {
      connected.protocol = 1;
      connected.session_id = `session-${connection}`;
      if (this.options.heartbeatIntervalS) connected.heartbeat_interval_s = this.options.heartbeatIntervalS;
      if (this.options.signingKey) connected.signing_key = this.options.signingKey;
    }
    ws.send(JSON.stringify(connected));
  }

  /** An ack frame: signed (scheme 2) when the hub has a private key. */
  ack(commandIds: string[]): Record<string, unknown> {
    if (!this.options.signingPrivateKeyPem) return { type: 'ack', command_ids: commandIds };
    const timestamp = new Date().toISOString();
    return { type: 'ack', command_ids: commandIds, timestamp, signature: signEd25519(this.options.signingPrivateKeyPem, ackPayload({ command_ids: commandIds, timestamp }, this.#keySha256())) };
  }

  /** A command frame signed (scheme 2) for the agent's key. */
  signCommand(command: { command_id: string; command: string; data?: unknown; timestamp?: string; deadline?: string; timeout_s?: number }): Record<string, unknown> {
    if (!this.options.signingPrivateKeyPem) throw new Error('FakeHub has no signingPrivateKeyPem');
    const timestamp = command.timestamp ?? new Date().toISOString();
    return { type: 'command', ...command, timestamp, signature: signEd25519(this.options.signingPrivateKeyPem, commandPayload({ ...command, timestamp }, this.#keySha256())) };
  }

  #keySha256(): string {
    return hashSecret(this.options.agentApiKey ?? TEST_API_KEY);
  }

  send(message: unknown): void {
    const ws = this.current;
    if (!ws || ws.readyState !== WebSocket.OPEN) throw new Error('no agent connected');
    ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  messages(type?: string): Record<string, any>[] {
    return this.received.filter((entry) => !type || entry.message.type === type).map((entry) => entry.message);
  }

  responsesFor(commandId: string): Record<string, any>[] {
    return this.messages('response').filter((message) => message.command_id === commandId);
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
