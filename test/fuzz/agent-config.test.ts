// Fuzzing the agent's configuration (issue 9, "Fuzzing"): YAML files (documents of the config's
// own keys with values of any shape, any YAML value, text that is not YAML, alias bombs) and the
// environment variables the agent reads. Properties: loading either gives a config or refuses with
// a ConfigError (one line per problem), never another exception; and a real agent process given
// the same input either refuses with exit 78 and a message without a stack trace, or starts and
// stops cleanly on SIGTERM. The state dir is always the test's own (the environment wins).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError } from '@tether/shared/config/config-error.ts';
import { loadConfig } from '../../agent/src/config.ts';
import { waitFor } from '../helpers/process.ts';
import { startAgent, tempDir } from '../helpers/system.ts';
import { CRASH_TEXT, fuzz, jsonish, nastyString } from './fuzz-run.ts';

let dir: { path: string; remove(): Promise<void> };
before(async () => {
  dir = await tempDir('fuzz-agent-config');
});
after(async () => {
  await dir?.remove();
});

const anyValue = fc.oneof(nastyString(40), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), jsonish(), fc.array(nastyString(12), { maxLength: 4 }));
const url = fc.oneof(
  fc.constantFrom('ws://127.0.0.1:9', 'wss://hub.example.invalid', 'http://10.255.255.1:7070', 'ftp://x', 'ws://user:pw@127.0.0.1:9/?api_key=k', 'ws://[::1]:9/ws/agent', 'ws://'),
  fc.webUrl(),
  nastyString(40),
);

