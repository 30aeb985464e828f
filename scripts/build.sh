#!/usr/bin/env bash
# Configures and builds lifeboat.
#   scripts/build.sh                 -> build/lifeboat (+ tests, micro-benchmarks)
#   BUILD_DIR=build-asan SANITIZE=1 scripts/build.sh   ASan+UBSan build
#   UNITY=OFF scripts/build.sh       one object per source file
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
TYPE="${BUILD_TYPE:-RelWithDebInfo}"
# UNITY=ON (the default here) compiles each layer's sources in batches of 8:
# the json, CLI11 and fmt headers are parsed and their templates compiled
# once per batch, not once per file (a clean build on 2 cores: 12.5 -> 5.3
# minutes). UNITY=OFF compiles file by file, for a quicker edit loop.
ARGS=(-DCMAKE_BUILD_TYPE="$TYPE" -DCMAKE_UNITY_BUILD="${UNITY:-ON}")
if [ "${SANITIZE:-0}" = 1 ]; then ARGS+=(-DLIFEBOAT_SANITIZE=ON -DLIFEBOAT_BENCH=OFF); fi
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${GEN[@]}" "${ARGS[@]}" >/dev/null
else
  cmake -S . -B "$BUILD_DIR" "${ARGS[@]}" >/dev/null
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" ${TARGETS:+--target $TARGETS}
