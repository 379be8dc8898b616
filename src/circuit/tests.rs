//! The circuit stage against hand-computed circuits (series, parallel) and against dense
//! solves of the same network built independently, cell by cell.

use super::*;
use proptest::prelude::*;

const NAN: f32 = f32::NAN;

fn opts(four: bool, avg_resistance: bool) -> CircuitOptions {
    CircuitOptions {
        four_neighbours: four,
        avg_resistance,
        ..Default::default()
    }
}

#[test]
fn a_strip_is_resistors_in_series() {
    // 1 x 6 cells of resistance 2: 5 edges of conductance 1/2 in series = 10.
    let res = [2.0f32; 6];
    let regions = [1, 0, 0, 0, 0, 2];
    for avg in [false, true] {
        let net = Network::new((1, 6), &res, &regions, opts(false, avg)).unwrap();
        let p = pairwise(&net, &[(1, 2)], true).unwrap();
        assert!((p.pairs[0].resistance - 10.0).abs() < 1e-9, "{:?}", p.pairs);
        // 1 A flows through every cell between the regions; region cells are NaN.
        for c in 1..5 {
            assert!(
                (p.current[c] - 1.0).abs() < 1e-9,
                "cell {c}: {}",
                p.current[c]
            );
        }
        assert!(p.current[0].is_nan() && p.current[5].is_nan());
        // Voltages fall linearly from 10 V to 0 V.
        for (c, v) in p.voltage.iter().enumerate() {
            assert!((v - (10.0 - 2.0 * c as f64)).abs() < 1e-9, "cell {c}: {v}");
        }
    }
    // Average conductance and average resistance differ on unequal cells: 1 and 3 give
    // (1 + 1/3) / 2 = 2/3 and 2 / 4 = 1/2.
    let res = [1.0f32, 3.0];
    let r = |avg| {
        let net = Network::new((1, 2), &res, &[1, 2], opts(true, avg)).unwrap();
        pairwise(&net, &[(1, 2)], false).unwrap().pairs[0].resistance
    };
    assert!((r(false) - 1.5).abs() < 1e-12);
    assert!((r(true) - 2.0).abs() < 1e-12);
}

#[test]
fn two_equal_parallel_strips_give_half() {
    // Rows 0 and 2 conduct, row 1 is nodata; the end columns are the regions.
    let n = 7;
    let mut res = vec![1.0f32; 3 * n];
    let mut regions = vec![0u32; 3 * n];
    for c in 0..n {
        res[n + c] = NAN;
    }
    for r in [0, 2] {
        regions[r * n] = 1;
        regions[r * n + n - 1] = 2;
    }
    let net = Network::new((3, n), &res, &regions, opts(true, false)).unwrap();
    let p = pairwise(&net, &[(1, 2)], true).unwrap();
    assert!((p.pairs[0].resistance - (n as f64 - 1.0) / 2.0).abs() < 1e-9);
    // Half an ampere in each strip.
    assert!((p.current[3] - 0.5).abs() < 1e-9);
    assert!((p.current[2 * n + 3] - 0.5).abs() < 1e-9);
    assert!(p.current[n + 3].is_nan());
}

#[test]
fn diagonals_are_divided_by_root_two() {
    // A 2 x 2 block with the off-diagonal cells nodata: one diagonal edge of conductance
    // 1/sqrt(2), so R = sqrt(2); with 4 neighbours the regions are not connected.
    let res = [1.0f32, NAN, NAN, 1.0];
    let net = Network::new((2, 2), &res, &[1, 0, 0, 2], opts(false, false)).unwrap();
    let r = pairwise(&net, &[(1, 2)], false).unwrap().pairs[0].resistance;
    assert!((r - std::f64::consts::SQRT_2).abs() < 1e-12, "{r}");
    let net = Network::new((2, 2), &res, &[1, 0, 0, 2], opts(true, false)).unwrap();
    let p = pairwise(&net, &[(1, 2)], true).unwrap();
    assert_eq!(p.pairs[0].resistance, f64::INFINITY);
    assert!(p.voltage.is_empty());
}

