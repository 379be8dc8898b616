//! The field's reference tools on their own data (`../shared/testdata/`, attribution in its
//! README; the small GRASS example is copied into `tests/fixtures/`).

use std::path::{Path, PathBuf};

use ecocorridor::costdist::{accumulate_cost, CostOptions};
use ecocorridor::io::raster::read_f32;
use ecocorridor::resistance::Resistance;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn testdata() -> Option<PathBuf> {
    crate::util::shared_testdata()
}

#[test]
fn grass_r_cost_manual_example_with_eight_neighbours() {
    // r.cost manual: 7 x 6 cost grid, start at row 5, column 6 (1-based); GRASS 8.2.1 output.
    let input = read_f32(&fixture("rcost_doc_example_input.grassascii")).unwrap();
    let expected = read_f32(&fixture("rcost_doc_example_f.asc")).unwrap();
    let (rows, cols) = (input.grid().rows(), input.grid().cols());
    let res = Resistance::from_values(input.data().to_vec()).unwrap();
    let start = 4 * cols + 5;
    let got = accumulate_cost(rows, cols, 1.0, &res, [(start, 1)], &CostOptions::default());
    assert_eq!(got.cost.len(), expected.data().len(), "one value per cell");
    for (i, (&g, &w)) in got.cost.iter().zip(expected.data()).enumerate() {
        assert!(
            (g as f64 - w as f64).abs() <= 1e-6 * (w as f64).max(1.0),
            "cell ({}, {}): ours {g}, GRASS {w}",
            i / cols,
            i % cols
        );
    }
}

