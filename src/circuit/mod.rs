//! Circuit theory on a resistance raster, to Circuitscape's raster conventions: effective
//! resistance between focal regions, current density (where movement is funnelled) and
//! voltages.
//!
//! # Definitions
//! - Every cell with a finite resistance `R > 0` is a node; its 8 neighbours (4 with
//!   [`CircuitOptions::four_neighbours`]) are joined by a conductance of `(1/R_a + 1/R_b)/2`
//!   (average conductance, the default) or `2/(R_a + R_b)` (average resistance), divided by
//!   √2 on diagonals. **The cell size does not enter** (as in Circuitscape): resistances are
//!   in the raster's own units per cell, so effective resistances compare within a raster.
//! - The cells of a focal region (same id > 0) are short-circuited into one node.
//! - **Pairwise**: 1 A injected at one region, the other grounded; the effective resistance
//!   is the voltage difference; regions in different connected parts have an infinite one.
//! - **Advanced**: current sources (A) and ground conductances per cell, one solve.
//! - **Node current** (what `current.tif` holds): the larger of the current flowing into and
//!   out of a node (ground currents included), which is half the sum of the absolute branch
//!   currents wherever no current enters or leaves the network; cumulative over pairs.
//!
//! # Method
//! The Laplacian of every connected part that holds a focal region (or, in advanced mode, a
//! source and a ground) is set up once, one node per part grounded (the part's first
//! region), as a grid Laplacian ([`crate::linsolve::grid`]) that the solver factors (sparse
//! Cholesky) or preconditions and solves matrix-free (AMG-CG) ([`crate::linsolve`]). With `G` the
//! inverse of that grounded matrix, one solve per region gives `x_a = G e_a`; every pair's
//! voltages are then `x_a - x_b` and its effective resistance `G_aa + G_bb - 2 G_ab`: `r`
//! solves for all `r (r - 1) / 2` pairs.
//!
//! # Memory
//! Per cell: 4 bytes (node number) + 8 (cumulative current); per node: 4 (its unknown), 8 per
//! region for the solved columns, and the solver's (see [`crate::linsolve`]: the factor, or
//! for AMG ~120 bytes per node with the system held matrix-free, never assembled).

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::linsolve::grid::{CellRole, GridLaplacian, NEIGHBOURS};
use crate::linsolve::{Method, SolveError, Solver};

mod pinch;
pub use pinch::{link_centrality, pinch_points, PinchPoints};

/// No node (nodata, barrier, or a cell outside the solved parts).
const NONE: u32 = u32::MAX;

/// How cells are joined, and which linear solver runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CircuitOptions {
    /// Join the 4 rook neighbours only (default: 8 neighbours).
    pub four_neighbours: bool,
    /// Conductance `2/(R_a + R_b)` (average resistance) instead of `(1/R_a + 1/R_b)/2`.
    pub avg_resistance: bool,
    /// The linear solver (default: sparse Cholesky).
    pub solver: Method,
}

/// What cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CircuitError {
    /// No cell holds a focal region id.
    #[error("no focal region: every cell of the regions raster is 0 or nodata\n  hint: focal regions (sources, patches) are cells with an id > 0")]
    NoRegion,
    /// Pairwise mode with a single region.
    #[error("only one focal region (id {0}): pairwise mode needs at least two")]
    OneRegion(u32),
    /// Every cell of a region is nodata or a barrier in the resistance raster.
    #[error("focal region {0} lies entirely on nodata or barrier cells of the resistance raster\n  hint: give the region cells with a finite resistance > 0, or drop it")]
    RegionOnNodata(u32),
    /// A pair names a region that does not exist.
    #[error("the pair {0}-{1} names focal region {2}, which the regions raster does not have")]
    UnknownRegion(u32, u32, u32),
    /// Sizes that do not match.
    #[error("{0}")]
    Shape(String),
    /// A source current or ground conductance that is not a finite number >= 0.
    #[error("{what} {value} at row {row}, column {col}: give a finite number >= 0 (0 = none)")]
    BadValue {
        /// `source current` or `ground conductance`.
        what: &'static str,
        /// The value.
        value: f64,
        /// Row of the cell.
        row: usize,
        /// Column of the cell.
        col: usize,
    },
    /// Advanced mode without any source or ground.
    #[error("advanced mode needs at least one current source and one ground")]
    NoSourceOrGround,
    /// The linear solver failed.
    #[error("{0}")]
    Solve(#[from] SolveError),
}

