//! Cost distance: minimum cumulative resistance from sources over the 8-connected grid.
//!
//! # Input
//! A [`Resistance`] surface, the grid's cell size and seed cells with their source id.
//!
//! # Output
//! [`CostSurface`]: per cell the least accumulated cost from any seed (`f32`, resistance × m;
//! `+∞` where unreached, impassable or beyond the cut-off) and the id of the source it is
//! cheapest to reach from (allocation; 0 where unreached).
//!
//! # Method
//! Dijkstra's algorithm on the implicit cell graph, as GRASS `r.cost` (without knight's moves)
//! and scikit-image `MCP_Geometric`: moving between 8-neighbours a → b costs
//! `d · (R_a + R_b) / 2` with `d` the cell size for rook moves and cell size × √2 for diagonal
//! moves. Seed cells cost 0. Barrier and outside cells are never entered; diagonal moves
//! between two passable cells are allowed even past impassable corners unless
//! `corner_cutting` is off.
//!
//! The heap holds (exact `f64` cost, cell) pairs ordered by cost, then cell index: a true total
//! order, so ties resolve the same way on every run. Stored costs are `f32`, but each heap
//! entry carries the exact `f64` sum of its path, so rounding never accumulates along a path
//! (relative error ≤ one `f32` rounding, ~6e-8).
//!
//! # Memory
//! 8 bytes per cell (cost `f32` + allocation `u32`) plus 16 bytes per heap entry; the heap
//! holds about the frontier (a few cells per unit of front length), not the grid.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::resistance::Resistance;

/// Options of a cost-distance run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostOptions {
    /// Cells whose cost would exceed this are left unreached (`+∞`). `None`: no cut-off.
    pub max_cwd: Option<f64>,
    /// Allow diagonal moves past an impassable rook neighbour (default true, as `r.cost`).
    pub corner_cutting: bool,
}

impl Default for CostOptions {
    fn default() -> Self {
        CostOptions {
            max_cwd: None,
            corner_cutting: true,
        }
    }
}

/// Accumulated cost and allocation per cell.
#[derive(Debug, Clone, PartialEq)]
pub struct CostSurface {
    /// Least accumulated cost (resistance × m); `+∞` where unreached.
    pub cost: Vec<f32>,
    /// Source id of the cheapest seed; 0 where unreached.
    pub alloc: Vec<u32>,
}

/// A heap entry: exact cost and cell; ordered by cost bits then cell (costs are >= 0, so the
/// bit patterns of the `f64`s order like their values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    cost_bits: u64,
    cell: u32,
}

impl Entry {
    fn new(cost: f64, cell: usize) -> Entry {
        debug_assert!(cost >= 0.0);
        Entry {
            cost_bits: cost.to_bits(),
            cell: cell as u32,
        }
    }
    fn cost(&self) -> f64 {
        f64::from_bits(self.cost_bits)
    }
}

/// The 8 neighbour offsets as (d_row, d_col, diagonal).
const NEIGHBOURS: [(isize, isize, bool); 8] = [
    (-1, 0, false),
    (1, 0, false),
    (0, -1, false),
    (0, 1, false),
    (-1, -1, true),
    (-1, 1, true),
    (1, -1, true),
    (1, 1, true),
];

/// Minimum cumulative resistance from the seeds.
///
/// `seeds` are (cell index, source id > 0); seeds on impassable cells are ignored (a source
/// with no passable cell is unreachable). `rows`/`cols` describe the grid of `res`.
///
/// # Complexity
/// O(N log N) for the N cells reached.
pub fn accumulate_cost(
    rows: usize,
    cols: usize,
    cell_size_m: f64,
    res: &Resistance,
    seeds: impl IntoIterator<Item = (usize, u32)>,
    opts: &CostOptions,
) -> CostSurface {
    let n = rows * cols;
    let mut store = FullStore {
        cost: vec![f32::INFINITY; n],
        alloc: vec![0u32; n],
    };
    dijkstra(
        Shape {
            rows,
            cols,
            cell_size_m,
        },
        res,
        seeds,
        opts.max_cwd.unwrap_or(f64::INFINITY),
        opts.corner_cutting,
        &mut store,
    );
    CostSurface {
        cost: store.cost,
        alloc: store.alloc,
    }
}

/// The size of the grid a run works on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shape {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Cell size, m.
    pub cell_size_m: f64,
}

/// Where a Dijkstra run keeps its costs (and allocation).
pub(crate) trait CostStore {
    /// Cost of a cell (`+∞` if not reached).
    fn cost(&self, cell: usize) -> f32;
    /// Allocation of a cell.
    fn alloc(&self, cell: usize) -> u32;
    /// Sets both.
    fn set(&mut self, cell: usize, cost: f32, alloc: u32);
}

/// Whole-grid arrays (multi-source runs).
struct FullStore {
    cost: Vec<f32>,
    alloc: Vec<u32>,
}

impl CostStore for FullStore {
    fn cost(&self, cell: usize) -> f32 {
        self.cost[cell]
    }
    fn alloc(&self, cell: usize) -> u32 {
        self.alloc[cell]
    }
    fn set(&mut self, cell: usize, cost: f32, alloc: u32) {
        self.cost[cell] = cost;
        self.alloc[cell] = alloc;
    }
}

