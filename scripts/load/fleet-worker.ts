// A child process holding a slice of the simulated agents (so each process stays within the
// machine's open-file limit). Started by fleet.ts over IPC: `start` with its agents, `stop`;
// it reports counts (registered now, answers, connects) at most every 200 ms.
import { SimulatedAgent } from './simulated-agent.ts';
import type { FleetStatus, WorkerCommand } from './fleet-messages.ts';

const agents: SimulatedAgent[] = [];
const status: FleetStatus = { type: 'status', registered: 0, everRegistered: 0, answered: 0, connects: 0, fatal: 0, fatalReason: null };
let dirty = false;

function report(): void {
  dirty = true;
}

setInterval(() => {
  if (!dirty) return;
  dirty = false;
  process.send!(status);
}, 200).unref();

process.on('message', (message: WorkerCommand) => {
  if (message.type === 'start') {
    for (const spec of message.agents) {
      const agent = new SimulatedAgent({
        wsUrl: message.wsUrl,
        ...spec,
        events: {
          registered(_agent, first) {
            status.registered += 1;
            status.connects += 1;
            if (first) status.everRegistered += 1;
            report();
          },
          down() {
            status.registered -= 1;
            report();
          },
          answered() {
            status.answered += 1;
            report();
          },
          fatal(_agent, reason) {
            status.fatal += 1;
            status.fatalReason = reason;
            report();
          },
        },
      });
      agents.push(agent);
      agent.start();
    }
  } else if (message.type === 'stop') {
    for (const agent of agents) agent.stop();
    process.send!(status, () => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
