#!/usr/bin/env bash
# One entry point for Signet: installs what the build needs, builds, tests, benchmarks.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

BUILD_DIR=build
JOBS=$(nproc)
# Debian packages the build needs. CUDA is optional and not from Debian: kernels/cuda is built
# when nvcc is found (PATH, CUDACXX or /usr/local/cuda/bin).
PACKAGES=(cmake make g++ libgtest-dev libgmock-dev libbenchmark-dev clang-format git pkg-config
  ca-certificates libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libstb-dev
  libopenblas-dev libdnnl-dev)

usage() {
  cat <<EOF
usage: ./run.sh <command> [args]

  demo [args]  install deps, build, run 'signet demo' (args go to it)
  test         install deps, build, run every test with ctest
  bench        install deps, build, run every benchmark; JSON in bench/results/
  build        configure ${BUILD_DIR}/ (Release) and build it
  deps         install the missing Debian packages (prints the apt-get line when not root)
  info         build, then print 'signet info'

Extra CMake options for the configure step: SIGNET_CMAKE_ARGS="-DSIGNET_CUDA=OFF" ./run.sh build
EOF
}

# Installs the missing packages as root, or prints the command and fails otherwise.
deps() {
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "== deps: all ${#PACKAGES[@]} packages installed"
    return 0
  fi
  local install=(apt-get install -y --no-install-recommends "${missing[@]}")
  if [ "$(id -u)" -ne 0 ]; then
    echo "== deps: missing ${missing[*]}; as root run:" >&2
    echo "   apt-get update && ${install[*]}" >&2
    return 1
  fi
  echo "== deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  "${install[@]}"
}

# Configures the Release build (extra options from SIGNET_CMAKE_ARGS) and builds everything.
build() {
  echo "== configuring ${BUILD_DIR}/ (Release)"
  # shellcheck disable=SC2086  # SIGNET_CMAKE_ARGS is a list of options
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${SIGNET_CMAKE_ARGS:-}
  echo "== building (${JOBS} jobs)"
  cmake --build "$BUILD_DIR" -j"$JOBS"
}

# Runs every test; the last line is ctest's summary and the exit status is ctest's.
run_tests() {
  echo "== testing (ctest, 2 at a time)"
  ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error -j2
}

# Runs each benchmark program, writing bench/results/<name>.json.
run_benches() {
  local found=0 bin name
  local FIFO=()
  # SIGNET_BENCH_FIFO=1: real-time priority (chrt -f 50), so that no other process of this
  # machine runs between ours; it needs the right to use chrt, and leaves the desktop unresponsive.
  if [ "${SIGNET_BENCH_FIFO:-0}" = 1 ]; then
    if chrt -f 50 true 2>/dev/null; then
      FIFO=(chrt -f 50)
      echo "== benchmarks at SCHED_FIFO priority 50 (SIGNET_BENCH_FIFO=1)"
    else
      echo "== SIGNET_BENCH_FIFO=1 but chrt -f 50 is not permitted here: normal priority" >&2
    fi
  fi
  mkdir -p bench/results
  for bin in "$BUILD_DIR"/bench/bench_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    found=1
    name=$(basename "$bin")
    echo "== benchmark ${name} -> bench/results/${name}.json"
    "${FIFO[@]}" "$bin" --benchmark_out="bench/results/${name}.json" --benchmark_out_format=json
    if [ "$name" = bench_gemm ]; then
      # Ours and OpenBLAS alternated call by call need both thread pools asleep between calls.
      echo "== benchmark ${name}, paired with OpenBLAS, pools asleep -> bench/results/${name}_pools_asleep.json"
      SIGNET_BENCH_POOLS_ASLEEP=1 "${FIFO[@]}" "$bin" --benchmark_filter=/pair_openblas/ \
        --benchmark_out="bench/results/${name}_pools_asleep.json" --benchmark_out_format=json
    fi
  done
  if [ "$found" -eq 0 ]; then
    echo "== no benchmark programs in ${BUILD_DIR}/bench (none written yet, or Google Benchmark missing)"
  fi
}

cmd=${1:-}
if [ $# -gt 0 ]; then shift; fi
case "$cmd" in
  deps) deps ;;
  build) build ;;
  demo)
    deps
    build
    echo "== signet demo $*"
    exec "$BUILD_DIR/tools/signet" demo "$@"
    ;;
  test)
    deps
    build
    run_tests
    ;;
  bench)
    deps
    build
    run_benches
    ;;
  info)
    build
    exec "$BUILD_DIR/tools/signet" info
    ;;
  -h | --help | help)
    usage
    ;;
  *)
    [ -n "$cmd" ] && echo "run.sh: unknown command '$cmd'" >&2
    usage >&2
    exit 2
    ;;
esac
