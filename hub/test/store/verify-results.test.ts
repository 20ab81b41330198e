// Restore test results in the store on both engines: one per artifact (the next replaces it), seen
// by a second hub on the same data, listed per key, deleted with the artifact; and the upgrade from
// <id>.verify.json files of older hubs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@tether/shared/logger.ts';
import { ENGINES, openFixture } from './engines.ts';
import type { VerifyResultRecord } from '../../src/store/store.ts';
import { importVerifyFiles } from '../../src/artifacts/verify-file-import.ts';

const result = (artifactId: string, ok: boolean, keyId = 'key_a'): VerifyResultRecord => ({
  key_id: keyId,
  artifact_id: artifactId,
  ok,
  at: '2026-12-01T10:00:00.000Z',
  duration_ms: 1234,
  checked: ['sha256', 'restored into a scratch database'],
  problems: ok ? [] : ['row counts differ: public.orders 1234 ≠ 0'],
  by: 'verify-host-1',
  verify_key_id: 'key_verify',
  received_at: '2026-12-01T10:00:01.000Z',
});

const log = createLogger({ name: 'verify-results-test', level: 'silent' });

for (const { engine, skip } of ENGINES) {
  describe(`restore test results on ${engine}`, { skip }, () => {
    it('keeps the latest per artifact, for every hub on the store, and deletes it', async (t) => {
      const fixture = await openFixture(engine, t);
      const { store } = fixture;
      await store.putVerifyResult(result('app-20261201T040000Z-1a2b3c4d', false));
      await store.putVerifyResult(result('app-20261201T040000Z-1a2b3c4d', true));
      await store.putVerifyResult(result('app-20261130T040000Z-0a0b0c0d', true));
      await store.putVerifyResult(result('app-20261130T040000Z-0a0b0c0d', false, 'key_b'));

      const other = await fixture.another();
      assert.deepEqual(await other.getVerifyResult('key_a', 'app-20261201T040000Z-1a2b3c4d'), result('app-20261201T040000Z-1a2b3c4d', true));
      assert.deepEqual(
        (await other.listVerifyResults('key_a')).map((record) => [record.artifact_id, record.ok]),
        [
          ['app-20261130T040000Z-0a0b0c0d', true],
          ['app-20261201T040000Z-1a2b3c4d', true],
        ],
      );
      assert.equal((await other.listVerifyResults('key_b'))[0]?.problems[0], 'row counts differ: public.orders 1234 ≠ 0');

      assert.equal(await store.deleteVerifyResult('key_a', 'app-20261201T040000Z-1a2b3c4d'), true);
      assert.equal(await store.deleteVerifyResult('key_a', 'app-20261201T040000Z-1a2b3c4d'), false);
      assert.equal(await other.getVerifyResult('key_a', 'app-20261201T040000Z-1a2b3c4d'), undefined);
    });

    it('moves the .verify.json files of an older hub into the store once, keeping a newer stored result', async (t) => {
      const { store } = await openFixture(engine, t);
      const dataDir = await mkdtemp(join(tmpdir(), 'tether-verify-import-'));
      t.after(() => rm(dataDir, { recursive: true, force: true }));
      const dir = join(dataDir, 'artifacts', 'key_a');
      await mkdir(dir, { recursive: true });
      const old = (record: VerifyResultRecord) => {
        const { key_id: _k, artifact_id: _a, ...file } = record;
        return `${JSON.stringify(file, null, 2)}\n`;
      };
      await writeFile(join(dir, 'app-20261201T040000Z-1a2b3c4d.verify.json'), old(result('app-20261201T040000Z-1a2b3c4d', true)));
      await writeFile(join(dir, 'app-20261130T040000Z-0a0b0c0d.verify.json'), old(result('app-20261130T040000Z-0a0b0c0d', false)));
      await writeFile(join(dir, 'app-20261129T040000Z-00000000.verify.json'), '{"ok": "not a result"');
      await store.putVerifyResult({ ...result('app-20261130T040000Z-0a0b0c0d', true), at: '2026-12-02T00:00:00.000Z' });

      assert.equal(await importVerifyFiles(dataDir, store, log), 1);
      assert.equal((await store.getVerifyResult('key_a', 'app-20261201T040000Z-1a2b3c4d'))?.ok, true);
      assert.equal((await store.getVerifyResult('key_a', 'app-20261130T040000Z-0a0b0c0d'))?.at, '2026-12-02T00:00:00.000Z', 'the newer stored result stays');
      assert.deepEqual(await readdir(dir), ['app-20261129T040000Z-00000000.verify.json'], 'moved files are gone; the broken one is left');
      assert.equal(await importVerifyFiles(dataDir, store, log), 0);
    });
  });
}
