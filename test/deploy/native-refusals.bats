#!/usr/bin/env bats
# Native installs refuse a release that does not verify, before anything is unpacked. The real hub
# refuses to publish a tampered release, so each test publishes a real signed release and then
# tampers with the copy in the hub's <data-dir>/releases/<v>/, which the hub serves as it is (as a
# compromised hub or mirror would). Afterwards the prefix must not exist, deploy.sh's work dir must
# be gone and no process may be left running.

load helpers

setup_file() {
  export KEYS="$BATS_FILE_TMPDIR/keys" OTHER_KEYS="$BATS_FILE_TMPDIR/other-keys" RELEASES="$BATS_FILE_TMPDIR/releases"
  make_release_key "$KEYS"
  make_release_key "$OTHER_KEYS" # a key the hub and the installer do not trust
  build_release "$KEYS" "$RELEASES" 0.1.0
  build_release "$KEYS" "$RELEASES" 0.2.0
}

setup() {
  HUB="$BATS_TEST_TMPDIR/hub"
  PREFIX_DIR="$BATS_TEST_TMPDIR/opt/tether"
  export DOCKER_STANDIN_DIR="$BATS_TEST_TMPDIR/docker" # engine down
  use_stand_in "$BATS_TEST_TMPDIR" docker
  use_stand_in "$BATS_TEST_TMPDIR" crontab
  export CRONTAB_STANDIN_FILE="$BATS_TEST_TMPDIR/crontab"
  PATH="$(stand_in_dir "$BATS_TEST_TMPDIR"):$PATH"
  # deploy.sh downloads into a mktemp dir under TMPDIR: a private one, checked empty afterwards.
  export TMPDIR="$BATS_TEST_TMPDIR/tmp"
  mkdir -p "$TMPDIR"
  start_hub "$HUB" "$KEYS"
  create_key "$HUB"
}

teardown() {
  stop_installed "$PREFIX_DIR"
  stop_hub "$HUB"
}

install() { "$DEPLOY" --key "$(cat "$HUB/key")" --server "ws://127.0.0.1:$HUB_PORT" --prefix "$PREFIX_DIR" "$@"; }

assert_nothing_installed() {
  [ ! -e "$PREFIX_DIR" ] || {
    find "$PREFIX_DIR"
    return 1
  }
  [ ! -e "$CRONTAB_STANDIN_FILE" ]
  [ -z "$(processes_of "$PREFIX_DIR")" ]
  [ -z "$(ls -A "$TMPDIR")" ] || {
    echo "left in TMPDIR: $(ls -A "$TMPDIR")"
    return 1
  }
}

# sign_with KEY_DIR FILE: base64 Ed25519 signature of FILE's bytes (what a .json.sig holds).
sign_with() { openssl pkeyutl -sign -inkey "$1/release-key.pem" -rawin -in "$2" | base64 -w0; }

@test "a swapped tarball with a rewritten manifest is refused: the signature does not verify" {
  publish_release "$HUB" "$RELEASES" 0.1.0
  local tarball manifest
  tarball="$(published_file "$HUB" 0.1.0 tar.gz)"
  manifest="$(published_file "$HUB" 0.1.0 json)"
  # The attacker's release: a well-formed tether-agent-0.1.0/ tree that would leave a marker.
  mkdir -p "$BATS_TEST_TMPDIR/evil/tether-agent-0.1.0/bin"
  echo 0.1.0 >"$BATS_TEST_TMPDIR/evil/tether-agent-0.1.0/VERSION"
  for file in agent.mjs supervisor.mjs bin/node evil-marker; do echo evil >"$BATS_TEST_TMPDIR/evil/tether-agent-0.1.0/$file"; done
  tar -czf "$tarball" -C "$BATS_TEST_TMPDIR/evil" tether-agent-0.1.0
  rm -rf "$BATS_TEST_TMPDIR/evil"
  sed -i "s/\"sha256\": *\"[0-9a-f]*\"/\"sha256\": \"$(sha256sum "$tarball" | cut -d' ' -f1)\"/; s/\"size\": *[0-9]*/\"size\": $(stat -c %s "$tarball")/" "$manifest"
  grep -qF "$(sha256sum "$tarball" | cut -d' ' -f1)" "$manifest"
  # The hub itself would not publish this; it serves it because it is already in its data dir.
  mkdir -p "$BATS_TEST_TMPDIR/tampered"
  cp "$HUB/data/releases/0.1.0/"* "$BATS_TEST_TMPDIR/tampered/"
  run "$NODE" "$TETHER_CLI" hub publish "$BATS_TEST_TMPDIR/tampered" --data-dir "$HUB/data"
  [ "$status" -eq 1 ]
  run install
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"release 0.1.0: the manifest signature does not verify with the trusted release key(s) $(key_fingerprint_of "$KEYS")"* ]]
  [[ "${lines[-1]}" == *"refusing to install"* ]]
  assert_nothing_installed
  [ -z "$(find "$BATS_TEST_TMPDIR" -name evil-marker)" ]
}

