// Fuzzing the command lines (issue 9, "Fuzzing"): `tether` (against a real hub of its own),
// `tether-agent`, `tether-supervisor` and the installer's manager.mjs run as real processes with
// fast-check-made arguments: their subcommands and flags in any order, with values of any shape.
// Properties: every run ends by itself (no hang) with an exit code, not a signal, and what it
// prints holds no stack trace or programming error, only a refusal or an answer. Long-running
// subcommands (`tether hub`, `run`), and ones that act on processes or the machine (the manager's
// start/stop/uninstall/rotate-logs, `logs --follow`) are left out; every path the fuzzer gives
// lands inside this test's temp dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { REPO_ROOT, startProcess, waitFor } from '../helpers/process.ts';
import { AGENT_MAIN, HUB_CLI, SUPERVISOR_MAIN, startHub, tempDir } from '../helpers/system.ts';
import type { HubHandle } from '../helpers/system.ts';
import { CRASH_TEXT, fuzz, nastyString } from './fuzz-run.ts';

const MANAGER_MAIN = join(REPO_ROOT, 'installer/src/main.ts');

let dir: { path: string; remove(): Promise<void> };
let hub: HubHandle;
before(async () => {
  dir = await tempDir('fuzz-cli');
  hub = await startHub({ dataDir: join(dir.path, 'hub'), args: ['--max-auth-failures-per-minute', '1000000'] });
});
after(async () => {
  await hub?.stop();
  await dir?.remove();
});

interface Cli {
  name: string;
  entry: string;
  /** First words: subcommands (the long-running and machine-changing ones left out). */
  commands: string[][];
  flags: string[];
}

const CLIS: Cli[] = [
  {
    name: 'tether',
    entry: HUB_CLI,
    commands: [
      [],
      ['keys', 'create'],
      ['keys', 'list'],
      ['keys', 'show'],
      ['keys', 'disable'],
      ['keys', 'enable'],
      ['keys', 'delete'],
      ['keys', 'regenerate'],
      ['keys'],
      ['agents'],
      ['send'],
      ['release-key', 'generate'],
      ['release-key'],
      ['hub', 'publish'],
    ],
    flags: ['--name', '--permissions', '--json', '--wait', '--hub', '--token', '--data-dir', '--out', '--help', '-h', '--version', '-V', '--labels', '--'],
  },
  {
    name: 'tether-agent',
    entry: AGENT_MAIN,
    commands: [[], ['version'], ['health-check'], ['dump-state'], ['backup'], ['backup', 'run'], ['backup', 'list'], ['backup', 'verify'], ['backup', 'prune'], ['backup', 'restore']],
    flags: ['--json', '--allow-secrets', '--destination', '--keep', '--help', '-h', '--version', '--'],
  },
  {
    name: 'tether-supervisor',
    entry: SUPERVISOR_MAIN,
    commands: [[], ['status'], ['help']],
    flags: ['--json', '--state-dir', '--agent-entry', '--backoff-cap-s', '--stop-grace-s', '--ready-grace-s', '--update-grace-s', '--update-trial-s', '--help', '-h', '--version'],
  },
  {
    name: 'manager.mjs',
    entry: MANAGER_MAIN,
    commands: [[], ['status'], ['logs'], ['install'], ['state-install'], ['state-remove'], ['help']],
    flags: [
      '--prefix',
      '--platform',
      '--tarball',
      '--manifest',
      '--signature',
      '--release-keys',
      '--server',
      '--name',
      '--allow',
      '--requested-version',
      '--signing-key',
      '--update',
      '--dry-run',
      '--version',
      '--clear-bad-mark',
      '--purge',
      '--help',
    ],
  },
];

