#!/usr/bin/env python3
"""Write server logs of real pipecat-ai pipelines, in the two log styles voiceperf reads.

Every line comes from pipecat-ai 1.14 itself: its Silero `VADProcessor`, the `LLMUserAggregator`
with pipecat's default turn strategies, and the metrics machinery of its STT, LLM and TTS base
classes (`PipelineParams(enable_metrics=True, enable_usage_metrics=True)`), logged by loguru at
DEBUG. Only the three services are stand-ins, subclasses of pipecat's own base classes that
answer after a configured delay instead of calling a provider:

- `ScriptedSTTService(STTService)`: streams like Deepgram (finalize on the VAD stop, a finalized
  transcript `stt_delay` seconds later), so pipecat measures the STT TTFB from speech end.
- `ScriptedLLMService(OpenAILLMService)`: pipecat's OpenAI service over a fake chunk stream
  whose first chunk comes after `llm_delay` seconds (TTFB, processing time, token usage).
- `ScriptedTTSService(TTSService)`: built like pipecat's OpenAI TTS; first audio after
  `tts_delay` seconds (TTFB, processing time, characters).

Each session is a `PipelineWorker` run by its own `WorkerRunner`, as one bot connection of a
server; a simulated user (what `voiceperf bench` does) streams a real recorded voice
(tests/fixtures/audio/voice_*.wav) in 20 ms frames at real-time pace, with silence between
turns, and notes when its speech ended and when the first reply audio left the pipeline.
Sessions of one scenario run concurrently in one process, like connections of one server.

Each scenario writes the same run twice, through two loguru sinks:
- `<scenario>.default.log`: loguru's default format, as pipecat ships it (no stream id);
- `<scenario>.streamid.log`: the NVIDIA style, `... | streamId={extra[streamId]} - {message}`,
  with the session's stream id bound by `logger.contextualize` around the session, as a
  deployment would.
Scenarios: `overlap` (three sessions whose turns overlap in time) and `sequential` (two
sessions, the second connecting after the first closed).

`manifest.json` records the configured delays per session, each session's stream id, connect
and close times and its turns (start, speech end, first reply audio, reply end; unix seconds),
and the exact wording of every kind of line the latency split uses, with counts.
`tests/analyze_pipecat.rs` joins the logs with bench-style run folders built from the manifest
and checks the recovered numbers against it.

Usage (not run in CI; the outputs are committed):
    python3 -m venv /tmp/pipecat-venv
    /tmp/pipecat-venv/bin/pip install -r scripts/pipecat-requirements.txt
    /tmp/pipecat-venv/bin/python scripts/pipecat_log_fixtures.py [tests/fixtures/logs/pipecat]
"""

import asyncio
import importlib.metadata
import json
import math
import re
import struct
import sys
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger
from openai.types.chat import ChatCompletionChunk
from openai.types.chat.chat_completion_chunk import Choice, ChoiceDelta
from openai.types.completion_usage import CompletionUsage
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    LLMRunFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.transcriptions.language import Language
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601
from pipecat.workers.runner import WorkerRunner

REPO = Path(__file__).resolve().parent.parent
VOICES = ["voice_front_center", "voice_rear_left", "voice_side_right", "voice_front_left"]
IN_RATE = 16000
OUT_RATE = 24000
FRAME_MS = 20
LEAD_IN_S = 0.5
REPLY_GAP_S = 1.0
TURNS_PER_SESSION = 3
REPLY_TEXT = "Sure. Here is a short answer for you."
GREETING_TEXT = "Hello! How can I help?"

DEFAULT_FORMAT = None  # loguru's own default
STREAMID_FORMAT = (
    "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} | "
    "streamId={extra[streamId]} - {message}"
)


@dataclass
class Delays:
    """What the stand-in services wait (seconds)."""

    stt: float
    llm: float
    tts: float
    llm_token_gap: float = 0.02


@dataclass
class Turn:
    """One user turn as the simulated user saw it (unix seconds)."""

    turn: int
    file: str
    started_at: float
    speech_end_at: float = 0.0
    first_audio_at: float | None = None
    reply_end_at: float | None = None
    ended_at: float = 0.0
    reply_audio_s: float = 0.0


@dataclass
class Session:
    """One connection."""

    user: int
    stream_id: str
    delays: Delays
    start_offset_s: float
    connect_at: float = 0.0
    closed_at: float = 0.0
    greeting_first_audio_at: float | None = None
    greeting_end_at: float | None = None
    turns: list[Turn] = field(default_factory=list)


