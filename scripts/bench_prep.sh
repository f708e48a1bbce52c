#!/usr/bin/env bash
# Speed benchmark of `voiceperf prep` (not a test): builds at least 10 minutes of 44.1 kHz
# stereo MP3 in a temp folder and times prep on it with the release build, several runs.
#
#   scripts/bench_prep.sh [FILES] [SECONDS_PER_FILE] [RUNS]    (default 40 × 15 s, 3 runs)
#
# Prints wall time and speed as a multiple of real time (audio seconds / wall seconds) per
# run, and the best. Needs sox and ffmpeg (to make the MP3s). Target: >= 300x on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-40}
seconds=${2:-15}
runs=${3:-3}

cargo build --release --quiet
bin=$PWD/target/release/voiceperf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mp3"

# Each file: the fixture voices one after another with pauses, over quiet noise, repeated to
# the wanted length, different noise per file; encoded as 44.1 kHz stereo 128 kb/s MP3.
for voice in tests/fixtures/audio/voice_*.wav; do
  sox "$voice" "$tmp/padded_$(basename "$voice")" pad 0.5 0.8
done
sox "$tmp"/padded_voice_*.wav "$tmp/voices.wav"
repeats=$(awk -v s="$seconds" -v d="$(soxi -D "$tmp/voices.wav")" 'BEGIN {print int(s / d) + 1}')
for i in $(seq 1 "$files"); do
  sox -R "$tmp/voices.wav" -r 44100 -c 2 "$tmp/long.wav" repeat "$repeats" trim 0 "$seconds"
  sox -R -n -r 44100 -c 2 "$tmp/noise.wav" synth "$seconds" pinknoise vol 0.003
  sox -m -v 1 "$tmp/long.wav" -v 1 "$tmp/noise.wav" "$tmp/mix.wav"
  ffmpeg -nostdin -loglevel error -y -i "$tmp/mix.wav" -c:a libmp3lame -b:a 128k \
    "$tmp/mp3/recording_$i.mp3"
done
total=$(for f in "$tmp"/mp3/*.mp3; do soxi -D "$f"; done | awk '{s += $1} END {printf "%.1f", s}')
echo "input: $files MP3 files, 44.1 kHz stereo 128 kb/s, $total s of audio in total"
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "command: voiceperf prep $tmp/mp3 -o $tmp/out --force --quiet   (nproc: $(nproc))"

# Wall time is what counts; CPU time (user + sys) is also shown because other work on a shared
# machine stretches the wall time: audio seconds per CPU second × cores is the uncontended speed.
best=0
TIMEFORMAT='%R %U %S'
for run in $(seq 1 "$runs"); do
  read -r wall user sys < <({ time "$bin" prep "$tmp/mp3" -o "$tmp/out" --force --quiet; } 2>&1)
  speed=$(echo "$total / $wall" | bc -l)
  cpu=$(echo "$user + $sys" | bc -l)
  printf "run %d: %.2f s wall, %.2f s CPU: %.0fx real time (%.0fx per CPU second)\n" \
    "$run" "$wall" "$cpu" "$speed" "$(echo "$total / $cpu" | bc -l)"
  best=$(echo "if ($speed > $best) $speed else $best" | bc -l)
done
printf "best: %.0fx real time (%d files, %s s of audio; load average before: %s)\n" \
  "$best" "$files" "$total" "$load"
