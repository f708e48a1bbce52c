#!/usr/bin/env bash
# Throughput benchmark of `voiceperf analyze` on a generated ~1 GB realistic agent log.
#
#   scripts/bench_analyze.sh [SIZE_MB] [RUNS]        (defaults: 1024 MB, 3 runs)
#
# Builds the release binary, generates the log once (cached under target/bench_analyze/,
# deterministic), then times `voiceperf analyze LOG > /dev/null` RUNS times and prints MB/s of
# each run, the best and the median, and the peak resident memory. Extra environment:
#   BENCH_DOCKER=1   log in `docker compose logs` form (prefix + ANSI colours on every line)
#   BENCH_GZIP=1     also time the same log gzip-compressed
#   BENCH_ARGS="…"   extra flags for voiceperf analyze (e.g. "--all")
set -euo pipefail
cd "$(dirname "$0")/.."

size_mb="${1:-1024}"
runs="${2:-3}"
variant="plain"
gen_flags=()
if [ "${BENCH_DOCKER:-0}" = 1 ]; then
  variant="docker"
  gen_flags+=(--docker)
fi
dir="target/bench_analyze"
log="$dir/agent_${size_mb}MB_${variant}.log"
mkdir -p "$dir"

cargo build --release --quiet
bin="target/release/voiceperf"

if [ ! -s "$log" ]; then
  echo "generating $log …" >&2
  python3 scripts/gen_analyze_log.py --size-mb "$size_mb" --out "$log.tmp" "${gen_flags[@]}"
  mv "$log.tmp" "$log"
fi

time_runs() {
  local file="$1" label="$2"
  local bytes
  bytes=$(stat -c %s "$file")
  local rates=()
  for i in $(seq 1 "$runs"); do
    local start end secs rate
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    /usr/bin/time -f "%M" -o "$dir/rss.txt" "$bin" analyze ${BENCH_ARGS:-} "$file" >/dev/null
    end=$(date +%s.%N)
    secs=$(echo "$end - $start" | bc -l)
    rate=$(echo "$bytes / 1000000 / $secs" | bc -l)
    rates+=("$rate")
    printf '%s run %d: %.2f s, %.0f MB/s, peak RSS %d MB\n' "$label" "$i" "$secs" "$rate" \
      "$(($(cat "$dir/rss.txt") / 1024))"
  done
  printf '%s: %s MB, best %.0f MB/s, median %.0f MB/s\n' "$label" "$((bytes / 1000000))" \
    "$(printf '%s\n' "${rates[@]}" | sort -g | tail -1)" \
    "$(printf '%s\n' "${rates[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p")"
}

echo "command: $bin analyze ${BENCH_ARGS:+$BENCH_ARGS }$log > /dev/null"
time_runs "$log" "$variant"

if [ "${BENCH_GZIP:-0}" = 1 ]; then
  gz="$log.gz"
  [ -s "$gz" ] || gzip -1 -c "$log" >"$gz"
  echo "(gzip: MB/s counted on the uncompressed size)"
  bytes=$(stat -c %s "$log")
  start=$(date +%s.%N)
  "$bin" analyze ${BENCH_ARGS:-} "$gz" >/dev/null
  end=$(date +%s.%N)
  printf 'gzip: %.2f s, %.0f MB/s of log\n' "$(echo "$end - $start" | bc -l)" \
    "$(echo "$bytes / 1000000 / ($end - $start)" | bc -l)"
fi
