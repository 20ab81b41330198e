// Agent keys. Only a SHA-256 hash of each key is stored; the key itself is shown once.
import { randomBytes } from 'node:crypto';
import { generateSecret, hashSecret } from '@tether/shared/crypto.ts';
import type { KeyView } from '@tether/shared/protocol/admin-api.ts';
import type { Database } from './database.ts';

/** What a new key may run when the operator does not say: the harmless read-only commands. */
export const DEFAULT_PERMISSIONS = ['ping', 'echo', 'info', 'metrics', 'capabilities'];

interface KeyRow {
  id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  permissions: string;
  status: 'active' | 'disabled';
  created_at: string;
  last_used_at: string | null;
}

export interface IssuedKey {
  view: KeyView;
  /** The agent key in clear: returned to the operator once, never stored. */
  key: string;
}

function toView(row: KeyRow): KeyView {
  return {
    id: row.id,
    name: row.name,
    permissions: JSON.parse(row.permissions) as string[],
    status: row.status,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    key_prefix: row.key_prefix,
  };
}

function newKey(): { key: string; hash: string; prefix: string } {
  const key = generateSecret('tak');
  return { key, hash: hashSecret(key), prefix: key.slice(0, 8) };
}

export class KeyStore {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  create(name: string, permissions: string[] = DEFAULT_PERMISSIONS): IssuedKey {
    const id = `key_${randomBytes(6).toString('hex')}`;
    const { key, hash, prefix } = newKey();
    this.db
      .prepare('INSERT INTO keys (id, name, key_hash, key_prefix, permissions, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, name, hash, prefix, JSON.stringify(uniq(permissions)), 'active', new Date().toISOString());
    return { view: this.get(id)!, key };
  }

  list(): KeyView[] {
    return (this.db.prepare('SELECT * FROM keys ORDER BY created_at, id').all() as unknown as KeyRow[]).map(toView);
  }

  get(id: string): KeyView | undefined {
    const row = this.db.prepare('SELECT * FROM keys WHERE id = ?').get(id) as KeyRow | undefined;
    return row ? toView(row) : undefined;
  }

  /** The stored SHA-256 of a key (what scheme-2 signatures bind to); never leaves the hub. */
  keyHash(id: string): string | undefined {
    const row = this.db.prepare('SELECT key_hash FROM keys WHERE id = ?').get(id) as { key_hash: string } | undefined;
    return row?.key_hash;
  }

  /** The key a presented secret belongs to, looked up by hash. */
  findBySecret(secret: string): KeyView | undefined {
    const row = this.db.prepare('SELECT * FROM keys WHERE key_hash = ?').get(hashSecret(secret)) as KeyRow | undefined;
    return row ? toView(row) : undefined;
  }

  update(id: string, patch: { name?: string; permissions?: string[]; status?: 'active' | 'disabled' }): KeyView | undefined {
    const current = this.get(id);
    if (!current) return undefined;
    this.db
      .prepare('UPDATE keys SET name = ?, permissions = ?, status = ? WHERE id = ?')
      .run(patch.name ?? current.name, JSON.stringify(uniq(patch.permissions ?? current.permissions)), patch.status ?? current.status, id);
    return this.get(id);
  }

  delete(id: string): boolean {
    return Number(this.db.prepare('DELETE FROM keys WHERE id = ?').run(id).changes) > 0;
  }

  regenerate(id: string): IssuedKey | undefined {
    if (!this.get(id)) return undefined;
    const { key, hash, prefix } = newKey();
    this.db.prepare('UPDATE keys SET key_hash = ?, key_prefix = ? WHERE id = ?').run(hash, prefix, id);
    return { view: this.get(id)!, key };
  }

  touch(id: string): void {
    this.db.prepare('UPDATE keys SET last_used_at = ? WHERE id = ?').run(new Date().toISOString(), id);
  }
}

function uniq(values: string[]): string[] {
  return [...new Set(values)];
}