def read_voice(name: str) -> bytes:
    """A real recorded voice, 16 kHz mono int16, ending where the speech ends."""
    with wave.open(str(REPO / "tests/fixtures/audio" / f"{name}.wav"), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (IN_RATE, 1, 2), name
        return w.readframes(w.getnframes())


def tone(seconds: float, hz: float = 220.0, amplitude: int = 6000) -> bytes:
    """Reply audio: a plain tone at the output rate."""
    n = int(OUT_RATE * seconds)
    return b"".join(
        struct.pack("<h", int(amplitude * math.sin(2 * math.pi * hz * i / OUT_RATE)))
        for i in range(n)
    )


class ScriptedSTTService(STTService):
    """A streaming STT: finalizes on the VAD stop and answers `delay` seconds later."""

    def __init__(self, *, delay: float, text: str, **kwargs):
        super().__init__(
            ttfs_p99_latency=delay + 0.2,
            settings=STTSettings(model="scripted-stt", language=Language.EN),
            **kwargs,
        )
        self._delay = delay
        self._text = text
        self._pending: asyncio.Task | None = None

    def can_generate_metrics(self) -> bool:
        return True

    async def run_stt(self, audio: bytes):
        # Audio is only counted (for usage metrics); the transcript comes from the VAD stop.
        yield None

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStoppedSpeakingFrame):
            self.request_finalize()
            self._pending = self.create_task(self._transcribe(), name="scripted_transcript")
        elif isinstance(frame, VADUserStartedSpeakingFrame) and self._pending:
            await self.cancel_task(self._pending)
            self._pending = None

    async def _transcribe(self):
        await asyncio.sleep(self._delay)
        self.confirm_finalize()
        await self.emit_stt_usage_metrics()
        await self.push_frame(TranscriptionFrame(self._text, "", time_now_iso8601()))
        self._pending = None


class _FakeChunkStream:
    """What the OpenAI client returns for a streamed chat completion, from a script."""

    def __init__(self, delay: float, gap: float, text: str, prompt_tokens: int):
        self._delay = delay
        self._gap = gap
        self._tokens = re.findall(r"\S+\s*", text)
        self._prompt_tokens = prompt_tokens
        self._index = -1

    def _chunk(self, **kwargs) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id="scripted",
            created=int(time.time()),
            model="scripted-llm",
            object="chat.completion.chunk",
            **kwargs,
        )

    def __aiter__(self):
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        self._index += 1
        if self._index == 0:
            await asyncio.sleep(self._delay)
        elif self._index <= len(self._tokens):
            await asyncio.sleep(self._gap)
        if self._index < len(self._tokens):
            delta = ChoiceDelta(content=self._tokens[self._index], role="assistant")
            return self._chunk(choices=[Choice(index=0, delta=delta, finish_reason=None)])
        if self._index == len(self._tokens):
            usage = CompletionUsage(
                prompt_tokens=self._prompt_tokens,
                completion_tokens=len(self._tokens),
                total_tokens=self._prompt_tokens + len(self._tokens),
            )
            return self._chunk(choices=[], usage=usage)
        raise StopAsyncIteration

    async def close(self):
        pass


class ScriptedLLMService(OpenAILLMService):
    """pipecat's OpenAI LLM service over a scripted chunk stream: first chunk after `delay`."""

    def __init__(self, *, delay: float, token_gap: float, **kwargs):
        super().__init__(api_key="unused", **kwargs)
        self._delay = delay
        self._token_gap = token_gap

    async def get_chat_completions(self, context):
        self._log_llm_response(context)
        text = GREETING_TEXT if len(context.messages) <= 1 else REPLY_TEXT
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in context.messages)
        return _FakeChunkStream(self._delay, self._token_gap, text, prompt_tokens)


class ScriptedTTSService(TTSService):
    """A TTS built like pipecat's OpenAI TTS: first audio `delay` seconds after the request."""

    def __init__(self, *, delay: float, **kwargs):
        super().__init__(
            sample_rate=OUT_RATE,
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model="scripted-tts", voice="scripted", language=Language.EN),
            **kwargs,
        )
        self._delay = delay

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(self, text: str, context_id: str):
        await asyncio.sleep(self._delay)
        await self.start_tts_usage_metrics(text)
        # About 60 ms of speech per character, in 40 ms chunks.
        audio = tone(max(0.3, 0.06 * len(text)))
        step = OUT_RATE * 2 * 40 // 1000
        for i in range(0, len(audio), step):
            await self.stop_ttfb_metrics()
            yield TTSAudioRawFrame(audio[i : i + step], OUT_RATE, 1, context_id=context_id)


