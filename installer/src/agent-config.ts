// PREFIX/agent.yaml, the agent's configuration (0600; owned by the service user, who runs the
// agent). An install writes what it knows (hub, key, state dir, the hub's command-signing key,
// the local policy when --allow is given) into the existing file and keeps everything else the
// operator put there (backup targets, actions, a policy from an earlier install).
import { isMap, parseDocument, Scalar } from 'yaml';
import type { Document } from 'yaml';
import { ManagerError } from './output.ts';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';
import { readPlainFile } from './safe-files.ts';

const HEADER = '# tether agent configuration, written by deploy.sh. Holds the agent key: keep it 0600.\n';
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface AgentConfigValues {
  server: string;
  apiKey: string;
  stateDir: string;
  /** The local policy; null keeps the file's (or the agent's default). */
  allow: readonly string[] | null;
  /** The hub's command-signing public key (base64), pinned from the install. */
  signingKey: string | null;
}

function quoted(value: string): Scalar {
  const scalar = new Scalar(value);
  scalar.type = Scalar.QUOTE_SINGLE;
  return scalar;
}

/** The existing config as a YAML document; a parse error names the line only (it may hold the key). */
async function existingDocument(path: string): Promise<Document | null> {
  const text = await readPlainFile(path, MAX_CONFIG_BYTES);
  if (text === null) return null;
  const doc = parseDocument(text, { uniqueKeys: true });
  const error = doc.errors[0];
  if (error !== undefined) {
    throw new ManagerError(`${path} is not valid YAML (line ${error.linePos?.[0]?.line ?? '?'}): fix it or move it away, then install again`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) throw new ManagerError(`${path} must be a YAML mapping of keys such as server_url:; fix it or move it away`);
  return doc;
}

export interface WrittenConfig {
  created: boolean;
  /** The signing key the file pinned before, when it was another one. */
  replacedSigningKey: string | null;
}

export async function writeAgentConfig(path: string, values: AgentConfigValues, owner: { uid: number; gid: number } | undefined): Promise<WrittenConfig> {
  const existing = await existingDocument(path);
  const doc = existing ?? parseDocument(HEADER);
  const previousKey = doc.getIn(['signing', 'public_key']);
  doc.set('server_url', quoted(values.server));
  doc.set('api_key', quoted(values.apiKey));
  doc.set('state_dir', quoted(values.stateDir));
  if (values.allow !== null) doc.set('allow', doc.createNode([...values.allow], { flow: true }));
  if (values.signingKey !== null) {
    if (!isMap(doc.get('signing'))) doc.set('signing', doc.createNode({}));
    doc.setIn(['signing', 'public_key'], quoted(values.signingKey));
  }
  await writeFileAtomic(path, doc.toString({ flowCollectionPadding: false }), { mode: 0o600, owner });
  const replaced = typeof previousKey === 'string' && values.signingKey !== null && previousKey.trim() !== values.signingKey ? previousKey.trim() : null;
  return { created: existing === null, replacedSigningKey: replaced };
}
