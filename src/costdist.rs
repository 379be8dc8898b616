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
//! Costs accumulate in `f64` (exact path sums; results are rounded to `f32` once, at the end).
//! The heap holds 8-byte keys, the cost rounded to `f32` and the cell index: a total order, so
//! ties resolve the same way on every run.
//!
//! Whole-grid runs ([`accumulate_cost`]) of at least 500,000 cells use every thread of the
//! pool: the grid is cut into strips of rows (4 per thread, taken round-robin), one Dijkstra
//! each, moves across a strip border sent to its owner once per round (`strips`); the result
//! is the one-thread run's bit for bit (its unique fixed point).
//!
//! # Memory
//! 12 bytes per cell (cost `f64` + allocation `u32`) plus 8 bytes per heap entry; the heap
//! holds about the frontier (a few cells per unit of front length), not the grid. The result
//! is returned as `f32` costs (4 bytes per cell).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::surface::Resistance;

mod strips;

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

/// A heap key: the cost rounded to `f32` in the high 32 bits, the cell in the low 32 bits.
/// Costs are >= 0, so the bits of the `f32` order like its value and keys order by (cost,
/// cell): a total order, so ties resolve the same way on every run. Rounding to `f32` is
/// monotone, so the pop order is exact up to costs equal in `f32`; the exact `f64` costs live
/// in the store.
fn key(cost: f64, cell: usize) -> u64 {
    debug_assert!(cost >= 0.0);
    ((cost as f32).to_bits() as u64) << 32 | cell as u64
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
    accumulate_cost_in(
        rows,
        cols,
        cell_size_m,
        res,
        seeds,
        opts,
        split_for(rows, cols),
    )
}

/// Strips and threads of a whole-grid run on this many cells with rayon's threads.
fn split_for(rows: usize, cols: usize) -> (usize, usize) {
    let threads = rayon::current_num_threads().max(1);
    if threads > 1 && rows * cols >= MIN_CELLS_PER_THREAD * 2 {
        let strips = (threads * STRIPS_PER_THREAD).min(rows / MIN_ROWS_PER_STRIP);
        (strips.max(1), threads)
    } else {
        (1, 1)
    }
}

/// Strips per thread: several spread each thread's work over the grid. 4,000² benchmark, 2
/// threads, one run each of 1, 4, 8 and 16 strips per thread, twice: a source in the centre
/// 2.53-2.74, 1.42-2.61, 1.46-2.62, 1.93-1.99 s; near a corner 2.19-2.51, 1.66-1.91,
/// 1.90-2.38, 1.64-2.81 s.
const STRIPS_PER_THREAD: usize = 4;

/// Grids below this many cells per thread run on one thread (the rounds' barriers would cost
/// more than they save).
const MIN_CELLS_PER_THREAD: usize = 250_000;

/// Fewest rows of a strip (a thinner strip sends most of its moves across its borders).
const MIN_ROWS_PER_STRIP: usize = 64;

/// [`accumulate_cost`] on `(strips, threads)`: strips of rows shared by threads (`(1, 1)`:
/// the serial run; the result is the same bit for bit, see `strips`). Runs whose resistances
/// span more than the bucket queue takes use the heap on one thread.
pub(crate) fn accumulate_cost_in(
    rows: usize,
    cols: usize,
    cell_size_m: f64,
    res: &Resistance,
    seeds: impl IntoIterator<Item = (usize, u32)>,
    opts: &CostOptions,
    split: (usize, usize),
) -> CostSurface {
    let shape = Shape {
        rows,
        cols,
        cell_size_m,
    };
    let mut alloc = vec![0u32; rows * cols];
    let cost = costs_as_f32(rows * cols, |cost| {
        full_run(shape, res, seeds, opts, split, (cost, &mut alloc[..]))
    });
    CostSurface { cost, alloc }
}

/// [`accumulate_cost`]'s costs without the allocation, for callers that need no source ids
/// (walking times to the nearest park): 8 bytes per cell at the peak, 4 returned.
pub fn accumulate_cost_only(
    rows: usize,
    cols: usize,
    cell_size_m: f64,
    res: &Resistance,
    seeds: impl IntoIterator<Item = (usize, u32)>,
    opts: &CostOptions,
) -> Vec<f32> {
    let shape = Shape {
        rows,
        cols,
        cell_size_m,
    };
    costs_as_f32(rows * cols, |cost| {
        full_run(
            shape,
            res,
            seeds,
            opts,
            split_for(rows, cols),
            (cost, NoLabels),
        )
    })
}