#[test]
fn bad_networks_are_refused_by_name() {
    let res = [1.0f32, 1.0, NAN];
    assert_eq!(
        pairwise(
            &Network::new((1, 3), &res, &[0, 0, 0], CircuitOptions::default()).unwrap(),
            &[],
            false
        )
        .unwrap_err(),
        CircuitError::NoRegion
    );
    let net = Network::new((1, 3), &res, &[4, 0, 0], CircuitOptions::default()).unwrap();
    assert_eq!(
        pairwise(&net, &[], false).unwrap_err(),
        CircuitError::OneRegion(4)
    );
    assert_eq!(
        Network::new((1, 3), &res, &[1, 0, 2], CircuitOptions::default()).unwrap_err(),
        CircuitError::RegionOnNodata(2)
    );
    let net = Network::new((1, 3), &res, &[1, 2, 0], CircuitOptions::default()).unwrap();
    assert_eq!(
        pairwise(&net, &[(1, 9)], false).unwrap_err(),
        CircuitError::UnknownRegion(1, 9, 9)
    );
    assert!(matches!(
        Network::new((2, 3), &res, &[], CircuitOptions::default()),
        Err(CircuitError::Shape(_))
    ));
}

#[test]
fn advanced_mode_solves_a_hand_circuit() {
    // Source 1 A at cell 0, ground 0.5 S at cell 2; edges of 1 S: v2 = 2, v1 = 3, v0 = 4.
    let res = [1.0f32, 1.0, 1.0];
    let net = Network::new((1, 3), &res, &[], opts(true, false)).unwrap();
    let a = advanced(&net, &[1.0, 0.0, 0.0], &[0.0, 0.0, 0.5]).unwrap();
    for (v, want) in a.voltage.iter().zip([4.0, 3.0, 2.0]) {
        assert!((v - want).abs() < 1e-9, "{:?}", a.voltage);
    }
    // 1 A passes every cell (at the ends: the source's and the ground's current).
    for c in &a.current {
        assert!((c - 1.0).abs() < 1e-9, "{:?}", a.current);
    }
    assert_eq!(
        advanced(&net, &[0.0; 3], &[0.0, 0.0, 1.0]).unwrap_err(),
        CircuitError::NoSourceOrGround
    );
    assert!(matches!(
        advanced(&net, &[-1.0, 0.0, 0.0], &[0.0, 0.0, 1.0]),
        Err(CircuitError::BadValue { row: 0, col: 0, .. })
    ));
}

/// Node of each cell with regions merged, built independently of `Network`.
fn dense_nodes(res: &[f32], regions: &[u32]) -> (Vec<Option<usize>>, BTreeMap<u32, usize>) {
    let mut node = vec![None; res.len()];
    let mut reg = BTreeMap::new();
    let mut n = 0;
    for i in 0..res.len() {
        if !(res[i].is_finite() && res[i] > 0.0) {
            continue;
        }
        let id = regions[i];
        node[i] = Some(if id == 0 {
            n += 1;
            n - 1
        } else {
            *reg.entry(id).or_insert_with(|| {
                n += 1;
                n - 1
            })
        });
    }
    (node, reg)
}

/// The dense Laplacian of the grid (8 neighbours, average conductance), cell pair by cell pair.
fn dense_laplacian(
    rows: usize,
    cols: usize,
    res: &[f32],
    node: &[Option<usize>],
    n: usize,
) -> Vec<Vec<f64>> {
    let mut l = vec![vec![0.0; n]; n];
    for r in 0..rows {
        for c in 0..cols {
            for dr in -1i64..=1 {
                for dc in -1i64..=1 {
                    let (nr, nc) = (r as i64 + dr, c as i64 + dc);
                    if (dr, dc) == (0, 0)
                        || nr < 0
                        || nc < 0
                        || nr >= rows as i64
                        || nc >= cols as i64
                    {
                        continue;
                    }
                    let (a, b) = (r * cols + c, nr as usize * cols + nc as usize);
                    let (Some(u), Some(v)) = (node[a], node[b]) else {
                        continue;
                    };
                    if u == v {
                        continue;
                    }
                    let mut g = 0.5 * (1.0 / res[a] as f64 + 1.0 / res[b] as f64);
                    if dr != 0 && dc != 0 {
                        g /= 2f64.sqrt();
                    }
                    // Each unordered pair is visited twice (from a and from b).
                    l[u][u] += g / 2.0;
                    l[v][v] += g / 2.0;
                    l[u][v] -= g / 2.0;
                    l[v][u] -= g / 2.0;
                }
            }
        }
    }
    l
}

