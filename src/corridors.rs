//! Least-cost corridors between ecological sources, as Linkage Mapper builds them.
//!
//! # Input
//! The resistance surface, the sources (patch id per cell) and [`CorridorOptions`].
//!
//! # Output
//! [`CorridorNetwork`]: the multi-source cost distance and allocation, the corridor raster
//! (minimum normalized least-cost corridor value, `+∞` outside every corridor) and one
//! [`Corridor`] per linked pair with its least-cost distance, path and ratios.
//!
//! # Method
//! 1. One multi-source run gives the cost distance to the nearest source and the allocation.
//! 2. Candidate pairs: patches whose allocation zones touch (8-neighbours; Linkage Mapper's
//!    cost-distance adjacency), or all pairs within `max_cwd`. For touching zones the
//!    cheapest crossing `CWD(a) + step(a, b) + CWD(b)` bounds the pair's LCD from above.
//! 3. One cost-distance run per patch, stopped at (largest LCD bound of its pairs + corridor
//!    width), stored in 64 × 64 tiles allocated only where reached. A cell c is entered only
//!    when some pair (i, j) of the patch may need it: when j's run is already done,
//!    `CWD_i(c) + CWD_j(c)` within `LCD_ij` + width, the pair's zone itself; otherwise j's
//!    run is first grown to half the pair's bound + width and paused (it goes on from there
//!    in its turn), and `CWD_i(c) + max(M(c), min(CWD_j(c), half))` within the pair's bound +
//!    width, M the multi-source cost (a lower bound of every patch's cost distance, used as
//!    an A* heuristic) (`ZonePrune`). The cells left out are
//!    in no corridor zone of the patch, and every zone cell keeps its exact cost: the same
//!    results bit for bit, whichever runs finished first (tested against unpruned runs).
//! 4. `LCD_ij = min over cells c of patch j of CWD_i(c)` (equal to `min_c CWD_i + CWD_j`
//!    because moves cost the same both ways). The least-cost path is traced back from that
//!    cell by always stepping to the neighbour `p` minimising `CWD_i(p) + step(p, c)`.
//! 5. `NLCC_ij(c) = CWD_i(c) + CWD_j(c) - LCD_ij`; a cell is in the corridor when
//!    `NLCC_ij ≤ width`; the corridor raster is the minimum over corridors.
//!
//! # Memory
//! 12 bytes per cell for the multi-source run (4 kept for the result) and 4 for the corridor
//! raster and 4 for the pruning bound, plus 8 bytes per cell reached by each per-patch run
//! that is alive or grown (64 × 64 tiles allocated where reached). One worker per thread takes the runs
//! in patch order and hands each over when done; a run is dropped as soon as its last pair is
//! processed, so only runs of pairs still open are kept (at most one more per worker waits in
//! the hand-over): memory grows with the patches of one neighbourhood, not patches × cells.

use std::collections::BTreeMap;

use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::costdist::{
    accumulate_cost, dijkstra, neighbours, step_cost, CostOptions, CostStore, FastDiv, NoPrune,
    Prune, Resumable, Shape,
};
use crate::grid::Grid;
use crate::raster::SparseF32;
use crate::resistance::Resistance;
use crate::sources::Sources;

/// Which pairs of patches get a corridor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairRule {
    /// Patches whose cost allocation zones touch (Linkage Mapper's default).
    #[default]
    AllocationTouch,
    /// Every pair whose least-cost distance is within `max_cwd`.
    WithinMaxCwd,
}

/// Options of the corridor stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CorridorOptions {
    /// Cost-distance options (cut-off, corner cutting).
    pub cost: CostOptions,
    /// Corridor width: cells with NLCC ≤ width are in the corridor (cost units).
    pub width: f64,
    /// Which pairs get a corridor.
    pub pairs: PairRule,
    /// Drop corridors whose least-cost path crosses a third patch.
    pub drop_crossing: bool,
    /// Keep each corridor's zone cells with both cost distances ([`Corridor::zone`]), for
    /// scoring restoration sites (12 bytes per zone cell and corridor).
    pub keep_zone_cells: bool,
}

/// A cell of a corridor zone with its cost distances from both patches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZoneCell {
    /// Cell index (row-major).
    pub cell: u32,
    /// Cost distance from the `from` patch.
    pub cwd_from: f32,
    /// Cost distance from the `to` patch.
    pub cwd_to: f32,
}

/// One corridor between two patches.
#[derive(Debug, Clone, PartialEq)]
pub struct Corridor {
    /// Id, 1-based in (from, to) order.
    pub id: u32,
    /// Patch id at one end (the smaller).
    pub from: u32,
    /// Patch id at the other end.
    pub to: u32,
    /// Least-cost distance (resistance × m).
    pub lcd: f64,
    /// Cells of the least-cost path from a cell of `from` to a cell of `to`.
    pub path: Vec<usize>,
    /// Length of the path through cell centres, m.
    pub path_length_m: f64,
    /// Edge-to-edge Euclidean distance between the patches, m.
    pub euclid_m: f64,
    /// Whether the path crosses a third patch.
    pub crosses_patch: bool,
    /// Zone cells (`NLCC ≤ width`) sorted by cell, when asked for
    /// ([`CorridorOptions::keep_zone_cells`]); empty otherwise.
    pub zone: Vec<ZoneCell>,
}

/// The corridor stage's results.
#[derive(Debug, Clone, PartialEq)]
pub struct CorridorNetwork {
    /// Cost distance to the nearest source (resistance × m; `+∞` unreached).
    pub cost: Vec<f32>,
    /// Minimum NLCC over the corridors, on the corridor zones' cells (where it is ≤ width);
    /// no value elsewhere. Held on those cells only (8.1% of the city cluster's grid: 8 bytes
    /// per zone cell instead of 4 per grid cell).
    pub nlcc: SparseF32,
    /// Corridors in (from, to) order.
    pub corridors: Vec<Corridor>,
    /// Patches without any corridor (isolated, unreachable or all dropped).
    pub isolated: Vec<u32>,
}

/// Why corridors cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CorridorError {
    /// Bad option.
    #[error("[corridors] {0}")]
    Option(String),
    /// A path could not be traced (would indicate inconsistent costs).
    #[error("the least-cost path from patch {from} to patch {to} could not be traced back (stopped at row {row}, column {col})")]
    Trace {
        /// Patch.
        from: u32,
        /// Patch.
        to: u32,
        /// Row.
        row: usize,
        /// Column.
        col: usize,
    },
}

const TILE: usize = 64;

/// A grid in 64 × 64 tiles, each allocated when first written (the per-patch runs' costs,
/// the corridor raster while the pairs are processed).
struct Tiles<T> {
    rows: usize,
    cols: usize,
    tiles_x: usize,
    tiles: Vec<Option<Box<[T]>>>,
}

impl<T: Copy> Tiles<T> {
    fn new(rows: usize, cols: usize) -> Tiles<T> {
        let tiles_x = cols.div_ceil(TILE);
        Tiles {
            rows,
            cols,
            tiles_x,
            tiles: (0..tiles_x * rows.div_ceil(TILE)).map(|_| None).collect(),
        }
    }

    /// Tile and offset of the cell at `(row, col)`: shifts and masks, no division.
    #[inline]
    fn locate_rc(&self, row: usize, col: usize) -> (usize, usize) {
        (
            (row / TILE) * self.tiles_x + col / TILE,
            (row % TILE) * TILE + col % TILE,
        )
    }

    /// Tile `t`, allocated filled with `empty` if it was not yet.
    #[inline]
    fn tile_mut(&mut self, t: usize, empty: T) -> &mut [T] {
        self.tiles[t].get_or_insert_with(|| vec![empty; TILE * TILE].into_boxed_slice())
    }
}

impl Tiles<f32> {
    /// The finite cells, in row-major order.
    fn into_sparse(self) -> SparseF32 {
        let mut entries = Vec::new();
        for r in 0..self.rows {
            for tc in 0..self.tiles_x {
                let Some(tile) = &self.tiles[(r / TILE) * self.tiles_x + tc] else {
                    continue;
                };
                let row = &tile[(r % TILE) * TILE..][..TILE];
                let width = TILE.min(self.cols - tc * TILE);
                for (k, &v) in row[..width].iter().enumerate() {
                    if v.is_finite() {
                        entries.push(((r * self.cols + tc * TILE + k) as u32, v));
                    }
                }
            }
        }
        SparseF32::from_entries(self.rows * self.cols, entries)
    }
}

/// Costs of one per-patch run, in tiles allocated where reached (`+∞` elsewhere).
struct TiledCost {
    by_cols: FastDiv,
    grid: Tiles<f64>,
}

impl TiledCost {
    fn new(rows: usize, cols: usize) -> TiledCost {
        TiledCost {
            by_cols: FastDiv::new(cols),
            grid: Tiles::new(rows, cols),
        }
    }
}

/// The corridor raster while the pairs are processed, in the runs' tiling, allocated where a
/// zone reaches (`+∞` elsewhere): the zones cover 8.1% of the city cluster, where a grid of
/// `f32` would take 4 bytes per cell for the whole stage.
type TiledNlcc = Tiles<f32>;