/// The `f64` costs of `run` (given `n` cells at `+∞`) as `f32`, in the run's own memory: 8
/// bytes per cell at the peak, 4 returned. The `f32` values are written over the buffer's
/// front half (cell `i` is read before anything is written past byte `4 i + 4`) and the rest
/// is given back.
fn costs_as_f32(n: usize, run: impl FnOnce(&mut [f64])) -> Vec<f32> {
    // Pairs of f32 (alignment 4, so that the buffer can become a `Vec<f32>`), read as f64.
    let mut buf: Vec<[f32; 2]> = vec![bytemuck::cast(f64::INFINITY); n];
    match bytemuck::try_cast_slice_mut::<[f32; 2], f64>(&mut buf) {
        Ok(cost) => run(cost),
        // A buffer not aligned for f64 (the system allocator gives 16 bytes): the run on
        // its own array, copied in.
        Err(_) => {
            let mut cost = vec![f64::INFINITY; n];
            run(&mut cost);
            for (b, c) in buf.iter_mut().zip(cost) {
                *b = bytemuck::cast(c);
            }
        }
    }
    let mut flat: Vec<f32> = bytemuck::allocation::cast_vec(buf);
    for i in 0..n {
        let c: f64 = bytemuck::cast([flat[2 * i], flat[2 * i + 1]]);
        flat[i] = c as f32;
    }
    flat.truncate(n);
    flat.shrink_to_fit();
    flat
}

/// The whole-grid run behind [`accumulate_cost_in`] and [`accumulate_cost_only`], in `f64`, into
/// `cost` (`+∞` everywhere) and `alloc` (zeros, or [`NoLabels`]).
fn full_run<L: Labels>(
    shape: Shape,
    res: &Resistance,
    seeds: impl IntoIterator<Item = (usize, u32)>,
    opts: &CostOptions,
    (strips, threads): (usize, usize),
    (cost, alloc): (&mut [f64], L),
) {
    let limit = opts.max_cwd.unwrap_or(f64::INFINITY);
    match bucket_queue_size(res, shape.cell_size_m) {
        Some(queue) if strips > 1 && strips <= shape.rows => strips::run(
            shape,
            res.values(),
            seeds,
            limit,
            opts.corner_cutting,
            (cost, alloc),
            queue,
            (strips, threads),
        ),
        _ => dijkstra(
            shape,
            res,
            seeds,
            limit,
            &NoPrune,
            opts.corner_cutting,
            &mut FullStore {
                cost,
                alloc,
                cols: shape.cols,
            },
        ),
    }
}

/// Division by a fixed `usize` divisor by one multiplication: `ceil(2^64 / d)` times the
/// dividend, high 64 bits; exact for dividends below 2^32 (Lemire, Kaser & Kurz 2019,
/// "Faster remainder by direct computation"). `u128` so that `d = 1` (2^64) fits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastDiv {
    d: usize,
    magic: u128,
}

impl FastDiv {
    /// Divisor `d` > 0.
    pub fn new(d: usize) -> FastDiv {
        assert!(d > 0);
        FastDiv {
            d,
            magic: u64::MAX as u128 / d as u128 + 1,
        }
    }
    /// `(x / d, x % d)` for `x < 2^32`.
    #[inline]
    pub fn div_rem(&self, x: usize) -> (usize, usize) {
        debug_assert!(x <= u32::MAX as usize);
        let q = ((self.magic * x as u128) >> 64) as usize;
        (q, x - q * self.d)
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

/// Where a Dijkstra run keeps its exact costs (and allocation).
pub(crate) trait CostStore {
    /// Cost of a cell (`+∞` if not reached).
    fn cost(&self, cell: usize) -> f64;
    /// Allocation of a cell.
    fn alloc(&self, cell: usize) -> u32;
    /// Sets both.
    fn set(&mut self, cell: usize, cost: f64, alloc: u32);
    /// [`CostStore::cost`] of the cell at `(row, col)`, for stores laid out by row and column.
    #[inline]
    fn cost_at(&self, cell: usize, _row: usize, _col: usize) -> f64 {
        self.cost(cell)
    }
    /// Asks the CPU to load the memory of the cell at `(row, col)` and its neighbours ahead
    /// of use (a hint: no effect on results).
    #[inline]
    fn prefetch(&self, _cell: usize, _row: usize, _col: usize) {}
    /// Whether a run on this store asks for both ends of each row of the resistance around
    /// the next cell (whole-grid runs, where those rows are rarely cached) or only its column
    /// (runs bounded to a neighbourhood, where the extra hints cost more than they save).
    const WIDE_PREFETCH: bool = false;
    /// [`CostStore::set`] of the cell at `(row, col)`.
    #[inline]
    fn set_at(&mut self, cell: usize, _row: usize, _col: usize, cost: f64, alloc: u32) {
        self.set(cell, cost, alloc)
    }
}

/// Where a whole-grid run keeps its allocation (the source id per cell): a slice of the
/// grid's ids, or [`NoLabels`] for a run of costs only, where every id reads 0 (ties are
/// then never broken by id, and the costs are the same: they do not depend on the ids).
pub(crate) trait Labels: Send + Sized {
    fn get(&self, i: usize) -> u32;
    fn set(&mut self, i: usize, id: u32);
    /// A prefetch hint for entry `i`.
    fn prefetch(&self, i: usize);
    /// The entries before `mid` and from `mid` on.
    fn split_at(self, mid: usize) -> (Self, Self);
}

impl Labels for &mut [u32] {
    #[inline]
    fn get(&self, i: usize) -> u32 {
        self[i]
    }
    #[inline]
    fn set(&mut self, i: usize, id: u32) {
        self[i] = id;
    }
    #[inline]
    fn prefetch(&self, i: usize) {
        prefetch(self, i);
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        self.split_at_mut(mid)
    }
}

/// No allocation kept (a run of costs only).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoLabels;

impl Labels for NoLabels {
    #[inline]
    fn get(&self, _i: usize) -> u32 {
        0
    }
    #[inline]
    fn set(&mut self, _i: usize, _id: u32) {}
    #[inline]
    fn prefetch(&self, _i: usize) {}
    fn split_at(self, _mid: usize) -> (Self, Self) {
        (NoLabels, NoLabels)
    }
}

/// Whole-grid arrays (multi-source runs): 12 bytes per cell, 8 without the allocation.
struct FullStore<'a, L> {
    cost: &'a mut [f64],
    alloc: L,
    cols: usize,
}

impl<L: Labels> CostStore for FullStore<'_, L> {
    const WIDE_PREFETCH: bool = true;
    #[inline]
    fn prefetch(&self, cell: usize, _row: usize, _col: usize) {
        self.alloc.prefetch(cell);
        prefetch_window(self.cost, cell, self.cols);
    }
    fn cost(&self, cell: usize) -> f64 {
        self.cost[cell]
    }
    fn alloc(&self, cell: usize) -> u32 {
        self.alloc.get(cell)
    }
    fn set(&mut self, cell: usize, cost: f64, alloc: u32) {
        self.cost[cell] = cost;
        self.alloc.set(cell, alloc);
    }
}

