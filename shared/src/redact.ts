// The one masking module: everything that prints a config, a URL or a log line goes through it
// (the pino logger, `tether-agent dump-state`, config errors, the operator CLI). Secrets are
// masked three ways: by the name they are stored under (api_key, PGPASSWORD, AWS_SECRET_ACCESS_KEY,
// any *_KEY / *_SECRET / *_TOKEN / *PASSWORD*), by pattern (URL passwords, ?api_key=, NAME=value
// pairs, Bearer tokens), and by value (every secret the process knows, wherever it appears).

export const MASK = '[redacted]';

/** Shorter values are not masked by value: they would mask ordinary words everywhere. */
const MIN_SECRET_CHARS = 6;

const SECRET_NAME = /password|passwd|passphrase|secret|token|api_?key|apikey|private_?key|access_?key|credential|cookie|authorization|(^|_)(pass|pwd|key|auth|dsn)$|^identity$/i;
/** Names that say where a secret is, or that it is public: the value is not a secret. */
const NOT_SECRET_NAME = /(_env|_file|_path|_dir|_id|_ids|_prefix|_name|_fingerprint|_in_query)$|public|^signing_key$|^(old)?pwd$/i;

/** True for a field or variable name whose value is a secret (api_key, PGPASSWORD, GITHUB_TOKEN…). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET_NAME.test(name);
}

// scheme://user:password@host → the password masked. With no password, the user part is masked
// on web schemes (where tokens travel as the user name) and kept on others (postgres://backup@…).
// Every pattern starts only where a run of name characters starts (lookbehind), so a long line
// costs linear time, not quadratic.
const URL_USERINFO = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>]*)@/gi;
const WEB_SCHEMES = new Set(['http://', 'https://', 'ws://', 'wss://']);
// NAME=value: masked when NAME says secret (?api_key=…, &token=…, --password=…, PGPASSWORD=…, X-Amz-Signature=…).
const ASSIGNMENT = /(?<![\w.-])([\w.-]+)=([^\s&#;"',]+)/g;
const SECRET_PARAMETER = /signature|^sig$/i;
const AUTHORIZATION = /\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/-]+=*/g;

function isSecretParameter(name: string): boolean {
  const bare = name.replace(/^-+/, '');
  return isSecretName(bare) || SECRET_PARAMETER.test(bare);
}

/** Masks URL userinfo, secret query parameters, NAME=value secrets and Authorization values. */
export function maskPatterns(text: string): string {
  return text
    .replace(URL_USERINFO, (_all, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      if (colon >= 0) return `${scheme}${userinfo.slice(0, colon)}:${MASK}@`;
      return WEB_SCHEMES.has(scheme.toLowerCase()) && userinfo ? `${scheme}${MASK}@` : `${scheme}${userinfo}@`;
    })
    .replace(ASSIGNMENT, (all, name: string) => (isSecretParameter(name) ? `${name}=${MASK}` : all))
    .replace(AUTHORIZATION, (_all, scheme: string, space: string) => `${scheme}${space}${MASK}`);
}

/** Masks every occurrence of each known secret value (and its URL-encoded form). */
export function maskValues(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < MIN_SECRET_CHARS) continue;
    out = out.split(secret).join(MASK);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join(MASK);
  }
  return out;
}

/** Both: what every printed string goes through. */
export function maskText(text: string, secrets: Iterable<string> = []): string {
  return maskValues(maskPatterns(text), secrets);
}

export interface MaskOptions {
  /** Known secret values, masked wherever they appear. */
  secrets?: Iterable<string>;
  /** Also mask whole values stored under a secret name (isSecretName). Default true. */
  byName?: boolean;
  /** Applied to every string after masking (the logger escapes terminal controls with it). */
  afterMasking?: (text: string) => string;
}

/** A deep copy of `value` with every string masked and every secret-named field replaced by MASK. */
export function maskDeep(value: unknown, options: MaskOptions = {}): unknown {
  const secrets = [...(options.secrets ?? [])];
  const byName = options.byName ?? true;
  const after = options.afterMasking ?? ((text: string) => text);
  const walk = (item: unknown, depth: number): unknown => {
    if (typeof item === 'string') return after(maskText(item, secrets));
    if (depth > 12 || item === null || typeof item !== 'object') return item;
    if (item instanceof Error) {
      const copy = new Error(maskText(item.message, secrets));
      copy.name = item.name;
      copy.stack = item.stack === undefined ? undefined : maskText(item.stack, secrets);
      return copy;
    }
    if (Array.isArray(item)) return item.map((entry) => walk(entry, depth + 1));
    // Dates, URLs, Buffers…: what JSON would print of them, masked.
    const toJSON = (item as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return walk(toJSON.call(item), depth + 1);
    const out: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(item)) {
      out[key] = byName && isSecretName(key) && entry !== null && entry !== undefined && typeof entry !== 'boolean' ? MASK : walk(entry, depth + 1);
    }
    return out;
  };
  return walk(value, 0);
}

/**
 * The secret values inside a config-like value: strings stored under a secret name and the
 * passwords of URLs, so that they can be masked wherever else they show up (an argv, a log line).
 */
export function secretValuesIn(value: unknown): string[] {
  const found = new Set<string>();
  const walk = (item: unknown, name: string | null, depth: number): void => {
    if (typeof item === 'string') {
      if (name !== null && isSecretName(name)) found.add(item);
      for (const match of item.matchAll(URL_USERINFO)) {
        const colon = match[2]!.indexOf(':');
        if (colon < 0) continue;
        const password = match[2]!.slice(colon + 1);
        found.add(password);
        try {
          found.add(decodeURIComponent(password));
        } catch {
          // not valid percent-encoding: the raw form is enough
        }
      }
      return;
    }
    if (depth > 12 || item === null || typeof item !== 'object') return;
    if (Array.isArray(item)) for (const entry of item) walk(entry, name, depth + 1);
    else for (const [key, entry] of Object.entries(item)) walk(entry, key, depth + 1);
  };
  walk(value, null, 0);
  return [...found].filter((secret) => secret.length > 0);
}

/** Values of the process's own secret-named environment variables (TETHER_API_KEY, AWS_SECRET_ACCESS_KEY…). */
export function secretValuesInEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(env)
    .filter(([name, value]) => value && isSecretName(name))
    .map(([, value]) => value!);
}