impl CostStore for TiledCost {
    fn cost(&self, cell: usize) -> f64 {
        let (r, c) = self.by_cols.div_rem(cell);
        self.cost_at(cell, r, c)
    }
    #[inline]
    fn cost_at(&self, _cell: usize, row: usize, col: usize) -> f64 {
        let (t, o) = self.grid.locate_rc(row, col);
        self.grid.tiles[t]
            .as_ref()
            .map_or(f64::INFINITY, |tile| tile[o])
    }
    #[inline]
    fn prefetch(&self, _cell: usize, row: usize, col: usize) {
        for r in [row.wrapping_sub(1), row, row + 1] {
            let (t, o) = self.grid.locate_rc(r, col);
            if let Some(Some(tile)) = self.grid.tiles.get(t) {
                crate::costdist::prefetch(tile, o);
            }
        }
    }
    #[inline]
    fn set_at(&mut self, _cell: usize, row: usize, col: usize, cost: f64, _alloc: u32) {
        let (t, o) = self.grid.locate_rc(row, col);
        self.grid.tile_mut(t, f64::INFINITY)[o] = cost;
    }
    fn alloc(&self, _cell: usize) -> u32 {
        1
    }
    fn set(&mut self, cell: usize, cost: f64, alloc: u32) {
        let (r, c) = self.by_cols.div_rem(cell);
        self.set_at(cell, r, c, cost, alloc);
    }
}

/// Builds the corridors.
///
/// # Errors
/// [`CorridorError`] for inconsistent options (`within_max_cwd` without `max_cwd`, a width
/// that is negative or NaN).
///
/// # Complexity
/// One multi-source Dijkstra plus one bounded Dijkstra per patch (parallel over patches),
/// plus O(boundary_i × boundary_j) per pair for the edge-to-edge distance.
pub fn build(
    grid: &Grid,
    res: &Resistance,
    sources: &Sources,
    opts: &CorridorOptions,
) -> Result<CorridorNetwork, CorridorError> {
    build_with(grid, res, sources, opts, true)
}

/// [`build`], with the per-patch runs pruned by the multi-source cost or not (the unpruned
/// runs are the reference the pruning is tested against: the results must be the same).
fn build_with(
    grid: &Grid,
    res: &Resistance,
    sources: &Sources,
    opts: &CorridorOptions,
    prune: bool,
) -> Result<CorridorNetwork, CorridorError> {
    check_options(opts)?;
    let (rows, cols, cs) = (grid.rows(), grid.cols(), grid.cell_size_m());
    let limit = opts.cost.max_cwd.unwrap_or(f64::INFINITY);
    let ids: Vec<u32> = sources.patches.iter().map(|p| p.id).collect();
    let (cells, boundary) = patch_cells(sources, &ids, rows, cols);

    // 1. Multi-source run.
    let seeds = sources
        .ids
        .iter()
        .enumerate()
        .filter(|(_, &id)| id != 0)
        .map(|(i, &id)| (i, id));
    let multi = accumulate_cost(rows, cols, cs, res, seeds, &opts.cost);

    // 2. Candidate pairs with LCD upper bounds (slots, smaller first).
    let shape = Shape {
        rows,
        cols,
        cell_size_m: cs,
    };
    let bound = match opts.pairs {
        PairRule::AllocationTouch => {
            touch_bounds(shape, res.values(), &multi, &ids, opts.cost.corner_cutting)
        }
        PairRule::WithinMaxCwd => BTreeMap::new(),
    };
    // The allocation only finds the pairs: 4 bytes per cell released before the per-patch
    // runs, the stage's peak.
    let crate::costdist::CostSurface { cost: multi, alloc } = multi;
    drop(alloc);

    // 3.-5. Per-patch runs, bounded (see `run_limits` and the floor below), and the pairs.
    let pair_limits = pair_limits(&bound, ids.len(), opts);
    let run_limit = run_limits(&pair_limits, opts);
    // A cell c matters to the run of patch a only in the zone of a pair (a, b), where
    // CWD_a(c) + CWD_b(c) <= LCD_ab + width <= run limit. The multi-source cost M(c) is at
    // most CWD_b(c) for every b, so a run need not enter cells with CWD_a + M > its limit
    // (A*-style pruning with M as the heuristic; exact in every zone, see `dijkstra`).
    // Lowered by a relative 1e-6 because M was rounded to f32 (see `ZonePrune::near`, which
    // reads M itself: a lowered copy would take 4 bytes per cell). With pairs within max_cwd
    // the pairs are found by the runs themselves, so they are not pruned.
    let floor: Option<&[f32]> =
        (opts.pairs == PairRule::AllocationTouch && prune).then_some(&multi[..]);
    let job = PairJob {
        shape,
        res,
        sources,
        ids: &ids,
        cells: &cells,
        boundary: &boundary,
        run_limit: &run_limit,
        pair_limits: &pair_limits,
        floor,
        limit,
        opts,
    };
    let (mut corridors, nlcc) = job.run(bound.keys().copied().collect())?;
    corridors.sort_by_key(|&(a, b, _)| (a, b));
    let corridors: Vec<Corridor> = corridors
        .into_iter()
        .enumerate()
        .map(|(k, (_, _, mut c))| {
            c.id = k as u32 + 1;
            c
        })
        .collect();
    let linked: std::collections::BTreeSet<u32> =
        corridors.iter().flat_map(|c| [c.from, c.to]).collect();
    let isolated = ids
        .iter()
        .copied()
        .filter(|id| !linked.contains(id))
        .collect();
    Ok(CorridorNetwork {
        cost: multi,
        nlcc,
        corridors,
        isolated,
    })
}

/// Refuses a negative width, a cut-off <= 0 and pairs within max_cwd without max_cwd.
fn check_options(opts: &CorridorOptions) -> Result<(), CorridorError> {
    if !(opts.width.is_finite() && opts.width >= 0.0) {
        return Err(CorridorError::Option(format!(
            "width = {}; give a corridor width >= 0 in cost units (resistance x m)",
            opts.width
        )));
    }
    if let Some(m) = opts.cost.max_cwd {
        if m.is_nan() || m <= 0.0 {
            return Err(CorridorError::Option(format!(
                "max_cwd = {m}; give a cut-off > 0 in cost units, or leave it out"
            )));
        }
    }
    if opts.pairs == PairRule::WithinMaxCwd && opts.cost.max_cwd.is_none() {
        return Err(CorridorError::Option(
            "pairs = \"within_max_cwd\" needs max_cwd".into(),
        ));
    }
    Ok(())
}

/// Whether the diagonal move (row, col) -> (nr, nc) passes an impassable corner (one of the
/// two cells it cuts between is a barrier).
#[inline]
fn corner_blocked(
    r: &[f32],
    cols: usize,
    (row, col): (isize, isize),
    (nr, nc): (isize, isize),
) -> bool {
    !r[row as usize * cols + nc as usize].is_finite()
        || !r[nr as usize * cols + col as usize].is_finite()
}

/// Pairs of patches whose multi-source allocation zones touch (slots in the sorted `ids`,
/// smaller first), each with an upper bound on its LCD: the cheapest crossing of the
/// zones' border, M(a) + step(a, b) + M(b).
fn touch_bounds(
    shape: Shape,
    r: &[f32],
    multi: &crate::costdist::CostSurface,
    ids: &[u32],
    corner_cutting: bool,
) -> BTreeMap<(usize, usize), f64> {
    let (rows, cols, cs) = (shape.rows, shape.cols, shape.cell_size_m);
    let slot = |id: u32| ids.binary_search(&id).ok();
    let mut bound: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for a in 0..rows * cols {
        let ia = multi.alloc[a];
        if ia == 0 {
            continue;
        }
        let (row, col) = ((a / cols) as isize, (a % cols) as isize);
        for &(dr, dc, diag) in &[
            (0isize, 1isize, false),
            (1, 0, false),
            (1, 1, true),
            (1, -1, true),
        ] {
            let (nr, nc) = (row + dr, col + dc);
            if nr >= rows as isize || nc < 0 || nc >= cols as isize {
                continue;
            }
            let b = nr as usize * cols + nc as usize;
            let ib = multi.alloc[b];
            if ib == 0 || ib == ia {
                continue;
            }
            if diag && !corner_cutting && corner_blocked(r, cols, (row, col), (nr, nc)) {
                continue;
            }
            let (Some(sa), Some(sb)) = (slot(ia), slot(ib)) else {
                continue;
            };
            let ub = multi.cost[a] as f64 + step_cost(cs, diag, r[a], r[b]) + multi.cost[b] as f64;
            let key = (sa.min(sb), sa.max(sb));
            let e = bound.entry(key).or_insert(f64::INFINITY);
            *e = e.min(ub);
        }
    }
    bound
}

/// Per slot, its pairs' other slots with the cost up to which its run needs exact costs for
/// that pair: the pair's LCD bound capped at max_cwd (pairs beyond it are dropped) plus the
/// width, with a slack for the `f32` storage of the bound.
fn pair_limits(
    bound: &BTreeMap<(usize, usize), f64>,
    n: usize,
    opts: &CorridorOptions,
) -> Vec<Vec<(usize, f64)>> {
    let limit = opts.cost.max_cwd.unwrap_or(f64::INFINITY);
    let mut out = vec![Vec::new(); n];
    for (&(a, b), &ub) in bound {
        if ub.is_finite() {
            let need = (ub.min(limit) + opts.width) * (1.0 + 1e-6);
            out[a].push((b, need));
            out[b].push((a, need));
        }
    }
    out
}

/// How far each patch's run must go: with allocation-touch pairs, the largest of its
/// [`pair_limits`]; `-inf` for a patch without pairs (no run); max_cwd with pairs within it.
fn run_limits(pair_limits: &[Vec<(usize, f64)>], opts: &CorridorOptions) -> Vec<f64> {
    let limit = opts.cost.max_cwd.unwrap_or(f64::INFINITY);
    pair_limits
        .iter()
        .map(|pairs| match opts.pairs {
            PairRule::WithinMaxCwd => limit,
            PairRule::AllocationTouch => {
                pairs.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max)
            }
        })
        .collect()
}