/// A priority queue for the Dijkstra core. `pop` returns a tag with the cell; `is_stale`
/// tells from the tag and the cell's current cost whether a better entry was pushed since.
trait Queue {
    fn push(&mut self, cost: f64, cell: usize);
    fn pop(&mut self) -> Option<(u64, usize)>;
    fn is_stale(&self, tag: u64, current: f64) -> bool;
    /// The cell `pop` would return next, if cheaply known (for prefetching its memory).
    fn peek(&self) -> Option<usize>;
    /// Whether every entry costs more than `until`: then every cell of cost `<= until` is
    /// settled (for runs that stop there and go on later, see [`Resumable`]).
    fn beyond(&mut self, until: f64) -> bool;
}

/// Binary heap of 8-byte keys (see [`key`]).
struct HeapQueue(BinaryHeap<Reverse<u64>>);

impl Queue for HeapQueue {
    fn push(&mut self, cost: f64, cell: usize) {
        self.0.push(Reverse(key(cost, cell)));
    }
    fn pop(&mut self) -> Option<(u64, usize)> {
        self.0
            .pop()
            .map(|Reverse(k)| (k >> 32, (k & 0xFFFF_FFFF) as usize))
    }
    fn is_stale(&self, tag: u64, current: f64) -> bool {
        ((current as f32).to_bits() as u64) < tag
    }
    fn peek(&self) -> Option<usize> {
        self.0.peek().map(|Reverse(k)| (k & 0xFFFF_FFFF) as usize)
    }
    fn beyond(&mut self, until: f64) -> bool {
        // Rounding to f32 is monotone: a cost <= until has a key <= until's.
        self.0
            .peek()
            .is_none_or(|Reverse(k)| k >> 32 > (until as f32).to_bits() as u64)
    }
}

/// Dial's bucket queue with buckets of width `delta` no larger than the cheapest move: no
/// cell of the current bucket can improve another one, so processing a bucket in any order
/// is exact (Dial 1969; the width bound is the one of Δ-stepping). Buckets form a ring longer
/// than the costliest move, so a push never wraps onto an unprocessed bucket.
struct BucketQueue {
    /// `1 / delta`: a multiplication instead of a division per push (monotone in the cost,
    /// which is all the bucket order needs; the width stays under the cheapest move).
    inv_delta: f64,
    /// A power of two, so the ring index is a mask.
    ring: Vec<Vec<u32>>,
    mask: u64,
    current: u64,
    len: usize,
    /// Cells whose cost rounded into an already processed bucket: expanded next, never stale.
    redo: Vec<u32>,
}

impl BucketQueue {
    fn new(delta: f64, buckets: usize) -> BucketQueue {
        let n = buckets.next_power_of_two();
        BucketQueue {
            inv_delta: 1.0 / delta,
            ring: (0..n).map(|_| Vec::new()).collect(),
            mask: n as u64 - 1,
            current: 0,
            len: 0,
            redo: Vec::new(),
        }
    }
    fn bucket(&self, cost: f64) -> u64 {
        (cost * self.inv_delta) as u64
    }
}

