#!/usr/bin/env bash
# The light LibTorch 2.x check of `.ci/run`: installs PyPI's torch (scripts/build_torch2.sh) and
# compiles, against the LibTorch 2.x inside it with CUDA on, the files whose code differs by
# LibTorch version or by CUDA (TORCH_VERSION_* and CAIG_WITH_CUDA guards). The full build and its
# tests: scripts/build_torch2.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
sources=$(grep -rlE "TORCH_VERSION_M(AJOR|INOR)|CAIG_WITH_CUDA" --include='*.cpp' \
  harness methods rewards baselines prompts optimisers optimisation stages datasets cli | sort)
echo "check_torch2: compiling" $sources
CAIG_TORCH2_SOURCES="$sources" CAIG_TORCH2_TARGETS="" bash scripts/build_torch2.sh