/// The per-patch runs and the pairs between them.
struct PairJob<'a> {
    shape: Shape,
    res: &'a Resistance,
    sources: &'a Sources,
    ids: &'a [u32],
    cells: &'a [Vec<usize>],
    boundary: &'a [Vec<usize>],
    run_limit: &'a [f64],
    pair_limits: &'a [Vec<(usize, f64)>],
    floor: Option<&'a [f32]>,
    limit: f64,
    opts: &'a CorridorOptions,
}

impl PairJob<'_> {
    /// The cost-distance run of patch slot `k`, bounded by its pairs (see [`ZonePrune`]): by
    /// the finished partners in `registry`, and by the partners not yet run, grown first to
    /// half their pair's limit in `grown`. `k`'s own run goes on from its growth, if any.
    fn run_patch(
        &self,
        k: usize,
        registry: &Mutex<Vec<Option<Arc<TiledCost>>>>,
        grown: &[RwLock<Growth>],
    ) -> TiledCost {
        let Some(near) = self.floor else {
            let mut store = TiledCost::new(self.shape.rows, self.shape.cols);
            let seeds = self.cells[k].iter().map(|&c| (c, 1));
            let corners = self.opts.cost.corner_cutting;
            let limit = self.run_limit[k];
            dijkstra(
                self.shape, self.res, seeds, limit, &NoPrune, corners, &mut store,
            );
            return store;
        };
        let pairs = &self.pair_limits[k];
        let finished = |b: usize| lock(registry)[b].clone();
        // 1. Partners not yet run grow to half their pair's limit. One that another worker
        //    is running now is left alone (its pair stays loose), and so is one whose growth
        //    another worker is reading (bounding its own run by it): that growth bounds this
        //    run too at whatever radius it has, and waiting would hold this worker for the
        //    whole of the other run.
        for &(b, need) in pairs {
            if finished(b).is_some() {
                continue;
            }
            let Some(mut slot) = try_write(&grown[b]) else {
                continue;
            };
            if matches!(*slot, Growth::None) {
                *slot = Growth::Grown(Box::new(Grown::new(self)));
            }
            if let Growth::Grown(g) = &mut *slot {
                g.grow(self, b, near, need / 2.0);
            }
        }
        // 2. This run, from its growth if it has one.
        let mut own = match std::mem::replace(&mut *write(&grown[k]), Growth::Taken) {
            Growth::Grown(g) => *g,
            _ => Grown::new(self),
        };
        let done: Vec<Option<Arc<TiledCost>>> = pairs.iter().map(|&(b, _)| finished(b)).collect();
        let guards: Vec<Option<RwLockReadGuard<'_, Growth>>> = pairs
            .iter()
            .zip(&done)
            .map(|(&(b, _), run)| run.is_none().then(|| read(&grown[b])))
            .collect();
        let partners = done
            .into_iter()
            .zip(&guards)
            .map(|(run, guard)| match (run, guard) {
                (Some(run), _) => Partner::Finished(run),
                (None, Some(g)) => match &**g {
                    Growth::Grown(g) => Partner::Grown(g.radius, &g.store),
                    _ => Partner::Running,
                },
                (None, None) => Partner::Running,
            });
        let prune = ZonePrune::new(
            near,
            pairs,
            partners,
            &self.cells[k],
            (self.opts.width, self.limit),
            self.shape.cols,
        );
        own.advance(self, k, &prune, f64::INFINITY);
        own.store
    }
}

/// Where a per-patch run stands, for its pair partners run before it.
enum Growth {
    /// Not started.
    None,
    /// Grown to a radius (see [`Grown`]).
    Grown(Box<Grown>),
    /// Taken by its own worker (running or finished).
    Taken,
}

/// A per-patch run grown to a radius, `radius`, for the pair partners run before it: every
/// cell within that cost of the patch is settled with its exact cost (the growth admits every
/// cell its own pairs may need, see [`ZonePrune::loose`]). Its own worker goes on from there.
struct Grown {
    store: TiledCost,
    search: Resumable,
    radius: f64,
    seeded: bool,
}

impl Grown {
    fn new(job: &PairJob<'_>) -> Grown {
        Grown {
            store: TiledCost::new(job.shape.rows, job.shape.cols),
            search: Resumable::new(job.res, job.shape.cell_size_m),
            radius: f64::NEG_INFINITY,
            seeded: false,
        }
    }

    /// Goes on with patch `k`'s run under `prune` until every cell of cost `<= until` is
    /// settled (seeding it first).
    fn advance(&mut self, job: &PairJob<'_>, k: usize, prune: &ZonePrune<'_>, until: f64) {
        let seeds = if self.seeded {
            &[][..]
        } else {
            &job.cells[k][..]
        };
        self.seeded = true;
        self.search.advance(
            job.shape,
            job.res,
            seeds.iter().map(|&c| (c, 1)),
            (prune.limit, until),
            prune,
            job.opts.cost.corner_cutting,
            &mut self.store,
        );
    }

    /// Grows patch `k`'s run to `radius` (admitting what any of its pairs may need).
    fn grow(&mut self, job: &PairJob<'_>, k: usize, near: &[f32], radius: f64) {
        if radius > self.radius {
            let prune = ZonePrune::loose(near, job.run_limit[k], job.shape.cols);
            self.advance(job, k, &prune, radius);
            self.radius = radius;
        }
    }
}

/// Corridors by pair of slots, and the normalized least-cost corridor raster.
type PairsFound = (Vec<(usize, usize, Corridor)>, SparseF32);

impl PairJob<'_> {
    /// Runs every patch with a limit, in patch order on all threads, and processes each pair
    /// of `registered` (with pairs within max_cwd: each pair the runs find) as soon as both
    /// of its runs exist; a run is dropped once its last pair is done, so only the runs of
    /// pairs still open are alive at any time.
    fn run(
        &self,
        mut registered: std::collections::BTreeSet<(usize, usize)>,
    ) -> Result<PairsFound, CorridorError> {
        let PairJob {
            shape,
            res,
            sources,
            ids,
            cells,
            boundary,
            run_limit,
            pair_limits,
            floor: _,
            limit,
            opts,
        } = *self;
        let (rows, cols, cs) = (shape.rows, shape.cols, shape.cell_size_m);
        let r = res.values();
        // Pairs per patch slot; with pairs within max_cwd they are found by the runs.
        let mut pairs_of: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
        for &(a, b) in &registered {
            pairs_of[a].push(b);
            pairs_of[b].push(a);
        }
        let mut remaining: Vec<usize> = pairs_of.iter().map(Vec::len).collect();
        // Finished runs still needed by a pair: this thread takes a pair's two runs from here,
        // and a worker whose pair partner is done bounds its run by the partner's exact costs
        // for that pair (see `ZonePrune`).
        let registry: Mutex<Vec<Option<Arc<TiledCost>>>> = Mutex::new(vec![None; ids.len()]);
        let grown: Vec<RwLock<Growth>> =
            (0..ids.len()).map(|_| RwLock::new(Growth::None)).collect();
        let mut done = vec![false; ids.len()];
        let mut corridors: Vec<(usize, usize, Corridor)> = Vec::new();
        let mut nlcc = TiledNlcc::new(rows, cols);
        let slots: Vec<usize> = (0..ids.len())
            .filter(|&k| run_limit[k] != f64::NEG_INFINITY)
            .collect();
        // Workers take the runs in patch order and hand each finished one over as soon as it is
        // done (no batch waits for its slowest run); this thread processes every pair whose two
        // runs exist and drops a run once its last pair is processed. The channel holds at most
        // one finished run per worker, so workers pause when pairs fall behind. Results do not
        // depend on the order runs finish in: corridors are sorted at the end, the corridor
        // raster is a minimum and zone cells are sorted.
        let workers = rayon::current_num_threads().max(1).min(slots.len().max(1));
        let next = Scheduler::new(&slots, pair_limits, ids.len());
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Arc<TiledCost>)>(workers);
        std::thread::scope(|scope| -> Result<(), CorridorError> {
            for _ in 0..workers {
                let tx = tx.clone();
                let (next, registry, grown) = (&next, &registry, &grown[..]);
                scope.spawn(move || {
                    while let Some(k) = next.take() {
                        let store = Arc::new(self.run_patch(k, registry, grown));
                        lock(registry)[k] = Some(Arc::clone(&store));
                        next.finish(k);
                        if tx.send((k, store)).is_err() {
                            break; // the pairs stopped on an error
                        }
                    }
                });
            }
            drop(tx);
            // `rx` is moved in here, so an error returned from this loop drops it and a worker
            // blocked on a full channel gets an error instead of waiting forever for the join.
            for (k, store) in rx {
                if opts.pairs == PairRule::WithinMaxCwd {
                    // Reaching is symmetric, so the pairs of k are the patches its run reaches;
                    // a pair is registered by whichever of its runs comes first.
                    for b in 0..ids.len() {
                        if b != k
                            && cells[b].iter().any(|&c| store.cost(c).is_finite())
                            && registered.insert((k.min(b), k.max(b)))
                        {
                            pairs_of[k].push(b);
                            pairs_of[b].push(k);
                            remaining[k] += 1;
                            remaining[b] += 1;
                        }
                    }
                }
                drop(store); // held in the registry
                done[k] = true;
                let ready: Vec<(usize, usize)> = pairs_of[k]
                    .iter()
                    .filter(|&&b| done[b])
                    .map(|&b| (k.min(b), k.max(b)))
                    .collect();
                for (a, b) in ready {
                    remaining[a] -= 1;
                    remaining[b] -= 1;
                    let (ra, rb) = {
                        let held = lock(&registry);
                        (held[a].clone(), held[b].clone())
                    };
                    let (Some(ra), Some(rb)) = (ra, rb) else {
                        continue;
                    };
                    if let Some(mut c) = pair_corridor(
                        &ra,
                        r,
                        (rows, cols, cs),
                        &cells[b],
                        boundary,
                        sources,
                        ids,
                        (a, b),
                        limit,
                        opts,
                    )? {
                        add_corridor_zone(
                            &mut nlcc,
                            &ra,
                            &rb,
                            (c.lcd, opts.width, cols),
                            opts.keep_zone_cells.then_some(&mut c.zone),
                        );
                        corridors.push((a, b, c));
                    }
                    for x in [a, b] {
                        if remaining[x] == 0 {
                            lock(&registry)[x] = None;
                        }
                    }
                }
                if remaining[k] == 0 {
                    lock(&registry)[k] = None;
                }
            }
            Ok(())
        })?;
        Ok((corridors, nlcc.into_sparse()))
    }
}

