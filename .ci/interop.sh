#!/usr/bin/env bash
# The interop suite alone (what .ci/run already runs as part of everything): the official x402 stack on a local chain and real
# MCP clients against our host. Installs the pinned npm packages, builds, runs tests/X402Orleans.EndToEnd.Tests and the Node
# self-test of tests/interop, and prints one closing line "N passed, N failed, N skipped". Exits non-zero on any failure.
# Everything listens on 127.0.0.1 and is started and stopped by the tests themselves.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/.ci/out/interop"
rm -rf "$OUT" && mkdir -p "$OUT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 NUGET_XMLDOC_MODE=skip
export HOME="${HOME:-$ROOT/.ci/home}"

passed=0 failed=0 skipped=0
fail_setup() { printf '== setup failed: %s\n' "$*"; failed=$((failed + 1)); }

command -v node >/dev/null || fail_setup "node (Node.js >= 20) is not on PATH"
if ! (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >"$OUT/npm-ci.log" 2>&1); then
  tail -20 "$OUT/npm-ci.log"; fail_setup "npm ci (tests/interop)"
fi
if ! dotnet build X402Orleans.sln -c Debug >"$OUT/build.log" 2>&1; then
  grep -E "error" "$OUT/build.log" | sort -u | head -40; fail_setup "dotnet build"
  echo "$passed passed, $failed failed, $skipped skipped"; exit 1
fi

name=X402Orleans.EndToEnd.Tests
timeout 900 dotnet test "tests/$name/$name.csproj" --no-build -c Debug --logger "trx;LogFileName=$name.trx" --results-directory "$OUT" >"$OUT/$name.log" 2>&1
rc=$?
trx="$OUT/$name.trx"
if [ -f "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | grep -o "$1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  p=$(get passed); f=$(get failed); t=$(get total); e=$(get executed)
  s=$(( ${t:-0} - ${e:-0} ))
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + s))
  echo "   $name: ${p:-0} passed, ${f:-0} failed, $s skipped"
  if [ "${f:-0}" != "0" ] || [ $rc -ne 0 ]; then
    grep -E "^\s+(Failed|Error Message)" -A6 "$OUT/$name.log" | head -80
    [ "${f:-0}" = "0" ] && failed=$((failed + 1))
  fi
else
  tail -30 "$OUT/$name.log"; fail_setup "$name produced no results"
fi

(cd tests/interop && timeout 300 node --test >"$OUT/node-selftest.log" 2>&1)
np=$(grep -E '^# pass ' "$OUT/node-selftest.log" | grep -o '[0-9]*' || echo 0)
nf=$(grep -E '^# fail ' "$OUT/node-selftest.log" | grep -o '[0-9]*' || echo 1)
passed=$((passed + ${np:-0})); failed=$((failed + ${nf:-0}))
echo "   tests/interop (node --test): ${np:-0} passed, ${nf:-0} failed"
[ "${nf:-0}" != "0" ] && tail -30 "$OUT/node-selftest.log"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