/// The Dijkstra core shared by whole-grid and per-source runs: expands from `seeds` through
/// passable cells, leaving cells beyond `limit` unreached.
pub(crate) fn dijkstra<S: CostStore>(
    shape: Shape,
    res: &Resistance,
    seeds: impl IntoIterator<Item = (usize, u32)>,
    limit: f64,
    corner_cutting: bool,
    store: &mut S,
) {
    let Shape {
        rows,
        cols,
        cell_size_m,
    } = shape;
    let r = res.values();
    assert_eq!(r.len(), rows * cols, "resistance does not match the grid");
    let mut heap: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
    for (cell, id) in seeds {
        if !r[cell].is_finite() {
            continue;
        }
        if store.cost(cell) > 0.0 {
            store.set(cell, 0.0, id);
            heap.push(Reverse(Entry::new(0.0, cell)));
        } else if store.alloc(cell) > id {
            // A cell seeded by two sources goes to the smaller id, whatever the seed order.
            store.set(cell, 0.0, id);
        }
    }
    let rook = cell_size_m;
    let diag = cell_size_m * std::f64::consts::SQRT_2;
    while let Some(Reverse(e)) = heap.pop() {
        let c = e.cell as usize;
        let d = e.cost();
        if (d as f32) > store.cost(c) {
            continue; // stale entry
        }
        let (row, col) = ((c / cols) as isize, (c % cols) as isize);
        let rc = r[c] as f64;
        let id = store.alloc(c);
        for &(dr, dc, is_diag) in &NEIGHBOURS {
            let (nr, nc) = (row + dr, col + dc);
            if nr < 0 || nc < 0 || nr >= rows as isize || nc >= cols as isize {
                continue;
            }
            let nb = nr as usize * cols + nc as usize;
            let rn = r[nb];
            if !rn.is_finite() {
                continue;
            }
            if is_diag && !corner_cutting {
                let a = row as usize * cols + nc as usize;
                let b = nr as usize * cols + col as usize;
                if !r[a].is_finite() || !r[b].is_finite() {
                    continue;
                }
            }
            let step = if is_diag { diag } else { rook } * (rc + rn as f64) * 0.5;
            let nd = d + step;
            if nd > limit {
                continue;
            }
            let nd32 = nd as f32;
            let old = store.cost(nb);
            if nd32 < old || (nd32 == old && id < store.alloc(nb)) {
                store.set(nb, nd32, id);
                heap.push(Reverse(Entry::new(nd, nb)));
            }
        }
    }
}

/// Step cost between two neighbouring cells (the move rule), for path checks.
pub fn step_cost(cell_size_m: f64, diagonal: bool, ra: f32, rb: f32) -> f64 {
    let d = if diagonal {
        cell_size_m * std::f64::consts::SQRT_2
    } else {
        cell_size_m
    };
    d * (ra as f64 + rb as f64) * 0.5
}

