#!/usr/bin/env bash
# CI: compiles every kernels/cuda/*.cu with nvcc to PTX and through ptxas -v for sm_80 and sm_90,
# keeps the resource report (build/kernels/cuda/ptxas_report.txt, PTX beside it in ptx/), and
# fails when a kernel listed in kernels/cuda/hot_kernels.txt spills registers, uses local memory
# or lacks a PTX instruction the list names for it. `--self-test` checks the checker on made-up
# reports (a clean one passes; a spill, lmem, a missing mma or an unknown kernel each fail).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${PTXAS_OUT:-build/kernels/cuda}
LIST=kernels/cuda/hot_kernels.txt
ARCHS=(80 90)

# The kernel names of a report's mangled entry names, as hot_kernels.txt writes them.
normalize() {
  c++filt | sed -E 's/\(anonymous namespace\):://g; s/^(void|auto) //; s/\(.*$//; s/<.*$//'
}

# check_report REPORT PTXDIR LIST: prints each problem, returns 1 if any.
check_report() {
  local report=$1 ptxdir=$2 list=$3 bad=0 name want entry arch mangled found ptx
  local table
  table=$(mktemp)
  # One row per entry and architecture: mangled arch spill_stores spill_loads stack lmem.
  awk '
    /Compiling entry function/ {
      if (e != "") print e, a, ss, sl, st, lm
      match($0, /function .[^ ]+. for/); e = substr($0, RSTART + 10, RLENGTH - 15)
      match($0, /for .sm_[0-9a-z]+./); a = substr($0, RSTART + 5, RLENGTH - 6)
      ss = sl = st = lm = 0; props = 0; next
    }
    /Function properties for/ { props = (e != "" && index($0, "for " e) > 0); next }
    props && /bytes stack frame/ {
      for (i = 1; i < NF; ++i) {
        if ($(i + 1) == "bytes" && $(i + 2) == "stack") st = $i
        if ($(i + 1) == "bytes" && $(i + 2) == "spill" && $(i + 3) ~ /^stores/) ss = $i
        if ($(i + 1) == "bytes" && $(i + 2) == "spill" && $(i + 3) ~ /^loads/) sl = $i
      }
      next
    }
    e != "" && /Used [0-9]+ registers/ {
      for (i = 1; i < NF; ++i) {
        if ($(i + 1) == "bytes" && $(i + 2) ~ /^lmem/) lm = $i
        if ($(i + 1) == "bytes" && $(i + 2) == "cumulative" && $(i + 3) == "stack") st += $i
      }
    }
    END { if (e != "") print e, a, ss, sl, st, lm }
  ' "$report" >"$table"
  while read -r name want; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    found=0
    while read -r mangled arch ss sl st lm; do
      [ "$(normalize <<<"$mangled")" == "$name" ] || continue
      found=$((found + 1))
      if [ "$ss" != 0 ] || [ "$sl" != 0 ] || [ "$st" != 0 ] || [ "$lm" != 0 ]; then
        echo "hot kernel $name ($arch): spill stores $ss, spill loads $sl, stack $st, lmem $lm"
        bad=1
      fi
      for instr in $want; do
        ptx=$(grep -l -F "$mangled" "$ptxdir"/*."$arch".ptx 2>/dev/null || true)
        if [ -z "$ptx" ] || ! awk -v m="$mangled" -v i="$instr" '
            /\.entry[ \t]/ { inside = index($0, m "(") > 0; next }
            /^[ \t]*(\.visible[ \t]+|\.weak[ \t]+)?\.func[ \t]/ { inside = 0 }
            inside && index($0, i) { hit = 1 }
            END { exit !hit }' $ptx; then
          echo "tensor-core kernel $name ($arch): PTX lacks $instr"
          bad=1
        fi
      done
    done <"$table"
    if [ "$found" -eq 0 ]; then
      echo "hot kernel $name: not in the ptxas report (renamed? listed in $list)"
      bad=1
    fi
  done <"$list"
  rm -f "$table"
  return "$bad"
}

# Runs check_report on made-up reports and PTX; each case must pass or fail as stated.
self_test() {
  local dir failures=0
  dir=$(mktemp -d)
  mkdir -p "$dir/ptx"
  cat >"$dir/report.txt" <<'R'
== made-up.cu sm_80
ptxas info    : Compiling entry function '_ZN6signet4cuda4goodEPf' for 'sm_80'
ptxas info    : Function properties for _ZN6signet4cuda4goodEPf
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 10 registers, 368 bytes cmem[0]
ptxas info    : Compiling entry function '_ZN6signet4cuda4tmplILi128EEEvPf' for 'sm_80'
ptxas info    : Function properties for _ZN6signet4cuda4tmplILi128EEEvPf
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 90 registers, 368 bytes cmem[0]
ptxas info    : Compiling entry function '_ZN6signet4cuda6spillsEPf' for 'sm_80'
ptxas info    : Function properties for _ZN6signet4cuda6spillsEPf
    8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads
ptxas info    : Used 255 registers, 368 bytes cmem[0]
ptxas info    : Compiling entry function '_ZN6signet4cuda4lmemEPf' for 'sm_80'
ptxas info    : Function properties for _ZN6signet4cuda4lmemEPf
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 12 registers, 64 bytes lmem, 368 bytes cmem[0]
R
  cat >"$dir/ptx/made-up.sm_80.ptx" <<'P'
.visible .entry _ZN6signet4cuda4goodEPf(
{
	ld.global.f32 	%f1, [%rd1];
}
.visible .entry _ZN6signet4cuda4tmplILi128EEEvPf(
{
	mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%f1, %f2, %f3, %f4}, {%r1, %r2, %r3, %r4}, {%r5, %r6}, {%f5, %f6, %f7, %f8};
}
.func _ZN6signet4cuda6helperEv()
{
	mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%f1, %f2, %f3, %f4}, {%r1, %r2, %r3, %r4}, {%r5, %r6}, {%f5, %f6, %f7, %f8};
}
P
  # case: expected result (0 pass, 1 fail) and the list
  local -a cases=(
    "0|signet::cuda::good"
    "0|signet::cuda::tmpl mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32"
    "1|signet::cuda::spills"
    "1|signet::cuda::lmem"
    "1|signet::cuda::good mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"
    "1|signet::cuda::tmpl mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"
    "1|signet::cuda::renamed"
  )
  local c expect entry got
  for c in "${cases[@]}"; do
    expect=${c%%|*}
    entry=${c#*|}
    echo "$entry" >"$dir/list.txt"
    got=0
    check_report "$dir/report.txt" "$dir/ptx" "$dir/list.txt" >/dev/null || got=1
    if [ "$got" != "$expect" ]; then
      echo "ptxas_check self-test: '$entry' gave $got, expected $expect"
      failures=$((failures + 1))
    fi
  done
  rm -rf "$dir"
  [ "$failures" -eq 0 ] && echo "ptxas_check self-test: ${#cases[@]} cases pass"
  return "$failures"
}

if [ "${1:-}" == "--self-test" ]; then
  self_test
  exit
fi

NVCC=$(command -v nvcc || true)
if [ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ]; then NVCC=/usr/local/cuda/bin/nvcc; fi
if [ -z "$NVCC" ]; then
  self_test
  echo "== ptxas check: no nvcc, only the self-test ran"
  exit 0
fi
PTXAS=$(dirname "$NVCC")/ptxas

mkdir -p "$OUT/ptx"
REPORT=$OUT/ptxas_report.txt
: >"$REPORT"
start=$SECONDS
for cu in kernels/cuda/*.cu; do
  name=$(basename "$cu" .cu)
  for a in "${ARCHS[@]}"; do
    ptx=$OUT/ptx/$name.sm_$a.ptx
    "$NVCC" -std=c++17 -I. -arch=sm_$a -ptx "$cu" -o "$ptx"
    echo "== $cu sm_$a" >>"$REPORT"
    "$PTXAS" -v -warn-spills -arch=sm_$a "$ptx" -o /dev/null >>"$REPORT" 2>&1
  done
done
echo "== ptxas report: $REPORT ($((SECONDS - start)) s)"
self_test
check_report "$REPORT" "$OUT/ptx" "$LIST"
echo "== ptxas check: hot kernels clean ($(grep -cvE '^(#|$)' "$LIST") listed)"
