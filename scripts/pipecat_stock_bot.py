#!/usr/bin/env python3
"""A real pipecat-ai bot with pipecat's stock logging, for trying `voiceperf run --server-log`.

pipecat-ai 1.14's own WebSocket server transport (`SingleClientWebsocketServerTransport`, any
path, so `/ws/{stream_id}` works) with its protobuf serializer, a Silero `VADProcessor`, the
`LLMUserAggregator` with pipecat's default turn strategies, and the metrics of its STT, LLM and
TTS base classes (`PipelineParams(enable_metrics=True, enable_usage_metrics=True)`). Only the
three services are stand-ins (the ones of `scripts/pipecat_log_fixtures.py`: subclasses of
pipecat's base classes that answer after a set delay instead of calling a provider), so the
expected split is known: STT `--stt` s after the VAD stop, LLM TTFB `--llm` s, TTS TTFB `--tts` s.

Logging is pipecat's stock: loguru's default stderr sink and format at DEBUG, no stream id.
One client at a time (the transport serves a single client), so run bench with `--clients 1`.

Not run in CI. Usage:
    /work/pipecat-venv/bin/python scripts/pipecat_stock_bot.py --port 8765 > bot.log 2>&1 &
    voiceperf run --url 'ws://127.0.0.1:8765/ws/{stream_id}' --server-log bot.log \
        --raw-dir raw_recordings --audio-dir /tmp/audio --clients 1 --test-duration 30
"""

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipecat_log_fixtures import (  # noqa: E402  (the stand-in services)
    IN_RATE,
    OUT_RATE,
    ScriptedLLMService,
    ScriptedSTTService,
    ScriptedTTSService,
)
from pipecat.audio.vad.silero import SileroVADAnalyzer  # noqa: E402
from pipecat.frames.frames import LLMRunFrame  # noqa: E402
from pipecat.pipeline.pipeline import Pipeline  # noqa: E402
from pipecat.pipeline.worker import PipelineParams, PipelineWorker  # noqa: E402
from pipecat.processors.aggregators.llm_context import LLMContext  # noqa: E402
from pipecat.processors.aggregators.llm_response_universal import (  # noqa: E402
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.audio.vad_processor import VADProcessor  # noqa: E402
from pipecat.serializers.protobuf import ProtobufFrameSerializer  # noqa: E402
from pipecat.transports.websocket.server import (  # noqa: E402
    SingleClientWebsocketServerParams,
    SingleClientWebsocketServerTransport,
)
from pipecat.workers.runner import WorkerRunner  # noqa: E402


async def main(args: argparse.Namespace) -> None:
    transport = SingleClientWebsocketServerTransport(
        SingleClientWebsocketServerParams(
            serializer=ProtobufFrameSerializer(),
            audio_in_enabled=True,
            audio_out_enabled=True,
        ),
        host="127.0.0.1",
        port=args.port,
    )
    context = LLMContext([{"role": "system", "content": "You are a helpful voice assistant."}])
    aggregators = LLMContextAggregatorPair(context, user_params=LLMUserAggregatorParams())
    pipeline = Pipeline(
        [
            transport.input(),
            VADProcessor(vad_analyzer=SileroVADAnalyzer()),
            ScriptedSTTService(delay=args.stt, text="What can you tell me about latency?"),
            aggregators.user(),
            ScriptedLLMService(delay=args.llm, token_gap=0.02),
            ScriptedTTSService(delay=args.tts),
            transport.output(),
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

    @transport.event_handler("on_client_connected")
    async def on_client_connected(transport, websocket):
        # The bot greets each user as it connects.
        await worker.queue_frame(LLMRunFrame())

    runner = WorkerRunner()
    await runner.add_workers(worker)
    await runner.run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--stt", type=float, default=0.10, help="STT delay after the VAD stop (s)")
    parser.add_argument("--llm", type=float, default=0.30, help="LLM time to first token (s)")
    parser.add_argument("--tts", type=float, default=0.12, help="TTS time to first audio (s)")
    asyncio.run(main(parser.parse_args()))