/// The 8 neighbour offsets as (d_row, d_col, diagonal), for callers tracing paths.
pub(crate) fn neighbours() -> &'static [(isize, isize, bool); 8] {
    &NEIGHBOURS
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn res(v: &[f32]) -> Resistance {
        Resistance::from_values(v.to_vec()).unwrap()
    }

    #[test]
    fn cost_is_zero_at_source_cells_and_follows_the_move_rule() {
        // 1 x 3 grid, resistances 1, 3, 5, cell 10 m: 0, 10*(1+3)/2 = 20, 20 + 10*(3+5)/2 = 60.
        let s = accumulate_cost(
            1,
            3,
            10.0,
            &res(&[1.0, 3.0, 5.0]),
            [(0, 1)],
            &CostOptions::default(),
        );
        assert_eq!(s.cost, vec![0.0, 20.0, 60.0]);
        assert_eq!(s.alloc, vec![1, 1, 1]);
        // Diagonal: 2 x 2 of ones, from (0,0) to (1,1) costs sqrt(2).
        let s = accumulate_cost(
            2,
            2,
            1.0,
            &res(&[1.0; 4]),
            [(0, 1)],
            &CostOptions::default(),
        );
        assert!((s.cost[3] as f64 - std::f64::consts::SQRT_2).abs() < 1e-6);
    }

    #[test]
    fn barriers_and_nodata_are_never_entered_but_corners_can_be_cut() {
        let inf = f32::INFINITY;
        let v = [1.0, inf, f32::NAN, 1.0];
        let s = accumulate_cost(2, 2, 1.0, &res(&v), [(0, 1)], &CostOptions::default());
        assert_eq!((s.cost[1], s.cost[2]), (inf, inf));
        assert!((s.cost[3] as f64 - std::f64::consts::SQRT_2).abs() < 1e-6);
        let no_cut = CostOptions {
            corner_cutting: false,
            ..Default::default()
        };
        let s = accumulate_cost(2, 2, 1.0, &res(&v), [(0, 1)], &no_cut);
        assert_eq!((s.cost[3], s.alloc[3]), (inf, 0));
    }

    #[test]
    fn the_cut_off_leaves_far_cells_unreached() {
        let s = accumulate_cost(
            1,
            4,
            1.0,
            &res(&[1.0; 4]),
            [(0, 1)],
            &CostOptions {
                max_cwd: Some(2.0),
                corner_cutting: true,
            },
        );
        assert_eq!(s.cost, vec![0.0, 1.0, 2.0, f32::INFINITY]);
        assert_eq!(s.alloc, vec![1, 1, 1, 0]);
    }

    #[test]
    fn allocation_goes_to_the_cheapest_source_and_ties_to_the_smaller_id() {
        let s = accumulate_cost(
            1,
            5,
            1.0,
            &res(&[1.0; 5]),
            [(4, 9), (0, 2)],
            &CostOptions::default(),
        );
        assert_eq!(s.alloc, vec![2, 2, 2, 9, 9]);
        assert_eq!(s.cost, vec![0.0, 1.0, 2.0, 1.0, 0.0]);
    }

    /// Bellman-Ford over the explicit cell graph.
    fn brute(
        rows: usize,
        cols: usize,
        cs: f64,
        r: &[f32],
        seeds: &[(usize, u32)],
    ) -> (Vec<f64>, Vec<u32>) {
        let n = rows * cols;
        let mut d = vec![f64::INFINITY; n];
        let mut a = vec![0u32; n];
        for &(c, id) in seeds {
            if r[c].is_finite() && (d[c] > 0.0 || id < a[c]) {
                d[c] = 0.0;
                a[c] = id;
            }
        }
        loop {
            let mut changed = false;
            for c in 0..n {
                if !d[c].is_finite() {
                    continue;
                }
                let (row, col) = ((c / cols) as isize, (c % cols) as isize);
                for &(dr, dc, diag) in &NEIGHBOURS {
                    let (nr, nc) = (row + dr, col + dc);
                    if nr < 0 || nc < 0 || nr >= rows as isize || nc >= cols as isize {
                        continue;
                    }
                    let nb = nr as usize * cols + nc as usize;
                    if !r[nb].is_finite() {
                        continue;
                    }
                    let len = if diag {
                        cs * std::f64::consts::SQRT_2
                    } else {
                        cs
                    };
                    let nd = d[c] + len * (r[c] as f64 + r[nb] as f64) / 2.0;
                    if nd < d[nb] - 1e-9 * nd.max(1.0) {
                        d[nb] = nd;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        (d, a)
    }

    proptest! {
        #[test]
        fn cost_distance_matches_bellman_ford(
            cells in proptest::collection::vec(prop_oneof![8 => 0.5f32..50.0, 1 => Just(f32::INFINITY), 1 => Just(f32::NAN)], 1..=120),
            cols in 1usize..12,
            seeds in proptest::collection::vec((0usize..120, 1u32..4), 1..4),
        ) {
            let rows = cells.len().div_ceil(cols);
            let mut r = cells.clone();
            r.resize(rows * cols, 1.0);
            let seeds: Vec<(usize, u32)> = seeds.into_iter().map(|(c, id)| (c % (rows * cols), id)).collect();
            let got = accumulate_cost(rows, cols, 30.0, &Resistance::from_values(r.clone()).unwrap(), seeds.clone(), &CostOptions::default());
            let (want, _) = brute(rows, cols, 30.0, &r, &seeds);
            for (i, &w) in want.iter().enumerate() {
                let g = got.cost[i] as f64;
                if w.is_infinite() {
                    prop_assert!(g.is_infinite(), "cell {} reached ({}) but brute force says unreachable", i, g);
                    prop_assert_eq!(got.alloc[i], 0);
                } else {
                    prop_assert!((g - w).abs() <= 1e-6 * w.max(1.0), "cell {}: {} vs {}", i, g, w);
                    prop_assert!(got.alloc[i] != 0);
                }
            }
        }

        #[test]
        fn costs_satisfy_the_edge_inequality(cells in proptest::collection::vec(0.5f32..20.0, 4..=100), cols in 2usize..10) {
            // For every pair of neighbours: cost[b] <= cost[a] + step(a, b) (up to f32 rounding).
            let rows = cells.len() / cols;
            prop_assume!(rows >= 1);
            let r: Vec<f32> = cells[..rows * cols].to_vec();
            let s = accumulate_cost(rows, cols, 1.0, &Resistance::from_values(r.clone()).unwrap(), [(0, 1)], &CostOptions::default());
            for a in 0..rows * cols {
                let (ar, ac) = ((a / cols) as isize, (a % cols) as isize);
                for &(dr, dc, diag) in &NEIGHBOURS {
                    let (nr, nc) = (ar + dr, ac + dc);
                    if nr < 0 || nc < 0 || nr >= rows as isize || nc >= cols as isize { continue; }
                    let b = nr as usize * cols + nc as usize;
                    let step = if diag { std::f64::consts::SQRT_2 } else { 1.0 } * (r[a] as f64 + r[b] as f64) / 2.0;
                    prop_assert!(s.cost[b] as f64 <= s.cost[a] as f64 + step + 1e-4);
                }
            }
        }
    }
}
