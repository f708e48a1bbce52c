#!/usr/bin/env bash
# Scale and fidelity benchmark of `voiceperf bench` against `voiceperf agent` on 127.0.0.1.
#
#   1. scale:    USERS (500) concurrent users from one bench process; the load generator's own
#                send lateness must stay at p99 <= 5 ms.
#   2. fidelity: FIDELITY_USERS (100) users; per turn, bench's measured interval (send of the
#                chunk the agent names as its last speech frame -> arrival of the first reply
#                audio) against the agent's own truth line, matched by stream id + chunk id;
#                target |difference| p99 <= 5 ms.
#
# Usage: scripts/bench_scale.sh [AUDIO_DIR]
# Environment: USERS, FIDELITY_USERS, DURATION (s, metrics window), START_DELAY (s between
# user starts), OUT (folder for both runs and the agent logs).
# Needs: cargo, jq. Both processes share this machine's cores, as in the real use.
set -euo pipefail

cd "$(dirname "$0")/.."
AUDIO_DIR=${1:-audio_files}
USERS=${USERS:-500}
FIDELITY_USERS=${FIDELITY_USERS:-100}
DURATION=${DURATION:-60}
START_DELAY=${START_DELAY:-0.01}
OUT=${OUT:-results/bench_scale_$(date +%Y%m%d_%H%M%S)}

command -v jq >/dev/null || { echo "bench_scale.sh needs jq" >&2; exit 2; }
[ -d "$AUDIO_DIR" ] || { echo "no dataset at $AUDIO_DIR (run voiceperf prep, or pass a folder)" >&2; exit 2; }

cargo build --release --quiet
BIN=target/release/voiceperf
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
  for _ in $(seq 100); do
    AGENT_URL=$(grep -o 'ws://[^ ]*' "$log.stdout" 2>/dev/null | head -n1 || true)
    [ -n "$AGENT_URL" ] && break
    sleep 0.1
  done
  [ -n "$AGENT_URL" ] || { echo "agent did not start; see $log" >&2; exit 1; }
  AGENT_URL=${AGENT_URL%/}
  case $AGENT_URL in *'{stream_id}'*) ;; *) AGENT_URL="$AGENT_URL/{stream_id}" ;; esac
}

# run_bench NAME USERS: one bench run against a fresh agent; prints its summary.json path.
run_bench() {
  local name=$1 users=$2
  local log="$OUT/agent_$name.log"
  start_agent "$log"
  local start=$SECONDS
  "$BIN" bench --url "$AGENT_URL" --clients "$users" --client-start-delay "$START_DELAY" \
    --test-duration "$DURATION" --audio-dir "$AUDIO_DIR" --agent-log "$log" -q \
    --output-dir "$OUT/$name" >"$OUT/$name.console.txt" 2>&1 || true
  echo "$name: $users users, $((SECONDS - start)) s wall clock" >&2
  stop_agent
  echo "$OUT/$name/summary.json"
}

report() {
  local summary=$1
  jq -r '
    def ms(x): if x == null then "–" else (x * 1000 | round / 1000 | tostring) end;
    "users                     \(.run.users)",
    "turns measured            \(.results.latency.count // 0) (\(.results.turns.in_window) in window, \(.results.turns.no_reply) no reply, \(.results.turns.disconnected) disconnected)",
    "latency p50/p95/p99 (s)   \(.results.latency.p50 // "–") / \(.results.latency.p95 // "–") / \(.results.latency.p99 // "–")",
    "errors                    \(.errors.total) (rate \(.errors.error_rate))",
    "send lateness (ms)        p50 \(ms(.self_check.send_lateness_ms.p50)) / p99 \(ms(.self_check.send_lateness_ms.p99)) / max \(ms(.self_check.send_lateness_ms.max)) over \(.self_check.send_lateness_ms.count) chunks",
    "receive-loop lag (ms)     p50 \(ms(.self_check.receive_lag_ms.p50)) / p99 \(ms(.self_check.receive_lag_ms.p99)) / max \(ms(.self_check.receive_lag_ms.max))",
    "trustworthy (p99 <= 5 ms) \(.self_check.trustworthy)",
    "agent agreement           \(.agent_agreement.matched_turns // 0) turns; bench - agent p50 \(ms(.agent_agreement.difference_ms.p50)) ms, p99 \(ms(.agent_agreement.difference_ms.p99)) ms, max \(ms(.agent_agreement.difference_ms.max)) ms, |diff| p99 \(ms(.agent_agreement.abs_difference_p99_ms)) ms"
  ' "$summary"
}

scale=$(run_bench scale "$USERS")
fidelity=$(run_bench fidelity "$FIDELITY_USERS")

echo
echo "== scale: $USERS users from one process (target: send lateness p99 <= 5 ms)"
report "$scale"
echo
echo "== fidelity: $FIDELITY_USERS users (target: |bench - agent| p99 <= 5 ms)"
report "$fidelity"
echo
echo "results: $OUT"

lateness_ok=$(jq '.self_check.send_lateness_ms.p99 <= 5' "$scale")
agreement_ok=$(jq '(.agent_agreement.abs_difference_p99_ms // 1e9) <= 5' "$fidelity")
[ "$lateness_ok" = true ] && [ "$agreement_ok" = true ]
