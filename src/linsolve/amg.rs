//! Conjugate gradients preconditioned by smoothed-aggregation algebraic multigrid (the method
//! family of pyamg and Circuitscape.jl's AlgebraicMultigrid.jl), for SPD systems too large for
//! a sparse factor or with few right-hand sides: memory grows linearly.
//!
//! Measured against pyamg 5.4 on the same 3.8 x 10^6-unknown landscape Laplacian (one run,
//! `benches/compare/circuit_amg.py`): see the README's Performance section.
//!
//! Setup per level: strong connections by pyamg's symmetric measure ([`THETA`]); standard
//! aggregation over them (a root and its free neighbours, then stragglers join a neighbouring
//! aggregate, then the rest form their own); tentative prolongator `T` fitted to the
//! near-nullspace candidate (the constant vector on the finest level; on each coarser level its
//! coarse representation, the aggregates' norms, so that the constant is reproduced exactly);
//! smoothed prolongator `P = (I - w D^-1 A) T` with `w = 4/3 / rho(D^-1 A)` (`rho` from a
//! short Lanczos run, as pyamg estimates it); Galerkin coarse matrix `P^T A P`; down to at
//! most [`COARSEST`] unknowns, solved by a sparse Cholesky. The V-cycle smooths with a
//! Chebyshev polynomial of degree 2 in `w D^-1 A` before and after (the same polynomial, so
//! the preconditioner stays symmetric; parallel, unlike pyamg's Gauss-Seidel; one product
//! before, from zero, and two after, as two damped Jacobi sweeps would take, in fewer
//! iterations: see `chebyshev`).
//!
//! # Memory
//! The finest level may be a matrix-free grid Laplacian ([`GridLaplacian`]: 9 bytes per cell
//! instead of ~116 bytes per unknown in compressed rows), whose vectors run over its padded
//! grid (a lumped unknown's cells all hold its value). No level stores its prolongator: a
//! level keeps its aggregates (4 bytes per entry) and Jacobi weights `w D^-1` (4, f32), and
//! applies `P = (I - w D^-1 A) T` and `P^T = T^T (I - w A D^-1)` with its own matrix (two more
//! products per cycle, against two stored prolongators of ~75 bytes per unknown). `P` is
//! built only while the coarse matrix is (its rows, and the rows of `P^T A P` from each
//! aggregate's members and their neighbours; both in two passes, lengths then values, so
//! only the final arrays are held). A solve holds four vectors over the finest level, two in
//! f64 and two in f32 (the preconditioner stores in f32, see [`Amg::solve_with`]), and the
//! solution over the unknowns. Measured on the 3.8 x 10^6-node landscape: see
//! [`super::AMG_BYTES`].
//!
//! Every step is deterministic: rows are processed independently in fixed chunks and reduced
//! in a fixed order, so results do not depend on the thread count.

use rayon::prelude::*;

use super::grid::{GridLaplacian, GridRows, Real};
use super::{Cholesky, SolveError};

/// Strength threshold: `j` is a strong neighbour of `i` when `|a_ij| >= THETA sqrt(a_ii a_jj)`.
/// On landscape Laplacians (resistance 1-100 in blobs, 5 % nodata, one node grounded) at 10^6
/// unknowns, conjugate gradients took 43 iterations to 1e-10 with every connection strong,
/// 16 at 0.05, 0.08 and 0.15, 14 at 0.25, with coarsening ever slower (setup 1.1 s at 0.05,
/// 2.7 s at 0.15, 26 s at 0.25).
const THETA: f64 = 0.05;

/// Unknowns at which the hierarchy stops and factors.
const COARSEST: usize = 2_000;

/// A symmetric sparse matrix in compressed rows (both triangles stored).
#[derive(Debug, Clone, PartialEq)]
pub struct Csr<T = f64> {
    n: usize,
    ptr: Vec<usize>,
    idx: Vec<u32>,
    val: Vec<T>,
}

impl Csr<f64> {
    /// The symmetric matrix whose lower triangle (diagonal included; duplicates summed) is
    /// `entries`. Written straight into its column and value arrays (12 bytes per stored
    /// entry; no buffer of (column, value) pairs), each row then sorted and its duplicates
    /// summed in place.
    pub fn from_lower(n: usize, entries: &[(u32, u32, f64)]) -> Csr {
        let mut ptr = vec![0usize; n + 1];
        for &(r, c, _) in entries {
            ptr[r as usize + 1] += 1;
            if r != c {
                ptr[c as usize + 1] += 1;
            }
        }
        for k in 0..n {
            ptr[k + 1] += ptr[k];
        }
        let mut fill = ptr[..n].to_vec();
        let mut idx = vec![0u32; ptr[n]];
        let mut val = vec![0.0f64; ptr[n]];
        for &(r, c, v) in entries {
            let (r, cu) = (r as usize, c as usize);
            idx[fill[r]] = c;
            val[fill[r]] = v;
            fill[r] += 1;
            if r != cu {
                idx[fill[cu]] = r as u32;
                val[fill[cu]] = v;
                fill[cu] += 1;
            }
        }
        drop(fill);
        // Sort each row by column (rows are short: a small buffer), sum duplicates and
        // move the row down over the room they leave.
        let mut row: Vec<(u32, f64)> = Vec::new();
        let mut end = 0;
        for r in 0..n {
            let (lo, hi) = (ptr[r], ptr[r + 1]);
            row.clear();
            row.extend(idx[lo..hi].iter().copied().zip(val[lo..hi].iter().copied()));
            row.sort_by_key(|e| e.0);
            ptr[r] = end;
            for &(c, v) in &row {
                if end > ptr[r] && idx[end - 1] == c {
                    val[end - 1] += v;
                } else {
                    idx[end] = c;
                    val[end] = v;
                    end += 1;
                }
            }
        }
        ptr[n] = end;
        idx.truncate(end);
        val.truncate(end);
        idx.shrink_to_fit();
        val.shrink_to_fit();
        Csr { n, ptr, idx, val }
    }

    /// `y = A x`, rows in parallel.
    pub fn mul(&self, x: &[f64], y: &mut [f64]) {
        self.apply(x, y, |_, ax, _| ax);
    }
}

impl<T: Real> Csr<T> {
    /// Unknowns.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the matrix is 0 x 0.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn row(&self, r: usize) -> (&[u32], &[T]) {
        (
            &self.idx[self.ptr[r]..self.ptr[r + 1]],
            &self.val[self.ptr[r]..self.ptr[r + 1]],
        )
    }

    /// `y_i = f(i, (A x)_i, y_i)`, rows in parallel.
    fn apply<X: Real, Y: Real, F>(&self, x: &[X], y: &mut [Y], f: F)
    where
        F: Fn(usize, f64, Y) -> Y + Sync,
    {
        y.par_chunks_mut(CHUNK).enumerate().for_each(|(k, ys)| {
            super::wide::run(|| {
                for (o, yr) in ys.iter_mut().enumerate() {
                    let r = k * CHUNK + o;
                    let (c, v) = self.row(r);
                    let ax: f64 = c
                        .iter()
                        .zip(v)
                        .map(|(&j, &a)| a.get() * x[j as usize].get())
                        .sum();
                    *yr = f(r, ax, *yr);
                }
            })
        });
    }

    /// The lower triangle as (row, column, value).
    fn lower(&self) -> Vec<(u32, u32, f64)> {
        let mut out = Vec::new();
        for r in 0..self.n {
            let (c, v) = self.row(r);
            for (&j, &a) in c.iter().zip(v) {
                if j as usize <= r {
                    out.push((r as u32, j, a.get()));
                }
            }
        }
        out
    }
}

/// Rows one at a time, for building a level: sorted by column, each column once, the
/// diagonal included.
trait Rows: Sync {
    fn len(&self) -> usize;
    fn row_into(&self, i: usize, out: &mut Vec<(u32, f64)>);
}

impl<T: Real> Rows for Csr<T> {
    fn len(&self) -> usize {
        self.n
    }

    fn row_into(&self, i: usize, out: &mut Vec<(u32, f64)>) {
        out.clear();
        let (c, v) = self.row(i);
        out.extend(c.iter().copied().zip(v.iter().map(|a| a.get())));
    }
}

impl Rows for GridRows<'_> {
    fn len(&self) -> usize {
        GridRows::len(self)
    }

    fn row_into(&self, i: usize, out: &mut Vec<(u32, f64)>) {
        self.row(i, out);
    }
}

