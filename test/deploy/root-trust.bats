#!/usr/bin/env bats
# Issue 9 item 1 (service user -> root), performed for real: a root install without systemd (the
# pid-file service), whose service user (`tether`, created by deploy.sh and removed again by its
# --uninstall, or one that existed before, which is then kept) plants a program, edited releases, release keys and symlinks in the state dir it
# owns. Root-run --status, --restart, --update and re-installs must never run or trust any of it.
# Also: the hub's command-signing key pinned at install (issue 9 item 14), and the systemd unit
# `deploy.sh --dry-run` renders, checked with systemd-analyze (verify, and the security score).
# The tests are the steps of one install's life and run in order.

load helpers

setup_file() {
  [ "$(id -u)" -eq 0 ] || skip "needs root: the install under test is a root install"
  command -v setpriv >/dev/null || skip "setpriv (util-linux) is needed"
  export PREFIX_DIR="$BATS_FILE_TMPDIR/opt/tether"
  export CRONTAB_STANDIN_FILE="$BATS_FILE_TMPDIR/crontab" DOCKER_STANDIN_DIR="$BATS_FILE_TMPDIR/docker"
  export KEYS="$BATS_FILE_TMPDIR/keys" ATTACKER_KEYS="$BATS_FILE_TMPDIR/attacker-keys"
  export RELEASES="$BATS_FILE_TMPDIR/releases" HUB="$BATS_FILE_TMPDIR/hub"
  mkdir -p "$DOCKER_STANDIN_DIR" "$BATS_FILE_TMPDIR/opt"
  use_stand_in "$BATS_FILE_TMPDIR" crontab
  use_stand_in "$BATS_FILE_TMPDIR" docker
  export PATH="$(stand_in_dir "$BATS_FILE_TMPDIR"):$PATH"
  PRE_EXISTING_USER=0
  if id tether >/dev/null 2>&1; then PRE_EXISTING_USER=1; fi
  export PRE_EXISTING_USER
  make_release_key "$KEYS"
  make_release_key "$ATTACKER_KEYS"
  build_release "$KEYS" "$RELEASES" 0.1.0
  build_release "$KEYS" "$RELEASES" 0.2.0
  build_release "$ATTACKER_KEYS" "$RELEASES" 0.3.0
  start_hub "$HUB" "$KEYS"
  publish_release "$HUB" "$RELEASES" 0.1.0
  create_key "$HUB"
}

teardown_file() {
  [ -n "${PREFIX_DIR:-}" ] || return 0
  if [ -f "$PREFIX_DIR/install.env" ]; then "$DEPLOY" --uninstall --purge --prefix "$PREFIX_DIR" >/dev/null 2>&1 || true; fi
  stop_installed "$PREFIX_DIR"
  stop_hub "$HUB"
}

# as_service_user CMD...: what the service user can do (it owns the state dir).
as_service_user() { setpriv --reuid=tether --regid=tether --clear-groups env -i PATH=/usr/bin:/bin "$@"; }
owner_of() { stat -c %U "$1"; }
install() { "$DEPLOY" --key "$(cat "$HUB/key")" --server "ws://127.0.0.1:$HUB_PORT" --native --prefix "$PREFIX_DIR" "$@"; }
marker() { printf '%s/state/planted-node-ran' "$PREFIX_DIR"; }
root_side() { find "$PREFIX_DIR" -path "$PREFIX_DIR/state" -prune -o -path "$PREFIX_DIR/logs" -prune -o -printf '%y %m %u %P\n' | sort; }

@test "a root install without systemd: root's files are root's, the agent runs as the service user" {
  run install --allow ping,info
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"installed tether agent 0.1.0 in $PREFIX_DIR (fallback service)"* ]]
  # Everything root runs or trusts: root-owned, not writable by group or others.
  for path in "$PREFIX_DIR" "$PREFIX_DIR/install.env" "$PREFIX_DIR/release-keys.pub" "$PREFIX_DIR/tether.sh" "$PREFIX_DIR/logs"; do
    [ "$(owner_of "$path")" = root ] || { echo "$path is not root's"; return 1; }
  done
  [ -z "$(find "$PREFIX_DIR/lib" "$PREFIX_DIR/install.env" "$PREFIX_DIR/release-keys.pub" "$PREFIX_DIR/tether.sh" ! -type l \( ! -user 0 -o -perm /022 \) -print)" ]
  [ -x "$PREFIX_DIR/lib/current/bin/node" ] && [ -f "$PREFIX_DIR/lib/current/manager.mjs" ]
  # The service user's own: the state dir (0700) and its config (0600).
  [ "$(stat -c '%U %a' "$PREFIX_DIR/state")" = 'tether 700' ]
  [ "$(stat -c '%U %a' "$PREFIX_DIR/agent.yaml")" = 'tether 600' ]
  [ -z "$(find "$PREFIX_DIR/state" ! -user tether -print)" ]
  # Supervisor and agent run as the service user, never as root.
  wait_for "the agent to start" agent_pid
  [ "$(ps -o user= -p "$(cat "$PREFIX_DIR/tether.pid")")" = tether ]
  [ "$(ps -o user= -p "$(agent_pid)")" = tether ]
  # The service user cannot change what root trusts.
  run as_service_user sh -c "echo x >>'$PREFIX_DIR/release-keys.pub'"
  [ "$status" -ne 0 ]
  run as_service_user sh -c "echo x >'$PREFIX_DIR/lib/current/manager.mjs'"
  [ "$status" -ne 0 ]
  run as_service_user mv "$PREFIX_DIR/lib" "$PREFIX_DIR/state/lib"
  [ "$status" -ne 0 ]
}

