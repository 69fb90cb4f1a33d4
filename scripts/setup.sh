#!/usr/bin/env bash
# Installs every system package caig-bench needs (Debian 12). Idempotent: does nothing when all
# packages are present. OpenBLAS matters: Debian's libtorch otherwise runs on the reference BLAS.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-pthread
  libopencv-dev libfmt-dev libcli11-dev nlohmann-json3-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev gnuplot-nox libxxhash-dev
  libgloo-dev  # c10d's Gloo headers (data-parallel training on CPU)
  chromium  # the report page test opens report.html headless
  python3  # runs the example external reward model in the tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
