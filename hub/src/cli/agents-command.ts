// `tether agents`: the agents connected right now.
import type { Command } from 'commander';
import type { ConnectedAgentView } from '@tether/shared/protocol/admin-views.ts';
import { AdminClient, withAdminOptions } from './admin-client.ts';
import type { AdminOptions } from './admin-client.ts';
import { formatTable } from './table.ts';
import { printJson, printText } from './output.ts';

export function addAgentsCommand(program: Command): void {
  withAdminOptions(program.command('agents').description('list connected agents')).action(async (options: AdminOptions) => {
    const { body } = await new AdminClient(options).request('GET', '/api/agents/connected');
    const agents = body.agents as ConnectedAgentView[];
    if (options.json) return printJson(body);
    printText(
      formatTable(
        ['KEY', 'AGENT', 'HOSTNAME', 'VERSION', 'TRANSPORT', 'PROTOCOL', 'SINCE', 'LAST HEARTBEAT'],
        agents.map((agent) => [agent.key_id, agent.agent_id, agent.hostname, agent.version, agent.transport, agent.protocol ?? 'micro-hack', agent.connected_since, agent.last_heartbeat]),
      ),
    );
  });
}
