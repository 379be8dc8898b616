//! The stages not covered by their own bench, on seeded synthetic landscapes at two sizes
//! (1,000² and 2,000² cells, so growth with size is visible):
//!
//! - `resistance/N`: the resistance surface from the class table (no factors).
//! - `carbon/N`: carbon stock per cell and the per-class summary.
//! - `candidates/N`: restoration sites (parcels, carbon, LCD drop per corridor and site) and
//!   park connectors for the corridors between the 100 largest habitat patches.
//! - `write_geotiff/N` and `read_geotiff/N`: an `f32` cost surface written as a Deflate
//!   GeoTIFF (atomically, as every output) and read back.
//!
//! Run: `cargo bench --bench stages`. Cost distance and corridors are in `costdist`, sources
//! in `sources`, the network in `network`, the MILP in `optimize`.

use std::hint::black_box;
use std::time::Duration;

#[path = "common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ecocorridor::candidates::{self, CandidateOptions, Inputs};
use ecocorridor::carbon;
use ecocorridor::corridors;
use ecocorridor::io::geotiff::write_geotiff;
use ecocorridor::io::read_f32;
use ecocorridor::resistance::{self, CellModel};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("stages");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    let tmp = tempfile::tempdir().unwrap();
    for n in [1000u32, 2000] {
        let land = common::landscape(n);
        let cells = land.grid.len() as u64;
        g.throughput(Throughput::Elements(cells));
        let ro = common::resistance_options();
        g.bench_with_input(BenchmarkId::new("resistance", n), &n, |b, _| {
            b.iter(|| black_box(resistance::build(&land, &ro).unwrap().values()[0]))
        });
        g.bench_with_input(BenchmarkId::new("carbon", n), &n, |b, _| {
            b.iter(|| {
                let table = carbon::stock_per_class(&land);
                let rows = carbon::summarize(&land);
                black_box((table[land.landcover[0] as usize], rows.len()))
            })
        });

        let res = common::resistance(&land);
        let src = common::largest_patches(&land, &res);
        let net =
            corridors::build(&land.grid, &res, &src, &common::corridor_options(true)).unwrap();
        let model = CellModel::new(&land, &ro);
        let value = vec![1.0; net.corridors.len()];
        let inputs = Inputs {
            land: &land,
            model: &model,
            res: res.values(),
            sources: &src,
            net: &net,
            value: &value,
            given: None,
        };
        let opts = CandidateOptions {
            horizon_years: 30.0,
            ..Default::default()
        };
        g.bench_with_input(BenchmarkId::new("candidates", n), &n, |b, _| {
            b.iter(|| black_box(candidates::build(&inputs, &opts).unwrap().sites.len()))
        });

        let path = tmp.path().join(format!("cost_{n}.tif"));
        g.bench_with_input(BenchmarkId::new("write_geotiff", n), &n, |b, _| {
            b.iter(|| write_geotiff(&path, &land.grid, &net.cost, None).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("read_geotiff", n), &n, |b, _| {
            b.iter(|| black_box(read_f32(&path).unwrap().data().len()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
