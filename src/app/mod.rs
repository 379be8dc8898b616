//! The application layer: the scenario pipeline as a library ([`pipeline`]), with progress,
//! timing and limits carried by a [`Context`] passed in (no process-wide state), so the
//! command line, batch runs and plan measurement all call the same stages in the same order.
//!
//! Messages go to standard error through [`Context::say`], which never fails: a closed pipe
//! (`ecocorridor run s.toml 2>&1 | head -2`) loses the messages, never the run.

pub mod assess;
pub mod init;
pub mod pipeline;
pub mod run;
pub mod tools;

use std::fmt;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::Instant;

/// A memory size (`--max-memory`) that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SizeError {
    /// The number part is not a number.
    #[error("`{0}` is not a size; write e.g. 8G or 500M")]
    NotANumber(String),
    /// The unit is not K, M, G or T.
    #[error("`{0}`: unknown unit; write e.g. 8G or 500M")]
    Unit(String),
}

/// `8G`, `8GB`, `8GiB`, `500M`, `1T` or a number of bytes (K, M, G, T are powers of 1024).
///
/// # Errors
/// Not a number, or an unknown unit.
pub fn parse_size(text: &str) -> std::result::Result<u64, SizeError> {
    let t = text.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let v: f64 = num
        .parse()
        .map_err(|_| SizeError::NotANumber(text.into()))?;
    let mult = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(SizeError::Unit(text.into())),
    };
    Ok((v * mult) as u64)
}

/// How a run reports its progress and which limits it keeps.
#[derive(Debug, Default)]
pub struct Context {
    /// Print nothing but errors.
    pub quiet: bool,
    /// Also print each stage's peak memory and the MILP solver's log.
    pub verbose: bool,
    /// Refuse a scenario whose estimated peak memory is above this, bytes.
    pub max_memory: Option<u64>,
    /// Seconds per stage, in order.
    times: Mutex<Vec<(String, f64)>>,
}

impl Context {
    /// A context with these settings and no stage timed yet.
    pub fn new(quiet: bool, verbose: bool, max_memory: Option<u64>) -> Context {
        Context {
            quiet,
            verbose,
            max_memory,
            times: Mutex::new(Vec::new()),
        }
    }

    /// A silent context (library use, tests).
    pub fn silent() -> Context {
        Context::new(true, false, None)
    }

    /// A line on standard error unless quiet; write errors (a closed pipe) are ignored.
    pub fn say(&self, args: fmt::Arguments) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{args}");
        }
    }

    /// A line on standard error even when quiet (fatal problems); never fails.
    pub fn shout(&self, args: fmt::Arguments) {
        let _ = writeln!(std::io::stderr(), "{args}");
    }

    /// Runs one stage: a spinner on standard error while it runs (only on a terminal, never
    /// when quiet), then `stage: x s` (with the peak memory when verbose); the time is
    /// recorded for `run.json`.
    ///
    /// # Errors
    /// The stage's own error.
    pub fn stage<T>(&self, what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
        let t0 = Instant::now();
        let spinner =
            (!self.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
                let pb = indicatif::ProgressBar::new_spinner();
                pb.set_message(format!("{what}..."));
                pb.enable_steady_tick(std::time::Duration::from_millis(120));
                pb
            });
        let r = f();
        if let Some(pb) = spinner {
            pb.finish_and_clear();
        }
        let r = r?;
        let secs = t0.elapsed().as_secs_f64();
        if let Ok(mut t) = self.times.lock() {
            t.push((what.to_string(), secs));
        }
        match (self.verbose, peak_memory_bytes()) {
            (true, Some(b)) => self.say(format_args!(
                "{what}: {secs:.2} s (peak memory so far {:.0} MB)",
                b as f64 / 1e6
            )),
            _ => self.say(format_args!("{what}: {secs:.2} s")),
        }
        Ok(r)
    }

    /// The stage times recorded so far, in order.
    pub fn stage_times(&self) -> Vec<(String, f64)> {
        self.times.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// Peak resident memory of this process, bytes (Linux; None elsewhere).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_binary_units() {
        assert_eq!(parse_size("8G").unwrap(), 8 << 30);
        assert_eq!(parse_size("500MB").unwrap(), 500 << 20);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(matches!(parse_size("lots"), Err(SizeError::NotANumber(_))));
        assert!(matches!(parse_size("8X"), Err(SizeError::Unit(_))));
    }

    #[test]
    fn stages_are_timed_in_order_and_errors_pass_through() {
        let ctx = Context::silent();
        assert_eq!(ctx.stage("a", || Ok(1)).unwrap(), 1);
        let e = ctx.stage("b", || -> anyhow::Result<u8> { anyhow::bail!("bad") });
        assert_eq!(e.unwrap_err().to_string(), "bad");
        ctx.stage("c", || Ok(())).unwrap();
        let names: Vec<String> = ctx.stage_times().into_iter().map(|t| t.0).collect();
        assert_eq!(names, ["a", "c"]);
    }
}