/// Hands the per-patch runs to the workers in patch order, except that a run whose pair
/// partner is running right now waits (for at most `WINDOW` later runs) so that the partner
/// finishes first and bounds it (a tight pair, see [`ZonePrune`]). Only the speed depends on
/// the order: every order gives the same results. On the 3,000² synthetic landscape with two
/// threads, before the halfway growth (see [`ZonePrune`]), cells expanded 117.4 M in plain
/// patch order, 107.4 M this way (100.3 M with one
/// thread; a window of 32 gave 107.1 M).
struct Scheduler<'a> {
    slots: &'a [usize],
    pairs: &'a [Vec<(usize, f64)>],
    state: Mutex<SchedulerState>,
}

struct SchedulerState {
    /// Index in `slots` of the first run not started.
    first: usize,
    /// By index in `slots`.
    started: Vec<bool>,
    /// By patch slot.
    running: Vec<bool>,
}

impl<'a> Scheduler<'a> {
    /// How far ahead of the first run not started a run may be taken.
    const WINDOW: usize = 8;

    fn new(slots: &'a [usize], pairs: &'a [Vec<(usize, f64)>], n: usize) -> Scheduler<'a> {
        Scheduler {
            slots,
            pairs,
            state: Mutex::new(SchedulerState {
                first: 0,
                started: vec![false; slots.len()],
                running: vec![false; n],
            }),
        }
    }

    /// The next run's patch slot, marked running; `None` when every run has started.
    fn take(&self) -> Option<usize> {
        let mut s = lock(&self.state);
        while s.first < self.slots.len() && s.started[s.first] {
            s.first += 1;
        }
        if s.first == self.slots.len() {
            return None;
        }
        let end = (s.first + Self::WINDOW).min(self.slots.len());
        let free = |i: usize| {
            !s.started[i] && !self.pairs[self.slots[i]].iter().any(|&(b, _)| s.running[b])
        };
        let pick = (s.first..end).find(|&i| free(i)).unwrap_or(s.first);
        s.started[pick] = true;
        s.running[self.slots[pick]] = true;
        Some(self.slots[pick])
    }

    /// Run `k` is done (and, when runs bound their partners, registered).
    fn finish(&self, k: usize) {
        lock(&self.state).running[k] = false;
    }
}

/// Locks a mutex of the corridor workers (one that panicked leaves the data usable).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads a run's [`Growth`] (see [`lock`]).
fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

/// Changes a run's [`Growth`] (see [`lock`]).
fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

/// [`write`] unless the lock is held (`None`).
fn try_write<T>(m: &RwLock<T>) -> Option<RwLockWriteGuard<'_, T>> {
    match m.try_write() {
        Ok(g) => Some(g),
        Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// How one per-patch run is bounded. For a pair (a, b), a's run needs exact costs on the
/// pair's zone, `CWD_a + CWD_b <= LCD + width`, and on the least-cost paths into it (which
/// lie in the zone too: for `p` before `c` on such a path, `CWD_a(p) + CWD_b(p) <=
/// CWD_a(c) + CWD_b(c)`). The run enters a cell at cost `d` only if `d + h(c) <= L`, `h` a
/// lower bound of `CWD_b` and `L` the pair's limit:
/// - **Tight**, when b's run is done (and still held, as its pair with a is open): `h =
///   CWD_b` and `L = LCD + width` (LCD from b's run; b's costs are exact on that zone, which
///   is all this test relies on: elsewhere they are `+∞` or above their least value, and
///   such cells are in no zone).
/// - **Halfway**, when b's run is not done: it is first grown to `H = L/2` (every cell
///   within `H` of b settled, see [`Grown`]), and `h = max(M, min(CWD_b, H))` with `L` the
///   pair's bound + width. The run then covers the cells within `L/2` of a and the zone.
/// - **Loose**, when another worker is running b right now: `h = M`, the multi-source cost
///   (at most `CWD_b`, for every b). That bound is weak near every other patch, where `M` is
///   near 0: a loose run enters every cell there within its limit.
///
/// A cell is entered when some pair admits it. Every cell the pairs need keeps its exact
/// cost whichever pairs were tight, so results do not depend on the order runs finish in.
/// Cells expanded on the 3,000² landscape of `ecocorridor synth --seed 7` (140 patches, 228
/// corridors), one thread: 193.5 M with the earlier partners tight and the later ones loose,
/// 120.7 M with the later ones halfway (121.1 M with two threads); had every pair been tight
/// (known only after the runs), 10.6 M.
struct ZonePrune<'a> {
    /// The multi-source cost `M`.
    multi: &'a [f32],
    /// Columns of the grid.
    cols: usize,
    loose: f64,
    tight: Vec<(f64, Arc<TiledCost>)>,
    /// `(L, H, partner's run grown to H)` per halfway pair.
    halfway: Vec<(f64, f64, &'a TiledCost)>,
    /// The largest cost any pair admits (the run's cut-off).
    limit: f64,
}

/// A pair partner's run as a per-patch run starts.
enum Partner<'a> {
    /// Finished: its exact costs on the pair's zone (the pair is tight).
    Finished(Arc<TiledCost>),
    /// Grown to a radius (the pair is halfway).
    Grown(f64, &'a TiledCost),
    /// Being run by another worker (the pair is loose).
    Running,
}

impl<'a> ZonePrune<'a> {
    /// Every pair loose up to `limit`.
    fn loose(near: &'a [f32], limit: f64, cols: usize) -> ZonePrune<'a> {
        ZonePrune {
            multi: near,
            cols,
            loose: limit,
            tight: Vec::new(),
            halfway: Vec::new(),
            limit,
        }
    }

    /// `pairs`: the run's pair partners with their loose limits, and where each partner's
    /// run stands; `own`: the run's patch cells; `width` and `max_cwd`.
    fn new(
        near: &'a [f32],
        pairs: &[(usize, f64)],
        partners: impl IntoIterator<Item = Partner<'a>>,
        own: &[usize],
        (width, max_cwd): (f64, f64),
        cols: usize,
    ) -> ZonePrune<'a> {
        let mut prune = ZonePrune::loose(near, f64::NEG_INFINITY, cols);
        for (&(_, need), partner) in pairs.iter().zip(partners) {
            match partner {
                Partner::Running => prune.loose = prune.loose.max(need),
                Partner::Grown(radius, run) => prune.halfway.push((need, radius, run)),
                Partner::Finished(run) => {
                    let lcd = own
                        .iter()
                        .map(|&c| run.cost(c))
                        .fold(f64::INFINITY, f64::min);
                    // Unreached or beyond max_cwd: the pair gets no corridor and needs no zone.
                    if lcd.is_finite() && lcd <= max_cwd * (1.0 + 1e-6) {
                        prune.tight.push(((lcd + width) * (1.0 + 1e-6), run));
                    }
                }
            }
        }
        prune.limit = prune
            .tight
            .iter()
            .map(|t| t.0)
            .chain(prune.halfway.iter().map(|h| h.0))
            .fold(prune.loose, f64::max);
        prune
    }
}

impl ZonePrune<'_> {
    /// `M(c)` lowered by a relative 1e-6 (it was rounded to `f32`), 0 where unreached: a
    /// lower bound of every `CWD_b(c)`.
    #[inline]
    fn near(&self, c: usize) -> f64 {
        let m = self.multi[c];
        (if m.is_finite() { m * (1.0 - 1e-6) } else { 0.0 }) as f64
    }
}

impl Prune for ZonePrune<'_> {
    #[inline]
    fn prefetch(&self, c: usize, _row: usize, _col: usize) {
        // Only `M`, read for every cell: hints for the partners' runs too (read for the few
        // cells beyond the halfway radius) took the 3,000² landscape from 29.1 to 37.6 s.
        let cols = self.cols;
        for m in [c.wrapping_sub(cols), c, c.wrapping_add(cols)] {
            crate::costdist::prefetch(self.multi, m);
        }
    }
    #[inline(always)]
    fn admits(&self, c: usize, row: usize, col: usize, d: f64) -> bool {
        let m = self.near(c);
        // The cost to b is at least max(M, min(CWD_b, H)) for a halfway pair (CWD_b is exact
        // up to H): first the tests that read no other run.
        d + m <= self.loose
            || self.halfway.iter().any(|&(lim, h, _)| d + m.max(h) <= lim)
            || self
                .tight
                .iter()
                .any(|(lim, run)| d + run.cost_at(c, row, col) <= *lim)
            || self
                .halfway
                .iter()
                .any(|&(lim, h, run)| d + m <= lim && d + run.cost_at(c, row, col).min(h) <= lim)
    }
}