/// A random case: resistances (kind 0 = nodata) and focal regions at `spots` (cell modulo the
/// grid, id), for the first `len` cells.
fn grid_case(len: usize, cells: &[(u8, f32)], spots: &[(usize, u32)]) -> (Vec<f32>, Vec<u32>) {
    let res: Vec<f32> = cells[..len]
        .iter()
        .map(|&(k, r)| if k == 0 { NAN } else { r })
        .collect();
    let mut regions = vec![0u32; len];
    for &(i, id) in spots {
        regions[i % len] = id;
    }
    (res, regions)
}

/// Nodes joined to `s` in a dense Laplacian.
fn reachable(l: &[Vec<f64>], s: usize) -> Vec<bool> {
    let n = l.len();
    let mut seen = vec![false; n];
    let mut stack = vec![s];
    seen[s] = true;
    while let Some(u) = stack.pop() {
        for v in 0..n {
            if l[u][v] != 0.0 && u != v && !seen[v] {
                seen[v] = true;
                stack.push(v);
            }
        }
    }
    seen
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
#[allow(clippy::needless_range_loop)]
fn gauss(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for k in 0..n {
        let p = (k..n)
            .max_by(|&i, &j| a[i][k].abs().total_cmp(&a[j][k].abs()))
            .unwrap();
        a.swap(k, p);
        b.swap(k, p);
        for i in k + 1..n {
            let f = a[i][k] / a[k][k];
            for j in k..n {
                a[i][j] -= f * a[k][j];
            }
            b[i] -= f * b[k];
        }
    }
    let mut x = vec![0.0; n];
    for k in (0..n).rev() {
        x[k] = (b[k] - (k + 1..n).map(|j| a[k][j] * x[j]).sum::<f64>()) / a[k][k];
    }
    x
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Effective resistance = the dense solve's voltage with `b` grounded and 1 A in at `a`;
    /// symmetric; Kirchhoff holds at every node but the regions' (inflow = outflow).
    #[test]
    fn pairwise_matches_dense_solves(
        rows in 2usize..7,
        cols in 2usize..7,
        cells in proptest::collection::vec((0u8..10, 0.1f32..50.0), 49),
        spots in proptest::collection::vec((0usize..49, 1u32..4), 3..8),
    ) {
        let len = rows * cols;
        let (res, regions) = grid_case(len, &cells, &spots);
        let net = match Network::new((rows, cols), &res, &regions, CircuitOptions::default()) {
            Ok(n) => n,
            Err(CircuitError::RegionOnNodata(_)) => return Ok(()),
            Err(e) => panic!("{e}"),
        };
        let ids = net.region_ids();
        prop_assume!(ids.len() >= 2);
        let pairs = all_pairs(&ids);
        let mut both: Vec<(u32, u32)> = pairs.clone();
        both.extend(pairs.iter().map(|&(a, b)| (b, a)));
        let p = pairwise(&net, &both, false).unwrap();
        let (node, reg) = dense_nodes(&res, &regions);
        let n = node.iter().flatten().max().map_or(0, |m| m + 1);
        let l = dense_laplacian(rows, cols, &res, &node, n);
        for (k, &(a, b)) in pairs.iter().enumerate() {
            let (ua, ub) = (reg[&a], reg[&b]);
            // Nodes reachable from ub (else the pair is unconnected).
            let seen = reachable(&l, ub);
            let r = p.pairs[k].resistance;
            let back = p.pairs[k + pairs.len()].resistance;
            if !seen[ua] {
                prop_assert_eq!(r, f64::INFINITY);
                prop_assert_eq!(back, f64::INFINITY);
                continue;
            }
            let keep: Vec<usize> = (0..n).filter(|&v| seen[v] && v != ub).collect();
            let a_m: Vec<Vec<f64>> = keep.iter().map(|&i| keep.iter().map(|&j| l[i][j]).collect()).collect();
            let rhs: Vec<f64> = keep.iter().map(|&i| if i == ua { 1.0 } else { 0.0 }).collect();
            let x = gauss(a_m, rhs);
            let want = x[keep.iter().position(|&i| i == ua).unwrap()];
            prop_assert!((r - want).abs() <= 1e-8 * want.max(1.0), "{}-{}: {} vs dense {}", a, b, r, want);
            prop_assert!((r - back).abs() <= 1e-9 * r.max(1.0), "not symmetric: {} vs {}", r, back);
        }
        // Kirchhoff for the first connected pair, from its voltage map.
        if let Some(&(a, b)) = pairs.iter().zip(&p.pairs).find(|(_, q)| q.resistance.is_finite()).map(|(x, _)| x) {
            let one = pairwise(&net, &[(a, b)], true).unwrap();
            let v = &one.voltage;
            for i in 0..len {
                let Some(u) = node[i] else { continue };
                if regions[i] != 0 || v[i].is_nan() {
                    continue;
                }
                let mut net_out = 0.0;
                let mut abs_sum = 0.0;
                for j in 0..len {
                    let Some(w) = node[j] else { continue };
                    if w == u || v[j].is_nan() {
                        continue;
                    }
                    // The cell-level conductance between i and j (0 when not neighbours).
                    let (ri, ci, rj, cj) = (i / cols, i % cols, j / cols, j % cols);
                    if ri.abs_diff(rj) > 1 || ci.abs_diff(cj) > 1 {
                        continue;
                    }
                    let mut g = 0.5 * (1.0 / res[i] as f64 + 1.0 / res[j] as f64);
                    if ri != rj && ci != cj {
                        g /= 2f64.sqrt();
                    }
                    net_out += g * (v[i] - v[j]);
                    abs_sum += (g * (v[i] - v[j])).abs();
                }
                prop_assert!(net_out.abs() < 1e-7 * (1.0 + abs_sum), "Kirchhoff at cell {}: {}", i, net_out);
                // The current map holds half the sum of absolute branch currents.
                prop_assert!((one.current[i] - abs_sum / 2.0).abs() < 1e-7 * (1.0 + abs_sum));
            }
        }
    }
}

#[test]
fn touching_allocation_zones_make_the_pairs() {
    // 1 1 2 2      Zones 1-2 and 2-3 touch by rook moves, 1-3 only diagonally.
    // 1 0 3 3
    let alloc = [1, 1, 2, 2, 1, 0, 3, 3];
    assert_eq!(
        touching_pairs((2, 4), &alloc, false),
        [(1, 2), (1, 3), (2, 3)]
    );
    assert_eq!(touching_pairs((2, 4), &alloc, true), [(1, 2), (2, 3)]);
    assert_eq!(all_pairs(&[2, 5, 9]), [(2, 5), (2, 9), (5, 9)]);
}

#[test]
fn the_neck_of_an_hourglass_corridor_is_its_pinch_point() {
    use crate::corridors::{Corridor, ZoneCell};
    // Patch 1 on the left column, patch 2 on the right; the zone narrows to one cell in the
    // middle column (row 3 of 7).
    let (rows, cols) = (7usize, 9usize);
    let res = vec![1.0f32; rows * cols];
    let mut ids = vec![0u32; rows * cols];
    let mut zone = Vec::new();
    for r in 0..rows {
        ids[r * cols] = 1;
        ids[r * cols + cols - 1] = 2;
        for c in 1..cols - 1 {
            let half_width = (c as i64 - 4).unsigned_abs() as usize; // 3 2 1 0 1 2 3
            if r.abs_diff(3) <= half_width {
                zone.push(ZoneCell {
                    cell: (r * cols + c) as u32,
                    cwd_from: 0.0,
                    cwd_to: 0.0,
                });
            }
        }
    }
    let corridor = Corridor {
        id: 1,
        from: 1,
        to: 2,
        lcd: 8.0,
        path: Vec::new(),
        path_length_m: 0.0,
        euclid_m: 0.0,
        crosses_patch: false,
        zone,
    };
    let p = pinch_points(
        (rows, cols),
        &res,
        &ids,
        std::slice::from_ref(&corridor),
        CircuitOptions::default(),
    )
    .unwrap();
    let neck = 3 * cols + 4;
    assert!(
        (p.current.get(neck) - 1.0).abs() < 1e-5,
        "{}",
        p.current.get(neck)
    );
    let top = p
        .current
        .to_dense()
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(0f32, f32::max);
    assert_eq!(top, p.current.get(neck));
    assert_eq!(p.normalized.get(neck), 1.0);
    assert!(p.current.get(0).is_nan(), "patches are not part of the map");
    assert!(p.current.get(cols + 4).is_nan(), "outside the zone");
    // The zone's resistance is the pairwise resistance of the masked raster.
    let mut masked = vec![f32::NAN; rows * cols];
    for z in &corridor.zone {
        masked[z.cell as usize] = 1.0;
    }
    for (i, &id) in ids.iter().enumerate() {
        if id != 0 {
            masked[i] = 1.0;
        }
    }
    let net = Network::new((rows, cols), &masked, &ids, CircuitOptions::default()).unwrap();
    let r = pairwise(&net, &[(1, 2)], false).unwrap().pairs[0].resistance;
    assert!(
        (p.resistance[0] - r).abs() < 1e-9 * r,
        "{} vs {r}",
        p.resistance[0]
    );
}

#[test]
fn pinch_points_by_amg_equal_those_by_the_factor() {
    use crate::corridors::{Corridor, ZoneCell};
    // Random resistances 1-100; patch 1 on the left, 2 on the right, 3 at the top middle; two
    // corridors with rectangular zones. Large zones go to AMG one at a time: forcing AMG for
    // every zone must give the factor's answers.
    let (rows, cols) = (30usize, 40usize);
    let mut s = 11u64;
    let res: Vec<f32> = (0..rows * cols)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            1.0 + 99.0 * ((s >> 11) as f64 / (1u64 << 53) as f64) as f32
        })
        .collect();
    let mut ids = vec![0u32; rows * cols];
    for r in 10..20 {
        ids[r * cols] = 1;
        ids[r * cols + 1] = 1;
        ids[r * cols + cols - 1] = 2;
    }
    ids[18..22].fill(3);
    let zone = |r0: usize, r1: usize| -> Vec<ZoneCell> {
        (r0 * cols..r1 * cols)
            .filter(|&i| ids[i] == 0)
            .map(|i| ZoneCell {
                cell: i as u32,
                cwd_from: 0.0,
                cwd_to: 0.0,
            })
            .collect()
    };
    let corridor = |id, from, to, zone| Corridor {
        id,
        from,
        to,
        lcd: 1.0,
        path: Vec::new(),
        path_length_m: 0.0,
        euclid_m: 0.0,
        crosses_patch: false,
        zone,
    };
    let corridors = [
        corridor(1, 1, 2, zone(0, rows)),
        corridor(2, 1, 3, zone(0, 20)),
    ];
    let run = |solver| {
        let opts = CircuitOptions {
            solver,
            ..Default::default()
        };
        pinch_points((rows, cols), &res, &ids, &corridors, opts).unwrap()
    };
    let (d, a, auto) = (run(Method::Cholesky), run(Method::Amg), run(Method::Auto));
    assert_eq!((d.iterative, a.iterative, auto.iterative), (0, 2, 0));
    let bits = |p: &PinchPoints| -> Vec<u32> {
        p.current
            .to_dense()
            .iter()
            .chain(&p.normalized.to_dense())
            .map(|v| v.to_bits())
            .collect()
    };
    assert!(
        bits(&auto) == bits(&d) && auto.resistance == d.resistance,
        "small zones are factored"
    );
    for (x, y) in d.resistance.iter().zip(&a.resistance) {
        assert!((x - y).abs() <= 1e-7 * x, "{x} vs {y}");
    }
    for (x, y) in d.current.to_dense().iter().zip(&a.current.to_dense()) {
        assert_eq!(x.is_nan(), y.is_nan());
        if x.is_finite() {
            assert!((x - y).abs() <= 1e-5 * x.abs().max(1e-3), "{x} vs {y}");
        }
    }
    assert_eq!(a.nodes, d.nodes);
}

