#!/usr/bin/env bash
# tether agent installer, the bootstrap:  curl -fsSL https://hub.example.com/install.sh | bash -s -- --key KEY
# Checks its arguments; runs the agent in Docker, or downloads a release, verifies it here in shell
# (nothing downloaded runs before that) and runs that release's manager.mjs, which installs it. The
# installed manager (PREFIX/lib/current, root-owned) runs --status, --logs, --stop, --start, --restart
# and --uninstall; --update verifies a new release here, as an install does.
set -euo pipefail

# The hub serving this script at GET /install.sh replaces the next line with its own URL.
TETHER_DEFAULT_SERVER_URL=''

readonly SCRIPT_VERSION='0.1.0' DEFAULT_IMAGE='ghcr.io/tether-project/tether-agent' DEFAULT_NAME='tether-agent'
readonly ED25519_SPKI_HEADER='302a300506032b6570032100' # DER header of an Ed25519 public key; 32 raw key bytes follow

usage() {
  cat <<'EOF'
tether agent installer and manager
  deploy.sh --key KEY [options]                  install (Docker when an engine works, else native)
  deploy.sh ACTION [--prefix DIR | --name NAME]  manage an installed agent
install options:
  --key KEY          agent key from `tether keys create` (or env TETHER_API_KEY); required
  --server URL       hub URL, ws(s):// or http(s):// (default: the hub that served this script)
  --docker|--native  a Docker container (default when a Docker engine works) or a native install
  --version V        release or image version to install (default: latest)
  --allow PERMS      comma-separated commands this host allows, e.g. ping,info,exec (local policy)
  --name NAME        container / service name (default tether-agent)
  --prefix DIR       native install directory (default /opt/tether as root, ~/.local/share/tether otherwise)
  --release-key KEY  pin this base64 Ed25519 release public key (default: the hub's, fingerprints printed)
  --signing-key KEY  the hub's base64 command-signing key, given out of band; the hub's must match it
                     (default: fetched from the hub, fingerprint printed); pinned in the agent config
                     (Docker: in the container's TETHER_SIGNING_PUBLIC_KEY)
  --image IMAGE      Docker image without tag (default ghcr.io/tether-project/tether-agent)
  --dry-run          with --native: print the systemd unit the install would write; change nothing
actions: --status (exit 0 running, 3 not running) | --logs [--follow] (the last 200 lines) | --update
  (the newest release, or --version V) | --stop | --start | --restart | --uninstall [--purge] (removes
  what the installer created; --purge: the state and backups too) | --help | --version (this script's)
EOF
}

SAY_FD=1 EXPLAINED=0 # a dry run keeps stdout for the unit; deliberate exits set EXPLAINED
say() { printf 'tether: %s\n' "$*" >&"$SAY_FD"; }
warn() { printf 'tether: warning: %s\n' "$*" >&2; }
die() { printf 'tether: error: %s\n' "$*" >&2; EXPLAINED=1; exit 1; }
usage_error() { printf 'tether: error: %s (see --help)\n' "$*" >&2; EXPLAINED=1; exit 2; }
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

ACTION='' MODE='' SERVER='' RELEASE_VERSION='' ALLOW='' ALLOW_GIVEN=0 NAME="$DEFAULT_NAME" PREFIX='' FOLLOW=0 PURGE=0
DRY_RUN=0 PINNED_RELEASE_KEY='' PINNED_SIGNING_KEY='' KEY="${TETHER_API_KEY:-}" IMAGE="${TETHER_IMAGE:-$DEFAULT_IMAGE}"
unset TETHER_API_KEY # only the manager or the container gets it, and on purpose

set_action() { [ -z "$ACTION" ] || [ "$ACTION" = "$1" ] || usage_error "--$ACTION and --$1 cannot be combined; give one action"; ACTION="$1"; }

parse_args() {
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --key | --server | --allow | --name | --prefix | --release-key | --signing-key | --image)
        if [ "$#" -lt 2 ] || [ -z "$2" ] || [ "${2#-}" != "$2" ]; then usage_error "$1 needs a value"; fi
        case "$1" in
          --key) KEY="$2" ;; --server) SERVER="$2" ;; --name) NAME="$2" ;; --prefix) PREFIX="$2" ;; --image) IMAGE="$2" ;;
          --allow) ALLOW="${2//[[:space:]]/}" ALLOW_GIVEN=1 ;;
          --release-key) PINNED_RELEASE_KEY="$2" ;; --signing-key) PINNED_SIGNING_KEY="$2" ;;
        esac
        shift 2 ;;
      --version) # with a value it names the release to install; alone it asks for this script's version
        if [ "$#" -ge 2 ] && [ -n "$2" ] && [ "${2#-}" = "$2" ]; then RELEASE_VERSION="$2" && shift 2; else set_action script-version && shift; fi ;;
      --docker | --native)
        [ -z "$MODE" ] || [ "$MODE" = "${1#--}" ] || usage_error "--docker and --native cannot be combined"
        MODE="${1#--}" && shift ;;
      --status | --logs | --update | --stop | --start | --restart | --uninstall | --help) set_action "${1#--}" && shift ;;
      -h) set_action help && shift ;;
      --follow) FOLLOW=1 && shift ;;
      --purge) PURGE=1 && shift ;;
      --dry-run) DRY_RUN=1 SAY_FD=2 && shift ;;
      *) usage_error "unknown argument \"$1\"" ;;
    esac
  done
  [ -n "$ACTION" ] || ACTION=install
  [ "$FOLLOW" = 0 ] || [ "$ACTION" = logs ] || usage_error "--follow goes with --logs"
  [ "$PURGE" = 0 ] || [ "$ACTION" = uninstall ] || usage_error "--purge goes with --uninstall"
  [ "$DRY_RUN" = 0 ] || { [ "$ACTION" = install ] && [ "$MODE" = native ]; } || usage_error "--dry-run goes with a --native install"
}

