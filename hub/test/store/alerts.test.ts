// Alerts in the store, on both engines: an incident opens once however many hubs (store instances)
// see it at once, resolves once, opens again as a new incident (sequence 2), and each delivery
// outcome stays with the incident it was sent for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, openFixture } from './engines.ts';
import type { NewAlert } from '../../src/store/alert-records.ts';

const OFFLINE: NewAlert = { incident_key: 'host_offline:agent-1', kind: 'host_offline', summary: 'web-01 offline for 5 min', detail: { agent_id: 'agent-1' } };

for (const { engine, skip } of ENGINES) {
  describe(`alerts on ${engine}`, { skip }, () => {
    it('opens an incident once across two stores, resolves it once, and opens it again as the next incident', async (t) => {
      const fixture = await openFixture(engine, t);
      const { store } = fixture;
      const second = await fixture.another();
      const opened = await Promise.all([store.openAlert(OFFLINE), second.openAlert(OFFLINE), store.openAlert(OFFLINE)]);
      const winners = opened.filter((record) => record !== undefined);
      assert.equal(winners.length, 1, 'exactly one hub opens the incident');
      const alert = winners[0]!;
      assert.equal(alert.state, 'firing');
      assert.equal(alert.sequence, 1);
      assert.equal(alert.kind, 'host_offline');
      assert.deepEqual(alert.detail, { agent_id: 'agent-1' });
      assert.equal(alert.resolved_at, null);

      const resolved = await Promise.all([store.resolveAlert(OFFLINE.incident_key), second.resolveAlert(OFFLINE.incident_key)]);
      assert.equal(resolved.filter(Boolean).length, 1, 'exactly one hub resolves it');
      assert.equal(resolved.find(Boolean)!.state, 'resolved');
      assert.ok(resolved.find(Boolean)!.resolved_at);
      assert.equal(await store.resolveAlert(OFFLINE.incident_key), undefined);
      assert.equal(await store.resolveAlert('host_offline:never'), undefined);

      await store.recordAlertDelivery(OFFLINE.incident_key, 1, 'alert', { ok: true, attempts: 2, at: new Date().toISOString(), status: 200, error: null });
      const again = await second.openAlert({ ...OFFLINE, summary: 'web-01 offline again' });
      assert.equal(again?.sequence, 2);
      assert.equal(again?.summary, 'web-01 offline again');
      assert.equal(again?.fire_delivery, null, 'a new incident starts without the last one delivery');
      // A late outcome of incident 1 does not land on incident 2.
      await store.recordAlertDelivery(OFFLINE.incident_key, 1, 'recovery', { ok: true, attempts: 1, at: new Date().toISOString(), status: 204, error: null });
      await store.recordAlertDelivery(OFFLINE.incident_key, 2, 'alert', { ok: false, attempts: 6, at: new Date().toISOString(), status: 500, error: 'HTTP 500' });
      const [listed] = await store.listAlerts({ state: 'firing', limit: 10 });
      assert.equal(listed?.resolve_delivery, null);
      assert.deepEqual({ ok: listed?.fire_delivery?.ok, attempts: listed?.fire_delivery?.attempts, status: listed?.fire_delivery?.status }, { ok: false, attempts: 6, status: 500 });
      assert.deepEqual(await store.listAlerts({ state: 'resolved', limit: 10 }), []);
      assert.equal((await store.listAlerts({ limit: 10 })).length, 1);
    });
  });
}
