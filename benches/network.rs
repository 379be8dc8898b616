//! All indices and every patch and link removal on seeded random planar-like patch graphs
//! (patches scattered on a plane, each linked to its nearest neighbours), at two sizes.
//! Run: `cargo bench --bench network`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ecocorridor::network::{analyse, Graph};

/// `n` patches on a 100 km square, each linked to its 5 nearest others (about 5n/2.. 5n links
/// after removing duplicates), LCD = distance x a resistance factor in 1..10.
fn graph(n: usize, seed: u64) -> Graph {
    let mut s = seed;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let pts: Vec<(f64, f64, f64)> = (0..n)
        .map(|_| (next() * 1e5, next() * 1e5, 1.0 + 9.0 * next()))
        .collect();
    let attr = (0..n).map(|_| 10.0 + 990.0 * next()).collect();
    let mut links = Vec::new();
    for i in 0..n {
        let mut d: Vec<(f64, usize)> = (0..n)
            .filter(|&j| j != i)
            .map(|j| {
                (
                    ((pts[i].0 - pts[j].0).powi(2) + (pts[i].1 - pts[j].1).powi(2)).sqrt(),
                    j,
                )
            })
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0));
        for &(dist, j) in d.iter().take(10) {
            let (a, b) = (i.min(j), i.max(j));
            links.push((a, b, dist * (pts[i].2 + pts[j].2) / 2.0));
        }
    }
    links.sort_by_key(|x| (x.0, x.1));
    links.dedup_by(|x, y| (x.0, x.1) == (y.0, y.1));
    Graph { attr, links }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("network");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for n in [250usize, 1000] {
        let gr = graph(n, 7);
        let id = format!("{}_patches_{}_links", n, gr.links.len());
        let area = gr.attr.iter().sum::<f64>() * 10.0;
        g.bench_with_input(BenchmarkId::new("all_removals", id), &gr, |b, gr| {
            b.iter(|| black_box(analyse(gr, area, 20_000.0, None).unwrap().indices.pc))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