valid_version() { [[ "$1" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]]; }
valid_key() { [[ "$1" =~ ^[A-Za-z0-9+/]{43}=$ ]] && [ "$(printf '%s' "$1" | base64 -d 2>/dev/null | wc -c)" -eq 32 ]; }
valid_server_url() {
  [[ "$1" =~ ^(wss?|https?)://([A-Za-z0-9.-]+(:[0-9]+)?(\[[0-9a-fA-F:]+\])?|\[[0-9a-fA-F:]+\](:[0-9]+)?)(/[A-Za-z0-9._~/-]*)?$ ]]
}
key_fingerprint() { printf '%s' "$1" | base64 -d | sha256sum | cut -c1-16; }

validate_common() {
  [[ "$NAME" =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$ ]] || usage_error "--name \"$NAME\" must be letters, digits, '.', '_' or '-' (at most 63), e.g. tether-agent"
  [ -z "$RELEASE_VERSION" ] || [ "$RELEASE_VERSION" = latest ] || valid_version "$RELEASE_VERSION" ||
    usage_error "--version \"$RELEASE_VERSION\" is not a release version such as 1.4.0 (or latest)"
  [ "$RELEASE_VERSION" != latest ] || RELEASE_VERSION=''
  if [ -n "$PREFIX" ]; then
    [ "${PREFIX#/}" != "$PREFIX" ] || PREFIX="$PWD/$PREFIX"
    PREFIX="${PREFIX%/}" # it lands in a crontab line and a systemd unit: characters safe in both
    if ! [[ "$PREFIX" =~ ^/[A-Za-z0-9._/+-]+$ ]] || [[ "$PREFIX" =~ (^|/)\.\.?(/|$) ]]; then
      usage_error "--prefix \"$PREFIX\" must be a plain directory path (letters, digits, . _ - + /)"
    fi
  elif [ -f "${BASH_SOURCE[0]:-}" ] && [ -f "$(dirname "${BASH_SOURCE[0]}")/install.env" ]; then
    PREFIX="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" # PREFIX/tether.sh manages its own install
  elif is_root; then PREFIX=/opt/tether; else PREFIX="${XDG_DATA_HOME:-$HOME/.local/share}/tether"; fi
}

validate_install_input() {
  local perm perms
  [ -n "$KEY" ] || [ "$DRY_RUN" = 1 ] || usage_error "missing --key KEY: pass the agent key from \`tether keys create\` (or set TETHER_API_KEY)"
  [ -z "$KEY" ] || [[ "$KEY" =~ ^[A-Za-z0-9._~+/=-]{8,512}$ ]] || usage_error "--key does not look like an agent key (8 or more letters, digits or ._~+/=-); copy it again from \`tether keys create\`"
  SERVER="${SERVER:-$TETHER_DEFAULT_SERVER_URL}"
  [ -n "$SERVER" ] || usage_error "missing --server URL: pass the hub URL, e.g. --server wss://hub.example.com"
  valid_server_url "$SERVER" || usage_error "--server \"$SERVER\" is not a hub URL such as wss://hub.example.com or http://10.0.0.5:8080"
  IFS=',' read -r -a perms <<<"$ALLOW"
  [ "$ALLOW_GIVEN" = 0 ] || [ "${#perms[@]}" -gt 0 ] || usage_error "--allow is empty: give commands such as ping,info,exec"
  for perm in "${perms[@]}"; do [[ "$perm" =~ ^[a-z][a-z0-9_]*$ ]] || usage_error "--allow: \"$perm\" is not a command name (lower-case, e.g. ping,info,exec)"; done
  [ -z "$PINNED_RELEASE_KEY" ] || valid_key "$PINNED_RELEASE_KEY" || usage_error "--release-key must be the base64 of a 32-byte Ed25519 public key (the content of release-key.pub)"
  [ -z "$PINNED_SIGNING_KEY" ] || valid_key "$PINNED_SIGNING_KEY" || usage_error "--signing-key must be the base64 of a 32-byte Ed25519 public key (the hub's command-signing-key.pub)"
  [[ "$IMAGE" =~ ^[a-z0-9][a-z0-9._/:-]*$ ]] || usage_error "--image \"$IMAGE\" is not an image name such as ghcr.io/owner/tether-agent"
}

# ws(s)://host/ws/agent → http(s)://host: the base of the hub's HTTP endpoints (protocol.md 4).
http_base() { printf '%s' "$1" | sed -E 's#^ws#http#; s#/ws/agent.*$##; s#/+$##'; }

WORK=''
cleanup() {
  local rc=$?
  [ -z "$WORK" ] || rm -rf "$WORK"
  [ "$rc" -eq 0 ] || [ "$EXPLAINED" = 1 ] || printf 'tether: error: unexpected failure (exit %s) at deploy.sh line %s; nothing was left half-installed\n' "$rc" "${FAILED_LINE:-?}" >&2
  exit "$rc"
}

fetch() { # URL FILE: one line on failure that says whether the hub was unreachable or refused
  local rc=0
  if have curl; then curl -fsSL --proto '=http,https' --connect-timeout 15 --max-time 900 -o "$2" "$1" 2>"$WORK/fetch.err" || rc=$?
  elif have wget; then wget -q -T 30 -O "$2" "$1" 2>"$WORK/fetch.err" || { rc=$? && [ "$rc" != 4 ] || rc=7; } # wget 4: network failure
  else die "neither curl nor wget is installed; install curl and run this again"; fi
  case "$rc" in
    0) ;;
    6 | 7 | 28 | 35 | 52 | 56) die "cannot reach the hub at $HUB_BASE ($(tail -n1 "$WORK/fetch.err")); check --server and the network" ;;
    22) die "the hub refused $1 ($(tail -n1 "$WORK/fetch.err" | sed 's/^curl: ([0-9]*) //'))" ;;
    *) die "download of $1 failed (exit $rc: $(tail -n1 "$WORK/fetch.err"))" ;;
  esac
}

