#!/usr/bin/env bash
# Confines the registry's plain-HTTP port to this machine and the swarm's nodes. install.sh installs it as
# /usr/local/sbin/swarmlet-registry-firewall and runs it at install, from a systemd unit after docker.service (so it
# comes back after a reboot or a restart of the engine) and every minute from a timer (so it follows nodes that join
# and leave); `install.sh --uninstall` removes the rules.
#   registry-firewall.sh apply  [--port PORT] [--allow ADDR]...   (re)build the rules from `docker node ls`
#   registry-firewall.sh remove [--port PORT]                     remove them
# PORT is the published port (default 5000). ADDR (an IPv4 address or CIDR) is let in besides loopback and the
# nodes' addresses (on a worker, which cannot list the nodes, the managers' addresses and these).
# What the rules do: a published port reaches its container through the engine's DNAT (nat DOCKER-INGRESS in
# ingress mode, nat DOCKER in host mode) and then the filter FORWARD chain, whose first stop is DOCKER-USER, the
# chain the engine leaves to its users. One rule there sends every packet of a DNAT'd connection whose original
# destination port is PORT (conntrack, original direction) to the chain SWARMLET-REGISTRY-PORT, which returns for
# loopback and the allowed addresses and rejects the rest with a TCP reset. Connections the machine makes itself
# (docker pushes and pulls of 127.0.0.1:5000) never pass FORWARD; other nodes reach the registry over the ingress
# overlay or, in host mode, from their own address. Running it twice leaves one rule set; the chain is rebuilt in
# one iptables-restore transaction, so the port is never open while it changes. Only rules it made are touched.
set -euo pipefail

port=5000
action=''
allowed=()

fail() {
  printf 'registry-firewall: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '6,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

is_ipv4() { # ADDR or ADDR/BITS
  local address=${1%/*} bits octet
  [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]{1,2})?$ ]] || return 1
  if [[ $1 == */* ]]; then
    bits=${1#*/}
    [ "$bits" -le 32 ] || return 1
  fi
  IFS=. read -r -a octets <<<"$address"
  for octet in "${octets[@]}"; do [ "$((10#$octet))" -le 255 ] || return 1; done
}

parse_args() {
  [ $# -gt 0 ] || usage
  case $1 in apply | remove) action=$1 ;; --help | -h) usage ;; *) fail "unknown action $1 (apply or remove)" ;; esac
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      --port) port=${2:?--port needs a value}; shift ;;
      --allow) allowed+=("${2:?--allow needs a value}"); shift ;;
      *) fail "unknown option $1" ;;
    esac
    shift
  done
  if ! [[ $port =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then fail "invalid port $port"; fi
  local address
  for address in "${allowed[@]}"; do is_ipv4 "$address" || fail "--allow takes an IPv4 address or CIDR, not $address"; done
}

# The IPv4 addresses of the swarm's nodes, one a line; the leader may report 0.0.0.0 as its own address, so a
# manager's advertised address is taken too. On a worker, which cannot list the nodes, the managers' addresses.
node_addresses() {
  local ids line address
  if ! ids=$(docker node ls --format '{{.ID}}' 2>/dev/null); then
    line=$(docker info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}' 2>/dev/null) ||
      fail 'the Docker engine does not answer'
    printf 'registry-firewall: not a manager: letting in the managers (%s) and --allow addresses\n' "$line" >&2
  else
    [ -n "$ids" ] || return 0
    # shellcheck disable=SC2086 # node IDs are single words
    line=$(docker node inspect --format '{{.Status.Addr}}{{if .ManagerStatus}} {{.ManagerStatus.Addr}}{{end}}' $ids)
  fi
  for address in $line; do
    address=${address%:*}
    if is_ipv4 "$address" && [ "$address" != 0.0.0.0 ]; then printf '%s\n' "$address"; fi
  done
}

chain_name() { printf 'SWARMLET-REGISTRY-%s' "$port"; }

jump_rule() {
  printf '%s\n' -p tcp -m conntrack --ctstate DNAT --ctdir ORIGINAL --ctorigdstport "$port" \
    -m comment --comment "swarmlet registry port $port" -j "$(chain_name)"
}

apply_rules() {
  local chain nodes rules jump address
  chain=$(chain_name)
  iptables -w -n -L DOCKER-USER >/dev/null 2>&1 || fail 'no DOCKER-USER chain: is the Docker engine running?'
  nodes=$(node_addresses)
  mapfile -t addresses < <(printf '%s\n' "$nodes" "${allowed[@]}" | sed '/^$/d' | sort -u)
  rules=$(
    printf '*filter\n:%s - [0:0]\n' "$chain"
    printf -- '-A %s -s 127.0.0.0/8 -j RETURN\n' "$chain"
    for address in "${addresses[@]}"; do printf -- '-A %s -s %s -j RETURN\n' "$chain" "$address"; done
    printf -- '-A %s -p tcp -j REJECT --reject-with tcp-reset\nCOMMIT\n' "$chain"
  )
  iptables-restore -w --noflush <<<"$rules" || fail "could not write the chain $chain"
  mapfile -t jump < <(jump_rule)
  iptables -w -C DOCKER-USER "${jump[@]}" 2>/dev/null || iptables -w -I DOCKER-USER 1 "${jump[@]}"
  printf 'registry-firewall: port %s answers only loopback%s\n' "$port" \
    "$([ ${#addresses[@]} -eq 0 ] || printf ' and %s' "${addresses[*]}")"
}

remove_rules() {
  local chain jump
  chain=$(chain_name)
  mapfile -t jump < <(jump_rule)
  while iptables -w -C DOCKER-USER "${jump[@]}" 2>/dev/null; do iptables -w -D DOCKER-USER "${jump[@]}"; done
  if iptables -w -n -L "$chain" >/dev/null 2>&1; then
    iptables -w -F "$chain"
    iptables -w -X "$chain"
  fi
  printf 'registry-firewall: port %s is no longer confined\n' "$port"
}

parse_args "$@"
command -v iptables >/dev/null 2>&1 || fail 'iptables is not installed'
if [ "$action" = apply ]; then apply_rules; else remove_rules; fi
