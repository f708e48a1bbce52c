#!/usr/bin/env python3
"""Write byte-exact telephony fixtures with pipecat's own serializers, codecs and runner utils.

Two kinds of message are written to tests/fixtures/telephony:

* the bot's side (bot -> provider): produced by pipecat-ai's TwilioFrameSerializer,
  TelnyxFrameSerializer (PCMU and PCMA), PlivoFrameSerializer, ExotelFrameSerializer and
  VonageFrameSerializer from an OutputAudioRawFrame of a known tone at a pipeline rate of 8 kHz
  and 16 kHz (every serialize() call recorded, None included: at 16 kHz pipecat's stream
  resampler holds audio back), from an InterruptionFrame (the clear message), and, for Twilio,
  from an OutputTransportMessageFrame carrying a mark (TwilioFrameSerializer emits no marks of
  its own; an app sends them as a transport message, which the serializer json.dumps as is);
* the provider's side (provider -> bot): the opening messages, caller audio `media` events
  (20 ms of G.711 8 kHz; Exotel 100 ms of 16-bit PCM 8 kHz; Vonage binary L16 16 kHz frames),
  Twilio's mark echo and the `stop` event, built here in each provider's documented shape with
  compact JSON (what voiceperf sends). Each is then fed to pipecat: the opening messages to
  `parse_telephony_websocket` through a minimal fake websocket (and each one to
  `_detect_transport_type_from_message`), the caller audio to the serializer's `deserialize` at
  pipeline rates 8 kHz and 16 kHz, and the results (transport type, call data, the PCM pipecat
  yields) are recorded in manifest.json.

It also dumps pipecat's G.711 conversions (pipecat.audio.utils uses the stdlib `audioop`,
`lin2ulaw`/`ulaw2lin`/`lin2alaw`/`alaw2lin`): all 256 codes decoded, and every 16-bit value
(-32768..32767 ascending, the "ramp") encoded, for `voiceperf::audio::g711`.

`tests/telephony_fixtures.rs` checks voiceperf's `protocol::telephony` against all of it. Where
pipecat resamples (pipeline rate != wire rate) it uses soxr's VHQ stream resampler, whose int16
output libsoxr dithers: those files change by +-1 LSB on every run and are compared within a
tolerance; everything else is reproducible byte for byte.

Usage (not run in CI; the outputs are committed):
    python3 -m venv /tmp/pipecat-venv
    /tmp/pipecat-venv/bin/pip install -r scripts/pipecat-requirements.txt
    /tmp/pipecat-venv/bin/python scripts/pipecat_telephony_fixtures.py [tests/fixtures/telephony]
"""

import asyncio
import audioop
import base64
import hashlib
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import pipecat
import soxr
from pipecat.frames.frames import (
    InputAudioRawFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
)
from pipecat.runner.utils import _detect_transport_type_from_message, parse_telephony_websocket
from pipecat.serializers.exotel import ExotelFrameSerializer
from pipecat.serializers.plivo import PlivoFrameSerializer
from pipecat.serializers.telnyx import TelnyxFrameSerializer
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.serializers.vonage import VonageFrameSerializer

PIPELINE_RATES = (8000, 16000)
# Caller audio: 10 frames (of 20 ms; Exotel's are 100 ms), enough for pipecat's stream
# resampler to emit.
CALLER_FRAMES = 10
CALLER_MS = 1000
# Bot audio at a pipeline rate other than the wire's: 10 chunks of 20 ms (the resampler emits
# only every ~5 chunks).
BOT_CHUNKS_RESAMPLED = 10

# Per-connection identity voiceperf's bench would send (one call); the Rust test rebuilds the
# provider's messages from these and must get the same bytes.
CALL = {
    "stream_id": "MZ00000000000000000000000000000001",
    "call_id": "CA00000000000000000000000000000001",
    "account_id": "AC00000000000000000000000000000001",
    "from": "+15550000001",
    "to": "+15559999999",
    "custom_parameters": [["user", "client_1"], ["session", "voiceperf-test"]],
    # Media timestamps count from here (ms); Plivo's are Unix milliseconds.
    "timestamp_base_ms": 0,
}
MARK_NAME = "bot-turn-1"


def tone(sample_rate: int, n: int, hz: float, amplitude: int = 8000) -> bytes:
    """`n` samples of a sine tone as int16 little-endian PCM."""
    return b"".join(
        struct.pack("<h", int(round(amplitude * math.sin(2 * math.pi * hz * i / sample_rate))))
        for i in range(n)
    )