impl Queue for BucketQueue {
    fn push(&mut self, cost: f64, cell: usize) {
        let b = self.bucket(cost);
        if self.len == 0 && self.redo.is_empty() {
            // An empty queue may be handed a cell far past where it stopped (a strip of a
            // parallel run that the front reaches late): the ring spans `mask + 1` buckets
            // from `current`, so start from the cell.
            self.current = self.current.max(b);
        }
        debug_assert!(
            b < self.current + self.mask + 1,
            "bucket {b} beyond the ring from {}",
            self.current
        );
        if b < self.current {
            // Only through rounding at a bucket edge: expand it right away.
            self.redo.push(cell as u32);
            return;
        }
        self.ring[(b & self.mask) as usize].push(cell as u32);
        self.len += 1;
    }
    fn pop(&mut self) -> Option<(u64, usize)> {
        if let Some(c) = self.redo.pop() {
            return Some((0, c as usize));
        }
        if self.len == 0 {
            return None;
        }
        loop {
            if let Some(c) = self.ring[(self.current & self.mask) as usize].pop() {
                self.len -= 1;
                return Some((self.current, c as usize));
            }
            self.current += 1;
        }
    }
    fn is_stale(&self, tag: u64, current: f64) -> bool {
        self.bucket(current) < tag
    }
    fn peek(&self) -> Option<usize> {
        self.redo
            .last()
            .or_else(|| self.ring[(self.current & self.mask) as usize].last())
            .map(|&c| c as usize)
    }
    fn beyond(&mut self, until: f64) -> bool {
        if !self.redo.is_empty() {
            return false;
        }
        if self.len == 0 {
            return true;
        }
        while self.ring[(self.current & self.mask) as usize].is_empty() {
            self.current += 1;
        }
        // The bucket of a cost is monotone in it: a cost <= until is in a bucket <= until's.
        self.current > self.bucket(until)
    }
}

/// Most buckets a [`BucketQueue`] may use before the heap is the better choice.
const MAX_BUCKETS: f64 = 65_536.0;

/// Which cells a bounded [`dijkstra`] run may enter: the A*-style pruning of runs that need
/// exact costs only in some region (corridor zones).
///
/// A caller that needs the exact cost of the cells of a set Z must admit every cell of Z at
/// its least cost and every cell on a least-cost path from the seeds to a cell of Z. With
/// `admits(c, d) = d + h(c) <= L`, `h(c)` a lower bound of the cost from `c` to wherever the
/// caller's paths end (an admissible heuristic) and Z the cells on paths of cost `<= L`, every
/// cell before a cell of Z on its least-cost path passes too.
pub(crate) trait Prune {
    /// Whether cell `c`, at `(row, col)`, may be entered at cost `d`.
    fn admits(&self, c: usize, row: usize, col: usize, d: f64) -> bool;
    /// Asks the CPU for the memory `admits` will read for the neighbours of the cell at
    /// `(row, col)` (a hint: no effect on results).
    #[inline]
    fn prefetch(&self, _c: usize, _row: usize, _col: usize) {}
}

/// Admits every cell (plain Dijkstra up to the limit).
pub(crate) struct NoPrune;

impl Prune for NoPrune {
    #[inline(always)]
    fn admits(&self, _c: usize, _row: usize, _col: usize, _d: f64) -> bool {
        true
    }
}

/// The Dijkstra core shared by whole-grid and per-source runs: expands from `seeds` through
/// passable cells, leaving cells beyond `limit` unreached.
///
/// Uses Dial's bucket queue when the resistance range is moderate (costliest move / cheapest
/// move ≤ 65,536: ~3,000 for the usual 1-1,000 scales), otherwise a binary heap.
/// Label-correcting: a cell whose cost improves after it was expanded (possible only through
/// `f32` ties in the heap or rounding at a bucket edge) is expanded again, so the stored costs
/// are the exact least costs.
///
/// Each pop asks the CPU for the memory of the cell the queue will return next (its rows of
/// resistance and cost), which arrives while the current cell is expanded: the cells of one
/// cost band are scattered along the front, so most of a pop's time was waiting for memory.
/// Whole-grid stores ask for both ends of each of the three rows of cost and resistance and
/// for the allocation (a row of three `f64` straddles two cache lines one time in four, and
/// the allocation load had been 15% of the run by perf): 4,000² single source, one thread,
/// alternating 4 times, 2.36 -> 1.78 s mean (two threads 1.16 -> 1.02 s). Runs bounded to a
/// neighbourhood keep one hint per row: there the wider hints measured no gain.
///
/// `prune` decides whether a cell may be entered at a cost (beyond `limit` none is): a
/// run keeps the exact least cost of every cell whose least-cost path `prune` admits cell by
/// cell; other cells may be left unreached or keep a cost above their least one. See
/// [`Prune`] for the condition that makes this the set of cells a caller needs.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dijkstra<S: CostStore, P: Prune>(
    shape: Shape,
    res: &Resistance,
    seeds: impl IntoIterator<Item = (usize, u32)>,
    limit: f64,
    prune: &P,
    corner_cutting: bool,
    store: &mut S,
) {
    Resumable::new(res, shape.cell_size_m).advance(
        shape,
        res,
        seeds,
        (limit, f64::INFINITY),
        prune,
        corner_cutting,
        store,
    );
}