#[test]
fn link_centrality_counts_the_current_over_all_pairs() {
    // A path 0 - 1 - 2: each link carries 1 A for two of the three pairs.
    let c = link_centrality(3, &[(0, 1, 1.0), (1, 2, 1.0)]).unwrap();
    assert!(
        (c[0] - 2.0).abs() < 1e-12 && (c[1] - 2.0).abs() < 1e-12,
        "{c:?}"
    );
    // A triangle of equal links: 2/3 A on the direct link, 1/3 on the detour, per pair.
    let c = link_centrality(3, &[(0, 1, 5.0), (1, 2, 5.0), (0, 2, 5.0)]).unwrap();
    for x in &c {
        assert!((x - 4.0 / 3.0).abs() < 1e-12, "{c:?}");
    }
    // Two separate links and a lone node: pairs in different parts carry nothing.
    let c = link_centrality(5, &[(0, 1, 2.0), (2, 3, 1.0)]).unwrap();
    assert!(
        (c[0] - 1.0).abs() < 1e-12 && (c[1] - 1.0).abs() < 1e-12,
        "{c:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(30))]

    /// Centrality = the sum over pairs of each link's current in a dense solve.
    #[test]
    fn link_centrality_matches_pair_by_pair_dense_solves(
        n in 2usize..8,
        raw in proptest::collection::vec((0usize..8, 0usize..8, 0.5f64..20.0), 1..14),
    ) {
        let links: Vec<(usize, usize, f64)> = raw.iter().map(|&(a, b, r)| (a % n, b % n, r)).collect();
        let c = link_centrality(n, &links).unwrap();
        let mut want = vec![0.0; links.len()];
        for s in 0..n {
            for t in s + 1..n {
                // Dense Laplacian grounded at t, 1 A in at s.
                let mut l = vec![vec![0.0; n]; n];
                for &(a, b, r) in &links {
                    if a != b {
                        l[a][a] += 1.0 / r;
                        l[b][b] += 1.0 / r;
                        l[a][b] -= 1.0 / r;
                        l[b][a] -= 1.0 / r;
                    }
                }
                // Nodes joined to t.
                let mut seen = vec![false; n];
                let mut stack = vec![t];
                seen[t] = true;
                while let Some(u) = stack.pop() {
                    for v in 0..n {
                        if u != v && l[u][v] != 0.0 && !seen[v] {
                            seen[v] = true;
                            stack.push(v);
                        }
                    }
                }
                if !seen[s] {
                    continue;
                }
                let keep: Vec<usize> = (0..n).filter(|&v| seen[v] && v != t).collect();
                let a_m = keep.iter().map(|&i| keep.iter().map(|&j| l[i][j]).collect()).collect();
                let x = gauss(a_m, keep.iter().map(|&i| if i == s { 1.0 } else { 0.0 }).collect());
                let mut v = vec![0.0; n];
                for (k, &i) in keep.iter().enumerate() {
                    v[i] = x[k];
                }
                for (k, &(a, b, r)) in links.iter().enumerate() {
                    if a != b && seen[a] {
                        want[k] += (v[a] - v[b]).abs() / r;
                    }
                }
            }
        }
        for (k, (g, w)) in c.iter().zip(&want).enumerate() {
            prop_assert!((g - w).abs() <= 1e-8 * w.max(1.0), "link {}: {} vs {}", k, g, w);
        }
    }
}

#[test]
fn the_amg_solver_gives_the_direct_solvers_answers() {
    // 70 x 70 cells (above the AMG's coarsest size, so it builds a hierarchy), resistance
    // 1-100 with some nodata, four regions.
    let (rows, cols) = (70usize, 70usize);
    let mut s = 7u64;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let res: Vec<f32> = (0..rows * cols)
        .map(|_| {
            if next() < 0.05 {
                NAN
            } else {
                (1.0 + 99.0 * next()) as f32
            }
        })
        .collect();
    let mut regions = vec![0u32; rows * cols];
    for (id, cell) in [
        (1, 5 * cols + 5),
        (2, 60 * cols + 8),
        (3, 10 * cols + 62),
        (4, 64 * cols + 66),
    ] {
        regions[cell] = id;
    }
    let run = |solver| {
        let opts = CircuitOptions {
            solver,
            ..Default::default()
        };
        let res: Vec<f32> = res
            .iter()
            .zip(&regions)
            .map(|(&r, &g)| if g != 0 { 1.0 } else { r })
            .collect();
        let net = Network::new((rows, cols), &res, &regions, opts).unwrap();
        pairwise(&net, &all_pairs(&net.region_ids()), true).unwrap()
    };
    let (d, a) = (run(Method::Cholesky), run(Method::Amg));
    assert!(d.solver.contains("Cholesky") && a.solver.contains("AMG"));
    for (x, y) in d.pairs.iter().zip(&a.pairs) {
        assert!(
            (x.resistance - y.resistance).abs() <= 1e-7 * x.resistance,
            "{x:?} vs {y:?}"
        );
    }
    let top = d
        .current
        .iter()
        .filter(|v| v.is_finite())
        .fold(0f64, |m, &v| m.max(v));
    for (x, y) in d.current.iter().zip(&a.current) {
        assert!(x.is_nan() == y.is_nan());
        if x.is_finite() {
            assert!((x - y).abs() <= 1e-6 * top, "{x} vs {y}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(30))]

    /// One-to-all and all-to-one against dense solves with the grounded regions removed
    /// (Dirichlet 0 V), built cell by cell; with two regions both modes are the pairwise run
    /// of each ordered pair, current for current.
    #[test]
    fn focal_modes_match_dense_solves_and_pairwise(
        rows in 2usize..7,
        cols in 2usize..7,
        cells in proptest::collection::vec((0u8..10, 0.1f32..50.0), 49),
        spots in proptest::collection::vec((0usize..49, 1u32..4), 3..8),
    ) {
        let len = rows * cols;
        let (res, regions) = grid_case(len, &cells, &spots);
        let net = match Network::new((rows, cols), &res, &regions, CircuitOptions::default()) {
            Ok(n) => n,
            Err(CircuitError::RegionOnNodata(_)) => return Ok(()),
            Err(e) => panic!("{e}"),
        };
        let ids = net.region_ids();
        prop_assume!(ids.len() >= 2);
        let (node, reg) = dense_nodes(&res, &regions);
        let n = node.iter().flatten().max().map_or(0, |m| m + 1);
        let l = dense_laplacian(rows, cols, &res, &node, n);
        let reach = |s: usize| reachable(&l, s);
        for mode in [FocalMode::OneToAll, FocalMode::AllToOne] {
            let f = focal(&net, mode).unwrap();
            for run in &f.runs {
                let ua = reg[&run.id];
                let part = reach(ua);
                let others: Vec<usize> = ids
                    .iter()
                    .filter(|&&j| j != run.id && part[reg[&j]])
                    .map(|j| reg[j])
                    .collect();
                prop_assert_eq!(run.others, others.len());
                if others.is_empty() {
                    prop_assert_eq!(run.resistance, f64::INFINITY);
                    continue;
                }
                let grounded = |v: usize| match mode {
                    FocalMode::OneToAll => others.contains(&v),
                    FocalMode::AllToOne => v == ua,
                };
                let keep: Vec<usize> = (0..n).filter(|&v| part[v] && !grounded(v)).collect();
                let a_m: Vec<Vec<f64>> = keep.iter().map(|&i| keep.iter().map(|&j| l[i][j]).collect()).collect();
                let rhs: Vec<f64> = keep
                    .iter()
                    .map(|&i| match mode {
                        FocalMode::OneToAll => f64::from(u8::from(i == ua)),
                        FocalMode::AllToOne => f64::from(u8::from(others.contains(&i))),
                    })
                    .collect();
                let x = gauss(a_m, rhs);
                let at = |v: usize| x[keep.iter().position(|&i| i == v).unwrap()];
                let want = match mode {
                    FocalMode::OneToAll => at(ua),
                    FocalMode::AllToOne => others.iter().map(|&v| at(v)).sum::<f64>() / others.len() as f64,
                };
                prop_assert!((run.resistance - want).abs() <= 1e-8 * want.max(1.0), "{:?} {}: {} vs dense {}", mode, run.id, run.resistance, want);
            }
        }
        if ids.len() == 2 {
            let pairs = [(ids[0], ids[1]), (ids[1], ids[0])];
            let p = pairwise(&net, &pairs, true).unwrap();
            for mode in [FocalMode::OneToAll, FocalMode::AllToOne] {
                let f = focal(&net, mode).unwrap();
                for i in 0..len {
                    let (a, b) = (f.current[i], p.current[i]);
                    prop_assert!(a.is_nan() == b.is_nan() && (a.is_nan() || (a - b).abs() <= 1e-8 * (1.0 + b.abs())), "{:?} cell {}: {} vs pairwise {}", mode, i, a, b);
                }
            }
        }
    }
}

#[test]
fn focal_modes_need_two_regions() {
    let res = [1.0f32; 4];
    let net = Network::new((2, 2), &res, &[1, 0, 0, 0], CircuitOptions::default()).unwrap();
    assert!(focal(&net, FocalMode::OneToAll)
        .unwrap_err()
        .to_string()
        .contains("at least two focal regions"));
}

#[test]
fn node_unknowns_are_the_grid_unknowns_of_their_cells() {
    // A 9 x 150 grid (more than 64 nodes per word boundary) with nodata, two regions and
    // one region grounded: every node's unknown from the rank structure equals the unknown
    // the grid Laplacian gives its cells.
    let (rows, cols) = (9usize, 150usize);
    let mut res = vec![1.0f32; rows * cols];
    let mut regions = vec![0u32; rows * cols];
    for (i, r) in res.iter_mut().enumerate() {
        if (i * 7919) % 13 == 0 {
            *r = f32::NAN;
        } else {
            *r = 1.0 + (i % 5) as f32;
        }
    }
    for i in [0usize, 1, 150, 151] {
        regions[i] = 1;
        res[i] = 1.0;
    }
    for i in [700usize, 701, 850, 1000] {
        regions[i] = 2;
        res[i] = 2.0;
    }
    for i in [1340usize, 1341] {
        regions[i] = 3;
        res[i] = 3.0;
    }
    let net = Network::new((rows, cols), &res, &regions, opts(false, false)).unwrap();
    let ground = net.regions[2].1;
    let (g, row) = net.system(|_| true, |v| v == ground, None).unwrap();
    let mut checked = 0;
    for (i, &u) in net.node.iter().enumerate() {
        if u != NONE {
            let want = g.unknown(i);
            let want = if (want as usize) < g.len() {
                want
            } else {
                NONE
            };
            assert_eq!(row.get(u as usize), want, "node {u} of cell {i}");
            checked += 1;
        }
    }
    assert!(checked > 1_000, "{checked} nodes");
    assert!(
        row.lumped.len() == 2,
        "two lumped regions: {:?}",
        row.lumped
    );
}
