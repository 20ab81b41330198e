// Live data over server-sent events: the connected agents (GET /api/agents/connected/events) and
// one command's job events and result (GET /api/commands/<id>/events). EventSource sends the
// session cookie (same origin) and reconnects by itself.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import type { ConnectedAgentView, HostView } from './api.ts';

/** The connected agents, or null until the first event has arrived. */
export function useConnectedAgents(): ConnectedAgentView[] | null {
  const [agents, setAgents] = useState<ConnectedAgentView[] | null>(null);
  useEffect(() => {
    const source = new EventSource('/api/agents/connected/events');
    source.addEventListener('agents', (event) => setAgents((JSON.parse((event as MessageEvent<string>).data) as { agents: ConnectedAgentView[] }).agents));
    // The stream ends when the session does; asking the hub routes a 401 to the sign-in page.
    const recheck = () => void api('GET', '/api/console/session').catch(() => undefined);
    source.addEventListener('expired', () => {
      source.close();
      recheck();
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) recheck();
    });
    return () => source.close();
  }, []);
  return agents;
}

export interface JobEvent {
  type: string;
  line?: string;
  stream?: string;
  progress?: number;
  message?: string;
}

export interface CommandStream {
  events: JobEvent[];
  result: { status: string; result: unknown } | null;
}

export function useCommandStream(commandId: string | null): CommandStream {
  const [stream, setStream] = useState<CommandStream>({ events: [], result: null });
  useEffect(() => {
    setStream({ events: [], result: null });
    if (!commandId) return;
    const source = new EventSource(`/api/commands/${encodeURIComponent(commandId)}/events`);
    const onJob = (type: string) => (event: Event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as Omit<JobEvent, 'type'>;
      setStream((before) => ({ ...before, events: [...before.events, { type, ...data }] }));
    };
    for (const type of ['job_accepted', 'job_progress', 'job_output']) source.addEventListener(type, onJob(type));
    source.addEventListener('result', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as { status: string; result: unknown };
      setStream((before) => ({ ...before, result: data }));
      source.close();
    });
    return () => source.close();
  }, [commandId]);
  return stream;
}

const HOSTS_REFRESH_MS = 10_000;

/**
 * Every host with its state (GET /api/hosts), fetched again whenever the connected agents change
 * (the live stream) and every 10 s (a heartbeat that stops coming turns a host stale).
 */
export function useHosts(): { hosts: HostView[] | null; agents: ConnectedAgentView[] | null } {
  const agents = useConnectedAgents();
  const [hosts, setHosts] = useState<HostView[] | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), HOSTS_REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => {
    let current = true;
    api<{ hosts: HostView[] }>('GET', '/api/hosts').then(
      (answer) => current && setHosts(answer.hosts),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [agents, tick]);
  return { hosts, agents };
}
