// Exit codes between agent and supervisor (protocol.md section 7) and for bad configuration.
// Kept free of imports: the supervisor loads this file and must stay tiny.

export const EXIT_STOP = 0;
export const EXIT_RESTART = 42;
export const EXIT_UPDATE = 43;
export const EXIT_REDEPLOY = 44;
export const EXIT_FATAL = 99;
/** sysexits EX_CONFIG: the configuration is invalid; nothing was started. */
export const EXIT_CONFIG = 78;

export function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `killed by ${signal}`;
  switch (code) {
    case EXIT_STOP:
      return 'stopped (exit 0)';
    case EXIT_RESTART:
      return 'restart requested (exit 42)';
    case EXIT_UPDATE:
      return 'update staged (exit 43)';
    case EXIT_REDEPLOY:
      return 'redeploy requested (exit 44)';
    case EXIT_FATAL:
      return 'fatal (exit 99)';
    case EXIT_CONFIG:
      return 'invalid configuration (exit 78)';
    default:
      return `crashed (exit ${code})`;
  }
}
