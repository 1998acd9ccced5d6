//! What each input is held to: no panic, a time limit, and an allocation cap.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cap on one allocation while an input is read: the file's own size
/// (a tensor is at most the file) eight times over (q4_0 → f32 is 7.1×),
/// plus 64 MiB for the model's working memory.
pub fn allocation_cap(input_len: usize) -> usize {
    input_len.saturating_mul(8) + (64 << 20)
}

/// How one input ended.
pub enum Outcome {
    Accepted,
    Refused,
    Panicked(String),
}

pub struct Checked {
    pub outcome: Outcome,
    pub elapsed: Duration,
    pub largest_allocation: usize,
}

static PANIC_MESSAGE: Mutex<String> = Mutex::new(String::new());
static RUNNING_SINCE_MS: AtomicU64 = AtomicU64::new(0);
static WATCHING: AtomicBool = AtomicBool::new(false);

/// Panics are caught per input, quietly: their message is kept for the report.
pub fn install(time_limit: Duration, started: Instant) {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if RUNNING_SINCE_MS.load(Ordering::SeqCst) == 0 || std::env::var("FUZZ_TRACE").is_ok() {
            // Not an input's: the harness itself failed.
            eprintln!("{info}");
        }
        *PANIC_MESSAGE.lock().unwrap_or_else(|e| e.into_inner()) = format!("{info}{at}");
    }));
    if WATCHING.swap(true, Ordering::SeqCst) {
        return;
    }
    // An input that runs past the limit cannot be stopped from inside: the
    // watchdog ends the run and says so (a hang is a failure, like a panic).
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(100));
        let since = RUNNING_SINCE_MS.load(Ordering::SeqCst);
        let now = started.elapsed().as_millis() as u64 + 1;
        if since != 0 && now - since > time_limit.as_millis() as u64 {
            eprintln!(
                "fuzz: an input ran longer than {} ms: a hang (see the last input written)",
                time_limit.as_millis()
            );
            std::process::exit(3);
        }
    });
}

/// Runs `check` on one input under the guards.
pub fn run(started: Instant, check: impl FnOnce() -> Result<(), String>) -> Checked {
    worker::memory::reset_largest();
    RUNNING_SINCE_MS.store(started.elapsed().as_millis() as u64 + 1, Ordering::SeqCst);
    let begun = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(check));
    let elapsed = begun.elapsed();
    RUNNING_SINCE_MS.store(0, Ordering::SeqCst);
    let outcome = match result {
        Ok(Ok(())) => Outcome::Accepted,
        Ok(Err(_)) => Outcome::Refused,
        Err(_) => Outcome::Panicked(
            PANIC_MESSAGE
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        ),
    };
    Checked {
        outcome,
        elapsed,
        largest_allocation: worker::memory::largest_allocation(),
    }
}
