#!/usr/bin/env bash
# Benchmark: N concurrent connections (default 1000) streaming audio in real time to the release
# `voiceperf agent`, turn after turn. Prints the client-side results (connections, turns
# answered, latency, reply frame gaps, client lateness) and the agent's own summary (turns,
# replies, reply frame lateness against its absolute clock).
#
#   scripts/bench_agent_conns.sh [CONNECTIONS] [DURATION_S] [extra agent flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
connections="${1:-1000}"
duration="${2:-20}"
shift $(( $# > 2 ? 2 : $# ))

cargo build --release --quiet --bin voiceperf --example agent_conns
work="$(mktemp -d)"
trap 'kill "$agent_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

ulimit -n 65536 2>/dev/null || true
target/release/voiceperf agent --port 0 --seed 1 --log "$work/agent.log" "$@" >"$work/stdout" 2>"$work/stderr" &
agent_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/stdout" 2>/dev/null && break
  sleep 0.05
done
url="$(sed -n 's#^listening on \(ws://[^/]*\)/ws/{stream_id}$#\1/ws#p' "$work/stdout")"
[ -n "$url" ] || { echo "agent did not start:"; cat "$work/stderr"; exit 1; }

/usr/bin/time -f "client: %e s wall, %U s user, %S s sys, %M KB max RSS" \
  target/release/examples/agent_conns --url "$url" --connections "$connections" --duration "$duration" \
  --agent-log "$work/agent.log"

echo "agent: $(ps -o cputime= -p "$agent_pid" | tr -d ' ') CPU time, $(ps -o rss= -p "$agent_pid" | tr -d ' ') KB RSS"
kill -TERM "$agent_pid"
wait "$agent_pid" || true
grep -v '^$' "$work/stderr" | tail -n 3
echo "agent log: $(wc -l <"$work/agent.log") lines, $(grep -c 'VoiceperfAgent turn' "$work/agent.log") truth lines, $(grep -c ' | WARNING \| | ERROR ' "$work/agent.log" || true) warnings/errors"
