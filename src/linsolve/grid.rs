//! The Laplacian of a resistor network on a raster grid, held matrix-free: per cell its
//! unknown and its conductance term, the matrix's entries computed where they are used.
//!
//! A cell with a node is joined to its 8 neighbours (4 with `four_neighbours`) by the
//! conductance `(1/R_a + 1/R_b)/2` (average conductance) or `2/(R_a + R_b)` (average
//! resistance), divided by √2 on diagonals: Circuitscape's raster conventions. Several cells
//! may share one unknown (a focal region, short-circuited: a *lumped* unknown); a cell may be
//! *grounded* (a node held at 0 V: its edges count on its neighbours' diagonals, it has no
//! unknown); an unknown may have an extra conductance to ground on its diagonal.
//!
//! # Numbering and products
//! The unknowns of single cells come first, in cell order (row-major: a single cell's row
//! is sorted when its neighbours are single cells too); lumped unknowns follow. The iterative
//! solver's vectors run over the padded grid, a lumped unknown's value on each of its cells:
//! a product `A x` runs over grid rows in parallel, each row writing its own cells, then over
//! the lumped unknowns (each summed over its cells in cell order), so its result does not
//! depend on the thread count. A row is computed in blocks of [`LANES`] cells side by side
//! (vector lanes; AVX2 where the CPU has it, see [`super::wide`]), each cell's sum in the
//! same order as alone: on the 3.8 x 10^6-node benchmark the solve took 4.8-5.2 s instead
//! of 7.0-7.2 s (one pair, runs side by side), bit-identical.
//!
//! # Memory
//! 9 bytes per cell (the unknown, 4, the resistance as given, 4, f32, and whether a product
//! writes the cell, 1, on a grid padded by one cell on every side so that neighbours need no
//! bounds checks) and 4 bytes per cell of a lumped unknown, against ~116 bytes per unknown
//! for the same matrix in compressed rows (9 entries of 12 bytes, and the row pointer). The
//! conductance term, `1/R` (average conductance: an edge costs an addition) or `R` (average
//! resistance: a division), is computed in f64 from the resistance where it is used: a
//! product computes it once per cell for each task of rows (a division per cell in
//! average-conductance mode), the same f64 values a stored term held (outputs were
//! bit-identical when the term was stored in f64, 4 bytes per cell more).

use rayon::prelude::*;

/// A cell without a node, or a node outside the system (another part of the network).
pub const NO_NODE: u32 = u32::MAX;
/// A node held at 0 V.
pub const GROUNDED: u32 = u32::MAX - 1;

/// What a cell is, for [`GridLaplacian::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellRole {
    /// No node, or a node that takes no part in the system.
    Out,
    /// A node held at 0 V.
    Grounded,
    /// A node of its own (one cell, one unknown).
    Single,
    /// One of the cells of lumped node `k` (k = 0, 1, ...: numbered in any order).
    Lumped(u32),
}

/// The 8 neighbours of a cell as (row, column) steps, row by row; a step with both non-zero
/// is diagonal.
pub const NEIGHBOURS: [(i64, i64); 8] = [
    (-1, -1),
    (-1, 0),
    (-1, 1),
    (0, -1),
    (0, 1),
    (1, -1),
    (1, 0),
    (1, 1),
];

/// An element of a vector a product reads or writes: f64, or f32 for the preconditioner's
/// vectors (products compute in f64 either way).
pub trait Real: Copy + Send + Sync + 'static {
    /// As f64 (exact).
    fn get(self) -> f64;
    /// From f64 (rounded to nearest for f32).
    fn put(v: f64) -> Self;
}

impl Real for f64 {
    #[inline(always)]
    fn get(self) -> f64 {
        self
    }
    #[inline(always)]
    fn put(v: f64) -> f64 {
        v
    }
}

impl Real for f32 {
    #[inline(always)]
    fn get(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn put(v: f64) -> f32 {
        v as f32
    }
}

/// Rows of grid cells per parallel task in a product.
const ROWS_PER_TASK: usize = 8;

/// `g (x_a - x_b)` for the edge between cells with conductance terms `ca` and `cb` (0 when
/// `b` has no node: the term is masked).
#[inline(always)]
fn edge<const AVG: bool>(ca: f64, cb: f64, xa: f64, xb: f64, diagonal: bool) -> f64 {
    let g = if AVG {
        2.0 / (ca + cb)
    } else {
        0.5 * (ca + cb)
    };
    let g = if diagonal {
        g * std::f64::consts::FRAC_1_SQRT_2
    } else {
        g
    };
    let g = if cb > 0.0 { g } else { 0.0 };
    g * (xa - xb)
}

/// The conductance term of a cell of resistance `r` (0: no node, and the term is 0): `R`
/// (average resistance, `AVG`) or `1/R` (average conductance), in f64.
#[inline(always)]
fn cterm<const AVG: bool>(r: f32) -> f64 {
    if AVG {
        r as f64
    } else if r > 0.0 {
        1.0 / r as f64
    } else {
        0.0
    }
}

/// Cells per block of a product's inner loop: each block's sums computed side by side
/// (vector lanes), every cell's sum in the same order as one at a time, so results do not
/// depend on the block width or the instruction set ([`super::wide`]).
const LANES: usize = 8;

/// What a task of a product needs besides its rows.
struct Task<'a, X, F> {
    g: &'a GridLaplacian,
    x: &'a [X],
    /// The task's number (rows `t * ROWS_PER_TASK..`).
    t: usize,
    /// The first padded row of the conductance buffer.
    first: usize,
    f: &'a F,
}

