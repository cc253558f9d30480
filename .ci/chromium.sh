#!/usr/bin/env bash
# The headless browser for the browser tests (BrowserSession in tests/X402Orleans.Testing): Debian's chromium package.
#
#   X402_CHROMIUM=$(bash .ci/chromium.sh)   # installs chromium from Debian packages when /usr/bin/chromium is missing,
#                                           # then prints the executable's path (the only line on stdout)
#
# Non-interactive (no stdin, CI=true friendly); progress goes to stderr. PuppeteerSharp never downloads a browser: the tests
# launch this executable. Exits non-zero when no working chromium can be had (a setup failure, never a silent skip).
set -euo pipefail
log() { printf 'chromium.sh: %s\n' "$*" >&2; }

find_chromium() {
  local c
  for c in "${X402_CHROMIUM:-}" /usr/bin/chromium /usr/lib/chromium/chromium; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

if ! exe=$(find_chromium); then
  log "installing chromium from Debian packages"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq </dev/null >&2
  $sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation </dev/null >&2
  exe=$(find_chromium) || { log "chromium install failed"; exit 1; }
fi

version=$("$exe" --headless --no-sandbox --disable-gpu --version 2>/dev/null </dev/null | head -1) \
  || { log "$exe does not run"; exit 1; }
log "${version:-chromium} at $exe"
echo "$exe"
