#!/usr/bin/env bash
# Swarmlet's installer: a bare Debian 11/12 or Ubuntu 20.04+ machine (amd64 or arm64) to a working platform.
# Run it from a checkout of the repository, as root or through sudo:
#   sudo ./install.sh                          asks for what it needs
#   sudo ./install.sh --yes --domain example.com --email ops@example.com --user admin \
#        --password-file /root/pw --ssh-key ~/.ssh/id_ed25519.pub
#   sudo ./install.sh --join TOKEN@MANAGER:2377  on a new machine: join the platform's swarm as a node
# It installs Docker Engine when missing (Debian's docker.io), initialises the swarm, labels this node for the
# registry and the deployer, creates the Traefik network and the secrets (a bcrypt htpasswd, the registry password
# for the deployer, the agent token), builds the images from this source tree, deploys the router, registry and
# deployer core stacks, authorizes the SSH key, waits until every core service runs, puts the `swarmlet` command
# on the PATH (/usr/local/bin/swarmlet, or SWARMLET_COMMAND: it runs the platform's commands in the running
# deployer, `swarmlet help`), and prints the next steps. The registry's plain-HTTP port 5000 is confined to this
# machine and the swarm's nodes by scripts/registry-firewall.sh, installed as /usr/local/sbin/swarmlet-registry-firewall
# (or SWARMLET_FIREWALL_COMMAND) and kept in step by a systemd unit and timer where systemd runs.
# Running it again upgrades in place: data, secrets and keys are kept. `--uninstall` removes what it created and
# keeps the data volumes; `--uninstall --purge` removes them too. No password is ever put on a command line or in
# a log: it travels on standard input only.
# `--join TOKEN@ADDR[:PORT]` (the line `swarmlet nodes join-command` prints on a manager) makes this machine a node
# of an existing platform's swarm instead: it installs Docker Engine when missing, checks that ADDR:PORT (default
# 2377) answers, runs `docker swarm join`, checks from this side that the node is an active member, confines port
# 5000 as above, builds the registry forwarder's image and prints the ports to open between nodes. It asks nothing
# and touches no platform secret, label or stack; a malformed argument, an unreachable manager, a refused token or
# an engine already in another swarm stop it with one line, before anything changes. Run again on a node of the
# same swarm, it joins nothing and only brings the firewall and the forwarder's image up to date.
set -euo pipefail

SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETWORK=traefik-public
REGISTRY_ADDR=127.0.0.1:5000
SECRETS=(swarmlet-registry-htpasswd swarmlet-registry-password swarmlet-agent-token)
STACKS=(router registry deployer)
# Not a core stack: the registry forwarder of host publish mode (stacks/forwarder), on every node but the registry's.
FORWARDER=forwarder
VOLUMES=(registry_registry-data deployer_deployer-data router_certificates)
LABELS=(swarmlet.registry swarmlet.deployer)
# The platform's images are built on each node and never pulled: a name under the reserved .invalid domain makes a
# node that lacks one fail to resolve it, never fetch somebody's image of that name from Docker Hub.
IMAGES=swarmlet.invalid
COMMAND_PATH=${SWARMLET_COMMAND:-/usr/local/bin/swarmlet}
FIREWALL_PATH=${SWARMLET_FIREWALL_COMMAND:-/usr/local/sbin/swarmlet-registry-firewall}
FIREWALL_UNIT=swarmlet-registry-firewall
SYSTEMD_DIR=/etc/systemd/system
SWARM_PORTS='2377/tcp to the managers; 7946/tcp, 7946/udp and 4789/udp between every two nodes'

domain=${SWARMLET_DOMAIN:-}
email=${SWARMLET_EMAIL:-}
user=${SWARMLET_USER:-}
password_file=''
ssh_key=''
advertise_addr=''
publish_mode=ingress
with_router=true
build=true
assume_yes=false
action=install
purge=false
current_step=''
join_spec=''
join_token=''
join_host=''
join_port=''
platform_option=''

