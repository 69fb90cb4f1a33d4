#!/usr/bin/env bash
# The README's main command: set up, build, and run the paper reproduction at the cpu preset.
# Extra arguments go to `caig run` (e.g. --set run.seed=3 --force).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/cli/caig run experiments/paper.toml --preset cpu "$@"
