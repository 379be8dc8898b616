//! Whole-grid cost distance on several threads: the grid cut into strips of rows, one
//! Dijkstra per strip, moves across a strip border handed over as messages; each thread
//! takes every `threads`-th strip, so that its share of a round's work comes from all over
//! the grid (a front rarely spreads evenly over two halves).
//!
//! # Why the result is the serial run's, bit for bit
//! The serial run's costs are, per cell, the least over paths of the path's move costs summed
//! in path order in `f64`; its allocation is the smallest source id among the paths that reach
//! that least cost. Addition of a positive move cost is monotone in `f64`, so these values
//! are the unique fixed point of `cost(v) = min_u (cost(u) + w(u, v))` (with the allocation
//! as a tie rule): every cell's value is reached from a smaller one, so two fixed points agree
//! cell by cell in order of cost. Any label-correcting run that re-expands a cell whenever its
//! (cost, allocation) improves ends at that fixed point, whatever order its cells were taken
//! in. The strips are such a run: each strip expands its own cells in bucket order, a move
//! into another strip is sent to that strip's owner, which applies it as the serial run would
//! (`nd < old`, or equal with a smaller id) and expands the cell again when it improves.
//!
//! # Rounds
//! All strips take the buckets below a common horizon (the lowest non-empty bucket of any
//! strip plus [`ROUND_BUCKETS`]), then exchange their messages and agree on the next horizon
//! (two barriers per round). A move costs more than a bucket, so a message sent in a round
//! lands in a later bucket; one that lands below what its strip already took (it arrived a
//! round late) is expanded at once and its cell's successors corrected: extra work near the
//! strip borders only.
//!
//! # Memory
//! The serial run's 12 bytes per cell (8 for a run of costs only: no allocation; the strips
//! are disjoint slices of the same arrays), a bucket queue per strip and the messages of one
//! round.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{on_rim, prefetch_window, BucketQueue, FastDiv, Labels, Queue, Shape, NEIGHBOURS};

/// Buckets each strip takes per round (one bucket is the cheapest move): fewer rounds
/// against more late messages at the borders. Measured on the 4,000² single-source
/// benchmark with 2 strips: 4 buckets 2.29 s, 8 2.02 s, 32 1.62-1.91 s, 128 1.93 s, 256
/// 1.75 s, 1,024 6.60 s (late messages cascade).
const ROUND_BUCKETS: u64 = 32;

/// A move into another strip: (cell, cost, allocation).
type Msg = (u32, f64, u32);

/// A barrier that spins (the rounds are short: a sleeping barrier's wake-up costs more than
/// a round's work), yielding to the scheduler after a while.
struct SpinBarrier {
    threads: usize,
    waiting: AtomicUsize,
    generation: AtomicU64,
    /// Set when a strip's thread panicked: every wait returns at once.
    failed: AtomicBool,
}

impl SpinBarrier {
    fn new(threads: usize) -> SpinBarrier {
        SpinBarrier {
            threads,
            waiting: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            failed: AtomicBool::new(false),
        }
    }

    /// Waits for every strip; false when one failed (stop).
    fn wait(&self) -> bool {
        let generation = self.generation.load(Ordering::Acquire);
        if self.waiting.fetch_add(1, Ordering::AcqRel) + 1 == self.threads {
            self.waiting.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::AcqRel);
            return !self.failed.load(Ordering::Acquire);
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if self.failed.load(Ordering::Acquire) {
                return false;
            }
            if spins < 4096 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
        !self.failed.load(Ordering::Acquire)
    }
}

impl BucketQueue {
    /// The next cell of a bucket below `horizon` (cells to redo first), never moving past it.
    fn pop_below(&mut self, horizon: u64) -> Option<(u64, usize)> {
        if let Some(c) = self.redo.pop() {
            return Some((0, c as usize));
        }
        while self.len > 0 && self.current < horizon {
            if let Some(c) = self.ring[(self.current & self.mask) as usize].pop() {
                self.len -= 1;
                return Some((self.current, c as usize));
            }
            self.current += 1;
        }
        None
    }

    /// The lowest bucket holding a cell (`current` when cells wait to be redone), `u64::MAX`
    /// when empty.
    fn next_bucket(&self) -> u64 {
        if !self.redo.is_empty() {
            return self.current;
        }
        if self.len == 0 {
            return u64::MAX;
        }
        let mut b = self.current;
        while self.ring[(b & self.mask) as usize].is_empty() {
            b += 1;
        }
        b
    }
}

