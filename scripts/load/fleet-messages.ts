// IPC between the load tool and its fleet workers.
export interface AgentSpec {
  keyId: string;
  key: string;
  agentId: string;
  localAddress: string;
}

export type WorkerCommand = { type: 'start'; wsUrl: string; agents: AgentSpec[] } | { type: 'stop' };

export interface FleetStatus {
  type: 'status';
  /** Registered right now. */
  registered: number;
  /** Registered at least once. */
  everRegistered: number;
  answered: number;
  /** Registrations so far, reconnects included. */
  connects: number;
  fatal: number;
  fatalReason: string | null;
}

export type WorkerReport = FleetStatus | { type: 'ready' };
