// WebSocket close codes the hub uses (protocol.md section 2).
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_KEY_INVALID = 4002;
export const CLOSE_KEY_DISABLED = 4003;
export const CLOSE_PROTOCOL_VIOLATION = 4005;
export const CLOSE_REPLACED = 4008;
