//! Cost distance and corridors on seeded synthetic landscapes at two sizes (growth with size
//! is visible). Run: `cargo bench --bench costdist`.
//!
//! - `single_source/N`: one source cell in the centre, the whole N x N landscape reached.
//! - `corridors_100/N`: the 100 largest habitat patches, all corridors (per-patch runs in
//!   parallel) with the demo's width.

use std::hint::black_box;
use std::time::Duration;

#[path = "common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ecocorridor::corridors;
use ecocorridor::costdist::{accumulate_cost, CostOptions};
use ecocorridor::landscape::Landscape;
use ecocorridor::resistance::Resistance;
use ecocorridor::sources::Sources;

fn setup(n: u32) -> (Landscape, Resistance, Sources) {
    let land = common::landscape(n);
    let res = common::resistance(&land);
    let src = common::largest_patches(&land, &res);
    (land, res, src)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("costdist");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for n in [1000u32, 2000] {
        let (land, res, src) = setup(n);
        let (rows, cols) = (land.grid.rows(), land.grid.cols());
        // A passable cell near the centre.
        let centre = (rows / 2 * cols..rows * cols)
            .find(|&i| res.passable(i))
            .unwrap();
        g.throughput(Throughput::Elements(rows as u64 * cols as u64));
        g.bench_with_input(BenchmarkId::new("single_source", n), &n, |b, _| {
            b.iter(|| {
                black_box(
                    accumulate_cost(
                        rows,
                        cols,
                        30.0,
                        &res,
                        [(centre, 1)],
                        &CostOptions::default(),
                    )
                    .cost[0],
                )
            })
        });
        let opts = common::corridor_options(false);
        g.bench_with_input(
            BenchmarkId::new(format!("corridors_{}", src.patches.len()), n),
            &n,
            |b, _| {
                b.iter(|| {
                    black_box(
                        corridors::build(&land.grid, &res, &src, &opts)
                            .unwrap()
                            .corridors
                            .len(),
                    )
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