/// A [`dijkstra`] run that can stop once every cell up to a cost is settled and go on later
/// from where it stopped, with the same store and another [`Prune`] (the corridor stage's
/// per-patch runs, grown first to a radius their pair partners need and finished later).
///
/// Going on with another prune keeps the guarantee of [`dijkstra`] for the cells whose
/// least-cost path each phase's prune admitted at the time it was asked: cells settled in an
/// earlier phase keep their exact costs, and cells waiting in the queue are expanded later.
pub(crate) struct Resumable {
    queue: RunQueue,
}

/// The queue a [`Resumable`] keeps between its phases.
enum RunQueue {
    Bucket(BucketQueue),
    Heap(HeapQueue),
}

impl Resumable {
    /// An empty run on this surface (Dial's buckets when the resistances allow, see
    /// [`dijkstra`]).
    pub fn new(res: &Resistance, cell_size_m: f64) -> Resumable {
        let queue = match bucket_queue_size(res, cell_size_m) {
            Some((delta, n)) => RunQueue::Bucket(BucketQueue::new(delta, n)),
            None => RunQueue::Heap(HeapQueue(BinaryHeap::new())),
        };
        Resumable { queue }
    }

    /// Seeds the run with `seeds` (give them once, on the first call) and expands cells in
    /// cost order until every cell of cost `<= until` is settled (`+∞`: until the queue is
    /// empty), leaving cells beyond `limit` unreached; see [`dijkstra`] for `prune`.
    #[allow(clippy::too_many_arguments)]
    pub fn advance<S: CostStore, P: Prune>(
        &mut self,
        shape: Shape,
        res: &Resistance,
        seeds: impl IntoIterator<Item = (usize, u32)>,
        (limit, until): (f64, f64),
        prune: &P,
        corner_cutting: bool,
        store: &mut S,
    ) {
        let r = res.values();
        let bounds = (limit, until);
        match &mut self.queue {
            RunQueue::Bucket(q) => run(shape, r, seeds, bounds, prune, corner_cutting, store, q),
            RunQueue::Heap(q) => run(shape, r, seeds, bounds, prune, corner_cutting, store, q),
        }
    }
}

/// The bucket width and count of Dial's queue for this surface, None when the resistances
/// span too much for it (the heap is used).
fn bucket_queue_size(res: &Resistance, cell_size_m: f64) -> Option<(f64, usize)> {
    let (rmin, rmax) = (res.range().0 as f64, res.range().1 as f64);
    let ratio = std::f64::consts::SQRT_2 * rmax / rmin;
    (rmin.is_finite() && ratio + 2.0 <= MAX_BUCKETS).then(|| {
        // Slightly under the cheapest move, so rounding never puts a successor in the same
        // bucket as its predecessor.
        (cell_size_m * rmin * (1.0 - 1e-9), ratio.ceil() as usize + 2)
    })
}

