#!/usr/bin/env bats
# deploy.sh command line: help, version, and every bad input gets one clear line and a non-zero
# exit with nothing installed.

load helpers

setup() {
  PREFIX_DIR="$BATS_TEST_TMPDIR/prefix"
  export DOCKER_STANDIN_DIR="$BATS_TEST_TMPDIR/docker"
  # No Docker engine here: the docker stand-in (engine down unless a test says so) keeps a docker
  # CLI that might exist on the machine out of these tests.
  use_stand_in "$BATS_TEST_TMPDIR" docker
  PATH="$(stand_in_dir "$BATS_TEST_TMPDIR"):$PATH"
}

# The error is exactly one line on stderr and the prefix was not created.
assert_refused() { # expected-status pattern
  [ "$status" -eq "$1" ] || { echo "status $status, expected $1: $output"; return 1; }
  [ "${#lines[@]}" -eq 1 ] || { echo "expected one line, got: $output"; return 1; }
  [[ "$output" == *"$2"* ]] || { echo "expected \"$2\" in: $output"; return 1; }
  [ ! -e "$PREFIX_DIR" ] || { echo "$PREFIX_DIR was created"; return 1; }
}

@test "--help and -h print the usage and exit 0" {
  run "$DEPLOY" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--key KEY"* ]]
  [[ "$output" == *"--uninstall"* ]]
  run "$DEPLOY" -h
  [ "$status" -eq 0 ]
  [[ "$output" == *"--release-key KEY"* ]]
}