/// The resistor network of a raster: one node per usable cell, focal regions shorted.
#[derive(Debug)]
pub struct Network<'a> {
    rows: usize,
    cols: usize,
    res: &'a [f32],
    opts: CircuitOptions,
    /// Node of each cell (`NONE` for nodata and barriers).
    node: Vec<u32>,
    /// Nodes.
    n: usize,
    /// Focal regions: (id, node), sorted by id.
    regions: Vec<(u32, u32)>,
}

/// The unknown of each node in a system ([`NONE`] outside it): 1.6 bits per node instead of
/// 32. Single-cell unknowns are numbered in cell order, as nodes are, so a node's unknown is
/// its rank among the nodes with single-cell unknowns (a bit per node and a count per 64);
/// the few lumped unknowns (focal regions) are listed.
#[derive(Debug)]
struct Unknowns {
    single: Vec<u64>,
    before: Vec<u32>,
    /// (node, unknown) of the lumped unknowns, by node.
    lumped: Vec<(u32, u32)>,
}

impl Unknowns {
    /// The unknowns of `nodes` nodes (`node` per cell) in `g`.
    fn new(nodes: usize, node: &[u32], g: &GridLaplacian) -> Unknowns {
        let n = g.len() as u32;
        let mut single = vec![0u64; nodes.div_ceil(64)];
        let mut lumped = Vec::new();
        for (i, &u) in node.iter().enumerate() {
            if u == NONE {
                continue;
            }
            let k = g.unknown(i);
            if (k as usize) < g.singles() {
                single[u as usize / 64] |= 1 << (u % 64);
            } else if k < n {
                lumped.push((u, k));
            }
        }
        lumped.sort_unstable();
        lumped.dedup();
        let mut before = Vec::with_capacity(single.len());
        let mut count = 0u32;
        for w in &single {
            before.push(count);
            count += w.count_ones();
        }
        Unknowns {
            single,
            before,
            lumped,
        }
    }

    /// The unknown of node `u`, or [`NONE`].
    #[inline]
    fn get(&self, u: usize) -> u32 {
        let (w, b) = (u / 64, u % 64);
        let word = self.single[w];
        if word >> b & 1 == 1 {
            self.before[w] + (word & ((1u64 << b) - 1)).count_ones()
        } else {
            match self.lumped.binary_search_by_key(&(u as u32), |e| e.0) {
                Ok(k) => self.lumped[k].1,
                Err(_) => NONE,
            }
        }
    }
}

/// Conductance between two cells of resistance `ra` and `rb`.
#[inline]
fn conductance(ra: f32, rb: f32, diagonal: bool, avg_resistance: bool) -> f64 {
    let (a, b) = (ra as f64, rb as f64);
    let g = if avg_resistance {
        2.0 / (a + b)
    } else {
        0.5 * (1.0 / a + 1.0 / b)
    };
    if diagonal {
        g * std::f64::consts::FRAC_1_SQRT_2
    } else {
        g
    }
}

/// Whether a resistance makes a node.
#[inline]
fn usable(r: f32) -> bool {
    r.is_finite() && r > 0.0
}