/// The matrix of a level: compressed rows, or a grid Laplacian held matrix-free.
#[derive(Debug)]
enum Op {
    /// The system's own matrix in compressed rows.
    Csr(Csr),
    /// A coarse level's Galerkin matrix, its values in f32 (a preconditioner's: 8 bytes per
    /// entry instead of 12).
    Coarse(Csr<f32>),
    /// The system's own matrix on a grid, matrix-free.
    Grid(GridLaplacian),
}

impl Op {
    fn len(&self) -> usize {
        match self {
            Op::Csr(a) => a.len(),
            Op::Coarse(a) => a.len(),
            Op::Grid(g) => g.len(),
        }
    }

    /// `y_i = f(i, (A x)_i, y_i)` for every row.
    fn apply<X: Real, Y: Real, F>(&self, x: &[X], y: &mut [Y], f: F)
    where
        F: Fn(usize, f64, Y) -> Y + Sync,
    {
        match self {
            Op::Csr(a) => a.apply(x, y, f),
            Op::Coarse(a) => a.apply(x, y, f),
            Op::Grid(g) => g.apply(x, y, f),
        }
    }

    /// Length of this level's vectors (a grid's: its padded cells).
    fn vlen(&self) -> usize {
        match self {
            Op::Csr(a) => a.len(),
            Op::Coarse(a) => a.len(),
            Op::Grid(g) => g.cells(),
        }
    }

    /// `sum x_u y_u` over the unknowns.
    fn dot<X: Real, Y: Real>(&self, x: &[X], y: &[Y]) -> f64 {
        match self {
            Op::Csr(_) | Op::Coarse(_) => dot(x, y),
            Op::Grid(g) => g.dot(x, y),
        }
    }

    /// Whether entry `i` of a vector counts its unknown (a grid's lumped unknowns repeat).
    #[inline(always)]
    fn counted(&self, i: usize) -> bool {
        match self {
            Op::Csr(_) | Op::Coarse(_) => true,
            Op::Grid(g) => g.counted(i),
        }
    }
}

/// A general sparse matrix in compressed rows (a prolongator while a level is built).
#[derive(Debug, Clone)]
struct Rect {
    ptr: Vec<usize>,
    ent: Vec<(u32, f64)>,
}

impl Rect {
    fn row(&self, r: usize) -> &[(u32, f64)] {
        &self.ent[self.ptr[r]..self.ptr[r + 1]]
    }
}

/// The tentative prolongator's weight of each unknown: `t_i = cand_i / |cand on agg_i|`.
#[derive(Debug)]
enum Weights {
    /// One per aggregate (the candidate is constant 1 on this level).
    PerAggregate(Vec<f64>),
    /// One per unknown.
    PerUnknown(Vec<f64>),
}

impl Weights {
    #[inline(always)]
    fn get(&self, i: usize, agg: u32) -> f64 {
        match self {
            Weights::PerAggregate(w) => w[agg as usize],
            Weights::PerUnknown(w) => w[i],
        }
    }
}

/// One level of the hierarchy.
#[derive(Debug)]
struct Level {
    a: Op,
    /// `w D^-1`: the inverse diagonal times the damping `w = 4/3 / rho` (f32: the smoother's
    /// scaling; the same values in the prolongator, so `P^T A P` is the coarse matrix of
    /// the cycle).
    wdinv: Vec<f32>,
    /// Aggregate of each unknown (the column of its tentative prolongator's entry).
    agg: Vec<u32>,
    /// Tentative prolongator's entries.
    t: Weights,
    /// Unknowns of the next level.
    coarse: usize,
}

/// A smoothed-aggregation hierarchy of an SPD matrix. It owns the matrix (the finest level's),
/// so the system is held once.
#[derive(Debug)]
pub struct Amg {
    levels: Vec<Level>,
    /// The coarsest matrix (the whole matrix, in f64, when it is small enough to factor).
    last: Box<Op>,
    coarse: Cholesky,
}

/// The smoother's polynomial: Chebyshev of degree 2 in `S = w D^-1 A` on the interval
/// `[top / CHEBYSHEV_RATIO, top]`, `top` = [`CHEBYSHEV_TOP`] times `S`'s largest eigenvalue
/// as estimated (`w rho` = 4/3). Pre-smoothing from `x = 0` is `x = (1 + c1) d + c2 W (b - A d)`
/// with `d = W b / theta` and `W = w D^-1`; post-smoothing adds `(1 + c1) d + c2 (r - W A d)`
/// with `r = W (b - A x)` and `d = r / theta`. Returns `(theta, c1, c2)`.
///
/// On the 3.8 x 10^6-node landscape of `benches/compare/circuit_amg.py` conjugate gradients
/// took 22 iterations to 1e-10 with ratios 10 to 30 (25 at 50), against 27 with two damped
/// Jacobi sweeps at the same cost (one product before, two after); 17 against 20 at ratio 30
/// on a diagonal band of it and 15 against 19 at 1.9 x 10^5 nodes (ratio 10 best on both).
/// An eigenvalue of `S` above `top` is amplified, so the estimate must not fall short: 15
/// power iterations found 1.64 for `D^-1 A` where Lanczos finds 1.95 ([`spectral_radius`]),
/// and with that estimate the cycle needed 33 iterations.
fn chebyshev() -> (f64, f64, f64) {
    let b = 4.0 / 3.0 * CHEBYSHEV_TOP;
    let a = b / CHEBYSHEV_RATIO;
    let theta = (b + a) / 2.0;
    let delta = (b - a) / 2.0;
    let sigma = theta / delta;
    let rho0 = 1.0 / sigma;
    let rho1 = 1.0 / (2.0 * sigma - rho0);
    (theta, rho1 * rho0, 2.0 * rho1 / delta)
}

/// Ratio of the smoothing interval's ends (see [`chebyshev`]).
const CHEBYSHEV_RATIO: f64 = 10.0;

/// Margin over the estimated largest eigenvalue (see [`chebyshev`]).
const CHEBYSHEV_TOP: f64 = 1.1;

/// Rows per chunk when rows are built in parallel.
const CHUNK: usize = 4096;

/// No aggregate (a grid cell without an unknown).
const NONE: u32 = u32::MAX;

/// Rows built in two passes over fixed chunks: their lengths, then their items straight
/// into place, so that only the final arrays are held (each row is computed twice). The
/// result does not depend on the thread count.
fn build_exact<T, S, I, F>(n: usize, init: I, row: F) -> (Vec<usize>, Vec<T>)
where
    T: Send + Sync + Copy + Default,
    I: Fn() -> S + Sync + Send,
    F: Fn(usize, &mut S, &mut Vec<T>) + Sync + Send,
{
    let lens: Vec<u32> = (0..n)
        .into_par_iter()
        .with_min_len(CHUNK)
        .map_init(
            || (init(), Vec::new()),
            |(s, buf), i| {
                buf.clear();
                row(i, s, buf);
                buf.len() as u32
            },
        )
        .collect();
    let mut ptr = Vec::with_capacity(n + 1);
    ptr.push(0usize);
    for &l in &lens {
        ptr.push(ptr[ptr.len() - 1] + l as usize);
    }
    drop(lens);
    let mut items = vec![T::default(); ptr[n]];
    let mut parts = Vec::with_capacity(n.div_ceil(CHUNK));
    let mut rest: &mut [T] = &mut items;
    for k in 0..n.div_ceil(CHUNK) {
        let (lo, hi) = (ptr[k * CHUNK], ptr[((k + 1) * CHUNK).min(n)]);
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(hi - lo);
        parts.push((k, head));
        rest = tail;
    }
    parts.into_par_iter().for_each_init(
        || (init(), Vec::new()),
        |(s, buf), (k, out)| {
            let mut at = 0;
            for i in k * CHUNK..((k + 1) * CHUNK).min(n) {
                buf.clear();
                row(i, s, buf);
                out[at..at + buf.len()].copy_from_slice(buf);
                at += buf.len();
            }
        },
    );
    (ptr, items)
}

/// A dense accumulator over `n` columns that remembers which it touched.
struct Accumulator {
    acc: Vec<f64>,
    seen: Vec<bool>,
    touched: Vec<u32>,
}

impl Accumulator {
    fn new(n: usize) -> Accumulator {
        Accumulator {
            acc: vec![0.0; n],
            seen: vec![false; n],
            touched: Vec::new(),
        }
    }

    fn add(&mut self, c: u32, v: f64) {
        let k = c as usize;
        if !self.seen[k] {
            self.seen[k] = true;
            self.acc[k] = 0.0;
            self.touched.push(c);
        }
        self.acc[k] += v;
    }