/// Cells and boundary cells (row-major) of each patch, by slot in `ids` (sorted).
fn patch_cells(
    sources: &Sources,
    ids: &[u32],
    rows: usize,
    cols: usize,
) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let mut cells: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    let mut boundary: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    for (i, &id) in sources.ids.iter().enumerate() {
        if id == 0 {
            continue;
        }
        let Ok(k) = ids.binary_search(&id) else {
            continue;
        };
        cells[k].push(i);
        let (row, col) = (i / cols, i % cols);
        let edge = row == 0
            || col == 0
            || row + 1 == rows
            || col + 1 == cols
            || sources.ids[i - 1] != id
            || sources.ids[i + 1] != id
            || sources.ids[i - cols] != id
            || sources.ids[i + cols] != id;
        if edge {
            boundary[k].push(i);
        }
    }
    (cells, boundary)
}

/// A pair of patches to measure again: its two patch ids (`from` < `to`, as in
/// [`Corridor`]) and an upper bound of its least-cost distance on the surface given (the cost
/// of any path between them on it, e.g. the old least-cost path re-costed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairBound {
    /// Patch id at one end (the smaller).
    pub from: u32,
    /// Patch id at the other end.
    pub to: u32,
    /// Upper bound of the pair's LCD, cost units (`+∞` when none is known).
    pub bound: f64,
}

/// Least-cost distance, path and ratios of given pairs on a resistance surface, the same
/// patches: what [`build`] gives these pairs on that surface, bit for bit (same runs from the
/// smaller patch, same tie rules), without the corridor zones.
///
/// One cost-distance run per patch at the `from` end of some pair, stopped at the largest
/// bound of its pairs, in parallel over patches; each run is dropped once its pairs are
/// measured. Pairs are met halfway where that saves work ([`meet_halfway`]): a run from the
/// far patch to half the pair's bound gives a lower bound of the cost to it, and the run
/// from the near patch then enters only the cells within half the bound of it or on a path
/// within the bound (`d + min(d_b, L/2) <= L`): by area, about half the cells of one run to
/// `L` (an estimate; measured as times, back to back on the 3,000² synthetic plan, `pc_gain`
/// with a refinement round: connectivity values 4.51 s ->
/// 3.30 s, measuring the plan 4.26 s -> 2.58 s, the refinement round 10.0 s -> 6.9 s, same
/// outputs). (Pruning by the multi-source cost, as [`build`] does, was measured slower here:
/// with bounds from the old paths the runs are short and the whole-grid run needed for the
/// pruning costs more than it saves: 4.65 s against 3.34 s on the 3,000² synthetic plan.) `None` for a pair whose
/// patches are no longer joined within `max_cwd`, or whose path now crosses a third patch
/// when such corridors are dropped.
///
/// # Errors
/// As [`build`]; a pair naming a patch that is not in `sources`.
///
/// # Complexity
/// Per patch at a `from` end, one Dijkstra over the cells within its largest bound, or,
/// met halfway, over those within half of it plus the pairs' ellipses `d_a + d_b <= L`, and
/// one run per far patch to half its pair's bound.
pub fn remeasure(
    grid: &Grid,
    res: &Resistance,
    sources: &Sources,
    pairs: &[PairBound],
    opts: &CorridorOptions,
) -> Result<Vec<Option<Corridor>>, CorridorError> {
    let cells = PatchCells::new(grid, sources);
    remeasure_with(grid, res, sources, &cells, pairs, opts)
}

/// The cells and boundary cells of every patch, found once for many [`remeasure_with`] calls.
#[derive(Debug, Clone)]
pub struct PatchCells {
    ids: Vec<u32>,
    cells: Vec<Vec<usize>>,
    boundary: Vec<Vec<usize>>,
}

impl PatchCells {
    /// Scans the patch raster once.
    pub fn new(grid: &Grid, sources: &Sources) -> PatchCells {
        let ids: Vec<u32> = sources.patches.iter().map(|p| p.id).collect();
        let (cells, boundary) = patch_cells(sources, &ids, grid.rows(), grid.cols());
        PatchCells {
            ids,
            cells,
            boundary,
        }
    }
}

/// [`remeasure`] with the patches' cells found beforehand.
///
/// # Errors
/// As [`remeasure`].
pub fn remeasure_with(
    grid: &Grid,
    res: &Resistance,
    sources: &Sources,
    patch: &PatchCells,
    pairs: &[PairBound],
    opts: &CorridorOptions,
) -> Result<Vec<Option<Corridor>>, CorridorError> {
    let (rows, cols, cs) = (grid.rows(), grid.cols(), grid.cell_size_m());
    let limit = opts.cost.max_cwd.unwrap_or(f64::INFINITY);
    pair_runs(grid, res, patch, pairs, opts, |store, (a, b)| {
        pair_corridor(
            store,
            res.values(),
            (rows, cols, cs),
            &patch.cells[b],
            &patch.boundary,
            sources,
            &patch.ids,
            (a, b),
            limit,
            opts,
        )
    })
}

/// Only the least-cost distance of each pair, by the runs of [`remeasure_with`] (the same
/// value, bit for bit): no path is traced and no ratio computed, so a crossing of a third
/// patch is not looked for and `opts.drop_crossing` is not applied. `None` for a pair whose
/// patches are not joined within `max_cwd`.
///
/// # Errors
/// As [`remeasure`].
pub fn remeasure_lcds_with(
    grid: &Grid,
    res: &Resistance,
    patch: &PatchCells,
    pairs: &[PairBound],
    opts: &CorridorOptions,
) -> Result<Vec<Option<f64>>, CorridorError> {
    let limit = opts.cost.max_cwd.unwrap_or(f64::INFINITY);
    pair_runs(grid, res, patch, pairs, opts, |store, (_, b)| {
        Ok(least_cost_to(store, &patch.cells[b])
            .map(|(lcd, _)| lcd)
            .filter(|&lcd| lcd <= limit))
    })
}

/// The least cost of a run at the cells of a patch and the cell where it is reached (the
/// smallest index among equal costs); None when the run did not reach the patch.
fn least_cost_to(run: &TiledCost, cells_b: &[usize]) -> Option<(f64, usize)> {
    cells_b
        .iter()
        .map(|&c| (run.cost(c), c))
        .filter(|(v, _)| v.is_finite())
        .min_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)))
}

/// The runs of [`remeasure_with`], each pair read off its run by `read` (given the run and
/// the pair's patch slots `(a, b)`, `a` the end the run came from).
fn pair_runs<T: Send>(
    grid: &Grid,
    res: &Resistance,
    patch: &PatchCells,
    pairs: &[PairBound],
    opts: &CorridorOptions,
    read: impl Fn(&TiledCost, (usize, usize)) -> Result<Option<T>, CorridorError> + Sync,
) -> Result<Vec<Option<T>>, CorridorError> {
    use rayon::prelude::*;
    let (rows, cols, cs) = (grid.rows(), grid.cols(), grid.cell_size_m());
    let PatchCells { ids, cells, .. } = patch;
    let slot = |id: u32| {
        ids.binary_search(&id)
            .map_err(|_| CorridorError::Option(format!("patch {id} is not among the sources")))
    };
    let limit = opts.cost.max_cwd.unwrap_or(f64::INFINITY);
    // Pairs by the slot of their `from` patch (the run build would use).
    let mut by_from: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    for (k, p) in pairs.iter().enumerate() {
        let (a, b) = (slot(p.from)?, slot(p.to)?);
        by_from.entry(a.min(b)).or_default().push((k, a.max(b)));
    }
    let shape = Shape {
        rows,
        cols,
        cell_size_m: cs,
    };
    let groups: Vec<(usize, Vec<(usize, usize)>)> = by_from.into_iter().collect();
    let measured: Vec<Vec<(usize, Option<T>)>> = groups
        .par_iter()
        .map(|(a, group)| {
            // Each pair's cut-off: its bound, within max_cwd, with a margin for rounding.
            let limits: Vec<f64> = group
                .iter()
                .map(|&(k, _)| pairs[k].bound.min(limit) * (1.0 + 1e-6))
                .collect();
            let tight = meet_halfway(&limits);
            // Runs from the far ends of the tight pairs, each to half its pair's cut-off.
            let halves: Vec<(f64, f64, TiledCost)> = group
                .iter()
                .zip(&limits)
                .zip(&tight)
                .filter(|(_, &t)| t)
                .map(|((&(_, b), &lim), _)| {
                    let half = lim * 0.5;
                    let mut run = TiledCost::new(rows, cols);
                    dijkstra(
                        shape,
                        res,
                        cells[b].iter().map(|&c| (c, 1)),
                        half,
                        &NoPrune,
                        opts.cost.corner_cutting,
                        &mut run,
                    );
                    (lim, half, run)
                })
                .collect();
            let prune = HalfwayPrune {
                loose: limits
                    .iter()
                    .zip(&tight)
                    .filter(|(_, &t)| !t)
                    .map(|(&l, _)| l)
                    .fold(f64::NEG_INFINITY, f64::max),
                tight: halves.iter().map(|(l, h, run)| (*l, *h, run)).collect(),
            };
            let run_limit = limits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut store = TiledCost::new(rows, cols);
            dijkstra(
                shape,
                res,
                cells[*a].iter().map(|&c| (c, 1)),
                run_limit,
                &prune,
                opts.cost.corner_cutting,
                &mut store,
            );
            drop(halves);
            group
                .iter()
                .map(|&(k, b)| read(&store, (*a, b)).map(|c| (k, c)))
                .collect::<Result<Vec<_>, CorridorError>>()
        })
        .collect::<Result<_, _>>()?;
    let mut out: Vec<Option<T>> = (0..pairs.len()).map(|_| None).collect();
    for (k, c) in measured.into_iter().flatten() {
        out[k] = c;
    }
    Ok(out)
}

