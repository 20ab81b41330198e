// WebSocket close codes the hub uses (protocol.md section 2).
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_KEY_INVALID = 4002;
export const CLOSE_KEY_DISABLED = 4003;
export const CLOSE_PROTOCOL_VIOLATION = 4005;
export const CLOSE_REPLACED = 4008;
/** [ext] The agent_id is registered under another agent key. */
export const CLOSE_AGENT_ID_TAKEN = 4009;
/** [ext] A per-key quota of the hub is used up (the reason says which). */
export const CLOSE_OVER_QUOTA = 4029;