# The hub's JSON is small and flat; read one string or number field without needing jq.
json_field() { sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\{0,1\}\([^",}\\]*\).*/\1/p' "$2" | head -n1; }

detect_platform() {
  case "$(uname -s) $(uname -m)" in
    'Linux x86_64' | 'Linux amd64') PLATFORM=linux-x64 ;;
    'Linux aarch64' | 'Linux arm64') PLATFORM=linux-arm64 ;;
    *) die "unsupported platform: $(uname -s) $(uname -m); tether releases exist for linux-x64 and linux-arm64 (use --docker elsewhere)" ;;
  esac
}

# When root: refuses to run or trust the trees given unless root alone can change them, and every
# directory above the prefix (a sticky one like /tmp is fine): else a service user swaps them.
trusted() {
  is_root || return 0
  local dir="$PREFIX" path bad=''
  while [ -z "$bad" ]; do
    [ ! -e "$dir" ] || bad="$(find "$dir" -maxdepth 0 \( ! -user 0 -o -perm /022 \) ! -perm -1000 -print)"
    if [ "$dir" = / ]; then break; else dir="$(dirname "$dir")"; fi
  done
  for path in "$@"; do [ -n "$bad" ] || [ ! -e "$path" ] || bad="$(find "$path" ! -type l \( ! -user 0 -o -perm /022 \) -print -quit)"; done
  [ -z "$bad" ] || die "$bad can be changed by a user other than root; refusing to run or trust it as root (fix its owner and mode, or reinstall)"
}

