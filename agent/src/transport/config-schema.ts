// The `transport:` section of the agent config (protocol.md section 4), extending the shared one.
import { z } from 'zod';

const booleanish = z.union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no'])]).transform((value) =>
  typeof value === 'boolean' ? value : ['1', 'true', 'yes'].includes(value),
);

const TRANSPORT_DEFAULTS = { force_http: false, ws_probe_interval_s: 60, frame_timeout_s: 3, long_poll_wait_s: 25 };

export const transportConfigShape = {
  transport: z
    .object({
      /** Pin HTTP polling (env TETHER_FORCE_HTTP=1 or MICROHACK_FORCE_HTTP=1). */
      force_http: booleanish.default(false),
      /** While on HTTP, try WebSocket again about this often (jittered). */
      ws_probe_interval_s: z.number().positive().max(3600).default(60),
      /** After the WebSocket upgrade a frame must come back within this long, else it counts as blocked. */
      frame_timeout_s: z.number().positive().max(60).default(3),
      /** How long one long poll may wait at the hub (≤ 30). */
      long_poll_wait_s: z.number().min(1).max(30).default(25),
    })
    .default(TRANSPORT_DEFAULTS),
};
