#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine and that it is a swarm manager, for `npm start` and
# `npm test`. As root it brings what is missing up itself, saying so: Debian's docker.io when there is no
# dockerd, dockerd in the background when none answers, `docker swarm init` when the swarm is inactive.
# As any other user it stops with the exact command to run. Safe to run any number of times.
set -euo pipefail

log_file=/var/log/swarmlet-dockerd.log
say() { printf 'swarmlet: %s\n' "$*" >&2; }

engine_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if ! engine_answers; then
  if [ "$(id -u)" != 0 ]; then
    if command -v dockerd >/dev/null 2>&1; then
      say "no Docker engine answers. Start one, then run this again: sudo systemctl start docker || sudo sh -c 'dockerd >$log_file 2>&1 &'"
      say "(if dockerd runs already, let this user reach it: sudo usermod -aG docker $USER, then log in again)"
    else
      say "no Docker engine is installed. Install and start one, then run this again: sudo apt-get install -y docker.io && sudo systemctl start docker"
    fi
    exit 1
  fi
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    say "no Docker engine installed: installing Debian's docker.io (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  fi
  if ! engine_answers; then
    if [ -d /run/systemd/system ] && systemctl start docker 2>/dev/null && engine_answers; then
      say "started the docker service (systemctl)"
    else
      say "starting dockerd in the background (log: $log_file)"
      setsid nohup dockerd >>"$log_file" 2>&1 </dev/null &
      for _ in $(seq 1 60); do
        engine_answers && break
        sleep 1
      done
      engine_answers || {
        say "dockerd did not answer within 60 s; its log ends with:"
        tail -n 20 "$log_file" >&2
        exit 1
      }
    fi
  fi
fi

swarm_state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$swarm_state" = inactive ]; then
  say "the engine is in no swarm: docker swarm init --advertise-addr 127.0.0.1"
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
elif [ "$swarm_state" != active ]; then
  say "the engine's swarm is $swarm_state; fix it (docker info shows why) and run this again"
  exit 1
fi