/// Which pairs of one run get a run from their far end (`true`), given the pairs' cut-offs.
///
/// A run from `a` to cut-off `L` covers about `L²` (cells within cost `L`). With a run from
/// `b` to `L/2`, `a`'s run needs only the cells within `L/2` of `a` and the thin ellipse
/// `d_a + d_b ≤ L`: about `L²/4 + L²/4`. Taking the `m` pairs with the largest cut-offs
/// costs `Σ_{j<m} L_j²/4` for the far runs plus `max(L_0²/4, L_m²)` for `a`'s run (`L_m` the
/// largest cut-off left loose); the `m` with the least estimate is taken. An infinite
/// cut-off (no bound known) stays loose, and with it every pair.
fn meet_halfway(limits: &[f64]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..limits.len()).collect();
    order.sort_by(|&x, &y| limits[y].total_cmp(&limits[x]).then(x.cmp(&y)));
    let mut tight = vec![false; limits.len()];
    let Some(&first) = order.first() else {
        return tight;
    };
    let top = limits[first];
    if !top.is_finite() {
        return tight;
    }
    let (mut best, mut best_m) = (top * top, 0);
    let mut far = 0.0;
    for m in 1..=order.len() {
        let l = limits[order[m - 1]];
        far += l * l / 4.0;
        let loose = order.get(m).map_or(0.0, |&j| limits[j] * limits[j]);
        let cost = far + (top * top / 4.0).max(loose);
        if cost < best {
            (best, best_m) = (cost, m);
        }
    }
    for &j in &order[..best_m] {
        tight[j] = true;
    }
    tight
}

/// The pruning of a [`remeasure_with`] run from `a`: a pair `(a, b)` with a run from `b` to
/// `h` (half its cut-off `L`) admits a cell at cost `d` when `d + min(d_b, h) <= L`:
/// `min(d_b, h)` is a lower bound of the cost from the cell to `b` (`d_b` is exact where that
/// run reached, and above `h` where it did not), so every cell on a path of cost `<= L`
/// between the two patches passes, and with it every cell the pair's LCD and path read
/// (see [`Prune`]). Pairs without such a run (`loose`) admit every cell up to their cut-off.
struct HalfwayPrune<'a> {
    loose: f64,
    /// `(L, h, run from b)` per tight pair.
    tight: Vec<(f64, f64, &'a TiledCost)>,
}

impl Prune for HalfwayPrune<'_> {
    #[inline]
    fn admits(&self, c: usize, row: usize, col: usize, d: f64) -> bool {
        d <= self.loose
            || self
                .tight
                .iter()
                .any(|&(lim, half, run)| d + half <= lim || d + run.cost_at(c, row, col) <= lim)
    }
}

/// LCD, path and ratios of the pair (a, b) from a's run; None when b is unreachable, beyond
/// the cut-off, or the path crosses a third patch and such corridors are dropped.
#[allow(clippy::too_many_arguments)]
fn pair_corridor(
    run: &TiledCost,
    r: &[f32],
    (rows, cols, cs): (usize, usize, f64),
    cells_b: &[usize],
    boundary: &[Vec<usize>],
    sources: &Sources,
    ids: &[u32],
    (a, b): (usize, usize),
    limit: f64,
    opts: &CorridorOptions,
) -> Result<Option<Corridor>, CorridorError> {
    let Some(p) = pair_path(
        run,
        r,
        (rows, cols, cs),
        cells_b,
        sources,
        ids,
        (a, b),
        limit,
        opts,
    )?
    else {
        return Ok(None);
    };
    let path_length_m: f64 = p
        .path
        .windows(2)
        .map(|w| {
            if w[0] % cols != w[1] % cols && w[0] / cols != w[1] / cols {
                cs * std::f64::consts::SQRT_2
            } else {
                cs
            }
        })
        .sum();
    let euclid_m = edge_to_edge(&boundary[a], &boundary[b], cols) * cs;
    Ok(Some(Corridor {
        id: 0,
        from: ids[a],
        to: ids[b],
        lcd: p.lcd,
        path: p.path,
        path_length_m,
        euclid_m,
        crosses_patch: p.crosses_patch,
        zone: Vec::new(),
    }))
}

/// The least-cost distance and path of a pair measured again, without the ratios of a
/// [`Corridor`] (what measuring a plan needs: the edge-to-edge distance between two large
/// patches was most of the time spent reading a pair off its run).
#[derive(Debug, Clone, PartialEq)]
pub struct PairPath {
    /// Least-cost distance (resistance × m).
    pub lcd: f64,
    /// Cells of the least-cost path from a cell of `from` to a cell of `to`.
    pub path: Vec<usize>,
    /// Whether the path crosses a third patch.
    pub crosses_patch: bool,
}

/// [`remeasure`] without the ratios: each pair's LCD and least-cost path, the same values
/// bit for bit.
///
/// # Errors
/// As [`remeasure`].
pub fn remeasure_paths(
    grid: &Grid,
    res: &Resistance,
    sources: &Sources,
    pairs: &[PairBound],
    opts: &CorridorOptions,
) -> Result<Vec<Option<PairPath>>, CorridorError> {
    let patch = PatchCells::new(grid, sources);
    let (rows, cols, cs) = (grid.rows(), grid.cols(), grid.cell_size_m());
    let limit = opts.cost.max_cwd.unwrap_or(f64::INFINITY);
    pair_runs(grid, res, &patch, pairs, opts, |store, (a, b)| {
        pair_path(
            store,
            res.values(),
            (rows, cols, cs),
            &patch.cells[b],
            sources,
            &patch.ids,
            (a, b),
            limit,
            opts,
        )
    })
}

/// LCD and path of the pair (a, b) from a's run (see [`pair_corridor`]).
#[allow(clippy::too_many_arguments)]
fn pair_path(
    run: &TiledCost,
    r: &[f32],
    (rows, cols, cs): (usize, usize, f64),
    cells_b: &[usize],
    sources: &Sources,
    ids: &[u32],
    (a, b): (usize, usize),
    limit: f64,
    opts: &CorridorOptions,
) -> Result<Option<PairPath>, CorridorError> {
    let Some((lcd, end)) = least_cost_to(run, cells_b) else {
        return Ok(None);
    };
    if lcd > limit {
        return Ok(None);
    }
    let path = trace(run, r, rows, cols, cs, end, opts.cost.corner_cutting).ok_or(
        CorridorError::Trace {
            from: ids[a],
            to: ids[b],
            row: end / cols,
            col: end % cols,
        },
    )?;
    let crosses_patch = path.iter().any(|&c| {
        let id = sources.ids[c];
        id != 0 && id != ids[a] && id != ids[b]
    });
    if crosses_patch && opts.drop_crossing {
        return Ok(None);
    }
    Ok(Some(PairPath {
        lcd,
        path,
        crosses_patch,
    }))
}

/// Lowers the corridor raster to `CWD_a + CWD_b - lcd` where that is within the width and,
/// when `keep` is given, collects the zone cells (sorted by cell).
fn add_corridor_zone(
    nlcc: &mut TiledNlcc,
    ra: &TiledCost,
    rb: &TiledCost,
    (lcd, width, cols): (f64, f64, usize),
    mut keep: Option<&mut Vec<ZoneCell>>,
) {
    for (t, (ta, tb)) in ra.grid.tiles.iter().zip(&rb.grid.tiles).enumerate() {
        let (Some(ta), Some(tb)) = (ta, tb) else {
            continue;
        };
        let (tr, tc) = (t / ra.grid.tiles_x, t % ra.grid.tiles_x);
        for (o, (&va, &vb)) in ta.iter().zip(tb.iter()).enumerate() {
            if !(va.is_finite() && vb.is_finite()) {
                continue;
            }
            let v = va + vb - lcd;
            if v <= width {
                let cell = (tr * TILE + o / TILE) * cols + tc * TILE + o % TILE;
                let v = v.max(0.0) as f32;
                let low = &mut nlcc.tile_mut(t, f32::INFINITY)[o];
                if v < *low {
                    *low = v;
                }
                if let Some(k) = keep.as_deref_mut() {
                    k.push(ZoneCell {
                        cell: cell as u32,
                        cwd_from: va as f32,
                        cwd_to: vb as f32,
                    });
                }
            }
        }
    }
    if let Some(k) = keep {
        k.sort_unstable_by_key(|z| z.cell);
    }
}

/// Traces the least-cost path back from `end` to a cell of cost 0, always stepping to the
/// neighbour `p` with the smallest `cost(p) + step(p, c)` among those cheaper than `c`
/// (smallest index on ties). Returns the cells from the source side to `end`.
fn trace(
    run: &TiledCost,
    r: &[f32],
    rows: usize,
    cols: usize,
    cs: f64,
    end: usize,
    corner_cutting: bool,
) -> Option<Vec<usize>> {
    let mut path = vec![end];
    let mut c = end;
    let mut guard = rows * cols;
    while run.cost(c) > 0.0 {
        guard = guard.checked_sub(1)?;
        let (row, col) = ((c / cols) as isize, (c % cols) as isize);
        let here = run.cost(c);
        let mut best: Option<(f64, usize)> = None;
        for &(dr, dc, diag) in neighbours() {
            let (nr, nc) = (row + dr, col + dc);
            if nr < 0 || nc < 0 || nr >= rows as isize || nc >= cols as isize {
                continue;
            }
            let p = nr as usize * cols + nc as usize;
            let cp = run.cost(p);
            if !(cp.is_finite() && cp < here && r[p].is_finite()) {
                continue;
            }
            if diag && !corner_cutting && corner_blocked(r, cols, (row, col), (nr, nc)) {
                continue;
            }
            let via = cp + step_cost(cs, diag, r[p], r[c]);
            if best.is_none_or(|(v, q)| via < v || (via == v && p < q)) {
                best = Some((via, p));
            }
        }
        c = best?.1;
        path.push(c);
    }
    path.reverse();
    Some(path)
}