impl<'a> Network<'a> {
    /// The network of `res` (rows x cols, row-major; NaN, infinite or <= 0 = no node) with
    /// the cells of each region id in `regions` (0 = none) shorted. `regions` may be empty
    /// (no focal regions, advanced mode).
    ///
    /// # Errors
    /// Sizes that do not match; a region lying entirely on nodata.
    pub fn new(
        (rows, cols): (usize, usize),
        res: &'a [f32],
        regions: &[u32],
        opts: CircuitOptions,
    ) -> Result<Network<'a>, CircuitError> {
        if res.len() != rows * cols || !(regions.is_empty() || regions.len() == res.len()) {
            return Err(CircuitError::Shape(format!(
                "a {rows} x {cols} grid needs {} values per raster (resistance {}, regions {})",
                rows * cols,
                res.len(),
                regions.len()
            )));
        }
        let mut node = vec![NONE; res.len()];
        let mut region_node: BTreeMap<u32, u32> = BTreeMap::new();
        let mut seen: BTreeMap<u32, bool> = BTreeMap::new();
        let mut n = 0u32;
        for (i, &r) in res.iter().enumerate() {
            let id = regions.get(i).copied().unwrap_or(0);
            if id != 0 {
                let ok = seen.entry(id).or_insert(false);
                *ok |= usable(r);
            }
            if !usable(r) {
                continue;
            }
            node[i] = if id != 0 {
                *region_node.entry(id).or_insert_with(|| {
                    n += 1;
                    n - 1
                })
            } else {
                n += 1;
                n - 1
            };
        }
        if let Some((&id, _)) = seen.iter().find(|(_, &ok)| !ok) {
            return Err(CircuitError::RegionOnNodata(id));
        }
        Ok(Network {
            rows,
            cols,
            res,
            opts,
            node,
            n: n as usize,
            regions: region_node.into_iter().collect(),
        })
    }

    /// Nodes of the network.
    pub fn nodes(&self) -> usize {
        self.n
    }

    /// Focal region ids, ascending.
    pub fn region_ids(&self) -> Vec<u32> {
        self.regions.iter().map(|r| r.0).collect()
    }

    /// Calls `f(a, b, g)` for every edge between cells `a` and `b` (a before b) with its
    /// conductance, row by row: right, down, down-right, down-left.
    fn for_each_edge_of_row(&self, r: usize, mut f: impl FnMut(usize, usize, f64)) {
        let (rows, cols) = (self.rows, self.cols);
        let avg = self.opts.avg_resistance;
        for c in 0..cols {
            let a = r * cols + c;
            let ra = self.res[a];
            if !usable(ra) {
                continue;
            }
            let mut visit = |b: usize, diag: bool| {
                let rb = self.res[b];
                if usable(rb) {
                    f(a, b, conductance(ra, rb, diag, avg));
                }
            };
            if c + 1 < cols {
                visit(a + 1, false);
            }
            if r + 1 < rows {
                visit(a + cols, false);
                if !self.opts.four_neighbours {
                    if c + 1 < cols {
                        visit(a + cols + 1, true);
                    }
                    if c > 0 {
                        visit(a + cols - 1, true);
                    }
                }
            }
        }
    }

    /// Connected part of every node (numbered by first node, ascending).
    fn parts(&self) -> Vec<u32> {
        let mut parent: Vec<u32> = (0..self.n as u32).collect();
        fn find(p: &mut [u32], mut x: u32) -> u32 {
            while p[x as usize] != x {
                p[x as usize] = p[p[x as usize] as usize];
                x = p[x as usize];
            }
            x
        }
        for r in 0..self.rows {
            self.for_each_edge_of_row(r, |a, b, _| {
                let (x, y) = (
                    find(&mut parent, self.node[a]),
                    find(&mut parent, self.node[b]),
                );
                if x != y {
                    let (lo, hi) = (x.min(y), x.max(y));
                    parent[hi as usize] = lo;
                }
            });
        }
        (0..self.n as u32).map(|v| find(&mut parent, v)).collect()
    }

    /// The grounded Laplacian of the nodes for which `solved` holds (matrix-free, see
    /// [`GridLaplacian`]), nodes for which `grounded` holds at 0 V, `extra` conductance to
    /// ground per cell; and the unknown of every node (`NONE` outside the system).
    fn system(
        &self,
        solved: impl Fn(u32) -> bool,
        grounded: impl Fn(u32) -> bool,
        extra: Option<&[f64]>,
    ) -> Result<(GridLaplacian, Unknowns), CircuitError> {
        // Lumped unknowns: the solved regions, numbered in id order.
        let mut lump: Vec<(u32, u32)> = Vec::new();
        for &(_, v) in &self.regions {
            if solved(v) && !grounded(v) {
                lump.push((v, lump.len() as u32));
            }
        }
        lump.sort_unstable();
        let roles: Vec<CellRole> = self
            .node
            .iter()
            .map(|&u| {
                if u == NONE {
                    CellRole::Out
                } else if grounded(u) {
                    CellRole::Grounded
                } else if !solved(u) {
                    CellRole::Out
                } else if let Ok(k) = lump.binary_search_by_key(&u, |e| e.0) {
                    CellRole::Lumped(lump[k].1)
                } else {
                    CellRole::Single
                }
            })
            .collect();
        let opts = (self.opts.four_neighbours, self.opts.avg_resistance);
        let g = GridLaplacian::new((self.rows, self.cols), self.res, &roles, opts, extra)
            .map_err(|e| CircuitError::Shape(e.to_string()))?;
        drop(roles);
        let row = Unknowns::new(self.n, &self.node, &g);
        Ok((g, row))
    }

    /// Sets a current map to NaN on cells without a node and on the focal regions' own
    /// (shorted) cells, whose current is the region's, not a cell's.
    fn blank_regions(&self, current: &mut [f64]) {
        let mut is_region = vec![false; self.n];
        for &(_, v) in &self.regions {
            is_region[v as usize] = true;
        }
        for (c, &u) in current.iter_mut().zip(&self.node) {
            if u == NONE || is_region[u as usize] {
                *c = f64::NAN;
            }
        }
    }

    /// Adds each cell's node current under node voltages `v` (with `ground` conductances per
    /// node, when given) to `out` (per cell). Cells without a node are left alone.
    fn add_node_currents(&self, v: &[f64], ground: Option<&[f64]>, out: &mut [f64]) {
        let (rows, cols) = (self.rows, self.cols);
        let avg = self.opts.avg_resistance;
        let four = self.opts.four_neighbours;
        out.par_chunks_mut(cols).enumerate().for_each(|(r, line)| {
            for (c, o) in line.iter_mut().enumerate() {
                let a = r * cols + c;
                let u = self.node[a];
                if u == NONE {
                    continue;
                }
                let (ra, vu) = (self.res[a], v[u as usize]);
                let (mut inflow, mut outflow) = (0.0f64, 0.0f64);
                for (dr, dc) in NEIGHBOURS {
                    let diag = dr != 0 && dc != 0;
                    if diag && four {
                        continue;
                    }
                    let (nr, nc) = (r as i64 + dr, c as i64 + dc);
                    if nr < 0 || nc < 0 || nr >= rows as i64 || nc >= cols as i64 {
                        continue;
                    }
                    let b = nr as usize * cols + nc as usize;
                    let w = self.node[b];
                    if w == NONE || w == u {
                        continue;
                    }
                    let i = conductance(ra, self.res[b], diag, avg) * (vu - v[w as usize]);
                    if i > 0.0 {
                        outflow += i;
                    } else {
                        inflow -= i;
                    }
                }
                if let Some(g) = ground {
                    let i = g[u as usize] * vu;
                    if i > 0.0 {
                        outflow += i;
                    } else {
                        inflow -= i;
                    }
                }
                *o += inflow.max(outflow);
            }
        });
    }
}