/// One strip: rows `[first_row, end_row)`, its slices of the cost and allocation arrays
/// (`L`: the allocation's slice, or nothing for a run of costs only).
struct Strip<'a, L> {
    first: usize,
    end: usize,
    cost: &'a mut [f64],
    alloc: L,
    queue: BucketQueue,
}

impl<L: Labels> Strip<'_, L> {
    /// Applies a move into this strip as the serial run does; true when the cell improved.
    #[inline]
    fn offer(&mut self, cell: usize, cost: f64, id: u32) -> bool {
        let i = cell - self.first;
        let old = self.cost[i];
        if cost < old || (cost == old && id < self.alloc.get(i)) {
            self.cost[i] = cost;
            self.alloc.set(i, id);
            self.queue.push(cost, cell);
            return true;
        }
        false
    }
}

/// Row ranges of `strips` strips of nearly equal height.
fn bounds(rows: usize, strips: usize) -> Vec<(usize, usize)> {
    (0..strips)
        .map(|k| (rows * k / strips, rows * (k + 1) / strips))
        .collect()
}

/// The run of [`super::dijkstra`] with the bucket queue and no pruning, on `strips` strips
/// shared round-robin by `threads` threads (strip k to thread k mod threads, so that each
/// thread's work in a round is spread over the grid). `delta` and `buckets` are the bucket
/// queue's width and count.
#[allow(clippy::too_many_arguments)]
pub(super) fn run<L: Labels>(
    shape: Shape,
    r: &[f32],
    seeds: impl IntoIterator<Item = (usize, u32)>,
    limit: f64,
    corner_cutting: bool,
    (cost, alloc): (&mut [f64], L),
    (delta, buckets): (f64, usize),
    (strips, threads): (usize, usize),
) {
    let Shape { rows, cols, .. } = shape;
    assert!(strips >= 1 && strips <= rows, "one row per strip at least");
    let threads = threads.clamp(1, strips);
    assert_eq!(r.len(), rows * cols, "resistance does not match the grid");
    let ranges = bounds(rows, strips);
    // Which strip owns a row.
    let owner_of_row: Vec<u32> = ranges
        .iter()
        .enumerate()
        .flat_map(|(k, &(a, b))| std::iter::repeat_n(k as u32, b - a))
        .collect();
    let mut parts: Vec<Strip<L>> = Vec::with_capacity(strips);
    let (mut rest_cost, mut rest_alloc) = (cost, alloc);
    for &(a, b) in &ranges {
        let (c, rc) = rest_cost.split_at_mut((b - a) * cols);
        let (al, ra) = rest_alloc.split_at((b - a) * cols);
        rest_cost = rc;
        rest_alloc = ra;
        parts.push(Strip {
            first: a * cols,
            end: b * cols,
            cost: c,
            alloc: al,
            // Room for a round's buckets on top of the costliest move.
            queue: BucketQueue::new(delta, buckets + 2 * ROUND_BUCKETS as usize),
        });
    }
    let mut seeded: Vec<u32> = Vec::new();
    for (cell, id) in seeds {
        if !r[cell].is_finite() {
            continue;
        }
        let s = &mut parts[owner_of_row[cell / cols] as usize];
        let i = cell - s.first;
        if s.cost[i] > 0.0 {
            s.cost[i] = 0.0;
            s.alloc.set(i, id);
            seeded.push(cell as u32);
        } else if s.alloc.get(i) > id {
            s.alloc.set(i, id);
        }
    }
    // Only seeds with a passable neighbour that is not a seed are queued (as in the
    // single-thread core: expanding the others changes nothing).
    for &cell in &seeded {
        let cell = cell as usize;
        let cost = |nb: usize| {
            let s = &parts[owner_of_row[nb / cols] as usize];
            s.cost[nb - s.first]
        };
        if on_rim(r, (rows, cols), cell, cost) {
            parts[owner_of_row[cell / cols] as usize]
                .queue
                .push(0.0, cell);
        }
    }
    drop(seeded);
    let inbox: Vec<Mutex<Vec<Msg>>> = (0..strips).map(|_| Mutex::new(Vec::new())).collect();
    let next: Vec<AtomicU64> = (0..threads).map(|_| AtomicU64::new(u64::MAX)).collect();
    let barrier = SpinBarrier::new(threads);
    let ctx = Shared {
        shape,
        r,
        limit,
        corner_cutting,
        owner_of_row: &owner_of_row,
        inbox: &inbox,
        next: &next,
        barrier: &barrier,
    };
    let mut by_thread: Vec<Vec<(usize, Strip<L>)>> = (0..threads).map(|_| Vec::new()).collect();
    for (k, strip) in parts.into_iter().enumerate() {
        by_thread[k % threads].push((k, strip));
    }
    std::thread::scope(|scope| {
        let mut work = by_thread.into_iter().enumerate();
        let (_, mine) = work.next().expect("one thread at least");
        for (t, own) in work {
            let ctx = &ctx;
            scope.spawn(move || ctx.work(t, own));
        }
        ctx.work(0, mine);
    });
}