/** The config's own keys, each with values of the right type or of any other. */
const configDocument = fc.record(
  {
    server_url: fc.oneof(url, anyValue),
    api_key: fc.oneof(fc.constant('tak_fuzz-config-key-0123456789'), anyValue),
    allow_insecure: fc.oneof(fc.boolean(), anyValue),
    log_level: fc.oneof(fc.constantFrom('info', 'debug', 'loud'), anyValue),
    allow: fc.oneof(fc.subarray(['ping', 'echo', 'info', 'exec', 'backup', 'restore', 'uninstall']), anyValue),
    heartbeat_interval_s: fc.oneof(fc.integer({ min: -5, max: 5000 }), anyValue),
    queue: fc.oneof(fc.record({ workers: fc.oneof(fc.integer({ min: -1, max: 100 }), anyValue), max_queued: fc.oneof(fc.integer(), anyValue) }, { requiredKeys: [] }), anyValue),
    command_timeout_s: fc.oneof(fc.double(), anyValue),
    transport: fc.oneof(
      fc.record({ force_http: anyValue, ws_probe_interval_s: anyValue, frame_timeout_s: anyValue, long_poll_wait_s: anyValue, http_fallback: anyValue }, { requiredKeys: [] }),
      anyValue,
    ),
    signing: fc.oneof(fc.record({ public_key: fc.oneof(fc.constantFrom('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'AAAA'), anyValue) }, { requiredKeys: [] }), anyValue),
    keepalive: anyValue,
    journal: fc.oneof(fc.record({ retention_h: anyValue, max_entries: anyValue }, { requiredKeys: [] }), anyValue),
    update: fc.oneof(fc.record({ allow_downgrade: anyValue, skip: anyValue }, { requiredKeys: [] }), anyValue),
    release_keys: fc.oneof(fc.array(nastyString(50), { maxLength: 3 }), anyValue),
    actions: fc.oneof(
      fc.dictionary(
        nastyString(12),
        fc.record(
          {
            argv: fc.oneof(fc.array(nastyString(20), { maxLength: 4 }), anyValue),
            args: fc.oneof(
              fc.dictionary(nastyString(8), fc.record({ pattern: fc.oneof(fc.constantFrom('[a-z]+', '(', '.*', '(a+)+$'), anyValue), paths_under: anyValue }, { requiredKeys: [] }), { maxKeys: 2 }),
              anyValue,
            ),
            cwd: anyValue,
            env: anyValue,
            pass_env: anyValue,
            timeout_s: anyValue,
          },
          { requiredKeys: [] },
        ),
        { maxKeys: 2 },
      ),
      anyValue,
    ),
    git_pull: anyValue,
    docker_restart: anyValue,
    backup: fc.oneof(
      fc.record(
        {
          recipients: anyValue,
          targets: fc.oneof(
            fc.dictionary(
              nastyString(10),
              fc.record(
                {
                  kind: fc.oneof(fc.constantFrom('files', 'postgres', 'mysql', 'sqlite', 'command'), anyValue),
                  paths: anyValue,
                  url: anyValue,
                  schedule: fc.oneof(fc.constantFrom('61 * * * *', '@yearly', '30 2 * * *'), anyValue),
                },
                { requiredKeys: [] },
              ),
              { maxKeys: 2 },
            ),
            anyValue,
          ),
          compression: anyValue,
          retention: anyValue,
          restore_enabled: anyValue,
          identity_file: anyValue,
        },
        { requiredKeys: [] },
      ),
      anyValue,
    ),
    compat: anyValue,
    durability: anyValue,
  },
  { requiredKeys: [] },
);

const yamlText = fc.oneof(
  { arbitrary: configDocument.map((document) => stringify(document)), weight: 5 },
  { arbitrary: jsonish().map((value) => stringify(value)), weight: 1 },
  { arbitrary: fc.string({ maxLength: 300 }), weight: 1 },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'server_url: [',
      'a: &a [*a]',
      `a: &a ["x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]`,
      'api_key: !!binary aGVsbG8=',
      '<<: {server_url: ws://127.0.0.1:9}',
      '---\na: 1\n---\nb: 2',
      '\t\tserver_url: x',
      '%YAML 9.9\n---\na: 1',
      'server_url: ws://127.0.0.1:9\napi_key: tak_0123456789\nallow: !!set {ping, echo}',
      '? [a, b]\n: c',
    ),
  },
);

/** Values for the environment variables the agent reads (the state dir and config path stay the test's). */
const environment = fc.record(
  {
    TETHER_SERVER_URL: url,
    TETHER_API_KEY: nastyString(40),
    MICROHACK_SERVER_URL: url,
    MICROHACK_API_KEY: nastyString(20),
    TETHER_ALLOW_INSECURE: fc.oneof(fc.constantFrom('1', '0', 'yes', 'maybe'), nastyString(8)),
    TETHER_FORCE_HTTP: nastyString(8),
    MICROHACK_FORCE_HTTP: nastyString(8),
    TETHER_HTTP_FALLBACK: nastyString(8),
    TETHER_HTTP_POLL_INTERVAL: fc.oneof(fc.constantFrom('5', '-1', '0', '1e9', 'x'), nastyString(8)),
    TETHER_SKIP_UPDATE: nastyString(8),
    TETHER_RELEASE_KEYS: fc.oneof(fc.constantFrom('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', ',,', 'a,b'), nastyString(60)),
    TETHER_SIGNING_PUBLIC_KEY: fc.oneof(fc.constantFrom('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'AAAA'), nastyString(50)),
    TETHER_SUPERVISED: nastyString(4),
  },
  { requiredKeys: [] },
);

/** Environment values reach a process through execve: no NUL bytes. */
const withoutNul = (env: Record<string, string | undefined>): Record<string, string> => Object.fromEntries(Object.entries(env).map(([name, value]) => [name, String(value).replaceAll('\u0000', '')]));

let serial = 0;
function writeCase(yaml: string | null): { configPath: string; stateDir: string } {
  const n = ++serial;
  const configPath = join(dir.path, `agent-${n}.yaml`);
  if (yaml !== null) writeFileSync(configPath, yaml);
  return { configPath: yaml === null ? '' : configPath, stateDir: join(dir.path, `state-${n}`) };
}

const configCase = fc.record({ yaml: fc.option(yamlText, { nil: null, freq: 8 }), env: environment });

test('loading any YAML and environment: a config or a ConfigError, never another exception or a warning', { timeout: 3_600_000 }, async () => {
  await fuzz(
    'agent config (in-process loader)',
    configCase,
    async ({ yaml, env }) => {
      const { configPath, stateDir } = writeCase(yaml);
      // Process warnings are text printed on stderr that nobody checked for secrets.
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(warning.message);
      process.on('warning', onWarning);
      try {
        loadConfig({ ...withoutNul(env), TETHER_CONFIG: configPath, TETHER_STATE_DIR: stateDir });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw new Error(`not a ConfigError: ${(error as Error).stack}`);
        assert.ok(error.message.length > 10, 'a refusal that says nothing');
      } finally {
        await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
        process.off('warning', onWarning);
      }
      assert.deepEqual(warnings, [], 'loading the config printed a warning');
    },
    {
      boundedRuns: 300,
      shareOfFile: 0.4,
      // A collection as a key made the YAML parser warn on stderr, quoting the key (shared/src/config/yaml-errors.ts).
      regressions: [{ yaml: '? [tak_secret, b]\n: c\nserver_url: ws://127.0.0.1:9', env: {} }],
    },
  );
});

test('a real agent process with any config: exit 78 with a clear message, or it starts and stops cleanly', { timeout: 3_600_000 }, async () => {
  await fuzz(
    'agent config (agent processes)',
    configCase,
    async ({ yaml, env }) => {
      const { configPath, stateDir } = writeCase(yaml);
      const agent = startAgent({ ...withoutNul(env), TETHER_CONFIG: configPath, TETHER_STATE_DIR: stateDir, TETHER_LOG_LEVEL: 'info', TETHER_SUPERVISED: '' });
      try {
        await waitFor(() => agent.exitInfo !== null || agent.records().some((record) => record.msg === 'starting'), 'the agent to refuse or start', 60_000, 20);
        const output = () => agent.lines.join('\n');
        if (agent.exitInfo === null) {
          const stopped = await agent.stop('SIGTERM');
          assert.ok(stopped.code === 0 || stopped.code === 78, `a started agent stopped with ${JSON.stringify(stopped)}:\n${output()}`);
        } else {
          assert.equal(agent.exitInfo.code, 78, `exit ${JSON.stringify(agent.exitInfo)}:\n${output()}`);
          assert.match(output(), /tether-agent: |"level":(50|60)/, `no message:\n${output()}`);
        }
        assert.doesNotMatch(output(), CRASH_TEXT, `a crash, not a refusal:\n${output()}`);
      } finally {
        await agent.stop('SIGKILL');
      }
    },
    { boundedRuns: 4, shareOfFile: 0.6 },
  );
});
