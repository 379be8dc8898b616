//! Park access (`access` stage): walking time from every cell to the nearest park and the
//! district sums, on the seeded synthetic landscape at 1,000^2 and 2,000^2 cells (bundled
//! class table, its residents per hectare). Goal (issue #17): walking times for 10^8 cells
//! within 20 % of the whole run's time. Run: `cargo bench --bench access`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ecocorridor::access::{measure, population_from_classes, AccessOptions};

mod common;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("access");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for n in [1000u32, 2000] {
        let land = common::landscape(n);
        let pop = population_from_classes(&land);
        g.bench_with_input(BenchmarkId::new("measure", n), &n, |b, _| {
            b.iter(|| measure(&land, &pop, None, &AccessOptions::default()).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