class ClientEar(FrameProcessor):
    """Where the output transport would be: notes when reply audio leaves the pipeline."""

    def __init__(self, on_audio, on_stopped, **kwargs):
        super().__init__(**kwargs)
        self._on_audio = on_audio
        self._on_stopped = on_stopped

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame):
            self._on_audio(time.time(), len(frame.audio) / (2 * frame.sample_rate))
        elif isinstance(frame, TTSStoppedFrame):
            self._on_stopped(time.time())
        await self.push_frame(frame, direction)


class Reply:
    """Reply audio heard by the simulated user since the last reset."""

    def __init__(self):
        self.first_at: float | None = None
        self.audio_s = 0.0
        self.stopped = asyncio.Event()

    def reset(self):
        self.first_at = None
        self.audio_s = 0.0
        self.stopped.clear()

    def audio(self, at: float, seconds: float):
        if self.first_at is None:
            self.first_at = at
        self.audio_s += seconds

    def stop(self, at: float):
        if self.first_at is not None:
            self.stopped.set()


class Microphone:
    """Streams 20 ms input frames at real-time pace: the queued voice, else silence."""

    def __init__(self, worker: PipelineWorker):
        self._worker = worker
        self._queue = bytearray()
        self._frame_bytes = IN_RATE * 2 * FRAME_MS // 1000
        self._stop = False
        self._utterance: dict | None = None

    def say(self, pcm: bytes) -> dict:
        """Queues an utterance; the returned dict gets `started_at` (its first frame sent) and
        `speech_end_at` (its last sample sent), and its `done` event is set then."""
        assert not self._queue, "one utterance at a time"
        self._queue.extend(pcm)
        self._utterance = {"bytes": len(pcm), "sent": 0, "done": asyncio.Event()}
        return self._utterance

    async def run(self):
        origin = time.monotonic()
        k = 0
        while not self._stop:
            chunk = bytes(self._queue[: self._frame_bytes])
            del self._queue[: self._frame_bytes]
            voiced = len(chunk)
            if voiced < self._frame_bytes:
                chunk += b"\x00" * (self._frame_bytes - voiced)
            await self._worker.queue_frame(
                InputAudioRawFrame(audio=chunk, sample_rate=IN_RATE, num_channels=1)
            )
            now = time.time()
            u = self._utterance
            if u is not None and voiced:
                if u["sent"] == 0:
                    # The frame leaves when its last sample has been captured.
                    u["started_at"] = now - FRAME_MS / 1000
                u["sent"] += voiced
                if u["sent"] >= u["bytes"]:
                    # The speech ends at the frame's last voiced sample.
                    u["speech_end_at"] = now - (self._frame_bytes - voiced) / (IN_RATE * 2)
                    u["done"].set()
                    self._utterance = None
            k += 1
            delay = origin + k * FRAME_MS / 1000 - time.monotonic()
            await asyncio.sleep(max(0.0, delay))

    def stop(self):
        self._stop = True


async def run_session(session: Session, t0: float, bot: dict):
    """One bot connection and its simulated user."""
    await asyncio.sleep(max(0.0, t0 + session.start_offset_s - time.time()))
    with logger.contextualize(streamId=session.stream_id):
        await _run_session(session, bot)


