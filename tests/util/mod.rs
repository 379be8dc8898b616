//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Output of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `ecocorridor` with `args`.
pub fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ecocorridor"))
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `ecocorridor <cmd> <scenario> --out <out> --quiet`, the shape of most scenario commands.
#[allow(dead_code)] // not every test module uses it
pub fn run_quiet(cmd: &str, scenario: &Path, out: &Path) -> Run {
    run(&[
        cmd,
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ])
}

/// [`run_quiet`] on `threads` threads.
#[allow(dead_code)] // not every test module uses it
pub fn run_threads(cmd: &str, scenario: &Path, out: &Path, threads: &str) -> Run {
    run(&[
        cmd,
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads",
        threads,
        "--quiet",
    ])
}

/// Writes a small synthetic scenario folder into `dir` and returns the scenario path.
pub fn synth(dir: &Path, rows: u32, cols: u32, seed: u64) -> PathBuf {
    let r = run(&[
        "synth",
        "--rows",
        &rows.to_string(),
        "--cols",
        &cols.to_string(),
        "--seed",
        &seed.to_string(),
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "synth failed: {}", r.stderr);
    dir.join("scenario.toml")
}

/// Whether a GDAL command-line tool is available. In CI (CI set) it must be: setup installs it.
pub fn have_gdal() -> bool {
    let ok = Command::new("gdalinfo")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "gdalinfo missing in CI: scripts/setup.sh installs gdal-bin"
        );
        eprintln!("skipping: gdalinfo not installed (run `make setup`)");
    }
    ok
}

/// Runs a command and returns its stdout, panicking with stderr on failure.
pub fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether a test's prerequisite (shared test data, a privilege) is there. Outside CI a
/// missing one is skipped with the reason printed; under `CI=true` it fails the test, so a
/// test never counts as passed without having run.
pub fn prerequisite(ok: bool, what: &str) -> bool {
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{what} is needed in CI and is missing"
        );
        eprintln!("skipping: {what} is missing");
    }
    ok
}

/// `../shared/testdata` when present (see [`prerequisite`]).
pub fn shared_testdata() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata");
    prerequisite(p.exists(), "../shared/testdata").then_some(p)
}