/// One task of [`GridLaplacian::apply`]: the conductance terms of resistances `rs` (the
/// task's padded rows and one around) into `cbuf`, then the product over the task's rows of
/// `ys`, blocks of [`LANES`] cells, then the cells left one at a time.
#[inline(always)]
fn task_rows<const AVG: bool, const FOUR: bool, X: Real, Y: Real, F>(
    task: &Task<'_, X, F>,
    rs: &[f32],
    cbuf: &mut Vec<f64>,
    ys: &mut [Y],
) where
    F: Fn(usize, f64, Y) -> Y + Sync,
{
    let g = task.g;
    let (w, cols, rows, x, f) = (g.pcols, g.cols, g.rows, task.x, task.f);
    cbuf.clear();
    cbuf.extend(rs.iter().map(|&r| cterm::<AVG>(r)));
    for (k, yrow) in ys.chunks_mut(w).enumerate() {
        let pr = task.t * ROWS_PER_TASK + k;
        if pr == 0 || pr > rows {
            continue;
        }
        let base = pr * w + 1;
        let xs = |o: usize| &x[base + o - w - 1..base + o - w - 1 + cols];
        let cb = base - task.first * w;
        let cs = |o: usize| &cbuf[cb + o - w - 1..cb + o - w - 1 + cols];
        // Offsets from base - w - 1: up-left 0, up 1, up-right 2, left w, centre
        // w + 1, right w + 2, down-left 2w, down 2w + 1, down-right 2w + 2.
        let (x0, c0) = (xs(w + 1), cs(w + 1));
        let near = [xs(w), xs(w + 2), xs(1), xs(2 * w + 1)];
        let cnear = [cs(w), cs(w + 2), cs(1), cs(2 * w + 1)];
        let far = [xs(0), xs(2), xs(2 * w), xs(2 * w + 2)];
        let cfar = [cs(0), cs(2), cs(2 * w), cs(2 * w + 2)];
        let write = &g.single_cell[base..base + cols];
        let extra = g.extra.as_ref().map(|e| &e[base..base + cols]);
        let yr = &mut yrow[1..1 + cols];
        let row = RowView {
            x0,
            c0,
            near,
            cnear,
            far,
            cfar,
            extra,
        };
        let blocks = cols / LANES * LANES;
        for j0 in (0..blocks).step_by(LANES) {
            let s = row.sums::<AVG, FOUR, LANES>(j0);
            for (l, &sl) in s.iter().enumerate() {
                let j = j0 + l;
                let v = f(base + j, sl, yr[j]);
                yr[j] = if write[j] { v } else { yr[j] };
            }
        }
        for j in blocks..cols {
            let v = f(base + j, row.sums::<AVG, FOUR, 1>(j)[0], yr[j]);
            yr[j] = if write[j] { v } else { yr[j] };
        }
    }
}

