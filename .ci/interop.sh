#!/usr/bin/env bash
# The interop suite alone (part of .ci/run): the official x402 stack on a local chain and real MCP clients against our host, plus
# the Node self-test of tests/interop. Same steps and closing line as .ci/run, filtered to these suites.
X402_CI_SUITES='EndToEnd' exec bash "$(dirname "$0")/run"
