//! `ecocorridor run` and `batch`: every output, the summary against the tables, replacing an
//! output folder only after success, thread-independent tables, shards.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::{run, run_quiet, run_threads, synth};

/// A synthetic scenario with a budget and a sweep.
fn scenario(dir: &Path, n: u32) -> std::path::PathBuf {
    let s = synth(dir, n, n, 5);
    let mut text = fs::read_to_string(&s).unwrap();
    text.push_str("\n[optimize]\nbudget_yuan = 3000000.0\n\n[optimize.sweep]\nbudgets_yuan = [1000000.0, 3000000.0]\n");
    fs::write(&s, text).unwrap();
    s
}

/// A scenario of n x n cells already run once into `out/`.
fn ran_once(n: u32) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), n);
    let out = dir.path().join("out");
    let r = run_quiet("run", &sc, &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (dir, sc, out)
}

fn table(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = fs::read(path).unwrap();
    assert_eq!(
        &bytes[..3],
        b"\xEF\xBB\xBF",
        "{} lacks the BOM",
        path.display()
    );
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn col(t: &(Vec<String>, Vec<Vec<String>>), name: &str) -> Vec<String> {
    let k =
        t.0.iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name}"));
    t.1.iter().map(|r| r[k].clone()).collect()
}

fn f(v: &str) -> f64 {
    v.parse().unwrap()
}

