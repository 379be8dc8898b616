//! The stage commands on synthetic scenarios: values against hand computation, tables against
//! rasters, identical outputs whatever the thread count.

use std::fs;
use std::path::Path;

use ecocorridor::io::raster::{open_raster, read_f32};

use crate::util::{run, run_threads, synth};

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
        .read_with(|v, _| Ok::<_, std::convert::Infallible>(v))
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
        .read_with(|v, _| Ok::<_, std::convert::Infallible>(v))
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
            let r = run_threads(cmd, &scenario, out, threads);
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

#[test]
fn corridors_of_the_demo_are_written_consistently() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.toml");
    let dir = tempfile::tempdir().unwrap();
    let r = run(&[
        "corridors",
        demo.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = csv_rows(&dir.path().join("corridors.csv"));
    assert!(rows.len() >= 9, "{} corridors", rows.len());
    let patches = csv_rows(&dir.path().join("patches.csv")).len();
    let gj: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("corridors.geojson")).unwrap())
            .unwrap();
    assert_eq!(gj["features"].as_array().unwrap().len(), rows.len());
    assert_eq!(
        gj["crs"]["properties"]["name"],
        "urn:ogc:def:crs:EPSG::4545"
    );
    let cost = read_f32(&dir.path().join("cost_distance.tif")).unwrap();
    let nlcc = read_f32(&dir.path().join("corridors.tif")).unwrap();
    for row in &rows {
        let (from, to): (usize, usize) = (row[1].parse().unwrap(), row[2].parse().unwrap());
        assert!(from < to && to <= patches);
        let (lcd, len, euclid): (f64, f64, f64) = (
            row[3].parse().unwrap(),
            row[4].parse().unwrap(),
            row[5].parse().unwrap(),
        );
        assert!(lcd > 0.0 && len >= euclid && len > 0.0, "{row:?}");
        assert!((row[6].parse::<f64>().unwrap() - lcd / len).abs() < 1e-3 * lcd / len);
        assert_eq!(row[8], "0", "drop_crossing is on by default");
    }
    // Every corridor path vertex lies in the corridor zone (NLCC within the default width).
    let g = nlcc.grid().clone();
    for f in gj["features"].as_array().unwrap() {
        for p in f["geometry"]["coordinates"].as_array().unwrap() {
            let (x, y) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
            let (c, r) = (
                ((x - g.origin_x()) / 30.0) as usize,
                ((g.origin_y() - y) / 30.0) as usize,
            );
            let v = *nlcc.get(r, c);
            assert!(
                (0.0..1.0).contains(&v),
                "path vertex ({x}, {y}) has NLCC {v}"
            );
        }
    }
    // Source cells cost 0, others more; outside the study area nothing is reached.
    let src: Vec<f64> = open_raster(&dir.path().join("sources.tif"))
        .unwrap()
        .read_with(|v, _| Ok::<_, std::convert::Infallible>(v))
        .unwrap();
    for (i, &s) in src.iter().enumerate() {
        if s > 0.0 {
            assert_eq!(cost.data()[i], 0.0);
        }
    }
}

