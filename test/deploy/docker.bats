#!/usr/bin/env bats
# Docker mode. There is no Docker engine on these machines, so these tests put a `docker`
# stand-in on PATH (stand-ins/docker) that records every call in $DOCKER_STANDIN_DIR/calls and
# keeps fake container state; they check the exact docker commands deploy.sh runs. A real hub
# process serves the command-signing key deploy.sh pins in the container's environment.

load helpers

KEY='tk_docker-test-key-0123456789'
IMAGE='ghcr.io/tether-project/tether-agent'

setup_file() {
  export HUB="$BATS_FILE_TMPDIR/hub" KEYS="$BATS_FILE_TMPDIR/keys"
  mkdir -p "$HUB" "$KEYS"
  make_release_key "$KEYS"
  start_hub "$HUB" "$KEYS"
  export SERVER="ws://127.0.0.1:$HUB_PORT"
  HUB_SIGNING_KEY="$(tr -d '\n' <"$HUB/data/command-signing-key.pub")"
  export HUB_SIGNING_KEY
}

teardown_file() { stop_hub "$HUB"; }

setup() {
  export DOCKER_STANDIN_DIR="$BATS_TEST_TMPDIR/docker"
  export TETHER_CONFIG_DIR="$BATS_TEST_TMPDIR/etc-tether"
  mkdir -p "$DOCKER_STANDIN_DIR"
  touch "$DOCKER_STANDIN_DIR/engine-up"
  use_stand_in "$BATS_TEST_TMPDIR" docker
  PATH="$(stand_in_dir "$BATS_TEST_TMPDIR"):$PATH"
}

calls() { cat "$DOCKER_STANDIN_DIR/calls"; }
run_line() { # name volume image [extra mount]
  printf 'run | -d | --name | %s | --restart | unless-stopped | --network | host | -e | TETHER_SERVER_URL | -e | TETHER_API_KEY | -e | TETHER_SIGNING_PUBLIC_KEY | -v | %s:/var/lib/tether | %s%s' "$1" "$2" "${4:+$4 | }" "$3"
}
install() { "$DEPLOY" --key "$KEY" --server "$SERVER" "$@"; }

@test "install picks Docker when the engine works and runs the exact container" {
  run install
  [ "$status" -eq 0 ]
  [[ "$output" == *"installing in docker mode"* ]]
  grep -qxF "pull | $IMAGE:latest" "$DOCKER_STANDIN_DIR/calls"
  grep -qxF "$(run_line tether-agent tether-state "$IMAGE:latest")" "$DOCKER_STANDIN_DIR/calls"
  # The values reach the container through the environment, never through docker's argv.
  grep -qxF "TETHER_API_KEY=$KEY" "$DOCKER_STANDIN_DIR/containers/tether-agent/env"
  grep -qxF "TETHER_SERVER_URL=$SERVER" "$DOCKER_STANDIN_DIR/containers/tether-agent/env"
  run ! grep -qF "$KEY" "$DOCKER_STANDIN_DIR/calls"
}

@test "the hub's command-signing key is pinned in the container's environment, fingerprint printed" {
  local fingerprint
  fingerprint="$(printf '%s' "$HUB_SIGNING_KEY" | base64 -d | sha256sum | cut -c1-16)"
  run install
  [ "$status" -eq 0 ]
  [[ "$output" == *"hub command-signing key: $fingerprint; pinned in the agent container's TETHER_SIGNING_PUBLIC_KEY"* ]]
  grep -qxF "TETHER_SIGNING_PUBLIC_KEY=$HUB_SIGNING_KEY" "$DOCKER_STANDIN_DIR/containers/tether-agent/env"
  run ! grep -qF "$HUB_SIGNING_KEY" "$DOCKER_STANDIN_DIR/calls" # by name, not in docker's argv
  run install --signing-key "$HUB_SIGNING_KEY"
  [ "$status" -eq 0 ]
  [[ "$output" == *"hub command-signing key: $fingerprint, as given with --signing-key"* ]]
}

@test "--signing-key that is not the hub's stops a Docker install before anything is pulled or run" {
  install
  : >"$DOCKER_STANDIN_DIR/calls"
  run install --signing-key "$(tr -d '\n' <"$KEYS/release-key.pub")"
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"is not the one given with --signing-key"*"refusing to install"* ]]
  run ! grep -qE '^(pull|rm|run) ' "$DOCKER_STANDIN_DIR/calls"
  grep -qxF "TETHER_SIGNING_PUBLIC_KEY=$HUB_SIGNING_KEY" "$DOCKER_STANDIN_DIR/containers/tether-agent/env"
}

@test "a hub that cannot be reached stops a Docker install: no container without a pin" {
  run "$DEPLOY" --key "$KEY" --server ws://127.0.0.1:9
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"cannot reach the hub at http://127.0.0.1:9"* ]]
  run ! grep -qE '^(pull|run) ' "$DOCKER_STANDIN_DIR/calls"
}