async def _run_session(session: Session, bot: dict):
    d = session.delays
    reply = Reply()
    context = LLMContext([{"role": "system", "content": "You are a helpful voice assistant."}])
    user_params = LLMUserAggregatorParams()
    if bot["turn_stop"] == "speech_timeout":
        user_params.user_turn_strategies = UserTurnStrategies(
            stop=[SpeechTimeoutUserTurnStopStrategy()]
        )
    vad = []
    if bot["vad"] == "processor":
        vad = [VADProcessor(vad_analyzer=SileroVADAnalyzer())]
    else:
        user_params.vad_analyzer = SileroVADAnalyzer()
    aggregators = LLMContextAggregatorPair(context, user_params=user_params)
    stt = ScriptedSTTService(delay=d.stt, text="What can you tell me about latency?")
    llm = ScriptedLLMService(delay=d.llm, token_gap=d.llm_token_gap)
    tts = ScriptedTTSService(delay=d.tts)
    pipeline = Pipeline(
        [
            *vad,
            stt,
            aggregators.user(),
            llm,
            tts,
            ClientEar(reply.audio, reply.stop),
            aggregators.assistant(),
        ]
    )
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(
            audio_in_sample_rate=IN_RATE,
            audio_out_sample_rate=OUT_RATE,
            enable_metrics=True,
            enable_usage_metrics=True,
        ),
        idle_timeout_secs=None,
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    runner_task = asyncio.create_task(runner.run())
    mic = Microphone(worker)
    session.connect_at = time.time()
    mic_task = asyncio.create_task(mic.run())

    # The bot greets the user as it connects.
    await worker.queue_frame(LLMRunFrame())
    await asyncio.wait_for(reply.stopped.wait(), timeout=20)
    session.greeting_first_audio_at = reply.first_at
    session.greeting_end_at = reply.first_at + reply.audio_s
    await asyncio.sleep(max(0.0, session.greeting_end_at + REPLY_GAP_S - time.time()))

    for n in range(1, TURNS_PER_SESSION + 1):
        voice = VOICES[(session.user + n) % len(VOICES)]
        pcm = b"\x00" * int(IN_RATE * 2 * LEAD_IN_S) + read_voice(voice)
        reply.reset()
        utterance = mic.say(pcm)
        await utterance["done"].wait()
        turn = Turn(turn=n, file=f"{voice}.wav", started_at=utterance["started_at"])
        turn.speech_end_at = utterance["speech_end_at"]
        await asyncio.wait_for(reply.stopped.wait(), timeout=30)
        turn.first_audio_at = reply.first_at
        turn.reply_audio_s = reply.audio_s
        turn.reply_end_at = max(reply.first_at + reply.audio_s, time.time())
        turn.ended_at = turn.reply_end_at + REPLY_GAP_S
        session.turns.append(turn)
        await asyncio.sleep(max(0.0, turn.ended_at - time.time()))

    mic.stop()
    await mic_task
    await worker.queue_frame(EndFrame())
    await runner_task
    session.closed_at = time.time()


SCENARIOS = {
    # Three users starting 1.5 s apart, so their turns overlap; the bot as pipecat's quickstart
    # builds it: a Silero `VADProcessor` and the aggregator's default turn strategies (Smart
    # Turn v3 deciding the end of the turn).
    "overlap": {
        "bot": {"vad": "processor", "turn_stop": "pipecat_default"},
        "colour": True,
        "users": [
            (1, 0.0, Delays(stt=0.10, llm=0.30, tts=0.12)),
            (2, 1.5, Delays(stt=0.15, llm=0.45, tts=0.18)),
            (3, 3.0, Delays(stt=0.20, llm=0.60, tts=0.24)),
        ],
    },
    # Two users, the second connecting after the first has gone (its start is set at run time);
    # the VAD inside the user aggregator and a speech-timeout turn end.
    "sequential": {
        "bot": {"vad": "aggregator", "turn_stop": "speech_timeout"},
        "users": [
            (1, 0.0, Delays(stt=0.10, llm=0.30, tts=0.12)),
            (2, None, Delays(stt=0.20, llm=0.60, tts=0.24)),
        ],
    },
}

# The lines the latency split reads, by kind: a pattern on the message (after `streamId=… - `
# or the default format's ` - `).
LINE_KINDS = {
    "stt_ttfb": r"^ScriptedSTTService#\d+ TTFB: ",
    "stt_usage": r"^ScriptedSTTService#\d+ usage audio seconds: ",
    "llm_ttfb": r"^ScriptedLLMService#\d+ TTFB: ",
    "llm_processing_time": r"^ScriptedLLMService#\d+ processing time: ",
    "llm_usage": r"^ScriptedLLMService#\d+ prompt tokens: ",
    "llm_ttfat": r"^ScriptedLLMService#\d+ TTFAT: ",
    "tts_ttfb": r"^ScriptedTTSService#\d+ TTFB: ",
    "tts_processing_time": r"^ScriptedTTSService#\d+ processing time: ",
    "tts_usage": r"^ScriptedTTSService#\d+ usage characters: ",
    "tts_ttfa": r"^ScriptedTTSService#\d+ TTFA: ",
    "vad_user_started_speaking": r"^VADProcessor#\d+: User started speaking",
    "vad_user_stopped_speaking": r"^VADProcessor#\d+: User stopped speaking",
    "turn_user_started_speaking": r"^LLMUserAggregator#\d+: User started speaking",
    "turn_user_stopped_speaking": r"^LLMUserAggregator#\d+: User stopped speaking",
    "turn_inference_triggered": r"^LLMUserAggregator#\d+: User turn inference triggered",
}