#[test]
fn costdist_on_own_rasters_matches_the_library_and_writes_the_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let g = ecocorridor::grid::Grid::new(
        3,
        4,
        10.0,
        0.0,
        30.0,
        ecocorridor::Crs::projected_epsg(32650),
    )
    .unwrap();
    let res = [
        1.0f32, 2.0, 3.0, 4.0, 1.0, 1.0, -9999.0, 1.0, 5.0, 1.0, 1.0, 1.0,
    ];
    ecocorridor::io::geotiff::write_geotiff(&dir.path().join("r.tif"), &g, &res, Some(-9999.0))
        .unwrap();
    let src = [1u32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    ecocorridor::io::geotiff::write_geotiff(&dir.path().join("s.tif"), &g, &src, Some(0.0))
        .unwrap();
    let out = dir.path().join("cwd.tif");
    let alloc = dir.path().join("alloc.tif");
    let r = run(&[
        "costdist",
        "--resistance",
        dir.path().join("r.tif").to_str().unwrap(),
        "--sources",
        dir.path().join("s.tif").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--allocation",
        alloc.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cwd = read_f32(&out).unwrap();
    // Hand values: cell 1 = 10 * (1 + 2) / 2 = 15; cell 4 = 10 * (1 + 1) / 2 = 10; the
    // nodata cell 6 is unreached; cell 10 is one step from source 2 = 10.
    assert_eq!(
        (
            cwd.data()[0],
            cwd.data()[1],
            cwd.data()[4],
            cwd.data()[10],
            cwd.data()[11]
        ),
        (0.0, 15.0, 10.0, 10.0, 0.0)
    );
    assert!(cwd.data()[6].is_nan());
    let a: Vec<f64> = open_raster(&alloc)
        .unwrap()
        .read_with(|v, _| Ok::<_, std::convert::Infallible>(v))
        .unwrap();
    assert_eq!((a[0], a[11], a[4], a[7]), (1.0, 2.0, 1.0, 2.0));
    // The same through an ESRI ASCII grid.
    ecocorridor::io::ascii::write_ascii(
        &dir.path().join("r.asc"),
        &g,
        &res.map(|v| if v < 0.0 { f32::NAN } else { v }),
        -9999.0,
    )
    .unwrap();
    let out2 = dir.path().join("cwd2.tif");
    let r = run(&[
        "costdist",
        "--resistance",
        dir.path().join("r.asc").to_str().unwrap(),
        "--sources",
        dir.path().join("s.tif").to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read_f32(&out2).unwrap().data()[..6], cwd.data()[..6]);
}

#[test]
fn costdist_refuses_zero_resistance_and_empty_sources() {
    let dir = tempfile::tempdir().unwrap();
    let g = ecocorridor::grid::Grid::new(
        2,
        2,
        10.0,
        0.0,
        20.0,
        ecocorridor::Crs::projected_epsg(32650),
    )
    .unwrap();
    ecocorridor::io::geotiff::write_geotiff(
        &dir.path().join("r.tif"),
        &g,
        &[1.0f32, 0.0, 1.0, 1.0],
        None,
    )
    .unwrap();
    ecocorridor::io::geotiff::write_geotiff(&dir.path().join("s.tif"), &g, &[1u32, 0, 0, 0], None)
        .unwrap();
    ecocorridor::io::geotiff::write_geotiff(&dir.path().join("empty.tif"), &g, &[0u32; 4], None)
        .unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let r = run(&[
        "costdist",
        "--resistance",
        &p("r.tif"),
        "--sources",
        &p("s.tif"),
        "--out",
        &p("o.tif"),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("1 cell(s) <= 0, the first 0 at row 0, column 1")
            && r.stderr.contains("nodata"),
        "{}",
        r.stderr
    );
    ecocorridor::io::geotiff::write_geotiff(&dir.path().join("r.tif"), &g, &[1.0f32; 4], None)
        .unwrap();
    let r = run(&[
        "costdist",
        "--resistance",
        &p("r.tif"),
        "--sources",
        &p("empty.tif"),
        "--out",
        &p("o.tif"),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("has no source cell"), "{}", r.stderr);
    let r = run(&[
        "costdist",
        "--resistance",
        &p("r.tif"),
        "--sources",
        &p("s.tif"),
        "--out",
        &p("o.tif"),
        "--max-cwd",
        "-5",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--max-cwd -5"), "{}", r.stderr);
    assert!(
        !dir.path().join("o.tif").exists(),
        "a refused run writes nothing"
    );
}

#[test]
fn network_command_gives_the_hand_computed_indices_from_csv_or_conefor_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    fs::write(p("P.csv"), "patch_id,area_ha\n1,10\n2,20\n").unwrap();
    fs::write(p("L.csv"), "from_patch,to_patch,lcd\n1,2,1000\n").unwrap();
    fs::write(p("nodes.txt"), "1 10\n2 20\n").unwrap();
    fs::write(p("distances.txt"), "1 2 1000\n").unwrap();
    for (patches, links, out) in [("P.csv", "L.csv", "a"), ("nodes.txt", "distances.txt", "b")] {
        let r = run(&[
            "network",
            "--patches",
            &p(patches),
            "--links",
            &p(links),
            "--landscape-area-ha",
            "100",
            "--d50",
            "1000",
            "--out",
            &p(out),
            "--quiet",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    // PC = (100 + 400 + 2 * 200 * 0.5) / 100^2 = 0.07; ECA = sqrt(700).
    let idx = csv_rows(&dir.path().join("a/indices.csv"));
    assert_eq!(idx[0][1], "7.000000e-2");
    assert_eq!(idx[0][2], "26.4575");
    let nodes = csv_rows(&dir.path().join("a/patches_network.csv"));
    assert_eq!(
        &nodes[0][3..7],
        &["42.857143", "14.285714", "28.571429", "0.000000"]
    );
    for name in ["indices.csv", "patches_network.csv", "links_network.csv"] {
        assert!(
            fs::read(dir.path().join("a").join(name)).unwrap()
                == fs::read(dir.path().join("b").join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn network_command_refuses_bad_networks() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    fs::write(p("P.csv"), "patch_id,area_ha\n1,10\n2,20\n").unwrap();
    let cases: [(&str, &str, &str, &[&str]); 4] = [
        (
            "from_patch,to_patch,lcd\n1,9,5\n",
            "100",
            "1000",
            &[
                "L.csv",
                "line 2",
                "patch `9`, which is not in the patch table",
            ],
        ),
        (
            "from_patch,to_patch,lcd\n1,2,0\n",
            "100",
            "1000",
            &["`lcd` is 0", "distances must be finite and > 0"],
        ),
        (
            "from_patch,to_patch,lcd\n1,2,5\n",
            "100",
            "0",
            &["d50 = 0", "> 0"],
        ),
        (
            "from_patch,to_patch,lcd\n1,2,5\n",
            "20",
            "1000",
            &["landscape area 20 ha is smaller than the patches' total 30.00 ha"],
        ),
    ];
    for (links, area, d50, needles) in cases {
        fs::write(p("L.csv"), links).unwrap();
        let r = run(&[
            "network",
            "--patches",
            &p("P.csv"),
            "--links",
            &p("L.csv"),
            "--landscape-area-ha",
            area,
            "--d50",
            d50,
            "--out",
            &p("o"),
        ]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        for n in needles {
            assert!(r.stderr.contains(n), "missing {n:?} in {}", r.stderr);
        }
    }
    assert!(!dir.path().join("o").exists(), "refused runs write nothing");
}

#[test]
fn network_on_a_scenario_joins_importance_and_accounts_carbon() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.toml");
    let dir = tempfile::tempdir().unwrap();
    let r = run(&[
        "network",
        demo.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let idx = csv_rows(&dir.path().join("indices.csv"));
    let (iic, pc, eca): (f64, f64, f64) = (
        idx[0][0].parse().unwrap(),
        idx[0][1].parse().unwrap(),
        idx[0][2].parse().unwrap(),
    );
    let al: f64 = idx[0][3].parse().unwrap();
    assert!(iic > 0.0 && pc > 0.0 && (eca - (pc * al * al).sqrt()).abs() < 1e-3 * eca);
    let patches = csv_rows(&dir.path().join("patches.csv"));
    for p in &patches {
        let v: Vec<f64> = p[12..17].iter().map(|x| x.parse().unwrap()).collect();
        assert!(
            (v[1] - (v[2] + v[3] + v[4])).abs() < 1e-5,
            "dPC parts of patch {} do not sum: {v:?}",
            p[0]
        );
        assert!(v[1] > 0.0 && v[1] <= 100.0);
    }
    let corridors = csv_rows(&dir.path().join("corridors.csv"));
    assert!(
        corridors.iter().any(|c| c[12] == "1") && corridors.iter().any(|c| c[12] == "0"),
        "the important flag splits corridors"
    );
    // Carbon: class rows sum to the total row, and the total equals the sum of carbon.tif.
    let zones = csv_rows(&dir.path().join("zones.csv"));
    let total: f64 = zones.iter().find(|z| z[0] == "total").unwrap()[5]
        .parse()
        .unwrap();
    let classes: f64 = zones
        .iter()
        .filter(|z| z[0] == "class")
        .map(|z| z[5].parse::<f64>().unwrap())
        .sum();
    assert!((total - classes).abs() < 1e-6 * total);
    let tif: f64 = read_f32(&dir.path().join("carbon.tif"))
        .unwrap()
        .data()
        .iter()
        .filter(|v| !v.is_nan())
        .map(|&v| v as f64)
        .sum();
    assert!(
        (tif - total).abs() < 1e-5 * total,
        "carbon.tif sums to {tif}, zones.csv says {total}"
    );
    let tco2e: f64 = zones.iter().find(|z| z[0] == "total").unwrap()[6]
        .parse()
        .unwrap();
    assert!((tco2e - total * 44.0 / 12.0).abs() < 1e-3 * tco2e.abs().max(1.0));
}

#[test]
fn network_needs_a_scenario_or_all_table_flags() {
    let r = run(&["network", "--patches", "P.csv"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("missing: --links, --landscape-area-ha, --d50, --out"),
        "{}",
        r.stderr
    );
}

#[test]
fn assess_reports_the_hand_computed_transition_and_the_change_in_connectivity() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 120, 120, 5);
    append(&scenario, "\n[sources]\nmin_area_ha = 2\n");
    append(&scenario, "\n[network]\nd50 = 50000.0\n");
    // The later year: the first 200 dry-land cells (103) afforested (301).
    let r = open_raster(&dir.path().join("landcover.tif")).unwrap();
    let g = r.header().grid.clone();
    let mut lc: Vec<u16> = r
        .read_with(|v, _| Ok::<_, std::convert::Infallible>(v as u16))
        .unwrap();
    let mut n = 0;
    for v in lc.iter_mut() {
        if *v == 103 && n < 200 {
            *v = 301;
            n += 1;
        }
    }
    assert_eq!(n, 200);
    ecocorridor::io::geotiff::write_geotiff(&dir.path().join("after.tif"), &g, &lc, Some(0.0))
        .unwrap();
    let out = dir.path().join("out");
    let r = run(&[
        "assess",
        scenario.to_str().unwrap(),
        "--before",
        dir.path().join("landcover.tif").to_str().unwrap(),
        "--after",
        dir.path().join("after.tif").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let t = csv_rows(&out.join("transitions.csv"));
    let row = t
        .iter()
        .find(|r| r[0] == "103" && r[3] == "301")
        .expect("a 103 -> 301 row");
    // 200 cells of 0.09 ha; stock 163 - 65.7 = 97.3 t C/ha.
    assert_eq!(row[6], "18.0000");
    assert_eq!(row[7], format!("{:.3}", 200.0 * 0.09 * 97.3));
    let changed: usize = t.iter().filter(|r| r[0] != r[3]).count();
    assert_eq!(changed, 1, "only one transition changes class");
    let c = csv_rows(&out.join("carbon_change.csv"));
    let total = c.iter().find(|r| r[0] == "total").unwrap();
    assert!(
        (total[6].parse::<f64>().unwrap() - 200.0 * 0.09 * 97.3).abs() < 0.01,
        "{total:?}"
    );
    let idx = csv_rows(&out.join("indices_change.csv"));
    assert_eq!(
        idx.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        vec!["iic", "pc", "eca_ha"]
    );
    let eca_change: f64 = idx[2][3].parse().unwrap();
    assert!(
        eca_change > 0.0,
        "more forest, more connected habitat: {idx:?}"
    );
}

#[test]
fn assess_refuses_years_on_different_grids() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 40, 40, 5);
    let r = open_raster(&dir.path().join("landcover.tif")).unwrap();
    let g = r.header().grid.clone();
    let lc: Vec<u16> = r
        .read_with(|v, _| Ok::<_, std::convert::Infallible>(v as u16))
        .unwrap();
    let shifted = ecocorridor::grid::Grid::new(
        40,
        40,
        30.0,
        g.origin_x() + 30.0,
        g.origin_y(),
        g.crs().clone(),
    )
    .unwrap();
    ecocorridor::io::geotiff::write_geotiff(
        &dir.path().join("after.tif"),
        &shifted,
        &lc,
        Some(0.0),
    )
    .unwrap();
    let out = dir.path().join("out");
    let r = run(&[
        "assess",
        scenario.to_str().unwrap(),
        "--before",
        dir.path().join("landcover.tif").to_str().unwrap(),
        "--after",
        dir.path().join("after.tif").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("after.tif")
            && r.stderr.contains("does not line up")
            && r.stderr.contains("gdalwarp"),
        "{}",
        r.stderr
    );
    assert!(!out.exists(), "a refused assessment writes nothing");
}

#[test]
fn optimize_command_picks_the_best_plan_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    fs::write(
        p("S.csv"),
        "site_id,cost_yuan,area_ha,carbon_tco2e,benefit,zone,district,locked\nA,100,1,10,0,,east,\nB,200,2,30,0,,east,\nC,200,2,25,0,permanent_farmland,west,\nGAP,50,1,0,0,,west,\n",
    )
    .unwrap();
    fs::write(
        p("C.csv"),
        "connector_id,cost_yuan,carbon_tco2e,benefit,gap_sites\nL1,10,0,5,GAP\n",
    )
    .unwrap();
    let r = run(&[
        "optimize",
        "--sites",
        &p("S.csv"),
        "--connectors",
        &p("C.csv"),
        "--budget-yuan",
        "360",
        "--weights",
        "1,1",
        "--write-model",
        &p("m.lp"),
        "--out",
        &p("out"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // C is in permanent basic farmland (forbidden by default). With 360 yuan: B (30 t) + GAP +
    // L1 (the only benefit) costs 260, adding A (10 t) makes 360.
    let sites = csv_rows(&dir.path().join("out/sites.csv"));
    let sel: Vec<(&str, &str)> = sites
        .iter()
        .map(|r| (r[0].as_str(), r[8].as_str()))
        .collect();
    assert_eq!(sel, vec![("A", "1"), ("B", "1"), ("C", "0"), ("GAP", "1")]);
    let conns = csv_rows(&dir.path().join("out/connectors.csv"));
    assert_eq!(conns[0][7], "1");
    let summary = csv_rows(&dir.path().join("out/summary.csv"));
    assert_eq!(summary[0][0], "optimal");
    assert_eq!(summary[0][2], "360.00");
    let ratio: f64 = summary[0][13].parse().unwrap();
    assert!(ratio >= 1.0 - 1e-9, "MILP/greedy {ratio}");
    assert!(fs::read_to_string(p("m.lp"))
        .unwrap()
        .contains(" fixed_x3: + 1 x3 = 0"));
    // Locked-in sites beyond the budget: exit 1, the conflict named.
    fs::write(
        p("S2.csv"),
        "site_id,cost_yuan,area_ha,carbon_tco2e,locked\nA,100,1,10,in\nB,200,2,30,in\n",
    )
    .unwrap();
    let r = run(&[
        "optimize",
        "--sites",
        &p("S2.csv"),
        "--budget-yuan",
        "250",
        "--out",
        &p("out2"),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("locked-in sites cost 300 yuan, more than the budget of 250 yuan"),
        "{}",
        r.stderr
    );
    // A table without its columns: exit 2, the columns named.
    fs::write(p("S3.csv"), "id,cost\nA,1\n").unwrap();
    let r = run(&[
        "optimize",
        "--sites",
        &p("S3.csv"),
        "--budget-yuan",
        "250",
        "--out",
        &p("out3"),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("lacks the column(s) site_id, cost_yuan, area_ha, carbon_tco2e"),
        "{}",
        r.stderr
    );
}

/// Column `name` of a table read by `csv_rows` with its header.
fn column(path: &Path, name: &str) -> Vec<String> {
    let bytes = fs::read(path).unwrap();
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let k = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {}", path.display()));
    r.records().map(|x| x.unwrap()[k].to_string()).collect()
}

#[test]
fn optimize_scenario_makes_candidates_and_a_plan_that_keeps_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 160, 160, 5);
    let mut text = fs::read_to_string(&scenario).unwrap();
    text.push_str(
        "\n[candidates]\nparcel_size_m = 150.0\nhorizon_years = 30.0\n\n[optimize]\nbudget_yuan = 3000000.0\n\n[optimize.sweep]\nbudgets_yuan = [500000.0, 1000000.0, 3000000.0, 9000000.0]\ncarbon_weights = [0.0, 1.0]\n",
    );
    fs::write(&scenario, text).unwrap();
    let out = |n: &str| dir.path().join(n);
    let r = run(&[
        "optimize",
        scenario.to_str().unwrap(),
        "--out",
        out("a").to_str().unwrap(),
        "--threads",
        "1",
        "--write-model",
        out("plan.mps").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sites = out("a/sites.csv");
    let cost: Vec<f64> = column(&sites, "cost_yuan")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    let selected = column(&sites, "selected");
    let allowed = column(&sites, "allowed");
    let zones = column(&sites, "zones");
    assert!(cost.len() > 10, "{} candidate sites", cost.len());
    assert!(selected.iter().any(|s| s == "1"));
    // Budget, forbidden zones, gap sites.
    let conn_cost: f64 = column(&out("a/connectors.csv"), "cost_yuan")
        .iter()
        .zip(column(&out("a/connectors.csv"), "selected"))
        .filter(|(_, s)| s == "1")
        .map(|(c, _)| c.parse::<f64>().unwrap())
        .sum();
    let spent: f64 = cost
        .iter()
        .zip(&selected)
        .filter(|(_, s)| *s == "1")
        .map(|(c, _)| c)
        .sum::<f64>()
        + conn_cost;
    assert!(spent <= 3_000_000.0 + 1e-3, "spent {spent}");
    for ((s, a), z) in selected.iter().zip(&allowed).zip(&zones) {
        assert!(!(s == "1" && a == "0"), "a forbidden site was chosen");
        assert_eq!(a == "0", z.contains("permanent_farmland"));
    }
    let ids = column(&sites, "site_id");
    for (gaps, sel) in column(&out("a/connectors.csv"), "gap_sites")
        .iter()
        .zip(column(&out("a/connectors.csv"), "selected"))
    {
        if sel == "1" {
            for g in gaps.split(';').filter(|g| !g.is_empty()) {
                let k = ids.iter().position(|i| i == g).unwrap();
                assert_eq!(selected[k], "1", "connector chosen without gap site {g}");
            }
        }
    }
    let summary = out("a/summary.csv");
    assert_eq!(column(&summary, "status"), vec!["optimal"]);
    // The sweep: per weight, the objective never falls as the budget grows.
    let pareto = out("a/pareto.csv");
    let w = column(&pareto, "carbon_weight");
    let obj: Vec<f64> = column(&pareto, "objective")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    for weight in ["0.0000", "1.0000"] {
        let series: Vec<f64> = w
            .iter()
            .zip(&obj)
            .filter(|(x, _)| *x == weight)
            .map(|(_, &o)| o)
            .collect();
        assert_eq!(series.len(), 4);
        assert!(series.windows(2).all(|p| p[1] >= p[0] - 1e-9), "{series:?}");
    }
    // One polygon per site; the site raster holds every site's cells.
    let gj: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out("a/sites.geojson")).unwrap()).unwrap();
    assert_eq!(gj["features"].as_array().unwrap().len(), ids.len());
    let tif = ecocorridor::io::raster::open_raster(&out("a/sites.tif")).unwrap();
    let cell_ha = tif.header().grid.cell_area_ha();
    let v: Vec<u32> = tif
        .read_with(|v, _| Ok::<_, std::convert::Infallible>(v as u32))
        .unwrap();
    let area: f64 = column(&sites, "area_ha")
        .iter()
        .map(|a| a.parse::<f64>().unwrap())
        .sum();
    let cells = v.iter().filter(|&&x| x != 0).count() as f64;
    assert!((cells * cell_ha - area).abs() < 1e-3 * area.max(1.0));
    assert!(fs::read_to_string(out("plan.mps"))
        .unwrap()
        .starts_with("NAME ecocorridor\nOBJSENSE\n    MAX\n"));
    // Same tables with two threads.
    let r = run(&[
        "optimize",
        scenario.to_str().unwrap(),
        "--out",
        out("b").to_str().unwrap(),
        "--threads",
        "2",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for t in [
        "sites.csv",
        "connectors.csv",
        "summary.csv",
        "pareto.csv",
        "sites.geojson",
    ] {
        assert_eq!(
            fs::read(out("a").join(t)).unwrap(),
            fs::read(out("b").join(t)).unwrap(),
            "{t} differs between 1 and 2 threads"
        );
    }
    // A minimum carbon beyond every candidate: exit 1 and the reason; no budget: exit 2.
    let r = run(&[
        "optimize",
        scenario.to_str().unwrap(),
        "--out",
        out("c").to_str().unwrap(),
        "--carbon-min-tco2e",
        "1e12",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("exceeds what all allowed candidates together give"),
        "{}",
        r.stderr
    );
    let text = fs::read_to_string(&scenario)
        .unwrap()
        .replace("budget_yuan = 3000000.0\n", "");
    fs::write(&scenario, text).unwrap();
    let r = run(&[
        "optimize",
        scenario.to_str().unwrap(),
        "--out",
        out("d").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no budget: set [optimize] budget_yuan"),
        "{}",
        r.stderr
    );
}

fn square(x0: f64, y0: f64, side: f64, props: &str) -> String {
    format!(
        r#"{{"type":"Feature","properties":{props},"geometry":{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}}}"#,
        x1 = x0 + side,
        y1 = y0 + side
    )
}

#[test]
fn given_parcels_are_the_candidates_and_overlaps_exclude_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 120, 120, 5);
    let grid = ecocorridor::io::raster::open_raster(&dir.path().join("landcover.tif"))
        .unwrap()
        .header()
        .grid
        .clone();
    let (x, y) = (grid.origin_x() + 1200.0, grid.min_y() + 1200.0);
    let layer = format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::4545"}}}},"features":[{},{},{}]}}"#,
        square(x, y, 600.0, r#"{"pid":"north","cost":1000}"#),
        square(x + 300.0, y, 600.0, r#"{"pid":"east","cost":1000}"#),
        square(x + 1500.0, y + 1500.0, 300.0, r#"{"pid":"far","cost":500}"#),
    );
    fs::write(dir.path().join("parcels.geojson"), layer).unwrap();
    let mut text = fs::read_to_string(&scenario).unwrap();
    text.push_str("\n[candidates]\nparcels = \"parcels.geojson\"\nparcel_id_field = \"pid\"\nparcel_cost_field = \"cost\"\n\n[optimize]\nbudget_yuan = 1e9\ncarbon_weight = 1.0\nforbid_zones = []\n");
    fs::write(&scenario, text).unwrap();
    let out = dir.path().join("out");
    let r = run(&[
        "optimize",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--write-model",
        dir.path().join("m.lp").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sites = out.join("sites.csv");
    assert_eq!(column(&sites, "site_id"), vec!["north", "east", "far"]);
    assert_eq!(
        column(&sites, "cost_yuan"),
        vec!["1000.00", "1000.00", "500.00"]
    );
    let sel = column(&sites, "selected");
    // Both have carbon to gain and the budget is ample: exactly one of the two overlapping.
    assert_eq!((sel[0] == "1") as u8 + (sel[1] == "1") as u8, 1, "{sel:?}");
    assert!(fs::read_to_string(dir.path().join("m.lp"))
        .unwrap()
        .contains(" exclusive_x1_x2: + 1 x1 + 1 x2 <= 1"));
    // Duplicate ids are refused by validate, naming both features.
    let gj = fs::read_to_string(dir.path().join("parcels.geojson")).unwrap();
    fs::write(
        dir.path().join("parcels.geojson"),
        gj.replace("\"east\"", "\"north\""),
    )
    .unwrap();
    let r = run(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("id `north` is used by features 0 and 1"),
        "{}",
        r.stderr
    );
}

/// `optimize --sweep-budgets` replaces the scenario's budget list only: its carbon weights
/// still sweep (they were dropped), and the last lines describe the sweep after the plan.
#[test]
fn sweep_budgets_from_the_command_line_keep_the_scenarios_carbon_weights() {
    let dir = tempfile::tempdir().unwrap();
    let sc = synth(dir.path(), 60, 60, 3);
    append(
        &sc,
        "\n[optimize]\nbudget_yuan = 2000000.0\n\n[optimize.sweep]\nbudgets_yuan = [500000.0]\ncarbon_weights = [0.0, 1.0]\n",
    );
    let out = dir.path().join("o");
    let r = run(&[
        "optimize",
        sc.to_str().unwrap(),
        "--sweep-budgets",
        "1000000,3000000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = csv_rows(&out.join("pareto.csv"));
    let points: Vec<(String, String)> = rows.iter().map(|r| (r[1].clone(), r[2].clone())).collect();
    assert_eq!(
        points,
        [
            ("1000000.00", "0.0000"),
            ("1000000.00", "1.0000"),
            ("3000000.00", "0.0000"),
            ("3000000.00", "1.0000")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(
        lines[lines.len() - 2].starts_with("sweep: 4 runs"),
        "{}",
        r.stderr
    );
    assert!(lines[lines.len() - 1].starts_with("wrote "), "{}", r.stderr);
}

/// Writes a resistance and a regions raster (same 30 m grid) into `dir`.
fn circuit_inputs(dir: &Path, rows: u64, cols: u64, res: &[f32], regions: &[u32]) {
    use ecocorridor::grid::{Crs, Grid};
    use ecocorridor::io::geotiff::write_geotiff;
    let g = Grid::new(
        rows,
        cols,
        30.0,
        500_000.0,
        3_300_000.0,
        Crs::projected_epsg(4545),
    )
    .unwrap();
    let res: Vec<f32> = res
        .iter()
        .map(|&r| if r.is_nan() { -9999.0 } else { r })
        .collect();
    write_geotiff(&dir.join("r.tif"), &g, &res, Some(-9999.0)).unwrap();
    write_geotiff(&dir.join("s.tif"), &g, regions, Some(0.0)).unwrap();
}

#[test]
fn circuit_command_writes_resistances_currents_and_voltages() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    // Two parallel strips of 6 cells (row 1 nodata) between regions 1 and 2, and region 3
    // cut off by nodata.
    let n = 8;
    let nan = f32::NAN;
    let mut res = vec![1.0f32; 3 * n];
    let mut regions = vec![0u32; 3 * n];
    for c in 0..n {
        res[n + c] = nan;
    }
    res[n - 2] = nan;
    res[3 * n - 2] = nan;
    for r in [0, 2] {
        regions[r * n] = 1;
        regions[r * n + n - 3] = 2;
    }
    regions[n - 1] = 3;
    circuit_inputs(dir.path(), 3, n as u64, &res, &regions);
    let args = |out: &str, extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["circuit", "--resistance"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.extend([
            p("r.tif"),
            "--sources".into(),
            p("s.tif"),
            "--out".into(),
            out.into(),
        ]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let go = |a: Vec<String>| run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let r = go(args(&p("all"), &["--four-neighbours"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let t = fs::read_to_string(dir.path().join("all/resistances.csv")).unwrap();
    let lines: Vec<&str> = t.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "from_patch,to_patch,effective_resistance");
    // Two strips of 5 unit edges in parallel: 2.5; region 3 is unreachable.
    let r12: f64 = lines[1].strip_prefix("1,2,").unwrap().parse().unwrap();
    assert!((r12 - 2.5).abs() < 1e-9, "{r12}");
    assert_eq!(&lines[2..], ["1,3,inf", "2,3,inf"]);
    // Half an ampere in each strip; the regions and nodata are nodata.
    let cur = read_f32(&dir.path().join("all/current.tif")).unwrap();
    assert!((cur.data()[2] - 0.5).abs() < 1e-6, "{}", cur.data()[2]);
    assert!((cur.data()[2 * n + 2] - 0.5).abs() < 1e-6);
    assert!(cur.data()[0].is_nan() && cur.data()[n + 2].is_nan());
    assert!(
        !dir.path().join("all/voltages.tif").exists(),
        "voltages only for one pair"
    );
    // One pair from a file: voltages from 2.5 V at region 1 to 0 V at region 2.
    fs::write(dir.path().join("pairs.txt"), "mode include\n2 1\n").unwrap();
    let r = go(args(
        &p("one"),
        &["--four-neighbours", "--pairs", &p("pairs.txt")],
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = read_f32(&dir.path().join("one/voltages.tif")).unwrap();
    assert!((v.data()[0] - 2.5).abs() < 1e-6 && v.data()[n - 3].abs() < 1e-6);
    assert!((v.data()[2] - 1.5).abs() < 1e-6, "{}", v.data()[2]);
    // The same bytes whatever the thread count.
    let mut a1 = vec!["--threads".to_string(), "1".into()];
    a1.extend(args(&p("t1"), &[]));
    let mut a2 = vec!["--threads".to_string(), "2".into()];
    a2.extend(args(&p("t2"), &[]));
    assert_eq!(go(a1).code, 0);
    assert_eq!(go(a2).code, 0);
    for f in ["resistances.csv", "current.tif"] {
        assert_eq!(
            fs::read(dir.path().join("t1").join(f)).unwrap(),
            fs::read(dir.path().join("t2").join(f)).unwrap(),
            "{f} differs between 1 and 2 threads"
        );
    }
    // One-to-all: region 1 with 2 grounded is the pair 1-2 (2.5 ohm, half an ampere per
    // strip); region 3 is alone in its part (not solved, `inf`).
    let r = go(args(
        &p("o2a"),
        &["--four-neighbours", "--mode", "one-to-all"],
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let t = fs::read_to_string(dir.path().join("o2a/focal_resistances.csv")).unwrap();
    let lines: Vec<&str> = t.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "focal_id,others,effective_resistance");
    let r1: f64 = lines[1].strip_prefix("1,1,").unwrap().parse().unwrap();
    assert!((r1 - 2.5).abs() < 1e-9, "{r1}");
    assert_eq!(lines[3], "3,0,inf");
    let cur = read_f32(&dir.path().join("o2a/current.tif")).unwrap();
    // Both runs (1 to 2, 2 to 1) put half an ampere through each strip.
    assert!((cur.data()[2] - 1.0).abs() < 1e-6, "{}", cur.data()[2]);
    let r = go(args(
        &p("bad"),
        &["--mode", "all-to-one", "--pairs", "adjacent"],
    ));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("leave out --pairs"), "{}", r.stderr);
}

#[test]
fn circuit_command_refuses_bad_regions_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let nan = f32::NAN;
    let cases: [(&[f32], &[u32], &str); 3] = [
        (&[1.0, 1.0, 1.0], &[0, 0, 0], "no focal region"),
        (&[1.0, 1.0, 1.0], &[5, 0, 0], "only one focal region (id 5)"),
        (
            &[1.0, 1.0, nan],
            &[1, 0, 2],
            "focal region 2 lies entirely on nodata",
        ),
    ];
    for (res, regions, needle) in cases {
        circuit_inputs(dir.path(), 1, 3, res, regions);
        let r = run(&[
            "circuit",
            "--resistance",
            &p("r.tif"),
            "--sources",
            &p("s.tif"),
            "--out",
            &p("o"),
        ]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains(needle),
            "missing {needle:?} in {}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"));
    }
    // Rasters on different grids: both named, with the gdalwarp fix.
    use ecocorridor::grid::{Crs, Grid};
    let g = Grid::new(
        1,
        4,
        30.0,
        500_000.0,
        3_300_000.0,
        Crs::projected_epsg(4545),
    )
    .unwrap();
    ecocorridor::io::geotiff::write_geotiff(
        &dir.path().join("s4.tif"),
        &g,
        &[1u32, 0, 0, 2],
        Some(0.0),
    )
    .unwrap();
    let r = run(&[
        "circuit",
        "--resistance",
        &p("r.tif"),
        "--sources",
        &p("s4.tif"),
        "--out",
        &p("o"),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("s4.tif") && r.stderr.contains("gdalwarp"),
        "{}",
        r.stderr
    );
    // A resistance <= 0 is named with its cell.
    circuit_inputs(dir.path(), 1, 3, &[1.0, 0.0, 1.0], &[1, 0, 2]);
    let r = run(&[
        "circuit",
        "--resistance",
        &p("r.tif"),
        "--sources",
        &p("s.tif"),
        "--out",
        &p("o"),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("row 0, column 1"), "{}", r.stderr);
    assert!(
        !dir.path().join("o/resistances.csv").exists(),
        "refused runs write nothing"
    );
}