#[allow(clippy::too_many_arguments)]
fn run<S: CostStore, Q: Queue, P: Prune>(
    shape: Shape,
    r: &[f32],
    seeds: impl IntoIterator<Item = (usize, u32)>,
    (limit, until): (f64, f64),
    prune: &P,
    corner_cutting: bool,
    store: &mut S,
    queue: &mut Q,
) {
    let Shape {
        rows,
        cols,
        cell_size_m,
    } = shape;
    assert_eq!(r.len(), rows * cols, "resistance does not match the grid");
    // Seeds are set first and queued after, and only those with a passable neighbour that is
    // not a seed: expanding a seed whose passable neighbours are all seeds (cost 0) changes
    // nothing, since every move costs more than 0 (resistance > 0). Most cells of a large
    // patch are such: a run from a patch then expands its rim, not its interior. The stored
    // costs are the same; 4 bytes per new seed while they are sorted out.
    let mut seeded: Vec<u32> = Vec::new();
    for (cell, id) in seeds {
        if !r[cell].is_finite() {
            continue;
        }
        if store.cost(cell) > 0.0 {
            store.set(cell, 0.0, id);
            seeded.push(cell as u32);
        } else if store.alloc(cell) > id {
            // A cell seeded by two sources goes to the smaller id, whatever the seed order.
            store.set(cell, 0.0, id);
        }
    }
    for &cell in &seeded {
        if on_rim(r, (rows, cols), cell as usize, |nb| store.cost(nb)) {
            queue.push(0.0, cell as usize);
        }
    }
    drop(seeded);
    let step_len = [cell_size_m, cell_size_m * std::f64::consts::SQRT_2];
    let icols = cols as isize;
    // Neighbour offsets in the flat array, matching NEIGHBOURS.
    let offsets: [isize; 8] = NEIGHBOURS.map(|(dr, dc, _)| dr * icols + dc);
    let by_cols = FastDiv::new(cols.max(1));
    loop {
        if until < f64::INFINITY && queue.beyond(until) {
            break;
        }
        let Some((tag, c)) = queue.pop() else {
            break;
        };
        // The cells a pop touches are scattered along the front: ask for the next one's
        // rows now, so they arrive while this one is expanded.
        if let Some(next) = queue.peek() {
            let (nr, nc) = by_cols.div_rem(next);
            store.prefetch(next, nr, nc);
            prune.prefetch(next, nr, nc);
            if S::WIDE_PREFETCH {
                prefetch_window(r, next, cols);
            } else {
                prefetch(r, next.wrapping_sub(cols));
                prefetch(r, next);
                prefetch(r, next + cols);
            }
        }
        let (row, col) = by_cols.div_rem(c);
        let d = store.cost_at(c, row, col);
        if queue.is_stale(tag, d) {
            continue; // the cell was reached more cheaply since
        }
        let interior = row > 0 && col > 0 && row + 1 < rows && col + 1 < cols;
        let rc = r[c] as f64;
        let id = store.alloc(c);
        for (n, &(dr, dc, is_diag)) in NEIGHBOURS.iter().enumerate() {
            // Off the grid, -1 wraps to usize::MAX: one comparison per side.
            let (nr, nc) = (row.wrapping_add(dr as usize), col.wrapping_add(dc as usize));
            if !interior && (nr >= rows || nc >= cols) {
                continue;
            }
            let nb = (c as isize + offsets[n]) as usize;
            let rn = r[nb];
            if !rn.is_finite() {
                continue;
            }
            if is_diag
                && !corner_cutting
                && (!r[(c as isize + dc) as usize].is_finite()
                    || !r[(c as isize + dr * icols) as usize].is_finite())
            {
                continue;
            }
            let nd = d + step_len[is_diag as usize] * (rc + rn as f64) * 0.5;
            if nd > limit {
                continue;
            }
            // The cheap test first: most neighbours of a popped cell are already settled at
            // a lower cost, and the pruning test may read other runs' costs.
            let old = store.cost_at(nb, nr, nc);
            if !(nd < old || (nd == old && id < store.alloc(nb))) {
                continue;
            }
            if prune.admits(nb, nr, nc, nd) {
                store.set_at(nb, nr, nc, nd, id);
                queue.push(nd, nb);
            }
        }
    }
}

/// Whether a seed has a passable neighbour that is not a seed (cost not 0): only such seeds
/// are queued, since expanding one whose passable neighbours are all seeds changes nothing
/// (every move costs more than 0).
#[inline]
pub(crate) fn on_rim(
    r: &[f32],
    (rows, cols): (usize, usize),
    cell: usize,
    cost: impl Fn(usize) -> f64,
) -> bool {
    let (row, col) = (cell / cols, cell % cols);
    NEIGHBOURS.iter().any(|&(dr, dc, _)| {
        let (nr, nc) = (row.wrapping_add(dr as usize), col.wrapping_add(dc as usize));
        if nr >= rows || nc >= cols {
            return false;
        }
        let nb = nr * cols + nc;
        r[nb].is_finite() && cost(nb) != 0.0
    })
}

/// A prefetch hint for `v[i]` (out-of-range indices are fine: a hint never faults).
#[inline(always)]
pub(crate) fn prefetch<T>(v: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = v.as_ptr().wrapping_add(i) as *const i8;
        // SAFETY: a prefetch reads nothing architecturally and cannot fault, whatever the
        // address.
        unsafe { std::arch::x86_64::_mm_prefetch(p, std::arch::x86_64::_MM_HINT_T0) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, i);
}