def message_of(line: str) -> str:
    """The message part of a line in either style."""
    at = line.find(" - ", line.find(" | ", line.find(" | ") + 3))
    return line[at + 3 :] if at >= 0 else line


def collect_wordings(log: Path) -> dict:
    """Per kind of line: how many there are and the first one, verbatim."""
    found = {}
    for line in log.read_text().splitlines():
        message = message_of(re.sub(r"\x1b\[[0-9;]*m", "", line))
        for kind, pattern in LINE_KINDS.items():
            if re.search(pattern, message):
                entry = found.setdefault(kind, {"count": 0, "example": line})
                entry["count"] += 1
    return found


async def run_scenario(name: str, out_dir: Path) -> dict:
    sessions = []
    t0 = time.time() + 0.5
    base_ms = int(t0 * 1000)
    scenario = SCENARIOS[name]
    bot = scenario["bot"]
    for user, offset, delays in scenario["users"]:
        stream_id = f"client_{user}_{base_ms + int((offset or 0) * 1000)}"
        sessions.append(Session(user=user, stream_id=stream_id, delays=delays,
                                start_offset_s=offset or 0.0))
    logs = {
        "default": out_dir / f"{name}.default.log",
        "streamid": out_dir / f"{name}.streamid.log",
    }
    sinks = [
        logger.add(logs["default"], level="DEBUG", colorize=False, mode="w"),
        logger.add(logs["streamid"], level="DEBUG", colorize=False, mode="w", format=STREAMID_FORMAT),
    ]
    if scenario.get("colour"):
        # What `docker logs` shows of a container with a terminal: loguru's colours.
        logs["default_colour"] = out_dir / f"{name}.default-colour.log"
        sinks.append(logger.add(logs["default_colour"], level="DEBUG", colorize=True, mode="w"))
    try:
        if name == "sequential":
            first, second = sessions
            await run_session(first, t0, bot)
            second.stream_id = f"client_{second.user}_{int(time.time() * 1000) + 500}"
            second.start_offset_s = time.time() + 0.5 - t0
            await run_session(second, t0, bot)
        else:
            await asyncio.gather(*(run_session(s, t0, bot) for s in sessions))
    finally:
        for sink in sinks:
            logger.remove(sink)
    return {
        "name": name,
        "bot": bot,
        "logs": {style: path.name for style, path in logs.items()},
        "sessions": [
            {
                "user": s.user,
                "stream_id": s.stream_id,
                "delays": {"stt": s.delays.stt, "llm": s.delays.llm, "tts": s.delays.tts,
                           "llm_token_gap": s.delays.llm_token_gap},
                "connect_at": s.connect_at,
                "closed_at": s.closed_at,
                "greeting_first_audio_at": s.greeting_first_audio_at,
                "greeting_end_at": s.greeting_end_at,
                "turns": [t.__dict__ for t in s.turns],
            }
            for s in sessions
        ],
        "lines": {style: collect_wordings(path) for style, path in logs.items()},
    }


async def main(out_dir: Path, only: list[str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    # No console sink: the logs are the output. Lines outside any session get `streamId=-`.
    logger.remove()
    logger.configure(extra={"streamId": "-"})
    scenarios = [await run_scenario(name, out_dir) for name in (only or SCENARIOS)]
    manifest = {
        "generator": "scripts/pipecat_log_fixtures.py",
        "pipecat_version": importlib.metadata.version("pipecat-ai"),
        "python": sys.version.split()[0],
        # Log times are this machine's local wall clock: unix = log time - this offset.
        "log_utc_offset_s": time.localtime().tm_gmtoff,
        "log_level": "DEBUG",
        "pipeline_params": {"enable_metrics": True, "enable_usage_metrics": True},
        "formats": {"default": "loguru default", "streamid": STREAMID_FORMAT},
        "vad": {"analyzer": "SileroVADAnalyzer", "start_secs": 0.2, "stop_secs": 0.2},
        "reply_gap_s": REPLY_GAP_S,
        "scenarios": scenarios,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    out = Path(args[0]) if args and not args[0].startswith("-") else REPO / "tests/fixtures/logs/pipecat"
    only = [a for a in args[1:]] if len(args) > 1 else []
    asyncio.run(main(out, only))