    /// Appends the touched columns in order to `out` and resets.
    fn drain(&mut self, out: &mut Vec<(u32, f64)>) {
        self.touched.sort_unstable();
        for &c in &self.touched {
            out.push((c, self.acc[c as usize]));
            self.seen[c as usize] = false;
        }
        self.touched.clear();
    }
}

/// The smoothed prolongator `P = T - w D^-1 A T` (`T` given by `agg` and `t`).
fn smoothed_prolongator<R: Rows>(a: &R, agg: &[u32], t: &[f64], nc: usize, wdinv: &[f32]) -> Rect {
    let (ptr, ent) = build_exact(
        a.len(),
        || (Accumulator::new(nc), Vec::new()),
        |i, (acc, row), out| {
            acc.add(agg[i], t[i]);
            a.row_into(i, row);
            let w = wdinv[i] as f64;
            for &(j, aij) in row.iter() {
                acc.add(agg[j as usize], -w * aij * t[j as usize]);
            }
            acc.drain(out);
        },
    );
    Rect { ptr, ent }
}

/// The members of each of `nc` aggregates, ascending: (pointer, members).
fn members(agg: &[u32], nc: usize) -> (Vec<usize>, Vec<u32>) {
    let mut ptr = vec![0usize; nc + 1];
    for &g in agg {
        ptr[g as usize + 1] += 1;
    }
    for k in 0..nc {
        ptr[k + 1] += ptr[k];
    }
    let mut fill = ptr.clone();
    let mut m = vec![0u32; agg.len()];
    for (i, &g) in agg.iter().enumerate() {
        m[fill[g as usize]] = i as u32;
        fill[g as usize] += 1;
    }
    (ptr, m)
}

/// Rows of `A P` (`(A P)_i = sum_j a_ij P_j`) kept while nearby coarse rows of the Galerkin
/// product need them: direct-mapped by fine row (`i mod SLOTS`), rows of at most `WIDTH`
/// entries (longer ones, a lumped unknown's, are recomputed where used). Coarse rows are
/// computed in order and aggregates are numbered in cell order, so the fine rows a coarse row
/// needs were mostly needed by the coarse rows just before it.
struct ApRows {
    key: Vec<u32>,
    len: Vec<u8>,
    cols: Vec<u32>,
    vals: Vec<f64>,
}

impl ApRows {
    const SLOTS: usize = 1 << 15;
    const WIDTH: usize = 32;

    /// A cache for a level of `n` fine rows: at most [`ApRows::SLOTS`] slots (12.6 MB), fewer
    /// on small levels.
    fn new(n: usize) -> ApRows {
        let slots = n.clamp(1, Self::SLOTS);
        ApRows {
            key: vec![NONE; slots],
            len: vec![0; slots],
            cols: vec![0; slots * Self::WIDTH],
            vals: vec![0.0; slots * Self::WIDTH],
        }
    }

    fn slot(&self, i: u32) -> (usize, usize) {
        let slot = i as usize % self.key.len();
        (slot, slot * Self::WIDTH)
    }

    /// Row `i`'s columns and values, when held.
    fn get(&self, i: u32) -> Option<(&[u32], &[f64])> {
        let (slot, at) = self.slot(i);
        let len = self.len[slot] as usize;
        (self.key[slot] == i).then(|| (&self.cols[at..at + len], &self.vals[at..at + len]))
    }

    /// Holds row `i` in its slot when it fits.
    fn put(&mut self, i: u32, row: &[(u32, f64)]) {
        if row.len() > Self::WIDTH {
            return;
        }
        let (slot, at) = self.slot(i);
        self.key[slot] = i;
        self.len[slot] = row.len() as u8;
        for (o, &(cc, v)) in row.iter().enumerate() {
            self.cols[at + o] = cc;
            self.vals[at + o] = v;
        }
    }
}

/// Row `i` of `A P` into `out` (columns ascending): `sum_j a_ij P_j`, summed over `j` in
/// the order of `A`'s row.
fn ap_row<R: Rows>(
    a: &R,
    p: &Rect,
    i: usize,
    (acc, row): (&mut Accumulator, &mut Vec<(u32, f64)>),
    out: &mut Vec<(u32, f64)>,
) {
    a.row_into(i, row);
    for &(j, aij) in row.iter() {
        for &(cc, pj) in p.row(j as usize) {
            acc.add(cc, aij * pj);
        }
    }
    out.clear();
    acc.drain(out);
}

/// The Galerkin coarse matrix `P^T A P`, each coarse row `g` computed on its own as
/// `sum_i P_ig (A P)_i` over the fine rows `i` where column `g` of `P` is not zero: the
/// members of aggregate `g` and their neighbours (`P`'s row `i` has the columns of the
/// aggregates of `i` and of its neighbours), in ascending order. Neither `P^T` nor `A P` is
/// held: rows of `A P` are kept a while in a small cache ([`ApRows`]; each is needed by the
/// 4-9 coarse rows of the aggregates around it), and computed again where it missed.
fn galerkin<R: Rows>(a: &R, p: &Rect, agg: &[u32], nc: usize) -> Csr<f32> {
    let (mptr, mem) = members(agg, nc);
    let (ptr, ent) = build_exact(
        nc,
        || {
            (
                (Accumulator::new(nc), Accumulator::new(nc)),
                (Vec::new(), Vec::new(), Vec::new()),
                ApRows::new(a.len()),
            )
        },
        |g, ((acc, acc_ap), (row, fine, api), cache), out| {
            fine.clear();
            for &i in &mem[mptr[g]..mptr[g + 1]] {
                a.row_into(i as usize, row);
                fine.extend(row.iter().map(|e| e.0));
            }
            fine.sort_unstable();
            fine.dedup();
            for &i in fine.iter() {
                let pi = p.row(i as usize);
                let Ok(k) = pi.binary_search_by_key(&(g as u32), |e| e.0) else {
                    continue;
                };
                let pig = pi[k].1;
                if cache.get(i).is_none() {
                    ap_row(a, p, i as usize, (acc_ap, row), api);
                    cache.put(i, api);
                }
                // The held row, or the one just computed when it was too long to hold.
                match cache.get(i) {
                    Some((cols, vals)) => {
                        for (&cc, &v) in cols.iter().zip(vals) {
                            acc.add(cc, pig * v);
                        }
                    }
                    None => api.iter().for_each(|&(cc, v)| acc.add(cc, pig * v)),
                }
            }
            acc.drain(out);
        },
    );
    drop((mptr, mem));
    let idx = ent.iter().map(|e| e.0).collect();
    let val = ent.iter().map(|e| e.1 as f32).collect();
    drop(ent);
    Csr {
        n: nc,
        ptr,
        idx,
        val,
    }
}

/// `sum x_i y_i` over fixed chunks added in order (deterministic whatever the thread count).
fn dot<X: Real, Y: Real>(x: &[X], y: &[Y]) -> f64 {
    x.par_chunks(CHUNK)
        .zip(y.par_chunks(CHUNK))
        .map(|(a, b)| a.iter().zip(b).map(|(p, q)| p.get() * q.get()).sum::<f64>())
        .collect::<Vec<f64>>()
        .iter()
        .sum()
}

/// Vectors of one level below the finest for the V-cycle, allocated once per system: its
/// right-hand side and solution, two work vectors, and the two halves of a restriction.
#[derive(Debug)]
struct Work {
    b: Vec<f32>,
    x: Vec<f32>,
    t1: Vec<f32>,
    t2: Vec<f32>,
    b2: Vec<f32>,
}

