// The storage suite: the same cases against SQLite and PostgreSQL (engines.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generateEd25519KeyPair, hashSecret } from '@tether/shared/crypto.ts';
import { ENGINES, openFixture } from './engines.ts';
import type { HubStore, NewCommand } from '../../src/store/store.ts';
import { MAX_EVENTS_PER_COMMAND, RELEASE_CHUNK_BYTES } from '../../src/store/store.ts';

function command(keyId: string, extra: Partial<NewCommand> = {}): NewCommand {
  return { command_id: randomUUID(), key_id: keyId, command: 'ping', data: {}, deadline: null, timeout_s: null, ...extra };
}

async function queued(store: HubStore, keyId: string, extra: Partial<NewCommand> = {}): Promise<string> {
  const input = command(keyId, extra);
  assert.equal(await store.insertCommand(input), true);
  return input.command_id;
}

for (const { engine, skip } of ENGINES) {
  describe(`store on ${engine}`, { skip }, () => {
    it('creates keys with labels, finds them by secret and by label, and stores only a hash', async (t) => {
      const { store } = await openFixture(engine, t);
      const db = await store.createKey({ name: 'db-1', permissions: ['ping', 'backup', 'ping'], labels: { role: 'db', env: 'prod' } });
      const web = await store.createKey({ name: 'web-1', labels: { role: 'web', env: 'prod' } });
      assert.match(db.key, /^tak_/);
      assert.deepEqual(db.record.permissions, ['ping', 'backup']);
      assert.deepEqual(db.record.labels, { env: 'prod', role: 'db' });
      assert.deepEqual(web.record.permissions, ['ping', 'echo', 'info', 'metrics', 'capabilities']);
      assert.equal((await store.findKeyBySecret(db.key))?.id, db.record.id);
      assert.equal(await store.findKeyBySecret(`${db.key}x`), undefined);
      assert.deepEqual(
        (await store.listKeys({ labels: { role: 'db' } })).map((key) => key.id),
        [db.record.id],
      );
      assert.deepEqual((await store.listKeys({ labels: { env: 'prod' } })).map((key) => key.id).sort(), [db.record.id, web.record.id].sort());
      assert.deepEqual(await store.listKeys({ labels: { env: 'staging' } }), []);
      assert.equal((await store.listKeys()).length, 2);
      assert.ok(!JSON.stringify(await store.listKeys()).includes(db.key), 'the key in clear is never stored');
    });

    it('refuses invalid labels and permissions with a message that says what is allowed', async (t) => {
      const { store } = await openFixture(engine, t);
      await assert.rejects(store.createKey({ name: 'x', labels: { 'Role!': 'db' } }), /label name is 1-63 characters/);
      await assert.rejects(store.createKey({ name: 'x', labels: { role: '' } }), /label value is 1-63 characters/);
      await assert.rejects(store.createKey({ name: 'x', labels: { role: 'a b' } }), /label value/);
      await assert.rejects(store.createKey({ name: 'x', permissions: ['rm -rf'] }), /invalid permission/);
      const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'v']));
      await assert.rejects(store.createKey({ name: 'x', labels: many }), /at most 32 labels/);
      const key = await store.createKey({ name: 'ok' });
      await assert.rejects(store.updateKey(key.record.id, { labels: { "x'); DROP TABLE keys; --": 'v' } }), /label name/);
      assert.equal((await store.listKeys()).length, 1);
    });

    it('updates, regenerates, touches and deletes keys', async (t) => {
      const { store } = await openFixture(engine, t);
      const issued = await store.createKey({ name: 'k', labels: { role: 'db' } });
      const id = issued.record.id;
      const updated = await store.updateKey(id, { name: 'k2', status: 'disabled', labels: { role: 'cache', tier: 'b' } });
      assert.equal(updated?.name, 'k2');
      assert.equal(updated?.status, 'disabled');
      assert.deepEqual(updated?.labels, { role: 'cache', tier: 'b' });
      assert.deepEqual(updated?.permissions, issued.record.permissions, 'fields not in the patch stay');
      assert.equal(await store.updateKey('key_000000000000', { name: 'nobody' }), undefined);
      const again = await store.regenerateKey(id);
      assert.ok(again && again.key !== issued.key);
      assert.equal(await store.findKeyBySecret(issued.key), undefined, 'the old key stops working');
      assert.equal((await store.findKeyBySecret(again.key))?.id, id);
      assert.equal((await store.getKey(id))?.last_used_at, null);
      await store.touchKey(id);
      assert.ok((await store.getKey(id))?.last_used_at);
      assert.equal(await store.deleteKey(id), true);
      assert.equal(await store.deleteKey(id), false);
      assert.equal(await store.getKey(id), undefined);
    });

    it('saves registrations and heartbeats through the group commit', async (t) => {
      const { store } = await openFixture(engine, t);
      await Promise.all([
        store.saveRegistration({ agent_id: 'a1', key_id: 'key_1', hostname: 'h1', version: '1.0.0', os: 'Linux', transport: 'websocket', data: { ip: '10.0.0.1' } }),
        store.saveRegistration({ agent_id: 'a2', key_id: 'key_2', hostname: 'h2', version: '1.0.0', transport: 'http_polling', data: {} }),
      ]);
      await Promise.all([store.saveHeartbeat('a1', 'key_1', { n: 1 }), store.saveHeartbeat('a1', 'key_1', { n: 2 }), store.saveHeartbeat('nobody', 'key_1', { n: 3 })]);
      const a1 = await store.getAgent('a1');
      assert.equal(a1?.hostname, 'h1');
      assert.deepEqual(a1?.register_data, { ip: '10.0.0.1' });
      assert.deepEqual(a1?.last_heartbeat, { n: 2 }, 'the newest heartbeat of a batch counts');
      await store.saveHeartbeat('a1', 'key_2', { n: 99 });
      assert.deepEqual((await store.getAgent('a1'))?.last_heartbeat, { n: 2 }, "another key cannot write the agent's heartbeat");
      assert.equal((await store.getAgent('a2'))?.os, null);
      await store.saveRegistration({ agent_id: 'a1', key_id: 'key_1', hostname: 'h1-renamed', version: '1.1.0', transport: 'websocket', data: {} });
      assert.equal((await store.getAgent('a1'))?.version, '1.1.0');
      assert.equal(await store.getAgent('nobody'), undefined);
    });

    it('counts, orders and drops the agents of a key (the per-key quota)', async (t) => {
      const { store } = await openFixture(engine, t);
      for (const agent of ['old', 'mid', 'new']) {
        await store.saveRegistration({ agent_id: agent, key_id: 'key_q', hostname: agent, version: '1.0.0', transport: 'websocket', data: {} });
      }
      await store.saveRegistration({ agent_id: 'other', key_id: 'key_r', hostname: 'other', version: '1.0.0', transport: 'websocket', data: {} });
      await store.saveHeartbeat('old', 'key_q', { n: 1 });
      assert.equal(await store.countAgentsForKey('key_q'), 3);
      assert.deepEqual(await store.agentIdsByLastSeen('key_q'), ['mid', 'new', 'old']);
      assert.equal((await store.latestAgentForKey('key_q'))?.agent_id, 'old', 'the one seen last');
      assert.deepEqual(
        (await store.listAgents()).map((agent) => agent.agent_id),
        ['mid', 'new', 'old', 'other'],
      );
      assert.deepEqual((await store.listAgents()).find((agent) => agent.agent_id === 'old')?.last_heartbeat, { n: 1 });
      assert.equal(await store.latestAgentForKey('key_none'), undefined);
      await store.deleteAgent('mid');
      assert.equal(await store.countAgentsForKey('key_q'), 2);
      assert.equal(await store.getAgent('mid'), undefined);
      assert.equal(await store.countAgentsForKey('key_r'), 1);
    });

    it('keeps the hash of each key for signatures, never the key', async (t) => {
      const { store } = await openFixture(engine, t);
      const issued = await store.createKey({ name: 'hashed' });
      assert.equal(await store.keyHash(issued.record.id), hashSecret(issued.key));
      assert.equal(await store.keyHash('key_000000000000'), undefined);
    });

    it('stores commands, lists the unanswered in order and keeps the first result', async (t) => {
      const { store } = await openFixture(engine, t);
      const deadline = new Date(Date.now() + 60_000).toISOString();
      const first = await queued(store, 'key_a', { data: { message: 'hi' }, deadline, timeout_s: 12.5 });
      const second = await queued(store, 'key_a');
      await queued(store, 'key_b');
      assert.equal(await store.insertCommand({ ...command('key_a'), command_id: first }), false, 'an existing id is not inserted again');
      const record = await store.getCommand(first);
      assert.equal(record?.status, 'queued');
      assert.deepEqual(record?.data, { message: 'hi' });
      assert.equal(record?.deadline, deadline);
      assert.equal(record?.timeout_s, 12.5);
      assert.equal(record?.batch_id, null);
      assert.deepEqual(
        (await store.unanswered('key_a')).map((c) => c.command_id),
        [first, second],
      );

      await store.markSent(first, 'websocket');
      const sent = await store.getCommand(first);
      assert.equal(sent?.status, 'sent');
      assert.equal(sent?.sent_via, 'websocket');
      assert.ok(sent?.sent_at);
      assert.deepEqual(
        (await store.unanswered('key_a')).map((c) => c.command_id),
        [first, second],
        'sent and unanswered is still unanswered',
      );

      assert.equal(await store.completeCommand({ command_id: first, key_id: 'key_b', result: { success: true }, success: true }), false, 'another key cannot complete it');
      assert.equal(await store.completeCommand({ command_id: first, key_id: 'key_a', result: { success: true, data: { n: 1 } }, success: true }), true);
      assert.equal(await store.completeCommand({ command_id: first, key_id: 'key_a', result: { success: false }, success: false }), false, 'the second result loses');
      assert.equal(await store.completeCommand({ command_id: randomUUID(), key_id: 'key_a', result: {}, success: true }), false, 'unknown command');
      const done = await store.getCommand(first);
      assert.equal(done?.status, 'completed');
      assert.deepEqual(done?.result, { success: true, data: { n: 1 } });
      await store.markSent(first, 'http_polling');
      assert.equal((await store.getCommand(first))?.status, 'completed', 'a late markSent does not reopen it');
      assert.deepEqual(
        (await store.unanswered('key_a')).map((c) => c.command_id),
        [second],
      );

      assert.equal(await store.markExpired(second), true);
      assert.equal(await store.markExpired(second), false);
      assert.equal((await store.getCommand(second))?.status, 'expired');
      assert.deepEqual(await store.unanswered('key_a'), []);
      assert.equal(await store.getCommand(randomUUID()), undefined);
    });

    it('commits writes submitted in one tick in one batch, first result winning inside it', async (t) => {
      const { store } = await openFixture(engine, t);
      const stats = store as unknown as { groupCommitStats: { batches: number; writes: number } };
      const inputs = Array.from({ length: 500 }, () => command('key_g'));
      const before = stats.groupCommitStats;
      const inserted = await Promise.all(inputs.map((input) => store.insertCommand(input)));
      assert.ok(inserted.every(Boolean));
      const afterInsert = stats.groupCommitStats;
      assert.equal(afterInsert.batches - before.batches, 1, '500 inserts in one tick are one transaction');
      assert.equal(afterInsert.writes - before.writes, 500);

      const results = await Promise.all(
        inputs.flatMap((input) => [
          store.completeCommand({ command_id: input.command_id, key_id: 'key_g', result: { winner: 'first' }, success: true }),
          store.completeCommand({ command_id: input.command_id, key_id: 'key_g', result: { winner: 'second' }, success: false }),
        ]),
      );
      for (let i = 0; i < inputs.length; i++) assert.deepEqual([results[2 * i], results[2 * i + 1]], [true, false]);
      assert.deepEqual((await store.getCommand(inputs[7]!.command_id))?.result, { winner: 'first' });
      assert.equal(stats.groupCommitStats.batches - afterInsert.batches, 1);
    });

    it('de-duplicates results across two store instances completing the same commands at once', async (t) => {
      const fixture = await openFixture(engine, t);
      const hubA = fixture.store;
      const hubB = await fixture.another();
      const ids = await Promise.all(Array.from({ length: 300 }, () => queued(hubA, 'key_x')));
      // Each hub completes every command; half start on A first, half on B first.
      const outcomes = await Promise.all(
        ids.map(async (id, i) => {
          const [first, second] = i % 2 === 0 ? [hubA, hubB] : [hubB, hubA];
          const [a, b] = await Promise.all([
            first.completeCommand({ command_id: id, key_id: 'key_x', result: { by: first === hubA ? 'A' : 'B' }, success: true }),
            second.completeCommand({ command_id: id, key_id: 'key_x', result: { by: second === hubA ? 'A' : 'B' }, success: true }),
          ]);
          return { id, storedBy: a && !b ? (first === hubA ? 'A' : 'B') : !a && b ? (second === hubA ? 'A' : 'B') : `both=${a}/${b}` };
        }),
      );
      for (const outcome of outcomes) {
        assert.ok(outcome.storedBy === 'A' || outcome.storedBy === 'B', `exactly one hub stores ${outcome.id}: ${outcome.storedBy}`);
        assert.deepEqual((await hubB.getCommand(outcome.id))?.result, { by: outcome.storedBy }, "the stored result is the winner's");
      }
    });

    it('appends job events up to the cap, only for known commands', async (t) => {
      const { store } = await openFixture(engine, t);
      const id = await queued(store, 'key_e');
      const first = await store.appendEvent(id, 'job_output', { line: 'one' });
      assert.ok(first);
      assert.equal(first.type, 'job_output');
      assert.deepEqual(first.event, { line: 'one' });
      assert.equal(await store.appendEvent(randomUUID(), 'job_output', { line: 'x' }), undefined, 'unknown command');
      const rest = await Promise.all(Array.from({ length: MAX_EVENTS_PER_COMMAND }, (_, i) => store.appendEvent(id, 'job_progress', { progress: i })));
      assert.equal(rest.filter(Boolean).length, MAX_EVENTS_PER_COMMAND - 1, 'the cap holds inside one batch');
      assert.equal(rest.at(-1), undefined);
      const ids = rest.filter(Boolean).map((event) => event!.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'ids grow in submission order',
      );
      assert.ok(ids[0]! > first.id);
      const listed = await store.listEventsAfter(id, ids[ids.length - 3]!);
      assert.deepEqual(
        listed.map((event) => event.event),
        [{ progress: MAX_EVENTS_PER_COMMAND - 3 }, { progress: MAX_EVENTS_PER_COMMAND - 2 }],
      );
      assert.equal((await store.listEventsAfter(id, 0)).length, MAX_EVENTS_PER_COMMAND);
    });

    it('keeps settings, the admin token hash and one signing key pair that racing hubs agree on', async (t) => {
      const fixture = await openFixture(engine, t);
      const { store } = fixture;
      assert.equal(await store.readSetting('admin_token_hash'), undefined);
      const other = await fixture.another();
      const [a, b] = await Promise.all([store.ensureSetting('admin_token_hash', 'hash-a'), other.ensureSetting('admin_token_hash', 'hash-b')]);
      assert.equal(a, b, 'both hubs see the same stored hash');
      await store.writeSetting('admin_token_hash', 'hash-c');
      assert.equal(await other.readSetting('admin_token_hash'), 'hash-c');

      assert.equal(await store.getSigningKey(), undefined);
      const one = generateEd25519KeyPair();
      const two = generateEd25519KeyPair();
      const [kept1, kept2] = await Promise.all([
        store.ensureSigningKey({ privateKeyPem: one.privateKeyPem, publicKey: one.publicKey }),
        other.ensureSigningKey({ privateKeyPem: two.privateKeyPem, publicKey: two.publicKey }),
      ]);
      assert.deepEqual(kept1, kept2);
      assert.deepEqual(await other.getSigningKey(), kept1);
    });

    it('stores releases with their tarball in chunks and replaces both on republish', async (t) => {
      const { store } = await openFixture(engine, t);
      const base = { arch: 'x64', sha256: 'a'.repeat(64), size: 123_456_789_012, key_id: 'rk1', tarball: 't.tar.gz', manifest: '{"version":"1.0.0"}', signature: 'sig\n' };
      // Two full chunks and a short one, then a republish with a single short chunk.
      const big = Buffer.alloc(RELEASE_CHUNK_BYTES * 2 + 17, 7);
      big[RELEASE_CHUNK_BYTES] = 1;
      await store.putRelease({ ...base, version: '1.0.0', platform: 'linux-x64' }, big);
      await store.putRelease({ ...base, version: '1.0.0', platform: 'linux-arm64', arch: 'arm64' }, Buffer.from('arm tarball'));
      const pieces: Buffer[] = [];
      for (let index = 0; ; index += 1) {
        const piece = await store.releaseChunk('1.0.0', 'linux-x64', index);
        if (!piece) break;
        pieces.push(piece);
      }
      assert.deepEqual(
        pieces.map((piece) => piece.length),
        [RELEASE_CHUNK_BYTES, RELEASE_CHUNK_BYTES, 17],
      );
      assert.ok(Buffer.concat(pieces).equals(big));
      const replaced = await store.putRelease({ ...base, version: '1.0.0', platform: 'linux-x64', sha256: 'b'.repeat(64) }, Buffer.from('small'));
      assert.equal(replaced.sha256, 'b'.repeat(64));
      assert.equal(replaced.size, 123_456_789_012);
      assert.equal(replaced.manifest, '{"version":"1.0.0"}');
      assert.equal(replaced.signature, 'sig\n');
      assert.equal(String(await store.releaseChunk('1.0.0', 'linux-x64', 0)), 'small');
      assert.equal(await store.releaseChunk('1.0.0', 'linux-x64', 1), undefined, 'the old chunks are gone');
      assert.equal(String(await store.releaseChunk('1.0.0', 'linux-arm64', 0)), 'arm tarball');
      assert.equal((await store.getRelease('1.0.0', 'linux-x64'))?.sha256, 'b'.repeat(64));
      assert.equal(await store.getRelease('2.0.0', 'linux-x64'), undefined);
      assert.equal((await store.listReleases()).length, 2);
      assert.deepEqual(
        (await store.listReleases('linux-arm64')).map((r) => r.arch),
        ['arm64'],
      );
    });

    it('counts hits per fixed window across store instances and prunes ended windows', async (t) => {
      const fixture = await openFixture(engine, t);
      const other = await fixture.another();
      const windowMs = 3_600_000;
      const hits = await Promise.all([
        ...Array.from({ length: 10 }, () => fixture.store.hitCounter('login:1.2.3.4', windowMs)),
        ...Array.from({ length: 10 }, () => other.hitCounter('login:1.2.3.4', windowMs)),
      ]);
      assert.deepEqual(
        hits.map((hit) => hit.count).sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i + 1),
        'every hit is counted once',
      );
      assert.equal((await fixture.store.hitCounter('login:1.2.3.4', windowMs, 5)).count, 25);
      assert.equal((await fixture.store.hitCounter('other', windowMs)).count, 1);
      assert.ok(Date.parse(hits[0]!.resets_at) > Date.now());
      await assert.rejects(fixture.store.hitCounter('x', 0), /positive whole number/);
      assert.equal(await fixture.store.pruneCounters(new Date()), 0, 'open windows stay');
      assert.equal(await fixture.store.pruneCounters(new Date(Date.now() + 2 * windowMs)), 2);
      assert.equal((await fixture.store.hitCounter('login:1.2.3.4', windowMs)).count, 1);
    });

    it('flushes queued writes on close', async (t) => {
      const fixture = await openFixture(engine, t);
      const second = await fixture.another();
      const input = command('key_c');
      const pending = second.insertCommand(input);
      await second.close();
      assert.equal(await pending, true);
      assert.equal((await fixture.store.getCommand(input.command_id))?.status, 'queued');
      await assert.rejects(second.insertCommand(command('key_c')), /closed/);
    });
  });
}
