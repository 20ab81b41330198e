// Every Redis key and channel the hubs share, under one prefix (default "tether:"):
//
//   <p>presence:<key_id>     string, PX ttl   who holds this key's live session: {hub_id, session_id, …}
//   <p>hub:<hub_id>:inbox    channel          messages for one hub: deliver a command, close a session
//   <p>wake                  channel          key ids with new work, for HTTP long polls on any hub
//   <p>batch:<batch_id>      channel          progress of one fleet command, for SSE streams on any hub
//   <p>command:<command_id>  channel          a command's result stored / job event stored, for waits and SSE on any hub
//
// Commands and results never live in Redis: PostgreSQL is the source of truth; Redis only says
// where a socket is and carries ids.

export interface RedisLayout {
  prefix: string;
  presence(keyId: string): string;
  presencePattern: string;
  hubInbox(hubId: string): string;
  wake: string;
  batch(batchId: string): string;
  command(commandId: string): string;
}

/** Ids come from our own code or the store; the check keeps a bad one from reaching other keys. */
const SAFE_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

function id(kind: string, value: string): string {
  if (!SAFE_ID.test(value)) throw new Error(`not a usable ${kind} for a Redis key: ${JSON.stringify(value).slice(0, 80)}`);
  return value;
}

export function redisLayout(prefix = 'tether:'): RedisLayout {
  return {
    prefix,
    presence: (keyId) => `${prefix}presence:${id('key id', keyId)}`,
    presencePattern: `${prefix}presence:*`,
    hubInbox: (hubId) => `${prefix}hub:${id('hub id', hubId)}:inbox`,
    wake: `${prefix}wake`,
    batch: (batchId) => `${prefix}batch:${id('batch id', batchId)}`,
    command: (commandId) => `${prefix}command:${id('command id', commandId)}`,
  };
}