/// The largest eigenvalue of `D^-1 A` (`dinv` per unknown), estimated from the Lanczos
/// tridiagonal of [`LANCZOS_STEPS`] steps of Jacobi-preconditioned conjugate gradients from a
/// fixed start (the Ritz values approach the extreme eigenvalues from inside, far faster than
/// power iterations: on a landscape Laplacian 15 power steps gave 1.64 where 150 gave 1.95).
fn spectral_radius(a: &Op, dinv: &[f64]) -> f64 {
    let start: Vec<f64> = (0..a.len())
        .map(|i| {
            1.0 + ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f64
                / (1u64 << 24) as f64
        })
        .collect();
    let (mut r, dinv) = match a {
        Op::Csr(_) | Op::Coarse(_) => (start, dinv.to_vec()),
        Op::Grid(g) => (g.to_cells(&start, 0.0), g.to_cells(dinv, 0.0)),
    };
    let mut z: Vec<f64> = r.iter().zip(&dinv).map(|(ri, di)| ri * di).collect();
    let mut p = z.clone();
    let mut ap = vec![0.0; a.vlen()];
    let mut rz = a.dot(&r, &z);
    let (mut diag, mut off) = (Vec::new(), Vec::new());
    let mut prev: Option<(f64, f64)> = None; // (alpha, beta) of the previous step
    for _ in 0..LANCZOS_STEPS {
        if rz.is_nan() || rz <= 0.0 {
            break;
        }
        a.apply(&p, &mut ap, |_, x, _| x);
        let pap = a.dot(&p, &ap);
        if pap.is_nan() || pap <= 0.0 {
            break;
        }
        let alpha = rz / pap;
        diag.push(1.0 / alpha + prev.map_or(0.0, |(al, be)| be / al));
        r.par_iter_mut()
            .zip(ap.par_iter())
            .for_each(|(ri, ai)| *ri -= alpha * ai);
        z.par_iter_mut()
            .zip(r.par_iter().zip(dinv.par_iter()))
            .for_each(|(zi, (ri, di))| *zi = ri * di);
        let rz_new = a.dot(&r, &z);
        let beta = rz_new / rz;
        rz = rz_new;
        off.push(beta.max(0.0).sqrt() / alpha);
        p.par_iter_mut()
            .zip(z.par_iter())
            .for_each(|(pi, zi)| *pi = zi + beta * *pi);
        prev = Some((alpha, beta));
    }
    off.truncate(diag.len().saturating_sub(1));
    largest_tridiagonal_eigenvalue(&diag, &off).max(1e-12)
}

/// Conjugate-gradient steps of [`spectral_radius`].
const LANCZOS_STEPS: usize = 12;