/// The effective resistance between two focal regions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairResistance {
    /// Region id.
    pub from: u32,
    /// Region id.
    pub to: u32,
    /// Effective resistance (raster resistance units; `+inf` between unconnected regions).
    pub resistance: f64,
}

/// What a pairwise run gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Pairwise {
    /// Effective resistance of every pair, in the order asked.
    pub pairs: Vec<PairResistance>,
    /// Cumulative node current per cell over the pairs (A); NaN on nodata, barriers and the
    /// focal regions' own cells. Empty when not asked for.
    pub current: Vec<f64>,
    /// With exactly one pair: the voltage per cell (V; NaN without a node). Else empty.
    pub voltage: Vec<f64>,
    /// The linear solver that ran.
    pub solver: &'static str,
    /// Its method ([`Method::Cholesky`] or [`Method::Amg`]).
    pub method: Method,
    /// Wall time of the linear algebra: preparing the solver (factor, or matrix and AMG
    /// hierarchy) and every solve, s.
    pub solver_seconds: (f64, f64),
}

/// Every pair of the network's regions (smaller id first), in order.
pub fn all_pairs(regions: &[u32]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for (k, &a) in regions.iter().enumerate() {
        for &b in &regions[k + 1..] {
            out.push((a, b));
        }
    }
    out
}

/// Pairs of regions whose cells' allocation zones touch (8-neighbours; 4 when
/// `four_neighbours`): `alloc` holds the nearest region id per cell (0 = none), e.g. from a
/// multi-source cost-distance run.
pub fn touching_pairs(
    (rows, cols): (usize, usize),
    alloc: &[u32],
    four_neighbours: bool,
) -> Vec<(u32, u32)> {
    let mut set = std::collections::BTreeSet::new();
    for r in 0..rows {
        for c in 0..cols {
            let a = alloc[r * cols + c];
            if a == 0 {
                continue;
            }
            let mut look = |b: usize| {
                let x = alloc[b];
                if x != 0 && x != a {
                    set.insert((a.min(x), a.max(x)));
                }
            };
            if c + 1 < cols {
                look(r * cols + c + 1);
            }
            if r + 1 < rows {
                look((r + 1) * cols + c);
                if !four_neighbours {
                    if c + 1 < cols {
                        look((r + 1) * cols + c + 1);
                    }
                    if c > 0 {
                        look((r + 1) * cols + c - 1);
                    }
                }
            }
        }
    }
    set.into_iter().collect()
}

