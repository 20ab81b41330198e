/** A mistake in how the CLI was called: printed as one line, exit 2. */
export class UsageError extends Error {}

/** The hub answered with an error: printed as one line, exit 1. */
export class HubError extends Error {}