/// The largest eigenvalue of the symmetric tridiagonal matrix with diagonal `d` and
/// off-diagonal `e` (`e.len() + 1 == d.len()`), by bisection on Sturm counts (0 when empty).
fn largest_tridiagonal_eigenvalue(d: &[f64], e: &[f64]) -> f64 {
    if d.is_empty() {
        return 0.0;
    }
    // Gershgorin's interval holds every eigenvalue.
    let radius = |i: usize| {
        (if i > 0 { e[i - 1].abs() } else { 0.0 }) + (if i < e.len() { e[i].abs() } else { 0.0 })
    };
    let mut lo = (0..d.len())
        .map(|i| d[i] - radius(i))
        .fold(f64::INFINITY, f64::min);
    let mut hi = (0..d.len())
        .map(|i| d[i] + radius(i))
        .fold(f64::NEG_INFINITY, f64::max);
    // Eigenvalues below x: sign changes of the LDL^T pivots of T - x I.
    let below = |x: f64| {
        let mut count = 0;
        let mut q = 1.0f64;
        for i in 0..d.len() {
            let e2 = if i > 0 { e[i - 1] * e[i - 1] } else { 0.0 };
            q = d[i] - x - if i > 0 { e2 / q } else { 0.0 };
            if q == 0.0 {
                q = -f64::EPSILON * (x.abs() + 1.0);
            }
            if q < 0.0 {
                count += 1;
            }
        }
        count
    };
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if below(mid) < d.len() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// Strength of connection (pyamg's "symmetric" measure): `j` is a strong neighbour of `i`
/// when `|a_ij| >= theta sqrt(|a_ii a_jj|)`. Returned as the strong neighbours of every row
/// (compressed rows, the diagonal left out).
fn strength<R: Rows>(a: &R, d: &[f64], theta: f64) -> (Vec<usize>, Vec<u32>) {
    build_exact(a.len(), Vec::new, |i, row, out| {
        a.row_into(i, row);
        out.extend(
            row.iter()
                .filter(|&&(j, x)| {
                    j as usize != i && x.abs() >= theta * (d[i] * d[j as usize]).abs().sqrt()
                })
                .map(|&(j, _)| j),
        );
    })
}

/// The diagonal of every row.
fn diagonal<R: Rows>(a: &R) -> Vec<f64> {
    (0..a.len())
        .into_par_iter()
        .with_min_len(CHUNK)
        .map_init(Vec::new, |row, i| {
            a.row_into(i, row);
            row.iter().find(|e| e.0 as usize == i).map_or(0.0, |e| e.1)
        })
        .collect()
}
/// Standard aggregation over the strong connections `(ptr, idx)` of `a`: the aggregate of
/// each unknown, and the number of aggregates. An unknown without strong neighbours joins the
/// aggregate of its strongest neighbour of any strength (pyamg leaves it out of every
/// aggregate, for diagonally dominant rows; in a Laplacian no row is, and leaving them out made
/// conjugate gradients diverge at `theta >= 0.15` here, in pyamg as in this code), or forms an
/// aggregate of its own.
#[allow(clippy::needless_range_loop)]
fn aggregate<R: Rows>(a: &R, (ptr, idx): (&[usize], &[u32])) -> (Vec<u32>, usize) {
    const FREE: u32 = u32::MAX;
    let n = ptr.len() - 1;
    let row = |i: usize| &idx[ptr[i]..ptr[i + 1]];
    let mut agg = vec![FREE; n];
    let mut k = 0u32;
    // 1. A root with strong neighbours, all free, takes them.
    for i in 0..n {
        let c = row(i);
        if agg[i] == FREE && !c.is_empty() && c.iter().all(|&j| agg[j as usize] == FREE) {
            agg[i] = k;
            for &j in c {
                agg[j as usize] = k;
            }
            k += 1;
        }
    }
    // 2. Stragglers join a neighbouring aggregate of pass 1: a strong neighbour's, or, for an
    // unknown without strong neighbours, its strongest neighbour's.
    let first = agg.clone();
    let mut entries = Vec::new();
    for i in 0..n {
        if agg[i] != FREE {
            continue;
        }
        if row(i).is_empty() {
            a.row_into(i, &mut entries);
            let mut best = (0.0f64, FREE);
            for &(j, x) in &entries {
                if j as usize != i && first[j as usize] != FREE && x.abs() > best.0 {
                    best = (x.abs(), first[j as usize]);
                }
            }
            agg[i] = best.1;
        } else if let Some(&j) = row(i).iter().find(|&&j| first[j as usize] != FREE) {
            agg[i] = first[j as usize];
        }
    }
    // 3. The rest form aggregates with their free strong neighbours.
    for i in 0..n {
        if agg[i] == FREE {
            agg[i] = k;
            for &j in row(i) {
                if agg[j as usize] == FREE {
                    agg[j as usize] = k;
                }
            }
            k += 1;
        }
    }
    (agg, k as usize)
}

/// The tentative prolongator (one entry per row, in the column `agg[i]`): the candidate
/// restricted to each aggregate and scaled to unit norm; and the coarse candidate (the
/// aggregates' norms), which the tentative prolongator maps back to `cand` exactly.
fn tentative(agg: &[u32], nc: usize, cand: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut norm = vec![0.0f64; nc];
    for (&g, &b) in agg.iter().zip(cand) {
        norm[g as usize] += b * b;
    }
    norm.iter_mut().for_each(|v| *v = v.sqrt());
    let t = agg
        .iter()
        .zip(cand)
        .map(|(&g, &b)| b / norm[g as usize])
        .collect();
    (t, norm)
}

/// A level's parts besides its matrix.
struct LevelParts {
    wdinv: Vec<f32>,
    agg: Vec<u32>,
    t: Weights,
    coarse: usize,
}

impl LevelParts {
    fn into_level(self, a: Op) -> Level {
        Level {
            a,
            wdinv: self.wdinv,
            agg: self.agg,
            t: self.t,
            coarse: self.coarse,
        }
    }
}

/// Builds the level of `op` (rows `rows`, near-nullspace candidate `cand`, None = the
/// constant 1): its parts, the coarse matrix and the coarse candidate. None when aggregation
/// does not coarsen.
fn build_level<R: Rows>(
    op: &Op,
    rows: &R,
    cand: Option<&[f64]>,
) -> Option<(LevelParts, Csr<f32>, Vec<f64>)> {
    let n = rows.len();
    let d = diagonal(rows);
    let dinv: Vec<f64> = d
        .iter()
        .map(|&x| if x > 0.0 { 1.0 / x } else { 0.0 })
        .collect();
    let rho = spectral_radius(op, &dinv).max(1e-12);
    let (sptr, sidx) = strength(rows, &d, THETA);
    drop(d);
    let (agg, nc) = aggregate(rows, (&sptr, &sidx));
    drop((sptr, sidx));
    if nc >= n {
        return None;
    }
    let ones;
    let (t, norm) = tentative(
        &agg,
        nc,
        match cand {
            Some(c) => c,
            None => {
                ones = vec![1.0f64; n];
                &ones
            }
        },
    );
    // The prolongator's smoothing and the smoother both use w D^-1 with w = 4/3 / rho (f32).
    let wdinv: Vec<f32> = dinv.iter().map(|d| (4.0 / 3.0 / rho * d) as f32).collect();
    drop(dinv);
    let p = smoothed_prolongator(rows, &agg, &t, nc, &wdinv);
    let t = match cand {
        None => Weights::PerAggregate(norm.iter().map(|v| 1.0 / v).collect()),
        Some(_) => Weights::PerUnknown(t),
    };
    let coarse = galerkin(rows, &p, &agg, nc);
    drop(p);
    Some((
        LevelParts {
            wdinv,
            agg,
            t,
            coarse: nc,
        },
        coarse,
        norm,
    ))
}

impl Amg {
    /// The hierarchy of `a`.
    ///
    /// # Errors
    /// The coarsest matrix is not positive definite.
    pub fn new(a: Csr) -> Result<Amg, SolveError> {
        Amg::build(Op::Csr(a))
    }

    /// The hierarchy of a grid Laplacian, its finest level held matrix-free.
    ///
    /// # Errors
    /// The coarsest matrix is not positive definite.
    pub fn from_grid(g: GridLaplacian) -> Result<Amg, SolveError> {
        Amg::build(Op::Grid(g))
    }

    fn build(a: Op) -> Result<Amg, SolveError> {
        let mut levels = Vec::new();
        let mut cur = a;
        // The near-nullspace candidate on the current level (None: the constant 1).
        let mut cand: Option<Vec<f64>> = None;
        while cur.len() > COARSEST && levels.len() < 25 {
            let built = match &cur {
                Op::Csr(m) => build_level(&cur, m, cand.as_deref()),
                Op::Coarse(m) => build_level(&cur, m, cand.as_deref()),
                Op::Grid(g) => build_level(&cur, &g.rows(), cand.as_deref()),
            };
            let Some((mut parts, coarse, coarse_cand)) = built else {
                break;
            };
            if let Op::Grid(g) = &cur {
                // The level's vectors are over the padded grid.
                parts.agg = g.to_cells(&parts.agg, NONE);
                parts.wdinv = g.to_cells(&parts.wdinv, 0.0);
            }
            cand = Some(coarse_cand);
            levels.push(parts.into_level(std::mem::replace(&mut cur, Op::Coarse(coarse))));
        }
        let (last, lower) = match cur {
            Op::Csr(m) => {
                let lower = m.lower();
                (Op::Csr(m), lower)
            }
            Op::Coarse(m) => {
                let lower = m.lower();
                (Op::Coarse(m), lower)
            }
            Op::Grid(g) => {
                let lower = g.rows().lower();
                (Op::Csr(Csr::from_lower(g.len(), &lower)), lower)
            }
        };
        let coarse = Cholesky::factor(last.len(), &lower)?;
        Ok(Amg {
            levels,
            last: Box::new(last),
            coarse,
        })
    }

    /// Levels of the hierarchy (the factored coarsest not counted).
    pub fn levels(&self) -> usize {
        self.levels.len()
    }

    /// Unknowns of the system.
    pub fn len(&self) -> usize {
        self.levels.first().map_or(self.last.len(), |l| l.a.len())
    }

    /// Whether the system has no unknown.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Work vectors for the levels below the finest.
    fn work(&self) -> Vec<Work> {
        self.levels
            .iter()
            .map(|l| Work {
                b: vec![0.0; l.coarse],
                x: vec![0.0; l.coarse],
                t1: vec![0.0; l.coarse],
                t2: vec![0.0; l.coarse],
                b2: vec![0.0; 2 * l.coarse],
            })
            .collect()
    }

    /// One V-cycle for `A x = b` from `x = 0` on level `k`, with two work vectors of the
    /// level's size; `work` holds the vectors of the levels below. The finest level's
    /// vectors are f32 (`V`), the coarser levels' f64; every product computes in f64.
    fn vcycle<B: Real, V: Real>(
        &self,
        k: usize,
        (b, x): (&[B], &mut [V]),
        (t1, t2): (&mut [V], &mut [V]),
        work: &mut [Work],
    ) {
        if k == self.levels.len() {
            let mut sol: Vec<f64> = b.iter().map(|v| v.get()).collect();
            self.coarse.solve(&mut sol, 1);
            x.iter_mut().zip(&sol).for_each(|(xi, v)| *xi = V::put(*v));
            return;
        }
        let l = &self.levels[k];
        let wd = |i: usize| l.wdinv[i] as f64;
        // Chebyshev smoothing, degree 2 before and after (see [`chebyshev`]): one product
        // before (from x = 0), two after.
        let (th, c1, c2) = chebyshev();
        t1.par_iter_mut()
            .enumerate()
            .for_each(|(i, ti)| *ti = V::put(wd(i) * b[i].get() / th));
        {
            let from: &[V] = t1;
            l.a.apply(from, x, |i, ax, _| {
                V::put((1.0 + c1) * from[i].get() + c2 * wd(i) * (b[i].get() - ax))
            });
        }
        // Residual, restricted: P^T r = T^T (r - A s) with s = w D^-1 r.
        l.a.apply(x, t1, |i, ax, _| V::put(b[i].get() - ax));
        t2.par_iter_mut()
            .zip(t1.par_iter())
            .enumerate()
            .for_each(|(i, (s, r))| *s = V::put(wd(i) * r.get()));
        l.a.apply(t2, t1, |_, as_, r| V::put(r.get() - as_));
        let (next, below) = work
            .split_first_mut()
            .expect("one work entry per level below the finest");
        // T^T q in two fixed halves of the rows, each into its own coarse vector, then added:
        // both cores, and the same sums whatever the thread count.
        let half = t1.len().div_ceil(2);
        let (lo, hi) = next.b2.split_at_mut(next.b.len());
        // Sums held in f32, each addition in f64.
        let restrict = |from: usize, q: &[V], out: &mut [f32]| {
            out.iter_mut().for_each(|v| *v = 0.0);
            for (o, qi) in q.iter().enumerate() {
                let i = from + o;
                let g = l.agg[i];
                if g != NONE && l.a.counted(i) {
                    let s = &mut out[g as usize];
                    *s = (*s as f64 + l.t.get(i, g) * qi.get()) as f32;
                }
            }
        };
        rayon::join(
            || restrict(0, &t1[..half], lo),
            || restrict(half, &t1[half..], hi),
        );
        next.b
            .par_iter_mut()
            .zip(lo.par_iter().zip(hi.par_iter()))
            .for_each(|(v, (p, q))| *v = (*p as f64 + *q as f64) as f32);
        self.vcycle::<f32, f32>(
            k + 1,
            (&next.b, &mut next.x),
            (&mut next.t1, &mut next.t2),
            below,
        );
        // Corrected by the prolonged coarse solution, P xc = u - w D^-1 A u with u = T xc.
        // In fixed chunks, the weights' kind matched once per chunk (a branch-free loop).
        fn prolong<V: Real, W: Fn(usize, u32) -> f64>(
            (agg, xc): (&[u32], &[f32]),
            from: usize,
            us: &mut [V],
            w: W,
        ) {
            super::wide::run(|| {
                for (o, (u, &g)) in us.iter_mut().zip(agg).enumerate() {
                    *u = V::put(if g == NONE {
                        0.0
                    } else {
                        w(from + o, g) * xc[g as usize] as f64
                    });
                }
            })
        }
        let xc: &[f32] = &next.x;
        t1.par_chunks_mut(CHUNK).enumerate().for_each(|(k, us)| {
            let from = k * CHUNK;
            let agg = &l.agg[from..from + us.len()];
            match &l.t {
                Weights::PerAggregate(w) => prolong((agg, xc), from, us, |_, g| w[g as usize]),
                Weights::PerUnknown(w) => prolong((agg, xc), from, us, |i, _| w[i]),
            }
        });
        {
            let u: &[V] = t1;
            l.a.apply(u, x, |i, au, xi| V::put(xi.get() + u[i].get() - wd(i) * au));
        }
        l.a.apply(x, t1, |i, ax, _| V::put(wd(i) * (b[i].get() - ax)));
        let from: &[V] = t1;
        l.a.apply(from, x, |i, at, xi| {
            let d = from[i].get();
            V::put(xi.get() + (1.0 + c1) * d / th + c2 * (d - wd(i) * at / th))
        });
    }

    /// `sum x_u y_u` over the unknowns of the finest level's vectors.
    fn dot<X: Real, Y: Real>(&self, x: &[X], y: &[Y]) -> f64 {
        match self.levels.first() {
            Some(l) => l.a.dot(x, y),
            None => dot(x, y),
        }
    }

    /// The finest level's product `y_i = f(i, (A x)_i, y_i)`.
    fn apply<X: Real, F>(&self, x: &[X], y: &mut [f64], f: F)
    where
        F: Fn(usize, f64, f64) -> f64 + Sync,
    {
        match self.levels.first() {
            Some(l) => l.a.apply(x, y, f),
            None => self.last.apply(x, y, f),
        }
    }

    /// Solves `A x = b` by preconditioned conjugate gradients to a relative residual of
    /// `tol`, at most `max_iter` iterations: (x, iterations, relative residual).
    pub fn pcg(&self, b: &[f64], tol: f64, max_iter: usize) -> (Vec<f64>, usize, f64) {
        let mut x = b.to_vec();
        let (it, res) = self.solve_in_place(&mut x, tol, max_iter);
        (x, it, res)
    }

    /// [`Amg::pcg`] in place: `x` holds the right-hand side and receives the solution.
    pub fn solve_in_place(&self, x: &mut [f64], tol: f64, max_iter: usize) -> (usize, f64) {
        let mut buffers = self.buffers();
        self.solve_with(x, &mut buffers, tol, max_iter)
    }

    /// The vectors of a solve, for [`Amg::solve_with`] (kept over right-hand sides, so that
    /// each solve does not allocate and touch fresh memory again).
    pub fn buffers(&self) -> Buffers {
        let (n, starts) = match self.levels.first().map(|l| &l.a) {
            Some(Op::Grid(g)) => (g.cells(), g.task_starts()),
            _ => (self.len(), Vec::new()),
        };
        Buffers {
            r: vec![0.0; n],
            z: vec![0.0; n],
            p: vec![0.0; n],
            ap: vec![0.0; n],
            work: self.work(),
            starts,
        }
    }

    /// [`Amg::solve_in_place`] with `buffers` from [`Amg::buffers`]. The residual and `A p`
    /// are f64, the search direction and the preconditioned residual f32 (the V-cycle
    /// computes in f64 and stores in f32); the residual is updated in f64 with the product
    /// of the search direction as stored, so the tolerance means what it did with f64
    /// vectors (on the 3.8 x 10^6-node benchmark: the same 22 iterations, every effective
    /// resistance within 2e-15 of the all-f64 iteration's).
    pub fn solve_with(
        &self,
        x: &mut [f64],
        buffers: &mut Buffers,
        tol: f64,
        max_iter: usize,
    ) -> (usize, f64) {
        match self.levels.first().map(|l| &l.a) {
            Some(Op::Grid(g)) => {
                g.to_cells_into(x, 0.0, &mut buffers.r);
                x.iter_mut().for_each(|v| *v = 0.0);
                let starts = std::mem::take(&mut buffers.starts);
                let out = self.pcg_with(
                    buffers,
                    |alpha, p| g.add_scaled_to_unknowns(&starts, alpha, p, x),
                    (tol, max_iter),
                );
                buffers.starts = starts;
                out
            }
            _ => {
                buffers.r.copy_from_slice(x);
                x.iter_mut().for_each(|v| *v = 0.0);
                self.pcg_with(
                    buffers,
                    |alpha, p| {
                        x.par_iter_mut()
                            .zip(p.par_iter())
                            .for_each(|(xi, pi)| *xi += alpha * *pi as f64)
                    },
                    (tol, max_iter),
                )
            }
        }
    }

    /// Conjugate gradients from `x = 0` with the residual in `buffers.r` (the right-hand
    /// side, over the finest level's vectors); `add_x(alpha, p)` adds `alpha p` to the
    /// solution, which lives outside (over the unknowns). The iteration holds the residual
    /// and `A p` in f64 and the search direction and preconditioned residual in f32 (16 B
    /// per entry of the finest level's vectors in all, 6 bytes less than six f64 vectors);
    /// the V-cycle's two finest work vectors are f32 halves of `A p`'s storage, free while
    /// the cycle runs. The residual is updated in f64 with the product of the search
    /// direction as stored, so the tolerance is reached as in f64 (on the 3.8 x 10^6-node
    /// benchmark: the same 22 iterations, effective resistances within 2e-15).
    fn pcg_with<F>(
        &self,
        buffers: &mut Buffers,
        mut add_x: F,
        (tol, max_iter): (f64, usize),
    ) -> (usize, f64)
    where
        F: FnMut(f64, &[f32]),
    {
        let Buffers {
            r, z, p, ap, work, ..
        } = buffers;
        let n = r.len();
        let bn = self.dot(r, r).sqrt();
        if bn == 0.0 {
            return (0, 0.0);
        }
        let mut cycle = |r: &[f64], z: &mut [f32], ap: &mut [f64]| {
            if self.levels.is_empty() {
                let mut sol = r.to_vec();
                self.coarse.solve(&mut sol, 1);
                z.iter_mut().zip(&sol).for_each(|(zi, v)| *zi = *v as f32);
            } else {
                let scratch: &mut [f32] = bytemuck::cast_slice_mut(ap);
                let (t1, t2) = scratch.split_at_mut(n);
                self.vcycle::<f64, f32>(0, (r, z), (t1, t2), work);
            }
        };
        cycle(r, z, ap);
        p.copy_from_slice(z);
        let mut rz = self.dot(r, z);
        let mut res = 1.0;
        for it in 1..=max_iter {
            // The cycle left f32 values in A p's storage: cleared, so that the cells the
            // product does not write (no unknown) hold 0.
            ap.par_iter_mut().for_each(|v| *v = 0.0);
            self.apply(p, ap, |_, a, _| a);
            let alpha = rz / self.dot(ap, p);
            add_x(alpha, p);
            r.par_iter_mut()
                .zip(ap.par_iter())
                .for_each(|(ri, ai)| *ri -= alpha * ai);
            res = self.dot(r, r).sqrt() / bn;
            if res <= tol {
                return (it, res);
            }
            cycle(r, z, ap);
            let rz_new = self.dot(r, z);
            let beta = rz_new / rz;
            rz = rz_new;
            p.par_iter_mut()
                .zip(z.par_iter())
                .for_each(|(pi, zi)| *pi = (*zi as f64 + beta * *pi as f64) as f32);
        }
        (max_iter, res)
    }
}

/// The vectors of a solve (see [`Amg::buffers`]).
#[derive(Debug)]
pub struct Buffers {
    r: Vec<f64>,
    z: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f64>,
    work: Vec<Work>,
    starts: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lower triangle of a grounded 8-neighbour grid Laplacian with conductances from a
    /// fixed pseudo-random sequence (1e-2 to 1e2) and some cells missing.
    fn grid(side: usize, seed: u64) -> (usize, Vec<(u32, u32, f64)>) {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let alive: Vec<bool> = (0..side * side).map(|_| next() > 0.05).collect();
        let cond: Vec<f64> = (0..side * side)
            .map(|_| 10f64.powf(4.0 * next() - 2.0))
            .collect();
        let mut id = vec![u32::MAX; side * side];
        let mut n = 0u32;
        for i in 0..side * side {
            if alive[i] {
                id[i] = n;
                n += 1;
            }
        }
        let mut diag = vec![0.0; n as usize];
        let mut e = Vec::new();
        for r in 0..side {
            for c in 0..side {
                let a = r * side + c;
                if !alive[a] {
                    continue;
                }
                for (dr, dc, w) in [
                    (0, 1, 1.0),
                    (1, 0, 1.0),
                    (1, 1, std::f64::consts::FRAC_1_SQRT_2),
                    (1, -1, std::f64::consts::FRAC_1_SQRT_2),
                ] {
                    let (nr, nc) = (r as i64 + dr, c as i64 + dc);
                    if nr >= side as i64 || nc < 0 || nc >= side as i64 {
                        continue;
                    }
                    let b = nr as usize * side + nc as usize;
                    if !alive[b] {
                        continue;
                    }
                    let g = w * 0.5 * (cond[a] + cond[b]);
                    let (u, v) = (id[a], id[b]);
                    diag[u as usize] += g;
                    diag[v as usize] += g;
                    e.push((u.max(v), u.min(v), -g));
                }
            }
        }
        // Ground: a small conductance to ground everywhere keeps every part definite, and a
        // large one at the first unknown.
        diag[0] += 10.0;
        for (k, d) in diag.iter().enumerate() {
            e.push((k as u32, k as u32, d + 1e-6));
        }
        (n as usize, e)
    }

    #[test]
    fn the_tridiagonal_eigenvalue_is_the_closed_form() {
        // The path Laplacian 2, -1: eigenvalues 2 - 2 cos(k pi / (n + 1)), k = 1..n.
        for n in [1usize, 2, 3, 10, 57] {
            let got = largest_tridiagonal_eigenvalue(&vec![2.0; n], &vec![-1.0; n - 1]);
            let want = 2.0 + 2.0 * (std::f64::consts::PI / (n + 1) as f64).cos();
            assert!((got - want).abs() <= 1e-12, "n {n}: {got} against {want}");
        }
        // Diagonal only: its largest entry.
        let got = largest_tridiagonal_eigenvalue(&[0.5, 3.0, -1.0], &[0.0, 0.0]);
        assert!((got - 3.0).abs() <= 1e-12, "{got}");
        // A random tridiagonal against the dense symmetric eigenvalues.
        let mut s = 9u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let d: Vec<f64> = (0..12).map(|_| next() * 4.0).collect();
        let e: Vec<f64> = (0..11).map(|_| next() * 2.0).collect();
        let m = faer::Mat::from_fn(12, 12, |i, j| {
            if i == j {
                d[i]
            } else if i == j + 1 {
                e[j]
            } else if j == i + 1 {
                e[i]
            } else {
                0.0
            }
        });
        let eig = m.self_adjoint_eigenvalues(faer::Side::Lower).unwrap();
        let want = eig[eig.len() - 1];
        let got = largest_tridiagonal_eigenvalue(&d, &e);
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{got} against {want}"
        );
    }

    #[test]
    fn the_spectral_radius_estimate_is_close_below_the_largest_eigenvalue() {
        // rho(D^-1 A) = the largest eigenvalue of D^-1/2 A D^-1/2, computed densely. Ritz
        // values lie inside the spectrum, so the estimate may not exceed it; 12 steps must
        // come within 3 % (15 power iterations fell 16 % short on a landscape).
        for (side, seed) in [(18usize, 3u64), (25, 4)] {
            let (n, e) = grid(side, seed);
            let a = Csr::from_lower(n, &e);
            let d = diagonal(&a);
            let dinv: Vec<f64> = d.iter().map(|v| 1.0 / v).collect();
            let mut m = faer::Mat::<f64>::zeros(n, n);
            for r in 0..n {
                let (c, v) = a.row(r);
                for (&j, &x) in c.iter().zip(v) {
                    m[(r, j as usize)] = x * (dinv[r] * dinv[j as usize]).sqrt();
                }
            }
            let eig = m.self_adjoint_eigenvalues(faer::Side::Lower).unwrap();
            let want = eig[n - 1];
            let got = spectral_radius(&Op::Csr(a), &dinv);
            assert!(
                got <= want * (1.0 + 1e-9),
                "side {side}: {got} above {want}"
            );
            assert!(got >= 0.97 * want, "side {side}: {got} far below {want}");
        }
    }

    #[test]
    fn the_smoother_is_the_chebyshev_polynomial_of_its_interval() {
        // For S x = lambda x, pre-smoothing from 0 leaves the residual factor
        // 1 - lambda q(lambda) = T2((theta - lambda) / delta) / T2(sigma), whose largest
        // size on the interval is 1 / T2(sigma); outside it (above) it grows.
        let (theta, c1, c2) = chebyshev();
        let top = 4.0 / 3.0 * CHEBYSHEV_TOP;
        let bottom = top / CHEBYSHEV_RATIO;
        let (mid, half) = ((top + bottom) / 2.0, (top - bottom) / 2.0);
        assert!((theta - mid).abs() <= 1e-15);
        let t2 = |z: f64| 2.0 * z * z - 1.0;
        let bound = 1.0 / t2(mid / half);
        for k in 0..=100 {
            let lambda = bottom + (top - bottom) * k as f64 / 100.0;
            let d = 1.0 / theta;
            let q = (1.0 + c1) * d + c2 * (1.0 - lambda * d);
            let factor = 1.0 - lambda * q;
            let want = t2((mid - lambda) / half) / t2(mid / half);
            assert!(
                (factor - want).abs() <= 1e-12,
                "lambda {lambda}: {factor} against {want}"
            );
            assert!(
                factor.abs() <= bound + 1e-12,
                "lambda {lambda}: {factor} above {bound}"
            );
            // Post-smoothing from any x applies the same polynomial to the error (scalar
            // system: W = 1, A = lambda, solution 1, from x = 0.3).
            let x = 0.3;
            let r = lambda * (1.0 - x);
            let d = r / theta;
            let after = x + (1.0 + c1) * d + c2 * (r - lambda * d);
            let ratio = (1.0 - after) / (1.0 - x);
            assert!(
                (ratio - want).abs() <= 1e-12,
                "lambda {lambda}: {ratio} against {want}"
            );
        }
        // Two damped Jacobi sweeps (the same cost) leave (1 - lambda)^2, up to 0.73 on the
        // interval; Chebyshev's worst is 0.50.
        let jacobi = (1.0 - bottom).powi(2).max((1.0 - top).powi(2));
        assert!(
            bound < 0.51 && jacobi > 0.72,
            "{bound} against Jacobi's {jacobi}"
        );
    }

    #[test]
    fn amg_pcg_agrees_with_the_sparse_factor_in_few_iterations() {
        for (side, seed) in [(40usize, 1u64), (150, 2)] {
            let (n, e) = grid(side, seed);
            let a = Csr::from_lower(n, &e);
            let mut b = vec![0.0; n];
            b[n / 2] = 1.0;
            b[n - 1] = -0.5;
            let amg = Amg::new(a).unwrap();
            let (x, iters, res) = amg.pcg(&b, 1e-10, 200);
            assert!(res <= 1e-10, "side {side}: residual {res} after {iters}");
            let chol = Cholesky::factor(n, &e).unwrap();
            let mut want = b.clone();
            chol.solve(&mut want, 1);
            let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
            let err = x
                .iter()
                .zip(&want)
                .fold(0f64, |m, (p, q)| m.max((p - q).abs()));
            assert!(err <= 1e-7 * scale, "side {side}: error {err} of {scale}");
            eprintln!(
                "side {side}: {n} unknowns, {} levels, {iters} iterations",
                amg.levels()
            );
            // 30 iterations on the 150 x 150 grid before the coarse levels fitted the
            // candidate and connections were filtered by strength; 19 after; 17 with the
            // Chebyshev smoother.
            assert!(iters <= 20, "side {side}: {iters} iterations");
            if side == 150 {
                assert!(amg.levels() >= 1, "a hierarchy for {n} unknowns");
            }
        }
    }

    /// The hierarchy of a grid Laplacian held matrix-free (lumped and grounded cells, extra
    /// conductances, every conductance rule) solves as the sparse factor of the same matrix.
    #[test]
    fn a_matrix_free_grid_hierarchy_agrees_with_the_sparse_factor() {
        use crate::linsolve::grid::{tests::case, GridLaplacian};
        let shape = (70usize, 80usize);
        for (seed, with_extra) in [(3u64, false), (4, true)] {
            let (res, role, extra) = case(shape, seed, (3, 4));
            for rule in [(false, false), (false, true), (true, false), (true, true)] {
                let e = with_extra.then_some(&extra[..]);
                let g = GridLaplacian::new(shape, &res, &role, rule, e).unwrap();
                let n = g.len();
                let lower = g.rows().lower();
                let chol = Cholesky::factor(n, &lower).unwrap();
                let amg = Amg::from_grid(g).unwrap();
                assert!(amg.levels() >= 1, "{n} unknowns: a hierarchy");
                let mut b = vec![0.0; n];
                b[n / 3] = 1.0;
                b[n - 1] = -0.25; // a lumped unknown
                let (x, iters, r) = amg.pcg(&b, 1e-10, 200);
                assert!(
                    r <= 1e-10 && iters <= 40,
                    "{rule:?}: residual {r} after {iters}"
                );
                let mut want = b.clone();
                chol.solve(&mut want, 1);
                let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
                for (p, q) in x.iter().zip(&want) {
                    assert!((p - q).abs() <= 1e-7 * scale, "{rule:?}: {p} vs {q}");
                }
            }
        }
    }

    /// `P^T A P` from its definition (rows of `A P` as maps, then `sum_i P_ig (A P)_i`).
    fn galerkin_by_definition<R: Rows>(a: &R, p: &Rect, nc: usize) -> Vec<Vec<(u32, f64)>> {
        let mut c = vec![std::collections::BTreeMap::<u32, f64>::new(); nc];
        let mut row = Vec::new();
        for i in 0..a.len() {
            a.row_into(i, &mut row);
            let mut ap = std::collections::BTreeMap::<u32, f64>::new();
            for &(j, aij) in &row {
                for &(cc, pj) in p.row(j as usize) {
                    *ap.entry(cc).or_default() += aij * pj;
                }
            }
            for &(g, pig) in p.row(i) {
                for (&cc, &v) in &ap {
                    *c[g as usize].entry(cc).or_default() += pig * v;
                }
            }
        }
        c.into_iter().map(|m| m.into_iter().collect()).collect()
    }

    /// The prolongator and aggregates of the first level of `rows`, as [`build_level`] makes
    /// them.
    fn first_level<R: Rows>(rows: &R) -> (Rect, Vec<u32>, usize) {
        let d = diagonal(rows);
        let (sptr, sidx) = strength(rows, &d, THETA);
        let (agg, nc) = aggregate(rows, (&sptr, &sidx));
        let (t, _) = tentative(&agg, nc, &vec![1.0; rows.len()]);
        let wdinv: Vec<f32> = d.iter().map(|&x| (0.6 / x) as f32).collect();
        (smoothed_prolongator(rows, &agg, &t, nc, &wdinv), agg, nc)
    }

    #[test]
    fn the_galerkin_product_is_pt_a_p() {
        use crate::linsolve::grid::{tests::case, CellRole, GridLaplacian};
        let check = |what: &str, got: &Csr<f32>, want: &[Vec<(u32, f64)>]| {
            assert_eq!(got.len(), want.len(), "{what}: coarse rows");
            for (g, w) in want.iter().enumerate() {
                let (c, v) = got.row(g);
                let cols: Vec<u32> = w.iter().map(|e| e.0).collect();
                assert_eq!(c, &cols[..], "{what}: columns of coarse row {g}");
                let scale = w.iter().fold(0f64, |m, e| m.max(e.1.abs()));
                for (&x, &(cc, y)) in v.iter().zip(w) {
                    assert!(
                        (x as f64 - y).abs() <= 1e-6 * scale,
                        "{what}: ({g}, {cc}) {x} vs {y}"
                    );
                }
            }
        };
        // 48,400 unknowns: more fine rows than the cache has slots, so rows evict each other.
        let (n, e) = grid(220, 5);
        let a = Csr::from_lower(n, &e);
        let (p, agg, nc) = first_level(&a);
        check(
            "csr",
            &galerkin(&a, &p, &agg, nc),
            &galerkin_by_definition(&a, &p, nc),
        );
        // A grid with a focal region: its lumped row has more entries than a cached row holds.
        let shape = (40usize, 50usize);
        let (res, mut role, _) = case(shape, 9, (3, 0));
        for r in 10..22 {
            for c in 20..32 {
                role[r * 50 + c] = CellRole::Lumped(0);
            }
        }
        role[0] = CellRole::Grounded;
        let g = GridLaplacian::new(shape, &res, &role, (false, false), None).unwrap();
        let rows = g.rows();
        let (p, agg, nc) = first_level(&rows);
        assert!(
            (0..rows.len()).any(|i| {
                let mut r = Vec::new();
                rows.row_into(i, &mut r);
                r.len() > ApRows::WIDTH
            }),
            "a row longer than the cache's"
        );
        check(
            "grid",
            &galerkin(&rows, &p, &agg, nc),
            &galerkin_by_definition(&rows, &p, nc),
        );
    }

    #[test]
    fn the_tentative_prolongator_reproduces_the_candidate_on_every_level() {
        // Aggregates of unequal sizes, and a candidate that is not constant (as on every
        // level below the finest): T times the coarse candidate is the candidate, and T's
        // columns have unit norm. (Unit-norm indicators, as before, give sqrt(size) instead.)
        let agg = [0u32, 0, 1, 2, 2, 2, 1, 0, 2];
        let cand = [1.0, 2.0, 0.5, 3.0, 1.0, 1.0, 2.5, 1.5, 4.0];
        let (t, coarse) = tentative(&agg, 3, &cand);
        for i in 0..agg.len() {
            let back = t[i] * coarse[agg[i] as usize];
            assert!((back - cand[i]).abs() <= 1e-15 * cand[i], "row {i}: {back}");
        }
        for g in 0..3u32 {
            let norm: f64 = (0..agg.len())
                .filter(|&i| agg[i] == g)
                .map(|i| t[i] * t[i])
                .sum();
            assert!((norm - 1.0).abs() <= 1e-15, "column {g}: {norm}");
        }
    }

    #[test]
    fn an_unknown_without_strong_neighbours_joins_its_strongest_neighbour() {
        // A path 0-1-2-3-4 with strong links, and unknown 5 hanging weakly off 1 (0.001) and
        // off 3 (0.002): it joins the aggregate of 3.
        let mut e = Vec::new();
        let mut diag = [0.0; 6];
        for (u, v, g) in [
            (0u32, 1u32, 1.0),
            (1, 2, 1.0),
            (2, 3, 1.0),
            (3, 4, 1.0),
            (1, 5, 0.001),
            (3, 5, 0.002),
        ] {
            e.push((v.max(u), v.min(u), -g));
            diag[u as usize] += g;
            diag[v as usize] += g;
        }
        for (k, d) in diag.iter().enumerate() {
            e.push((k as u32, k as u32, d + 1e-3));
        }
        let a = Csr::from_lower(6, &e);
        let (sp, si) = strength(&a, &diagonal(&a), THETA);
        assert!(si[sp[5]..sp[6]].is_empty(), "5 has no strong neighbour");
        let (agg, nc) = aggregate(&a, (&sp, &si));
        assert_eq!(agg[5], agg[3], "{agg:?}");
        assert_ne!(agg[5], agg[1], "{agg:?}");
        assert!(agg.iter().all(|&g| (g as usize) < nc), "{agg:?}");
    }

    #[test]
    fn csr_sums_duplicates_and_mirrors_the_lower_triangle() {
        let a = Csr::from_lower(
            3,
            &[
                (0, 0, 2.0),
                (1, 0, -1.0),
                (1, 0, -1.0),
                (1, 1, 3.0),
                (2, 2, 1.0),
            ],
        );
        let mut y = vec![0.0; 3];
        a.mul(&[1.0, 1.0, 1.0], &mut y);
        assert_eq!(y, [0.0, 1.0, 1.0]);
        assert_eq!(diagonal(&a), [2.0, 3.0, 1.0]);
        assert_eq!(
            a.lower(),
            [(0, 0, 2.0), (1, 0, -2.0), (1, 1, 3.0), (2, 2, 1.0)]
        );
    }

    /// Random lower triangles with duplicates in any order (rows of every length, empty rows
    /// too): rows sorted, columns unique, and the same matrix as a dense sum.
    #[test]
    fn csr_equals_the_dense_sum_of_its_entries() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move |m: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % m
        };
        for case in 0..200 {
            let n = 1 + rnd(30) as usize;
            let count = rnd(4 * n as u64 + 1) as usize;
            let entries: Vec<(u32, u32, f64)> = (0..count)
                .map(|_| {
                    let r = rnd(n as u64) as u32;
                    let c = rnd(r as u64 + 1) as u32;
                    (r, c, rnd(1000) as f64 / 8.0 - 60.0)
                })
                .collect();
            let a = Csr::from_lower(n, &entries);
            let mut dense = vec![0.0f64; n * n];
            for &(r, c, v) in &entries {
                dense[r as usize * n + c as usize] += v;
                if r != c {
                    dense[c as usize * n + r as usize] += v;
                }
            }
            let mut seen = vec![false; n * n];
            for r in 0..n {
                let (cols, vals) = a.row(r);
                assert!(cols.windows(2).all(|w| w[0] < w[1]), "case {case} row {r}");
                for (&c, &v) in cols.iter().zip(vals) {
                    assert_eq!(v, dense[r * n + c as usize], "case {case} ({r}, {c})");
                    seen[r * n + c as usize] = true;
                }
            }
            for (k, &d) in dense.iter().enumerate() {
                assert!(seen[k] || d == 0.0, "case {case}: entry {k} = {d} missing");
            }
            let stored: usize = seen.iter().filter(|&&x| x).count();
            assert_eq!(a.idx.len(), stored, "case {case}");
        }
    }
}
