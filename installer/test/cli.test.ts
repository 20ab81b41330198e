// The manager's command line: deploy.sh checked the values already; the manager checks them again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand } from '../src/cli.ts';
import { ManagerError } from '../src/output.ts';

function usageError(pattern: RegExp) {
  return (error: unknown) => error instanceof ManagerError && error.exitCode === 2 && pattern.test(error.message);
}

const install = ['install', '--prefix', '/opt/tether', '--platform', 'linux-x64', '--tarball', '/w/r.tar.gz', '--manifest', '/w/m.json', '--signature', '/w/m.sig', '--release-keys', '/w/keys'];

test('lifecycle commands and install parse; the prefix loses a trailing slash', () => {
  assert.deepEqual(parseCommand(['status', '--prefix', '/opt/tether/']), { command: 'status', prefix: '/opt/tether' });
  assert.deepEqual(parseCommand(['logs', '--prefix', '/opt/tether', '--follow']), { command: 'logs', prefix: '/opt/tether', follow: true });
  const parsed = parseCommand([...install, '--allow', 'ping, info', '--signing-key', Buffer.alloc(32).toString('base64')]);
  assert.equal(parsed.command, 'install');
  if (parsed.command === 'install') {
    assert.deepEqual(parsed.allow, ['ping', 'info']);
    assert.equal(parsed.name, 'tether-agent');
    assert.equal(parsed.update, false);
  }
  assert.deepEqual(parseCommand([]), { command: 'help' });
});

test('bad values are usage errors naming the flag', () => {
  assert.throws(() => parseCommand(['frobnicate', '--prefix', '/x']), usageError(/unknown command "frobnicate"/));
  assert.throws(() => parseCommand(['status', '--prefix', 'relative']), usageError(/--prefix must be a plain absolute directory path/));
  assert.throws(() => parseCommand(['status', '--prefix', '/opt/../etc']), usageError(/--prefix must not contain/));
  assert.throws(() => parseCommand(['status', '--prefix', '/opt/tether', '--nope']), usageError(/Unknown option '--nope'/));
  assert.throws(() => parseCommand(['install', '--prefix', '/opt/tether']), usageError(/--platform is required/));
  assert.throws(() => parseCommand([...install, '--allow', 'ping,Exec']), usageError(/--allow permissions are lower-case command names/));
  assert.throws(() => parseCommand([...install, '--signing-key', 'abc']), usageError(/--signing-key must be the base64 of a 32-byte Ed25519 public key/));
  assert.throws(() => parseCommand([...install, '--server', "ws://h/'$(id)"]), usageError(/--server must be a hub URL/));
  assert.throws(() => parseCommand(['state-install', '--prefix', '/opt/tether', '--version', '1.2', '--tarball', '/t']), usageError(/--version must be a release version/));
  assert.throws(() => parseCommand(['rotate-logs', '--prefix', '/opt/tether', '--pid', '1']), usageError(/--pid/));
});
