#!/usr/bin/env python3
"""Talk to `voiceperf agent` the way a pipecat client does, using pipecat's own frames_pb2.

Sends a spoken query as 16 kHz mono AudioRawFrames (20 ms chunks, paced in real time, id =
sequence number), keeps sending silence, and reports the reply: latency from the end of the
query to the first audio frame, frames, sample rate, WAV wrapping, RTVI messages and
interruptions. Exit status 0 when a reply arrived.

Not run in CI. Usage:
    python3 -m venv /tmp/pipecat-venv
    /tmp/pipecat-venv/bin/pip install -r scripts/pipecat-requirements.txt
    cargo run --release -- agent --port 8100 &
    /tmp/pipecat-venv/bin/python scripts/pipecat_client_check.py \
        --url ws://127.0.0.1:8100/ws/pipecat_check --query /usr/share/sounds/alsa/Front_Center.wav
"""

import argparse
import asyncio
import io
import json
import sys
import time
import wave

import numpy as np
import pipecat.frames.protobufs.frames_pb2 as frames_pb2
import soxr
import websockets

RATE = 16000
CHUNK_MS = 20


def load_query(path: str) -> np.ndarray:
    """A WAV file as 16 kHz mono int16 (resampled with soxr when needed)."""
    with wave.open(path, "rb") as wav:
        if wav.getsampwidth() != 2:
            sys.exit(f"{path}: need 16-bit PCM")
        channels, rate = wav.getnchannels(), wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    samples = samples.reshape(-1, channels).mean(axis=1)
    if rate != RATE:
        samples = soxr.resample(samples, rate, RATE)
    return np.clip(np.round(samples), -32768, 32767).astype("<i2")


def audio_message(seq: int, pcm: bytes) -> bytes:
    frame = frames_pb2.Frame()
    frame.audio.id = seq
    frame.audio.audio = pcm
    frame.audio.sample_rate = RATE
    frame.audio.num_channels = 1
    return frame.SerializeToString()


def pcm_of(audio: "frames_pb2.AudioRawFrame") -> tuple[bytes, int, bool]:
    """PCM, sample rate and whether the payload was a WAV file (parsed with `wave`)."""
    if audio.audio[:4] == b"RIFF":
        with wave.open(io.BytesIO(audio.audio), "rb") as wav:
            return wav.readframes(wav.getnframes()), wav.getframerate(), True
    return audio.audio, audio.sample_rate, False


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8100/ws/pipecat_check")
    parser.add_argument("--query", default="/usr/share/sounds/alsa/Front_Center.wav")
    parser.add_argument("--silence", type=float, default=4.0, help="seconds of silence after the query")
    args = parser.parse_args()

    query = load_query(args.query)
    lead = np.zeros(RATE // 2, dtype="<i2")
    trail = np.zeros(int(args.silence * RATE), dtype="<i2")
    stream = np.concatenate([lead, query, trail])
    per_chunk = RATE * CHUNK_MS // 1000
    query_end_chunk = (len(lead) + len(query) - 1) // per_chunk + 1  # 1-based id

    sent_at: dict[int, float] = {}
    received = []  # (monotonic time, kind, details)

    async with websockets.connect(args.url, max_size=None) as ws:
        connected = time.monotonic()

        async def receive():
            try:
                async for message in ws:
                    now = time.monotonic()
                    frame = frames_pb2.Frame.FromString(message)
                    which = frame.WhichOneof("frame")
                    if which == "audio":
                        pcm, rate, wrapped = pcm_of(frame.audio)
                        received.append((now, "audio", (len(pcm), rate, wrapped, frame.audio.name)))
                    elif which == "message":
                        received.append((now, "message", json.loads(frame.message.data).get("type")))
                    else:
                        received.append((now, which, None))
            except websockets.ConnectionClosed:
                pass

        receiver = asyncio.create_task(receive())
        start = time.monotonic()
        for k in range(0, len(stream), per_chunk):
            seq = k // per_chunk + 1
            await asyncio.sleep(max(0.0, start + (seq - 1) * CHUNK_MS / 1000 - time.monotonic()))
            await ws.send(audio_message(seq, stream[k : k + per_chunk].tobytes()))
            sent_at[seq] = time.monotonic()
        await asyncio.sleep(0.5)
        await ws.close()
        await receiver

    audio = [r for r in received if r[1] == "audio"]
    print(f"connected to {args.url}; sent {len(sent_at)} chunks of {CHUNK_MS} ms "
          f"({len(query) / RATE:.2f} s query, ends in chunk {query_end_chunk})")
    if received:
        first = received[0]
        print(f"first message {first[0] - connected:.3f} s after connecting: {first[1]} {first[2] or ''}")
    messages = [r[2] for r in received if r[1] == "message"]
    if messages:
        print(f"RTVI messages: {', '.join(messages)}")
    interruptions = sum(1 for r in received if r[1] == "interruption")
    if not audio:
        print("NO reply audio received")
        return 1
    query_end = sent_at[query_end_chunk]
    before = [a for a in audio if a[0] < query_end]
    if before:
        print(f"{len(before)} audio frames arrived before the query ended (greeting or early reply)")
    audio = [a for a in audio if a[0] >= query_end]
    if not audio:
        print("NO reply audio after the query")
        return 1
    latency = audio[0][0] - query_end
    gaps = sorted(b[0] - a[0] for a, b in zip(audio[1:], audio[2:]))
    pcm_bytes, rate, wrapped, name = audio[0][2]
    seconds = sum(a[2][0] for a in audio) / 2 / rate
    print(f"reply: {len(audio)} audio frames ({seconds:.2f} s) at {rate} Hz, "
          f"{'WAV-wrapped' if wrapped else 'raw PCM'}, first named {name}")
    print(f"latency end of query -> first audio frame: {latency:.3f} s")
    if gaps:
        print(f"frame gaps: median {gaps[len(gaps) // 2] * 1000:.1f} ms, "
              f"p10 {gaps[len(gaps) // 10] * 1000:.1f} ms, p90 {gaps[len(gaps) * 9 // 10] * 1000:.1f} ms")
    print(f"interruptions: {interruptions}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
