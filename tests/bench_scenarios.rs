//! Barge-in scenarios of `voiceperf bench` against the real `voiceperf agent` on 127.0.0.1
//! (port 0): interruptions stop the built-in agent's reply within its VAD start threshold
//! (checked per event against its interruption truth lines), sounds below the threshold never
//! stop it, `--no-interruptions` makes every barge-in fail, and the agent's RTVI metrics give
//! the per-service TTFBs it was configured with.

mod support;

use std::time::Duration;

use support::agent::{LLM_TTFB_S, TTS_TTFB_S};
use support::bench::Fixture;
use voiceperf::Outcome;
use voiceperf::agent::{self, AgentOptions};
use voiceperf::bench::output::summary_text;
use voiceperf::bench::scenario::BargeInAfter;
use voiceperf::bench::{BenchOptions, BenchReport, Stop, bench};
use voiceperf::runfolder::results::{Scenario, StopSignal, TurnKind, TurnRecord};
use voiceperf::runfolder::{MARKDOWN_FILE, REPORT_FILE, TURNS_CSV_FILE, read_client_files};
use voiceperf::term::Painter;

/// Chunk bench sends (32 ms) plus one VAD frame (20 ms): how much later than the speech onset
/// the agent can hear its start run begin, at most.
const HEARING_SLACK_S: f64 = 0.032 + 0.020;

/// The agent with its built-in 2.4 s reply (long enough that a reply never ends by itself
/// within the stop limit after a barge-in at 0.4–0.8 s) and a VAD start of `vad_start_ms`.
fn agent_options(fx: &Fixture, vad_start_ms: u32) -> AgentOptions {
    AgentOptions {
        reply: None,
        vad_start_ms,
        ..fx.agent_options()
    }
}

fn scenario_options(fx: &Fixture, agent: &agent::AgentHandle, scenario: Scenario) -> BenchOptions {
    BenchOptions {
        clients: vec![2],
        test_duration: Duration::from_secs(9),
        scenario,
        seed: Some(11),
        barge_in_after: BargeInAfter::Range(0.4, 0.8),
        ..fx.bench_options(agent)
    }
}

