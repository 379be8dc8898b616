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
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared/testdata not present");
        None
    }
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
