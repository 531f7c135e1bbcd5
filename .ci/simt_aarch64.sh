#!/usr/bin/env bash
# CI: the host SIMT runtime on aarch64 (its hand-written context switch), cross-built with
# g++-aarch64-linux-gnu and run under qemu-aarch64: tests/simt_cross/simt_cross_check.cpp checks
# fibers, barriers, shuffles, ballots, atomics, fresh shared memory, callee-saved registers across
# switches and the stuck-barrier diagnostic. Installs the two Debian packages when missing (root
# or sudo). Output in build-aarch64/ (or SIMT_AARCH64_DIR).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${SIMT_AARCH64_DIR:-build-aarch64}
CXX=aarch64-linux-gnu-g++
SYSROOT=/usr/aarch64-linux-gnu

if ! command -v "$CXX" >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends g++-aarch64-linux-gnu qemu-user
fi

mkdir -p "$OUT"
# Runtime plus the check, with the project's warnings; one compiler run per file, two at a time.
sources=(kernels/cuda/simt/*.cpp tests/simt_cross/simt_cross_check.cpp)
flags=(-std=c++17 -O2 -g -I. -Wall -Wextra -Werror -pthread)
printf '%s\n' "${sources[@]}" | xargs -P "${JOBS:-2}" -I{} sh -c \
  "$CXX ${flags[*]} -c {} -o $OUT/\$(basename {} .cpp).o"
objs=()
for s in "${sources[@]}"; do objs+=("$OUT/$(basename "$s" .cpp).o"); done
$CXX -pthread "${objs[@]}" -o "$OUT/simt_cross_check"
echo "== aarch64: $(file -b "$OUT/simt_cross_check" | cut -d, -f1-2)"
# One worker per emulated CPU core is plenty; qemu runs each worker as a host thread.
SIGNET_SIMT_WORKERS=2 qemu-aarch64 -L "$SYSROOT" "$OUT/simt_cross_check"
