#!/usr/bin/env python3
"""Write byte-exact RTVI fixtures with pipecat's own RTVI processor, observer and transport.

A real pipecat 1.14 bot runs on 127.0.0.1: `SingleClientWebsocketServerTransport` with
`ProtobufFrameSerializer`, real `OpenAISTTService`/`OpenAILLMService`/`OpenAITTSService` instances
(never called: the key is fake; they are there so processor names, models and the metrics code
are pipecat's own), and the RTVIProcessor + RTVIObserver that `PipelineWorker` adds by default.
A websockets client speaks the RTVI handshake (`client-ready`) and then asks, step by step, for
pipecat frames to be pushed into the pipeline (MetricsFrames from the services' own metrics
methods, user/bot speaking frames, transcriptions, LLM and TTS frames, interruptions, audio
through the real output transport). Every binary WebSocket message the bot sends is saved as it
arrived; `manifest.json` records each RTVI message's decoded content (type, processor names,
values) so `tests/rtvi_fixtures.rs` can check voiceperf's parser and builders against pipecat.

Each step ends when the bot answers the step's `client-message` with a `server-response` (the
marker, not saved as a fixture). Steps that play audio also wait for `bot-stopped-speaking`.
The `turn` and `barge_in` sequences record the order of everything on the wire (audio,
InterruptionFrame, RTVI messages) with client-side arrival times; their order is pipecat's
transport mechanics, the pauses between frames are this script's.

Usage (not run in CI; the outputs are committed):
    python3 -m venv /tmp/pipecat-venv
    /tmp/pipecat-venv/bin/pip install -r scripts/pipecat-requirements.txt
    /tmp/pipecat-venv/bin/python scripts/pipecat_rtvi_fixtures.py [tests/fixtures/rtvi]
"""

import asyncio
import hashlib
import json
import math
import socket
import struct
import sys
import time
from pathlib import Path

