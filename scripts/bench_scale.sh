#!/usr/bin/env bash
# Cost and pacing of `voiceperf bench` as the user count grows, against `voiceperf agent` on the
# same machine (both share its cores, as in a one-box run).
#
# For each user count (default 250 500 1000 2000), one bench run against a fresh agent, under
# /usr/bin/time -v; one table row per run:
#
#   CPU s/user-min  user+system CPU of the whole bench process (ramp and drain included)
#                   / (users x metrics-window minutes): an upper bound of the steady cost
#   RSS/user        peak resident memory of the bench process / users (its fixed part included)
#   send p99        p99 send lateness of the audio chunks (ms), from summary.json's self-check
#   recv p99        p99 receive-loop lag (ms), from summary.json's self-check
#   trusted         the run's own verdict (both p99s within the limit) -- `run trusted?` in the
#                   console summary
#   load            the 1-minute load average just before and just after the run (`uptime`):
#                   other work on the box shows here
#
# Then, unless FIDELITY_USERS=0: a FIDELITY_USERS-user run (default 100) with --agent-log,
# comparing bench's measured latency to the agent's own truth line per turn (target: |bench -
# agent| p99 <= 5 ms).
#
# Usage: scripts/bench_scale.sh [AUDIO_DIR]
# Environment: USER_COUNTS ("250 500 1000 2000"), DURATION (60, s, metrics window), START_DELAY
# (0.01, s between user starts), FIDELITY_USERS (100; 0 skips it), OUT (folder for the runs, the
# agent logs and table.md), CARGO_TARGET_DIR (where the release binary is built).
# Needs: cargo, jq, GNU time (/usr/bin/time). Exit status 1 when a run was not trusted or the
# agreement target was missed (the table is still written).
set -euo pipefail

cd "$(dirname "$0")/.."
AUDIO_DIR=${1:-audio_files}
USER_COUNTS=${USER_COUNTS:-250 500 1000 2000}
FIDELITY_USERS=${FIDELITY_USERS:-100}
DURATION=${DURATION:-60}
START_DELAY=${START_DELAY:-0.01}
OUT=${OUT:-results/bench_scale_$(date +%Y%m%d_%H%M%S)}
TIME=/usr/bin/time

command -v jq >/dev/null || { echo "bench_scale.sh needs jq" >&2; exit 2; }
[ -x "$TIME" ] || { echo "bench_scale.sh needs GNU time at $TIME (apt-get install time)" >&2; exit 2; }
[ -d "$AUDIO_DIR" ] || { echo "no dataset at $AUDIO_DIR (run voiceperf prep, or pass a folder)" >&2; exit 2; }
[ ! -e "$OUT" ] || { echo "$OUT already exists; results are never overwritten" >&2; exit 2; }

cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/voiceperf
mkdir -p "$OUT"

AGENT_PID=
stop_agent() {
  if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
    kill -INT "$AGENT_PID" 2>/dev/null || true
    wait "$AGENT_PID" 2>/dev/null || true
  fi
  AGENT_PID=
}
trap stop_agent EXIT

# Starts an agent on a free port logging to $1; sets AGENT_URL.
start_agent() {
  local log=$1
  "$BIN" agent --port 0 --seed 1 >"$log.stdout" 2>"$log" &
  AGENT_PID=$!
  AGENT_URL=
  for _ in $(seq 100); do
    AGENT_URL=$(grep -o 'ws://[^ ]*' "$log.stdout" 2>/dev/null | head -n1 || true)
    [ -n "$AGENT_URL" ] && break
    sleep 0.1
  done
  [ -n "$AGENT_URL" ] || { echo "agent did not start; see $log" >&2; exit 1; }
  AGENT_URL=${AGENT_URL%/}
  case $AGENT_URL in *'{stream_id}'*) ;; *) AGENT_URL="$AGENT_URL/{stream_id}" ;; esac
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# run_bench NAME USERS [bench flags…]: one bench run against a fresh agent under GNU time;
# leaves $OUT/NAME/ (the run folder), $OUT/NAME.time.txt and $OUT/NAME.load.
run_bench() {
  local name=$1 users=$2
  shift 2
  local log="$OUT/agent_$name.log"
  start_agent "$log"
  local before start
  before=$(load1)
  start=$SECONDS
  "$TIME" -v -o "$OUT/$name.time.txt" \
    "$BIN" bench --url "$AGENT_URL" --clients "$users" --client-start-delay "$START_DELAY" \
    --test-duration "$DURATION" --audio-dir "$AUDIO_DIR" -q "$@" \
    --output-dir "$OUT/$name" >"$OUT/$name.console.txt" 2>&1 || true
  echo "$before $(load1)" >"$OUT/$name.load"
  echo "$name: $users users, $((SECONDS - start)) s wall clock, load $(cat "$OUT/$name.load")" >&2
  stop_agent
}

