// Registration, one path for both transports (issue 14): the session learns its agent and the
// signing scheme it verifies (protocol.md section 6), older sessions of the same agent and key are
// replaced (close 4008), the agents row is written.
// A key can only replace its own sessions (issue 9 item 8): an agent_id registered under another key
// that still exists is refused, and that key's sessions and row are left alone. The agents rows of a
// key stay within its quota: the least recently seen agent that is not connected makes room.
import type { Logger } from '@tether/shared/logger.ts';
import { pauseForTest } from '@tether/shared/release/test-pause.ts';
import type { KeyView } from '@tether/shared/protocol/admin-views.ts';
import type { RegisterData } from '@tether/shared/protocol/agent-messages.ts';
import type { AgentSession, Presence, Transport } from './presence.ts';
import type { HubStore } from './store/store.ts';
import { CLOSE_AGENT_ID_TAKEN, CLOSE_REPLACED, CLOSE_OVER_QUOTA } from './ws/close-codes.ts';

export interface RegistrationDeps {
  presence: Presence;
  store: HubStore;
  log: Logger;
  agentsPerKey: number;
}

export type RegistrationOutcome =
  | { ok: true }
  /** `status` answers an HTTP register, `closeCode` a WebSocket one. */
  | { ok: false; status: 409 | 429; closeCode: number; error: string }
  /** The session ended while its registration was being looked up: nothing was replaced or written. */
  | { ok: false; gone: true };

export async function registerSession(session: AgentSession, key: KeyView, data: RegisterData, protocol: number | null, transport: Transport, deps: RegistrationDeps): Promise<RegistrationOutcome> {
  // Test hook, per hostname: a test holds one registration here while another goes through.
  await pauseForTest(`hub:register:${data.hostname}`);
  const agentId = data.agent_id;
  const owner = (await deps.store.getAgent(agentId))?.key_id;
  const ownerKeyExists = owner !== undefined && owner !== key.id && (await deps.store.getKey(owner)) !== undefined;
  const others = deps.presence.othersWithAgentId(agentId, session.sessionId);
  const ownedElsewhere = ownerKeyExists || others.some((other) => other.keyId !== key.id);
  if (ownedElsewhere) {
    deps.log.warn({ key_id: key.id, agent_id: agentId, transport }, 'registration refused: the agent_id belongs to another agent key');
    return {
      ok: false,
      status: 409,
      closeCode: CLOSE_AGENT_ID_TAKEN,
      error: `agent_id ${JSON.stringify(agentId)} is registered under another agent key; each host needs its own agent_id (a copied state directory carries the other host's in <state>/agent.json)`,
    };
  }
  if (owner !== key.id && !(await makeRoom(key.id, deps))) {
    deps.log.warn({ key_id: key.id, agent_id: agentId, limit: deps.agentsPerKey }, 'registration refused: the key has its quota of agents, all connected');
    return {
      ok: false,
      status: 429,
      closeCode: CLOSE_OVER_QUOTA,
      error: `agent key ${key.id} already has ${deps.agentsPerKey} agents connected, the hub's limit per key (--max-agents-per-key); give hosts their own keys or raise the limit`,
    };
  }

  // A register frame handled after its socket closed (it waited behind the store) must not replace
  // the newer, live session of the same agent with 4008, nor list a dead session as connected.
  if (!deps.presence.has(session.sessionId)) {
    deps.log.info({ key_id: key.id, agent_id: agentId, transport }, 'registration dropped: its session ended while it was looked up');
    return { ok: false, gone: true };
  }
  // Looked up again: another session of this agent may have registered while the store answered.
  for (const older of deps.presence.othersWithAgentId(agentId, session.sessionId)) {
    if (older.keyId !== key.id) continue;
    deps.log.warn({ key_id: key.id, agent_id: agentId }, 'same agent connected again; closing the older session with 4008');
    older.close(CLOSE_REPLACED, 'replaced by a newer connection of the same agent');
    deps.presence.remove(older.sessionId);
  }
  session.agentId = agentId;
  session.hostname = data.hostname;
  session.version = data.version;
  session.protocol = protocol;
  session.signing = data.signing ?? null;
  deps.presence.indexAgentId(session);
  await deps.store.saveRegistration({ agent_id: agentId, key_id: key.id, hostname: data.hostname, version: data.version, os: data.os, transport, data });
  deps.log.info({ key_id: key.id, agent_id: agentId, hostname: data.hostname, version: data.version, protocol, signing: session.signing, transport }, 'agent registered');
  if (data.update_outcome) deps.log.info({ agent_id: agentId, ...data.update_outcome }, 'agent reported the outcome of its last update');
  return { ok: true };
}

/** Room for one more agents row of this key: drops the least recently seen one not connected now. */
async function makeRoom(keyId: string, deps: RegistrationDeps): Promise<boolean> {
  let count = await deps.store.countAgentsForKey(keyId);
  if (count < deps.agentsPerKey) return true;
  const connected = new Set(deps.presence.forKey(keyId).map((session) => session.agentId));
  for (const agentId of await deps.store.agentIdsByLastSeen(keyId)) {
    if (count < deps.agentsPerKey) break;
    if (connected.has(agentId)) continue;
    await deps.store.deleteAgent(agentId);
    deps.log.info({ key_id: keyId, agent_id: agentId }, 'agent record dropped to stay within the per-key quota');
    count -= 1;
  }
  return count < deps.agentsPerKey;
}