RELEASE_KEYS=() SIGNING_KEY=''
load_release_keys() {
  local key
  if [ -n "$PINNED_RELEASE_KEY" ]; then
    RELEASE_KEYS=("$PINNED_RELEASE_KEY") && say "release key pinned by --release-key: $(key_fingerprint "$PINNED_RELEASE_KEY")"
  elif [ -f "$PREFIX/release-keys.pub" ] && trusted "$PREFIX/release-keys.pub"; then # root's own copy, never the state dir's
    mapfile -t RELEASE_KEYS < <(grep -E '^[A-Za-z0-9+/]{43}=$' "$PREFIX/release-keys.pub" || true)
  fi
  if [ "${#RELEASE_KEYS[@]}" -eq 0 ]; then
    fetch "$HUB_BASE/api/agents/release-keys" "$WORK/release-keys.json"
    while IFS= read -r key; do valid_key "$key" && RELEASE_KEYS+=("$key"); done < <(grep -oE '"[A-Za-z0-9+/]{43}="' "$WORK/release-keys.json" | tr -d '"')
    [ "${#RELEASE_KEYS[@]}" -gt 0 ] || die "the hub at $HUB_BASE lists no release keys; pin one with --release-key KEY"
    for key in "${RELEASE_KEYS[@]}"; do say "release key from the hub: $(key_fingerprint "$key") (compare it with your release key; pin it with --release-key)"; done
  fi
  printf '%s\n' "${RELEASE_KEYS[@]}" >"$WORK/release-keys"
}

# The hub's command-signing key is pinned at install, not on first connect: in the agent config
# (native) or the container's TETHER_SIGNING_PUBLIC_KEY (Docker).
fetch_signing_key() {
  fetch "$HUB_BASE/api/agents/signing-key" "$WORK/signing-key.json"
  SIGNING_KEY="$(json_field signing_key "$WORK/signing-key.json")"
  valid_key "$SIGNING_KEY" || die "the hub's answer to /api/agents/signing-key holds no Ed25519 public key"
  [ -z "$PINNED_SIGNING_KEY" ] || [ "$PINNED_SIGNING_KEY" = "$SIGNING_KEY" ] ||
    die "the hub's command-signing key $(key_fingerprint "$SIGNING_KEY") is not the one given with --signing-key ($(key_fingerprint "$PINNED_SIGNING_KEY")); refusing to install"
  say "hub command-signing key: $(key_fingerprint "$SIGNING_KEY")${PINNED_SIGNING_KEY:+, as given with --signing-key}; pinned in the agent ${1:-config}"
}

