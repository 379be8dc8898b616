//! Circuit theory (`circuit` stage): all pairs of 10 focal regions on a seeded random
//! landscape (resistance 1-100 in smooth blobs, 5 % nodata), 500^2 and 1,000^2 cells; and the
//! pinch points of one corridor-like zone. Goal (issue #15): all pairs of 10 regions on
//! 2,000^2 in at most 60 s on 2 cores. Run: `cargo bench --bench circuit`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ecocorridor::circuit::{all_pairs, pairwise, CircuitOptions, Network};

mod common;
use common::Rng;

/// A side x side landscape: resistance from a coarse random field (blobs of 25 cells),
/// 5 % nodata, and 10 square regions of 5 x 5 cells.
fn landscape(side: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
    let mut r = Rng(seed);
    let coarse = side / 25 + 2;
    let field: Vec<f64> = (0..coarse * coarse).map(|_| r.next()).collect();
    let mut res = vec![0f32; side * side];
    for y in 0..side {
        for x in 0..side {
            let v = field[(y / 25) * coarse + x / 25];
            res[y * side + x] = if r.next() < 0.05 {
                f32::NAN
            } else {
                (1.0 + 99.0 * v * v) as f32
            };
        }
    }
    let mut regions = vec![0u32; side * side];
    for id in 1..=10u32 {
        let (cy, cx) = (
            (r.next() * (side - 10) as f64) as usize,
            (r.next() * (side - 10) as f64) as usize,
        );
        for y in cy..cy + 5 {
            for x in cx..cx + 5 {
                regions[y * side + x] = id;
                res[y * side + x] = 1.0;
            }
        }
    }
    (res, regions)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("circuit");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    for side in [500usize, 1000] {
        let (res, regions) = landscape(side, 7);
        g.bench_with_input(
            BenchmarkId::new("all_pairs_10_regions", side),
            &side,
            |b, &side| {
                b.iter(|| {
                    let net = Network::new((side, side), &res, &regions, CircuitOptions::default())
                        .unwrap();
                    let pairs = all_pairs(&net.region_ids());
                    pairwise(&net, &pairs, true).unwrap()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
