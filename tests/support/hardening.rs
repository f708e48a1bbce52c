//! Hardening tests: a counting global allocator (peak heap of a piece of
//! work), running the binary with a time and address-space bound, and small fixtures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting the bytes live now and the most live since the last reset.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        new
    }
}

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
    LARGEST.fetch_max(size, Ordering::Relaxed);
}

/// Serialises the measurements of one test binary (tests run on parallel threads).
pub static MEASURING: Mutex<()> = Mutex::new(());

/// Heap bytes at the peak of `work` above what was live when it started, and the largest
/// single allocation it made.
pub fn peak_heap<T>(work: impl FnOnce() -> T) -> (T, usize, usize) {
    let _guard = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    LARGEST.store(0, Ordering::Relaxed);
    let value = work();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (value, peak, LARGEST.load(Ordering::Relaxed))
}

/// The voiceperf binary of this build.
pub fn voiceperf() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_voiceperf"))
}

/// What a bounded run of the binary did.
pub struct Run {
    /// Its output (what was captured before it ended or was killed).
    pub output: Output,
    /// Whether it had to be killed at the time limit.
    pub timed_out: bool,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Run {
    /// Standard output as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Standard error as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// The exit status code (`None` when killed).
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
}

/// Runs `voiceperf args…` in `dir` with at most `limit` of wall time and 4 GB of address
/// space (so a defect that reads without bound fails the test instead of the machine).
pub fn run_bounded(dir: &Path, args: &[&str], limit: Duration) -> Run {
    let mut script = String::from("ulimit -v 4000000; exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(script)
        .arg(voiceperf())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().expect("starting voiceperf");
    let mut timed_out = false;
    loop {
        if child.try_wait().expect("waiting for voiceperf").is_some() {
            break;
        }
        if started.elapsed() > limit {
            timed_out = true;
            eprintln!("timed out: {}", where_stuck(child.id()));
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("collecting the output");
    Run {
        output,
        timed_out,
        elapsed: started.elapsed(),
    }
}

/// What each thread of process `pid` waits in (from /proc), for the message of a hang.
pub fn where_stuck(pid: u32) -> String {
    let mut out = String::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let read = |name: &str| std::fs::read_to_string(task.path().join(name)).unwrap_or_default();
        out.push_str(&format!(
            "[{} {} {}] ",
            read("comm").trim(),
            read("wchan").trim(),
            read("syscall").split_whitespace().next().unwrap_or("")
        ));
    }
    out
}

/// Folder of the committed audio fixtures.
pub fn audio_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio")
}

/// Makes a named pipe at `path`.
pub fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Makes a file of `len` bytes that occupies no disk (holes), starting with `head`.
pub fn sparse_file(path: &Path, head: &[u8], len: u64) {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).unwrap();
    file.write_all(head).unwrap();
    file.set_len(len).unwrap();
}