# Downloads the release into $WORK, verifies it and unpacks it to $WORK/release; sets RELEASE_VERSION.
download_release() {
  local version="$RELEASE_VERSION" tarball='' manifest='' signature='' file
  if [ -z "$version" ]; then
    fetch "$HUB_BASE/api/agents/releases/latest?platform=$PLATFORM" "$WORK/latest.json"
    version="$(json_field version "$WORK/latest.json")"
    valid_version "$version" || die "the hub's latest release for $PLATFORM has no valid version (got \"$version\")"
    tarball="$(json_field tarball "$WORK/latest.json")" manifest="$(json_field manifest "$WORK/latest.json")" signature="$(json_field signature "$WORK/latest.json")"
  fi
  tarball="${tarball:-tether-agent-$version-$PLATFORM.tar.gz}" manifest="${manifest:-tether-agent-$version-$PLATFORM.json}"
  for file in "$tarball" "$manifest" "${signature:=$manifest.sig}"; do
    [[ "$file" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || die "the hub named a release file \"$file\"; refusing an unexpected file name"
  done
  say "downloading tether agent $version for $PLATFORM from $HUB_BASE"
  fetch "$HUB_BASE/api/agents/releases/$version/$manifest" "$WORK/manifest.json"
  fetch "$HUB_BASE/api/agents/releases/$version/$signature" "$WORK/manifest.json.sig"
  fetch "$HUB_BASE/api/agents/releases/$version/$tarball" "$WORK/release.tar.gz"
  verify_release "$version"
  RELEASE_VERSION="$version"
}

# Signature first, then the manifest's claims, the tarball's size and sha256 and its entries.
verify_release() {
  local version="$1" key signer='' hex="$ED25519_SPKI_HEADER" i sha
  tr -d ' \n\r\t' <"$WORK/manifest.json.sig" | base64 -d >"$WORK/signature.bin" 2>/dev/null || die "release $version: the signature file is not base64; refusing to install"
  for key in "${RELEASE_KEYS[@]}"; do # DER public key: the header as printf octal escapes, then the raw key
    { for ((i = 0; i < ${#hex}; i += 2)); do printf '%b' "\\0$(printf '%03o' "$((16#${hex:i:2}))")"; done && printf '%s' "$key" | base64 -d; } >"$WORK/key.der"
    if openssl pkeyutl -verify -pubin -keyform DER -inkey "$WORK/key.der" -rawin -in "$WORK/manifest.json" -sigfile "$WORK/signature.bin" >/dev/null 2>&1; then signer="$key" && break; fi
  done
  [ -n "$signer" ] || die "release $version: the manifest signature does not verify with the trusted release key(s) $(for k in "${RELEASE_KEYS[@]}"; do printf '%s ' "$(key_fingerprint "$k")"; done); refusing to install"
  [ "$(json_field version "$WORK/manifest.json")" = "$version" ] || die "release $version: its signed manifest names another version; refusing to install"
  [ "$(json_field platform "$WORK/manifest.json")" = "$PLATFORM" ] || die "release $version: its signed manifest is not for $PLATFORM; refusing to install"
  [ "$(wc -c <"$WORK/release.tar.gz" | tr -d ' ')" = "$(json_field size "$WORK/manifest.json")" ] || die "release $version: the tarball's size is not the one in the signed manifest; refusing to install"
  sha="$(sha256sum "$WORK/release.tar.gz" | cut -d' ' -f1)"
  [ "$sha" = "$(json_field sha256 "$WORK/manifest.json")" ] || die "release $version: the tarball's sha256 does not match the signed manifest; refusing to install"
  tar -tzf "$WORK/release.tar.gz" >"$WORK/entries" 2>/dev/null || die "release $version: the tarball is not a gzip tar archive"
  ! grep -qE '(^|/)\.\.(/|$)' "$WORK/entries" || die "release $version: the tarball has a '..' entry; refusing to install"
  awk -v top="tether-agent-$version/" 'index($0, top) != 1 { exit 1 }' "$WORK/entries" || die "release $version: the tarball has an entry outside tether-agent-$version/; refusing to install"
  say "release $version verified: signed by release key $(key_fingerprint "$signer"), sha256 $sha"
  { mkdir "$WORK/release" && tar -xzf "$WORK/release.tar.gz" -C "$WORK/release" --no-same-owner; } || die "release $version: the verified tarball does not unpack (is $WORK full?)"
  [ -f "$WORK/release/tether-agent-$version/manager.mjs" ] || die "release $version has no manager.mjs: it predates this installer; install a newer release"
}

native_install() { # install | update: verify a release here, then its own manager installs it
  local args=(--server "$SERVER") rc=0 requested="$RELEASE_VERSION" release
  detect_platform
  for tool in openssl tar sha256sum base64; do have "$tool" || die "$tool is required to verify and unpack the release; install it (e.g. apt-get install $tool)"; done
  if [ "$1" = update ]; then
    [ -f "$PREFIX/install.env" ] || die "no native tether install at $PREFIX; pass --prefix DIR, or install with --key KEY"
    trusted "$PREFIX/install.env"
    SERVER="$(sed -n 's/^server=//p' "$PREFIX/install.env" | head -n1)" args=(--update)
    valid_server_url "$SERVER" || die "$PREFIX/install.env names no hub URL; reinstall with --key KEY --server URL"
  else
    local probe="$PREFIX"
    while [ ! -e "$probe" ]; do probe="$(dirname "$probe")"; done
    { [ -d "$probe" ] && [ -w "$probe" ]; } || die "no write permission for $PREFIX ($probe is not writable by $(id -un)); run as root or pass --prefix DIR you own"
  fi
  HUB_BASE="$(http_base "$SERVER")" WORK="$(mktemp -d "${TMPDIR:-/tmp}/tether-install.XXXXXX")"
  load_release_keys
  [ "$1" = update ] || [ "$DRY_RUN" = 1 ] || fetch_signing_key
  download_release
  [ -z "$requested" ] || args+=(--requested-version "$requested")
  [ "$ALLOW_GIVEN" = 0 ] || args+=(--allow "$ALLOW")
  [ -z "$SIGNING_KEY" ] || args+=(--signing-key "$SIGNING_KEY")
  [ "$DRY_RUN" = 0 ] || args+=(--dry-run)
  release="$WORK/release/tether-agent-$RELEASE_VERSION"
  TETHER_API_KEY="$KEY" "$release/bin/node" "$release/manager.mjs" install --prefix "$PREFIX" --platform "$PLATFORM" --name "$NAME" --tarball "$WORK/release.tar.gz" \
    --manifest "$WORK/manifest.json" --signature "$WORK/manifest.json.sig" --release-keys "$WORK/release-keys" "${args[@]}" || rc=$?
  EXPLAINED=1 && return "$rc" # the manager said what went wrong
}

# Docker mode: the docker CLI only. The key reaches the container by name (-e VAR), never in argv;
# so does the pinned signing key (TETHER_SIGNING_PUBLIC_KEY), which the agent holds as its pin.
docker_works() { have docker && docker info >/dev/null 2>&1; }
docker_volume() { if [ "$NAME" = "$DEFAULT_NAME" ]; then printf 'tether-state'; else printf '%s-state' "$NAME"; fi; }
container_exists() { docker inspect --format '{{.Id}}' "$NAME" >/dev/null 2>&1; }
policy_file() { # the local policy (--allow), mounted read-only as the container's /etc/tether/agent.yaml
  local dir="${TETHER_CONFIG_DIR:-}"
  if [ -z "$dir" ]; then if is_root; then dir=/etc/tether; else dir="${XDG_CONFIG_HOME:-$HOME/.config}/tether"; fi; fi
  printf '%s/%s.policy.yaml' "$dir" "$NAME"
}
docker_run() { # IMAGE
  local mount=() pin=()
  [ ! -f "$(policy_file)" ] || mount=(-v "$(policy_file):/etc/tether/agent.yaml:ro")
  [ -z "$SIGNING_KEY" ] || pin=(-e TETHER_SIGNING_PUBLIC_KEY)
  TETHER_SERVER_URL="$SERVER" TETHER_API_KEY="$KEY" TETHER_SIGNING_PUBLIC_KEY="$SIGNING_KEY" docker run -d --name "$NAME" --restart unless-stopped --network host \
    -e TETHER_SERVER_URL -e TETHER_API_KEY "${pin[@]}" -v "$(docker_volume):/var/lib/tether" "${mount[@]}" "$1" >/dev/null || die "docker run failed for $1"
}
docker_pull_and_run() { # IMAGE: pulled first; an existing container is replaced only then
  say "pulling $1"
  docker pull "$1" >/dev/null || die "docker pull $1 failed; check --image and --version"
  if container_exists; then docker rm -f "$NAME" >/dev/null && say "replaced the existing container $NAME"; fi
  docker_run "$1"
}

docker_install() {
  docker_works || die "no working Docker engine (docker info failed); start Docker or install with --native"
  [ -z "$PINNED_RELEASE_KEY" ] || warn "--release-key applies to native installs; a Docker install trusts the image"
  HUB_BASE="$(http_base "$SERVER")" WORK="$(mktemp -d "${TMPDIR:-/tmp}/tether-install.XXXXXX")"
  fetch_signing_key "container's TETHER_SIGNING_PUBLIC_KEY"
  if [ "$ALLOW_GIVEN" = 1 ]; then
    mkdir -p "$(dirname "$(policy_file)")"
    printf '# tether local policy for container %s, written by deploy.sh\nallow: [%s]\n' "$NAME" "${ALLOW//,/, }" >"$(policy_file).tmp"
    chmod 644 "$(policy_file).tmp" && mv -f "$(policy_file).tmp" "$(policy_file)" # no secret in it; the container user reads it
  fi
  docker_pull_and_run "$IMAGE:${RELEASE_VERSION:-latest}"
  say "started container $NAME from $IMAGE:${RELEASE_VERSION:-latest} (state volume $(docker_volume))"
}

docker_manage() {
  docker_works || die "no working Docker engine (docker info failed); start Docker first"
  container_exists || die "no container named $NAME; pass --name NAME, or install with --key KEY"
  local state image health line
  case "$ACTION" in
    status)
      IFS='|' read -r state image health <<<"$(docker inspect --format '{{.State.Status}}|{{.Config.Image}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$NAME")"
      if [ "$state" != running ]; then say "$NAME is not running: $state, image $image (docker)" && EXPLAINED=1 && exit 3; fi
      say "$NAME is running: image $image${health:+, health $health} (docker)" ;;
    logs) if [ "$FOLLOW" = 1 ]; then exec docker logs --follow --tail 200 "$NAME"; else docker logs --tail 200 "$NAME"; fi ;;
    update) # the same server, key and signing-key pin, the image without its tag (a registry port keeps its colon)
      image="$(docker inspect --format '{{.Config.Image}}' "$NAME")"
      while IFS= read -r line; do
        case "$line" in TETHER_SERVER_URL=*) SERVER="${line#*=}" ;; TETHER_API_KEY=*) KEY="${line#*=}" ;; TETHER_SIGNING_PUBLIC_KEY=*) SIGNING_KEY="${line#*=}" ;; esac
      done \
        < <(docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$NAME")
      { [ -n "$SERVER" ] && [ -n "$KEY" ]; } || die "container $NAME has no TETHER_SERVER_URL / TETHER_API_KEY; reinstall with --key KEY --server URL"
      [ -z "$SIGNING_KEY" ] || valid_key "$SIGNING_KEY" || die "container $NAME has a TETHER_SIGNING_PUBLIC_KEY that is no Ed25519 public key; reinstall with --key KEY --server URL"
      case "${image##*/}" in *:*) image="${image%:*}" ;; esac
      docker_pull_and_run "$image:${RELEASE_VERSION:-latest}" >/dev/null
      say "recreated container $NAME from $image:${RELEASE_VERSION:-latest}" ;;
    stop) docker stop "$NAME" >/dev/null && say "stopped container $NAME" ;;
    start | restart) docker "$ACTION" "$NAME" >/dev/null && say "${ACTION}ed container $NAME" ;;
    uninstall)
      docker rm -f "$NAME" >/dev/null && say "removed container $NAME"
      if [ -f "$(policy_file)" ]; then rm -f "$(policy_file)" && say "removed $(policy_file)"; fi
      if [ "$PURGE" = 1 ]; then docker volume rm "$(docker_volume)" >/dev/null && say "removed volume $(docker_volume)"; else
        say "left volume $(docker_volume) (agent state and backups); remove it with --uninstall --purge"
      fi ;;
  esac
}

