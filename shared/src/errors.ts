// The base of tether's own error classes, as undici's UndiciError is of its: `name` says which class
// an error is (it shows in logs and stack traces), and `code` is a stable string a caller or a test
// can branch on. Messages are for people and may be reworded; codes are not. A class whose errors
// come in kinds (CommandFailure's protocol error codes, AgeError, ReleaseVerificationError) uses the
// kind as its code; every other class has one code of the form TETHER_ERR_<WHAT>.
export class TetherError extends Error {
  override name = 'TetherError';
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A command line the program cannot act on: printed as one line, exit 2. One class for every CLI
 * (`tether`, `tether-supervisor`).
 */
export class UsageError extends TetherError {
  override name = 'UsageError';

  constructor(message: string) {
    super('TETHER_ERR_USAGE', message);
  }
}