/** A token that could name a path is moved into the temp dir, so nothing outside it is touched. */
function confined(token: string, serial: number): string {
  if (/^(https?|wss?):\/\/127\.0\.0\.1(:\d+)?(\/[\w./-]*)?$/.test(token) || token.startsWith('-')) return token;
  if (token.includes('/') || token.startsWith('.') || token.startsWith('~') || token.includes('\\')) return join(dir.path, `p${serial}`, token.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_'));
  return token;
}

const value = () =>
  fc.oneof(
    fc.constantFrom(
      'ping',
      'ping,echo',
      'k_123',
      '0',
      '-1',
      '1.5',
      '1e9',
      'latest',
      '0.1.0',
      'linux-x64',
      'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      '{"message":"hi"}',
      '{',
      'hub',
      's3',
      'local',
      'http://127.0.0.1:9',
      'ftp://x',
      '/abs/path',
      'rel/path',
    ),
    fc.constant('@hub'),
    fc.constant('@key'),
    nastyString(30),
  );

const invocation = fc.constantFrom(...CLIS.map((cli) => cli.name)).chain((name) => {
  const cli = CLIS.find((candidate) => candidate.name === name)!;
  return fc.record({
    cli: fc.constant(name),
    command: fc.constantFrom(...cli.commands),
    /** The agent's config from the environment: one that goes nowhere, or one that is invalid. */
    validConfig: fc.boolean(),
    rest: fc.array(fc.oneof({ arbitrary: fc.constantFrom(...cli.flags), weight: 2 }, { arbitrary: value(), weight: 3 }), { maxLength: 6 }),
  });
});

let serial = 0;
let someKeyId = 'none';

test('every CLI, any arguments: it ends by itself with a refusal or an answer, never a crash', { timeout: 3_600_000 }, async () => {
  someKeyId = (await hub.createKey('fuzz-cli', ['ping'])).id;
  await fuzz(
    'CLI arguments',
    invocation,
    async ({ cli: name, command, validConfig, rest }) => {
      const cli = CLIS.find((candidate) => candidate.name === name)!;
      const n = ++serial;
      const args = [...command, ...rest.map((token) => (token === '@hub' ? hub.url : token === '@key' ? someKeyId : confined(token, n)))].map((arg) => arg.replaceAll('\u0000', ''));
      const stateDir = join(dir.path, `state-${n}`);
      const run = startProcess([cli.entry, ...args], {
        cwd: dir.path,
        env: {
          // The operator CLI talks to this test's hub; the agent has a config that goes nowhere.
          TETHER_HUB_URL: hub.url,
          TETHER_ADMIN_TOKEN: hub.token,
          TETHER_SERVER_URL: validConfig ? 'ws://127.0.0.1:9' : 'not-a-url',
          TETHER_API_KEY: 'tak_fuzz-cli-key-0123456789',
          TETHER_STATE_DIR: stateDir,
          TETHER_CONFIG: '',
          TETHER_SUPERVISED: '',
          HOME: dir.path,
          XDG_STATE_HOME: join(dir.path, 'xdg-state'),
        },
      });
      try {
        await waitFor(() => run.exitInfo, `${name} ${JSON.stringify(args)} to end`, 60_000, 20);
        const output = run.lines.join('\n');
        const what = `${name} ${JSON.stringify(args)} → ${JSON.stringify(run.exitInfo)}:\n${output.slice(0, 2000)}`;
        assert.equal(run.exitInfo!.signal, null, `ended by a signal: ${what}`);
        assert.doesNotMatch(output, CRASH_TEXT, `a crash, not a refusal: ${what}`);
        if (run.exitInfo!.code !== 0) assert.ok(output.trim().length > 0, `a failure without a word: ${what}`);
      } finally {
        await run.stop('SIGKILL');
      }
    },
    {
      boundedRuns: 6,
      shareOfFile: 1,
      regressions: [
        // A malformed artifact id threw out of the backup CLI with a stack trace (agent/src/backup/cli.ts).
        { cli: 'tether-agent', command: ['backup', 'verify'], validConfig: true, rest: ['key_336e41e0327e'] },
        // So did an invalid config there (a ConfigError, now exit 78 with its message).
        { cli: 'tether-agent', command: ['backup', 'list'], validConfig: false, rest: [] },
      ],
    },
  );
});
