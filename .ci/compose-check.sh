#!/usr/bin/env bash
# Validates docker-compose.yml offline (no docker engine needed): `docker-compose config -q` from Debian's docker-compose
# package, installed here if missing. Non-interactive. Exit status is the validation's.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'compose-check.sh: %s\n' "$*" >&2; }
if ! command -v docker-compose >/dev/null 2>&1; then
  log "installing docker-compose from Debian packages"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq </dev/null >&2
  $sudo apt-get install -y -qq --no-install-recommends docker-compose </dev/null >&2
fi
docker-compose -f docker-compose.yml config -q
log "docker-compose.yml is valid ($(docker-compose version --short 2>/dev/null || echo '?'))"