/// Prefetch hints for the 3 × 3 window of `v` around `cell` (row-major, `cols` wide): the
/// two ends of each of its three rows, so a row that straddles two cache lines asks for both.
#[inline(always)]
pub(crate) fn prefetch_window<T>(v: &[T], cell: usize, cols: usize) {
    for c in [cell.wrapping_sub(cols), cell, cell.wrapping_add(cols)] {
        prefetch(v, c.wrapping_sub(1));
        prefetch(v, c.wrapping_add(1));
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
    fn fast_division_is_exact() {
        for cols in [1usize, 3, 7, 64, 600, 4097, 10_000, 46_341, 1 << 20] {
            let f = FastDiv::new(cols);
            for cell in [
                0usize,
                1,
                cols - 1,
                cols,
                cols + 1,
                5 * cols + cols / 2,
                10 * cols - 1,
                u32::MAX as usize / cols * cols - 1,
                u32::MAX as usize,
            ] {
                assert_eq!(
                    f.div_rem(cell),
                    (cell / cols, cell % cols),
                    "cell {cell}, cols {cols}"
                );
            }
        }
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

    /// The in-place conversion gives each cell's `f64 as f32`, whatever the value (rounding,
    /// overflow to infinity, subnormals, NaN) and the cell count (odd, one).
    #[test]
    fn costs_become_f32_in_place_as_by_a_cast() {
        let values = [
            0.0,
            1.0 / 3.0,
            f64::INFINITY,
            1e300,
            -2.5,
            1e-310,
            f64::MAX,
            123_456_789.123_456_78,
            f64::MIN_POSITIVE,
        ];
        for n in [1usize, 2, 7, 1000, 4097] {
            let want: Vec<f64> = (0..n)
                .map(|i| values[i % values.len()] * (1.0 + i as f64))
                .collect();
            let got = costs_as_f32(n, |c| {
                assert!(c.iter().all(|v| *v == f64::INFINITY));
                c.copy_from_slice(&want);
            });
            assert_eq!(got.len(), n);
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.to_bits(), (*w as f32).to_bits(), "{w}");
            }
            let nan = costs_as_f32(n, |c| c.fill(f64::NAN));
            assert!(nan.iter().all(|v| v.is_nan()));
        }
    }

    /// The costs-only run gives the same bits as the full one, on one thread and on strips
    /// (a grid large enough for two threads to split), with barriers and a cut-off.
    #[test]
    fn costs_only_equal_the_full_run() {
        let (rows, cols) = (720usize, 720usize);
        let mut x = crate::testutil::XorShift::new(3);
        let r: Vec<f32> = (0..rows * cols)
            .map(|_| match x.next() % 20 {
                0 => f32::INFINITY,
                k => 1.0 + k as f32 * 7.5,
            })
            .collect();
        let res = Resistance::from_values(r).unwrap();
        let seeds = [(1000usize, 1u32), (300_000, 2), (500_000, 3)];
        for opts in [
            CostOptions::default(),
            CostOptions {
                max_cwd: Some(200_000.0),
                corner_cutting: false,
            },
        ] {
            let full = accumulate_cost(rows, cols, 30.0, &res, seeds, &opts);
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let only =
                    pool.install(|| accumulate_cost_only(rows, cols, 30.0, &res, seeds, &opts));
                assert_eq!(only.len(), full.cost.len());
                for (i, (a, b)) in only.iter().zip(&full.cost).enumerate() {
                    assert_eq!(a.to_bits(), b.to_bits(), "cell {i}, {threads} threads");
                }
            }
            assert!(
                full.cost.iter().any(|v| v.is_infinite()),
                "some cells unreached"
            );
        }
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
        fn bucket_queue_and_heap_give_the_same_costs_and_allocation(
            cells in proptest::collection::vec(prop_oneof![8 => 0.5f32..2000.0, 1 => Just(f32::INFINITY)], 1..=150),
            cols in 1usize..13,
            seeds in proptest::collection::vec((0usize..150, 1u32..4), 1..4),
            corner_cutting: bool,
        ) {
            let rows = cells.len().div_ceil(cols);
            let mut r = cells.clone();
            r.resize(rows * cols, 1.0);
            let seeds: Vec<(usize, u32)> = seeds.into_iter().map(|(c, id)| (c % (rows * cols), id)).collect();
            let shape = Shape { rows, cols, cell_size_m: 30.0 };
            let n = rows * cols;
            let (mut ca, mut aa) = (vec![f64::INFINITY; n], vec![0u32; n]);
            let (mut cb, mut ab) = (vec![f64::INFINITY; n], vec![0u32; n]);
            let mut a = FullStore { cost: &mut ca, alloc: &mut aa[..], cols };
            let mut b = FullStore { cost: &mut cb, alloc: &mut ab[..], cols };
            // The range 0.5..2000 needs ~5,700 buckets: `dijkstra` takes the bucket queue.
            dijkstra(shape, &Resistance::from_values(r.clone()).unwrap(), seeds.clone(), f64::INFINITY, &NoPrune, corner_cutting, &mut a);
            run(shape, &r, seeds, (f64::INFINITY, f64::INFINITY), &NoPrune, corner_cutting, &mut b, &mut HeapQueue(BinaryHeap::new()));
            for i in 0..n {
                prop_assert!(a.cost[i] == b.cost[i] || (a.cost[i] - b.cost[i]).abs() <= 1e-12 * a.cost[i], "cell {}: {} vs {}", i, a.cost[i], b.cost[i]);
            }
            prop_assert_eq!(&a.alloc[..], &b.alloc[..]);
        }

        /// A run stopped at increasing costs and taken up again each time ends with the
        /// costs and allocation of one run, bit for bit (bucket queue and heap), and at each
        /// stop every cell whose final cost is within the stop's already has it.
        #[test]
        fn runs_stopped_and_taken_up_again_equal_one_run(
            cells in proptest::collection::vec(prop_oneof![8 => 0.5f32..2000.0, 1 => Just(f32::INFINITY)], 1..=150),
            cols in 1usize..13,
            seeds in proptest::collection::vec((0usize..150, 1u32..4), 1..4),
            stops in proptest::collection::vec(0.0f64..200_000.0, 0..5),
            heap: bool,
        ) {
            let rows = cells.len().div_ceil(cols);
            let mut r = cells.clone();
            r.resize(rows * cols, 1.0);
            let seeds: Vec<(usize, u32)> = seeds.into_iter().map(|(c, id)| (c % (rows * cols), id)).collect();
            let res = Resistance::from_values(r.clone()).unwrap();
            let shape = Shape { rows, cols, cell_size_m: 30.0 };
            let n = rows * cols;
            let (mut ca, mut aa) = (vec![f64::INFINITY; n], vec![0u32; n]);
            let mut one = FullStore { cost: &mut ca, alloc: &mut aa[..], cols };
            dijkstra(shape, &res, seeds.clone(), f64::INFINITY, &NoPrune, true, &mut one);
            let (mut cb, mut ab) = (vec![f64::INFINITY; n], vec![0u32; n]);
            let mut parts = FullStore { cost: &mut cb, alloc: &mut ab[..], cols };
            let mut search = Resumable::new(&res, 30.0);
            if heap {
                search.queue = RunQueue::Heap(HeapQueue(BinaryHeap::new()));
            }
            let mut stops = stops;
            stops.sort_by(f64::total_cmp);
            let mut seeds = Some(seeds);
            for until in stops.into_iter().chain([f64::INFINITY]) {
                let s = seeds.take().unwrap_or_default();
                search.advance(shape, &res, s, (f64::INFINITY, until), &NoPrune, true, &mut parts);
                for i in 0..n {
                    if one.cost[i] <= until {
                        prop_assert_eq!(parts.cost[i].to_bits(), one.cost[i].to_bits(), "cell {} at the stop {}", i, until);
                        prop_assert_eq!(parts.alloc[i], one.alloc[i]);
                    }
                }
            }
            prop_assert_eq!(&parts.alloc[..], &one.alloc[..]);
        }

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
            // Per source id, the cost from that source alone: the allocation must name a
            // source attaining the minimum (the smallest such id on exact ties).
            let ids: std::collections::BTreeSet<u32> = seeds.iter().map(|s| s.1).collect();
            let per_id: Vec<(u32, Vec<f64>)> = ids.iter().map(|&id| {
                let own: Vec<(usize, u32)> = seeds.iter().copied().filter(|s| s.1 == id).collect();
                (id, brute(rows, cols, 30.0, &r, &own).0)
            }).collect();
            for (i, &w) in want.iter().enumerate() {
                let g = got.cost[i] as f64;
                if w.is_infinite() {
                    prop_assert!(g.is_infinite(), "cell {} reached ({}) but brute force says unreachable", i, g);
                    prop_assert_eq!(got.alloc[i], 0);
                } else {
                    prop_assert!((g - w).abs() <= 1e-6 * w.max(1.0), "cell {}: {} vs {}", i, g, w);
                    let own = &per_id.iter().find(|(id, _)| *id == got.alloc[i]).expect("allocated to a seeded id").1;
                    prop_assert!((own[i] - w).abs() <= 1e-6 * w.max(1.0), "cell {} allocated to {} at cost {} but the cheapest source costs {}", i, got.alloc[i], own[i], w);
                }
            }
        }

        /// Block-shaped sources (patches, whose inner cells are set but not queued): the
        /// costs of brute force, and each cell allocated to a block that attains them.
        #[test]
        fn block_sources_match_bellman_ford(
            cells in proptest::collection::vec(prop_oneof![8 => 0.5f32..50.0, 1 => Just(f32::INFINITY)], 1..=150),
            cols in 1usize..13,
            blocks in proptest::collection::vec((0usize..150, 1usize..6, 1usize..6, 1u32..4), 1..4),
        ) {
            let rows = cells.len().div_ceil(cols);
            let mut r = cells.clone();
            r.resize(rows * cols, 1.0);
            let seeds: Vec<(usize, u32)> = blocks
                .iter()
                .flat_map(|&(c, h, w, id)| {
                    let (r0, c0) = ((c % (rows * cols)) / cols, c % cols);
                    (r0..(r0 + h).min(rows)).flat_map(move |i| (c0..(c0 + w).min(cols)).map(move |j| (i * cols + j, id)))
                })
                .collect();
            let got = accumulate_cost(rows, cols, 30.0, &Resistance::from_values(r.clone()).unwrap(), seeds.clone(), &CostOptions::default());
            let (want, _) = brute(rows, cols, 30.0, &r, &seeds);
            for (i, &w) in want.iter().enumerate() {
                let g = got.cost[i] as f64;
                if w.is_infinite() {
                    prop_assert!(g.is_infinite(), "cell {} reached ({}) but brute force says unreachable", i, g);
                } else {
                    prop_assert!((g - w).abs() <= 1e-6 * w.max(1.0), "cell {}: {} vs {}", i, g, w);
                    let own: Vec<(usize, u32)> = seeds.iter().copied().filter(|s| s.1 == got.alloc[i]).collect();
                    let by_own = brute(rows, cols, 30.0, &r, &own).0[i];
                    prop_assert!((by_own - w).abs() <= 1e-6 * w.max(1.0), "cell {} allocated to {} at {} but the cheapest costs {}", i, got.alloc[i], by_own, w);
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
