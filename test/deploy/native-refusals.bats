#!/usr/bin/env bats
# Native installs refuse a release that does not verify, before anything is unpacked: a real hub
# process serves releases with a bad signature, a wrong sha256, or signed by a key other than the
# pinned one; the prefix must not exist afterwards and no process may be left running.

load helpers

setup() {
  HUB="$BATS_TEST_TMPDIR/hub"
  PREFIX_DIR="$BATS_TEST_TMPDIR/opt/tether"
  export DOCKER_STANDIN_DIR="$BATS_TEST_TMPDIR/docker" # engine down
  use_stand_in "$BATS_TEST_TMPDIR" docker
  use_stand_in "$BATS_TEST_TMPDIR" crontab
  export CRONTAB_STANDIN_FILE="$BATS_TEST_TMPDIR/crontab"
  PATH="$(stand_in_dir "$BATS_TEST_TMPDIR"):$PATH"
  start_hub "$HUB"
  create_key "$HUB"
}

teardown() { stop_hub "$HUB"; }

install() { "$DEPLOY" --key "$(cat "$HUB/key")" --server "ws://127.0.0.1:$HUB_PORT" --prefix "$PREFIX_DIR" "$@"; }

assert_nothing_installed() {
  [ ! -e "$PREFIX_DIR" ] || { find "$PREFIX_DIR"; return 1; }
  [ ! -e "$CRONTAB_STANDIN_FILE" ]
  [ -z "$(processes_of "$PREFIX_DIR")" ]
}

@test "a release whose signature does not verify is refused before unpacking" {
  publish_release "$HUB" 1.0.0 signature
  run install
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"release 1.0.0: the manifest signature does not verify with the trusted release key(s)"* ]]
  [[ "${lines[-1]}" == *"refusing to install"* ]]
  assert_nothing_installed
}

@test "a tarball that does not match the signed sha256 is refused" {
  publish_release "$HUB" 1.0.0 sha
  run install
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"sha256 does not match the signed manifest; refusing to install"* ]]
  assert_nothing_installed
}

@test "a release signed by a key other than the pinned --release-key is refused" {
  publish_release "$HUB" 1.0.0
  run install --release-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
  [ "$status" -eq 1 ]
  [[ "$output" == *"release key pinned by --release-key"* ]]
  [[ "${lines[-1]}" == *"signature does not verify"* ]]
  assert_nothing_installed
}

@test "a version the hub does not have is refused with the hub's answer" {
  publish_release "$HUB" 1.0.0
  run install --version 9.9.9
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"the hub refused http://127.0.0.1:$HUB_PORT/api/agents/releases/9.9.9/"*"404"* ]]
  assert_nothing_installed
}

@test "a hub without any release for this platform is refused" {
  run install
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"the hub refused"*"releases/latest?platform="*"404"* ]]
  assert_nothing_installed
}

@test "--version installs that exact release" {
  publish_release "$HUB" 1.0.0
  publish_release "$HUB" 1.2.0
  run install --version 1.0.0
  [ "$status" -eq 0 ]
  [ "$(readlink "$PREFIX_DIR/state/current")" = versions/1.0.0 ]
  run "$DEPLOY" --uninstall --purge --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  assert_nothing_installed
}