usage() {
  cat <<'EOF'
usage: install.sh [options]
  --domain DOMAIN          the root domain: apps at <app>.DOMAIN, the registry at registry.DOMAIN
  --email EMAIL            Let's Encrypt's contact (default admin@DOMAIN)
  --user USER              the platform's user (docker login, the dashboard)
  --password-file FILE     the user's password (or the environment variable SWARMLET_PASSWORD)
  --ssh-key FILE           a public key allowed to git push (e.g. ~/.ssh/id_ed25519.pub)
  --advertise-addr ADDR    the address the swarm advertises (default: docker's choice)
  --publish-mode MODE      ingress (default) or host, for machines whose kernel lacks the routing mesh (IPVS)
  --without-router         do not deploy Traefik (another proxy fronts the platform, or Docker Hub is unreachable)
  --no-build               use this version's swarmlet.invalid/* images already on the engine (docker load), for a machine
                           that cannot reach the npm registry; they are built elsewhere from the same commit
  --yes                    ask nothing: every missing answer is an error
  --uninstall [--purge]    remove the platform; --purge removes its data volumes too
  --join TOKEN@ADDR[:PORT] make this machine a node of an existing platform's swarm (the line that
                           `swarmlet nodes join-command` prints on a manager; PORT defaults to 2377);
                           it takes --advertise-addr and --no-build (the forwarder's image is loaded already)
EOF
}

say() { printf '==> %s\n' "$*"; }
# Runs a command, showing its output only when it fails.
quietly() {
  local output
  output=$("$@" 2>&1) || fail "$(printf '%s' "$output" | tail -n 20)"
}
fail() {
  printf 'install.sh: %s%s\n' "${current_step:+step \"$current_step\" failed: }" "$*" >&2
  current_step=''
  exit 1
}
step() {
  current_step=$1
  say "$1"
}
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -n "$current_step" ]; then
    printf 'install.sh: step "%s" failed (exit %s)\n' "$current_step" "$status" >&2
  fi
}
trap on_exit EXIT

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --domain) domain=${2:?--domain needs a value}; platform_option=$1; shift ;;
      --email) email=${2:?--email needs a value}; platform_option=$1; shift ;;
      --user) user=${2:?--user needs a value}; platform_option=$1; shift ;;
      --password-file) password_file=${2:?--password-file needs a value}; platform_option=$1; shift ;;
      --ssh-key) ssh_key=${2:?--ssh-key needs a value}; platform_option=$1; shift ;;
      --advertise-addr) advertise_addr=${2:?--advertise-addr needs a value}; shift ;;
      --publish-mode) publish_mode=${2:?--publish-mode needs a value}; platform_option=$1; shift ;;
      --without-router) with_router=false; platform_option=$1 ;;
      --no-build) build=false ;;
      --yes | -y) assume_yes=true ;;
      --uninstall) action=uninstall; platform_option=$1 ;;
      --purge) purge=true; platform_option=$1 ;;
      --join) join_spec=${2:?--join needs TOKEN@ADDR[:PORT]}; shift ;;
      --help | -h) usage; exit 0 ;;
      *) usage >&2; fail "unknown option $1" ;;
    esac
    shift
  done
  case $publish_mode in ingress | host) ;; *) fail "--publish-mode is ingress or host, not $publish_mode" ;; esac
  if [ -n "$join_spec" ]; then
    action='join'
    [ -z "$platform_option" ] || fail "--join makes this machine a node of an existing platform: it takes no $platform_option"
    parse_join_spec "$join_spec"
  fi
  if [ "$purge" = true ] && [ "$action" != uninstall ]; then fail '--purge goes with --uninstall'; fi
}

