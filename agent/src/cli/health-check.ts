// `tether-agent health-check`: exit 0 only when the running agent is connected and heartbeating.
import { readHealth, unhealthyReason } from '../health.ts';
import { loadConfigOrExit } from './load-config.ts';

export function healthCheck(): void {
  const { config } = loadConfigOrExit(1);
  let reason: string | null;
  try {
    reason = unhealthyReason(readHealth(config.state_dir));
  } catch (error) {
    reason = `cannot read ${config.state_dir}/health.json: ${(error as Error).message.split('\n')[0]}`;
  }
  if (reason) {
    process.stdout.write(`unhealthy: ${reason}\n`);
    process.exit(1);
  }
  process.stdout.write('healthy\n');
}
