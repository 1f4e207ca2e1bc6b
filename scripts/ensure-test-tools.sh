#!/usr/bin/env bash
# Makes sure the programs the tests use besides the Docker engine (see ensure-docker.sh) are installed, for
# `npm test` and CI. They come from Debian's packages. As root it installs the missing ones itself, saying so; as
# any other user it stops with the exact `apt-get install` line to run. Safe to run any number of times.
# usage: scripts/ensure-test-tools.sh [PACKAGE...]   (no argument: every package the tests use)
# When it installs docker-registry on a machine run by systemd, it stops and disables the package's service: the
# tests start their own registries, and the service would hold port 5000, which the platform's registry uses.
set -euo pipefail

say() { printf 'swarmlet: %s\n' "$*" >&2; }

test_packages=(
  skopeo          # a second registry client for the registry tests
  docker-registry # the CNCF registry 2.8, the peer our registry is tested and measured against
  busybox-static  # the busybox stand-in image
  debootstrap     # the node:22-bookworm-slim stand-in image
  git             # the receiver's and the deployer's tests push and clone
  openssh-client  # ssh, ssh-keygen and ssh-keyscan for the receiver's tests
  openssl         # certificates for the TLS tests
  curl file ca-certificates iproute2 procps util-linux
  shellcheck      # install.sh and the scripts stay shellcheck-clean
  wrk             # HTTP load for the benchmarks
  chromium        # the dashboard's browser tests (driven by playwright-core; never a downloaded browser)
)
if [ $# -gt 0 ]; then packages=("$@"); else packages=("${test_packages[@]}"); fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

if ! command -v dpkg-query >/dev/null 2>&1; then
  say "this is not a Debian-like system: install these (or your system's equivalents) by hand: ${packages[*]}"
  exit 1
fi
missing=()
for package in "${packages[@]}"; do
  installed "$package" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  say "the tests need Debian packages that are not installed. Install them, then run this again: sudo $line"
  exit 1
fi
say "installing what the tests use from Debian: ${missing[*]} (apt-get)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [[ " ${missing[*]} " == *' docker-registry '* ]] && [ -d /run/systemd/system ]; then
  say "stopping and disabling the docker-registry service that the package started: the tests start their own"
  systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
fi
