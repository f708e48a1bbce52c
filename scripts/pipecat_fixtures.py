#!/usr/bin/env python3
"""Write byte-exact pipecat protocol fixtures with pipecat's own implementation.

Every fixture is produced by pipecat-ai's ProtobufFrameSerializer (what a pipecat server puts
on the wire) or by its generated `frames_pb2` module (what a pipecat client builds), so the Rust
`voiceperf::protocol` module can be checked against the real thing: `tests/protocol_fixtures.rs`
decodes each file, compares the fields with `manifest.json`, and re-encodes it byte for byte.

Usage (not run in CI; the outputs are committed):
    python3 -m venv /tmp/pipecat-venv
    /tmp/pipecat-venv/bin/pip install -r scripts/pipecat-requirements.txt
    /tmp/pipecat-venv/bin/python scripts/pipecat_fixtures.py [tests/fixtures/protocol]
"""

import asyncio
import hashlib
import json
import math
import struct
import sys
from pathlib import Path

import pipecat
import pipecat.frames.protobufs.frames_pb2 as frames_pb2
from google.protobuf import __version__ as protobuf_version
from pipecat.audio.utils import pcm_to_wav
from pipecat.frames.frames import (
    InputAudioRawFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
    TextFrame,
    TranscriptionFrame,
)
from pipecat.serializers.protobuf import ProtobufFrameSerializer


def tone(sample_rate: int, ms: int, hz: float = 440.0, amplitude: int = 8000) -> bytes:
    """`ms` milliseconds of a sine tone as int16 little-endian PCM."""
    n = sample_rate * ms // 1000
    return b"".join(
        struct.pack("<h", int(round(amplitude * math.sin(2 * math.pi * hz * i / sample_rate))))
        for i in range(n)
    )


def describe(proto: frames_pb2.Frame) -> dict:
    """The decoded fields, as the Rust test expects them."""
    which = proto.WhichOneof("frame")
    inner = getattr(proto, which)
    fields = {}
    for field in inner.DESCRIPTOR.fields:
        if field.name == "pts":
            fields["pts"] = inner.pts if inner.HasField("pts") else None
            continue
        value = getattr(inner, field.name)
        if isinstance(value, bytes):
            fields["audio_len"] = len(value)
            fields["audio_sha256"] = hashlib.sha256(value).hexdigest()
            fields["audio_starts_with_riff"] = value.startswith(b"RIFF")
        else:
            fields[field.name] = value
    return {"kind": which, "fields": fields}


