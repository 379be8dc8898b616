//! The stage commands on synthetic scenarios: values against hand computation, tables against
//! rasters, identical outputs whatever the thread count.

use std::fs;
use std::path::Path;

use ecocorridor::io::raster::{open_raster, read_f32};

use crate::util::{run, synth};

fn append(scenario: &Path, text: &str) {
    let mut t = fs::read_to_string(scenario).unwrap();
    // synth writes a [sources] table last; a test's own [sources] replaces it.
    if text.contains("[sources]") {
        if let Some(at) = t.find("\n[sources]") {
            t.truncate(at + 1);
        }
    }
    t.push_str(text);
    fs::write(scenario, t).unwrap();
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let bytes = fs::read(path).unwrap();
    assert_eq!(
        &bytes[..3],
        b"\xEF\xBB\xBF",
        "{} lacks the UTF-8 BOM",
        path.display()
    );
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn resistance_equals_the_hand_formula_in_every_cell() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 80, 90, 4);
    append(&scenario, "\n[resistance]\nclass_weight = 0.6\n[resistance.zone_multipliers]\nurban_boundary = 2.0\necological_redline = 0.5\n");
    let out = dir.path().join("out");
    let r = run(&[
        "resistance",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Hand computation from the inputs.
    let lc: Vec<f64> = open_raster(&dir.path().join("landcover.tif"))
        .unwrap()
        .read_with(|v, _| Ok(v))
        .unwrap();
    let slope = read_f32(&dir.path().join("slope.tif")).unwrap();
    let classes =
        ecocorridor::classes::ClassTable::read(&dir.path().join("landcover_classes.csv")).unwrap();
    let grid = slope.grid().clone();
    let mut mult = vec![1.0f64; grid.len()];
    for (name, m) in [
        ("urban_boundary.geojson", 2.0),
        ("ecological_redline.geojson", 0.5),
    ] {
        let layer = ecocorridor::io::vector::read_geojson(&dir.path().join(name)).unwrap();
        let mut inside = vec![false; grid.len()];
        for f in &layer.features {
            ecocorridor::io::vector::burn_polygons(&grid, &f.geometry, |i| inside[i] = true);
        }
        for (k, &b) in inside.iter().enumerate() {
            if b {
                mult[k] *= m;
            }
        }
    }
    let score = |s: f32| {
        if s.is_nan() || s < 8.0 {
            1.0
        } else if s < 15.0 {
            10.0
        } else if s < 25.0 {
            30.0
        } else {
            60.0
        }
    };
    let res = read_f32(&out.join("resistance.tif")).unwrap();
    let mut checked = 0;
    for i in 0..grid.len() {
        let got = res.data()[i];
        if lc[i] == 0.0 {
            assert!(
                got.is_nan(),
                "cell {i} outside the study area must be nodata"
            );
            continue;
        }
        let class = classes.get(classes.index_of(lc[i] as u32).unwrap());
        match class.resistance {
            ecocorridor::classes::ClassResistance::Barrier => assert!(got.is_nan()),
            ecocorridor::classes::ClassResistance::Finite(rc) => {
                let want = ((0.6 * rc + 0.3 * score(slope.data()[i])) * mult[i]) as f32;
                assert_eq!(
                    got,
                    want,
                    "cell {i}: class {} slope {}",
                    class.code,
                    slope.data()[i]
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 1000);
    let stats = csv_rows(&out.join("resistance_stats.csv"));
    assert!(stats
        .iter()
        .any(|r| r[0] == "zone" && r[2] == "urban_boundary" && r[3] == "城镇开发边界"));
}

#[test]
fn patches_csv_agrees_with_sources_tif() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 150, 150, 2);
    append(
        &scenario,
        "\n[sources]\nmin_area_ha = 5\nedge_width_m = 45\n",
    );
    let out = dir.path().join("out");
    let r = run(&[
        "sources",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ids: Vec<f64> = open_raster(&out.join("sources.tif"))
        .unwrap()
        .read_with(|v, _| Ok(v))
        .unwrap();
    let rows = csv_rows(&out.join("patches.csv"));
    assert!(!rows.is_empty());
    for row in &rows {
        let id: f64 = row[0].parse().unwrap();
        let cells = ids.iter().filter(|&&v| v == id).count() as f64;
        let area: f64 = row[1].parse().unwrap();
        let core: f64 = row[2].parse().unwrap();
        assert!(
            (area - cells * 0.09).abs() < 1e-6,
            "patch {id}: {area} ha vs {cells} cells"
        );
        assert!(area >= 5.0 && core <= area && core >= 0.0);
        assert!(row[9].len() >= 3, "dominant class code {}", row[9]);
    }
    assert_eq!(
        ids.iter()
            .filter(|&&v| v > 0.0)
            .map(|&v| v as usize)
            .max()
            .unwrap(),
        rows.len()
    );
}

#[test]
fn outputs_are_byte_identical_with_one_or_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 120, 100, 8);
    append(
        &scenario,
        "\n[sources]\nmin_area_ha = 2\nedge_width_m = 30\n",
    );
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for (out, threads) in [(&a, "1"), (&b, "2")] {
        for cmd in ["resistance", "sources"] {
            let r = run(&[
                cmd,
                scenario.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--threads",
                threads,
                "--quiet",
            ]);
            assert_eq!(r.code, 0, "{}", r.stderr);
        }
    }
    for name in [
        "resistance.tif",
        "resistance_stats.csv",
        "sources.tif",
        "patches.csv",
    ] {
        assert!(
            fs::read(a.join(name)).unwrap() == fs::read(b.join(name)).unwrap(),
            "{name} differs"
        );
    }
}

#[test]
fn the_demo_has_nine_sources() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.toml");
    let dir = tempfile::tempdir().unwrap();
    let r = run(&[
        "sources",
        demo.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("9 ecological source patches"),
        "{}",
        r.stderr
    );
}

#[test]
fn sources_from_a_polygon_layer_use_the_id_field() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 60, 60, 1);
    let text = fs::read_to_string(&scenario).unwrap();
    let text = &text[..text.find("\n[sources]").unwrap()];
    let g = open_raster(&dir.path().join("landcover.tif"))
        .unwrap()
        .header()
        .grid
        .clone();
    let (x0, y0) = (g.origin_x(), g.origin_y());
    let square = |id: u32, c0: f64, r0: f64, n: f64| {
        let (xa, ya, xb, yb) = (
            x0 + c0 * 30.0,
            y0 - r0 * 30.0,
            x0 + (c0 + n) * 30.0,
            y0 - (r0 + n) * 30.0,
        );
        format!(
            r#"{{"type":"Feature","properties":{{"park_id":{id}}},"geometry":{{"type":"Polygon","coordinates":[[[{xa},{ya}],[{xb},{ya}],[{xb},{yb}],[{xa},{yb}],[{xa},{ya}]]]}}}}"#
        )
    };
    fs::write(
        dir.path().join("parks.geojson"),
        format!(
            r#"{{"type":"FeatureCollection","features":[{},{}]}}"#,
            square(17, 20.0, 20.0, 5.0),
            square(4, 30.0, 30.0, 3.0)
        ),
    )
    .unwrap();
    fs::write(&scenario, format!("{text}\n[sources]\nmethod = \"polygons\"\npath = \"parks.geojson\"\nid_field = \"park_id\"\n")).unwrap();
    let out = dir.path().join("out");
    let r = run(&[
        "sources",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = csv_rows(&out.join("patches.csv"));
    let got: Vec<(String, String)> = rows.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    assert_eq!(
        got,
        vec![
            ("4".to_string(), "0.8100".to_string()),
            ("17".to_string(), "2.2500".to_string())
        ]
    );
}
