// Runs a hub until SIGTERM/SIGINT: agents get close 1001, then the process exits 0.
import { startHub } from './server.ts';
import type { HubOptions } from './server.ts';

export async function runHub(options: HubOptions): Promise<void> {
  const hub = await startHub(options);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    hub.log.info({ signal }, 'stopping');
    hub.close().then(
      () => process.exit(0),
      (error: unknown) => {
        hub.log.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