import pipecat.frames.protobufs.frames_pb2 as frames_pb2
import websockets
from google.protobuf import __version__ as protobuf_version
from loguru import logger
from pipecat import version as pipecat_version
from pipecat.frames.frames import (
    EndFrame,
    InterimTranscriptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    TextType,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import (
    LLMTokenUsage,
    LLMUsageMetricsData,
    ProcessingMetricsData,
    STTUsage,
    STTUsageMetricsData,
    TTFBMetricsData,
    TTSUsageMetricsData,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.processors.frameworks.rtvi import RTVIClientMessageFrame
from pipecat.processors.frameworks.rtvi.frames import RTVIServerResponseFrame
from pipecat.processors.frameworks.rtvi.models import PROTOCOL_VERSION
from pipecat.serializers.protobuf import ProtobufFrameSerializer
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.services.openai.stt import OpenAISTTService
from pipecat.services.openai.tts import OpenAITTSService
from pipecat.transports.websocket.server import (
    SingleClientWebsocketServerParams,
    SingleClientWebsocketServerTransport,
)
from pipecat.workers.runner import WorkerRunner

OUT_RATE = 24000  # PipelineParams.audio_out_sample_rate default
CHUNK_MS = 20
T0 = 1000.0  # explicit metric start times make the values exact (binary fractions)
USER_ID = "voiceperf-user-1"
TIMESTAMP = "2026-12-03T09:00:00.000+00:00"
REPLY = "It is sunny today."


def tone(ms: int, amplitude: int = 8000, silence_ms: int = 0) -> bytes:
    """`silence_ms` of silence then a 440 Hz tone, int16 little-endian at OUT_RATE."""
    n = OUT_RATE * ms // 1000
    lead = OUT_RATE * silence_ms // 1000
    return b"".join(
        struct.pack(
            "<h",
            0 if i < lead else int(round(amplitude * math.sin(2 * math.pi * 440 * i / OUT_RATE))),
        )
        for i in range(n)
    )


def audio_frames(pcm: bytes, context_id: str) -> list[TTSAudioRawFrame]:
    """`pcm` in 20 ms TTSAudioRawFrames of one TTS audio context."""
    step = OUT_RATE * CHUNK_MS // 1000 * 2
    return [
        TTSAudioRawFrame(audio=pcm[i : i + step], sample_rate=OUT_RATE, num_channels=1, context_id=context_id)
        for i in range(0, len(pcm), step)
    ]


class Script(FrameProcessor):
    """Runs the step a client asks for (an RTVI `client-message` with `t: "step"`) in a task of
    its own, so the frames it pushes flow while it waits, then answers with a server-response."""

    def __init__(self, bot: "Bot", **kwargs):
        super().__init__(**kwargs)
        self.bot = bot

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if isinstance(frame, RTVIClientMessageFrame) and frame.type == "step":
            self.create_task(self.run_step(frame))
            return
        await self.push_frame(frame, direction)

    async def run_step(self, request: RTVIClientMessageFrame):
        await STEPS[request.data](self.bot, self)
        await self.push_frame(RTVIServerResponseFrame(client_msg=request, data={"step": request.data}))


class Bot:
    def __init__(self, port: int):
        self.transport = SingleClientWebsocketServerTransport(
            SingleClientWebsocketServerParams(
                serializer=ProtobufFrameSerializer(),
                audio_in_enabled=True,
                audio_out_enabled=True,
            ),
            host="127.0.0.1",
            port=port,
        )
        self.stt = OpenAISTTService(api_key="not-used")
        self.llm = OpenAILLMService(api_key="not-used")
        self.tts = OpenAITTSService(api_key="not-used")
        self.script = Script(self)
        pipeline = Pipeline(
            [self.transport.input(), self.stt, self.llm, self.tts, self.script, self.transport.output()]
        )
        self.worker = PipelineWorker(
            pipeline,
            params=PipelineParams(
                enable_metrics=True,
                enable_usage_metrics=True,
                # Pushed as a step instead: this server transport starts before any client
                # connects, so the initial frame would be written to nobody.
                send_initial_empty_metrics=False,
            ),
        )


# ---- steps: each pushes real pipecat frames; `expect` is the RTVI types it must produce -------

STEPS = {}
EXPECT = {}
SEQUENCES = ("turn", "barge_in")
SPEECH_STEPS = ("bot_speech", *SEQUENCES)


def step(*expect, exact=True):
    def register(fn):
        STEPS[fn.__name__] = fn
        EXPECT[fn.__name__] = (list(expect), exact)
        return fn

    return register


@step("user-started-speaking", "user-stopped-speaking")
async def user_speaking(bot: Bot, s: Script):
    # As LLMUserAggregator does at a user turn's start and stop.
    await s.broadcast_frame(UserStartedSpeakingFrame)
    await s.broadcast_frame(UserStoppedSpeakingFrame)


@step("bot-interrupted")
async def bot_interrupted(bot: Bot, s: Script):
    await s.broadcast_interruption()


@step("user-input", "user-transcription")
async def user_transcription_final(bot: Bot, s: Script):
    await s.push_frame(TranscriptionFrame(text="What is the weather like today?", user_id=USER_ID, timestamp=TIMESTAMP))


@step("user-input", "user-transcription")
async def user_transcription_interim(bot: Bot, s: Script):
    await s.push_frame(InterimTranscriptionFrame(text="What is the", user_id=USER_ID, timestamp=TIMESTAMP))


@step("bot-llm-started", "bot-llm-text", "bot-llm-text", "bot-transcription", "bot-llm-stopped")
async def bot_llm(bot: Bot, s: Script):
    await s.push_frame(LLMFullResponseStartFrame())
    await s.push_frame(LLMTextFrame("It is sunny"))
    await s.push_frame(LLMTextFrame(" today."))
    await s.push_frame(LLMFullResponseEndFrame())


@step("bot-tts-started", "bot-tts-stopped")
async def bot_tts_started_stopped(bot: Bot, s: Script):
    await s.push_frame(TTSStartedFrame(context_id="ctx-0"))
    await s.push_frame(TTSStoppedFrame(context_id="ctx-0"))


@step("bot-tts-started", "bot-started-speaking", "bot-tts-text", "bot-tts-stopped", "bot-stopped-speaking", exact=False)
async def bot_speech(bot: Bot, s: Script):
    # Audio through the real output transport: it raises Bot{Started,Stopped}SpeakingFrame and
    # passes the TTSTextFrame on when its audio has been written.
    await s.push_frame(TTSStartedFrame(context_id="ctx-1"))
    for frame in audio_frames(tone(200), "ctx-1"):
        await s.push_frame(frame)
    await s.push_frame(TTSTextFrame(REPLY, TextType.SENTENCE, context_id="ctx-1"))
    await s.push_frame(TTSStoppedFrame(context_id="ctx-1"))


@step("metrics")
async def metrics_ttfb_stt(bot: Bot, s: Script):
    await bot.stt.start_ttfb_metrics(start_time=T0)
    await bot.stt.stop_ttfb_metrics(end_time=T0 + 0.25)


@step("metrics")
async def metrics_ttfb_llm(bot: Bot, s: Script):
    await bot.llm.start_ttfb_metrics(start_time=T0)
    await bot.llm.stop_ttfb_metrics(end_time=T0 + 0.375)


@step("metrics")
async def metrics_ttfb_tts(bot: Bot, s: Script):
    await bot.tts.start_ttfb_metrics(start_time=T0)
    await bot.tts.stop_ttfb_metrics(end_time=T0 + 0.125)


@step("metrics")
async def metrics_processing_llm(bot: Bot, s: Script):
    await bot.llm.start_processing_metrics(start_time=T0)
    await bot.llm.stop_processing_metrics(end_time=T0 + 1.25)


@step("metrics")
async def metrics_processing_tts(bot: Bot, s: Script):
    await bot.tts.start_processing_metrics(start_time=T0)
    await bot.tts.stop_processing_metrics(end_time=T0 + 0.75)


@step("metrics")
async def metrics_tokens(bot: Bot, s: Script):
    await bot.llm.start_llm_usage_metrics(LLMTokenUsage(prompt_tokens=412, completion_tokens=37, total_tokens=449))


@step("metrics")
async def metrics_tokens_cached(bot: Bot, s: Script):
    await bot.llm.start_llm_usage_metrics(
        LLMTokenUsage(
            prompt_tokens=412,
            completion_tokens=37,
            total_tokens=449,
            cache_read_input_tokens=256,
            reasoning_tokens=12,
        )
    )


@step("metrics")
async def metrics_characters(bot: Bot, s: Script):
    await bot.tts.start_tts_usage_metrics(REPLY)


@step("metrics")
async def metrics_stt_usage(bot: Bot, s: Script):
    await bot.stt.start_stt_usage_metrics(STTUsage(audio_seconds=2.5))


@step("metrics", "metrics")
async def metrics_ttfa(bot: Bot, s: Script):
    # TTFB first (the ttfa measurement starts at the first byte), then the leading silence of
    # the first audio: 100 ms of silence before the tone.
    await bot.tts.start_ttfb_metrics(start_time=T0)
    await bot.tts.stop_ttfb_metrics(end_time=T0 + 0.25)
    pcm = tone(400, silence_ms=100)
    await bot.tts.process_ttfa_metrics(TTSAudioRawFrame(audio=pcm, sample_rate=OUT_RATE, num_channels=1))


@step("metrics", "metrics")
async def metrics_ttfat(bot: Bot, s: Script):
    await bot.llm.start_ttfb_metrics(start_time=T0)
    await bot.llm.stop_ttfb_metrics(end_time=T0 + 0.25)
    await bot.llm.stop_ttfat_metrics(end_time=T0 + 0.625)


@step("metrics")
async def metrics_initial(bot: Bot, s: Script):
    # What PipelineWorker sends once when the pipeline starts (send_initial_empty_metrics): a
    # zero TTFB and processing entry for every processor that can generate metrics.
    await bot.worker.queue_frame(bot.worker._initial_metrics_frame())
    await asyncio.sleep(0.3)  # it enters at the pipeline's source, behind this step's marker


@step("metrics")
async def metrics_combined(bot: Bot, s: Script):
    # One MetricsFrame with every kind: pipecat's services each push one kind per frame (only the
    # initial frame combines two), so this shows how the observer lays out several at once.
    await s.push_frame(
        MetricsFrame(
            data=[
                TTFBMetricsData(processor=bot.stt.name, model=bot.stt._settings.model, value=0.25),
                TTFBMetricsData(processor=bot.llm.name, model=bot.llm._settings.model, value=0.375),
                TTFBMetricsData(processor=bot.tts.name, model=bot.tts._settings.model, value=0.125),
                ProcessingMetricsData(processor=bot.llm.name, model=bot.llm._settings.model, value=1.25),
                LLMUsageMetricsData(
                    processor=bot.llm.name,
                    model=bot.llm._settings.model,
                    value=LLMTokenUsage(prompt_tokens=412, completion_tokens=37, total_tokens=449),
                ),
                TTSUsageMetricsData(processor=bot.tts.name, model=bot.tts._settings.model, value=len(REPLY)),
                STTUsageMetricsData(processor=bot.stt.name, model=bot.stt._settings.model, value=STTUsage(audio_seconds=2.5)),
            ]
        )
    )


# ---- sequences: realistic order, recorded whole ------------------------------------------------


@step(exact=False)
async def turn(bot: Bot, s: Script):
    """One turn in the order pipecat's aggregators and services emit their frames."""
    await s.broadcast_frame(UserStartedSpeakingFrame)  # LLMUserAggregator: turn start...
    await s.broadcast_interruption()  # ...then an interruption, bot speaking or not
    await asyncio.sleep(0.3)
    await s.push_frame(InterimTranscriptionFrame(text="What is the", user_id=USER_ID, timestamp=TIMESTAMP))
    await asyncio.sleep(0.2)
    speech_end = time.time()
    await bot.stt.start_ttfb_metrics(start_time=speech_end)  # STTService: at VAD stop
    await asyncio.sleep(0.1)
    await s.push_frame(
        TranscriptionFrame(text="What is the weather like today?", user_id=USER_ID, timestamp=TIMESTAMP)
    )
    await bot.stt.stop_ttfb_metrics()  # finalized transcript
    await s.broadcast_frame(UserStoppedSpeakingFrame)  # LLMUserAggregator: turn stop
    await bot.llm.start_processing_metrics()
    await bot.llm.start_ttfb_metrics()
    await s.push_frame(LLMFullResponseStartFrame())
    await asyncio.sleep(0.2)
    await bot.llm.stop_ttfb_metrics()
    await s.push_frame(LLMTextFrame("It is sunny"))
    await bot.tts.start_tts_usage_metrics(REPLY)
    await bot.tts.start_processing_metrics()
    await bot.tts.start_ttfb_metrics()
    await s.push_frame(TTSStartedFrame(context_id="ctx-2"))
    await s.push_frame(LLMTextFrame(" today."))
    await bot.llm.start_llm_usage_metrics(LLMTokenUsage(prompt_tokens=412, completion_tokens=37, total_tokens=449))
    await bot.llm.stop_processing_metrics()
    await s.push_frame(LLMFullResponseEndFrame())
    await asyncio.sleep(0.15)
    await bot.tts.stop_ttfb_metrics()  # TTSService: at the first audio chunk, before pushing it
    for frame in audio_frames(tone(400), "ctx-2"):
        await s.push_frame(frame)
    await s.push_frame(TTSTextFrame(REPLY, TextType.SENTENCE, context_id="ctx-2"))
    await s.push_frame(TTSStoppedFrame(context_id="ctx-2"))
    await bot.tts.stop_processing_metrics()


@step(exact=False)
async def barge_in(bot: Bot, s: Script):
    """The user starts speaking 0.5 s into a 2 s reply, as LLMUserAggregator reacts to it."""
    await bot.tts.start_ttfb_metrics()
    await s.push_frame(TTSStartedFrame(context_id="ctx-3"))
    await bot.tts.stop_ttfb_metrics()
    for frame in audio_frames(tone(2000), "ctx-3"):
        await s.push_frame(frame)
    await asyncio.sleep(0.5)
    await s.broadcast_frame(UserStartedSpeakingFrame)
    await s.broadcast_interruption()
    await asyncio.sleep(0.3)


# ---- client -------------------------------------------------------------------------------------


def message_bytes(message: dict) -> bytes:
    frame = frames_pb2.Frame()
    frame.message.data = json.dumps(message)
    return frame.SerializeToString()


def decode(data: bytes) -> tuple[str, dict | None, frames_pb2.Frame]:
    frame = frames_pb2.Frame.FromString(data)
    kind = frame.WhichOneof("frame")
    message = json.loads(frame.message.data) if kind == "message" else None
    return kind, message, frame


def content(message: dict) -> dict:
    """The decoded content the Rust parser must find, from Python's own JSON reading."""
    data = message.get("data") or {}
    out = {"type": message["type"], "id": message.get("id")}
    if message["type"] == "metrics":
        metrics = {}
        for key, entries in data.items():
            rows = []
            for e in entries:
                if key == "tokens":
                    rows.append(dict(e))
                elif key == "stt_usage":
                    rows.append({"processor": e["processor"], "model": e.get("model"), "audio_seconds": e["value"]["audio_seconds"]})
                else:
                    row = {"processor": e["processor"], "model": e.get("model")}
                    row.update({k: v for k, v in e.items() if k not in ("processor", "model")})
                    rows.append(row)
            metrics[key] = rows
        out["metrics"] = metrics
    else:
        for key in ("text", "user_id", "timestamp", "final", "input_type", "version", "error", "fatal"):
            if key in data:
                out[key] = data[key]
        if "about" in data:
            out["about"] = data["about"]
        if "capabilities" in data:
            out["capabilities"] = data["capabilities"]
    return out


class Client:
    def __init__(self, ws, out_dir: Path):
        self.ws = ws
        self.out_dir = out_dir
        self.fixtures = []
        self.steps = []
        self.sequences = {}

    def save(self, name: str, data: bytes, step: str, source: str) -> dict:
        kind, message, _ = decode(data)
        assert kind == "message", f"{name}: {kind}"
        (self.out_dir / f"{name}.bin").write_bytes(data)
        proto = frames_pb2.Frame.FromString(data)
        entry = {
            "file": f"{name}.bin",
            "step": step,
            "source": source,
            "len": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "data": proto.message.data,
            "content": content(message),
        }
        self.fixtures.append(entry)
        return entry

    async def receive_until(self, done, timeout: float = 5.0) -> list[tuple[float, bytes]]:
        """Every message until `done(kind, message)` is true for one (that one included)."""
        got = []
        start = time.monotonic()
        while True:
            data = await asyncio.wait_for(self.ws.recv(), timeout)
            kind, message, _ = decode(data)
            got.append((time.monotonic() - start, data))
            if done(kind, message):
                return got

    async def run_step(self, name: str) -> list[tuple[float, bytes]]:
        """Everything the bot sends for step `name` (arrival seconds after the request, bytes):
        up to the step's server-response marker (left out), and for steps that play audio on
        until the bot has stopped speaking."""
        msg_id = f"step-{name}"
        start = time.monotonic()
        await self.ws.send(
            message_bytes({"label": "rtvi-ai", "type": "client-message", "id": msg_id, "data": {"t": "step", "d": name}})
        )
        got = []
        marker = False
        # Audio steps: the marker, an urgent frame, overtakes the queued audio.
        speaking = name in SPEECH_STEPS
        while not marker or speaking:
            data = await asyncio.wait_for(self.ws.recv(), 5.0)
            kind, m, _ = decode(data)
            rtvi_type = m["type"] if kind == "message" else None
            if rtvi_type == "server-response" and m.get("id") == msg_id:
                marker = True
                continue
            got.append((time.monotonic() - start, data))
            if rtvi_type in ("bot-started-speaking", "bot-stopped-speaking"):
                speaking = rtvi_type == "bot-started-speaking"
        return got


async def handshake(client: Client) -> list:
    """client-ready three ways, and what pipecat's RTVIProcessor answers to each."""
    cases = [
        (
            "client_ready_no_id",
            {"label": "rtvi-ai", "type": "client-ready", "data": {}},
            "no `id`: RTVI.Message requires one, so the message is rejected with an `error` and no bot-ready",
        ),
        (
            "client_ready_no_version",
            {"label": "rtvi-ai", "type": "client-ready", "id": "voiceperf-ready-1", "data": {}},
            "no `data.version`: an `error-response` (version unknown), then bot-ready anyway",
        ),
        (
            "client_ready",
            {
                "label": "rtvi-ai",
                "type": "client-ready",
                "id": "voiceperf-ready-2",
                "data": {"version": PROTOCOL_VERSION, "about": {"library": "voiceperf", "library_version": "0.1.0"}},
            },
            "what a client should send: id + data.version (+ about); answered with bot-ready carrying the id",
        ),
    ]
    out = []
    for name, message, note in cases:
        data = message_bytes(message)
        (client.out_dir / f"{name}.bin").write_bytes(data)
        await client.ws.send(data)
        # The no-id case gets no bot-ready: a step marker bounds what it answered.
        if name == "client_ready_no_id":
            got = [d for _, d in await client.run_step("noop")]
        else:
            got = [
                d
                for _, d in await client.receive_until(
                    lambda kind, m: kind == "message" and m["type"] == "bot-ready"
                )
            ]
        answers = []
        for i, d in enumerate(got):
            kind, m, _ = decode(d)
            answers.append(client.save(f"{name}_answer_{i}_{m['type'].replace('-', '_')}", d, name, "RTVIProcessor")["file"])
        out.append({"name": name, "file": f"{name}.bin", "data": json.dumps(message), "note": note, "answers": answers})
    return out


STEPS["noop"] = lambda bot, s: asyncio.sleep(0)


async def run_client(port: int, out_dir: Path) -> dict:
    async with websockets.connect(f"ws://127.0.0.1:{port}", max_size=None) as ws:
        client = Client(ws, out_dir)
        handshakes = await handshake(client)
        for name, (expect, exact) in EXPECT.items():
            print(f"step {name}", file=sys.stderr)
            got = await client.run_step(name)
            messages = [(t, d) for t, d in got if decode(d)[0] == "message"]
            types = [decode(d)[1]["type"] for _, d in messages]
            if name in SEQUENCES:
                record = []
                for i, (t, d) in enumerate(got):
                    kind, m, proto = decode(d)
                    row = {"t_ms": round(t * 1000, 1), "kind": kind}
                    if kind == "message":
                        row["type"] = m["type"]
                        row["file"] = client.save(f"seq_{name}_{i:02d}_{m['type'].replace('-', '_')}", d, name, "RTVIObserver")["file"]
                    elif kind == "audio":
                        row["bytes"] = len(proto.audio.audio)
                    record.append(row)
                client.sequences[name] = record
                continue
            if exact:
                assert types == expect, f"{name}: got {types}, expected {expect}"
            else:
                missing = [t for t in expect if t not in types]
                assert not missing, f"{name}: no {missing} in {types} (all: {[decode(d)[0] for _, d in got]})"
            others = [decode(d)[0] for _, d in got if decode(d)[0] != "message"]
            files = []
            for i, (t, d) in enumerate(messages):
                kind, m, _ = decode(d)
                fixture = name if len(messages) == 1 else f"{name}_{i}_{m['type'].replace('-', '_')}"
                files.append(client.save(fixture, d, name, "RTVIObserver")["file"])
            client.steps.append({"step": name, "types": types, "other_frames": others, "files": files})
        return {"handshake": handshakes, "steps": client.steps, "fixtures": client.fixtures, "sequences": client.sequences}


def check_metric_values(fixtures: list, services: dict) -> None:
    """The deterministic metric steps carry exactly the values pushed."""
    by_step = {f["step"]: f["content"] for f in fixtures if f["content"]["type"] == "metrics"}

    def only(step, key):
        rows = by_step[step]["metrics"][key]
        assert len(rows) == 1, (step, rows)
        return rows[0]

    assert only("metrics_ttfb_stt", "ttfb")["value"] == 0.25
    assert only("metrics_ttfb_llm", "ttfb") == {"processor": services["llm"], "model": services["llm_model"], "value": 0.375}
    assert only("metrics_ttfb_tts", "ttfb")["value"] == 0.125
    assert only("metrics_processing_llm", "processing")["value"] == 1.25
    assert only("metrics_processing_tts", "processing")["value"] == 0.75
    assert only("metrics_tokens", "tokens") == {"prompt_tokens": 412, "completion_tokens": 37, "total_tokens": 449}
    assert only("metrics_characters", "characters")["value"] == len(REPLY)
    assert only("metrics_stt_usage", "stt_usage")["audio_seconds"] == 2.5


async def main(out_dir: Path) -> None:
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.bin"):
        old.unlink()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()

    bot = Bot(port)
    ready = asyncio.Event()

    @bot.transport.event_handler("on_websocket_ready")
    async def on_ready(transport):
        ready.set()

    runner = WorkerRunner()
    await runner.add_workers(bot.worker)

    async def drive():
        await asyncio.wait_for(ready.wait(), 30)
        try:
            return await run_client(port, out_dir)
        except BaseException:
            await bot.worker.cancel()
            raise
        finally:
            await bot.worker.queue_frame(EndFrame())

    _, result = await asyncio.gather(runner.run(), drive())
    services = {
        "stt": bot.stt.name,
        "stt_model": bot.stt._settings.model,
        "llm": bot.llm.name,
        "llm_model": bot.llm._settings.model,
        "tts": bot.tts.name,
        "tts_model": bot.tts._settings.model,
    }
    check_metric_values(result["fixtures"], services)
    manifest = {
        "generator": "scripts/pipecat_rtvi_fixtures.py",
        "pipecat_ai": pipecat_version(),
        "protobuf": protobuf_version,
        "rtvi_protocol_version": PROTOCOL_VERSION,
        "services": services,
        **result,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(result['fixtures'])} RTVI fixtures ({len(result['handshake'])} handshakes) to {out_dir}")


if __name__ == "__main__":
    target = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "tests/fixtures/rtvi"
    )
    asyncio.run(main(target))
