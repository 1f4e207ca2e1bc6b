#!/usr/bin/env bash
# Builds, without Docker Hub, the base images that our Dockerfiles and test apps name, tagged with the official
# names so the real Dockerfiles build unchanged on machines that cannot pull:
#   busybox                FROM scratch: Debian's static busybox with its applet links
#   node:22-bookworm-slim  a Debian bookworm minbase root (debootstrap) with this machine's node and npm
#   docker:cli             the busybox image with this machine's docker CLI at /usr/local/bin/docker
# usage: scripts/stand-in-images.sh [busybox] [node] [docker-cli]   (no argument: all three)
# An image that exists already is kept; the debootstrap root is cached in $SWARMLET_CACHE_DIR
# (default ~/.cache/swarmlet), so a second run is fast. Every image carries the label swarmlet.stand-in=true.
set -euo pipefail

cache_dir=${SWARMLET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/swarmlet}
mirror=${SWARMLET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
say() { printf 'stand-in-images: %s\n' "$*" >&2; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

need_command() { # command debian-package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ]; then
    say "$1 is missing: sudo apt-get install -y $2"
    exit 1
  fi
  say "installing Debian's $2 for $1"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

build_busybox() {
  have_image busybox:latest && return 0
  [ -x /bin/busybox ] || need_command busybox busybox-static
  local busybox=/bin/busybox context
  context=$(mktemp -d)
  mkdir -p "$context/rootfs/bin" "$context/rootfs/tmp" "$context/rootfs/etc"
  cp "$busybox" "$context/rootfs/bin/busybox"
  local applet
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$context/rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$context/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$context/rootfs/etc/group"
  chmod 1777 "$context/rootfs/tmp"
  cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
LABEL swarmlet.stand-in=true
CMD ["sh"]
DOCKERFILE
  say "building busybox from $busybox"
  docker build --quiet -t busybox:latest "$context" >/dev/null
  rm -rf "$context"
}

bookworm_root() { # prints the path of a cached minbase root tarball, making it when missing
  local tarball="$cache_dir/bookworm-minbase.tar"
  if [ ! -s "$tarball" ]; then
    need_command debootstrap debootstrap
    mkdir -p "$cache_dir"
    local root
    root=$(mktemp -d)
    say "debootstrap --variant=minbase bookworm from $mirror (once; cached in $tarball)"
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache_dir/debootstrap.log" 2>&1 || {
      tail -n 20 "$cache_dir/debootstrap.log" >&2
      exit 1
    }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
    rm -rf "$root"
  fi
  printf '%s\n' "$tarball"
}

build_node() {
  have_image node:22-bookworm-slim && return 0
  local context node npm_dir
  node=$(command -v node)
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  context=$(mktemp -d)
  cp "$(bookworm_root)" "$context/rootfs.tar"
  cp "$node" "$context/node"
  cp -a "$npm_dir" "$context/npm"
  cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM scratch
ADD rootfs.tar /
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
LABEL swarmlet.stand-in=true
CMD ["node"]
DOCKERFILE
  say "building node:22-bookworm-slim from the bookworm root and $node ($("$node" --version))"
  docker build --quiet -t node:22-bookworm-slim "$context" >/dev/null
  rm -rf "$context"
}

build_docker_cli() {
  have_image docker:cli && return 0
  build_busybox
  need_command file file
  local context docker_bin
  context=$(mktemp -d)
  for docker_bin in $(type -ap docker); do
    file -L "$docker_bin" | grep -q 'statically linked' && break
  done
  file -L "$docker_bin" | grep -q 'statically linked' || {
    say "no statically linked docker CLI on this machine for docker:cli"
    exit 1
  }
  cp "$docker_bin" "$context/docker"
  cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM busybox:latest
COPY docker /usr/local/bin/docker
ENV PATH=/usr/local/bin:/bin
LABEL swarmlet.stand-in=true
CMD ["docker"]
DOCKERFILE
  say "building docker:cli from $docker_bin"
  docker build --quiet -t docker:cli "$context" >/dev/null
  rm -rf "$context"
}

[ $# -gt 0 ] || set -- busybox node docker-cli
for image in "$@"; do
  case "$image" in
    busybox) build_busybox ;;
    node) build_node ;;
    docker-cli) build_docker_cli ;;
    *)
      say "unknown image $image (busybox, node, docker-cli)"
      exit 2
      ;;
  esac
done