/// Edge-to-edge distance in cells between two sets of cells (squares): for cells offset by
/// (dr, dc) the gap is `sqrt(max(0, |dr| - 1)² + max(0, |dc| - 1)²)`. `b` must be in
/// row-major order (it is searched by row).
///
/// Exact integer squared gaps, one square root at the end (the same value as the least of the
/// square roots: a square root is monotone and correctly rounded), and `b`'s rows and columns
/// found once, not by a division per pair. Only rows of `b` within the best gap so far are
/// read. Measuring a plan and valuing connectors call it once per corridor measured again;
/// with a division and a square root per pair of border cells, `pair_corridor` (where it is
/// inlined, mostly this loop) was 6.4% of a whole run on the 3,000² synthetic plan, 3.3% now.
fn edge_to_edge(a: &[usize], b: &[usize], cols: usize) -> f64 {
    let gap = |x: i64| (x.abs() - 1).max(0);
    let at = |c: usize| ((c / cols) as i64, (c % cols) as i64);
    let b: Vec<(i64, i64)> = b.iter().map(|&c| at(c)).collect();
    let mut best = i64::MAX; // squared gap
    for &ca in a {
        let (ra, ka) = at(ca);
        // Rows whose gap alone is below the best: |dr| - 1 < sqrt(best).
        let span = if best == i64::MAX {
            i64::MAX / 4
        } else {
            (best as f64).sqrt() as i64 + 2
        };
        let lo = b.partition_point(|&(rb, _)| rb < ra - span);
        for &(rb, kb) in &b[lo..] {
            if rb > ra + span {
                break;
            }
            let (dy, dx) = (gap(ra - rb), gap(ka - kb));
            let d2 = dx * dx + dy * dy;
            if d2 < best {
                best = d2;
                if best == 0 {
                    return 0.0;
                }
            }
        }
    }
    if best == i64::MAX {
        f64::INFINITY
    } else {
        (best as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Crs;
    use crate::sources::Patch;
    use crate::testutil::XorShift;
    use proptest::prelude::*;

    fn grid(rows: usize, cols: usize) -> Grid {
        Grid::new(
            rows as u64,
            cols as u64,
            10.0,
            0.0,
            rows as f64 * 10.0,
            Crs::projected_epsg(4545),
        )
        .unwrap()
    }

    fn sources(ids: Vec<u32>) -> Sources {
        let mut present: Vec<u32> = ids.iter().copied().filter(|&i| i != 0).collect();
        present.sort_unstable();
        present.dedup();
        let patches = present
            .into_iter()
            .map(|id| Patch {
                id,
                cells: 0,
                area_ha: 0.0,
                core_area_ha: 0.0,
                perimeter_m: 0.0,
                centroid_x: 0.0,
                centroid_y: 0.0,
                mean_resistance: 0.0,
                carbon_stock_tc: 0.0,
                dominant_class: 0,
            })
            .collect();
        Sources { ids, patches }
    }

    fn opts(width: f64) -> CorridorOptions {
        CorridorOptions {
            cost: CostOptions::default(),
            width,
            pairs: PairRule::AllocationTouch,
            drop_crossing: false,
            keep_zone_cells: true,
        }
    }

    fn res(v: Vec<f32>) -> Resistance {
        Resistance::from_values(v).unwrap()
    }

    /// Resistances over three orders with 5% barriers, and `patches` small rectangular
    /// patches (ids 1..=patches, later ones over earlier ones).
    fn random_landscape(
        rnd: &mut XorShift,
        rows: usize,
        cols: usize,
        patches: u32,
    ) -> (Vec<f32>, Vec<u32>) {
        let n = rows * cols;
        let r: Vec<f32> = (0..n)
            .map(|_| match rnd.next() % 20 {
                0 => f32::INFINITY,
                1..=3 => 100.0 + (rnd.next() % 900) as f32,
                _ => 1.0 + (rnd.next() % 50) as f32,
            })
            .collect();
        let mut ids = vec![0u32; n];
        for p in 1..=patches {
            let (r0, c0) = ((rnd.next() as usize) % rows, (rnd.next() as usize) % cols);
            let (h, w) = (1 + (rnd.next() as usize) % 3, 1 + (rnd.next() as usize) % 3);
            for row in r0..(r0 + h).min(rows) {
                for col in c0..(c0 + w).min(cols) {
                    ids[row * cols + col] = p;
                }
            }
        }
        (r, ids)
    }

    #[test]
    fn a_strip_between_two_patches_has_the_hand_computed_corridor() {
        // Patches at both ends of a 1 x 6 strip, resistances 1 2 3 4 5 6, cells of 10 m.
        let g = grid(1, 6);
        let r = res(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let s = sources(vec![1, 0, 0, 0, 0, 2]);
        let net = build(&g, &r, &s, &opts(0.0)).unwrap();
        assert_eq!(net.corridors.len(), 1);
        let c = &net.corridors[0];
        // LCD = 10 * ((1+2) + (2+3) + (3+4) + (4+5) + (5+6)) / 2 = 175.
        assert!((c.lcd - 175.0).abs() < 1e-4, "{}", c.lcd);
        assert_eq!(c.path, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(c.path_length_m, 50.0);
        assert_eq!(c.euclid_m, 40.0);
        assert!(!c.crosses_patch);
        // Every cell of the strip is on the path: all six in the zone, NLCC 0.
        assert_eq!(net.nlcc.entries().count(), 6, "{:?}", net.nlcc);
        assert!(
            net.nlcc.entries().all(|(_, v)| v.abs() < 1e-3),
            "{:?}",
            net.nlcc
        );
        assert!(net.isolated.is_empty());
    }

    #[test]
    fn the_tiled_corridor_raster_equals_a_grid_lowered_the_same_way() {
        // A grid that is not a multiple of the tile size, lowered at scattered cells (several
        // times at some) in tile coordinates, against a dense grid lowered by cell index.
        let (rows, cols) = (70, 130);
        let mut tiled = TiledNlcc::new(rows, cols);
        let mut dense = vec![f32::INFINITY; rows * cols];
        let tiles_x = cols.div_ceil(TILE);
        let mut x = 12345u64;
        for _ in 0..3000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let cell = (x >> 33) as usize % (rows * cols);
            let v = ((x >> 20) % 1000) as f32 / 10.0;
            let (r, c) = (cell / cols, cell % cols);
            let (t, o) = (
                (r / TILE) * tiles_x + c / TILE,
                (r % TILE) * TILE + c % TILE,
            );
            let low = &mut tiled.tile_mut(t, f32::INFINITY)[o];
            *low = low.min(v);
            dense[cell] = dense[cell].min(v);
        }
        let sparse = tiled.into_sparse();
        assert_eq!(sparse, SparseF32::from_finite(&dense));
        assert!(sparse.held() > 2000);
    }

    #[test]
    fn a_full_barrier_leaves_both_patches_isolated() {
        let inf = f32::INFINITY;
        let g = grid(2, 5);
        let r = res(vec![1.0, 1.0, inf, 1.0, 1.0, 1.0, 1.0, inf, 1.0, 1.0]);
        let s = sources(vec![1, 0, 0, 0, 2, 0, 0, 0, 0, 0]);
        let net = build(&g, &r, &s, &opts(100.0)).unwrap();
        assert!(net.corridors.is_empty());
        assert_eq!(net.isolated, vec![1, 2]);
        assert_eq!(net.nlcc.entries().count(), 0);
        assert_eq!(net.nlcc.len(), 10);
    }

    #[test]
    fn a_path_through_a_third_patch_is_flagged_and_can_be_dropped() {
        let g = grid(1, 7);
        let r = res(vec![1.0; 7]);
        let s = sources(vec![1, 0, 0, 2, 0, 0, 3]);
        let mut o = opts(0.0);
        o.pairs = PairRule::WithinMaxCwd;
        o.cost.max_cwd = Some(1000.0);
        let net = build(&g, &r, &s, &o).unwrap();
        let pairs: Vec<(u32, u32, bool)> = net
            .corridors
            .iter()
            .map(|c| (c.from, c.to, c.crosses_patch))
            .collect();
        assert_eq!(pairs, vec![(1, 2, false), (1, 3, true), (2, 3, false)]);
        o.drop_crossing = true;
        let net = build(&g, &r, &s, &o).unwrap();
        assert_eq!(net.corridors.len(), 2);
        // With allocation adjacency, 1 and 3 never touch.
        let net = build(&g, &r, &s, &opts(0.0)).unwrap();
        assert_eq!(
            net.corridors
                .iter()
                .map(|c| (c.from, c.to))
                .collect::<Vec<_>>(),
            vec![(1, 2), (2, 3)]
        );
    }

    #[test]
    fn within_max_cwd_needs_a_cut_off() {
        let mut o = opts(0.0);
        o.pairs = PairRule::WithinMaxCwd;
        let err = build(&grid(1, 2), &res(vec![1.0, 1.0]), &sources(vec![1, 2]), &o).unwrap_err();
        assert!(err.to_string().contains("needs max_cwd"));
    }

    /// Bellman-Ford cost from a set of cells.
    fn brute(rows: usize, cols: usize, cs: f64, r: &[f32], from: &[usize]) -> Vec<f64> {
        let mut d = vec![f64::INFINITY; rows * cols];
        for &c in from {
            if r[c].is_finite() {
                d[c] = 0.0;
            }
        }
        loop {
            let mut changed = false;
            for c in 0..rows * cols {
                if !d[c].is_finite() {
                    continue;
                }
                let (row, col) = ((c / cols) as isize, (c % cols) as isize);
                for &(dr, dc, diag) in neighbours() {
                    let (nr, nc) = (row + dr, col + dc);
                    if nr < 0 || nc < 0 || nr >= rows as isize || nc >= cols as isize {
                        continue;
                    }
                    let p = nr as usize * cols + nc as usize;
                    if !r[p].is_finite() {
                        continue;
                    }
                    let nd = d[c] + step_cost(cs, diag, r[c], r[p]);
                    if nd < d[p] - 1e-9 * nd {
                        d[p] = nd;
                        changed = true;
                    }
                }
            }
            if !changed {
                return d;
            }
        }
    }

    proptest! {
        /// The edge-to-edge gap equals its definition: the least over every pair of cells,
        /// whatever the sets' shapes (scattered cells, shared rows, sets that touch or
        /// overlap, an empty set).
        #[test]
        fn edge_to_edge_is_the_least_gap_over_all_pairs(
            cols in 1usize..60,
            a in proptest::collection::btree_set(0usize..3000, 0..40),
            b in proptest::collection::btree_set(0usize..3000, 0..40),
        ) {
            let (a, b): (Vec<usize>, Vec<usize>) = (a.into_iter().collect(), b.into_iter().collect());
            let gap = |x: i64| ((x.abs() - 1).max(0)) as f64;
            let want = a
                .iter()
                .flat_map(|&x| b.iter().map(move |&y| (x, y)))
                .map(|(x, y)| {
                    let dr = gap((x / cols) as i64 - (y / cols) as i64);
                    let dc = gap((x % cols) as i64 - (y % cols) as i64);
                    (dr * dr + dc * dc).sqrt()
                })
                .fold(f64::INFINITY, f64::min);
            prop_assert_eq!(edge_to_edge(&a, &b, cols).to_bits(), want.to_bits());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Pruning the per-patch runs (by the multi-source cost and by finished partner runs)
        /// changes nothing: the same
        /// corridors, paths, zone cells (with both cost distances) and corridor raster, on
        /// landscapes with many patches, barriers and resistances over three orders.
        #[test]
        fn pruned_runs_give_the_same_corridors(
            seed in 0u64..u64::MAX,
            rows in 8usize..40,
            cols in 8usize..40,
            patches in 2u32..12,
            width in prop_oneof![Just(0.0), 1.0f64..5000.0],
            corner_cutting: bool,
        ) {
            let mut rnd = XorShift::new(seed);
            let (r, ids) = random_landscape(&mut rnd, rows, cols, patches);
            let g = grid(rows, cols);
            let s = sources(ids);
            let mut o = opts(width);
            o.cost.corner_cutting = corner_cutting;
            let full = build_with(&g, &res(r.clone()), &s, &o, false).unwrap();
            // One worker: every pair's later run is bounded by its partner's costs (tight)
            // and its earlier one by the partner's run grown halfway; more: a mix, as runs
            // finish (partners running at the same time stay loose).
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let pruned = pool.install(|| build(&g, &res(r.clone()), &s, &o)).unwrap();
                prop_assert_eq!(&pruned, &full, "{} threads", threads);
            }
        }

        /// Measuring pairs again with bounds of their LCDs (the pruned runs of
        /// [`remeasure`], some pairs met halfway from their far end, some not) gives what the
        /// unpruned corridor stage gives them, bit for bit: LCD, path, lengths, crossing.
        #[test]
        fn remeasured_pairs_equal_the_unpruned_corridors(
            seed in 0u64..u64::MAX,
            rows in 8usize..40,
            cols in 8usize..40,
            patches in 2u32..12,
            corner_cutting: bool,
        ) {
            let mut rnd = XorShift::new(seed);
            let (r, ids) = random_landscape(&mut rnd, rows, cols, patches);
            let g = grid(rows, cols);
            let s = sources(ids);
            let mut o = opts(0.0);
            o.cost.corner_cutting = corner_cutting;
            o.keep_zone_cells = false;
            let full = build_with(&g, &res(r.clone()), &s, &o, false).unwrap();
            prop_assume!(!full.corridors.is_empty());
            // Bounds: the LCD itself (the tightest true bound), a little or much above it,
            // or none.
            let pairs: Vec<PairBound> = full
                .corridors
                .iter()
                .map(|c| PairBound {
                    from: c.from,
                    to: c.to,
                    bound: match rnd.next() % 5 {
                        0 => c.lcd,
                        1 => c.lcd * 1.01,
                        2 => c.lcd * 2.0,
                        3 => c.lcd * 6.0,
                        _ => f64::INFINITY,
                    },
                })
                .collect();
            let again = remeasure(&g, &res(r.clone()), &s, &pairs, &o).unwrap();
            for (want, got) in full.corridors.iter().zip(&again) {
                let got = got.as_ref().expect("a pair within its bound is found");
                prop_assert_eq!(got.lcd, want.lcd, "pair {}-{}", want.from, want.to);
                prop_assert_eq!(&got.path, &want.path);
                prop_assert_eq!(got.path_length_m, want.path_length_m);
                prop_assert_eq!(got.euclid_m, want.euclid_m);
                prop_assert_eq!(got.crosses_patch, want.crosses_patch);
            }
            // Without the ratios: the same LCDs and paths; and the LCDs alone.
            let paths = remeasure_paths(&g, &res(r.clone()), &s, &pairs, &o).unwrap();
            let cells = PatchCells::new(&g, &s);
            let lcds = remeasure_lcds_with(&g, &res(r.clone()), &cells, &pairs, &o).unwrap();
            for ((want, got), lcd) in again.iter().zip(&paths).zip(&lcds) {
                let (want, got) = (want.as_ref().unwrap(), got.as_ref().expect("the same pairs"));
                prop_assert_eq!(got.lcd.to_bits(), want.lcd.to_bits());
                prop_assert_eq!(&got.path, &want.path);
                prop_assert_eq!(got.crosses_patch, want.crosses_patch);
                prop_assert_eq!(lcd.map(f64::to_bits), Some(want.lcd.to_bits()));
            }
        }

        #[test]
        fn corridors_agree_with_brute_force(
            cells in proptest::collection::vec(prop_oneof![9 => 0.5f32..30.0, 1 => Just(f32::INFINITY)], 4..=100),
            cols in 2usize..11,
            patch_of in proptest::collection::vec(prop_oneof![6 => Just(0u32), 1 => 1u32..5], 100),
        ) {
            let rows = cells.len() / cols;
            prop_assume!(rows >= 1);
            let n = rows * cols;
            let r: Vec<f32> = cells[..n].to_vec();
            let ids: Vec<u32> = patch_of[..n].to_vec();
            let g = grid(rows, cols);
            let s = sources(ids.clone());
            let net = build(&g, &res(r.clone()), &s, &opts(50.0)).unwrap();
            for c in &net.corridors {
                let from: Vec<usize> = (0..n).filter(|&i| ids[i] == c.from).collect();
                let to: Vec<usize> = (0..n).filter(|&i| ids[i] == c.to).collect();
                let d = brute(rows, cols, 10.0, &r, &from);
                let want = to.iter().map(|&i| d[i]).fold(f64::INFINITY, f64::min);
                prop_assert!((c.lcd - want).abs() <= 1e-5 * want.max(1.0), "LCD {} vs brute force {}", c.lcd, want);
                // Symmetric: from the other side.
                let back = brute(rows, cols, 10.0, &r, &to);
                let want_back = from.iter().map(|&i| back[i]).fold(f64::INFINITY, f64::min);
                prop_assert!((want - want_back).abs() <= 1e-9 * want.max(1.0));
                // The path runs from `from` to `to` through neighbours, and costs the LCD.
                prop_assert_eq!(ids[c.path[0]], c.from);
                prop_assert_eq!(ids[*c.path.last().unwrap()], c.to);
                let mut sum = 0.0;
                for w in c.path.windows(2) {
                    let (ra, ca, rb, cb) = ((w[0] / cols) as i64, (w[0] % cols) as i64, (w[1] / cols) as i64, (w[1] % cols) as i64);
                    prop_assert!((ra - rb).abs() <= 1 && (ca - cb).abs() <= 1 && w[0] != w[1]);
                    sum += step_cost(10.0, ra != rb && ca != cb, r[w[0]], r[w[1]]);
                }
                prop_assert!((sum - c.lcd).abs() <= 1e-4 * c.lcd.max(1.0), "path sums to {} but LCD is {}", sum, c.lcd);
                // Every cell of the path lies in the corridor, at NLCC ~ 0.
                for &p in &c.path {
                    prop_assert!(net.nlcc.get(p) <= 1e-3 * c.lcd.max(1.0) as f32, "path cell {} has NLCC {}", p, net.nlcc.get(p));
                }
            }
            prop_assert!(net.nlcc.entries().all(|(_, v)| (0.0..=50.0).contains(&v)));
        }
    }
}
