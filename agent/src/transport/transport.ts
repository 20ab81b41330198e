// The narrow interface every transport (WebSocket, HTTP long poll, the switch between them) offers the session.

export interface DownInfo {
  code: number;
  reason: string;
}

export interface TransportEvents {
  /** The link is open; the session starts its handshake. */
  up(): void;
  /** The link dropped; the transport reconnects on its own unless it was stopped. */
  down(info: DownInfo): void;
  /** One inbound message, already parsed from JSON (not yet validated). */
  message(message: unknown): void;
  /** A connection attempt failed before the link came up (used for supervisor readiness). */
  attemptFailed(reason: string): void;
  /** The hub told us to stop for good (close 4002): the agent exits 99. */
  fatal(reason: string): void;
}

export interface Transport {
  readonly name: string;
  /**
   * True when the peer opens with a `connected` message (WebSocket). The HTTP transport has no
   * such message: the session registers at once, and the transport answers `connected` and
   * `registered` from the register call's answer.
   */
  readonly announcesConnected?: boolean;
  readonly isUp: boolean;
  start(): void;
  /** Resolves once the message was handed to the OS (socket write completed). */
  send(message: object): Promise<void>;
  /** Closes the link for good (code 1000) and stops reconnecting. */
  stop(): Promise<void>;
}