# time_field FILE LABEL: a value from /usr/bin/time -v's output.
time_field() { sed -n "s/^[[:space:]]*$1: //p" "$2"; }

row() {
  local name=$1 users=$2
  local summary="$OUT/$name/summary.json" times="$OUT/$name.time.txt"
  if [ ! -f "$summary" ]; then
    echo "| $users | – | – | – | – | – | no summary.json (see $OUT/$name.console.txt) | $(cat "$OUT/$name.load") |"
    return
  fi
  local user sys rss
  user=$(time_field 'User time (seconds)' "$times")
  sys=$(time_field 'System time (seconds)' "$times")
  rss=$(time_field 'Maximum resident set size (kbytes)' "$times")
  jq -r --argjson users "$users" --argjson cpu "$(echo "$user + $sys" | bc -l)" \
    --argjson rss_kb "$rss" --argjson minutes "$(echo "$DURATION / 60" | bc -l)" \
    --arg load "$(cat "$OUT/$name.load")" '
    def r(x; n): if x == null then "–" else (x * n | round / n | tostring) end;
    "| \($users) | \(r($cpu; 10)) | \(r($cpu / ($users * $minutes); 1000)) | \(r($rss_kb / 1024; 1)) MB, \(r($rss_kb / 1024 / $users; 1000)) MB/user | \(r(.self_check.send_lateness_ms.p99; 100)) | \(r(.self_check.receive_lag_ms.p99; 100)) | \(.results.latency.count // 0) turns, \(.errors.total) errors | \(if .self_check.trustworthy then "yes" else "no" end) | \($load) |"
  ' "$summary"
}

{
  echo "bench scale: \`voiceperf agent\` and \`voiceperf bench\` on one box ($(nproc) cores), DURATION=$DURATION s, START_DELAY=$START_DELAY s, dataset $AUDIO_DIR, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "| users | bench CPU s | CPU s/user-min | peak RSS | send p99 (ms) | recv p99 (ms) | measured | trusted | load before/after |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"
} >"$OUT/table.md"

all_trusted=true
for users in $USER_COUNTS; do
  run_bench "scale_$users" "$users"
  row "scale_$users" "$users" >>"$OUT/table.md"
  [ "$(jq '.self_check.trustworthy' "$OUT/scale_$users/summary.json" 2>/dev/null)" = true ] || all_trusted=false
done

echo
cat "$OUT/table.md"

agreement_ok=true
if [ "$FIDELITY_USERS" != 0 ]; then
  run_bench fidelity "$FIDELITY_USERS" --agent-log "$OUT/agent_fidelity.log"
  echo
  echo "== fidelity: $FIDELITY_USERS users (target: |bench - agent| p99 <= 5 ms)"
  jq -r '
    def ms(x): if x == null then "–" else (x * 1000 | round / 1000 | tostring) end;
    "agent agreement: \(.agent_agreement.matched_turns // 0) turns; bench - agent p50 \(ms(.agent_agreement.difference_ms.p50)) ms, p99 \(ms(.agent_agreement.difference_ms.p99)) ms, |diff| p99 \(ms(.agent_agreement.abs_difference_p99_ms)) ms"
  ' "$OUT/fidelity/summary.json" | tee -a "$OUT/table.md"
  agreement_ok=$(jq '(.agent_agreement.abs_difference_p99_ms // 1e9) <= 5' "$OUT/fidelity/summary.json")
fi
echo "results: $OUT"

[ "$all_trusted" = true ] && [ "$agreement_ok" = true ]
