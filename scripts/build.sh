#!/usr/bin/env bash
# Configures and builds caig-bench into build/ (Release, Ninja, ccache when present).
# Extra arguments go to CMake, e.g. -DCMAKE_PREFIX_PATH=/path/to/libtorch for LibTorch 2.x.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${CAIG_JOBS:-$(nproc)}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$jobs"
