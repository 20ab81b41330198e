#!/usr/bin/env bats
# Native mode end to end, for real: a real hub process (`tether hub`) serving real signed releases
# (`scripts/release.ts`, signed with a key from `tether release-key generate`, published with
# `tether hub publish`), the installer piped from the hub's /install.sh into bash, and the real
# supervisor and agent of the release running as processes. No systemd here, so this is the
# pid-file service; cron is not installed either, so the @reboot entry goes to the crontab
# stand-in. The tests are the steps of one install's life and run in order.

load helpers

setup_file() {
  export WORLD="$BATS_FILE_TMPDIR/world"
  export PREFIX_DIR="$WORLD/opt/tether"
  export CRONTAB_STANDIN_FILE="$BATS_FILE_TMPDIR/crontab"
  export DOCKER_STANDIN_DIR="$BATS_FILE_TMPDIR/docker" # engine down: native is the default
  export KEYS="$BATS_FILE_TMPDIR/keys" RELEASES="$BATS_FILE_TMPDIR/releases" HUB="$BATS_FILE_TMPDIR/hub"
  mkdir -p "$WORLD/opt" "$DOCKER_STANDIN_DIR"
  echo 'kept by the user' >"$WORLD/opt/other-file"
  printf '0 3 * * * /usr/local/bin/nightly-job\n' >"$CRONTAB_STANDIN_FILE"
  use_stand_in "$BATS_FILE_TMPDIR" crontab
  use_stand_in "$BATS_FILE_TMPDIR" docker
  export PATH="$(stand_in_dir "$BATS_FILE_TMPDIR"):$PATH"
  tree "$WORLD" >"$BATS_FILE_TMPDIR/tree-before"
  cp "$CRONTAB_STANDIN_FILE" "$BATS_FILE_TMPDIR/crontab-before"
  make_release_key "$KEYS"
  build_release "$KEYS" "$RELEASES" 0.1.0
  build_release "$KEYS" "$RELEASES" 0.2.0
  start_hub "$HUB" "$KEYS"
  publish_release "$HUB" "$RELEASES" 0.1.0
  create_key "$HUB"
}

teardown_file() {
  # Whatever happened, leave no process behind: what the install started, then the hub.
  stop_installed "$PREFIX_DIR"
  stop_hub "$HUB"
}

key() { cat "$HUB/key"; }
key_id() { cat "$HUB/key_id"; }
hub_url() { printf 'http://127.0.0.1:%s' "$HUB_PORT"; }
connected_version() { # prints the version of our connected agent
  admin_call GET /api/agents/connected | grep -o "\"key_id\":\"$(key_id)\"[^}]*\"version\":\"[^\"]*\"" | sed 's/.*"version":"//; s/"$//'
}
connected_with() { [ "$(connected_version)" = "$1" ]; }

@test "curl | bash from the hub's /install.sh installs the agent" {
  run bash -c "curl -fsSL $(hub_url)/install.sh | bash -s -- --key $(key) --native --prefix $PREFIX_DIR --allow ping,info"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"release key from the hub: "* ]]
  [[ "$output" == *"release 0.1.0 verified"* ]]
  [[ "$output" == *"installed tether agent 0.1.0 in $PREFIX_DIR"* ]]
  # Config: 0600, the served default server, the key, the state dir and the local policy.
  [ "$(stat -c %a "$PREFIX_DIR/agent.yaml")" = 600 ]
  grep -qxF "server_url: 'ws://127.0.0.1:$HUB_PORT'" "$PREFIX_DIR/agent.yaml"
  grep -qxF "api_key: '$(key)'" "$PREFIX_DIR/agent.yaml"
  grep -qxF "state_dir: '$PREFIX_DIR/state'" "$PREFIX_DIR/agent.yaml"
  grep -qxF 'allow: [ping, info]' "$PREFIX_DIR/agent.yaml"
  [ "$(stat -c %a "$PREFIX_DIR/state")" = 700 ]
  [ "$(readlink "$PREFIX_DIR/state/current")" = versions/0.1.0 ]
  [ -x "$PREFIX_DIR/tether.sh" ]
  grep -qxF "TETHER_DEFAULT_SERVER_URL='ws://127.0.0.1:$HUB_PORT'" "$PREFIX_DIR/tether.sh"
  grep -qxF "$(cat "$KEYS/release-key.pub")" "$PREFIX_DIR/state/release-keys.pub"
  # Survives a reboot: an @reboot entry next to the user's own.
  grep -qxF "@reboot $PREFIX_DIR/tether.sh --start --native --prefix $PREFIX_DIR >/dev/null 2>&1 # tether:$PREFIX_DIR" "$CRONTAB_STANDIN_FILE"
  grep -qxF '0 3 * * * /usr/local/bin/nightly-job' "$CRONTAB_STANDIN_FILE"
  # The key never reaches the log.
  run ! grep -qF "$(key)" "$PREFIX_DIR/logs/agent.log"
}

@test "the agent shows up in GET /api/agents/connected and answers ping" {
  wait_for "agent 0.1.0 connected" connected_with 0.1.0
  run admin_call POST "/api/agents/keys/$(key_id)/ping" '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"ok":true'* ]]
  [[ "$output" == *'"message":"pong"'* ]]
}

@test "--status reports it running with its version" {
  run "$DEPLOY" --status --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  [[ "$output" == *"tether-agent is running: version 0.1.0"* ]]
  # The installed copy knows its own prefix.
  run "$PREFIX_DIR/tether.sh" --status
  [ "$status" -eq 0 ]
  [[ "$output" == *"running: version 0.1.0"* ]]
}