#[test]
fn run_writes_everything_and_the_summary_agrees_with_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), 140);
    let out = dir.path().join("out");
    let r = run(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for f in [
        "summary.csv",
        "patches.csv",
        "corridors.csv",
        "sites.csv",
        "connectors.csv",
        "zones.csv",
        "indices.csv",
        "pareto.csv",
        "corridors.geojson",
        "sites.geojson",
        "connectors.geojson",
        "resistance.tif",
        "cost_distance.tif",
        "corridors.tif",
        "sources.tif",
        "carbon.tif",
        "sites.tif",
        "pinchpoints.tif",
        "pinchpoints_normalized.tif",
        "walk_minutes.tif",
        "access.csv",
        "run.json",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let summary = table(&out.join("summary.csv"));
    let sites = table(&out.join("sites.csv"));
    let conns = table(&out.join("connectors.csv"));
    let sel_sites: Vec<usize> = col(&sites, "selected")
        .iter()
        .enumerate()
        .filter(|(_, s)| *s == "1")
        .map(|(k, _)| k)
        .collect();
    let site_cost: f64 = sel_sites
        .iter()
        .map(|&k| f(&col(&sites, "cost_yuan")[k]))
        .sum();
    let site_carbon: f64 = sel_sites
        .iter()
        .map(|&k| f(&col(&sites, "carbon_tco2e")[k]))
        .sum();
    let conn_cost: f64 = col(&conns, "cost_yuan")
        .iter()
        .zip(col(&conns, "selected"))
        .filter(|(_, s)| s == "1")
        .map(|(c, _)| f(c))
        .sum();
    assert_eq!(
        col(&summary, "sites_selected")[0],
        sel_sites.len().to_string()
    );
    assert!(
        (f(&col(&summary, "spent_yuan")[0]) - site_cost - conn_cost).abs()
            < 0.05 * (1 + sel_sites.len()) as f64
    );
    assert!(
        (f(&col(&summary, "carbon_gain_tco2e")[0]) - site_carbon).abs()
            < 1e-3 * (1 + sel_sites.len()) as f64
    );
    assert!(f(&col(&summary, "spent_yuan")[0]) <= 3_000_000.0);
    // "Now" is exactly indices.csv; the plan is measured on the restored landscape: with
    // resistance only lowered, no corridor gets longer and ECA cannot fall.
    let indices = table(&out.join("indices.csv"));
    assert_eq!(col(&summary, "eca_now_ha"), col(&indices, "eca_ha"));
    assert_eq!(col(&summary, "pc_now"), col(&indices, "pc"));
    assert_eq!(col(&summary, "iic_now"), col(&indices, "iic"));
    let (now, plan) = (
        f(&col(&summary, "eca_now_ha")[0]),
        f(&col(&summary, "eca_plan_ha")[0]),
    );
    assert!(plan > now, "ECA now {now} ha, with the plan {plan} ha");
    assert!((f(&col(&summary, "eca_gain_ha")[0]) - (plan - now)).abs() < 2e-4);
    assert!((f(&col(&summary, "eca_gain_pct")[0]) - 100.0 * (plan - now) / now).abs() < 1e-3);
    let corridors = table(&out.join("corridors.csv"));
    let (lcd, lcd_plan) = (col(&corridors, "lcd"), col(&corridors, "lcd_plan"));
    assert!(lcd.iter().zip(&lcd_plan).all(|(a, b)| f(b) <= f(a)));
    assert!(lcd.iter().zip(&lcd_plan).any(|(a, b)| f(b) < f(a)));
    // Pinch points: every corridor zone joins its patches (finite effective resistance > 0)
    // and every link carries current; 1 A per corridor bounds every cell's current.
    let er = col(&corridors, "effective_resistance");
    assert_eq!(er.len(), lcd.len());
    assert!(er.iter().all(|v| f(v) > 0.0 && f(v).is_finite()), "{er:?}");
    assert!(col(&corridors, "current_flow_centrality")
        .iter()
        .all(|v| f(v) > 0.0));
    let pinch = ecocorridor::io::raster::read_f32(&out.join("pinchpoints.tif")).unwrap();
    let top = pinch
        .data()
        .iter()
        .filter(|v| v.is_finite())
        .fold(0f32, |m, &v| m.max(v));
    assert!(
        top > 0.0 && top <= 1.0 + 1e-4,
        "largest pinch current {top}"
    );
    let norm = ecocorridor::io::raster::read_f32(&out.join("pinchpoints_normalized.tif")).unwrap();
    assert!(norm
        .data()
        .iter()
        .filter(|v| v.is_finite())
        .all(|&v| (0.0..=1.0).contains(&v)));
    assert!(col(&sites, "pinch_current")
        .iter()
        .all(|v| (0.0..=1.0).contains(&f(v))));
    // Every sweep plan is measured too, and a larger budget buys at least as much here.
    let pareto = table(&out.join("pareto.csv"));
    let eca: Vec<f64> = col(&pareto, "eca_plan_ha").iter().map(|v| f(v)).collect();
    assert_eq!(eca.len(), 2);
    assert!(eca.iter().all(|&e| e >= now));
    assert_eq!(col(&pareto, "budget_yuan")[1], "3000000.00");
    assert!(
        (eca[1] - plan).abs() < 1e-3,
        "the sweep's 3 M plan is the plan"
    );
    assert_eq!(col(&summary, "status")[0], "optimal");
    // run.json names the inputs with their SHA-256.
    let j: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(j["version"], env!("CARGO_PKG_VERSION"));
    let want = {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(fs::read(&sc).unwrap()))
    };
    assert_eq!(j["inputs"]["scenario"]["sha256"], want.as_str());
    assert!(j["stages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["stage"] == "corridors"));
    assert!(j["stages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["stage"] == "measure plan"));
    assert_eq!(j["circuit"]["pinch_points"], true);
    assert!(j["circuit"]["solver"]
        .as_str()
        .unwrap()
        .contains("Cholesky"));

    // Same tables with two threads.
    let out2 = dir.path().join("out2");
    let r = run(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--threads",
        "2",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.is_empty(), "--quiet printed: {}", r.stderr);
    for name in fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()) {
        let name = name.to_string_lossy().into_owned();
        if name == "run.json" {
            continue;
        }
        assert_eq!(
            fs::read(out.join(&name)).unwrap(),
            fs::read(out2.join(&name)).unwrap(),
            "{name} differs between 1 and 2 threads"
        );
    }
}

#[test]
fn an_output_folder_is_replaced_only_with_force_and_only_by_a_finished_run() {
    let (dir, sc, out) = ran_once(60);
    let before = fs::read(out.join("summary.csv")).unwrap();
    // Without --force: refused before any work.
    let r = run(&["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("already holds results") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    // With --force but a broken input: fails, the old results stay, no working folder is left.
    let classes = dir.path().join("landcover_classes.csv");
    let good = fs::read_to_string(&classes).unwrap();
    fs::write(&classes, good.replacen(",150,", ",-150,", 1)).unwrap();
    let r = run(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(fs::read(out.join("summary.csv")).unwrap(), before);
    let leftovers: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial-") || n.contains(".old-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // With --force and good inputs: replaced.
    fs::write(&classes, good).unwrap();
    let text = fs::read_to_string(&sc)
        .unwrap()
        .replace("budget_yuan = 3000000.0", "budget_yuan = 2000000.0");
    fs::write(&sc, text).unwrap();
    let r = run(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--force",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(fs::read(out.join("summary.csv")).unwrap(), before);
}

#[test]
fn a_killed_run_leaves_the_previous_results_intact() {
    let (_dir, sc, out) = ran_once(400);
    let before: Vec<(String, Vec<u8>)> = {
        let mut v: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecocorridor"))
        .args([
            "run",
            sc.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--force",
            "--quiet",
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before it could be killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let mut after: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    after.sort();
    assert!(before == after, "the output folder changed");
}

#[test]
fn batch_runs_scenarios_and_compares_them_and_shards_split_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let a = scenario(dir.path(), 60);
    let text = fs::read_to_string(&a).unwrap();
    let b = dir.path().join("b.toml");
    let renamed =
        |name: &str| text.replace("name = \"synth_60x60_s5\"", &format!("name = \"{name}\""));
    fs::write(
        &b,
        renamed("bigger_budget").replace("budget_yuan = 3000000.0", "budget_yuan = 6000000.0"),
    )
    .unwrap();
    let c = dir.path().join("c.toml");
    fs::write(
        &c,
        renamed("broken").replace("landcover.tif", "missing.tif"),
    )
    .unwrap();
    let out = dir.path().join("all");
    // A scenario that cannot be read at all stops the batch before any work.
    let r = run(&[
        "batch",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "/nonexistent.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("/nonexistent.toml"), "{}", r.stderr);
    assert!(!out.exists());
    // Two good ones and one whose land cover is missing: exit 2, the comparison still written.
    let r = run(&[
        "batch",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
        "--jobs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let t = table(&out.join("comparison.csv"));
    assert_eq!(col(&t, "exit_code"), vec!["0", "0", "2"]);
    assert_eq!(
        col(&t, "scenario"),
        vec!["synth_60x60_s5", "bigger_budget", "broken"]
    );
    assert!(
        col(&t, "message")[2].contains("missing.tif"),
        "{:?}",
        col(&t, "message")
    );
    assert!(f(&col(&t, "carbon_gain_tco2e")[1]) >= f(&col(&t, "carbon_gain_tco2e")[0]));
    // The summary of each run is the row of its scenario.
    let s = table(&out.join("bigger_budget/summary.csv"));
    assert_eq!(
        col(&s, "spent_yuan"),
        vec![col(&t, "spent_yuan")[1].clone()]
    );
    // a and b differ only in [optimize]: one process computed their stages once.
    let ja: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("synth_60x60_s5/run.json")).unwrap())
            .unwrap();
    let jb: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("bigger_budget/run.json")).unwrap())
            .unwrap();
    let corridors = |j: &serde_json::Value| {
        j["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == "corridors")
            .unwrap()["seconds"]
            .clone()
    };
    assert_eq!(corridors(&ja), corridors(&jb));
    // Again without --force: each scenario is judged on its own folder. With a new one
    // sharing a's stages, only the new one runs; the others are refused, each naming its own
    // folder, and keep their figures in the comparison.
    let d = dir.path().join("d.toml");
    fs::write(
        &d,
        renamed("small_budget").replace("budget_yuan = 3000000.0", "budget_yuan = 1500000.0"),
    )
    .unwrap();
    let r = run(&[
        "batch",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        d.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let t2 = table(&out.join("comparison.csv"));
    assert_eq!(col(&t2, "exit_code"), vec!["2", "2", "0"]);
    for (k, name) in ["synth_60x60_s5", "bigger_budget"].iter().enumerate() {
        let m = &col(&t2, "message")[k];
        assert!(
            m.contains(&format!("{name}`")) && m.contains("--force"),
            "{m}"
        );
        assert_eq!(col(&t2, "spent_yuan")[k], col(&t, "spent_yuan")[k]);
    }
    assert_eq!(col(&t2, "scenario")[2], "small_budget");
    // Nothing to run: comparison.csv is left as it was.
    let before = fs::read(out.join("comparison.csv")).unwrap();
    let r = run(&[
        "batch",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nothing ran"), "{}", r.stderr);
    assert_eq!(fs::read(out.join("comparison.csv")).unwrap(), before);
    let r = run(&[
        "run",
        a.to_str().unwrap(),
        "--out",
        dir.path().join("g1").to_str().unwrap(),
        "--also",
        b.to_str().unwrap(),
        "--also-out",
        dir.path().join("g2").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr.matches("corridors:").count(), 1, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("wrote the results").count(),
        2,
        "{}",
        r.stderr
    );
    assert_eq!(
        fs::read(dir.path().join("g2/summary.csv")).unwrap(),
        fs::read(out.join("bigger_budget/summary.csv")).unwrap()
    );
    let r = run(&[
        "run",
        a.to_str().unwrap(),
        "--also",
        c.to_str().unwrap(),
        "--also-out",
        dir.path().join("g3").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("does not share the stages"),
        "{}",
        r.stderr
    );
    // Shard 2 of 2 takes the second scenario only.
    let r = run(&[
        "batch",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--shard",
        "2/2",
        "--out",
        dir.path().join("s").to_str().unwrap(),
        "--lang",
        "zh",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let t = table(&dir.path().join("s/comparison-2-of-2.csv"));
    assert_eq!(col(&t, "情景"), vec!["bigger_budget"]);
    assert_eq!(t.0[..3], ["情景文件", "退出码", "信息"]);
    // --lang reaches every run: Chinese column names in its tables.
    let zh = table(&dir.path().join("s/bigger_budget/summary.csv"));
    assert_eq!(zh.0[0], "情景", "{:?}", zh.0);
    let r = run(&["batch", a.to_str().unwrap(), "--shard", "3/2"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--shard `3/2`"), "{}", r.stderr);
}

/// Width, height and pixels of a PNG.
fn png_rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::BufReader::new(fs::File::open(path).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn the_map_and_chart_are_pngs_and_zh_gives_chinese_headers() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), 140);
    let out = dir.path().join("zh");
    let r = run(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--lang",
        "zh",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // 140 cells on the long side: 10 px per cell, 1,400 px of map, margins and the legend;
    // the title, and below it the scenario's description, take 84 px.
    let (w, h, px) = png_rgb(&out.join("map.png"));
    assert_eq!((w, h), (20 + 1400 + 20 + 420, 84 + 1400 + 20));
    let colours: std::collections::BTreeSet<&[u8]> = px.chunks(3).collect();
    assert!(
        colours.len() > 50,
        "{} colours: an empty picture?",
        colours.len()
    );
    // Selected sites are drawn in their legend colour somewhere on the map.
    let sites = table(&out.join("sites.csv"));
    assert_eq!(sites.0[0], "地块编号");
    assert!(col(&sites, "入选").iter().any(|s| s == "1"));
    assert!(
        px.chunks(3)
            .any(|c| c[0] > 200 && c[1] < 60 && c[2] > 80 && c[2] < 120),
        "no site colour"
    );
    let (pw, ph, _) = png_rgb(&out.join("pareto.png"));
    assert_eq!((pw, ph), (900, 640));
    let summary = table(&out.join("summary.csv"));
    assert_eq!(&summary.0[..3], &["情景", "源地数", "廊道"]);
    assert!(summary.0.contains(&"碳汇增量（tCO2e）".to_string()));
}

#[test]
fn sigterm_removes_the_unfinished_outputs_and_says_so() {
    let (dir, sc, out) = ran_once(400);
    let before = fs::read(out.join("summary.csv")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ecocorridor"))
        .args([
            "run",
            sc.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--force",
            "--quiet",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("interrupted: "));
    assert_eq!(fs::read(out.join("summary.csv")).unwrap(), before);
    let leftovers: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_run_that_cannot_fit_in_max_memory_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), 60);
    let out = dir.path().join("out");
    let r = run(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-memory",
        "50M",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("3600 cells need about") && r.stderr.contains("more than --max-memory"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("load:"), "work started: {}", r.stderr);
    assert!(!out.exists());
    let r = run(&["run", sc.to_str().unwrap(), "--max-memory", "lots"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("`lots` is not a size"), "{}", r.stderr);
    let r = run(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-memory",
        "8GiB",
        "--verbose",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("3600 cells: about 0.1 GB of memory at the peak"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_output_folder_that_cannot_be_created_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), 60);
    // A folder inside a regular file cannot exist (unlike permissions, this holds for root).
    let blocker = dir.path().join("a_file");
    fs::write(&blocker, "x").unwrap();
    let out = blocker.join("out");
    let r = run(&["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("a_file") && r.stderr.contains("cannot create"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"));
    assert!(
        !r.stderr.contains("load:"),
        "the work started: {}",
        r.stderr
    );
}

#[test]
fn edge_cases_give_an_answer_or_a_reason_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), 60);
    let out = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    // Budget 0: a valid, empty plan.
    let r = run(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        &out("zero"),
        "--budget-yuan",
        "0",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = table(&dir.path().join("zero/summary.csv"));
    assert_eq!(
        (
            col(&s, "status")[0].as_str(),
            col(&s, "spent_yuan")[0].as_str()
        ),
        ("optimal", "0.00")
    );
    // NaN or negative weights: named.
    let r = run(&[
        "optimize",
        sc.to_str().unwrap(),
        "--out",
        &out("nan"),
        "--weights",
        "nan,1",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("`nan` is not a number"), "{}", r.stderr);
    let r = run(&[
        "optimize",
        sc.to_str().unwrap(),
        "--out",
        &out("neg"),
        "--weights",
        "-1,1",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("carbon weight is -1"), "{}", r.stderr);
    // An empty zone layer: a warning, not an error.
    fs::write(
        dir.path().join("ecological_redline.geojson"),
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4545"}},"features":[]}"#,
    )
    .unwrap();
    let r = run(&["run", sc.to_str().unwrap(), "--out", &out("empty_zone")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("ecological_redline.geojson") && r.stderr.contains("has no polygon"),
        "{}",
        r.stderr
    );
    // Every non-habitat class a barrier: sources stay, no corridor, a warning naming them.
    let classes = dir.path().join("landcover_classes.csv");
    let text = fs::read_to_string(&classes).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let barred: Vec<String> = lines
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            if f[5] == "0" {
                f[4] = "barrier";
            }
            f.join(",")
        })
        .collect();
    fs::write(&classes, format!("{header}\n{}\n", barred.join("\n"))).unwrap();
    let r = run(&["run", sc.to_str().unwrap(), "--out", &out("barred")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("have no corridor (isolated by barriers"),
        "{}",
        r.stderr
    );
    let s = table(&dir.path().join("barred/summary.csv"));
    assert_eq!(col(&s, "corridors"), vec!["0"]);
    assert!(!r.stderr.contains("panicked"));
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_the_old_results() {
    // A 160 KB tmpfs (needs root and mount rights; skipped, with a note, where unavailable).
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), 140);
    let small = dir.path().join("small_disk");
    fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=160k",
            "tmpfs",
            small.to_str().unwrap(),
        ])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !crate::util::prerequisite(mounted, "a small tmpfs (mount needs root)") {
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(small.clone());
    let out = small.join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("summary.csv"), "old results").unwrap();
    let r = run(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--force",
        "--quiet",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("No space left on device"), "{}", r.stderr);
    assert_eq!(
        fs::read_to_string(out.join("summary.csv")).unwrap(),
        "old results"
    );
    let left: Vec<String> = fs::read_dir(&small)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec!["out"],
        "unfinished outputs left on the full disk"
    );
}

/// The plan measured by `run` equals an independent path through the code: the selected
/// sites burned into the land cover by hand, then `network` on that land cover with the
/// same sources (a patch raster), d50 and landscape area. Crossings cost too much to be
/// chosen here, so the land cover alone carries the plan.
#[test]
fn the_measured_plan_equals_network_on_the_land_cover_with_the_sites_burned_in() {
    use ecocorridor::io::geotiff::write_geotiff;
    use ecocorridor::io::raster::read_f32;
    let dir = tempfile::tempdir().unwrap();
    let sc = synth(dir.path(), 200, 200, 11);
    let d = dir.path();
    // Fixed patches: the sources stage's own raster.
    let src_out = d.join("src_out");
    let r = run_quiet("sources", &sc, &src_out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let base = fs::read_to_string(&sc).unwrap();
    let with_sources = |landcover: Option<&str>, extra: &str| {
        let mut text = base.replacen(
            "[sources]\n",
            "[sources]\nmethod = \"raster\"\npath = \"src_out/sources.tif\"\n",
            1,
        );
        if let Some(lc) = landcover {
            text = text.replacen(
                "landcover = \"landcover.tif\"",
                &format!("landcover = \"{lc}\""),
                1,
            );
            assert!(text.contains(lc));
        }
        text.push_str(extra);
        text
    };
    assert!(
        base.contains("[sources]"),
        "synth writes a [sources] section"
    );
    let plan_sc = d.join("plan.toml");
    fs::write(
        &plan_sc,
        with_sources(
            None,
            "\n[network]\nd50 = 60000.0\n\n[optimize]\nbudget_yuan = 4000000.0\ncarbon_weight = 0.3\nconnectivity_weight = 0.7\naccess_weight = 0.5\n",
        )
        .replace(
            "[candidates]\n",
            "[candidates]\ncrossing_cost_yuan_per_m = 1e15\n",
        ),
    )
    .unwrap();
    let out = d.join("out");
    let r = run_quiet("run", &plan_sc, &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let summary = table(&out.join("summary.csv"));
    assert!(f(&col(&summary, "sites_selected")[0]) > 0.0);
    let conns = table(&out.join("connectors.csv"));
    let crossing_chosen = col(&conns, "selected")
        .iter()
        .zip(col(&conns, "crossing_m"))
        .any(|(s, m)| s == "1" && f(&m) > 0.0);
    assert!(!crossing_chosen, "no crossing is affordable");

    // Burn the selected sites' targets into the land cover.
    let mut classes = csv::Reader::from_path(d.join("landcover_classes.csv")).unwrap();
    let h = classes.headers().unwrap().clone();
    let at = |name: &str| h.iter().position(|x| x == name).unwrap();
    let (code_at, to_at, park_at) = (at("code"), at("restorable_to"), at("park_to"));
    let rows: Vec<csv::StringRecord> = classes.records().map(|r| r.unwrap()).collect();
    let targets = |column: usize| -> std::collections::BTreeMap<u32, u32> {
        rows.iter()
            .filter(|r| !r[column].is_empty())
            .map(|r| (r[code_at].parse().unwrap(), r[column].parse().unwrap()))
            .collect()
    };
    // Park sites (`park` = 1, in the urban development boundary) take `park_to`.
    let (restore_to, park_to) = (targets(to_at), targets(park_at));
    let sites = table(&out.join("sites.csv"));
    let chosen = |park: &str| -> std::collections::BTreeSet<u32> {
        col(&sites, "site_id")
            .iter()
            .zip(col(&sites, "selected"))
            .zip(col(&sites, "park"))
            .filter(|((_, s), p)| s == "1" && p == park)
            .map(|((id, _), _)| id.parse().unwrap())
            .collect()
    };
    let (selected, parks) = (chosen("0"), chosen("1"));
    assert!(!parks.is_empty(), "the access weight buys parks");
    let lc = read_f32(&d.join("landcover.tif")).unwrap();
    let site_ids = read_f32(&out.join("sites.tif")).unwrap();
    let patch = read_f32(&src_out.join("sources.tif")).unwrap();
    let mut burned: Vec<u16> = Vec::new();
    let mut changed = 0;
    for ((&code, &s), &p) in lc.data().iter().zip(site_ids.data()).zip(patch.data()) {
        let code = code as u32;
        let site = s as u32;
        let target = if parks.contains(&site) {
            park_to.get(&code)
        } else if selected.contains(&site) {
            restore_to.get(&code)
        } else {
            None
        };
        let to = match target {
            Some(&t) if p.is_nan() || p == 0.0 => {
                changed += 1;
                t
            }
            _ => code,
        };
        burned.push(to as u16);
    }
    assert!(changed > 0);
    // (Cells outside the study area read as NaN and are written back as nodata 0.)
    write_geotiff(&d.join("burned.tif"), lc.grid(), &burned, Some(0.0)).unwrap();

    // `network` on the burned land cover with the same d50 and landscape area.
    let indices = table(&out.join("indices.csv"));
    let net_sc = d.join("burned.toml");
    fs::write(
        &net_sc,
        with_sources(
            Some("burned.tif"),
            &format!(
                "\n[network]\nd50 = {}\nlandscape_area_ha = {}\n",
                col(&indices, "d50")[0],
                col(&indices, "landscape_area_ha")[0]
            ),
        ),
    )
    .unwrap();
    let net_out = d.join("net_out");
    let r = run_quiet("network", &net_sc, &net_out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ours = table(&out.join("corridors.csv"));
    let theirs = table(&net_out.join("corridors.csv"));
    let key = |t: &(Vec<String>, Vec<Vec<String>>), k: usize| {
        (
            col(t, "from_patch")[k].clone(),
            col(t, "to_patch")[k].clone(),
        )
    };
    let their_lcd: std::collections::BTreeMap<(String, String), String> = (0..theirs.1.len())
        .map(|k| (key(&theirs, k), col(&theirs, "lcd")[k].clone()))
        .collect();
    let mut common = 0;
    let mut lowered = 0;
    for k in 0..ours.1.len() {
        if let Some(l) = their_lcd.get(&key(&ours, k)) {
            assert_eq!(
                &col(&ours, "lcd_plan")[k],
                l,
                "corridor {:?}",
                key(&ours, k)
            );
            common += 1;
            lowered += usize::from(col(&ours, "lcd_plan")[k] != col(&ours, "lcd")[k]);
        }
    }
    // The stage on the burned land cover may pair patches differently where restoration moved
    // an allocation border, or drop a pair whose new path crosses a patch (the measurement
    // keeps the pairs of now); most pairs are common.
    assert!(
        common * 4 >= ours.1.len() * 3,
        "{common} of {} pairs in common",
        ours.1.len()
    );
    assert!(lowered > 0);
    // Park access: `access` on the burned land cover gives what the run measured for the
    // plan, district by district.
    assert!(
        base.contains("[access]"),
        "synth 200 x 200 seed 11 has a park"
    );
    let acc_out = d.join("acc_out");
    let r = run_quiet("access", &net_sc, &acc_out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let burned_access = table(&acc_out.join("access.csv"));
    let plan_access = table(&out.join("access.csv"));
    assert_eq!(
        col(&plan_access, "covered_plan_persons"),
        col(&burned_access, "covered_persons")
    );
    assert_eq!(
        col(&plan_access, "mean_walk_plan_min"),
        col(&burned_access, "mean_walk_min")
    );
    assert_eq!(
        &col(&summary, "access_plan_pct")[0],
        col(&burned_access, "covered_pct").last().unwrap()
    );
    // The same pairs: the same indices.
    let their_idx = table(&net_out.join("indices.csv"));
    if common == ours.1.len() && common == theirs.1.len() {
        assert_eq!(col(&summary, "pc_plan"), col(&their_idx, "pc"));
        assert_eq!(col(&summary, "eca_plan_ha"), col(&their_idx, "eca_ha"));
    }
    // `assess` on the same two land covers (same patches) measures the after year on the
    // before year's network, as `run` measures the plan: the same PC and IIC.
    let assess_out = d.join("assess_out");
    let r = run(&[
        "assess",
        net_sc.to_str().unwrap(),
        "--before",
        d.join("landcover.tif").to_str().unwrap(),
        "--after",
        d.join("burned.tif").to_str().unwrap(),
        "--out",
        assess_out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let change = table(&assess_out.join("indices_change.csv"));
    let row = |name: &str| {
        let k = col(&change, "index")
            .iter()
            .position(|x| x == name)
            .unwrap();
        (
            col(&change, "before")[k].clone(),
            col(&change, "after")[k].clone(),
        )
    };
    assert_eq!(
        row("pc"),
        (
            col(&summary, "pc_now")[0].clone(),
            col(&summary, "pc_plan")[0].clone()
        )
    );
    assert_eq!(
        row("iic"),
        (
            col(&summary, "iic_now")[0].clone(),
            col(&summary, "iic_plan")[0].clone()
        )
    );
}

/// `ecocorridor run s.toml 2>&1 | head -2`: the reader goes away after two lines; the run
/// still finishes, writes everything and exits 0 (it used to panic on the closed stderr and
/// exit 101 with nothing written).
#[test]
fn a_closed_stderr_never_kills_a_run() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), 60);
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecocorridor"))
        .args(["run", sc.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    for _ in 0..2 {
        lines.next().unwrap().unwrap();
    }
    drop(lines);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(out.join("summary.csv").is_file());
    assert!(out.join("run.json").is_file());
}

/// Refinement keeps the best measured plan: the kept round's measured objective is the
/// highest of all rounds and never below the first round's, whose plan is the plain MILP's;
/// every round is listed in run.json with its modelled and measured figures.
#[test]
fn refined_plans_never_measure_worse_than_the_first_round() {
    for seed in [2u64, 9, 17] {
        let dir = tempfile::tempdir().unwrap();
        let s = synth(dir.path(), 120, 120, seed);
        let mut text = fs::read_to_string(&s).unwrap();
        text.push_str(
            "\n[optimize]\nbudget_yuan = 3000000.0\ncarbon_weight = 0.3\nconnectivity_weight = 0.7\nrefine_rounds = 3\n",
        );
        fs::write(&s, text).unwrap();
        let out = dir.path().join("out");
        let r = run_quiet("run", &s, &out);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let j: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
        let rounds = j["plan_rounds"].as_array().unwrap();
        assert!(!rounds.is_empty() && rounds.len() <= 3);
        let score = |r: &serde_json::Value| r["measured_objective"].as_f64().unwrap();
        let kept: Vec<&serde_json::Value> = rounds.iter().filter(|r| r["kept"] == true).collect();
        assert_eq!(kept.len(), 1, "seed {seed}: {rounds:?}");
        assert!(
            score(kept[0]) >= score(&rounds[0]),
            "seed {seed}: {rounds:?}"
        );
        assert!(
            rounds.iter().all(|r| score(r) <= score(kept[0])),
            "seed {seed}"
        );
        // The summary reports the kept plan's measurement.
        let summary = table(&out.join("summary.csv"));
        let eca = f(&col(&summary, "eca_plan_ha")[0]);
        assert!(
            (eca - kept[0]["eca_plan_ha"].as_f64().unwrap()).abs() < 1e-3,
            "seed {seed}"
        );
    }
}

/// `[optimize] connectivity = "exact"` end to end: the plan is optimal for the true PC of the
/// improved network and is measured like any plan.
#[test]
fn exact_mode_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let s = synth(dir.path(), 100, 100, 4);
    let mut text = fs::read_to_string(&s).unwrap();
    text.push_str("\n[optimize]\nbudget_yuan = 3000000.0\nconnectivity = \"exact\"\n");
    fs::write(&s, text).unwrap();
    let out = dir.path().join("out");
    let r = run_quiet("run", &s, &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let summary = table(&out.join("summary.csv"));
    assert_eq!(col(&summary, "status")[0], "optimal");
    assert!(f(&col(&summary, "eca_plan_ha")[0]) >= f(&col(&summary, "eca_now_ha")[0]));
    let j: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    // Exact mode is not refined: its term is already the true PC.
    assert_eq!(j["plan_rounds"].as_array().unwrap().len(), 1);
}

#[test]
fn pinch_points_can_be_turned_off_and_are_skipped_above_max_zone_cells_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (section, why) in [
        ("pinch_points = \"off\"", "pinch_points = \"off\""),
        (
            "max_zone_cells = 10",
            "more than [circuit] max_zone_cells = 10",
        ),
    ] {
        let sc = scenario(dir.path(), 140);
        let mut text = fs::read_to_string(&sc).unwrap();
        text.push_str(&format!("\n[circuit]\n{section}\n"));
        fs::write(&sc, text).unwrap();
        let out = dir.path().join("out");
        let r = run(&[
            "run",
            sc.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--force",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains("pinch points not computed"),
            "{}",
            r.stderr
        );
        assert!(!out.join("pinchpoints.tif").exists());
        let corridors = table(&out.join("corridors.csv"));
        assert!(!corridors.0.iter().any(|h| h == "effective_resistance"));
        let j: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
        assert_eq!(j["circuit"]["pinch_points"], false);
        assert!(
            j["circuit"]["why"].as_str().unwrap().contains(why),
            "{}",
            j["circuit"]
        );
    }
}

#[test]
fn pinch_weight_scales_each_site_value_by_its_pinch_current() {
    let dir = tempfile::tempdir().unwrap();
    let mut benefits = Vec::new();
    let mut pinch = Vec::new();
    for (k, w) in ["0", "2.0"].iter().enumerate() {
        let sub = dir.path().join(format!("s{k}"));
        fs::create_dir_all(&sub).unwrap();
        let sc = scenario(&sub, 140);
        let text = fs::read_to_string(&sc).unwrap();
        let text = text.replace(
            "[optimize]",
            &format!("[candidates]\npinch_weight = {w}\n\n[optimize]"),
        );
        fs::write(&sc, text).unwrap();
        let out = sub.join("out");
        let r = run_quiet("run", &sc, &out);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let sites = table(&out.join("sites.csv"));
        benefits.push(
            col(&sites, "benefit")
                .iter()
                .map(|v| f(v))
                .collect::<Vec<_>>(),
        );
        pinch.push(
            col(&sites, "pinch_current")
                .iter()
                .map(|v| f(v))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        pinch[0], pinch[1],
        "the pinch points do not depend on the weight"
    );
    assert!(pinch[0].iter().any(|&p| p > 0.0));
    for ((b0, b1), p) in benefits[0].iter().zip(&benefits[1]).zip(&pinch[0]) {
        let want = b0 * (1.0 + 2.0 * p);
        assert!(
            (b1 - want).abs() <= 1e-5 * want.abs().max(1e-9) + 1e-9,
            "{b1} vs {b0} x (1 + 2 x {p})"
        );
    }
    // A negative weight is refused by name.
    let sc = scenario(dir.path(), 60);
    let text = fs::read_to_string(&sc).unwrap().replace(
        "[optimize]",
        "[candidates]\npinch_weight = -1.0\n\n[optimize]",
    );
    fs::write(&sc, text).unwrap();
    let r = run(&[
        "run",
        sc.to_str().unwrap(),
        "--out",
        dir.path().join("bad").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("pinch_weight = -1"), "{}", r.stderr);
}

#[test]
fn a_connectivity_only_plan_buys_at_least_the_connectivity_of_a_carbon_only_plan() {
    // Measured ECA gains on random landscapes: the objective is a model of the measurement,
    // so this is checked where it matters (on the restored landscapes), not assumed.
    for (seed, budget) in [(1u64, 1e6), (3, 3e6), (5, 3e6)] {
        let dir = tempfile::tempdir().unwrap();
        let base = fs::read_to_string(synth(dir.path(), 140, 140, seed)).unwrap();
        let mut gain = Vec::new();
        for (wc, wk) in [(1.0, 0.0), (0.0, 1.0)] {
            let sc = dir.path().join(format!("w{wc}.toml"));
            fs::write(
                &sc,
                format!("{base}\n[optimize]\nbudget_yuan = {budget:.1}\ncarbon_weight = {wc:.1}\nconnectivity_weight = {wk:.1}\n"),
            )
            .unwrap();
            let out = dir.path().join(format!("o{wc}"));
            let r = run_quiet("run", &sc, &out);
            assert_eq!(r.code, 0, "{}", r.stderr);
            gain.push(f(&col(&table(&out.join("summary.csv")), "eca_gain_ha")[0]));
        }
        assert!(
            gain[1] >= gain[0] - 1e-3,
            "seed {seed}, {budget} yuan: connectivity-only gains {} ha, carbon-only {} ha",
            gain[1],
            gain[0]
        );
    }
}

/// `access` alone: the same figures as the run's summary, every resident counted once
/// (district rows add up to the study area, which holds the population raster's total), and
/// byte-identical walking times whatever the thread count, the same as the run's.
#[test]
fn access_alone_agrees_with_the_run_and_counts_every_resident_once() {
    let (dir, sc, out) = ran_once(140);
    let text = fs::read_to_string(&sc).unwrap();
    assert!(
        text.contains("[access]"),
        "synth 140 x 140 seed 5 has a park"
    );
    let mut walk = Vec::new();
    for threads in ["1", "2"] {
        let a = dir.path().join(format!("access{threads}"));
        let r = run(&[
            "access",
            sc.to_str().unwrap(),
            "--out",
            a.to_str().unwrap(),
            "--threads",
            threads,
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains("live within 10 min of a park"),
            "{}",
            r.stderr
        );
        walk.push(fs::read(a.join("walk_minutes.tif")).unwrap());
        // The run's access.csv has the same columns, then the plan's.
        let alone = table(&a.join("access.csv"));
        let with_plan = table(&out.join("access.csv"));
        for name in &alone.0 {
            assert_eq!(col(&alone, name), col(&with_plan, name), "{name}");
        }
        assert!(with_plan.0.iter().any(|h| h == "covered_plan_persons"));
    }
    assert_eq!(
        walk[0], walk[1],
        "walk_minutes.tif depends on the thread count"
    );
    // The run computes the walking times again when it writes them (it does not hold the
    // grid through its stages): the same file as the measurement's.
    assert_eq!(
        walk[0],
        fs::read(out.join("walk_minutes.tif")).unwrap(),
        "the run's walk_minutes.tif differs from `access`'s"
    );
    let access = table(&out.join("access.csv"));
    let pop = col(&access, "population_persons");
    let (districts, total) = pop.split_at(pop.len() - 1);
    let sum: f64 = districts.iter().map(|v| f(v)).sum();
    let raster: f64 = ecocorridor::io::raster::read_f32(&dir.path().join("population.tif"))
        .unwrap()
        .data()
        .iter()
        .filter(|v| v.is_finite() && **v > 0.0)
        .map(|&v| v as f64)
        .sum();
    assert!(
        (sum - f(&total[0])).abs() < 0.1 * districts.len() as f64,
        "{sum} vs {}",
        total[0]
    );
    assert!(
        (raster - f(&total[0])).abs() < 0.1,
        "{raster} vs {}",
        total[0]
    );
    let summary = table(&out.join("summary.csv"));
    assert_eq!(
        col(&summary, "access_now_pct")[0],
        col(&access, "covered_pct").last().unwrap().as_str()
    );
    assert!(f(&col(&summary, "access_now_pct")[0]) > 0.0);
}

/// Park access in the objective: a plan asked for it buys parks that bring residents within
/// the walk (measured, with the model's estimate beside it), byte-identical at 1 and 2
/// threads; a minimum share beyond what the parks can give is infeasible; the options refuse
/// values out of range and a scenario without `[access]`.
/// Runs `sc` with 1 and 2 threads into `dir/out1` and `dir/out2`; the plan's tables must be
/// byte-identical.
fn run_with_one_and_two_threads(dir: &Path, sc: &Path) -> Vec<std::path::PathBuf> {
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.join(format!("out{threads}"));
        let r = run_threads("run", sc, &out, threads);
        assert_eq!(r.code, 0, "{}", r.stderr);
        outputs.push(out);
    }
    for name in ["summary.csv", "sites.csv", "access.csv"] {
        assert_eq!(
            fs::read(outputs[0].join(name)).unwrap(),
            fs::read(outputs[1].join(name)).unwrap(),
            "{name} depends on the thread count"
        );
    }
    outputs
}

#[test]
fn park_access_in_the_objective_is_bought_measured_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), 140);
    let text = fs::read_to_string(&sc).unwrap();
    assert!(
        text.contains("[access]"),
        "synth 140 x 140 seed 5 has a park"
    );
    let with = |extra: &str, name: &str| {
        let p = dir.path().join(name);
        fs::write(
            &p,
            text.replacen("[optimize]\n", &format!("[optimize]\n{extra}"), 1),
        )
        .unwrap();
        p
    };
    let sc = with("access_weight = 0.6\n", "access.toml");
    let outputs = run_with_one_and_two_threads(dir.path(), &sc);
    let summary = table(&outputs[0].join("summary.csv"));
    let gained = f(&col(&summary, "persons_gained")[0]);
    let model = f(&col(&summary, "persons_gained_model")[0]);
    assert!(
        gained > 0.0 && model > 0.0,
        "gained {gained}, model {model}"
    );
    let sites = table(&outputs[0].join("sites.csv"));
    let parks_chosen = col(&sites, "park")
        .iter()
        .zip(col(&sites, "selected"))
        .filter(|(p, s)| *p == "1" && s == "1")
        .count();
    assert!(parks_chosen > 0);
    // Every resident is within the walk: more than the parks can give.
    let all = with("min_access_pct = 100\n", "all.toml");
    let r = run_quiet("run", &all, &dir.path().join("all"));
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("within the walk of a park, but every allowed candidate park site"),
        "{}",
        r.stderr
    );
    let bad = with("min_access_pct = 120\n", "bad.toml");
    let r = run(&["validate", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("min_access_pct = 120"), "{}", r.stderr);
    let start = text.find("[access]").unwrap();
    let end = text[start + 1..]
        .find("\n[")
        .map_or(text.len(), |e| start + 1 + e);
    let no_access = dir.path().join("no_access.toml");
    fs::write(
        &no_access,
        format!("{}{}", &text[..start], &text[end..]).replacen(
            "[optimize]\n",
            "[optimize]\naccess_weight = 0.5\n",
            1,
        ),
    )
    .unwrap();
    let r = run(&["validate", no_access.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("needs park access"), "{}", r.stderr);
}

#[test]
fn cheap_footbridges_are_bought_for_park_access_and_measured() {
    let dir = tempfile::tempdir().unwrap();
    // Synth 250 x 250, seed 5: a river 90 m wide between a park and houses beyond the walk.
    let sc = scenario(dir.path(), 250);
    let text = fs::read_to_string(&sc)
        .unwrap()
        .replacen("[optimize]\n", "[optimize]\naccess_weight = 0.9\n", 1)
        .replacen(
            "[access]\n",
            "[access]\nfootbridge_cost_yuan_per_m = 1.0\n",
            1,
        );
    let sc = dir.path().join("bridges.toml");
    fs::write(&sc, &text).unwrap();
    let outputs = run_with_one_and_two_threads(dir.path(), &sc);
    let sites = table(&outputs[0].join("sites.csv"));
    let bridges: Vec<usize> = col(&sites, "footbridge")
        .iter()
        .enumerate()
        .filter(|(_, b)| *b == "1")
        .map(|(k, _)| k)
        .collect();
    assert!(
        !bridges.is_empty(),
        "the synthetic town has a river to bridge"
    );
    let selected = col(&sites, "selected");
    let chosen = bridges.iter().filter(|&&k| selected[k] == "1").count();
    assert!(chosen > 0, "footbridges at 1 yuan/m are bought");
    for &k in &bridges {
        // No area, carbon or connectivity; their reach is the model's estimate.
        assert_eq!(col(&sites, "area_ha")[k], "0.0000");
        assert_eq!(col(&sites, "carbon_tco2e")[k], "0.000");
        assert!(f(&col(&sites, "park_reach_persons")[k]) > 0.0);
    }
    let summary = table(&outputs[0].join("summary.csv"));
    assert_eq!(col(&summary, "footbridges_selected")[0], chosen.to_string());
    let gained = f(&col(&summary, "persons_gained")[0]);
    assert!(gained > 0.0, "gained {gained}");
}

/// The corridor stage gives what it gave before its runs were bounded by their finished
/// partners (ecocorridor 51168cd, the digests below), with one and two threads: the same
/// corridors, LCDs, ratios and least-cost paths on a fixed synthetic landscape (700 x 700
/// cells, seed 23, 26 corridors). A change that moves any of them must say why and update
/// the digests.
#[test]
fn corridor_stage_is_unchanged_from_the_reference_version() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let sc = synth(&dir.path().join("in"), 700, 700, 23);
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("out{threads}"));
        let r = run_threads("corridors", &sc, &out, threads);
        assert_eq!(r.code, 0, "{}", r.stderr);
        for (file, want) in [
            (
                "corridors.csv",
                "0c6b4b838c20255e8730d4c7a23cb76facc52ab3f49c9cd6a65f0d71b75b9429",
            ),
            (
                "corridors.geojson",
                "fa3bfd112cda2f58c8abf1907b87ddbbfa0162bf30796298ee8e23a88d86d9f4",
            ),
        ] {
            let got = format!(
                "{:x}",
                sha2::Sha256::digest(fs::read(out.join(file)).unwrap())
            );
            assert_eq!(got, want, "{file} with {threads} threads");
        }
    }
}