#[test]
fn grass_r_cost_multi_source_on_the_circuitscape_landscape() {
    let Some(data) = testdata() else { return };
    let dir = data.join("circuitscape/mgVerify7");
    let r = read_f32(&dir.join("resistance_TestArea1.asc")).unwrap();
    let oracle = read_f32(&dir.join("oracle_grass_rcost_accum_25src.tif")).unwrap();
    let (rows, cols) = (r.grid().rows(), r.grid().cols());
    let seeds: Vec<(usize, u32)> = std::fs::read_to_string(dir.join("sources25_rowcol.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .enumerate()
        .map(|(k, line)| {
            let f: Vec<usize> = line
                .split(',')
                .take(2)
                .map(|v| v.parse().unwrap())
                .collect();
            (f[0] * cols + f[1], k as u32 + 1)
        })
        .collect();
    assert_eq!(seeds.len(), 25);
    let res = Resistance::from_values(r.data().to_vec()).unwrap();
    let got = accumulate_cost(
        rows,
        cols,
        r.grid().cell_size_m(),
        &res,
        seeds,
        &CostOptions::default(),
    );
    let (mut compared, mut worst) = (0, 0f64);
    assert_eq!(got.cost.len(), oracle.data().len(), "one value per cell");
    for (i, (&g, &w)) in got.cost.iter().zip(oracle.data()).enumerate() {
        let ours_cells = g as f64 / 30.0; // GRASS reports cell units
        if w.is_nan() {
            assert!(
                g.is_infinite(),
                "cell {i}: GRASS leaves it empty, we reached it ({g})"
            );
            continue;
        }
        let rel = (ours_cells - w as f64).abs() / (w as f64).max(1.0);
        worst = worst.max(rel);
        compared += 1;
    }
    eprintln!("r.cost oracle: {compared} cells, largest relative difference {worst:e}");
    assert!(compared > 150_000, "{compared} cells compared");
    assert!(
        worst <= 1e-5,
        "largest relative difference to GRASS r.cost: {worst:e}"
    );
}

#[test]
fn linkage_mapper_demo_cores_match_grass_least_cost_distances() {
    let Some(data) = testdata() else { return };
    if !crate::util::have_gdal() {
        return;
    }
    use ecocorridor::corridors::{build, CorridorOptions, PairRule};
    use ecocorridor::sources::{Patch, Sources};
    let dir = data.join("linkage_mapper_demo");
    let tmp = tempfile::tempdir().unwrap();
    let cores = tmp.path().join("cores.geojson");
    crate::util::sh(
        "ogr2ogr",
        &[
            "-f",
            "GeoJSON",
            cores.to_str().unwrap(),
            dir.join("lm_cores.shp").to_str().unwrap(),
        ],
    );
    let r = read_f32(&dir.join("lm_resistances.tif")).unwrap();
    let grid = r.grid().clone();
    // Cores burned by cell centre, as the oracle's r.cost run had them.
    let layer = ecocorridor::io::vector::read_geojson(&cores).unwrap();
    let mut ids = vec![0u32; grid.len()];
    for f in &layer.features {
        let id = f.properties["core_id"].as_u64().unwrap() as u32;
        ecocorridor::io::vector::burn_polygons(&grid, &f.geometry, |i| ids[i] = id);
    }
    let patch = |id| Patch {
        id,
        cells: 0,
        area_ha: 0.0,
        core_area_ha: 0.0,
        perimeter_m: 0.0,
        centroid_x: 0.0,
        centroid_y: 0.0,
        mean_resistance: 0.0,
        carbon_stock_tc: 0.0,
        dominant_class: 0,
    };
    let sources = Sources {
        ids,
        patches: (1..=6).map(patch).collect(),
    };
    let res = Resistance::from_values(r.into_parts().1).unwrap();
    let opts = CorridorOptions {
        cost: CostOptions {
            max_cwd: Some(1e12),
            corner_cutting: true,
        },
        width: 0.0,
        pairs: PairRule::WithinMaxCwd,
        drop_crossing: false,
        keep_zone_cells: false,
    };
    let net = build(&grid, &res, &sources, &opts).unwrap();
    assert_eq!(net.corridors.len(), 15);
    let oracle = std::fs::read_to_string(dir.join("oracle_grass_rcost_core_cwd.csv")).unwrap();
    let euclid = std::fs::read_to_string(dir.join("distances_lm_cores.txt")).unwrap();
    let (mut worst_lcd, mut worst_euclid) = (0f64, 0f64);
    for c in &net.corridors {
        let want: f64 = oracle
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|f| f[0] == c.from.to_string() && f[1] == c.to.to_string())
            .map(|f| f[2].parse().unwrap())
            .unwrap();
        worst_lcd = worst_lcd.max((c.lcd - want).abs() / want);
        let lm: f64 = euclid
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f[0] == c.from.to_string() && f[1] == c.to.to_string())
            .map(|f| f[2].parse().unwrap())
            .unwrap();
        worst_euclid = worst_euclid.max((c.euclid_m - lm).abs());
    }
    eprintln!("Linkage Mapper demo: largest relative LCD difference to GRASS {worst_lcd:e}; largest edge-to-edge difference to Linkage Mapper's vector distances {worst_euclid:.1} m");
    assert!(
        worst_lcd <= 1e-5,
        "LCD differs from GRASS r.cost by {worst_lcd:e}"
    );
    // Raster edges of cores burned by cell centre lie within a cell (~400 m) of the polygon
    // edges, so edge-to-edge distances may differ by up to about two cells.
    assert!(
        worst_euclid <= 2.0 * grid.cell_size_m(),
        "edge-to-edge distance off by {worst_euclid} m"
    );
}

/// Focal regions from points `id x y` (one cell each, by the cell that contains the point),
/// and the points that fall on a cell already taken: (their id, the id the cell has).
fn point_regions(grid: &ecocorridor::Grid, text: &str) -> (Vec<u32>, Vec<(u32, u32)>) {
    let mut regions = vec![0u32; grid.len()];
    let mut aliases = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<f64> = line
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        let col = ((f[1] - grid.origin_x()) / grid.cell_size_m()).floor() as usize;
        let row = ((grid.origin_y() - f[2]) / grid.cell_size_m()).floor() as usize;
        let cell = row * grid.cols() + col;
        if regions[cell] == 0 {
            regions[cell] = f[0] as u32;
        } else {
            aliases.push((f[0] as u32, regions[cell]));
        }
    }
    (regions, aliases)
}