/// One grid row's slices for a product: `x` and the conductance terms at the centre cells
/// and at their 4 near (rook) and 4 far (diagonal) neighbours, and the extra conductances.
struct RowView<'a, X> {
    x0: &'a [X],
    c0: &'a [f64],
    near: [&'a [X]; 4],
    cnear: [&'a [f64]; 4],
    far: [&'a [X]; 4],
    cfar: [&'a [f64]; 4],
    extra: Option<&'a [f64]>,
}

impl<X: Real> RowView<'_, X> {
    /// `(A x)` at cells `j0..j0 + L` of the row, side by side: each cell's sum with the same
    /// operations in the same order whatever `L` (the block's width, or 1 for the cells left).
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // lane loops index several arrays in step
    fn sums<const AVG: bool, const FOUR: bool, const L: usize>(&self, j0: usize) -> [f64; L] {
        let c0 = &self.c0[j0..j0 + L];
        let x0 = &self.x0[j0..j0 + L];
        let mut s = [0.0f64; L];
        for m in 0..4 {
            let (cb, xb) = (&self.cnear[m][j0..j0 + L], &self.near[m][j0..j0 + L]);
            for l in 0..L {
                s[l] += edge::<AVG>(c0[l], cb[l], x0[l].get(), xb[l].get(), false);
            }
        }
        if !FOUR {
            for m in 0..4 {
                let (cb, xb) = (&self.cfar[m][j0..j0 + L], &self.far[m][j0..j0 + L]);
                for l in 0..L {
                    s[l] += edge::<AVG>(c0[l], cb[l], x0[l].get(), xb[l].get(), true);
                }
            }
        }
        if let Some(e) = self.extra {
            let e = &e[j0..j0 + L];
            for l in 0..L {
                s[l] += e[l] * x0[l].get();
            }
        }
        s
    }
}

/// A grid Laplacian (see the module docs).
#[derive(Debug, Clone)]
pub struct GridLaplacian {
    rows: usize,
    cols: usize,
    /// Padded width (`cols + 2`).
    pcols: usize,
    four: bool,
    avg_resistance: bool,
    /// Unknown per padded cell ([`NO_NODE`], [`GROUNDED`] or an index).
    unk: Vec<u32>,
    /// The resistance `R` per padded cell as given (f32); 0 without a node. Products use the
    /// conductance term `1/R` (average conductance) or `R` (average resistance) in f64,
    /// computed from it where used (see [`cterm`]).
    r: Vec<f32>,
    /// Per padded cell: whether it is a single-cell unknown (the cells a product writes in
    /// its loop over rows).
    single_cell: Vec<bool>,
    /// Unknowns of single cells (`0..single`); lumped ones are `single..n`.
    single: usize,
    /// Cells (padded indices, ascending) of lumped unknown `single + k`:
    /// `lumped_cells[lumped_ptr[k]..lumped_ptr[k + 1]]`.
    lumped_ptr: Vec<usize>,
    lumped_cells: Vec<u32>,
    /// Extra conductance to ground per padded cell (advanced mode's grounds), when given.
    extra: Option<Vec<f64>>,
}

/// Why a grid Laplacian could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GridError {
    /// Sizes that do not match.
    #[error("a {0} x {1} grid needs {2} values per layer ({3} given)")]
    Shape(usize, usize, usize, usize),
    /// A node with a resistance that is not finite and > 0.
    #[error("cell {0} has a node but a resistance of {1}: give a finite resistance > 0")]
    Resistance(usize, f32),
    /// Too many cells for 32-bit indices.
    #[error("{0} cells (with a one-cell border) is more than this solver's 4,294,967,294\n  hint: coarsen the resistance raster (e.g. `gdalwarp -tr <2x cell size> <2x cell size> -tap -r average`) or clip it to the study area")]
    TooLarge(usize),
}

impl GridLaplacian {
    /// The Laplacian of the cells `role` (rows x cols, row-major) with resistances `res`
    /// (used where a cell has a node), `four_neighbours` and `avg_resistance` as in the module
    /// docs, and `extra` conductance to ground per cell (summed over a lumped node's cells).
    ///
    /// # Errors
    /// Sizes that do not match; a node whose resistance is not finite and > 0; a grid too
    /// large for 32-bit indices.
    pub fn new(
        (rows, cols): (usize, usize),
        res: &[f32],
        role: &[CellRole],
        (four_neighbours, avg_resistance): (bool, bool),
        extra: Option<&[f64]>,
    ) -> Result<GridLaplacian, GridError> {
        let cells = rows * cols;
        for len in [res.len(), role.len(), extra.map_or(cells, <[f64]>::len)] {
            if len != cells {
                return Err(GridError::Shape(rows, cols, cells, len));
            }
        }
        let pcols = cols + 2;
        let padded = (rows + 2) * pcols;
        if padded >= GROUNDED as usize {
            return Err(GridError::TooLarge(padded));
        }
        let pad = |i: usize| (i / cols + 1) * pcols + i % cols + 1;
        let mut unk = vec![NO_NODE; padded];
        let mut rp = vec![0.0f32; padded];
        let mut single = 0u32;
        let mut lumps = 0u32;
        for (i, (&r, &role)) in res.iter().zip(role).enumerate() {
            if role == CellRole::Out {
                continue;
            }
            if !(r.is_finite() && r > 0.0) {
                return Err(GridError::Resistance(i, r));
            }
            let p = pad(i);
            rp[p] = r;
            unk[p] = match role {
                CellRole::Single => {
                    single += 1;
                    single - 1
                }
                CellRole::Grounded => GROUNDED,
                CellRole::Lumped(k) => {
                    lumps = lumps.max(k + 1);
                    // Numbered below once the single cells are counted.
                    k
                }
                CellRole::Out => unreachable!("skipped above"),
            };
        }
        // Lumped unknowns after the single ones; their cells grouped by unknown.
        let mut lumped_ptr = vec![0usize; lumps as usize + 1];
        for (i, &role) in role.iter().enumerate() {
            if let CellRole::Lumped(k) = role {
                lumped_ptr[k as usize + 1] += 1;
                unk[pad(i)] = single + k;
            }
        }
        for k in 0..lumps as usize {
            lumped_ptr[k + 1] += lumped_ptr[k];
        }
        let mut fill = lumped_ptr.clone();
        let mut lumped_cells = vec![0u32; lumped_ptr[lumps as usize]];
        for (i, &role) in role.iter().enumerate() {
            if let CellRole::Lumped(k) = role {
                lumped_cells[fill[k as usize]] = pad(i) as u32;
                fill[k as usize] += 1;
            }
        }
        let extra = extra.map(|e| {
            let mut per = vec![0.0f64; padded];
            for (i, &g) in e.iter().enumerate() {
                if role[i] != CellRole::Out {
                    per[pad(i)] = g;
                }
            }
            per
        });
        let single_cell = unk.iter().map(|&u| u < single).collect();
        Ok(GridLaplacian {
            rows,
            cols,
            pcols,
            four: four_neighbours,
            avg_resistance,
            unk,
            r: rp,
            single_cell,
            single: single as usize,
            lumped_ptr,
            lumped_cells,
            extra,
        })
    }

    /// Unknowns.
    pub fn len(&self) -> usize {
        self.single + self.lumped_ptr.len() - 1
    }

    /// Whether there is no unknown.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Unknowns of single cells (numbered `0..singles()` in cell order; lumped ones follow).
    pub fn singles(&self) -> usize {
        self.single
    }

    /// Unknown of cell `i` (row-major, unpadded): an index, [`GROUNDED`] or [`NO_NODE`].
    pub fn unknown(&self, i: usize) -> u32 {
        self.unk[(i / self.cols + 1) * self.pcols + i % self.cols + 1]
    }

    /// The conductance term of padded cell `a` (see [`cterm`]).
    #[inline(always)]
    fn term(&self, a: usize) -> f64 {
        if self.avg_resistance {
            cterm::<true>(self.r[a])
        } else {
            cterm::<false>(self.r[a])
        }
    }

    /// The conductance between a cell of conductance term `ca` and padded cell `b`.
    #[inline(always)]
    fn conductance(&self, ca: f64, b: usize, diagonal: bool) -> f64 {
        let g = if self.avg_resistance {
            2.0 / (ca + cterm::<true>(self.r[b]))
        } else {
            0.5 * (ca + cterm::<false>(self.r[b]))
        };
        if diagonal {
            g * std::f64::consts::FRAC_1_SQRT_2
        } else {
            g
        }
    }

    /// Length of a vector over the padded grid (see [`GridLaplacian::apply`]).
    pub fn cells(&self) -> usize {
        self.unk.len()
    }

    /// `sum g (x_a - x_b)` over the edges of padded cell `a` (plus its extra conductance
    /// times `x_a`), with `x` over the padded grid. A neighbour without a node has `c = 0`
    /// and its term is masked; a grounded one holds 0; one of the same lumped unknown holds
    /// the same value (a zero term).
    #[inline(always)]
    fn cell_product<const AVG: bool, const FOUR: bool, X: Real>(&self, a: usize, x: &[X]) -> f64 {
        let w = self.pcols;
        let (ca, xa) = (cterm::<AVG>(self.r[a]), x[a].get());
        let term = |b: usize, diagonal: bool| {
            edge::<AVG>(ca, cterm::<AVG>(self.r[b]), xa, x[b].get(), diagonal)
        };
        let mut s =
            term(a + 1, false) + term(a - 1, false) + term(a + w, false) + term(a - w, false);
        if !FOUR {
            s += term(a + w + 1, true)
                + term(a + w - 1, true)
                + term(a - w + 1, true)
                + term(a - w - 1, true);
        }
        s + self.extra.as_ref().map_or(0.0, |e| e[a] * xa)
    }

    /// `y_a = f(a, (A x)_a, y_a)` for every cell with an unknown, with `x` and `y` over the
    /// padded grid ([`GridLaplacian::cells`]): the cells of a lumped unknown all hold its
    /// value (and get its row's product); cells without an unknown hold 0 in `x` and are left
    /// alone in `y`. Grid rows in parallel, each a branch-free loop over contiguous rows of
    /// `x` and the conductances; then the lumped unknowns, each summed over its cells in cell
    /// order. The result does not depend on the thread count.
    pub fn apply<X: Real, Y: Real, F>(&self, x: &[X], y: &mut [Y], f: F)
    where
        F: Fn(usize, f64, Y) -> Y + Sync,
    {
        match (self.avg_resistance, self.four) {
            (false, false) => self.apply_with::<false, false, X, Y, F>(x, y, f),
            (false, true) => self.apply_with::<false, true, X, Y, F>(x, y, f),
            (true, false) => self.apply_with::<true, false, X, Y, F>(x, y, f),
            (true, true) => self.apply_with::<true, true, X, Y, F>(x, y, f),
        }
    }

    fn apply_with<const AVG: bool, const FOUR: bool, X: Real, Y: Real, F>(
        &self,
        x: &[X],
        y: &mut [Y],
        f: F,
    ) where
        F: Fn(usize, f64, Y) -> Y + Sync,
    {
        let (w, rows) = (self.pcols, self.rows);
        assert_eq!(x.len(), self.cells(), "x over the padded grid");
        y.par_chunks_mut(w * ROWS_PER_TASK)
            .enumerate()
            .for_each_init(Vec::new, |cbuf: &mut Vec<f64>, (t, ys)| {
                // The conductance terms of the task's rows and the rows around them, computed
                // once per product (a division per cell in average-conductance mode), into a
                // buffer each worker reuses.
                let first = (t * ROWS_PER_TASK).saturating_sub(1);
                let last = (t * ROWS_PER_TASK + ROWS_PER_TASK).min(rows + 1);
                let rs = &self.r[first * w..(last + 1) * w];
                let task = Task {
                    g: self,
                    x,
                    t,
                    first,
                    f: &f,
                };
                super::wide::run(|| task_rows::<AVG, FOUR, X, Y, F>(&task, rs, cbuf, ys));
            });
        // Lumped unknowns: the product summed over their cells, then given to each cell.
        let lumps = self.lumped_ptr.len() - 1;
        let totals: Vec<f64> = (0..lumps)
            .into_par_iter()
            .map(|k| {
                self.lumped_cells[self.lumped_ptr[k]..self.lumped_ptr[k + 1]]
                    .iter()
                    .map(|&a| self.cell_product::<AVG, FOUR, X>(a as usize, x))
                    .sum()
            })
            .collect();
        for (k, &total) in totals.iter().enumerate() {
            for &a in &self.lumped_cells[self.lumped_ptr[k]..self.lumped_ptr[k + 1]] {
                let a = a as usize;
                y[a] = f(a, total, y[a]);
            }
        }
    }

    /// Whether padded cell `a` counts its unknown in sums over the grid: every single cell,
    /// and the first cell of each lumped unknown.
    #[inline]
    pub fn counted(&self, a: usize) -> bool {
        let u = self.unk[a] as usize;
        u < self.single
            || (u < self.len() && self.lumped_cells[self.lumped_ptr[u - self.single]] as usize == a)
    }

    /// `sum x_u y_u` over the unknowns, for vectors over the padded grid: chunks of rows in
    /// a fixed order, then the lumped unknowns in order.
    pub fn dot<X: Real, Y: Real>(&self, x: &[X], y: &[Y]) -> f64 {
        let single = self.single as u32;
        let step = self.pcols * ROWS_PER_TASK;
        let rows: f64 = x
            .par_chunks(step)
            .zip(y.par_chunks(step))
            .zip(self.unk.par_chunks(step))
            .map(|((xs, ys), us)| {
                xs.iter()
                    .zip(ys)
                    .zip(us)
                    .map(
                        |((a, b), &u)| {
                            if u < single {
                                a.get() * b.get()
                            } else {
                                0.0
                            }
                        },
                    )
                    .sum::<f64>()
            })
            .collect::<Vec<f64>>()
            .iter()
            .sum();
        let lumped: f64 = (0..self.lumped_ptr.len() - 1)
            .map(|k| {
                let a = self.lumped_cells[self.lumped_ptr[k]] as usize;
                x[a].get() * y[a].get()
            })
            .sum();
        rows + lumped
    }

    /// The first single-cell unknown of each task of `ROWS_PER_TASK` padded rows, and the
    /// number of single-cell unknowns last (single cells are numbered in cell order): for
    /// [`GridLaplacian::add_scaled_to_unknowns`].
    pub fn task_starts(&self) -> Vec<usize> {
        let single = self.single as u32;
        let mut starts = vec![0usize];
        for us in self.unk.chunks(self.pcols * ROWS_PER_TASK) {
            let k = us.iter().filter(|&&u| u < single).count();
            starts.push(starts[starts.len() - 1] + k);
        }
        starts
    }

    /// `x_u += alpha p_a` for every unknown `u` of `x` (over the unknowns), `a` its cell (a
    /// lumped unknown's first cell) in `p` (over the padded grid); `starts` from
    /// [`GridLaplacian::task_starts`]. Tasks of rows in parallel, each writing its own
    /// unknowns.
    pub fn add_scaled_to_unknowns<P: Real>(
        &self,
        starts: &[usize],
        alpha: f64,
        p: &[P],
        x: &mut [f64],
    ) {
        let step = self.pcols * ROWS_PER_TASK;
        let single = self.single as u32;
        let (singles, lumped) = x.split_at_mut(self.single);
        let mut parts = Vec::with_capacity(starts.len());
        let mut rest = singles;
        for t in 0..starts.len() - 1 {
            let (head, tail) = rest.split_at_mut(starts[t + 1] - starts[t]);
            parts.push(head);
            rest = tail;
        }
        parts
            .into_par_iter()
            .zip(self.unk.par_chunks(step).zip(p.par_chunks(step)))
            .for_each(|(xs, (us, ps))| {
                let mut k = 0;
                for (&u, &pa) in us.iter().zip(ps) {
                    if u < single {
                        xs[k] += alpha * pa.get();
                        k += 1;
                    }
                }
            });
        for (k, xu) in lumped.iter_mut().enumerate() {
            *xu += alpha * p[self.lumped_cells[self.lumped_ptr[k]] as usize].get();
        }
    }

    /// A vector over the unknowns spread over the padded grid (each cell its unknown's
    /// value, `none` without one).
    pub fn to_cells<T: Copy + Send + Sync>(&self, v: &[T], none: T) -> Vec<T> {
        let n = self.len();
        self.unk
            .par_iter()
            .map(|&u| {
                if (u as usize) < n {
                    v[u as usize]
                } else {
                    none
                }
            })
            .collect()
    }

    /// [`GridLaplacian::to_cells`] into `out` (over the padded grid).
    pub fn to_cells_into<T: Copy + Send + Sync>(&self, v: &[T], none: T, out: &mut [T]) {
        let n = self.len();
        out.par_iter_mut()
            .zip(self.unk.par_iter())
            .for_each(|(o, &u)| {
                *o = if (u as usize) < n {
                    v[u as usize]
                } else {
                    none
                };
            });
    }

    /// A vector over the padded grid back over the unknowns (a lumped unknown's first cell).
    pub fn from_cells(&self, cells: &[f64], out: &mut [f64]) {
        for (a, &u) in self.unk.iter().enumerate() {
            if (u as usize) < self.single {
                out[u as usize] = cells[a];
            }
        }
        for k in 0..self.lumped_ptr.len() - 1 {
            out[self.single + k] = cells[self.lumped_cells[self.lumped_ptr[k]] as usize];
        }
    }

    /// Row access for building a hierarchy or a factor: the padded cell of every single-cell
    /// unknown (4 bytes per unknown, held while the rows are used).
    pub fn rows(&self) -> GridRows<'_> {
        let mut cell = vec![0u32; self.single];
        for (a, &i) in self.unk.iter().enumerate() {
            if (i as usize) < self.single {
                cell[i as usize] = a as u32;
            }
        }
        GridRows { g: self, cell }
    }
}