@test "--version, --image and --name choose the image tag, container and volume" {
  run install --docker --version 1.4.2 --image registry.local:5000/ops/tether-agent --name edge-1
  [ "$status" -eq 0 ]
  grep -qxF "$(run_line edge-1 edge-1-state registry.local:5000/ops/tether-agent:1.4.2)" "$DOCKER_STANDIN_DIR/calls"
}

@test "--allow writes the local policy and mounts it read-only" {
  run install --allow ping,info,exec
  [ "$status" -eq 0 ]
  policy="$TETHER_CONFIG_DIR/tether-agent.policy.yaml"
  grep -qxF 'allow: [ping, info, exec]' "$policy"
  grep -qxF "$(run_line tether-agent tether-state "$IMAGE:latest" "-v | $policy:/etc/tether/agent.yaml:ro")" "$DOCKER_STANDIN_DIR/calls"
}

@test "installing twice replaces the container instead of failing" {
  install
  run install
  [ "$status" -eq 0 ]
  [[ "$output" == *"replaced the existing container tether-agent"* ]]
  [ "$(grep -c '^run |' "$DOCKER_STANDIN_DIR/calls")" -eq 2 ]
  grep -qxF 'rm | -f | tether-agent' "$DOCKER_STANDIN_DIR/calls"
}

@test "--status, --logs and --logs --follow" {
  install
  run "$DEPLOY" --status
  [ "$status" -eq 0 ]
  [[ "$output" == *"tether-agent is running: image $IMAGE:latest, health healthy (docker)"* ]]
  run "$DEPLOY" --logs
  [ "$status" -eq 0 ]
  [[ "$output" == *"agent log line from the container"* ]]
  grep -qxF 'logs | --tail | 200 | tether-agent' "$DOCKER_STANDIN_DIR/calls"
  run "$DEPLOY" --logs --follow
  [ "$status" -eq 0 ]
  grep -qxF 'logs | --follow | --tail | 200 | tether-agent' "$DOCKER_STANDIN_DIR/calls"
}

@test "--stop, --start and --restart" {
  install
  run "$DEPLOY" --stop
  [ "$status" -eq 0 ]
  grep -qxF 'stop | tether-agent' "$DOCKER_STANDIN_DIR/calls"
  run "$DEPLOY" --status
  [ "$status" -eq 3 ]
  [[ "$output" == *"tether-agent is not running: exited"* ]]
  run "$DEPLOY" --start
  [ "$status" -eq 0 ]
  grep -qxF 'start | tether-agent' "$DOCKER_STANDIN_DIR/calls"
  run "$DEPLOY" --restart
  [ "$status" -eq 0 ]
  grep -qxF 'restart | tether-agent' "$DOCKER_STANDIN_DIR/calls"
}

@test "--update pulls and recreates the container with the same server, key and signing-key pin" {
  install --version 1.0.0
  : >"$DOCKER_STANDIN_DIR/calls"
  unset TETHER_API_KEY
  run "$DEPLOY" --update
  [ "$status" -eq 0 ]
  # In this order: pull the new image, remove the old container, run the new one.
  [ "$(grep -vE '^(info|inspect)' "$DOCKER_STANDIN_DIR/calls")" = "pull | $IMAGE:latest
rm | -f | tether-agent
$(run_line tether-agent tether-state "$IMAGE:latest")" ]
  grep -qxF "TETHER_API_KEY=$KEY" "$DOCKER_STANDIN_DIR/containers/tether-agent/env"
  grep -qxF "TETHER_SIGNING_PUBLIC_KEY=$HUB_SIGNING_KEY" "$DOCKER_STANDIN_DIR/containers/tether-agent/env"
  run "$DEPLOY" --update --version 2.0.0
  [ "$status" -eq 0 ]
  grep -qxF "pull | $IMAGE:2.0.0" "$DOCKER_STANDIN_DIR/calls"
  [ "$(cat "$DOCKER_STANDIN_DIR/containers/tether-agent/image")" = "$IMAGE:2.0.0" ]
}

@test "--uninstall removes the container and policy, keeps the volume; --purge removes it" {
  install --allow ping
  run "$DEPLOY" --uninstall
  [ "$status" -eq 0 ]
  [[ "$output" == *"left volume tether-state"* ]]
  grep -qxF 'rm | -f | tether-agent' "$DOCKER_STANDIN_DIR/calls"
  [ ! -e "$TETHER_CONFIG_DIR/tether-agent.policy.yaml" ]
  [ ! -d "$DOCKER_STANDIN_DIR/containers/tether-agent" ]
  run ! grep -q '^volume' "$DOCKER_STANDIN_DIR/calls"
  install
  run "$DEPLOY" --uninstall --purge
  [ "$status" -eq 0 ]
  grep -qxF 'volume | rm | tether-state' "$DOCKER_STANDIN_DIR/calls"
  [[ "$output" == *"removed volume tether-state"* ]]
}

@test "--release-key does not apply to Docker installs and says so" {
  run install --release-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
  [ "$status" -eq 0 ]
  [[ "$output" == *"--release-key applies to native installs"* ]]
}