#[test]
fn circuitscape_sg_verify_17_pairwise_resistances() {
    use ecocorridor::circuit::{pairwise, CircuitOptions, Network};
    let Some(data) = testdata() else { return };
    let dir = data.join("circuitscape/sgVerify17");
    let r = read_f32(&dir.join("raster_331464e2628f.asc")).unwrap();
    let grid = r.grid().clone();
    let (regions, aliases) = point_regions(
        &grid,
        &std::fs::read_to_string(dir.join("sites.txt")).unwrap(),
    );
    // Site 11 lies in the cell of site 1: one node, and Circuitscape reports R(1, 11) = 0.
    assert_eq!(aliases, [(11, 1)]);
    // Average-resistance mode, 8 neighbours (sgVerify17.ini).
    let opts = CircuitOptions {
        four_neighbours: false,
        avg_resistance: true,
        ..Default::default()
    };
    let net = Network::new((grid.rows(), grid.cols()), r.data(), &regions, opts).unwrap();
    // The matrix Circuitscape wrote: ids on the first row and column, -1 = not computed.
    let text = std::fs::read_to_string(dir.join("expected_sgVerify17_resistances.out")).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect();
    let ids: Vec<u32> = rows[0][1..].iter().map(|&v| v as u32).collect();
    let known = net.region_ids();
    let mut pairs = Vec::new();
    let mut want = Vec::new();
    for row in &rows[1..] {
        let a = row[0] as u32;
        for (k, &v) in row[1..].iter().enumerate() {
            let b = ids[k];
            if (a, b) == (1, 11) {
                assert_eq!(v, 0.0, "sites on one node");
            }
            if a < b && v > 0.0 && known.contains(&a) && known.contains(&b) {
                pairs.push((a, b));
                want.push(v);
            }
        }
    }
    assert_eq!(pairs.len(), 24, "the 24 included pairs between sites 1-10");
    let got = pairwise(&net, &pairs, false).unwrap();
    let mut worst = 0f64;
    for (g, w) in got.pairs.iter().zip(&want) {
        let rel = (g.resistance - w).abs() / w;
        worst = worst.max(rel);
        assert!(
            rel <= 1e-6,
            "{}-{}: ours {}, Circuitscape {w}",
            g.from,
            g.to,
            g.resistance
        );
    }
    eprintln!("sgVerify17: 24 pairs, largest relative difference {worst:e}");
}