@test "--logs shows its log" {
  # The release's own supervisor and agent write JSON lines: the start of 0.1.0, its registration
  # with the hub and the audit line of the ping answered above.
  wait_for "the ping in the log" grep -qE '"command":"ping".*"outcome":"ok"' "$PREFIX_DIR/logs/agent.log"
  run "$DEPLOY" --logs --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  grep -qE '"msg":"agent started".*"version":"0.1.0"' <<<"$output"
  grep -qF '"msg":"registered"' <<<"$output"
  grep -qE '"command":"ping".*"outcome":"ok"' <<<"$output"
}

@test "--logs --follow keeps reading the log" {
  "$DEPLOY" --logs --follow --prefix "$PREFIX_DIR" >"$BATS_TEST_TMPDIR/follow" 2>&1 3>&- &
  local follower=$!
  wait_for "the log to be shown" grep -qF '"msg":"registered"' "$BATS_TEST_TMPDIR/follow"
  echo 'a line written after --follow started' >>"$PREFIX_DIR/logs/agent.log"
  wait_for "the new line to be followed" grep -q 'after --follow started' "$BATS_TEST_TMPDIR/follow"
  kill "$follower"
}

@test "running the installer again is safe and keeps the policy" {
  run "$DEPLOY" --key "$(key)" --server "ws://127.0.0.1:$HUB_PORT" --native --prefix "$PREFIX_DIR" \
    --release-key "$(cat "$KEYS/release-key.pub")"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"release key pinned by --release-key"* ]]
  [[ "$output" == *"release 0.1.0 already unpacked"* ]]
  grep -qxF 'allow: [ping, info]' "$PREFIX_DIR/agent.yaml"
  [ "$(grep -c '# tether:' "$CRONTAB_STANDIN_FILE")" -eq 1 ]
  [ "$(processes_of "$PREFIX_DIR" | wc -l)" -ge 2 ]
  wait_for "agent reconnected" connected_with 0.1.0
}

@test "--update moves it to a newer published release" {
  publish_release "$HUB" "$RELEASES" 0.2.0
  run "$DEPLOY" --update --prefix "$PREFIX_DIR"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"updated 0.1.0 -> 0.2.0"* ]]
  [ "$(readlink "$PREFIX_DIR/state/current")" = versions/0.2.0 ]
  wait_for "agent 0.2.0 connected" connected_with 0.2.0
  run "$DEPLOY" --status --prefix "$PREFIX_DIR"
  [[ "$output" == *"running: version 0.2.0"* ]]
  run "$DEPLOY" --update --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  [[ "$output" == *"already on 0.2.0"* ]]
  # Neither version wrote the key to the log.
  run ! grep -qF "$(key)" "$PREFIX_DIR/logs/agent.log"
}

@test "both installed versions carry the supervisor's install record, so either can be rolled back to" {
  for version in 0.1.0 0.2.0; do
    run "$NODE" --input-type=module -e "
      import { checkInstalled, readPinnedKeys } from '$REPO/shared/src/release/state-files.ts';
      const state = process.argv[1];
      const result = await checkInstalled(state, process.argv[2], await readPinnedKeys(state));
      console.log(JSON.stringify(result));
      process.exit(result.ok ? 0 : 1);" "$PREFIX_DIR/state" "$version"
    echo "$version: $output"
    [ "$status" -eq 0 ]
  done
}

@test "--stop, --start and --restart" {
  local old_pid
  old_pid="$(cat "$PREFIX_DIR/tether.pid")"
  run "$DEPLOY" --stop --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  run ! kill -0 "$old_pid"
  [ -z "$(processes_of "$PREFIX_DIR")" ]
  run "$DEPLOY" --status --prefix "$PREFIX_DIR"
  [ "$status" -eq 3 ]
  [[ "$output" == *"not running"* ]]
  run "$DEPLOY" --start --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  run "$DEPLOY" --status --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  old_pid="$(cat "$PREFIX_DIR/tether.pid")"
  run "$DEPLOY" --restart --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  [ "$(cat "$PREFIX_DIR/tether.pid")" != "$old_pid" ]
  wait_for "agent connected after restart" connected_with 0.2.0
}

@test "--uninstall keeps the state; --uninstall --purge leaves nothing behind" {
  run "$DEPLOY" --uninstall --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  [[ "$output" == *"left $PREFIX_DIR/state"* ]]
  [ -z "$(processes_of "$PREFIX_DIR")" ]
  [ ! -e "$PREFIX_DIR/agent.yaml" ]
  [ ! -e "$PREFIX_DIR/state/versions" ]
  [ "$(ls -A "$PREFIX_DIR")" = state ]
  cmp "$BATS_FILE_TMPDIR/crontab-before" "$CRONTAB_STANDIN_FILE"
  # Reinstall, then remove everything.
  run "$DEPLOY" --key "$(key)" --server "ws://127.0.0.1:$HUB_PORT" --native --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  run "$DEPLOY" --uninstall --purge --prefix "$PREFIX_DIR"
  [ "$status" -eq 0 ]
  [[ "$output" == *"removed $PREFIX_DIR"* ]]
  [ -z "$(processes_of "$PREFIX_DIR")" ]
  tree "$WORLD" >"$BATS_TEST_TMPDIR/tree-after"
  diff "$BATS_FILE_TMPDIR/tree-before" "$BATS_TEST_TMPDIR/tree-after"
  cmp "$BATS_FILE_TMPDIR/crontab-before" "$CRONTAB_STANDIN_FILE"
}
