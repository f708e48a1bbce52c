#!/usr/bin/env bash
# Speed benchmark of `voiceperf validate` (not a test): writes FILES five-second query WAVs
# (16 kHz mono 16-bit, real recorded voice from the test fixtures over quiet noise, each one
# different so none is a duplicate) into a temp folder and times validate on them with the
# release build, several runs.
#
#   scripts/bench_validate.sh [FILES] [RUNS]    (default 1000 files, 5 runs)
#
# Prints the wall time of each run and the best and median. Needs python3 (standard library
# only) to write the files. Target: 1,000 five-second files in < 5 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-1000}
runs=${2:-5}

cargo build --release --quiet
bin=$PWD/target/release/voiceperf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/dataset"

python3 - "$tmp/dataset" "$files" <<'EOF'
import array, random, sys, wave
out, files = sys.argv[1], int(sys.argv[2])
RATE, LENGTH, TRAIL = 16000, 5 * 16000, 320  # 5 s files, 20 ms after the voice

def voice(name):
    with wave.open(f"tests/fixtures/audio/voice_{name}.wav") as w:
        return array.array("h", w.readframes(w.getnframes()))

voices = [voice(n) for n in ("front_center", "front_left", "rear_left", "side_right")]
rng = random.Random(7)

def base(k):
    # Three voices 0.35 s apart, ending 20 ms before the end; the rest is lead-in.
    speech = array.array("h")
    for j in range(3):
        if j:
            speech.extend([0] * int(0.35 * RATE))
        speech.extend(voices[(k + j) % 4])
    lead = LENGTH - TRAIL - len(speech)
    samples = array.array("h", [0] * lead) + speech + array.array("h", [0] * TRAIL)
    # White noise at about -70 dBFS under everything.
    for i in range(len(samples)):
        samples[i] = max(-32768, min(32767, samples[i] + int(rng.gauss(0, 10))))
    return samples

bases = [base(k) for k in range(8)]
for i in range(files):
    samples = array.array("h", bases[i % 8])
    # A unique few samples of background per file, so no two files hold the same audio.
    for j, digit in enumerate(f"{i:06d}"):
        samples[50 + j] += int(digit) - 5
    with wave.open(f"{out}/query_{i + 1:04d}.wav", "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())
EOF

echo "input: $files WAV files of 5.0 s, 16 kHz mono 16-bit ($((files * 5)) s of audio)"
echo "command: voiceperf validate $tmp/dataset --quiet   (release build, nproc: $(nproc))"
times=()
for run in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  status=0
  "$bin" validate "$tmp/dataset" --quiet >"$tmp/out.txt" || status=$?
  end=$(date +%s.%N)
  wall=$(echo "$end - $start" | bc -l)
  times+=("$wall")
  printf "run %d: %.2f s wall (exit %d: %s)\n" "$run" "$wall" "$status" "$(tail -n 1 "$tmp/out.txt")"
  if [ "$status" -ne 0 ]; then
    echo "validate did not pass every file; first problems:" >&2
    head -n 5 "$tmp/out.txt" >&2
    exit 1
  fi
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
best=$(echo "$sorted" | head -n 1)
median=$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")
printf "best: %.2f s, median: %.2f s for %d files (%.0fx real time at the median)\n" \
  "$best" "$median" "$files" "$(echo "$files * 5 / $median" | bc -l)"