#[test]
fn circuitscape_mg_verify_7_advanced_current_map() {
    use ecocorridor::circuit::{advanced, CircuitOptions, Network};
    let Some(data) = testdata() else { return };
    let dir = data.join("circuitscape/mgVerify7");
    let r = read_f32(&dir.join("resistance_TestArea1.asc")).unwrap();
    let grounds = read_f32(&dir.join("TestArea1_GroundNodes_raster.asc")).unwrap();
    let expected = read_f32(&dir.join("expected_mgVerify7_curmap.asc")).unwrap();
    let (rows, cols) = (r.grid().rows(), r.grid().cols());
    // 1 A at each of the 25 source points (use_unit_currents), ground conductances from the
    // raster (ground_file_is_resistances = False), keep both where a cell is both.
    let mut sources = vec![0.0f64; rows * cols];
    for line in std::fs::read_to_string(dir.join("sources25_rowcol.csv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let f: Vec<usize> = line
            .split(',')
            .take(2)
            .map(|v| v.parse().unwrap())
            .collect();
        sources[f[0] * cols + f[1]] = 1.0;
    }
    let g: Vec<f64> = grounds
        .data()
        .iter()
        .map(|&v| if v.is_nan() { 0.0 } else { v as f64 })
        .collect();
    let opts = CircuitOptions {
        four_neighbours: false,
        avg_resistance: true,
        ..Default::default()
    };
    let net = Network::new((rows, cols), r.data(), &[], opts).unwrap();
    let got = advanced(&net, &sources, &g).unwrap();
    let top = expected
        .data()
        .iter()
        .filter(|v| v.is_finite())
        .fold(0f64, |m, &v| m.max(v as f64));
    let (mut compared, mut worst) = (0, 0f64);
    for (i, (&c, &w)) in got.current.iter().zip(expected.data()).enumerate() {
        if c.is_nan() {
            // Nodata: Circuitscape writes 0 (set_null_currents_to_nodata = False).
            assert!(
                w == 0.0 || w.is_nan(),
                "cell {i}: no node here, Circuitscape {w}"
            );
            continue;
        }
        let d = (c - w as f64).abs() / top;
        worst = worst.max(d);
        compared += 1;
    }
    eprintln!(
        "mgVerify7: {compared} cells, largest difference {worst:e} of the largest current {top}"
    );
    assert!(compared > 150_000, "{compared} cells compared");
    assert!(
        worst <= 1e-5,
        "largest difference {worst:e} of the largest current"
    );
}

/// Circuitscape's oneToAllVerify4 and allToOneVerify4 (tests/fixtures/circuitscape_focal):
/// 10 x 10 resistances, 4 neighbours, average resistances. Points on nodata are dropped, as
/// Circuitscape does (it reports -1 for them); the others' one-to-all resistances and both
/// cumulative current maps (cells that are neither focal nor nodata) must agree.
#[test]
fn circuitscape_one_to_all_and_all_to_one_verify_4() {
    use ecocorridor::circuit::{focal, CircuitOptions, FocalMode, Network};
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/circuitscape_focal");
    let cells = read_f32(&dir.join("cellmap.asc")).unwrap();
    let points = read_f32(&dir.join("points.asc")).unwrap();
    let (rows, cols) = (cells.grid().rows(), cells.grid().cols());
    let regions: Vec<u32> = points
        .data()
        .iter()
        .zip(cells.data())
        .map(|(&p, &r)| {
            if p > 0.0 && r.is_finite() {
                p as u32
            } else {
                0
            }
        })
        .collect();
    let opts = CircuitOptions {
        four_neighbours: true,
        avg_resistance: true,
        ..Default::default()
    };
    let net = Network::new((rows, cols), cells.data(), &regions, opts).unwrap();
    let expected: std::collections::BTreeMap<u32, f64> =
        std::fs::read_to_string(dir.join("oneToAllVerify4_resistances.out"))
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<f64> = l.split_whitespace().map(|v| v.parse().unwrap()).collect();
                (f[0] as u32, f[1])
            })
            .collect();
    let one = focal(&net, FocalMode::OneToAll).unwrap();
    let mut compared = 0;
    for run in &one.runs {
        let want = expected[&run.id];
        assert!(
            want > 0.0,
            "region {} is solved here but not by Circuitscape",
            run.id
        );
        assert!(
            (run.resistance - want).abs() <= 1e-6 * want,
            "region {}: ours {}, Circuitscape {want}",
            run.id,
            run.resistance
        );
        compared += 1;
    }
    // 1, 2, 4, 5, 8, 9 are on habitat; 3, 6, 11 and 51 lie on nodata.
    assert_eq!(compared, 6);
    let mut worst = 0f64;
    for (mode, file) in [
        (FocalMode::OneToAll, "oneToAllVerify4_cum_curmap.asc"),
        (FocalMode::AllToOne, "allToOneVerify4_cum_curmap.asc"),
    ] {
        let f = focal(&net, mode).unwrap();
        let want = read_f32(&dir.join(file)).unwrap();
        let top = want.data().iter().cloned().fold(0f32, f32::max) as f64;
        let mut n = 0;
        for (i, (&ours, &theirs)) in f.current.iter().zip(want.data()).enumerate() {
            if !ours.is_finite() {
                continue;
            }
            let d = (ours - theirs as f64).abs();
            worst = worst.max(d / top);
            assert!(
                d <= 1e-5 * top,
                "{file}: cell ({}, {}): ours {ours}, Circuitscape {theirs}",
                i / cols,
                i % cols
            );
            n += 1;
        }
        // Every habitat cell that is not a focal point is compared.
        let habitat = cells
            .data()
            .iter()
            .zip(&regions)
            .filter(|(r, &id)| r.is_finite() && id == 0)
            .count();
        assert_eq!(n, habitat, "{file}");
    }
    eprintln!(
        "one-to-all / all-to-one verify 4: largest difference {worst:e} of the largest current"
    );
}