@test "a manifest signed by a key the installer does not trust is refused before unpacking" {
  publish_release "$HUB" "$RELEASES" 0.1.0
  local manifest
  manifest="$(published_file "$HUB" 0.1.0 json)"
  sign_with "$OTHER_KEYS" "$manifest" >"$(published_file "$HUB" 0.1.0 json.sig)"
  run install
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"release 0.1.0: the manifest signature does not verify"*"refusing to install"* ]]
  assert_nothing_installed
}

@test "a tarball that does not match the signed sha256 is refused" {
  publish_release "$HUB" "$RELEASES" 0.1.0
  # Same size, different bytes: only the sha256 can tell.
  printf 'XXXX' | dd of="$(published_file "$HUB" 0.1.0 tar.gz)" bs=1 seek=4096 conv=notrunc status=none
  run install
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"release 0.1.0: the tarball's sha256 does not match the signed manifest; refusing to install"* ]]
  assert_nothing_installed
}

@test "a release signed by a key other than the pinned --release-key is refused" {
  publish_release "$HUB" "$RELEASES" 0.1.0
  run install --release-key "$(cat "$OTHER_KEYS/release-key.pub")"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"release key pinned by --release-key"* ]]
  [[ "${lines[-1]}" == *"signature does not verify"* ]]
  assert_nothing_installed
}

@test "a version the hub does not have is refused with the hub's answer" {
  publish_release "$HUB" "$RELEASES" 0.1.0
  run install --version 9.9.9
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"the hub refused http://127.0.0.1:$HUB_PORT/api/agents/releases/9.9.9/"*"404"* ]]
  assert_nothing_installed
}

@test "a hub without any release for this platform is refused" {
  run install
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"the hub refused"*"releases/latest?platform="*"404"* ]]
  assert_nothing_installed
}

@test "--version installs that exact release; a version this host rolled back needs --version" {
  publish_release "$HUB" "$RELEASES" 0.1.0
  publish_release "$HUB" "$RELEASES" 0.2.0
  run install --version 0.1.0
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(readlink "$PREFIX_DIR/state/current")" = versions/0.1.0 ]
  [ ! -e "$PREFIX_DIR/state/versions/0.2.0" ]
  # What the supervisor writes when 0.2.0 failed its trial here: it would never run 0.2.0 again.
  printf '{\n  "versions": {\n    "0.2.0": {\n      "reason": "not ready within 30 s",\n      "marked_at": "2026-01-01T00:00:00.000Z"\n    }\n  }\n}\n' \
    >"$PREFIX_DIR/state/bad-versions.json"
  run "$DEPLOY" --update --prefix "$PREFIX_DIR"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"release 0.2.0 was rolled back on this host"*"install it anyway with --version 0.2.0"* ]]
  [ ! -e "$PREFIX_DIR/state/versions/0.2.0" ]
  [ "$(readlink "$PREFIX_DIR/state/current")" = versions/0.1.0 ]
  run "$DEPLOY" --update --version 0.2.0 --prefix "$PREFIX_DIR"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"installing it because --version named it"* ]]
  [[ "$output" == *"updated 0.1.0 -> 0.2.0"* ]]
  run ! grep -qF '"0.2.0"' "$PREFIX_DIR/state/bad-versions.json"
  [ "$(stat -c %a "$PREFIX_DIR/state/bad-versions.json")" = 600 ]
  run "$DEPLOY" --status --prefix "$PREFIX_DIR"
  [[ "$output" == *"running: version 0.2.0"* ]]
  run "$DEPLOY" --uninstall --purge --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  assert_nothing_installed
}
