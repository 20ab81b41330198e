// A scripted micro-hack agent: ?api_key= in the URL, naive timestamps, no `protocol`,
// only register / heartbeat / response. It answers ping and echo like micro-hack does.
import { TestSocket, naiveTimestamp } from './hub-process.ts';

export function microHackRegisterData(agentId: string): Record<string, unknown> {
  return { agent_id: agentId, hostname: 'mh-host', ip: '10.0.0.5', version: '1.4.0', os: 'Linux 6.1', capabilities: ['ping', 'echo', 'info'], is_docker: false, is_root: false };
}

export function microHackAnswer(command: { command_id: string; command: string; data?: any }): Record<string, unknown> {
  if (command.command === 'ping') return { type: 'response', command_id: command.command_id, success: true, data: { message: 'pong', timestamp: naiveTimestamp() } };
  if (command.command === 'echo') return { type: 'response', command_id: command.command_id, success: true, data: { echo: command.data?.message, timestamp: naiveTimestamp() } };
  return { type: 'response', command_id: command.command_id, success: false, data: {}, error: `Unknown command: ${command.command}` };
}

export async function connectMicroHackWs(wsUrl: string, key: string, agentId: string): Promise<TestSocket> {
  const socket = new TestSocket(`${wsUrl}?api_key=${encodeURIComponent(key)}`);
  await socket.opened;
  await socket.next('connected');
  socket.send({ type: 'register', data: microHackRegisterData(agentId) });
  await socket.next('registered');
  socket.send({
    type: 'heartbeat',
    status: { uptime: 'running', timestamp: naiveTimestamp() },
    system_metrics: {
      cpu_percent: 3.5,
      cpu_count: 2,
      memory_percent: 40,
      memory_used_gb: 1.2,
      memory_total_gb: 4,
      disk_percent: 50,
      disk_used_gb: 10,
      disk_total_gb: 20,
      net_bytes_sent: 1,
      net_bytes_recv: 2,
      load_1min: 0.1,
    },
  });
  // Answer every command, micro-hack style.
  socket.ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.type === 'command') socket.send(microHackAnswer(frame));
  });
  return socket;
}
