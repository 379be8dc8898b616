use crate::util::{run, synth};

#[test]
fn validate_accepts_synth_output_and_prints_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 90, 120, 3);
    let r = run(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        "grid: 120 x 90 cells (cols x rows), 30 m",
        "EPSG:4545",
        "area by land-cover class:",
        "103 dry land 旱地",
        "zones:",
        "生态保护红线",
        "districts:",
        "ok: scenario",
    ] {
        assert!(
            r.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            r.stdout
        );
    }
}

#[test]
fn synth_is_byte_identical_across_runs_and_thread_counts() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ra = run(&[
        "synth",
        "--rows",
        "70",
        "--cols",
        "50",
        "--seed",
        "9",
        "--threads",
        "1",
        "--quiet",
        "--out",
        a.path().to_str().unwrap(),
    ]);
    let rb = run(&[
        "synth",
        "--rows",
        "70",
        "--cols",
        "50",
        "--seed",
        "9",
        "--threads",
        "2",
        "--quiet",
        "--out",
        b.path().to_str().unwrap(),
    ]);
    assert_eq!((ra.code, rb.code), (0, 0));
    for name in [
        "landcover.tif",
        "slope.tif",
        "ecological_redline.geojson",
        "permanent_farmland.geojson",
        "urban_boundary.geojson",
        "districts.geojson",
        "scenario.toml",
        "landcover_classes.csv",
    ] {
        let (x, y) = (
            std::fs::read(a.path().join(name)).unwrap(),
            std::fs::read(b.path().join(name)).unwrap(),
        );
        assert!(x == y, "{name} differs between runs");
    }
}

#[test]
fn the_bundled_demo_is_what_synth_makes() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 600, 600, 42);
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/demo");
    for name in [
        "landcover.tif",
        "slope.tif",
        "ecological_redline.geojson",
        "permanent_farmland.geojson",
        "urban_boundary.geojson",
        "districts.geojson",
    ] {
        let fresh = std::fs::read(dir.path().join(name)).unwrap();
        let bundled = std::fs::read(demo.join(name)).unwrap();
        assert!(
            fresh == bundled,
            "inputs/demo/{name} is stale: regenerate with `ecocorridor synth --out inputs/demo`"
        );
    }
}

#[test]
fn the_demo_scenario_validates() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.toml");
    let r = run(&["validate", demo.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("study area: 27652.2 ha"), "{}", r.stdout);
}

#[test]
fn synth_refuses_an_empty_grid() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&[
        "synth",
        "--rows",
        "0",
        "--cols",
        "5",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--rows and --cols must be at least 1"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecocorridor"))
        .args(["validate", demo.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the pipe closes
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(status.code() == Some(0), "{status:?} {err}");
}