/// Effective resistances of `pairs` and, when `current`, the cumulative current map.
///
/// # Errors
/// No region or a single one; a pair naming an unknown region; the solver's errors.
pub fn pairwise(
    net: &Network,
    pairs: &[(u32, u32)],
    current: bool,
) -> Result<Pairwise, CircuitError> {
    match net.regions.len() {
        0 => return Err(CircuitError::NoRegion),
        1 => return Err(CircuitError::OneRegion(net.regions[0].0)),
        _ => {}
    }
    // Each pair as indices into the regions, resolved once.
    let region = |id: u32| net.regions.binary_search_by_key(&id, |r| r.0).ok();
    let mut index = Vec::with_capacity(pairs.len());
    for &(a, b) in pairs {
        match (region(a), region(b)) {
            (Some(ka), Some(kb)) => index.push((ka, kb)),
            (None, _) => return Err(CircuitError::UnknownRegion(a, b, a)),
            (_, None) => return Err(CircuitError::UnknownRegion(a, b, b)),
        }
    }
    // Regions in a pair, and the parts that hold them; each part grounded at its first
    // region's node.
    let part = net.parts();
    let mut used = vec![false; net.regions.len()];
    for &(ka, kb) in &index {
        used[ka] = true;
        used[kb] = true;
    }
    let mut ground_of_part: BTreeMap<u32, u32> = BTreeMap::new();
    for (k, &(_, v)) in net.regions.iter().enumerate() {
        if used[k] {
            ground_of_part.entry(part[v as usize]).or_insert(v);
        }
    }
    let grounds: Vec<u32> = ground_of_part.values().copied().collect();
    let clock = std::time::Instant::now();
    let (lap, row) = net.system(
        |v| ground_of_part.contains_key(&part[v as usize]),
        |v| grounds.contains(&v),
        None,
    )?;
    let m = lap.len();
    // The part of each region; the per-node parts are not needed any more.
    let region_part: Vec<u32> = net.regions.iter().map(|&(_, v)| part[v as usize]).collect();
    drop(part);
    let chol = Solver::grid(lap, net.opts.solver)?;
    let setup_seconds = clock.elapsed().as_secs_f64();
    // x_k = G e_k for every used region that is not a ground (grounds have x = 0).
    let solved: Vec<usize> = (0..net.regions.len())
        .filter(|&k| used[k] && row.get(net.regions[k].1 as usize) != NONE)
        .collect();
    let mut x = vec![0.0f64; m * solved.len()];
    for (j, &k) in solved.iter().enumerate() {
        x[j * m + row.get(net.regions[k].1 as usize) as usize] = 1.0;
    }
    chol.solve(&mut x, solved.len())?;
    let solver_seconds = (setup_seconds, clock.elapsed().as_secs_f64() - setup_seconds);
    let mut column = vec![None; net.regions.len()];
    for (j, &k) in solved.iter().enumerate() {
        column[k] = Some(j);
    }
    // Voltage at node v for a unit injection at region k (0 at grounds and other parts).
    let volt = |k: usize, v: u32| -> f64 {
        match (column[k], row.get(v as usize)) {
            (Some(j), r) if r != NONE => x[j * m + r as usize],
            _ => 0.0,
        }
    };
    let mut out = Vec::with_capacity(pairs.len());
    for (&(a, b), &(ka, kb)) in pairs.iter().zip(&index) {
        let (va, vb) = (net.regions[ka].1, net.regions[kb].1);
        let resistance = if region_part[ka] != region_part[kb] {
            f64::INFINITY
        } else if a == b {
            0.0
        } else {
            volt(ka, va) + volt(kb, vb) - volt(ka, vb) - volt(kb, va)
        };
        out.push(PairResistance {
            from: a,
            to: b,
            resistance,
        });
    }
    // Node voltages of the pair of regions (ka, kb), x_a - x_b, into `v` (one buffer for
    // every pair).
    let node_voltages = |(ka, kb): (usize, usize), v: &mut [f64]| {
        let (ca, cb) = (
            column[ka].map(|j| &x[j * m..(j + 1) * m]),
            column[kb].map(|j| &x[j * m..(j + 1) * m]),
        );
        v.par_iter_mut().enumerate().for_each(|(u, vi)| {
            let r = row.get(u);
            *vi = if r == NONE {
                0.0
            } else {
                ca.map_or(0.0, |c| c[r as usize]) - cb.map_or(0.0, |c| c[r as usize])
            };
        });
    };
    let mut v = vec![0.0f64; net.n];
    let mut cum = Vec::new();
    if current {
        cum = vec![0.0f64; net.node.len()];
        for (&k, r) in index.iter().zip(&out) {
            if r.resistance.is_finite() && r.from != r.to {
                node_voltages(k, &mut v);
                net.add_node_currents(&v, None, &mut cum);
            }
        }
        net.blank_regions(&mut cum);
    }
    let voltage = match index[..] {
        [k] if out[0].resistance.is_finite() => {
            // 1 A in at the first region, the second grounded at 0 V; NaN outside their part.
            node_voltages(k, &mut v);
            let vb = net.regions[k.1].1 as usize;
            net.node
                .iter()
                .map(|&u| {
                    // The pair's part: the nodes solved, and its ground.
                    if u == NONE || (row.get(u as usize) == NONE && !grounds.contains(&u)) {
                        f64::NAN
                    } else {
                        v[u as usize] - v[vb]
                    }
                })
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(Pairwise {
        pairs: out,
        current: cum,
        voltage,
        solver: chol.describe(),
        method: chol.method(),
        solver_seconds,
    })
}

/// Circuitscape's focal modes besides pairwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FocalMode {
    /// Each region in turn: 1 A in at it, every other region grounded.
    OneToAll,
    /// Each region in turn: grounded, 1 A in at every other region.
    AllToOne,
}

/// One region's run in a focal mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FocalRun {
    /// Region id.
    pub id: u32,
    /// Other regions in its connected part (0: not solved, no current).
    pub others: usize,
    /// One-to-all: its voltage with 1 A in and the others grounded, i.e. the effective
    /// resistance between it and all other regions joined (`inf` when `others` is 0).
    /// All-to-one: the mean voltage of the other regions (each with 1 A in) over it grounded.
    pub resistance: f64,
}