def compact(obj) -> str:
    """A provider's JSON, as voiceperf writes it (serde_json: no spaces)."""
    return json.dumps(obj, separators=(",", ":"))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeWebSocket:
    """Just enough of a FastAPI WebSocket for parse_telephony_websocket: `iter_text()`."""

    def __init__(self, texts):
        self._texts = list(texts)
        self.consumed = 0

    def iter_text(self):
        ws = self

        class It:
            def __aiter__(self):
                return self

            async def __anext__(self):
                if ws.consumed >= len(ws._texts):
                    raise StopAsyncIteration
                ws.consumed += 1
                return ws._texts[ws.consumed - 1]

        return It()


class Setup:
    """The only FrameProcessorSetup field serializers read."""

    def __init__(self, rate: int):
        self.audio_in_sample_rate = rate


def serializer(provider: str, codec: str):
    """pipecat's serializer for `provider`, constructed as the runner does but without auto
    hang-up (which needs credentials and calls the provider's REST API on EndFrame)."""
    if provider == "twilio":
        return TwilioFrameSerializer(
            stream_sid=CALL["stream_id"],
            call_sid=CALL["call_id"],
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
        )
    if provider == "telnyx":
        # inbound_encoding = what the bot sends, outbound_encoding = what Telnyx sends.
        return TelnyxFrameSerializer(
            stream_id=CALL["stream_id"],
            outbound_encoding=codec.upper(),
            inbound_encoding=codec.upper(),
            call_control_id=CALL["call_id"],
            params=TelnyxFrameSerializer.InputParams(auto_hang_up=False),
        )
    if provider == "plivo":
        return PlivoFrameSerializer(
            stream_id=CALL["stream_id"],
            call_id=CALL["call_id"],
            params=PlivoFrameSerializer.InputParams(auto_hang_up=False),
        )
    if provider == "exotel":
        return ExotelFrameSerializer(stream_sid=CALL["stream_id"], call_sid=CALL["call_id"])
    if provider == "vonage":
        return VonageFrameSerializer()
    raise ValueError(provider)


# (provider, codec of the caller's and the bot's audio on the wire, wire rate, caller frame ms)
PROVIDERS = [
    ("twilio", "pcmu", 8000, 20),
    ("telnyx", "pcmu", 8000, 20),
    ("telnyx", "pcma", 8000, 20),
    ("plivo", "pcmu", 8000, 20),
    # Exotel streams ~100 ms per media event (developer.exotel.com, AgentStream protocol).
    ("exotel", "l16", 8000, 100),
    ("vonage", "l16", 16000, 20),
]


def encode(codec: str, pcm: bytes) -> bytes:
    return {"pcmu": lambda b: audioop.lin2ulaw(b, 2), "pcma": lambda b: audioop.lin2alaw(b, 2)}.get(
        codec, lambda b: b
    )(pcm)


