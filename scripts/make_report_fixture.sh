#!/usr/bin/env bash
# Regenerates tests/fixtures/report_run/: the JSON of a real `voiceperf run` against a separately
# started `voiceperf agent` with faults switched on, so the saved run holds every kind of event
# the report draws — stalls (glitches), early replies (reverse barge-ins), dropped connections
# (errors and reconnects) — next to normal turns, with the server log joined (analysis.json).
# Run it again when bench's or analyze's result types change.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/voiceperf
out=$PWD/tests/fixtures/report_run
work=$(mktemp -d)
agent_pid=""
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/raw"
cp raw_recordings/query_4.mp3 raw_recordings/query_7.opus "$work/raw/"
"$bin" agent --port 0 --log "$work/agent.log" --greeting --rtvi \
  --asr-ms normal:50:10 --llm-ttfb-ms normal:300:60 --tts-ttfb-ms normal:150:30 \
  --stall-prob 0.25 --early-reply-prob 0.15 --drop-prob 0.08 --seed 3 >"$work/agent.out" 2>&1 &
agent_pid=$!
for _ in $(seq 50); do
  grep -q 'listening on' "$work/agent.out" && break
  sleep 0.1
done
url=$(grep -o 'ws://[^ ]*' "$work/agent.out" | head -1)
cd "$work"
"$bin" run --url "$url" --server-log agent.log --raw-dir raw --audio-dir audio -o run \
  --clients 3 --client-start-delay 0.3 --test-duration 20 --quiet || true
rm -rf "$out"
mkdir -p "$out"
cp run/*.json run/turns.csv run/turns_breakdown.csv "$out/"
echo "wrote $(ls "$out" | wc -l) files to $out"