async def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    serializer = ProtobufFrameSerializer()
    fixtures = []

    async def from_serializer(name: str, frame, note: str) -> None:
        data = await serializer.serialize(frame)
        assert isinstance(data, bytes), f"{name}: serializer returned {type(data)}"
        add(name, data, "ProtobufFrameSerializer.serialize", note)

    def from_pb2(name: str, proto: frames_pb2.Frame, note: str) -> None:
        add(name, proto.SerializeToString(), "frames_pb2", note)

    def add(name: str, data: bytes, source: str, note: str, roundtrip: bool = True) -> None:
        proto = frames_pb2.Frame.FromString(data)
        (out_dir / f"{name}.bin").write_bytes(data)
        entry = {
            "file": f"{name}.bin",
            "source": source,
            "note": note,
            "len": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "roundtrip": roundtrip,
        }
        entry.update(describe(proto))
        fixtures.append(entry)

    # What a pipecat server sends: bot audio as the output transport builds it.
    pcm16 = tone(16000, 40)
    await from_serializer(
        "server_audio_16k",
        OutputAudioRawFrame(audio=pcm16, sample_rate=16000, num_channels=1),
        "40 ms bot audio chunk at 16 kHz (1280 bytes of PCM), as FastAPIWebsocketOutputTransport sends it",
    )
    pcm24 = tone(24000, 40, hz=220.0)
    await from_serializer(
        "server_audio_24k_wav",
        OutputAudioRawFrame(
            audio=pcm_to_wav(pcm24, 24000, 1), sample_rate=24000, num_channels=1
        ),
        "40 ms at 24 kHz wrapped with pipecat.audio.utils.pcm_to_wav (transport add_wav_header=True)",
    )
    await from_serializer(
        "server_audio_16k_wav",
        OutputAudioRawFrame(audio=pcm_to_wav(pcm16, 16000, 1), sample_rate=16000, num_channels=1),
        "40 ms at 16 kHz with add_wav_header: payload 1324 bytes",
    )
    await from_serializer(
        "text",
        TextFrame(text="Hello from pipecat \u2713 \u00e9t\u00e9"),
        "TextFrame with non-ASCII text",
    )
    await from_serializer(
        "transcription",
        TranscriptionFrame(
            text="what is the weather like today",
            user_id="client_3_1732700000000",
            timestamp="2026-11-27T10:04:52.167+00:00",
        ),
        "TranscriptionFrame with user id and ISO timestamp",
    )
    await from_serializer(
        "message_rtvi_bot_started_speaking",
        OutputTransportMessageFrame(message={"label": "rtvi-ai", "type": "bot-started-speaking"}),
        "RTVI message: the serializer json.dumps the dict into MessageFrame.data",
    )
    await from_serializer(
        "message_rtvi_metrics",
        OutputTransportMessageFrame(
            message={
                "label": "rtvi-ai",
                "type": "metrics",
                "data": {"ttfb": [{"processor": "NvidiaLLMService#0", "value": 0.3}]},
            }
        ),
        "RTVI metrics message, the kind a client may receive ~0.45 s after connecting",
    )
    await from_serializer(
        "interruption",
        InterruptionFrame(),
        "InterruptionFrame (field 5 of Frame; pipecat 1.14's frames.proto has it)",
    )

    # What a pipecat client builds with frames_pb2 (and what voiceperf bench sends).
    proto = frames_pb2.Frame()
    proto.audio.id = 7
    proto.audio.audio = tone(16000, 32)
    proto.audio.sample_rate = 16000
    proto.audio.num_channels = 1
    from_pb2("client_audio_id7", proto, "client chunk: id = sequence number 7, 32 ms at 16 kHz, no name")

    proto = frames_pb2.Frame()
    proto.audio.id = 2**63 + 5
    proto.audio.name = "InputAudioRawFrame#1"
    proto.audio.audio = tone(16000, 10)
    proto.audio.sample_rate = 16000
    proto.audio.num_channels = 1
    proto.audio.pts = 0
    from_pb2("client_audio_pts0_bigid", proto, "explicit pts = 0 (proto3 optional presence) and a 64-bit id")

    proto = frames_pb2.Frame()
    proto.audio.id = 1
    proto.audio.audio = tone(16000, 10)
    proto.audio.sample_rate = 16000
    proto.audio.num_channels = 1
    proto.audio.pts = 1_732_700_000_123_456_789
    from_pb2("client_audio_pts", proto, "pts set to a nanosecond timestamp")

    proto = frames_pb2.Frame()
    proto.audio.SetInParent()
    from_pb2("empty_audio", proto, "Frame.audio present but every field default: encodes as 0x12 0x00")

    proto = frames_pb2.Frame()
    proto.message.data = json.dumps({"label": "rtvi-ai", "type": "client-ready", "data": {}})
    from_pb2("client_message", proto, "client RTVI message")

    # Forward compatibility: a newer server's frame with fields this proto does not know.
    # pipecat's parser keeps them as unknown fields; voiceperf must skip them. Not byte-exact
    # after re-encoding (unknown fields are dropped), so roundtrip is false.
    known = frames_pb2.Frame()
    known.text.id = 3
    known.text.text = "hi"
    inner = known.text.SerializeToString() + bytes([0x78, 0x2A])  # field 15 varint 42
    data = bytes([0x0A, len(inner)]) + inner + bytes([0x4A, 0x02, 0x08, 0x01])  # Frame field 9
    parsed = frames_pb2.Frame.FromString(data)
    assert parsed.text.text == "hi" and parsed.text.id == 3
    add(
        "unknown_fields",
        data,
        "hand-built bytes, parsed by frames_pb2",
        "TextFrame with unknown field 15 plus an unknown Frame field 9; "
        "checked to parse with pipecat's frames_pb2",
        roundtrip=False,
    )

    # Check pipecat's own deserializer accepts what it will receive from clients.
    for name in ("client_audio_id7", "client_message"):
        frame = await serializer.deserialize((out_dir / f"{name}.bin").read_bytes())
        assert frame is not None, name
    audio = await serializer.deserialize((out_dir / "client_audio_id7.bin").read_bytes())
    assert isinstance(audio, InputAudioRawFrame) and audio.id == 7, audio

    manifest = {
        "generator": "scripts/pipecat_fixtures.py",
        "pipecat_ai": pipecat.__version__ if hasattr(pipecat, "__version__") else "1.14.0",
        "protobuf": protobuf_version,
        "fixtures": fixtures,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(fixtures)} fixtures to {out_dir}")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "tests/fixtures/protocol"
    asyncio.run(main(target))
