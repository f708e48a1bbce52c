#!/usr/bin/env python3
"""Generate a realistic NVIDIA-pipecat agent log for benchmarking `voiceperf analyze`.

Several benchmark runs follow each other in one log (so the last-client-start window matters);
in each, many clients connect staggered and talk in interleaved turns. Every turn writes the
metric lines the analyzer reads (ASR compute latency, the ASR's own TTFB, LLM TTFB, TTFAT,
first sentence time, tokens, processing times, TTS TTFB) among the DEBUG noise a real pipeline
logs (speaking events, frames, generated text, RTVI messages), plus the odd traceback and
uvicorn access line. Deterministic for a given --seed.

Usage: gen_analyze_log.py --size-mb 1024 --out big.log [--clients 64] [--docker] [--seed 1]
"""

import argparse
import datetime
import random
import sys

NOISE = [
    "pipecat.transports.base_input:_handle_user_interruption:180 | streamId={s} - User started speaking",
    "pipecat.transports.base_input:_handle_user_interruption:190 | streamId={s} - User stopped speaking",
    "pipecat.processors.frameworks.rtvi:_handle_message:612 | streamId={s} - RTVI message: {{\"label\": \"rtvi-ai\", \"type\": \"user-transcription\", \"data\": {{\"text\": \"what is the weather like today in the city\", \"final\": true}}}}",
    "pipecat.services.openai.base_llm:_stream_chat_completions:170 | streamId={s} - NvidiaLLMService#{n}: Generating chat [[{{'role': 'system', 'content': 'You are a helpful voice assistant. Keep answers short.'}}, {{'role': 'user', 'content': 'what is the weather like today'}}]]",
    "pipecat.services.riva.tts:run_tts:140 | streamId={s} - RivaTTSService#{n}: Generating TTS [It looks sunny with a light breeze this afternoon.]",
    "pipecat.processors.frame_processor:push_frame:420 | streamId={s} - BotStartedSpeakingFrame#{f} pushed downstream from OutputTransport#{n}",
    "pipecat.processors.frame_processor:push_frame:420 | streamId={s} - BotStoppedSpeakingFrame#{f} pushed downstream from OutputTransport#{n}",
    "pipecat.pipeline.task:_process_push_queue:310 | streamId={s} - PipelineTask#{n}: heartbeat frame received after 0.0{d}s",
    "pipecat.services.riva.stt:_response_handler:255 | streamId={s} - RivaASRService#{n} interim transcription: what is the wea",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=1024)
    ap.add_argument("--out", required=True)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3, help="benchmark runs in the log")
    ap.add_argument("--docker", action="store_true", help="docker compose prefix + ANSI colours")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    target = int(args.size_mb * 1_000_000)
    per_run = target // args.runs
    t = datetime.datetime(2026, 11, 27, 9, 0, 0)
    written = 0
    frame = 1000
    prefix = "\x1b[36mpython-app-1  |\x1b[0m " if args.docker else ""

    with open(args.out, "w", buffering=1 << 22) as out:
        buf = []

        def emit(level: str, rest: str) -> None:
            nonlocal t, written
            t += datetime.timedelta(microseconds=rng.randint(100, 3000))
            ts = t.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (t.microsecond // 1000)
            line = f"{prefix}{ts} | {level:<8} | {rest}\n"
            buf.append(line)
            written += len(line)
            if len(buf) >= 4096:
                out.write("".join(buf))
                buf.clear()

        for run in range(args.runs):
            run_end = per_run * (run + 1)
            base_ms = 1_800_000_000_000 + run * 10_000_000
            streams = [f"client_{i}_{base_ms + i * 1000}" for i in range(args.clients)]
            for i, s in enumerate(streams):
                emit("INFO", f"__main__:websocket_endpoint:439 | streamId={s} - Accepting WebSocket connection for stream ID {s}")
                buf.append(f'INFO:     127.0.0.1:{40000 + i} - "WebSocket /ws/{s}" [accepted]\n')
            while written < run_end:
                i = rng.randrange(args.clients)
                s = streams[i]
                m = "pipecat.processors.metrics.frame_processor_metrics:log:88 | streamId=" + s + " - "
                frame += 1
                for _ in range(rng.randint(8, 16)):
                    emit("DEBUG", rng.choice(NOISE).format(s=s, n=i, f=frame, d=rng.randint(1, 9)))
                emit("DEBUG", f"{m}RivaASRService#{i} ASR compute latency: {rng.uniform(0.02, 0.12):.3f}")
                emit("DEBUG", f"{m}RivaASRService#{i} TTFB: {rng.uniform(0.3, 0.9):.3f}s")
                emit("DEBUG", f"{m}NvidiaLLMService#{i} TTFB: {rng.uniform(0.15, 0.9):.3f}s")
                emit("DEBUG", f"{m}NvidiaLLMService#{i} TTFAT: {rng.uniform(0.15, 0.9):.3f}s (0.000s thinking)")
                emit("DEBUG", f"{m}NvidiaLLMService#{i} LLM first sentence generation time: {rng.uniform(0.2, 1.2):.3f}")
                emit("DEBUG", f"{m}NvidiaLLMService#{i} prompt tokens: {rng.randint(20, 900)}, completion tokens: {rng.randint(5, 80)}")
                emit("DEBUG", f"{m}NvidiaLLMService#{i} processing time: {rng.uniform(0.3, 2.0):.3f}s")
                emit("DEBUG", f"{m}RivaTTSService#{i} TTFB: {rng.uniform(0.05, 0.4):.3f}")
                emit("DEBUG", f"{m}RivaTTSService#{i} processing time: {rng.uniform(0.06, 0.5):.3f}")
                for _ in range(rng.randint(4, 10)):
                    emit("DEBUG", rng.choice(NOISE).format(s=s, n=i, f=frame, d=rng.randint(1, 9)))
                if rng.random() < 0.002:
                    buf.append("Traceback (most recent call last):\n  File \"bot.py\", line 77, in run\nConnectionResetError: [Errno 104] Connection reset by peer\n")
            for s in streams:
                emit("INFO", f"__main__:websocket_endpoint:470 | streamId={s} - Client disconnected")
        out.write("".join(buf))
    print(f"wrote {written / 1e6:.0f} MB to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
