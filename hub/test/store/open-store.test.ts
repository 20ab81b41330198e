// Choosing the engine from --database, with clear errors and no password in descriptions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeStoreLocation, storeLocation } from '../../src/store/open-store.ts';

describe('storeLocation', () => {
  it('defaults to SQLite under the data dir and accepts file paths and sqlite: URLs', () => {
    assert.deepEqual(storeLocation(undefined, '/var/lib/tether-hub'), { engine: 'sqlite', path: '/var/lib/tether-hub/hub.sqlite' });
    assert.deepEqual(storeLocation('/data/other.sqlite', '/x'), { engine: 'sqlite', path: '/data/other.sqlite' });
    assert.deepEqual(storeLocation('sqlite:/data/a%20b.sqlite', '/x'), { engine: 'sqlite', path: '/data/a b.sqlite' });
  });

  it('takes postgres:// and postgresql:// URLs, and never shows the password', () => {
    const location = storeLocation('postgres://tether:s3cret@db.internal:5432/tether', '/x');
    assert.deepEqual(location, { engine: 'postgres', url: 'postgres://tether:s3cret@db.internal:5432/tether' });
    assert.equal(describeStoreLocation(location), 'PostgreSQL postgres://tether:***@db.internal:5432/tether');
    assert.equal(storeLocation('postgresql://db/tether', '/x').engine, 'postgres');
  });

  it('refuses other schemes with a message that says what works', () => {
    assert.throws(() => storeLocation('mysql://root@db/tether', '/x'), /unsupported scheme "mysql"; use postgres:\/\/… for PostgreSQL, or a file path for SQLite/);
    assert.throws(() => storeLocation('postgres://[bad', '/x'), /not a valid PostgreSQL URL/);
  });
});
