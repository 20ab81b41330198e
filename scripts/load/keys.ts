// One agent key per simulated agent, created through the admin API, a few requests at a time.
import type { Topology } from './topology.ts';
import type { FleetKey } from './fleet.ts';

export async function createKeys(topology: Topology, count: number, parallel = 16): Promise<FleetKey[]> {
  const keys: FleetKey[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const index = next++;
        const created = await topology.api('POST', '/api/agents/keys', { name: `load-${index}`, permissions: ['ping', 'echo'] });
        if (created.status !== 201) throw new Error(`creating key ${index} failed: ${created.status} ${JSON.stringify(created.body)}`);
        keys[index] = { id: String(created.body.id), key: String(created.body.key) };
      }
    }),
  );
  return keys;
}
