// What the admin API answers about operator accounts (GET /api/operators). Types only (hub and console).

export type OperatorStatus = 'active' | 'disabled';

/** A named console account; its password is kept only as a scrypt hash, never answered. */
export interface OperatorView {
  name: string;
  status: OperatorStatus;
  created_at: string;
  last_sign_in_at: string | null;
}

/** POST and GET /api/console/session. */
export interface ConsoleSessionView {
  expires_at: string;
  csrf_token: string;
  /** The operator signed in, or null for a session opened with the admin token. */
  operator: string | null;
}
