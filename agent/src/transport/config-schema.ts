// The `transport:` section of the agent config (protocol.md section 4), extending the shared one.
import { z } from 'zod';
import { booleanish } from '@tether/shared/config/agent-config.ts';

const TRANSPORT_DEFAULTS = { force_http: false, http_fallback: true, ws_probe_interval_s: 60, frame_timeout_s: 3, long_poll_wait_s: 25, http_poll_interval_s: 5 };

export const transportConfigShape = {
  transport: z
    .object({
      /** Pin HTTP polling (env TETHER_FORCE_HTTP=1 or MICROHACK_FORCE_HTTP=1). */
      force_http: booleanish.default(false),
      /**
       * Switch to HTTP polling when WebSocket is structurally blocked (env TETHER_HTTP_FALLBACK or
       * micro-hack's MICROHACK_HTTP_FALLBACK). On by default; 0/false keeps the agent on WebSocket.
       */
      http_fallback: booleanish.default(true),
      /** While on HTTP, try WebSocket again about this often (jittered). */
      ws_probe_interval_s: z.number().positive().max(3600).default(60),
      /** After the WebSocket upgrade a frame must come back within this long, else it counts as blocked. */
      frame_timeout_s: z.number().positive().max(60).default(3),
      /** How long one long poll may wait at the hub (≤ 30). */
      long_poll_wait_s: z.number().min(1).max(30).default(25),
      /**
       * Seconds between polls of a server without long polls (env TETHER_HTTP_POLL_INTERVAL or
       * micro-hack's MICROHACK_HTTP_POLL_INTERVAL); a hub's poll_interval_s wins.
       */
      http_poll_interval_s: z.coerce.number().positive().max(3600).default(5),
    })
    .default(TRANSPORT_DEFAULTS),
};
