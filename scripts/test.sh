#!/usr/bin/env bash
# Runs every test: the Swift test suites, then the interop tests that drive a running
# `switchyard serve` with the official OpenAI and Anthropic Python SDKs.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --build-tests
swift test --skip-build

if [ -d Tests/Interop ]; then
  scripts/interop.sh
fi
