#!/usr/bin/env python3
"""Run `voiceperf bench --protocol <provider>` against a real pipecat telephony bot.

The bot is what a pipecat phone bot is, with fake services: pipecat 1.14's FastAPI WebSocket
endpoint at /ws hands each connection to pipecat's runner utilities (`create_transport` with a
`WebSocketRunnerArguments`, which calls `parse_telephony_websocket` to auto-detect the provider
from the opening messages and builds that provider's serializer: TwilioFrameSerializer,
TelnyxFrameSerializer, ...). Its pipeline is

    transport.input() -> VADProcessor(SileroVADAnalyzer, stop_secs) -> FakeVoiceBot -> transport.output()

at 8 kHz in and out (an 8 kHz pipeline: no resampling of the 8 kHz phone audio; a 16 kHz one
makes pipecat's soxr resampler add ~100 ms). FakeVoiceBot stands in for STT + LLM + TTS: when
the VAD says the user stopped speaking it waits --reply-delay-ms, then pushes a 1.5 s reply
(a synthesized vowel-like tone) as TTSAudioRawFrames; when the user starts speaking while a
reply is pending or playing, it broadcasts an InterruptionFrame (the serializer sends
`clear` / `clearAudio`).

bench then measures, per turn, the time from the end of the caller's speech to the first
audio of the reply. What it should find: VAD stop_secs + reply delay (+ the Silero model's
own lag of a few 32 ms windows, + at most one 20 ms media frame). The script prints bench's
figures next to that expectation, how many calls pipecat detected as which provider, and
bench's exit status. Exit status 0 when every call was detected as the right provider and
bench measured at least one turn.

Not run in CI. Needs pipecat-ai 1.14 with fastapi and uvicorn (its `websocket`/`runner`
extras) and a built voiceperf:
    python3 -m venv /tmp/pipecat-venv
    /tmp/pipecat-venv/bin/pip install -r scripts/pipecat-requirements.txt "fastapi>=0.115.6,<1" "uvicorn>=0.32,<1"
    cargo build --release
    /tmp/pipecat-venv/bin/python scripts/pipecat_telephony_check.py --provider twilio
    /tmp/pipecat-venv/bin/python scripts/pipecat_telephony_check.py --provider telnyx
The runner wants each provider's credentials in the environment (to hang up over REST, which
this check never reaches); fake ones are set here. Vonage is not auto-detected by pipecat
1.14's runner, so it is not offered.
"""

import argparse
import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

# PipelineTask/PipelineRunner are deprecated since pipecat 1.3 but still what its examples use.
warnings.filterwarnings("ignore", category=DeprecationWarning)

# Fake credentials: the runner reads them when it builds the serializers.
for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TELNYX_API_KEY", "PLIVO_AUTH_ID", "PLIVO_AUTH_TOKEN"):
    os.environ.setdefault(key, "voiceperf-fake")

import uvicorn  # noqa: E402
from fastapi import FastAPI, WebSocket  # noqa: E402
from loguru import logger  # noqa: E402
from pipecat.audio.vad.silero import SileroVADAnalyzer  # noqa: E402
from pipecat.audio.vad.vad_analyzer import VADParams  # noqa: E402
from pipecat.frames.frames import (  # noqa: E402
    Frame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline  # noqa: E402
from pipecat.pipeline.runner import PipelineRunner  # noqa: E402
from pipecat.pipeline.task import PipelineParams, PipelineTask  # noqa: E402
from pipecat.processors.audio.vad_processor import VADProcessor  # noqa: E402
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor  # noqa: E402
from pipecat.runner.types import WebSocketRunnerArguments  # noqa: E402
from pipecat.runner.utils import create_transport  # noqa: E402
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams  # noqa: E402

RATE = 8000
PROVIDERS = ("twilio", "telnyx", "plivo", "exotel")
REPO = Path(__file__).resolve().parent.parent

detected: Counter = Counter()
bot_turns = {"replies": 0, "interruptions": 0}


def reply_audio(seconds: float = 1.5) -> bytes:
    """A vowel-like 8 kHz reply: a 150 Hz pulse train through two formants, with a slow AM."""
    t = np.arange(int(seconds * RATE)) / RATE
    voiced = sum(np.sin(2 * math.pi * f * t) / k for k, f in enumerate((150, 300, 450, 600, 750, 900), 1))
    formants = 0.5 * np.sin(2 * math.pi * 700 * t) * np.sin(2 * math.pi * 150 * t)
    envelope = 0.6 + 0.4 * np.sin(2 * math.pi * 3 * t)
    signal = (voiced + formants) * envelope
    signal = 0.3 * signal / np.max(np.abs(signal))
    return (signal * 32767).astype("<i2").tobytes()


class FakeVoiceBot(FrameProcessor):
    """STT + LLM + TTS in one: a fixed delay after the user's turn, then a fixed reply."""

    def __init__(self, delay_s: float, reply: bytes):
        super().__init__()
        self._delay = delay_s
        self._reply = reply
        self._task = None

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStartedSpeakingFrame):
            if self._task is not None and not self._task.done():
                self._task.cancel()
                bot_turns["interruptions"] += 1
                await self.broadcast_interruption()
            self._task = None
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._task = asyncio.create_task(self._speak())
        await self.push_frame(frame, direction)

    async def _speak(self):
        await asyncio.sleep(self._delay)
        bot_turns["replies"] += 1
        await self.push_frame(TTSStartedFrame())
        chunk = RATE // 50 * 2  # 20 ms of 16-bit samples
        for i in range(0, len(self._reply), chunk):
            await self.push_frame(TTSAudioRawFrame(self._reply[i : i + chunk], RATE, 1))
        await self.push_frame(TTSStoppedFrame())


