#!/usr/bin/env bash
# Builds caig-bench against LibTorch 2.x with CUDA, the one inside PyPI's `torch` wheel of the GPU
# machines' version, into build-torch2/ (the CPU build stays in build/). The wheel and its CUDA
# libraries go into .venv-torch2/ once. Extra arguments go to CMake.
#
#   bash scripts/build_torch2.sh                 # configure and build everything
#   CAIG_TORCH2_TARGETS="caig test_backbone" bash scripts/build_torch2.sh   # some targets only
#   CAIG_TORCH2_SOURCES="harness/device_torch.cpp" ...                    # some objects only
#   (cd build-torch2 && ctest)                   # its CPU tests, against LibTorch 2.x
set -euo pipefail
cd "$(dirname "$0")/.."
version="${CAIG_TORCH_VERSION:-2.11.0}"
venv=.venv-torch2
bash scripts/setup.sh
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
if ! "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$version')" 2>/dev/null; then
  echo "build_torch2: installing torch==$version from PyPI into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "torch==$version"
fi
prefix="$("$venv/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
torch_lib="$("$venv/bin/python" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
cuda_args=()
if command -v nvcc > /dev/null; then
  cuda_args+=("-DCMAKE_CUDA_COMPILER=$(command -v nvcc)")
fi
jobs="${CAIG_JOBS:-$(nproc)}"
# TorchConfig looks for libtorch and libc10 on the default paths too, where Debian's LibTorch 1.13
# may be: both are named here, so that no binary loads two LibTorch versions.
cmake -S . -B build-torch2 -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_RPATH="$torch_lib" -DTORCH_LIBRARY="$torch_lib/libtorch.so" \
  -Dc10_LIBRARY="$torch_lib/libc10.so" "${cuda_args[@]}" "$@"
# CAIG_TORCH2_SOURCES="a.cpp b.cpp": compile those sources' objects (added to the targets).
for src in ${CAIG_TORCH2_SOURCES:-}; do
  object=$(ninja -C build-torch2 -t targets all | grep -oE "^[^:]*/$(basename "$src")\.o" | head -1)
  [ -n "$object" ] || { echo "build_torch2: no object for $src" >&2; exit 1; }
  CAIG_TORCH2_TARGETS="${CAIG_TORCH2_TARGETS:-} $object"
done
# shellcheck disable=SC2086
cmake --build build-torch2 -j "$jobs" ${CAIG_TORCH2_TARGETS:+--target $CAIG_TORCH2_TARGETS}
echo "build_torch2: done: build-torch2/ against LibTorch $version ($prefix)"