# The agent pid the supervisor reports (without jq: the field is flat).
agent_pid() {
  local pid
  pid="$(sed -n 's/.*"agent_pid": \([0-9][0-9]*\).*/\1/p' "$PREFIX_DIR/state/supervisor.json")"
  [ -n "$pid" ] && echo "$pid"
}

@test "the hub's command-signing key is pinned at install, and --signing-key must match it" {
  local hub_key fingerprint
  hub_key="$(tr -d '\n' <"$HUB/data/command-signing-key.pub")"
  fingerprint="$(printf '%s' "$hub_key" | base64 -d | sha256sum | cut -c1-16)"
  grep -qxF "  public_key: '$hub_key'" "$PREFIX_DIR/agent.yaml"
  run install --signing-key "$hub_key"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"hub command-signing key: $fingerprint, as given with --signing-key"* ]]
  # Another key given out of band: the install stops before changing anything.
  cp "$PREFIX_DIR/agent.yaml" "$BATS_TEST_TMPDIR/agent.yaml.before"
  run install --signing-key "$(cat "$KEYS/release-key.pub")"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"the hub's command-signing key $fingerprint is not the one given with --signing-key"*"refusing to install"* ]]
  cmp "$BATS_TEST_TMPDIR/agent.yaml.before" "$PREFIX_DIR/agent.yaml"
}

@test "a node binary planted in state/current is never run as root by --status, --restart, a re-install or --update" {
  # The service user replaces state/current/bin/node with a program that records who runs it.
  local bin="$PREFIX_DIR/state/current/bin"
  as_service_user mv "$bin/node" "$bin/node.real"
  as_service_user sh -c "printf '#!/bin/sh\nid -u >>%s\nexec %s \"\$@\"\n' '$(marker)' '$bin/node.real' >'$bin/node' && chmod 755 '$bin/node'"
  run "$DEPLOY" --status --prefix "$PREFIX_DIR"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"running: version 0.1.0"* ]]
  [ ! -e "$(marker)" ] # --status ran nothing from the state dir
  run "$DEPLOY" --restart --prefix "$PREFIX_DIR"
  echo "$output"
  [ "$status" -eq 0 ]
  wait_for "the restarted supervisor to run the planted program" test -s "$(marker)"
  run install
  echo "$output"
  [ "$status" -eq 0 ]
  publish_release "$HUB" "$RELEASES" 0.2.0
  run "$DEPLOY" --update --prefix "$PREFIX_DIR"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"updated 0.1.0 -> 0.2.0"* ]]
  # It ran, and only ever as the service user: the uid it recorded is never 0.
  cat "$(marker)"
  ! grep -qx 0 "$(marker)"
  grep -qx "$(id -u tether)" "$(marker)"
}

@test "a re-install re-verifies an edited state/versions/<v> (forged record and all) and unpacks it again" {
  local agent="$PREFIX_DIR/state/versions/0.2.0/agent.mjs" record="$PREFIX_DIR/state/releases/0.2.0/files.json" genuine
  genuine="$(sha256sum "$agent" | cut -d' ' -f1)"
  # The service user edits the release and forges its install record to match.
  as_service_user sh -c "echo 'globalThis.planted = true;' >>'$agent'"
  local forged
  forged="$(sha256sum "$agent" | cut -d' ' -f1)"
  as_service_user sed -i "s/\"agent.mjs\": \"$genuine\"/\"agent.mjs\": \"$forged\"/" "$record"
  grep -qF "\"agent.mjs\": \"$forged\"" "$record"
  run install --version 0.2.0
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"state/versions/0.2.0 did not match the signed release (agent.mjs does not match its signed sha256); unpacked it again"* ]]
  [[ "$output" != *"already unpacked"* ]]
  [ "$(sha256sum "$agent" | cut -d' ' -f1)" = "$genuine" ]
  grep -qF "\"agent.mjs\": \"$genuine\"" "$record"
  [ "$(owner_of "$agent")" = tether ]
  # An untouched copy is reused, after the same check.
  run install --version 0.2.0
  [ "$status" -eq 0 ]
  [[ "$output" == *"release 0.2.0 already unpacked in $PREFIX_DIR/state/versions/0.2.0 (it matches the signed release)"* ]]
}