def make_app(args) -> FastAPI:
    app = FastAPI()
    reply = reply_audio()

    @app.websocket("/ws")
    async def ws_endpoint(websocket: WebSocket):
        await websocket.accept()
        runner_args = WebSocketRunnerArguments(websocket=websocket)
        params = lambda: FastAPIWebsocketParams(audio_in_enabled=True, audio_out_enabled=True)  # noqa: E731
        transport = await create_transport(runner_args, {p: params for p in PROVIDERS})
        detected[runner_args.transport_type] += 1
        vad = VADProcessor(
            vad_analyzer=SileroVADAnalyzer(params=VADParams(stop_secs=args.vad_stop_secs, start_secs=0.2))
        )
        pipeline = Pipeline([transport.input(), vad, FakeVoiceBot(args.reply_delay_ms / 1000, reply), transport.output()])
        task = PipelineTask(
            pipeline,
            params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
            idle_timeout_secs=None,
        )

        @transport.event_handler("on_client_disconnected")
        async def on_client_disconnected(_transport, _client):
            await task.cancel()

        await PipelineRunner(handle_sigint=False).run(task)

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=PROVIDERS, default="twilio")
    parser.add_argument("--voiceperf", default=str(REPO / "target/release/voiceperf"))
    parser.add_argument("--audio-dir", default=str(REPO / "audio_files"))
    parser.add_argument("--port", type=int, default=0, help="the bot's port (default: a free one)")
    parser.add_argument("--users", type=int, default=2)
    parser.add_argument("--duration", type=int, default=30, help="bench --test-duration (s)")
    parser.add_argument("--reply-delay-ms", type=float, default=200.0)
    parser.add_argument("--vad-stop-secs", type=float, default=0.3)
    parser.add_argument("--output-dir", help="bench's run folder (default: a temporary folder)")
    args = parser.parse_args()

    if args.port == 0:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    server = uvicorn.Server(uvicorn.Config(make_app(args), host="127.0.0.1", port=args.port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    out = Path(args.output_dir or tempfile.mkdtemp(prefix="voiceperf-telephony-")) / "run"
    command = [
        args.voiceperf, "bench",
        "--protocol", args.provider,
        "--url", f"ws://127.0.0.1:{args.port}/ws",
        "--audio-dir", args.audio_dir,
        "--clients", str(args.users),
        "--test-duration", str(args.duration),
        "--output-dir", str(out),
        "--custom-param", "from_number=+15550000001",
        "--custom-param", "to_number=+15559999999",
    ]  # fmt: skip
    print("$ " + " ".join(command), flush=True)
    status = subprocess.run(command).returncode
    server.should_exit = True
    thread.join(timeout=10)

    expected_ms = args.vad_stop_secs * 1000 + args.reply_delay_ms
    print(f"\npipecat detected: {dict(detected)} (expected {args.provider} for every call)")
    print(f"bot: {bot_turns['replies']} replies, {bot_turns['interruptions']} interruptions")
    print(f"expected latency: VAD stop {args.vad_stop_secs * 1000:.0f} ms + reply delay "
          f"{args.reply_delay_ms:.0f} ms = {expected_ms:.0f} ms (+ Silero's lag, + at most one 20 ms frame)")
    summaries = sorted(out.rglob("summary.json"))
    turns = 0
    for path in summaries:
        summary = json.loads(path.read_text())
        r = summary["results"]
        lat = r["latency"]
        turns += r["turns"]["replied"]
        print(f"bench ({summary['config']['protocol']} protocol): {r['turns']['in_window']} turns, "
              f"{r['turns']['replied']} replied; latency mean {lat['mean'] * 1000:.0f} ms, "
              f"p50 {lat['p50'] * 1000:.0f} ms, p90 {lat['p90'] * 1000:.0f} ms, "
              f"min {lat['min'] * 1000:.0f} ms, max {lat['max'] * 1000:.0f} ms")
        g, e = r["glitch_detection"], r["error_detection"]
        print(f"glitches {g['total_glitches']}, errors {e['total_errors']}, "
              f"reverse barge-ins {r['reverse_barge_in_detection'].get('total_reverse_barge_ins', '?')}")
    print(f"bench exit status {status}; results in {out}")
    ok = set(detected) == {args.provider} and bot_turns["replies"] > 0 and turns > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