@test "--version alone prints the script version" {
  run "$DEPLOY" --version
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^tether\ deploy\.sh\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "the served default server line is present exactly once" {
  run grep -c "^TETHER_DEFAULT_SERVER_URL=''\$" "$DEPLOY"
  [ "$output" = 1 ]
}

@test "missing key" {
  run "$DEPLOY" --server ws://127.0.0.1:1 --native --prefix "$PREFIX_DIR"
  assert_refused 2 "missing --key KEY"
}

@test "a key that is not a key" {
  run "$DEPLOY" --key 'short' --server ws://127.0.0.1:1 --native --prefix "$PREFIX_DIR"
  assert_refused 2 "--key does not look like an agent key"
  run "$DEPLOY" --key "abc def ghi jkl" --server ws://127.0.0.1:1 --native --prefix "$PREFIX_DIR"
  assert_refused 2 "--key does not look like an agent key"
  run "$DEPLOY" --key "abcdefgh'; rm -rf /" --server ws://127.0.0.1:1 --native --prefix "$PREFIX_DIR"
  assert_refused 2 "--key does not look like an agent key"
}

@test "TETHER_API_KEY stands in for --key" {
  TETHER_API_KEY=short run "$DEPLOY" --server ws://127.0.0.1:1 --native --prefix "$PREFIX_DIR"
  assert_refused 2 "--key does not look like an agent key"
}

@test "missing server when the script was not served by a hub" {
  run "$DEPLOY" --key abcdefgh12345678 --native --prefix "$PREFIX_DIR"
  assert_refused 2 "missing --server URL"
}

@test "a server that is not a URL" {
  for bad in hub.example.com ftp://hub 'ws://hub/$(id)' 'ws://' 'https://a b'; do
    run "$DEPLOY" --key abcdefgh12345678 --server "$bad" --native --prefix "$PREFIX_DIR"
    assert_refused 2 "is not a hub URL"
  done
}

@test "bad --allow" {
  run "$DEPLOY" --key abcdefgh12345678 --server ws://127.0.0.1:1 --allow 'ping,Exec' --prefix "$PREFIX_DIR"
  assert_refused 2 '--allow: "Exec" is not a command name'
  run "$DEPLOY" --key abcdefgh12345678 --server ws://127.0.0.1:1 --allow ',' --prefix "$PREFIX_DIR"
  assert_refused 2 "--allow"
}

@test "bad --name" {
  run "$DEPLOY" --key abcdefgh12345678 --server ws://127.0.0.1:1 --name '../x' --prefix "$PREFIX_DIR"
  assert_refused 2 "--name"
}

@test "bad --version" {
  run "$DEPLOY" --key abcdefgh12345678 --server ws://127.0.0.1:1 --version 1.2 --prefix "$PREFIX_DIR"
  assert_refused 2 '--version "1.2" is not a release version'
}

@test "bad --prefix" {
  run "$DEPLOY" --key abcdefgh12345678 --server ws://127.0.0.1:1 --native --prefix '/tmp/a b'
  assert_refused 2 "--prefix"
  run "$DEPLOY" --key abcdefgh12345678 --server ws://127.0.0.1:1 --native --prefix '/tmp/../etc'
  assert_refused 2 "--prefix"
}

@test "bad --release-key" {
  run "$DEPLOY" --key abcdefgh12345678 --server ws://127.0.0.1:1 --native --release-key abc --prefix "$PREFIX_DIR"
  assert_refused 2 "--release-key must be the base64 of a 32-byte Ed25519 public key"
}

@test "unknown flags, missing values and conflicting flags" {
  run "$DEPLOY" --frobnicate
  assert_refused 2 'unknown argument "--frobnicate"'
  run "$DEPLOY" --key
  assert_refused 2 "--key needs a value"
  run "$DEPLOY" --key --native
  assert_refused 2 "--key needs a value"
  run "$DEPLOY" --status --stop
  assert_refused 2 "cannot be combined"
  run "$DEPLOY" --docker --native --key abcdefgh12345678
  assert_refused 2 "--docker and --native cannot be combined"
  run "$DEPLOY" --status --follow
  assert_refused 2 "--follow goes with --logs"
  run "$DEPLOY" --stop --purge
  assert_refused 2 "--purge goes with --uninstall"
}

@test "unreachable hub" {
  run "$DEPLOY" --key abcdefgh12345678 --server ws://127.0.0.1:9 --native --prefix "$PREFIX_DIR"
  assert_refused 1 "cannot reach the hub at http://127.0.0.1:9"
}

@test "unsupported platform" {
  use_stand_in "$BATS_TEST_TMPDIR" uname
  UNAME_STANDIN='Darwin arm64' run "$DEPLOY" --key abcdefgh12345678 --server ws://127.0.0.1:9 --native --prefix "$PREFIX_DIR"
  assert_refused 1 "unsupported platform: Darwin arm64"
  UNAME_STANDIN='Linux sparc64' run "$DEPLOY" --key abcdefgh12345678 --server ws://127.0.0.1:9 --native --prefix "$PREFIX_DIR"
  assert_refused 1 "unsupported platform: Linux sparc64"
}

@test "no write permission for the prefix" {
  command -v setpriv >/dev/null || skip "setpriv (util-linux) is needed to run as an unprivileged user"
  [ "$(id -u)" -eq 0 ] || skip "needs root to switch to the nobody user"
  mkdir -m 755 "$BATS_TEST_TMPDIR/root-owned"
  chmod 755 "$BATS_TEST_TMPDIR"
  PREFIX_DIR="$BATS_TEST_TMPDIR/root-owned/tether"
  run setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp PATH="$PATH" \
    bash -s -- --key abcdefgh12345678 --server ws://127.0.0.1:9 --native --prefix "$PREFIX_DIR" <"$DEPLOY"
  assert_refused 1 "no write permission for $PREFIX_DIR"
}

@test "lifecycle actions with nothing installed say so" {
  for action in --status --logs --update --stop --start --restart --uninstall; do
    run "$DEPLOY" "$action" --prefix "$PREFIX_DIR"
    assert_refused 1 "no tether agent installed at $PREFIX_DIR or as container tether-agent"
  done
}

@test "--docker without a working engine" {
  run "$DEPLOY" --docker --key abcdefgh12345678 --server ws://127.0.0.1:9
  assert_refused 1 "no working Docker engine"
}
