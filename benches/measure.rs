//! Measuring what a plan buys (`measure`), against the corridor stage it re-runs, in one run:
//!
//! - `corridors/N`: the corridor stage among the 100 largest patches (the reference);
//! - `measure_plan/N`: a plan of every fourth candidate site and every second connector
//!   applied and measured (changes, the bound, the re-runs, the indices);
//! - `connector_values/N`: every connector's corridor measured with it built, and the exact
//!   rise in PC of each (the `pc_gain` values the optimizer steers by).
//!
//! At 1,000² and 3,000² cells. Run: `cargo bench --bench measure`; the ratio
//! measure_plan / corridors is the figure to watch (goal: measuring at most 20% of a run).

use std::hint::black_box;
use std::time::Duration;

#[path = "common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ecocorridor::candidates::{self, CandidateOptions, Inputs, Restoration};
use ecocorridor::corridors;
use ecocorridor::measure::{self, MeasureOptions};
use ecocorridor::network::{self, Graph};
use ecocorridor::resistance::CellModel;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("measure");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for n in [1000u32, 3000] {
        let land = common::landscape(n);
        g.throughput(Throughput::Elements(land.grid.len() as u64));
        let ro = common::resistance_options();
        let mut res = common::resistance(&land);
        let src = common::largest_patches(&land, &res);
        let copts = common::corridor_options(true);
        g.bench_with_input(BenchmarkId::new("corridors", n), &n, |b, _| {
            b.iter(|| {
                black_box(
                    corridors::build(&land.grid, &res, &src, &copts)
                        .unwrap()
                        .corridors
                        .len(),
                )
            })
        });
        let net = corridors::build(&land.grid, &res, &src, &copts).unwrap();
        let model = CellModel::new(&land, &ro);
        let value = vec![1.0; net.corridors.len()];
        let cands = candidates::build(
            &Inputs {
                land: &land,
                model: &model,
                res: res.values(),
                sources: &src,
                net: &net,
                value: &value,
                given: None,
            },
            &CandidateOptions::default(),
        )
        .unwrap();
        let slot = |id: u32| src.patches.iter().position(|p| p.id == id).unwrap();
        let graph = Graph {
            attr: src.patches.iter().map(|p| p.area_ha).collect(),
            links: net
                .corridors
                .iter()
                .map(|c| (slot(c.from), slot(c.to), c.lcd))
                .collect(),
        };
        let area = land.study_cells() as f64 * land.grid.cell_area_ha();
        let mut lcds: Vec<f64> = net.corridors.iter().map(|c| c.lcd).collect();
        lcds.sort_by(f64::total_cmp);
        let d50 = lcds[lcds.len() / 2];
        let restoration = Restoration::new(&land, &model, &src);
        let sites: Vec<bool> = (0..cands.sites.len()).map(|k| k % 4 == 0).collect();
        let conns: Vec<bool> = (0..cands.connectors.len()).map(|k| k % 2 == 0).collect();
        let opts = MeasureOptions {
            corridors: copts,
            d50,
            landscape_area_ha: area,
            full: false,
        };
        g.bench_with_input(BenchmarkId::new("measure_plan", n), &n, |b, _| {
            b.iter(|| {
                let ch = measure::changes(&restoration, &res, &cands, &sites, &conns, 60.0);
                let m =
                    measure::measure(&land.grid, &mut res, &ch, &src, &net, &graph, &opts).unwrap();
                black_box(m.indices.pc)
            })
        });
        let gaps: Vec<Vec<usize>> = cands
            .connectors
            .iter()
            .map(|k| k.gap_sites.clone())
            .collect();
        g.bench_with_input(BenchmarkId::new("connector_values", n), &n, |b, _| {
            b.iter(|| {
                let l = measure::connector_lcds(
                    &land.grid,
                    &mut res,
                    &restoration,
                    &cands,
                    &gaps,
                    &vec![true; gaps.len()],
                    60.0,
                    &src,
                    (&net, None),
                    &copts,
                )
                .unwrap();
                let gains = network::LinkGains::new(&graph, area, d50).unwrap();
                let base: Vec<f64> = net.corridors.iter().map(|c| c.lcd).collect();
                black_box(
                    measure::pc_values(&gains, &net, &base, &cands, l)
                        .site
                        .len(),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