/// What the strips share.
struct Shared<'a> {
    shape: Shape,
    r: &'a [f32],
    limit: f64,
    corner_cutting: bool,
    owner_of_row: &'a [u32],
    inbox: &'a [Mutex<Vec<Msg>>],
    next: &'a [AtomicU64],
    barrier: &'a SpinBarrier,
}

impl Shared<'_> {
    /// Thread `t`'s rounds over its strips (`(index, strip)`) until every strip is empty.
    fn work<L: Labels>(&self, t: usize, mut own: Vec<(usize, Strip<L>)>) {
        // A panic in one strip must not leave the others spinning at a barrier.
        struct Guard<'g>(&'g SpinBarrier);
        impl Drop for Guard<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.failed.store(true, Ordering::Release);
                }
            }
        }
        let _guard = Guard(self.barrier);
        let strips = self.inbox.len();
        let mut out: Vec<Vec<Msg>> = vec![Vec::new(); strips];
        loop {
            let first = own
                .iter()
                .map(|(_, s)| s.queue.next_bucket())
                .min()
                .unwrap_or(u64::MAX);
            self.next[t].store(first, Ordering::Release);
            if !self.barrier.wait() {
                return;
            }
            let low = self
                .next
                .iter()
                .map(|n| n.load(Ordering::Acquire))
                .min()
                .unwrap_or(u64::MAX);
            if low == u64::MAX {
                return;
            }
            for (_, s) in own.iter_mut() {
                self.expand(s, low.saturating_add(ROUND_BUCKETS), &mut out);
            }
            for (to, msgs) in out.iter_mut().enumerate() {
                if !msgs.is_empty() {
                    let mut inbox = self.inbox[to].lock().unwrap_or_else(|e| e.into_inner());
                    inbox.append(msgs);
                }
            }
            if !self.barrier.wait() {
                return;
            }
            for (k, s) in own.iter_mut() {
                let mut inbox = self.inbox[*k].lock().unwrap_or_else(|e| e.into_inner());
                let msgs = std::mem::take(&mut *inbox);
                drop(inbox);
                for (cell, cost, id) in msgs {
                    s.offer(cell as usize, cost, id);
                }
            }
        }
    }

    /// Expands the strip's cells in buckets below `horizon`, as the serial run does; moves
    /// into other strips go to `out`.
    fn expand<L: Labels>(&self, s: &mut Strip<L>, horizon: u64, out: &mut [Vec<Msg>]) {
        let Shape {
            rows,
            cols,
            cell_size_m,
        } = self.shape;
        let r = self.r;
        let step_len = [cell_size_m, cell_size_m * std::f64::consts::SQRT_2];
        let icols = cols as isize;
        let offsets: [isize; 8] = NEIGHBOURS.map(|(dr, dc, _)| dr * icols + dc);
        let by_cols = FastDiv::new(cols.max(1));
        while let Some((tag, c)) = s.queue.pop_below(horizon) {
            if let Some(next) = s.queue.peek() {
                let local = next.wrapping_sub(s.first);
                s.alloc.prefetch(local);
                prefetch_window(s.cost, local, cols);
                prefetch_window(r, next, cols);
            }
            let d = s.cost[c - s.first];
            if s.queue.is_stale(tag, d) {
                continue;
            }
            let (row, col) = by_cols.div_rem(c);
            let interior = row > 0 && col > 0 && row + 1 < rows && col + 1 < cols;
            let rc = r[c] as f64;
            let id = s.alloc.get(c - s.first);
            for (n, &(dr, dc, is_diag)) in NEIGHBOURS.iter().enumerate() {
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
                    && !self.corner_cutting
                    && (!r[(c as isize + dc) as usize].is_finite()
                        || !r[(c as isize + dr * icols) as usize].is_finite())
                {
                    continue;
                }
                let nd = d + step_len[is_diag as usize] * (rc + rn as f64) * 0.5;
                if nd > self.limit {
                    continue;
                }
                if nb >= s.first && nb < s.end {
                    s.offer(nb, nd, id);
                } else {
                    out[self.owner_of_row[nr] as usize].push((nb as u32, nd, id));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{accumulate_cost_in, CostOptions};
    use super::*;
    use crate::surface::Resistance;
    use crate::testutil::XorShift;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Strips give the serial run's costs and allocation bit for bit (and its costs
        /// without the allocation kept): many block-shaped sources with
        /// shared ids and ties, barriers, resistances over three orders (moves that round at
        /// bucket edges), a cut-off, corner cutting on and off, 2 to 8 strips on 1 to 3 threads.
        #[test]
        fn strips_equal_the_serial_run(
            seed in any::<u64>(),
            rows in 2usize..70,
            cols in 1usize..70,
            sources in 1usize..12,
            strips in 2usize..9,
            threads in 1usize..4,
            cut in prop_oneof![Just(None), (50.0f64..5_000.0).prop_map(Some)],
            corner_cutting: bool,
            spread in prop::sample::select(vec![1.0f32, 3.0, 1000.0]),
        ) {
            let mut xs = XorShift::new(seed);
            let mut rnd = move || xs.next();
            let n = rows * cols;
            let r: Vec<f32> = (0..n)
                .map(|_| match rnd() % 12 {
                    0 => f32::INFINITY,
                    _ => 1.0 + (rnd() % 1000) as f32 / 1000.0 * (spread - 1.0),
                })
                .collect();
            let res = Resistance::from_values(r).unwrap();
            // Each source a block of up to 6 x 6 cells (a patch: its inner cells are not
            // queued), blocks overlapping and crossing strip edges.
            let seeds: Vec<(usize, u32)> = (0..sources)
                .flat_map(|_| {
                    let (c, id) = ((rnd() as usize) % n, 1 + (rnd() % 4) as u32);
                    let (h, w) = (1 + (rnd() % 6) as usize, 1 + (rnd() % 6) as usize);
                    let (r0, c0) = (c / cols, c % cols);
                    let rows_in = r0..(r0 + h).min(rows);
                    rows_in.flat_map(move |i| (c0..(c0 + w).min(cols)).map(move |j| (i * cols + j, id)))
                })
                .collect();
            let opts = CostOptions { max_cwd: cut, corner_cutting };
            let one = accumulate_cost_in(rows, cols, 30.0, &res, seeds.iter().copied(), &opts, (1, 1));
            let many = accumulate_cost_in(rows, cols, 30.0, &res, seeds.iter().copied(), &opts, (strips.min(rows), threads));
            // And without the allocation: the same costs.
            let mut only = vec![f64::INFINITY; n];
            let shape = Shape { rows, cols, cell_size_m: 30.0 };
            super::super::full_run(shape, &res, seeds.iter().copied(), &opts, (strips.min(rows), threads), (&mut only, super::super::NoLabels));
            for (i, &o) in only.iter().enumerate() {
                prop_assert_eq!(one.cost[i].to_bits(), many.cost[i].to_bits(), "cell {}", i);
                prop_assert_eq!(one.alloc[i], many.alloc[i], "cell {}", i);
                prop_assert_eq!(one.cost[i].to_bits(), (o as f32).to_bits(), "cell {}", i);
            }
        }
    }

    #[test]
    fn strips_cover_the_rows_once() {
        for rows in [1usize, 2, 3, 7, 100, 1001] {
            for strips in 1..=rows.min(9) {
                let b = bounds(rows, strips);
                assert_eq!(b.len(), strips);
                assert_eq!(b[0].0, 0);
                assert_eq!(b[strips - 1].1, rows);
                for w in b.windows(2) {
                    assert_eq!(w[0].1, w[1].0);
                }
                assert!(
                    b.iter().all(|&(a, e)| e > a),
                    "{rows} rows, {strips} strips"
                );
            }
        }
    }
}
