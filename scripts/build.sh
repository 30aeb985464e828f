#!/usr/bin/env bash
# Configures and builds lifeboat.
#   scripts/build.sh                 -> build/lifeboat (+ tests, micro-benchmarks)
#   BUILD_DIR=build-asan SANITIZE=1 scripts/build.sh   ASan+UBSan build
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
TYPE="${BUILD_TYPE:-RelWithDebInfo}"
ARGS=(-DCMAKE_BUILD_TYPE="$TYPE")
if [ "${SANITIZE:-0}" = 1 ]; then ARGS+=(-DLIFEBOAT_SANITIZE=ON -DLIFEBOAT_BENCH=OFF); fi
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${GEN[@]}" "${ARGS[@]}" >/dev/null
else
  cmake -S . -B "$BUILD_DIR" "${ARGS[@]}" >/dev/null
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" ${TARGETS:+--target $TARGETS}