# Splits --join's TOKEN@ADDR[:PORT] into join_token, join_host and join_port, or fails saying what is wrong.
parse_join_spec() {
  local spec=$1 target
  [[ $spec == *@* ]] || fail "--join takes TOKEN@ADDR[:PORT], as \`swarmlet nodes join-command\` prints it on a manager: no @ in what was given"
  join_token=${spec%%@*}
  target=${spec#*@}
  [ -n "$join_token" ] || fail '--join has an empty token: give TOKEN@ADDR[:PORT]'
  [[ $join_token =~ ^SWMTKN-1-[0-9a-z]+-[0-9a-z]+$ ]] ||
    fail "--join's token is not a swarm join token (SWMTKN-1-…): print one on a manager with \`swarmlet nodes join-command\`"
  if [[ $target =~ ^(\[[0-9A-Fa-f:.]+\])(:([0-9]{1,5}))?$ ]] || [[ $target =~ ^([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:([0-9]{1,5}))?$ ]]; then
    join_host=${BASH_REMATCH[1]}
    join_port=${BASH_REMATCH[${#BASH_REMATCH[@]}-1]}
  else
    fail "--join's address is not HOST[:PORT]: '${target:0:80}'"
  fi
  join_port=$((10#${join_port:-2377}))
  if [ "$join_port" -lt 1 ] || [ "$join_port" -gt 65535 ]; then fail "--join's port $join_port is not a TCP port"; fi
}

become_root() {
  [ "$(id -u)" = 0 ] && return 0
  command -v sudo >/dev/null 2>&1 || fail 'run this as root (sudo is not installed)'
  exec sudo --preserve-env=SWARMLET_PASSWORD,SWARMLET_DOMAIN,SWARMLET_EMAIL,SWARMLET_USER "$0" "$@"
}

check_system() {
  step 'check the system'
  [ -r /etc/os-release ] || fail 'no /etc/os-release: only Debian and Ubuntu are supported'
  local id version
  # shellcheck disable=SC1091
  id=$(. /etc/os-release && printf '%s' "${ID:-}")
  # shellcheck disable=SC1091
  version=$(. /etc/os-release && printf '%s' "${VERSION_ID:-0}")
  case $id in
    debian) [ "${version%%.*}" -ge 11 ] || fail "Debian $version is too old: 11 or newer" ;;
    ubuntu) [ "${version%%.*}" -ge 20 ] || fail "Ubuntu $version is too old: 20.04 or newer" ;;
    *) fail "$id is not supported: Debian 11+ or Ubuntu 20.04+" ;;
  esac
  case $(uname -m) in
    x86_64 | aarch64) ;;
    *) fail "$(uname -m) is not supported: amd64 or arm64" ;;
  esac
}

ask() { # ask VAR "question" [secret]
  local answer
  if [ "$assume_yes" = true ] || [ ! -t 0 ]; then fail "missing $1 (give it as an option; see --help)"; fi
  if [ "${3:-}" = secret ]; then
    read -r -s -p "$2: " answer
    printf '\n' >&2
  else
    read -r -p "$2: " answer
  fi
  printf -v "$1" '%s' "$answer"
}

# Whether the secret exists; false too when no engine or swarm answers yet (a first install).
have_secret() { command -v docker >/dev/null 2>&1 && docker secret inspect "$1" >/dev/null 2>&1; }

gather_answers() {
  step 'gather the settings'
  [ -n "$domain" ] || ask domain 'Root domain (apps at <app>.DOMAIN)'
  [[ $domain =~ ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$ ]] || fail "invalid domain: $domain"
  [ -n "$email" ] || email="admin@$domain"
  [ -n "$user" ] || ask user 'Platform user (docker login)'
  [[ $user =~ ^[A-Za-z0-9._-]{1,64}$ ]] || fail "invalid user name: $user"
  if have_secret swarmlet-registry-htpasswd; then
    password=''
    if [ -n "$password_file" ] || [ -n "${SWARMLET_PASSWORD:-}" ]; then
      say 'the platform has a password already: it is kept (see the README to change it)'
    fi
  elif [ -n "$password_file" ]; then
    [ -r "$password_file" ] || fail "cannot read $password_file"
    IFS= read -r password <"$password_file" || true
  elif [ -n "${SWARMLET_PASSWORD:-}" ]; then
    password=$SWARMLET_PASSWORD
  else
    local again
    ask password "Password for $user" secret
    ask again 'The same password again' secret
    [ "$password" = "$again" ] || fail 'the passwords differ'
  fi
  if ! have_secret swarmlet-registry-htpasswd && [ ${#password} -lt 8 ]; then fail 'the password needs 8 characters or more'; fi
  if [ -z "$ssh_key" ] && [ "$assume_yes" = false ] && [ -t 0 ]; then
    ask ssh_key 'Public key file allowed to git push (empty: add one later with swarmlet keys add)'
  fi
  if [ -n "$ssh_key" ] && [ ! -r "$ssh_key" ]; then fail "cannot read $ssh_key"; fi
}

ensure_docker() {
  step 'make sure Docker Engine runs'
  if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
    say "installing Debian's docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io git ca-certificates >/dev/null
  fi
  if ! docker info >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
      systemctl enable --now docker >/dev/null 2>&1 || true
    fi
    if ! docker info >/dev/null 2>&1; then
      say 'starting dockerd in the background (log: /var/log/swarmlet-dockerd.log)'
      setsid nohup dockerd >>/var/log/swarmlet-dockerd.log 2>&1 </dev/null &
      for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    fi
  fi
  docker info >/dev/null 2>&1 || fail 'the Docker engine does not answer'
}

ensure_swarm() {
  step 'initialise the swarm and label this node'
  local state node
  state=$(docker info --format '{{.Swarm.LocalNodeState}}')
  if [ "$state" = inactive ]; then
    docker swarm init ${advertise_addr:+--advertise-addr "$advertise_addr"} >/dev/null
  elif [ "$state" != active ]; then
    fail "this engine's swarm is $state"
  fi
  [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] || fail 'this node is not a swarm manager'
  node=$(docker info --format '{{.Swarm.NodeID}}')
  docker node update --label-add swarmlet.registry=true --label-add swarmlet.deployer=true "$node" >/dev/null
}

ensure_network() {
  step "create the overlay network $NETWORK"
  docker network inspect "$NETWORK" >/dev/null 2>&1 ||
    docker network create --driver overlay --attachable --label swarmlet.managed=true "$NETWORK" >/dev/null
}

build_images() {
  step "build the images $IMAGES/registry:$version, $IMAGES/deployer:$version and $IMAGES/forwarder:$version from $SOURCE_DIR"
  build_image registry registry
  build_image deployer deployer
  # Runs only on nodes without the registry; built here too, for the day the registry moves to another node.
  build_image registry forwarder
}

# With --no-build: the images this version deploys must be on the engine already.
check_images() {
  step "check the images $IMAGES/registry:$version, $IMAGES/deployer:$version and $IMAGES/forwarder:$version (--no-build)"
  local image
  for image in registry deployer forwarder; do
    docker image inspect "$IMAGES/$image:$version" >/dev/null 2>&1 ||
      fail "$IMAGES/$image:$version is not on this engine: build it from this commit elsewhere and docker load it, or run without --no-build"
  done
}

# Builds $IMAGES/$2:$version from $1.Dockerfile ($2 names the Dockerfile's target when it differs from $1). A CA
# the machine trusts for HTTPS (an intercepting proxy's) is handed to the build stages that fetch npm packages.
build_image() {
  local ca='' target=()
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    ca=$(cat /usr/local/share/ca-certificates/*.crt)
  fi
  [ "$1" = "$2" ] || target=(--target "$2")
  quietly env DOCKER_BUILDKIT=0 docker build --quiet --label swarmlet.managed=true --build-arg "EXTRA_CA_CERTS=$ca" \
    "${target[@]}" -f "$SOURCE_DIR/$1.Dockerfile" -t "$IMAGES/$2:$version" "$SOURCE_DIR"
}

ensure_secrets() {
  step 'create the secrets (existing ones are kept)'
  if ! have_secret swarmlet-registry-htpasswd; then
    printf '%s\n' "$password" |
      docker run --rm -i --entrypoint node "$IMAGES/registry:$version" /app/packages/registry/dist/main.js htpasswd "$user" |
      docker secret create --label swarmlet.managed=true swarmlet-registry-htpasswd - >/dev/null
  fi
  if ! have_secret swarmlet-registry-password; then
    printf '%s' "$password" | docker secret create --label swarmlet.managed=true swarmlet-registry-password - >/dev/null
  fi
  if ! have_secret swarmlet-agent-token; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' |
      docker secret create --label swarmlet.managed=true swarmlet-agent-token - >/dev/null
  fi
  password=''
}

# Deploys stack $1 of stacks/ as a push of its repository would: the platform's variables, then its .env (core
# stacks have one), expanded.
deploy_stack() {
  local name=$1
  (
    export ROOT_DOMAIN=$domain SWARMLET_USERNAME=$user SWARMLET_EMAIL=$email SWARMLET_REGISTRY=$REGISTRY_ADDR \
      SWARMLET_VERSION=$version SWARMLET_PUBLISH_MODE=$publish_mode TRAEFIK_NETWORK=$NETWORK APP_NAME=$name
    # Without the router, the deployer reports apps' published ports instead of URLs nothing serves.
    [ "$with_router" = true ] || export SWARMLET_ROUTER=none
    # The deployer mounts the engine's socket: the one DOCKER_HOST names when it names a unix socket.
    case ${DOCKER_HOST:-} in unix://*) export DOCKER_SOCKET=${DOCKER_HOST#unix://} ;; esac
    # The agent serves the dashboard on this node's docker_gwbridge gateway, where the dashboard service reaches it.
    local gateway
    gateway=$(docker network inspect docker_gwbridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null) || gateway=''
    [ -z "$gateway" ] || export DASHBOARD_ADDR=$gateway:8788
    set -a
    # shellcheck disable=SC1090
    [ ! -f "$SOURCE_DIR/stacks/$name/.env" ] || . "$SOURCE_DIR/stacks/$name/.env"
    set +a
    quietly docker stack deploy --resolve-image never -c "$SOURCE_DIR/stacks/$name/docker-compose.yml" "$name"
  )
}

deploy_stacks() {
  local name
  for name in "${STACKS[@]}"; do
    if [ "$name" = router ] && [ "$with_router" = false ]; then
      say 'skipping the router stack (--without-router)'
      continue
    fi
    step "deploy the $name stack"
    deploy_stack "$name"
  done
  if [ "$publish_mode" = host ]; then
    step "deploy the registry forwarder on the nodes without the registry ($FORWARDER stack)"
    deploy_stack "$FORWARDER"
  elif docker stack ls --format '{{.Name}}' | grep -qx "$FORWARDER"; then
    step "remove the registry forwarder: the routing mesh publishes the registry on every node"
    quietly docker stack rm "$FORWARDER"
  fi
}

wait_for_services() {
  step 'wait until every core service runs'
  local name service running deadline=$((SECONDS + 300))
  for name in "${STACKS[@]}"; do
    [ "$name" = router ] && [ "$with_router" = false ] && continue
    for service in $(docker stack services --format '{{.Name}}' "$name"); do
      until running=$(docker service ps --filter desired-state=running --format '{{.CurrentState}}' "$service") &&
        [[ $running == Running* ]] && ! grep -qv '^Running' <<<"$running"; do
        [ $SECONDS -lt $deadline ] || fail "$service is not running: $(docker service ps --no-trunc --format '{{.Error}}' "$service" | head -n 1)"
        sleep 2
      done
      say "$service runs"
    done
  done
}

deployer_container() {
  docker ps --filter label=com.docker.swarm.service.name=deployer_deployer --filter health=healthy --format '{{.ID}}' | head -n 1
}

authorize_key() {
  [ -n "$ssh_key" ] || return 0
  step "authorize the SSH key $ssh_key"
  local container fingerprint deadline=$((SECONDS + 120))
  until container=$(deployer_container) && [ -n "$container" ]; do
    [ $SECONDS -lt $deadline ] || fail 'the deployer never became healthy'
    sleep 2
  done
  fingerprint=$(ssh-keygen -lf "$ssh_key" 2>/dev/null | awk '{print $2}') || fingerprint=''
  if [ -n "$fingerprint" ] && docker exec "$container" swarmlet keys list | grep -qF "$fingerprint"; then
    say 'the key is already authorized'
  else
    docker exec -i "$container" swarmlet keys add <"$ssh_key" >/dev/null
  fi
}

install_command() {
  step "install the swarmlet command ($COMMAND_PATH)"
  mkdir -p "$(dirname "$COMMAND_PATH")"
  local temporary="$COMMAND_PATH.$$.tmp"
  cat >"$temporary" <<'EOF'
#!/bin/sh
# Installed by Swarmlet's install.sh: runs a platform command (swarmlet help) in the deployer running on this node,
# with the same words, output and exit status as `ssh git@HOST COMMAND`. install.sh --uninstall removes it.
container=$(docker ps --filter label=com.docker.swarm.service.name=deployer_deployer --filter health=healthy \
  --format '{{.ID}}' | head -n 1)
if [ -z "$container" ]; then
  echo 'swarmlet: no healthy deployer runs on this node (docker service ps deployer_deployer)' >&2
  exit 1
fi
if [ -t 0 ] && [ -t 1 ]; then exec docker exec -it "$container" swarmlet "$@"; fi
exec docker exec -i "$container" swarmlet "$@"
EOF
  chmod 0755 "$temporary"
  mv -f "$temporary" "$COMMAND_PATH"
}

# The installed firewall script is ours when it carries the first line of scripts/registry-firewall.sh's header.
firewall_is_ours() { [ -f "$FIREWALL_PATH" ] && grep -q "^# Confines the registry's plain-HTTP port" "$FIREWALL_PATH"; }

confine_registry_port() {
  local port=${REGISTRY_ADDR##*:}
  step "confine the registry's port $port to this machine and the swarm's nodes"
  mkdir -p "$(dirname "$FIREWALL_PATH")"
  install -m 0755 "$SOURCE_DIR/scripts/registry-firewall.sh" "$FIREWALL_PATH.$$.tmp"
  mv -f "$FIREWALL_PATH.$$.tmp" "$FIREWALL_PATH"
  quietly "$FIREWALL_PATH" apply --port "$port"
  if [ ! -d /run/systemd/system ]; then
    say "no systemd: run $FIREWALL_PATH apply after a reboot and when nodes join or leave"
    return 0
  fi
  cat >"$SYSTEMD_DIR/$FIREWALL_UNIT.service" <<UNIT
# Installed by Swarmlet's install.sh: confines the registry's port to this machine and the swarm's nodes.
[Unit]
Description=Swarmlet: confine the registry's plain-HTTP port
After=docker.service
Wants=docker.service

[Service]
Type=oneshot
ExecStart=$FIREWALL_PATH apply --port $port

[Install]
WantedBy=multi-user.target docker.service
UNIT
  cat >"$SYSTEMD_DIR/$FIREWALL_UNIT.timer" <<'UNIT'
# Installed by Swarmlet's install.sh: rebuilds the registry port's rules as swarm nodes join and leave.
[Unit]
Description=Swarmlet: keep the registry port's rules in step with the swarm's nodes

[Timer]
OnBootSec=1min
OnUnitActiveSec=1min

[Install]
WantedBy=timers.target
UNIT
  quietly systemctl daemon-reload
  quietly systemctl enable "$FIREWALL_UNIT.service"
  quietly systemctl enable --now "$FIREWALL_UNIT.timer"
}

release_registry_port() {
  step "remove the registry port's firewall rules"
  local unit
  for unit in "$FIREWALL_UNIT.timer" "$FIREWALL_UNIT.service"; do
    if ! grep -qs "Installed by Swarmlet's install.sh" "$SYSTEMD_DIR/$unit"; then continue; fi
    if [ -d /run/systemd/system ]; then systemctl disable --now "$unit" >/dev/null 2>&1 || true; fi
    rm -f "$SYSTEMD_DIR/$unit"
  done
  if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
  if command -v iptables >/dev/null 2>&1; then
    quietly bash "$SOURCE_DIR/scripts/registry-firewall.sh" remove --port "${REGISTRY_ADDR##*:}"
  fi
  if firewall_is_ours; then rm -f "$FIREWALL_PATH"; fi
}

print_next_steps() {
  local host dashboard_note=''
  host=${advertise_addr:-$domain}
  if [ "$with_router" = false ]; then
    dashboard_note="; without the router, send it to the service deployer_dashboard, port 8080, on the network $NETWORK"
  fi
  cat <<EOF

Swarmlet is installed (version $version).
  registry   https://registry.$domain (and $REGISTRY_ADDR on every node, refused from outside the swarm)
  dashboard  https://swarmlet.$domain (sign in as $user)$dashboard_note
  git        ssh://git@$host:2222

Next:
  add to ~/.ssh/config on your laptop:
    Host swarmlet
      HostName $host
      Port 2222
      User git
  in your project:   git remote add swarmlet git@swarmlet:my-app && git push swarmlet master
  operate your apps: ssh swarmlet apps   (status, logs, config, scale, ...: ssh swarmlet help)
                     on this server as root: swarmlet apps
  the core stacks:   git clone git@swarmlet:registry   (also router, deployer)
  the registry:      docker login registry.$domain --username $user
  more keys:         swarmlet keys add < key.pub   (on this server)
EOF
}

# Checks that the manager's swarm port answers over TCP, within 5 seconds, before anything is installed or joined.
check_manager_reachable() {
  step "check that the manager answers on $join_host:$join_port"
  local host=${join_host#[}
  host=${host%]}
  # shellcheck disable=SC2016
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$join_port" 2>/dev/null ||
    fail "nothing answers on $join_host:$join_port (TCP, 5 s): open port $join_port/tcp on the manager to this machine (and $SWARM_PORTS)"
}

# Whether this engine's swarm counts the manager at join_host:join_port among its managers. A node that has just
# joined may not list its managers yet: an empty list is asked again for up to 20 seconds.
in_this_swarm() {
  local managers deadline=$((SECONDS + 20))
  until managers=$(docker info --format '{{range .Swarm.RemoteManagers}}{{println .Addr}}{{end}}') &&
    [ -n "$managers" ] || [ $SECONDS -ge $deadline ]; do
    sleep 1
  done
  grep -qxF "$join_host:$join_port" <<<"$managers"
}

# Fails unless this engine is in no swarm; returns 1 when it is already a node of the swarm being joined.
check_not_in_a_swarm() {
  step 'check that this engine is in no swarm yet'
  local state
  state=$(docker info --format '{{.Swarm.LocalNodeState}}')
  case $state in
    inactive) return 0 ;;
    active)
      if in_this_swarm; then return 1; fi
      fail "this engine is already in a swarm (node $(docker info --format '{{.Swarm.NodeID}}'), managers at $(docker info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}')): leave it first with \`docker swarm leave\` (its services here stop), then run this again"
      ;;
    *) fail "this engine is already in a swarm, whose state here is $state: \`docker swarm leave --force\` resets it" ;;
  esac
}

join_swarm() {
  step "join the swarm at $join_host:$join_port"
  local output
  if output=$(docker swarm join --token "$join_token" ${advertise_addr:+--advertise-addr "$advertise_addr"} \
    "$join_host:$join_port" 2>&1); then
    return 0
  fi
  if [ "$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" != inactive ]; then
    docker swarm leave --force >/dev/null 2>&1 || true
  fi
  case $output in
    *'valid join token is necessary'* | *'CA does not match fingerprint'* | *'invalid join token'*)
      fail "the join token was refused by the manager at $join_host:$join_port: print the current one there with \`swarmlet nodes join-command\`"
      ;;
    *) fail "docker swarm join failed: $(printf '%s' "$output" | tr '\n' ' ' | cut -c1-300)" ;;
  esac
}

# Waits until this engine says it is an active swarm node with no error, then notes its role and id.
check_membership() {
  step 'check from this side that the node is an active member'
  local state error deadline=$((SECONDS + 60))
  until state=$(docker info --format '{{.Swarm.LocalNodeState}}') && error=$(docker info --format '{{.Swarm.Error}}') &&
    [ "$state" = active ] && [ -z "$error" ]; do
    [ $SECONDS -lt $deadline ] || fail "the node is $state in the swarm${error:+: $error}"
    sleep 1
  done
  note_membership
}

# Notes this node's role and id in the swarm, for the summary.
note_membership() {
  node_role=worker
  if [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ]; then node_role=manager; fi
  node_id=$(docker info --format '{{.Swarm.NodeID}}')
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# Builds the registry forwarder's image (what lets this node pull from the platform's registry at 127.0.0.1:5000),
# unless the engine has it already.
prepare_forwarder_image() {
  step "build the image $IMAGES/forwarder:$version from $SOURCE_DIR"
  if have_image "$IMAGES/forwarder:$version"; then
    say "the image $IMAGES/forwarder:$version is here already"
    return 0
  fi
  build_image registry forwarder
}

print_node_summary() {
  local name
  name=$(docker info --format '{{.Name}}')
  cat <<EOF

This machine is now a $node_role node of the swarm at $join_host:$join_port (node $node_id, hostname $name).
  ports to open: $SWARM_PORTS
  on a manager:  swarmlet nodes   (lists it as $name)
  to remove it:  swarmlet nodes drain $name on a manager, docker swarm leave here, docker node rm $name on a manager
EOF
}

join_node() {
  check_system
  check_manager_reachable
  ensure_docker
  version=$(source_version)
  if [ "$build" = false ]; then
    step "check the image $IMAGES/forwarder:$version (--no-build)"
    have_image "$IMAGES/forwarder:$version" ||
      fail "$IMAGES/forwarder:$version is not on this engine: build it from this commit elsewhere and docker load it, or run without --no-build"
  fi
  if check_not_in_a_swarm; then
    join_swarm
    check_membership
  else
    # A second run (after an upgrade of the checkout, say) only brings the firewall and the forwarder image up to date.
    say "this engine is already a node of the swarm at $join_host:$join_port: no join needed"
    note_membership
  fi
  # In host publish mode the forwarder publishes port 5000 here too: the same rules keep it to the swarm.
  confine_registry_port
  prepare_forwarder_image
  current_step=''
  print_node_summary
}

# The platform's version: package.json's, with the checkout's commit when it is a git checkout.
source_version() {
  local release
  release=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$SOURCE_DIR/package.json" | head -n 1)
  if git -C "$SOURCE_DIR" rev-parse --short HEAD >/dev/null 2>&1; then
    release="$release-$(git -C "$SOURCE_DIR" rev-parse --short HEAD)"
  fi
  printf '%s' "$release"
}

uninstall() {
  release_registry_port
  step 'remove the core stacks'
  local name volume node label
  for name in "$FORWARDER" "${STACKS[@]}"; do docker stack rm "$name" >/dev/null 2>&1 || true; done
  local deadline=$((SECONDS + 120))
  for name in "$FORWARDER" "${STACKS[@]}"; do
    while [ -n "$(docker ps -aq --filter "label=com.docker.stack.namespace=$name")" ] && [ $SECONDS -lt $deadline ]; do
      sleep 2
    done
  done
  for name in deployer registry router; do
    docker ps -aq --filter "label=com.docker.stack.namespace=$name" | xargs -r docker rm -f >/dev/null
  done
  step 'remove the secrets, the network and the node labels'
  for name in "${SECRETS[@]}"; do docker secret rm "$name" >/dev/null 2>&1 || true; done
  deadline=$((SECONDS + 60))
  while docker network inspect "$NETWORK" >/dev/null 2>&1 && ! docker network rm "$NETWORK" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      say "kept the network $NETWORK: apps still use it (docker network rm $NETWORK once they are gone)"
      break
    fi
    sleep 2
  done
  node=$(docker info --format '{{.Swarm.NodeID}}')
  for label in "${LABELS[@]}"; do docker node update --label-rm "$label" "$node" >/dev/null 2>&1 || true; done
  step "remove the swarmlet command ($COMMAND_PATH)"
  if [ -f "$COMMAND_PATH" ] && grep -q "Installed by Swarmlet's install.sh" "$COMMAND_PATH"; then rm -f "$COMMAND_PATH"; fi
  step 'remove the images'
  # (swarmlet/* too: the images' names before they moved under $IMAGES)
  docker images -q --filter label=swarmlet.managed=true --filter "reference=$IMAGES/*" --filter 'reference=swarmlet/*' |
    sort -u | xargs -r docker rmi -f >/dev/null
  if [ "$purge" = true ]; then
    step 'remove the data volumes (--purge)'
    for volume in "${VOLUMES[@]}"; do
      deadline=$((SECONDS + 60))
      while docker volume inspect "$volume" >/dev/null 2>&1 && ! docker volume rm "$volume" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || fail "the volume $volume is still in use"
        sleep 2
      done
    done
  else
    say "kept the data volumes: ${VOLUMES[*]} (--purge removes them)"
  fi
  current_step=''
  say 'Swarmlet is uninstalled'
}

main() {
  parse_args "$@"
  become_root "$@"
  if [ "$action" = uninstall ]; then
    docker info >/dev/null 2>&1 || fail 'the Docker engine does not answer'
    uninstall
    return
  fi
  if [ "$action" = join ]; then
    join_node
    return
  fi
  check_system
  gather_answers
  ensure_docker
  version=$(source_version)
  ensure_swarm
  ensure_network
  confine_registry_port
  if [ "$build" = true ]; then build_images; else check_images; fi
  ensure_secrets
  deploy_stacks
  wait_for_services
  authorize_key
  install_command
  current_step=''
  print_next_steps
}

password=''
version=''
node_role=''
node_id=''
main "$@"