@test "release keys planted in the state dir are not trusted: root verifies with its own" {
  as_service_user sh -c "printf '%s\\n' '$(cat "$ATTACKER_KEYS/release-key.pub")' >'$PREFIX_DIR/state/release-keys.pub'"
  # A hub (or mirror) now serves a release signed by the attacker's key, and lists that key.
  cat "$ATTACKER_KEYS/release-key.pub" >>"$HUB/data/release-keys"
  publish_release "$HUB" "$RELEASES" 0.3.0
  run "$DEPLOY" --update --prefix "$PREFIX_DIR"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"release 0.3.0: the manifest signature does not verify with the trusted release key(s) $(key_fingerprint_of "$KEYS")"*"refusing to install"* ]]
  [ "$(readlink "$PREFIX_DIR/state/current")" = versions/0.2.0 ]
  [ ! -e "$PREFIX_DIR/state/versions/0.3.0" ]
  # The next install pins root's keys in the state dir again.
  run install --version 0.2.0
  [ "$status" -eq 0 ]
  grep -qxF "$(cat "$KEYS/release-key.pub")" "$PREFIX_DIR/state/release-keys.pub"
  ! grep -qF "$(cat "$ATTACKER_KEYS/release-key.pub")" "$PREFIX_DIR/state/release-keys.pub"
}

@test "root reads the state dir as plain data: a symlink or a FIFO planted there is neither followed nor waited on" {
  local status_file="$PREFIX_DIR/state/supervisor.json"
  # Stopped first: a running supervisor rewrites supervisor.json on every change (an agent that
  # becomes ready after the previous test's re-install), which would replace the planted file.
  run "$DEPLOY" --stop --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  as_service_user ln -sf /etc/shadow "$status_file.planted"
  as_service_user mv -f "$status_file.planted" "$status_file"
  run timeout 60 "$DEPLOY" --status --prefix "$PREFIX_DIR"
  echo "$output"
  [[ "$output" == *"supervisor unknown"* ]]
  [[ "$output" != *"root:"* ]]
  as_service_user rm -f "$status_file"
  as_service_user mkfifo "$status_file"
  run timeout 60 "$DEPLOY" --status --prefix "$PREFIX_DIR"
  echo "$output"
  [ "$status" -ne 124 ] # did not hang
  [[ "$output" == *"supervisor unknown"* ]]
  as_service_user rm -f "$status_file"
  run "$DEPLOY" --start --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
}

@test "--dry-run prints the systemd unit; systemd-analyze verifies it and scores it at most 3.5" {
  command -v systemd-analyze >/dev/null || skip "systemd-analyze is needed (apt-get install systemd)"
  root_side >"$BATS_TEST_TMPDIR/tree-before"
  "$DEPLOY" --dry-run --native --server "ws://127.0.0.1:$HUB_PORT" --prefix "$PREFIX_DIR" --version 0.2.0 >"$BATS_TEST_TMPDIR/tether-agent.service" 2>"$BATS_TEST_TMPDIR/messages"
  cat "$BATS_TEST_TMPDIR/tether-agent.service"
  root_side | diff "$BATS_TEST_TMPDIR/tree-before" - # the running agent keeps changing its state dir: left out
  grep -qxF "ExecStart=$PREFIX_DIR/state/current/bin/node $PREFIX_DIR/state/current/supervisor.mjs run --state-dir $PREFIX_DIR/state --agent-entry $PREFIX_DIR/state/current/agent.mjs" "$BATS_TEST_TMPDIR/tether-agent.service"
  grep -qxF 'User=tether' "$BATS_TEST_TMPDIR/tether-agent.service"
  grep -qF 'release 0.2.0 verified' "$BATS_TEST_TMPDIR/messages"
  systemd-analyze verify "$BATS_TEST_TMPDIR/tether-agent.service"
  run systemd-analyze security --offline=yes --threshold=35 "$BATS_TEST_TMPDIR/tether-agent.service"
  echo "$output" | tail -n 3
  [ "$status" -eq 0 ]
  [[ "${lines[-1]}" =~ Overall\ exposure\ level\ for\ tether-agent.service:\ ([0-9.]+) ]]
  awk -v score="${BASH_REMATCH[1]}" 'BEGIN { exit !(score <= 3.5) }'
}

@test "--uninstall --purge as root removes everything, and the service user when it created it" {
  run "$DEPLOY" --uninstall --purge --prefix "$PREFIX_DIR"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"removed $PREFIX_DIR"* ]]
  [ ! -e "$PREFIX_DIR" ]
  [ -z "$(processes_of "$PREFIX_DIR")" ]
  if [ "$PRE_EXISTING_USER" = 1 ]; then
    [[ "$output" != *"removed the service user"* ]]
    id tether
  else
    [[ "$output" == *"removed the service user tether"* ]]
    run id tether
    [ "$status" -ne 0 ]
  fi
}
