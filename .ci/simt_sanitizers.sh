#!/usr/bin/env bash
# CI: the host SIMT runtime and the tests/test_simt_*.cpp programs under AddressSanitizer
# (+UBSan) and ThreadSanitizer, with the fiber-switch annotations of kernels/cuda/simt/fiber.cpp.
# Compiles only the runtime, the .cu files it builds (as kernels/cuda/simt/CMakeLists.txt picks
# them) and those tests, straight with the compiler: no engine. Under TSan the planted races
# (SimtRuntimeDeathTest.ThreadSanitizerReportsSharedMemoryRace, and the missing __syncthreads of
# SimtPlantedBugs.MissingSyncthreads*, run apart) must be reported.
# Output in build-asan/ and build-tsan/ (or SIMT_ASAN_DIR / SIMT_TSAN_DIR).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
CXX=${CXX:-g++}
if command -v ccache >/dev/null; then CXX="ccache $CXX"; fi

# The .cu files the simt build compiles: not written for nvcc alone (no <<< >>>, no CUDA headers).
simt_units() {
  local cu files
  for cu in kernels/cuda/*.cu; do
    files=("$cu")
    if [ -f "${cu%.cu}.h" ]; then files+=("${cu%.cu}.h"); fi
    if grep -qE '<<<|#include <cuda' "${files[@]}"; then continue; fi
    echo "$cu"
  done
}

# Compiles the runtime, the units and every simt test with `flags` into `dir`, then runs each.
run_sanitized() {
  local dir=$1 flags=$2 src obj t objs=() tests=()
  mkdir -p "$dir"
  local common=(-std=c++17 -O1 -g -fno-omit-frame-pointer -I"$ROOT" -Wall -Wextra -Werror -pthread
    -DSIGNET_CUDA_SIMT=1 $flags)
  for src in kernels/cuda/simt/*.cpp $(simt_units) tests/test_simt_*.cpp; do
    echo "$src"
  done | xargs -P "$JOBS" -I{} sh -c "$CXX ${common[*]} -x c++ -c $ROOT/{} -o $dir/\$(basename {}).o"
  for src in kernels/cuda/simt/*.cpp $(simt_units); do objs+=("$dir/$(basename "$src").o"); done
  for src in tests/test_simt_*.cpp; do
    t=$(basename "$src" .cpp)
    tests+=("$t")
    # shellcheck disable=SC2086
    g++ $flags -pthread "$dir/$t.cpp.o" "${objs[@]}" -lgtest_main -lgtest -o "$dir/$t"
  done
  for t in "${tests[@]}"; do
    echo "-- $dir: $t"
    "$dir/$t" --gtest_brief=1 --gtest_filter="-$skip"
  done
}

# Under TSan the planted missing-__syncthreads tests race on purpose: they must be reported.
expect_tsan_races() {
  local dir=$1 out rc=0
  echo "-- $dir: test_simt_kernels $RACY (must report data races)"
  out=$("$dir/test_simt_kernels" --gtest_brief=1 --gtest_filter="$RACY" 2>&1) || rc=$?
  if [ "$rc" -ne 66 ] || ! grep -q "ThreadSanitizer: data race" <<<"$out"; then
    echo "$out"
    echo "TSan did not report the planted races of $RACY (exit $rc)" >&2
    return 1
  fi
  echo "reported: $(grep -c 'WARNING: ThreadSanitizer: data race' <<<"$out") data races (exit 66)"
}

RACY='SimtPlantedBugs.MissingSyncthreads*'
start=$SECONDS
skip=""
echo "== simt under AddressSanitizer + UndefinedBehaviorSanitizer (${SIMT_ASAN_DIR:-build-asan}/)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run_sanitized "${SIMT_ASAN_DIR:-build-asan}" \
  "-fsanitize=address,undefined -fno-sanitize-recover=undefined"
echo "== simt under ThreadSanitizer (${SIMT_TSAN_DIR:-build-tsan}/)"
skip=$RACY
export TSAN_OPTIONS=second_deadlock_stack=1
run_sanitized "${SIMT_TSAN_DIR:-build-tsan}" "-fsanitize=thread"
expect_tsan_races "${SIMT_TSAN_DIR:-build-tsan}"
echo "== simt sanitizers: $((SECONDS - start)) s"
