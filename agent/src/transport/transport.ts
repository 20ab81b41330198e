// The narrow interface every transport (WebSocket, HTTP long poll, the switch between them) offers the session.
import type { AgentMessage } from '@tether/shared/protocol/agent-messages.ts';

export type TransportName = 'websocket' | 'http_polling';

export interface DownInfo {
  code: number;
  reason: string;
}

export interface TransportEvents {
  /** The link is open; the session starts its handshake. */
  up(): void;
  /** The link dropped; the transport reconnects on its own unless it was stopped. */
  down(info: DownInfo): void;
  /** One inbound WebSocket frame, already parsed from JSON (not yet validated). */
  message(message: unknown): void;
  /** One entry of an HTTP poll answer's `commands` (not yet validated). */
  command(entry: unknown): void;
  /** A connection attempt failed before the link came up (used for supervisor readiness). */
  attemptFailed(reason: string): void;
  /** The hub told us to stop for good (close 4002): the agent exits 99. */
  fatal(reason: string): void;
}

/** What the hub answered an HTTP registration (a WebSocket hub says it with `connected` / `registered`). */
export interface RegistrationAnswer {
  agentId?: string;
  /** null or absent: no restriction from the hub. */
  permissions?: string[] | null;
  protocol?: number;
  signingKey?: string;
}

/** What became of a sent message. */
export type SendResult =
  /** Handed to the socket; a protocol-1 hub acks a response later with an `ack` frame. */
  | { kind: 'written' }
  /** The hub answered that it has stored it (HTTP 2xx to a result). */
  | { kind: 'acked' }
  /** The hub's answer to an HTTP registration. */
  | { kind: 'registered'; answer: RegistrationAnswer }
  /** Not sent, and never will be: the peer has no place for it (it said why). */
  | { kind: 'skipped'; reason: string };

export interface Transport {
  readonly name: TransportName;
  /**
   * True when the peer opens with `connected` and answers with frames (WebSocket). False when each
   * HTTP answer says it instead: the session registers at once and reads the answer.
   */
  readonly announcesConnected: boolean;
  readonly isUp: boolean;
  start(): void;
  /** Resolves once the message was handed to the OS (WebSocket) or answered (HTTP). */
  send(message: AgentMessage): Promise<SendResult>;
  /** Closes the link for good (code 1000) and stops reconnecting. */
  stop(): Promise<void>;
}