/// What a focal-mode run gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Focal {
    /// Per region, ascending id.
    pub runs: Vec<FocalRun>,
    /// Cumulative node current over the runs (A); NaN on focal regions and without a node.
    pub current: Vec<f64>,
    /// The linear solver that ran.
    pub solver: &'static str,
}

/// Circuitscape's one-to-all or all-to-one mode: for each focal region, the network of its
/// connected part with the grounded regions held at 0 V (Dirichlet; regions in another part
/// take no part), one factorization and one solve; node currents (`max(in, out)`, as pairwise)
/// summed over the regions in id order. A region alone in its part is not solved.
///
/// # Work
/// One factorization per region (the grounded set differs), done one after another: memory
/// is one factor at a time.
///
/// # Errors
/// Fewer than two regions; the solver's errors.
pub fn focal(net: &Network, mode: FocalMode) -> Result<Focal, CircuitError> {
    if net.regions.len() < 2 {
        return Err(CircuitError::Shape(format!(
            "focal modes need at least two focal regions ({} given)",
            net.regions.len()
        )));
    }
    let part = net.parts();
    let cells = net.node.len();
    let mut current = vec![0.0f64; cells];
    let mut runs = Vec::with_capacity(net.regions.len());
    let mut solver = "none";
    for &(id, node) in &net.regions {
        let p = part[node as usize];
        let others: Vec<u32> = net
            .regions
            .iter()
            .filter(|&&(j, u)| j != id && part[u as usize] == p)
            .map(|&(_, u)| u)
            .collect();
        if others.is_empty() {
            runs.push(FocalRun {
                id,
                others: 0,
                resistance: f64::INFINITY,
            });
            continue;
        }
        let grounded = |v: u32| match mode {
            FocalMode::OneToAll => others.contains(&v),
            FocalMode::AllToOne => v == node,
        };
        let (lap, row) = net.system(|v| part[v as usize] == p, grounded, None)?;
        let m = lap.len();
        let chol = Solver::grid(lap, net.opts.solver)?;
        solver = chol.describe();
        let mut b = vec![0.0f64; m];
        match mode {
            FocalMode::OneToAll => b[row.get(node as usize) as usize] = 1.0,
            FocalMode::AllToOne => {
                for &u in &others {
                    b[row.get(u as usize) as usize] = 1.0;
                }
            }
        }
        chol.solve(&mut b, 1)?;
        let v: Vec<f64> = (0..net.n)
            .map(|u| {
                if row.get(u) == NONE {
                    0.0
                } else {
                    b[row.get(u) as usize]
                }
            })
            .collect();
        let resistance = match mode {
            FocalMode::OneToAll => v[node as usize],
            FocalMode::AllToOne => {
                others.iter().map(|&u| v[u as usize]).sum::<f64>() / others.len() as f64
            }
        };
        net.add_node_currents(&v, None, &mut current);
        runs.push(FocalRun {
            id,
            others: others.len(),
            resistance,
        });
    }
    net.blank_regions(&mut current);
    Ok(Focal {
        runs,
        current,
        solver,
    })
}

