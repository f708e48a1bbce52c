#!/usr/bin/env bash
# Regenerates raw_recordings/: ten short voice-assistant queries spoken by espeak-ng, each with
# silence and some background noise around the speech, in varied formats, sample rates and
# channel layouts — the example input of `voiceperf prep` (whose output, audio_files/, is the
# default dataset of `voiceperf bench`). Needs espeak-ng, sox and ffmpeg; deterministic.
#
#   scripts/make_raw_recordings.sh && cargo run --release -- prep
set -euo pipefail
cd "$(dirname "$0")/.."
out=raw_recordings
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f "$out"/query_*
mkdir -p "$out"

ff() { ffmpeg -nostdin -loglevel error -y -bitexact "$@"; }

# speak N "text" VOICE WPM LEAD_S TAIL_S NOISE_DBFS [hum|click]
# Writes $tmp/query_N.wav: 48 kHz mono float, speech with LEAD_S/TAIL_S of silence around it
# over white noise at NOISE_DBFS (plus mains hum, or a click 1 s after the speech).
speak() {
  local n=$1 text=$2 voice=$3 wpm=$4 lead=$5 tail=$6 noise=$7 extra=${8:-}
  espeak-ng -v "$voice" -s "$wpm" -w "$tmp/tts.wav" "$text"
  # espeak's own leading/trailing silence is trimmed so the padding below is exact.
  sox -R "$tmp/tts.wav" -r 48000 -b 32 -e float "$tmp/speech.wav" \
    silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse pad "$lead" "$tail"
  local len
  len=$(soxi -D "$tmp/speech.wav")
  local amplitude
  amplitude=$(awk -v db="$noise" 'BEGIN {printf "%.6f", 10^(db/20) * sqrt(3)}')
  sox -R -n -r 48000 -c 1 -b 32 -e float "$tmp/noise.wav" synth "$len" whitenoise vol "$amplitude"
  local layers=("$tmp/speech.wav" "$tmp/noise.wav")
  case "$extra" in
    hum)
      sox -R -n -r 48000 -c 1 -b 32 -e float "$tmp/hum.wav" \
        synth "$len" sine 50 sine 150 vol 0.006
      layers+=("$tmp/hum.wav")
      ;;
    click)
      # A 3 ms click (a button or a mouth click) 1 s after the speech ends.
      local at
      at=$(awk -v l="$len" -v t="$tail" 'BEGIN {printf "%.3f", l - t + 1.0}')
      sox -R -n -r 48000 -c 1 -b 32 -e float "$tmp/tick.wav" synth 0.003 square 900 vol 0.4
      sox -R "$tmp/tick.wav" "$tmp/click.wav" pad "$at"
      layers+=("$tmp/click.wav")
      ;;
  esac
  # -v 1 before each input: sox -m would otherwise scale every input by 1/n.
  local inputs=()
  for layer in "${layers[@]}"; do inputs+=(-v 1 "$layer"); done
  sox -R -m "${inputs[@]}" -b 32 -e float "$tmp/query_$n.wav"
}

speak 1 "What's the weather in Paris tomorrow?" en-us 165 0.8 1.2 -62
ff -i "$tmp/query_1.wav" -ar 22050 -ac 2 -c:a pcm_s16le "$out/query_1.wav"

speak 2 "Set a timer for ten minutes." en-gb 160 0.5 1.5 -55 hum
ff -i "$tmp/query_2.wav" -ar 16000 -c:a pcm_f32le "$out/query_2.wav"

speak 3 "Play some relaxing jazz music." en-us+f3 150 1.0 0.8 -58
ff -i "$tmp/query_3.wav" -ar 22050 -sample_fmt s16 -c:a flac "$out/query_3.flac"

speak 4 "What time is it in Tokyo right now?" en-us 175 0.6 1.4 -50
ff -i "$tmp/query_4.wav" -ar 44100 -ac 2 -c:a libmp3lame -b:a 96k "$out/query_4.mp3"

speak 5 "Remind me to call my mother at six p.m." en-gb-x-rp 160 0.4 1.6 -60 click
ff -i "$tmp/query_5.wav" -ar 48000 -c:a libvorbis -q:a 3 "$out/query_5.ogg"

speak 6 "How long will it take to drive to the airport?" en-us+m3 170 0.7 1.6 -52
ff -i "$tmp/query_6.wav" -ar 44100 -ac 2 -c:a aac -b:a 64k "$out/query_6.m4a"

speak 7 "Turn off the lights in the living room." en-us+f2 155 0.9 1.1 -48
ff -i "$tmp/query_7.wav" -ar 48000 -c:a libopus -b:a 32k "$out/query_7.opus"

speak 8 "What's on my calendar for tomorrow morning?" en-029 160 0.5 1.3 -56
ff -i "$tmp/query_8.wav" -ar 48000 -ac 2 -c:a libopus -b:a 48k "$out/query_8.webm"

speak 9 "Add milk and eggs to my shopping list." en-us+f4 165 0.6 0.9 -45
ff -i "$tmp/query_9.wav" -ar 8000 -c:a pcm_s16be "$out/query_9.aiff"

# 24-bit stereo WAVE_FORMAT_EXTENSIBLE with a LIST chunk before the data, as editors write.
speak 10 "Tell me a fun fact about the moon." en-gb-scotland 150 1.2 1.0 -58
sox -R "$tmp/query_10.wav" -r 11025 -c 2 -b 24 "$tmp/q10.wav"
ff -i "$tmp/q10.wav" -c:a pcm_s24le -metadata title="Query 10" -metadata artist="voiceperf" \
  "$out/query_10.wav"

ls -l "$out"