class ProviderSide:
    """A provider's messages for one call, in its documented shape, numbered as it numbers
    them (the same state machine as voiceperf's `ProviderSession`)."""

    def __init__(self, provider: str, codec: str, frame_ms: int):
        self.provider = provider
        self.codec = codec
        self.frame_ms = frame_ms
        self.seq = 0  # last sequence number used
        self.chunk = 0  # media chunks sent

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def custom(self) -> dict:
        return {k: v for k, v in CALL["custom_parameters"]}

    def opening(self) -> list:
        p, c = self.provider, CALL
        if p == "twilio":
            return [
                compact({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
                compact(
                    {
                        "event": "start",
                        "sequenceNumber": str(self.next_seq()),
                        "start": {
                            "accountSid": c["account_id"],
                            "streamSid": c["stream_id"],
                            "callSid": c["call_id"],
                            "tracks": ["inbound"],
                            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                            "customParameters": self.custom(),
                        },
                        "streamSid": c["stream_id"],
                    }
                ),
            ]
        if p == "telnyx":
            return [
                compact({"event": "connected", "version": "1.0.0"}),
                compact(
                    {
                        "event": "start",
                        "sequence_number": str(self.next_seq()),
                        "start": {
                            "user_id": c["account_id"],
                            "call_control_id": c["call_id"],
                            "from": c["from"],
                            "to": c["to"],
                            "media_format": {"encoding": self.codec.upper(), "sample_rate": 8000, "channels": 1},
                            "custom_parameters": self.custom(),
                        },
                        "stream_id": c["stream_id"],
                    }
                ),
            ]
        if p == "plivo":
            return [
                compact(
                    {
                        "event": "start",
                        "sequenceNumber": self.next_seq(),
                        "start": {
                            "callId": c["call_id"],
                            "streamId": c["stream_id"],
                            "accountId": c["account_id"],
                            "tracks": ["inbound"],
                            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
                        },
                        "extra_headers": ";".join(f"{k}={v}" for k, v in CALL["custom_parameters"]),
                    }
                )
            ]
        if p == "exotel":
            return [
                compact({"event": "connected"}),
                compact(
                    {
                        "event": "start",
                        "sequence_number": str(self.next_seq()),
                        "stream_sid": c["stream_id"],
                        "start": {
                            "stream_sid": c["stream_id"],
                            "call_sid": c["call_id"],
                            "account_sid": c["account_id"],
                            "from": c["from"],
                            "to": c["to"],
                            "custom_parameters": self.custom(),
                            "media_format": {"encoding": "base64", "sample_rate": "8000", "bit_rate": "128kbps"},
                        },
                    }
                ),
            ]
        if p == "vonage":
            event = {"event": "websocket:connected", "content-type": "audio/l16;rate=16000"}
            event.update(self.custom())
            return [compact(event)]
        raise ValueError(p)

    def media(self, pcm: bytes):
        """One frame of caller audio (`pcm` at the wire rate)."""
        payload = encode(self.codec, pcm)
        b64 = base64.b64encode(payload).decode("ascii")
        p, c = self.provider, CALL
        timestamp = CALL["timestamp_base_ms"] + self.chunk * self.frame_ms
        self.chunk += 1
        if p == "twilio":
            return compact(
                {
                    "event": "media",
                    "sequenceNumber": str(self.next_seq()),
                    "media": {"track": "inbound", "chunk": str(self.chunk), "timestamp": str(timestamp), "payload": b64},
                    "streamSid": c["stream_id"],
                }
            )
        if p == "telnyx":
            return compact(
                {
                    "event": "media",
                    "sequence_number": str(self.next_seq()),
                    "media": {"track": "inbound", "chunk": str(self.chunk), "timestamp": str(timestamp), "payload": b64},
                    "stream_id": c["stream_id"],
                }
            )
        if p == "plivo":
            return compact(
                {
                    "event": "media",
                    "sequenceNumber": self.next_seq(),
                    "streamId": c["stream_id"],
                    "media": {"track": "inbound", "timestamp": str(timestamp), "chunk": self.chunk, "payload": b64},
                    "extra_headers": ";".join(f"{k}={v}" for k, v in CALL["custom_parameters"]),
                }
            )
        if p == "exotel":
            return compact(
                {
                    "event": "media",
                    "sequence_number": str(self.next_seq()),
                    "stream_sid": c["stream_id"],
                    "media": {"chunk": str(self.chunk), "timestamp": str(timestamp), "payload": b64},
                }
            )
        if p == "vonage":
            return payload  # a binary WebSocket message of raw L16
        raise ValueError(p)

    def mark(self, name: str) -> str:
        """Twilio's echo of a bot mark whose audio has been played."""
        assert self.provider == "twilio"
        return compact(
            {
                "event": "mark",
                "sequenceNumber": str(self.next_seq()),
                "streamSid": CALL["stream_id"],
                "mark": {"name": name},
            }
        )

    def stop(self):
        """The provider's end of stream; None where the provider just closes the socket (Plivo
        and Vonage send no stop event)."""
        p, c = self.provider, CALL
        if p == "twilio":
            return compact(
                {
                    "event": "stop",
                    "sequenceNumber": str(self.next_seq()),
                    "stop": {"accountSid": c["account_id"], "callSid": c["call_id"]},
                    "streamSid": c["stream_id"],
                }
            )
        if p == "telnyx":
            return compact(
                {
                    "event": "stop",
                    "sequence_number": str(self.next_seq()),
                    "stop": {"user_id": c["account_id"], "call_control_id": c["call_id"]},
                    "stream_id": c["stream_id"],
                }
            )
        if p == "exotel":
            return compact(
                {
                    "event": "stop",
                    "sequence_number": str(self.next_seq()),
                    "stream_sid": c["stream_id"],
                    "stop": {"call_sid": c["call_id"], "account_sid": c["account_id"], "reason": "callended"},
                }
            )
        return None


async def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    # Fixtures of an earlier run, so that nothing stale stays behind.
    for old in out_dir.iterdir():
        if old.is_file() and old.suffix in (".json", ".bin", ".pcm"):
            old.unlink()
    files = {}

    def write(name: str, data) -> str:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        assert name not in files, name
        (out_dir / name).write_bytes(raw)
        files[name] = {"len": len(raw), "sha256": sha(raw), "binary": not isinstance(data, str)}
        return name

    manifest = {
        "generator": "scripts/pipecat_telephony_fixtures.py",
        "pipecat_ai": pipecat.__version__ if hasattr(pipecat, "__version__") else "1.14.0",
        "python": sys.version.split()[0],
        "soxr": soxr.__version__,
        "numpy": np.__version__,
        "g711_library": "stdlib audioop (pipecat.audio.utils: lin2ulaw/ulaw2lin/lin2alaw/alaw2lin, width 2)",
        "resampler": (
            "pipecat.audio.utils.create_stream_resampler() = SOXRStreamAudioResampler: "
            "soxr.ResampleStream(quality='VHQ', dtype='int16'), one per direction per serializer, "
            "state cleared after 0.2 s without audio (resampler_clear_after_secs); "
            "returns the input unchanged when the rates are equal. It emits in bursts: at 16k->8k "
            "nothing for the first 5 chunks of 20 ms, then ~758 samples (~95 ms) every 4-5 chunks. "
            "Its int16 output is dithered by libsoxr, so it differs by +-1 LSB from run to run: the "
            "resampled fixtures are one realisation, never a byte-exact reference."
        ),
        "call": CALL,
        "mark_name": MARK_NAME,
    }

    # G.711 as pipecat converts it.
    codes = bytes(range(256))
    ramp = b"".join(struct.pack("<h", v) for v in range(-32768, 32768))
    manifest["g711"] = {
        "ramp": "every int16 value from -32768 to 32767 ascending, little-endian (not stored)",
        "ulaw_decode": write("g711_ulaw_decode.pcm", audioop.ulaw2lin(codes, 2)),
        "alaw_decode": write("g711_alaw_decode.pcm", audioop.alaw2lin(codes, 2)),
        "ulaw_encode": write("g711_ulaw_encode.bin", audioop.lin2ulaw(ramp, 2)),
        "alaw_encode": write("g711_alaw_encode.bin", audioop.lin2alaw(ramp, 2)),
    }

    # The tones: bot audio at each pipeline rate, caller audio at each wire rate.
    tones = {
        8000: write("tone_8k.pcm", tone(8000, 8000 * 200 // 1000, 440.0)),
        16000: write("tone_16k.pcm", tone(16000, 16000 * 200 // 1000, 440.0)),
    }
    caller_tones = {
        8000: write("caller_8k.pcm", tone(8000, 8000 * CALLER_MS // 1000, 300.0, 6000)),
        16000: write("caller_16k.pcm", tone(16000, 16000 * CALLER_MS // 1000, 300.0, 6000)),
    }
    manifest["tones"] = {
        "tone_8k.pcm": "200 ms of 440 Hz, amplitude 8000, at 8 kHz (bot audio)",
        "tone_16k.pcm": "200 ms of 440 Hz, amplitude 8000, at 16 kHz (bot audio)",
        "caller_8k.pcm": "1 s of 300 Hz, amplitude 6000, at 8 kHz (caller audio, from the start)",
        "caller_16k.pcm": "1 s of 300 Hz, amplitude 6000, at 16 kHz (Vonage caller audio)",
    }

    # The bot's side.
    bot = []
    for provider, codec, wire_rate, _ in PROVIDERS:
        tag = provider if provider != "telnyx" else f"telnyx_{codec}"
        for rate in PIPELINE_RATES:
            s = serializer(provider, codec)
            await s.setup(Setup(rate))
            pcm = (out_dir / tones[rate]).read_bytes()
            # At the wire's rate one 40 ms chunk (no resampling: the payload is exactly the
            # codec of the input); at another rate ten 20 ms chunks through pipecat's stream
            # resampler, which holds the first ~100 ms back.
            resampled = rate != wire_rate
            chunk = rate * (20 if resampled else 40) // 1000
            count = BOT_CHUNKS_RESAMPLED if resampled else 1
            chunks = []
            for i in range(count):
                frame = OutputAudioRawFrame(
                    audio=pcm[2 * i * chunk : 2 * (i + 1) * chunk], sample_rate=rate, num_channels=1
                )
                out = await s.serialize(frame)
                entry = {"input_samples": [i * chunk, (i + 1) * chunk], "file": None}
                if out is not None:
                    ext = "bin" if isinstance(out, bytes) else "json"
                    entry["file"] = write(f"{tag}_bot_media_{rate // 1000}k_{i}.{ext}", out)
                    if isinstance(out, bytes):
                        wire = out
                    else:
                        msg = json.loads(out)
                        wire = base64.b64decode(msg["media"]["payload"])
                    entry["payload_len"] = len(wire)
                    entry["payload_sha256"] = sha(wire)
                chunks.append(entry)
            bot.append(
                {
                    "provider": provider,
                    "codec": codec,
                    "wire_rate": wire_rate,
                    "pipeline_rate": rate,
                    "input": tones[rate],
                    "chunks": chunks,
                    "source": f"{type(s).__name__}.serialize(OutputAudioRawFrame)",
                }
            )
        s = serializer(provider, codec)
        await s.setup(Setup(8000))
        bot.append(
            {
                "provider": provider,
                "codec": codec,
                "kind": "clear",
                "file": write(f"{tag}_bot_clear.json", await s.serialize(InterruptionFrame())),
                "source": f"{type(s).__name__}.serialize(InterruptionFrame)",
            }
        )
        if provider == "twilio":
            mark = {"event": "mark", "streamSid": CALL["stream_id"], "mark": {"name": MARK_NAME}}
            bot.append(
                {
                    "provider": provider,
                    "codec": codec,
                    "kind": "mark",
                    "name": MARK_NAME,
                    "file": write("twilio_bot_mark.json", await s.serialize(OutputTransportMessageFrame(message=mark))),
                    "source": "TwilioFrameSerializer.serialize(OutputTransportMessageFrame): json.dumps of the "
                    "app's message; the serializer itself emits no marks",
                }
            )
    manifest["bot"] = bot

    # The provider's side.
    caller = []
    for provider, codec, wire_rate, frame_ms in PROVIDERS:
        tag = provider if provider != "telnyx" else f"telnyx_{codec}"
        side = ProviderSide(provider, codec, frame_ms)
        opening = side.opening()
        opening_files = [write(f"{tag}_open_{i}.json", m) for i, m in enumerate(opening)]
        pcm = (out_dir / caller_tones[wire_rate]).read_bytes()
        frame = wire_rate * frame_ms // 1000
        media = [side.media(pcm[2 * i * frame : 2 * (i + 1) * frame]) for i in range(CALLER_FRAMES)]
        media_files = [
            write(f"{tag}_caller_media_{i}.{'bin' if isinstance(m, bytes) else 'json'}", m)
            for i, m in enumerate(media)
        ]
        mark = side.mark(MARK_NAME) if provider == "twilio" else None
        mark_file = write(f"{tag}_caller_mark.json", mark) if mark else None
        stop = side.stop()
        stop_file = write(f"{tag}_caller_stop.json", stop) if stop is not None else None

        # What pipecat's runner makes of the start of the call. parse_telephony_websocket reads
        # two text messages; where the provider sends one opening message the second read takes
        # whatever comes next (a media event; Vonage's are binary, which iter_text cannot read).
        texts = opening + [m for m in media if isinstance(m, str)][:1]
        ws = FakeWebSocket(texts)
        transport_type, call_data = await parse_telephony_websocket(ws)
        detected = [_detect_transport_type_from_message(json.loads(m)) for m in opening]

        # What the serializer makes of the caller's audio and other events, per pipeline rate.
        deserialized = {}
        for rate in PIPELINE_RATES:
            s = serializer(provider, codec)
            await s.setup(Setup(rate))
            out, lens = b"", []
            for m in media:
                frame_out = await s.deserialize(m)
                if frame_out is None:
                    lens.append(0)
                    continue
                assert isinstance(frame_out, InputAudioRawFrame) and frame_out.sample_rate == rate
                out += frame_out.audio
                lens.append(len(frame_out.audio) // 2)
            others = {}
            for name, m in (("opening", opening), ("mark", [mark] if mark else []), ("stop", [stop] if stop else [])):
                others[name] = [None if (await s.deserialize(x)) is None else "frame" for x in m]
            deserialized[str(rate)] = {
                "pcm": write(f"{tag}_caller_pcm_{rate // 1000}k.pcm", out),
                "samples_per_message": lens,
                "other_messages": others,
            }
        caller.append(
            {
                "provider": provider,
                "codec": codec,
                "wire_rate": wire_rate,
                "frame_ms": frame_ms,
                "input": caller_tones[wire_rate],
                "opening": opening_files,
                "media": media_files,
                "mark": mark_file,
                "stop": stop_file,
                "detect_transport_type": detected,
                "parse_telephony_websocket": {
                    "messages_read": ws.consumed,
                    "transport_type": transport_type,
                    "call_data": call_data.model_dump(by_alias=True),
                },
                "deserialized": deserialized,
            }
        )
    manifest["caller"] = caller
    manifest["files"] = files
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(files)} files to {out_dir}")


if __name__ == "__main__":
    target = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parent.parent / "tests/fixtures/telephony"
    )
    asyncio.run(main(target))