/// What an advanced run gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Advanced {
    /// Node current per cell (A); NaN without a node, 0 in parts without a source or ground.
    pub current: Vec<f64>,
    /// Voltage per cell (V); NaN without a node, 0 in parts without a source or ground.
    pub voltage: Vec<f64>,
    /// Nodes solved (in parts with both a source and a ground).
    pub solved_nodes: usize,
    /// The linear solver that ran.
    pub solver: &'static str,
}

/// Circuitscape's advanced mode: `sources` (A injected per cell) and `grounds` (conductance
/// to ground per cell), both >= 0 (0 = none; a cell may be both). Parts of the network
/// without a source or without a ground carry no current.
///
/// # Errors
/// Bad values or sizes; no source or no ground anywhere; the solver's errors.
pub fn advanced(net: &Network, sources: &[f64], grounds: &[f64]) -> Result<Advanced, CircuitError> {
    let cells = net.node.len();
    if sources.len() != cells || grounds.len() != cells {
        return Err(CircuitError::Shape(format!(
            "sources ({}) and grounds ({}) need one value per cell ({cells})",
            sources.len(),
            grounds.len()
        )));
    }
    let mut s = vec![0.0f64; net.n];
    let mut g = vec![0.0f64; net.n];
    for i in 0..cells {
        for (what, value, acc) in [
            ("source current", sources[i], &mut s),
            ("ground conductance", grounds[i], &mut g),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(CircuitError::BadValue {
                    what,
                    value,
                    row: i / net.cols,
                    col: i % net.cols,
                });
            }
            if value > 0.0 && net.node[i] != NONE {
                acc[net.node[i] as usize] += value;
            }
        }
    }
    if !s.iter().any(|&x| x > 0.0) || !g.iter().any(|&x| x > 0.0) {
        return Err(CircuitError::NoSourceOrGround);
    }
    let part = net.parts();
    let mut has: BTreeMap<u32, (bool, bool)> = BTreeMap::new();
    for v in 0..net.n {
        let e = has.entry(part[v]).or_default();
        e.0 |= s[v] > 0.0;
        e.1 |= g[v] > 0.0;
    }
    let (lap, row) = net.system(
        |v| has[&part[v as usize]] == (true, true),
        |_| false,
        Some(grounds),
    )?;
    let m = lap.len();
    let chol = Solver::grid(lap, net.opts.solver)?;
    let mut b = vec![0.0f64; m];
    for v in 0..net.n {
        if row.get(v) != NONE {
            b[row.get(v) as usize] = s[v];
        }
    }
    chol.solve(&mut b, 1)?;
    let v: Vec<f64> = (0..net.n)
        .map(|u| {
            if row.get(u) == NONE {
                0.0
            } else {
                b[row.get(u) as usize]
            }
        })
        .collect();
    let mut current = vec![0.0f64; cells];
    net.add_node_currents(&v, Some(&g), &mut current);
    let voltage = net
        .node
        .iter()
        .map(|&u| if u == NONE { f64::NAN } else { v[u as usize] })
        .collect();
    for (c, &u) in current.iter_mut().zip(&net.node) {
        if u == NONE {
            *c = f64::NAN;
        }
    }
    Ok(Advanced {
        current,
        voltage,
        solved_nodes: m,
        solver: chol.describe(),
    })
}

#[cfg(test)]
mod tests;