fn events(run: &BenchReport, kind: TurnKind) -> Vec<TurnRecord> {
    read_client_files(&run.dir)
        .unwrap()
        .clients
        .into_iter()
        .flat_map(|c| c.turns)
        .filter(|t| t.kind == kind && t.in_window)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interruptions_stop_within_the_vad_start_threshold_and_match_the_agent() {
    let fx = Fixture::new(&[(1.0, 0.3), (0.8, 0.3)]);
    let vad_start = 0.2;
    let agent = agent::start(agent_options(&fx, 200)).await.unwrap();
    let options = scenario_options(&fx, &agent, Scenario::Interrupt);
    let run = bench(&options, &Stop::new()).await.unwrap();
    let truth = agent.interruptions();
    agent.shutdown().await.unwrap();
    assert_eq!(run.outcome, Outcome::Success, "{:?}", run.problems);

    let summary = &run.levels[0].summary;
    let interruptions = summary
        .results
        .interruptions
        .as_ref()
        .expect("interruptions");
    assert!(interruptions.count >= 2, "{interruptions:?}");
    assert_eq!(
        interruptions.stopped, interruptions.count,
        "{interruptions:?}"
    );
    assert_eq!(interruptions.success_rate, Some(1.0));
    let p95 = interruptions.stop_latency.as_ref().unwrap().p95;
    assert!(p95 <= vad_start + HEARING_SLACK_S + 0.02, "p95 {p95}");

    let turns = events(&run, TurnKind::Interrupt);
    assert_eq!(turns.len(), interruptions.count);
    for turn in &turns {
        let stop = &turn.interruption.as_ref().unwrap().stop;
        let latency = stop.stop_latency_s.unwrap();
        // The agent cannot stop before its VAD accepted the speech (the start threshold minus
        // the synthetic voice's attack), nor long after.
        assert!(
            (0.1..=vad_start + HEARING_SLACK_S + 0.02).contains(&latency),
            "stop latency {latency}: {stop:?}"
        );
        assert_eq!(stop.signal, Some(StopSignal::Interruption), "{stop:?}");
        assert_eq!(stop.talk_over_ms, Some(0.0), "{stop:?}");
        // The agent's interruption truth line for this event: bench's intervals from the chunk
        // where the agent heard the speech start agree with the agent's own within a few ms.
        let view = stop
            .agent
            .as_ref()
            .expect("matched to an interruption truth line");
        assert!(
            truth
                .iter()
                .any(|t| t.truth.speech_start_frame_id == view.speech_start_frame_id),
            "{view:?}"
        );
        assert!((view.agent_signal_s - vad_start).abs() < 0.045, "{view:?}");
        let signal = view.signal_difference_ms.unwrap();
        let last = view.last_frame_difference_ms.unwrap();
        assert!(signal.abs() < 15.0 && last.abs() < 15.0, "{view:?}");
        // The reply to the interrupting query was measured, from its own speech end.
        assert!(turn.latency_s.is_some_and(|l| l > 0.3), "{turn:?}");
    }
    let agreement = summary.agent_agreement.as_ref().unwrap();
    assert_eq!(agreement.matched_stops, interruptions.count);

    // Every event is in turns.csv with its kind and stop latency, on the console, in
    // summary.md and in the report's timeline strip.
    let csv = std::fs::read_to_string(run.dir.join(TURNS_CSV_FILE)).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let kind = header.iter().position(|c| *c == "kind").unwrap();
    let stop = header.iter().position(|c| *c == "stop_latency_s").unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let interrupt_rows: Vec<&Vec<&str>> = rows.iter().filter(|r| r[kind] == "interrupt").collect();
    assert!(interrupt_rows.len() >= interruptions.count);
    assert!(
        interrupt_rows
            .iter()
            .all(|r| r[stop].parse::<f64>().is_ok())
    );
    let console = summary_text(summary, &run.dir, Painter::plain());
    assert!(
        console.contains(&format!(
            "{} interruption(s): {} stopped",
            interruptions.count, interruptions.count
        )) && console.contains("stop latency"),
        "{console}"
    );
    voiceperf::report::render_folder(&run.dir).unwrap();
    let markdown = std::fs::read_to_string(run.dir.join(MARKDOWN_FILE)).unwrap();
    assert!(markdown.contains("| stop latency |"), "{markdown}");
    assert!(markdown.contains("*stop latency*: onset"), "the definition");
    let html = std::fs::read_to_string(run.dir.join(REPORT_FILE)).unwrap();
    assert!(html.contains(r#"id="barge-in-strip""#) && html.contains("class=\"tl-stop\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distractors_below_the_start_threshold_never_stop_the_reply() {
    let fx = Fixture::new(&[(1.0, 0.3), (0.8, 0.3)]);
    // The built-in sounds are 10 ms, 100 ms and 350 ms long: all below a 500 ms start. (Not
    // below 400 ms: the WebRTC VAD's hangover holds "speech" some 70 ms past the 330 ms of the
    // backchannel, and the agent then rightly takes it for a turn.)
    let agent = agent::start(agent_options(&fx, 500)).await.unwrap();
    let options = BenchOptions {
        max_false_stop_rate: Some(0.0),
        min_turns: 1,
        ..scenario_options(&fx, &agent, Scenario::Distractor)
    };
    let run = bench(&options, &Stop::new()).await.unwrap();
    let counters = agent.counters();
    agent.shutdown().await.unwrap();
    assert_eq!(run.outcome, Outcome::Success, "{:?}", run.problems);
    let distractors = run.levels[0].summary.results.distractors.as_ref().unwrap();
    assert!(distractors.count >= 2, "{distractors:?}");
    assert_eq!(distractors.false_stops, 0, "{distractors:?}");
    assert_eq!(distractors.false_stop_rate, Some(0.0));
    assert_eq!(distractors.spurious_replies, 0);
    assert_eq!(counters.interruptions, 0);
    for turn in events(&run, TurnKind::Distractor) {
        let d = turn.distractor.as_ref().unwrap();
        assert!(d.sound.starts_with("builtin:"), "{d:?}");
        assert!(!d.stop.stopped && d.stop.signal.is_none(), "{d:?}");
        // The reply went on well past the limit after the sound.
        assert!(d.stop.stop_latency_s.unwrap() > 1.0, "{d:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_interruptions_every_barge_in_fails_to_stop() {
    let fx = Fixture::new(&[(1.0, 0.3), (0.8, 0.3)]);
    let agent_options = AgentOptions {
        interruptions: false,
        ..agent_options(&fx, 200)
    };
    let agent = agent::start(agent_options).await.unwrap();
    let options = BenchOptions {
        fail_stop_p95: Some(5.0),
        min_turns: 1,
        ..scenario_options(&fx, &agent, Scenario::Interrupt)
    };
    let run = bench(&options, &Stop::new()).await.unwrap();
    agent.shutdown().await.unwrap();
    // Barge-ins that never stopped fail --fail-stop-p95 whatever its limit (exit 3).
    assert_eq!(run.outcome, Outcome::GateFailed, "{:?}", run.problems);
    assert!(
        run.sweep
            .gate_failures
            .iter()
            .any(|g| g.contains("did not stop")),
        "{:?}",
        run.sweep.gate_failures
    );
    let interruptions = run.levels[0].summary.results.interruptions.clone().unwrap();
    assert!(interruptions.count >= 1, "{interruptions:?}");
    assert_eq!(interruptions.stopped, 0, "{interruptions:?}");
    assert_eq!(interruptions.success_rate, Some(0.0));
    assert_eq!(interruptions.signalled, 0);
    for turn in events(&run, TurnKind::Interrupt) {
        let stop = &turn.interruption.as_ref().unwrap().stop;
        assert!(!stop.stopped, "{stop:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtvi_metrics_give_the_agents_configured_ttfbs_per_turn() {
    let fx = Fixture::new(&[(1.0, 0.3), (0.8, 0.3)]);
    let agent_options = AgentOptions {
        rtvi: true,
        ..fx.agent_options()
    };
    let agent = agent::start(agent_options).await.unwrap();
    let options = BenchOptions {
        wire: voiceperf::bench::wire::Wire::Pipecat { rtvi: true },
        test_duration: Duration::from_secs(5),
        ..fx.bench_options(&agent)
    };
    let run = bench(&options, &Stop::new()).await.unwrap();
    agent.shutdown().await.unwrap();
    assert_eq!(run.outcome, Outcome::Success, "{:?}", run.problems);
    let turns = events(&run, TurnKind::Turn);
    assert!(!turns.is_empty());
    for turn in turns.iter().filter(|t| t.latency_s.is_some()) {
        let m = turn
            .agent_metrics
            .as_ref()
            .expect("RTVI metrics for the turn");
        assert_eq!(m.llm_ttfb_s, Some(LLM_TTFB_S), "{m:?}");
        assert_eq!(m.tts_ttfb_s, Some(TTS_TTFB_S), "{m:?}");
        assert!(m.asr_ttfb_s.is_some(), "{m:?}");
        // The agent decided the turn ended its VAD stop (300 ms) after the speech end, give or
        // take a chunk.
        let wait = m.vad_wait_s.unwrap();
        assert!((0.25..0.4).contains(&wait), "vad wait {wait}");
    }
    let summary = run.levels[0]
        .summary
        .results
        .agent_metrics
        .as_ref()
        .unwrap();
    assert!((summary.llm_ttfb.as_ref().unwrap().p50 - LLM_TTFB_S).abs() < 1e-9);
    assert!((summary.tts_ttfb.as_ref().unwrap().p95 - TTS_TTFB_S).abs() < 1e-9);
    assert!(summary.vad_wait.is_some());
}

/// Over a phone wire the agent's interruption is a `clear`: bench flushes its playback, so the
/// reply to the interrupting query is a new reply (not talk-over of the old one) and is measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telephony_barge_in_stops_on_clear_and_the_next_reply_is_measured() {
    use voiceperf::protocol::Protocol;
    use voiceperf::protocol::telephony::Provider;
    let fx = Fixture::new(&[(1.0, 0.3), (0.8, 0.3)]);
    let protocol = Protocol::Telephony(Provider::Twilio);
    let agent = agent::start(AgentOptions {
        protocol,
        ..agent_options(&fx, 200)
    })
    .await
    .unwrap();
    let options = BenchOptions {
        wire: voiceperf::bench::wire::Wire::for_protocol(protocol, Vec::new()),
        chunk_ms: 20,
        ..scenario_options(&fx, &agent, Scenario::Interrupt)
    };
    let run = bench(&options, &Stop::new()).await.unwrap();
    agent.shutdown().await.unwrap();
    assert_eq!(run.outcome, Outcome::Success, "{:?}", run.problems);
    let turns = events(&run, TurnKind::Interrupt);
    assert!(!turns.is_empty());
    for turn in &turns {
        let stop = &turn.interruption.as_ref().unwrap().stop;
        assert!(stop.stopped, "{stop:?}");
        assert_eq!(stop.signal, Some(StopSignal::Interruption), "{stop:?}");
        let latency = stop.stop_latency_s.unwrap();
        assert!((0.1..=0.2 + 0.04 + 0.02).contains(&latency), "{stop:?}");
        assert_eq!(stop.talk_over_ms, Some(0.0), "{stop:?}");
        assert!(turn.latency_s.is_some_and(|l| l > 0.3), "{turn:?}");
    }
}