/// Rows of a [`GridLaplacian`] one at a time (see [`GridLaplacian::rows`]).
pub struct GridRows<'a> {
    g: &'a GridLaplacian,
    cell: Vec<u32>,
}

impl GridRows<'_> {
    /// Row `i` (sorted by column, each column once, the diagonal included) into `out`
    /// (cleared first).
    pub fn row(&self, i: usize, out: &mut Vec<(u32, f64)>) {
        out.clear();
        let g = self.g;
        let w = g.pcols as isize;
        // Neighbours in cell order (so a single cell's row comes out sorted when its
        // neighbours are single cells too), the diagonal's place between left and right.
        let before: [(isize, bool); 4] = [(-w - 1, true), (-w, false), (-w + 1, true), (-1, false)];
        let after: [(isize, bool); 4] = [(1, false), (w - 1, true), (w, false), (w + 1, true)];
        let mut diag = 0.0;
        let mut place = usize::MAX;
        let mut cell = |a: usize, out: &mut Vec<(u32, f64)>| {
            diag += g.extra.as_ref().map_or(0.0, |e| e[a]);
            let ca = g.term(a);
            for (k, &(off, diagonal)) in before.iter().chain(&after).enumerate() {
                if k == 4 && place == usize::MAX {
                    place = out.len();
                    out.push((i as u32, 0.0));
                }
                if diagonal && g.four {
                    continue;
                }
                let b = (a as isize + off) as usize;
                let u = g.unk[b];
                if u == NO_NODE || u == i as u32 {
                    continue;
                }
                let c = g.conductance(ca, b, diagonal);
                diag += c;
                if u != GROUNDED {
                    out.push((u, -c));
                }
            }
        };
        if i < g.single {
            cell(self.cell[i] as usize, out);
        } else {
            let k = i - g.single;
            for &a in &g.lumped_cells[g.lumped_ptr[k]..g.lumped_ptr[k + 1]] {
                cell(a as usize, out);
            }
        }
        out[place].1 = diag;
        if out.windows(2).all(|e| e[0].0 < e[1].0) {
            return;
        }
        out.sort_by_key(|e| e.0);
        // Merge repeated columns (a cell next to several cells of a lumped unknown).
        let mut k = 0;
        for r in 0..out.len() {
            if k > 0 && out[k - 1].0 == out[r].0 {
                out[k - 1].1 += out[r].1;
            } else {
                out[k] = out[r];
                k += 1;
            }
        }
        out.truncate(k);
    }

    /// Unknowns.
    pub fn len(&self) -> usize {
        self.g.len()
    }

    /// Whether there is no unknown.
    pub fn is_empty(&self) -> bool {
        self.g.is_empty()
    }

    /// The lower triangle (row >= column, diagonal included), for a sparse factor.
    pub fn lower(&self) -> Vec<(u32, u32, f64)> {
        let mut out = Vec::new();
        let mut row = Vec::new();
        for i in 0..self.len() {
            self.row(i, &mut row);
            out.extend(
                row.iter()
                    .filter(|e| e.0 as usize <= i)
                    .map(|&(j, v)| (i as u32, j, v)),
            );
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::XorShift;

    /// A random grid: resistances 0.5-50; per cell out of the system (`out_pct` %), grounded
    /// (`ground_pct` %) or a single node; two rectangles of cells lumped into one node each
    /// (one in each half); extra conductances to ground 0-0.01 per cell.
    pub(crate) fn case(
        (rows, cols): (usize, usize),
        seed: u64,
        (out_pct, ground_pct): (u64, u64),
    ) -> (Vec<f32>, Vec<CellRole>, Vec<f64>) {
        let mut rng = XorShift::new(seed);
        let res: Vec<f32> = (0..rows * cols)
            .map(|_| 0.5 + (rng.next() % 4951) as f32 / 100.0)
            .collect();
        let mut role: Vec<CellRole> = (0..rows * cols)
            .map(|_| match rng.next() % 100 {
                p if p < out_pct => CellRole::Out,
                p if p < out_pct + ground_pct => CellRole::Grounded,
                _ => CellRole::Single,
            })
            .collect();
        for k in 0..2u32 {
            let (h, w) = (1 + rng.next() as usize % 3, 1 + rng.next() as usize % 3);
            let half = cols / 2;
            let r0 = rng.next() as usize % (rows - h + 1);
            let c0 = k as usize * half + rng.next() as usize % (half - w + 1);
            for r in r0..r0 + h {
                for c in c0..c0 + w {
                    role[r * cols + c] = CellRole::Lumped(k);
                }
            }
        }
        let extra = (0..rows * cols)
            .map(|_| (rng.next() % 1001) as f64 / 1e5)
            .collect();
        (res, role, extra)
    }

    /// The Laplacian over the unknowns as a dense matrix, from the definitions: every pair
    /// of neighbouring cells with a node, conductance by the rule, cells of one unknown
    /// shorted, grounded cells on their neighbours' diagonals only.
    fn dense(
        g: &GridLaplacian,
        (rows, cols): (usize, usize),
        (res, role, extra): (&[f32], &[CellRole], Option<&[f64]>),
        (four, avg): (bool, bool),
    ) -> Vec<Vec<f64>> {
        let n = g.len();
        let mut m = vec![vec![0.0f64; n]; n];
        for a in 0..rows * cols {
            if role[a] == CellRole::Out {
                continue;
            }
            let u = g.unknown(a);
            if (u as usize) < n {
                m[u as usize][u as usize] += extra.map_or(0.0, |e| e[a]);
            }
            let (ra, ca) = ((a / cols) as i64, (a % cols) as i64);
            for (dr, dc) in NEIGHBOURS {
                let diagonal = dr != 0 && dc != 0;
                let (rb, cb) = (ra + dr, ca + dc);
                if (diagonal && four) || rb < 0 || cb < 0 || rb >= rows as i64 || cb >= cols as i64
                {
                    continue;
                }
                let b = rb as usize * cols + cb as usize;
                if role[b] == CellRole::Out {
                    continue;
                }
                let w = g.unknown(b);
                if w == u || (u as usize) >= n {
                    continue;
                }
                let (x, y) = (res[a] as f64, res[b] as f64);
                let mut c = if avg {
                    2.0 / (x + y)
                } else {
                    0.5 * (1.0 / x + 1.0 / y)
                };
                if diagonal {
                    c /= 2f64.sqrt();
                }
                m[u as usize][u as usize] += c;
                if (w as usize) < n {
                    m[u as usize][w as usize] -= c;
                }
            }
        }
        m
    }

    #[test]
    fn products_are_bit_identical_on_the_baseline_and_the_wide_path() {
        for (shape, seed) in [((9usize, 37usize), 3u64), ((12, 8), 5), ((4, 70), 11)] {
            let (res, role, extra) = case(shape, seed, (10, 5));
            for rule in [(false, false), (false, true), (true, false), (true, true)] {
                let g = GridLaplacian::new(shape, &res, &role, rule, Some(&extra)).unwrap();
                let mut rng = XorShift::new(seed);
                let x: Vec<f32> = (0..g.len())
                    .map(|_| (rng.next() % 20001) as f32 / 1e4 - 1.0)
                    .collect();
                let xc = g.to_cells(&x, 0.0);
                let product = |baseline: bool| {
                    super::super::wide::force_baseline(baseline);
                    let mut y = vec![0.5f64; g.cells()];
                    g.apply(&xc, &mut y, |a, ax, yi| yi + ax * (1.0 + a as f64 * 1e-3));
                    super::super::wide::force_baseline(false);
                    y
                };
                let (base, wide) = (product(true), product(false));
                for (a, (p, q)) in base.iter().zip(&wide).enumerate() {
                    assert_eq!(p.to_bits(), q.to_bits(), "{shape:?} {rule:?}: cell {a}");
                }
            }
        }
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn rows_and_products_equal_the_laplacian_from_its_definition() {
        // Widths of a block of lanes and one cell, and of two blocks and three.
        for (shape, seed) in [(7usize, 9usize), (5, 19)]
            .into_iter()
            .flat_map(|s| (1..25u64).map(move |k| (s, k)))
        {
            let (res, role, extra) = case(shape, seed, (12, 6));
            for rule in [(false, false), (false, true), (true, false), (true, true)] {
                for with_extra in [false, true] {
                    let e = with_extra.then_some(&extra[..]);
                    let g = GridLaplacian::new(shape, &res, &role, rule, e).unwrap();
                    let n = g.len();
                    let want = dense(&g, shape, (&res, &role, e), rule);
                    let close = |p: f64, q: f64| (p - q).abs() <= 1e-12 * (1.0 + q.abs());
                    // Rows: sorted, each column once, equal to the dense matrix.
                    let rows = g.rows();
                    let mut row = Vec::new();
                    for i in 0..n {
                        rows.row(i, &mut row);
                        assert!(
                            row.windows(2).all(|w| w[0].0 < w[1].0),
                            "seed {seed}: row {i}"
                        );
                        for j in 0..n {
                            let got = row.iter().find(|e| e.0 as usize == j).map_or(0.0, |e| e.1);
                            assert!(
                                close(got, want[i][j]),
                                "seed {seed} {rule:?}: ({i}, {j}) {got} vs {}",
                                want[i][j]
                            );
                        }
                    }
                    // Products over the padded grid: every cell of an unknown gets its row's
                    // product; the dot product counts each unknown once.
                    let mut rng = XorShift::new(seed * 7 + 1);
                    let x: Vec<f64> = (0..n)
                        .map(|_| (rng.next() % 2001) as f64 / 1000.0 - 1.0)
                        .collect();
                    let xc = g.to_cells(&x, 0.0);
                    let mut yc = vec![0.0; g.cells()];
                    g.apply(&xc, &mut yc, |_, ax, _| ax);
                    let mut y = vec![0.0; n];
                    g.from_cells(&yc, &mut y);
                    for i in 0..n {
                        let d: f64 = (0..n).map(|j| want[i][j] * x[j]).sum();
                        assert!(
                            close(y[i], d),
                            "seed {seed} {rule:?}: (A x)_{i} {} vs {d}",
                            y[i]
                        );
                    }
                    for (a, &u) in g.unk.iter().enumerate() {
                        if (u as usize) < n {
                            assert_eq!(
                                yc[a], y[u as usize],
                                "seed {seed}: cell {a} of unknown {u}"
                            );
                        } else {
                            assert_eq!(
                                yc[a], 0.0,
                                "seed {seed}: cell {a} without an unknown is left alone"
                            );
                        }
                    }
                    let xx: f64 = x.iter().map(|v| v * v).sum();
                    assert!(close(g.dot(&xc, &xc), xx), "seed {seed}: dot");
                    // x + alpha y over the unknowns from y over the cells (the solver's
                    // update), as the definition; the same with y in f32; to_cells_into as
                    // to_cells.
                    let mut sum = x.clone();
                    g.add_scaled_to_unknowns(&g.task_starts(), 0.75, &yc, &mut sum);
                    for i in 0..n {
                        assert_eq!(sum[i], x[i] + 0.75 * y[i], "seed {seed}: x + a y at {i}");
                    }
                    let y32: Vec<f32> = yc.iter().map(|&v| v as f32).collect();
                    let mut sum32 = x.clone();
                    g.add_scaled_to_unknowns(&g.task_starts(), 0.75, &y32, &mut sum32);
                    for i in 0..n {
                        let want = x[i] + 0.75 * (y[i] as f32) as f64;
                        assert_eq!(sum32[i], want, "seed {seed}: x + a y32 at {i}");
                    }
                    let mut into = vec![9.0; g.cells()];
                    g.to_cells_into(&x, 0.0, &mut into);
                    assert_eq!(into, xc, "seed {seed}: to_cells_into");
                }
            }
        }
    }
}
