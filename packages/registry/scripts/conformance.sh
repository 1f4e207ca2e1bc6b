#!/usr/bin/env bash
# The OCI Distribution conformance suite v1.1.1 against this registry (`npm run conformance:registry`): starts
# packages/registry/dist/main.js (built first by the npm script) on a free loopback port over a temporary root
# with deletes enabled, runs the suite's four workflows, stops it; once open, once with htpasswd auth
# (OCI_USERNAME/OCI_PASSWORD). The suite is $OCI_CONFORMANCE_RUN, by default ../shared/oci-conformance/run.sh
# beside the checkout. Prints each run's failing specs and "N passed, N failed" and exits 1 when any spec failed,
# 2 when the suite or the registry could not run.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
suite=${OCI_CONFORMANCE_RUN:-$repo/../shared/oci-conformance/run.sh}
main=$repo/packages/registry/dist/main.js
[ -f "$suite" ] || { echo "conformance: no suite at $suite (set OCI_CONFORMANCE_RUN)" >&2; exit 2; }
[ -f "$main" ] || { echo "conformance: $main is missing: run 'npm run build' first" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/swarmlet-conformance-XXXXXX")
pid=''
status=0
stop() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=''
  fi
}
# shellcheck disable=SC2317 # run by the EXIT trap
finish() {
  stop
  if [ "$status" = 0 ]; then rm -rf "$work"; else echo "conformance: reports and registry logs kept in $work"; fi
}
trap finish EXIT

# run LABEL [REGISTRY_*=VALUE ...]: one registry on a fresh root, one run of the suite; returns the suite's status.
run() {
  local label=$1 root=$work/$1 log=$work/$1.log port=''
  shift
  mkdir -p "$root"
  env "$@" REGISTRY_HTTP_ADDR=127.0.0.1:0 REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$root" \
    REGISTRY_STORAGE_DELETE_ENABLED=true REGISTRY_LOG_ACCESSLOG_DISABLED=true \
    node "$main" serve >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    port=$(grep -o '"port":[0-9]*' "$log" | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "conformance ($label): the registry did not start; its output:" >&2
    cat "$log" >&2
    stop
    return 2
  fi
  echo "== conformance ($label): registry on 127.0.0.1:$port"
  local status=0
  bash "$suite" "http://127.0.0.1:$port" "$work/$label-report" || status=$?
  stop
  if grep -q '"level":50' "$log"; then
    echo "conformance ($label): the registry logged errors:" >&2
    grep '"level":50' "$log" >&2
    status=1
  fi
  return "$status"
}

run open || status=$?
password=$(head -c 18 /dev/urandom | base64)
node "$main" htpasswd conformance <<<"$password" >"$work/users.htpasswd"
OCI_USERNAME=conformance OCI_PASSWORD=$password run htpasswd \
  REGISTRY_AUTH=htpasswd REGISTRY_AUTH_HTPASSWD_PATH="$work/users.htpasswd" REGISTRY_AUTH_HTPASSWD_REALM=conformance ||
  status=$?
exit "$status"