main() {
  parse_args "$@"
  case "$ACTION" in help) usage && return 0 ;; script-version) echo "tether deploy.sh $SCRIPT_VERSION" && return 0 ;; esac
  validate_common
  trap cleanup EXIT
  trap 'FAILED_LINE=$LINENO' ERR
  if [ "$ACTION" = install ]; then
    validate_install_input
    if [ -z "$MODE" ]; then
      if docker_works; then MODE=docker; else MODE=native; fi
      say "installing in $MODE mode (choose with --docker or --native)"
    fi
    if [ "$MODE" = docker ]; then docker_install; else native_install install; fi
    return
  fi
  if [ -z "$MODE" ]; then # which install a lifecycle action is about: whatever exists
    if [ -f "$PREFIX/install.env" ]; then MODE=native; elif docker_works && container_exists; then MODE=docker; else
      die "no tether agent installed at $PREFIX or as container $NAME; pass --prefix DIR or --name NAME, or install with --key KEY"
    fi
  fi
  if [ "$MODE" = docker ]; then docker_manage; elif [ "$ACTION" = update ]; then native_install update; else
    local lib="$PREFIX/lib/current" flags=() # the installed manager, which root runs only when root alone can change it
    [ -f "$lib/manager.mjs" ] || die "the install at $PREFIX predates the installed manager ($lib/manager.mjs is missing); upgrade it with: deploy.sh --update --prefix $PREFIX"
    trusted "$PREFIX/install.env" "$PREFIX/lib"
    [ "$FOLLOW" = 0 ] || flags+=(--follow)
    [ "$PURGE" = 0 ] || flags+=(--purge)
    exec "$lib/bin/node" "$lib/manager.mjs" "$ACTION" --prefix "$PREFIX" "${flags[@]}"
  fi
}

main "$@"
