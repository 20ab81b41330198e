// Effective permissions = the hub's grant ∩ the local policy (protocol.md section 5).
// The hub can narrow what this host allows, never widen it.

export class Permissions {
  #local: ReadonlySet<string>;
  /** Permissions the local policy lists but a host setting withholds, with the reason (update.skip). */
  #withheld: Readonly<Record<string, string>>;
  /** null: the hub sent no grant, so no restriction from the hub. */
  #hubGrant: ReadonlySet<string> | null = null;

  constructor(localAllow: Iterable<string>, withheld: Readonly<Record<string, string>> = {}) {
    this.#withheld = withheld;
    this.#local = new Set([...localAllow].filter((permission) => !Object.hasOwn(withheld, permission)));
  }

  setHubGrant(grant: Iterable<string> | null | undefined): void {
    this.#hubGrant = grant ? new Set(grant) : null;
  }

  allows(permission: string): boolean {
    return this.#local.has(permission) && (this.#hubGrant === null || this.#hubGrant.has(permission));
  }

  /** Why a permission is refused, for the response and the audit log. */
  refusalReason(permission: string): string {
    if (Object.hasOwn(this.#withheld, permission)) return `permission "${permission}" is withheld: ${this.#withheld[permission]}`;
    if (!this.#local.has(permission)) return `permission "${permission}" is not allowed by this host's local policy (config: allow)`;
    return `permission "${permission}" is not granted to this agent key by the hub`;
  }
}
