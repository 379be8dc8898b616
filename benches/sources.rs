//! Labelling, distance transform and the whole sources stage on seeded synthetic landscapes
//! of two sizes, so growth with size is visible. Run: `cargo bench --bench sources`.

use std::hint::black_box;
use std::time::Duration;

#[path = "common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ecocorridor::classes::OUTSIDE;
use ecocorridor::edt::squared_distance;
use ecocorridor::label::label;
use ecocorridor::sources::{self, SourceMethod};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sources");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for n in [1000u32, 4000] {
        let land = common::landscape(n);
        let habitat: Vec<bool> = land.classes.classes().iter().map(|c| c.habitat).collect();
        let mask: Vec<bool> = land
            .landcover
            .iter()
            .map(|&c| c != OUTSIDE && habitat[c as usize])
            .collect();
        let cells = (n as u64) * (n as u64);
        g.throughput(Throughput::Elements(cells));
        g.bench_with_input(BenchmarkId::new("label_8", n), &n, |b, &n| {
            b.iter(|| black_box(label(n as usize, n as usize, |i| mask[i], true).count))
        });
        g.bench_with_input(BenchmarkId::new("edt", n), &n, |b, &n| {
            b.iter(|| black_box(squared_distance(n as usize, n as usize, |i| !mask[i])[0]))
        });
        let res = common::resistance(&land);
        let method = SourceMethod::Habitat {
            min_area_ha: 50.0,
            eight: true,
            edge_width_m: 60.0,
            core_only: false,
            largest: 0,
        };
        g.bench_with_input(BenchmarkId::new("sources_stage", n), &n, |b, _| {
            b.iter(|| black_box(sources::build(&land, &res, &method).unwrap().patches.len()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
