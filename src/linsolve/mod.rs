//! Sparse symmetric positive-definite linear systems (the circuit stage's conductance
//! matrices), solved by a sparse Cholesky factorization (faer: fill-reducing AMD ordering,
//! supernodal or simplicial by density), factorized once and reused over right-hand sides, or
//! by conjugate gradients preconditioned by smoothed-aggregation AMG ([`amg`]), which takes
//! about a third of the factor's memory and is faster from ~2 x 10^5 unknowns for a few
//! right-hand sides ([`Method::Auto`] chooses by size).
//! Factorization and each right-hand side's solve are sequential; groups of right-hand sides
//! run in parallel, so results are the same whatever the thread count.
//!
//! # Memory
//! The factor dominates: on 8-neighbour grid Laplacians it took ~960 bytes per unknown at
//! 10^6 unknowns here (2.5 s to factor on 2 cores), growing slowly with size (fill of a 2-D
//! grid under AMD). AMG on a grid Laplacian held matrix-free ([`grid`]) takes ~120 bytes per
//! unknown at its peak ([`AMG_BYTES`]). Callers size their problems with
//! [`Method::estimate_bytes`].

pub mod amg;
pub mod grid;
pub mod wide;

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::sparse::linalg::cholesky::{factorize_symbolic_cholesky, LltRef, SymbolicCholesky};
use faer::sparse::{SparseColMat, Triplet};
use faer::{Conj, MatMut, Par, Side};
use rayon::prelude::*;

/// Why a system could not be solved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SolveError {
    /// The matrix is not positive definite (a component without a ground, or a bad value).
    #[error("the system is not positive definite (a part of the network has no ground, or a conductance is not a positive finite number)")]
    NotPositiveDefinite,
    /// The factor does not fit in memory.
    #[error("the sparse factorization ran out of memory")]
    OutOfMemory,
    /// An entry outside the matrix.
    #[error("matrix entry ({0}, {1}) outside a {2} x {2} system")]
    Index(u32, u32, usize),
    /// The iterative solver did not reach its tolerance.
    #[error("conjugate gradients stopped at a relative residual of {0:e} after {1} iterations (wanted {2:e})\n  hint: use the sparse Cholesky (--solver cholesky) if it fits in memory")]
    NotConverged(f64, usize, f64),
}

/// Which method solves a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Sparse Cholesky up to [`AUTO_DIRECT_NODES`] unknowns, AMG-preconditioned conjugate
    /// gradients above (default).
    #[default]
    Auto,
    /// Sparse Cholesky.
    Cholesky,
    /// Conjugate gradients with smoothed-aggregation AMG.
    Amg,
}

/// Unknowns up to which [`Method::Auto`] factors. Measured on landscape Laplacians
/// (resistance 1-100 in blobs, 5 % nodata, one pair of regions), one thread: both 0.12-0.15 s
/// at 5 x 10^4 unknowns and 0.63 s at 2 x 10^5; AMG 1.35x faster at 4.8 x 10^5 and 1.5x at
/// 9.5 x 10^5 (3.0 s against 4.5 s, 0.37 against 0.97 GB); two threads at 3.8 x 10^6 (whole
/// `circuit` command, `benches/compare/circuit_amg.py --all-pairs`): 9.6 s against 31.7 s for
/// one pair, 43.1 s against 36.3 s for all 45 pairs of 10 regions (9 right-hand sides) with
/// 1.57 against 4.49 GB. With the matrix-free AMG (2026-12-01, one pair, 1.9 x 10^5 nodes,
/// 450 x 450 cells of the same generator, twice): 0.56 and 0.49 s against 0.89 and 0.79 s for
/// the factor, 41 against 177 MB; 11.7 s against 37.3 s at 3.8 x 10^6 (whole command). The
/// threshold was kept (the pinch-point zones below it are factored several at a time).
pub const AUTO_DIRECT_NODES: usize = 200_000;

/// Bytes of the AMG solver of a grid Laplacian, per unknown and per cell of its padded grid,
/// while its hierarchy is built (the finest level's prolongator, 16 bytes per entry, and the
/// first coarse matrix are the largest arrays; the finest level itself is matrix-free, 9
/// bytes per cell) and while it solves (per cell: the grid, the finest level's aggregates and
/// weights, 8, and the iteration's vectors, 24: residual and `A p` in f64, search direction
/// and preconditioned residual in f32; per unknown: the coarse levels, their values in f32,
/// and their vectors; the solution is the caller's): the larger of the two is the solver's
/// peak. On the 3.8 x 10^6-node landscape of `benches/compare/circuit_amg.py` (4.0 x 10^6
/// cells with the border), with the `circuit` command's per-cell arrays and solved columns
/// (one per region in a pair but the grounded one), the estimate is 518 MB for one pair and
/// 597 MB for all 45 pairs of 10 regions, against 513 and 563 MB measured at the peak
/// (2026-12-02); on a diagonal band of the same landscape (8.9 x 10^5 nodes in 4.0 x 10^6
/// cells, one pair), where the solve phase dominates, 258 MB against 263 MB.
pub const AMG_BYTES: AmgBytes = AmgBytes {
    setup: (110, 9),
    solve: (25, 41),
};

/// Bytes per (unknown, cell) of the AMG solver's two phases (see [`AMG_BYTES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmgBytes {
    /// While the hierarchy is built.
    pub setup: (u64, u64),
    /// While it solves.
    pub solve: (u64, u64),
}

impl Method {
    /// The method that solves a system of `n` unknowns ([`Method::Auto`] resolved).
    pub fn resolve(self, n: usize) -> Method {
        match self {
            Method::Auto if n <= AUTO_DIRECT_NODES => Method::Cholesky,
            Method::Auto => Method::Amg,
            m => m,
        }
    }

    /// Bytes the solver of `n` unknowns on a grid of `cells` cells takes at its peak
    /// (estimate), with the caller's `columns` right-hand sides of `n` f64 each: they are
    /// held beside the factor, and beside the AMG solve phase but not its setup.
    pub fn estimate_bytes(self, n: usize, cells: usize, columns: usize) -> u64 {
        let (n64, c64) = (n as u64, cells as u64);
        let rhs = 8 * n64 * columns as u64;
        match self.resolve(n) {
            Method::Amg => {
                let b = AMG_BYTES;
                (b.setup.0 * n64 + b.setup.1 * c64).max(b.solve.0 * n64 + b.solve.1 * c64 + rhs)
            }
            _ => Cholesky::estimate_bytes(n) + rhs,
        }
    }
}

/// Relative residual the iterative solver reaches.
pub const CG_TOLERANCE: f64 = 1e-10;

/// A system ready to be solved by the chosen method.
#[derive(Debug)]
pub enum Solver {
    /// Factorized.
    Direct(Cholesky),
    /// The matrix and its AMG hierarchy.
    Iterative(amg::Amg),
}

impl Solver {
    /// Prepares a grid Laplacian's system: factored from its lower triangle, or its AMG
    /// hierarchy with the finest level held matrix-free.
    ///
    /// # Errors
    /// As [`Cholesky::factor`].
    pub fn grid(g: grid::GridLaplacian, method: Method) -> Result<Solver, SolveError> {
        let n = g.len();
        if method.resolve(n) == Method::Cholesky {
            let lower = g.rows().lower();
            drop(g);
            return Ok(Solver::Direct(Cholesky::factor(n, &lower)?));
        }
        Ok(Solver::Iterative(amg::Amg::from_grid(g)?))
    }

    /// The method that solves it.
    pub fn method(&self) -> Method {
        match self {
            Solver::Direct(_) => Method::Cholesky,
            Solver::Iterative(_) => Method::Amg,
        }
    }

    /// What solves it, in words (for `run.json` and the screen).
    pub fn describe(&self) -> &'static str {
        match self {
            Solver::Direct(_) => "sparse Cholesky (faer, AMD ordering)",
            Solver::Iterative(..) => {
                "conjugate gradients with smoothed-aggregation AMG (pyamg's method, strength 0.05)"
            }
        }
    }

    /// Solves in place for `k` right-hand sides stored column after column.
    ///
    /// # Errors
    /// The iterative solver did not converge.
    pub fn solve(&self, rhs: &mut [f64], k: usize) -> Result<(), SolveError> {
        match self {
            Solver::Direct(c) => {
                c.solve(rhs, k);
                Ok(())
            }
            Solver::Iterative(h) => {
                let n = h.len();
                let mut buffers = h.buffers();
                for col in rhs.chunks_mut(n.max(1)).take(k) {
                    let (iters, res) = h.solve_with(col, &mut buffers, CG_TOLERANCE, 1_000);
                    if res > CG_TOLERANCE {
                        return Err(SolveError::NotConverged(res, iters, CG_TOLERANCE));
                    }
                }
                Ok(())
            }
        }
    }
}

/// Right-hand sides solved together in one pass over the factor.
const COLUMNS_PER_GROUP: usize = 4;

/// A factorized SPD matrix.
pub struct Cholesky {
    n: usize,
    symbolic: SymbolicCholesky<u32>,
    values: Vec<f64>,
}

impl std::fmt::Debug for Cholesky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cholesky({} unknowns)", self.n)
    }
}

impl Cholesky {
    /// Factorizes the `n` x `n` symmetric matrix whose lower triangle (diagonal included) is
    /// `entries` (row >= column; duplicates are summed).
    ///
    /// # Errors
    /// [`SolveError`]: not positive definite, out of memory, an entry outside the matrix.
    pub fn factor(n: usize, entries: &[(u32, u32, f64)]) -> Result<Cholesky, SolveError> {
        let mut trip = Vec::with_capacity(entries.len());
        for &(r, c, v) in entries {
            if r as usize >= n || c as usize >= n || r < c {
                return Err(SolveError::Index(r, c, n));
            }
            trip.push(Triplet::new(r, c, v));
        }
        let m = SparseColMat::<u32, f64>::try_new_from_triplets(n, n, &trip)
            .map_err(|_| SolveError::OutOfMemory)?;
        drop(trip);
        let symbolic = factorize_symbolic_cholesky(
            m.symbolic(),
            Side::Lower,
            Default::default(),
            Default::default(),
        )
        .map_err(|_| SolveError::OutOfMemory)?;
        let mut values = Vec::new();
        values
            .try_reserve_exact(symbolic.len_val())
            .map_err(|_| SolveError::OutOfMemory)?;
        values.resize(symbolic.len_val(), 0.0);
        // Sequential: on a 2.8 M-node landscape faer's parallel factorization took 8.8 s on
        // 2 cores against 6.8 s sequential, and sequential is deterministic by construction.
        let par = Par::Seq;
        let mut buf = MemBuffer::try_new(
            symbolic.factorize_numeric_llt_scratch::<f64>(par, Default::default()),
        )
        .map_err(|_| SolveError::OutOfMemory)?;
        symbolic
            .factorize_numeric_llt::<f64>(
                &mut values,
                m.as_ref(),
                Side::Lower,
                Default::default(),
                par,
                MemStack::new(&mut buf),
                Default::default(),
            )
            .map_err(|_| SolveError::NotPositiveDefinite)?;
        Ok(Cholesky {
            n,
            symbolic,
            values,
        })
    }

    /// Unknowns.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the system has no unknown.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Solves in place for `k` right-hand sides stored column after column in `rhs`
    /// (`rhs.len() == n * k`): groups of columns in parallel, each group by a sequential
    /// column-blocked triangular solve (faer's own parallel solve was 4x slower on 2 cores
    /// here). Each column's arithmetic is the same whatever the grouping, so the result does
    /// not depend on the thread count.
    pub fn solve(&self, rhs: &mut [f64], k: usize) {
        assert_eq!(
            rhs.len(),
            self.n * k,
            "one column of n values per right-hand side"
        );
        if self.n == 0 || k == 0 {
            return;
        }
        let n = self.n;
        // Groups of a fixed number of columns (so each column's arithmetic is the same
        // whatever the thread count), each solved column-blocked (one pass over the factor
        // for all its columns) and sequentially; the groups in parallel.
        let per = COLUMNS_PER_GROUP;
        rhs.par_chunks_mut(n * per).for_each(|cols| {
            let kk = cols.len() / n;
            let mut buf = MemBuffer::new(self.symbolic.solve_in_place_scratch::<f64>(kk, Par::Seq));
            LltRef::new(&self.symbolic, &self.values).solve_in_place_with_conj(
                Conj::No,
                MatMut::from_column_major_slice_mut(cols, n, kk),
                Par::Seq,
                MemStack::new(&mut buf),
            );
        });
    }

    /// A rough upper estimate of the bytes a factorization of `n` unknowns of an 8-neighbour
    /// grid Laplacian takes (measured ~960 bytes per unknown at 10^6, with headroom for the
    /// slow growth of the fill).
    pub fn estimate_bytes(n: usize) -> u64 {
        let per = 1_000.0 + 120.0 * ((n.max(1) as f64) / 1e6).max(1.0).log2();
        (n as f64 * per) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_solved_columns_count_beside_the_amg_solve_but_not_its_setup() {
        // 3.8 x 10^6 nodes on 4.0 x 10^6 padded cells (the AMG benchmark): one column leaves
        // the setup the peak; nine make the solve phase the peak.
        let (n, c) = (3_800_368usize, 4_008_004usize);
        let setup = 110 * n as u64 + 9 * c as u64;
        let solve = 25 * n as u64 + 41 * c as u64;
        assert_eq!(Method::Amg.estimate_bytes(n, c, 1), setup);
        assert_eq!(
            Method::Amg.estimate_bytes(n, c, 9),
            solve + 8 * 9 * n as u64
        );
        // The factor is held while its columns are solved.
        assert_eq!(
            Method::Cholesky.estimate_bytes(n, c, 2),
            Cholesky::estimate_bytes(n) + 16 * n as u64
        );
    }

    #[test]
    fn solves_a_small_system_against_its_hand_solution() {
        // [4 1 0; 1 3 1; 0 1 2] x = [1 2 3]: x = (1/18) (1, 14, 20)... checked by residual.
        let a = [
            (0, 0, 4.0),
            (1, 0, 1.0),
            (1, 1, 3.0),
            (2, 1, 1.0),
            (2, 2, 2.0),
        ];
        let c = Cholesky::factor(3, &a).unwrap();
        let mut b = vec![1.0, 2.0, 3.0, 0.0, 1.0, 0.0];
        c.solve(&mut b, 2);
        let dense = [[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]];
        for (col, rhs) in [[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]].iter().enumerate() {
            for r in 0..3 {
                let ax: f64 = (0..3).map(|j| dense[r][j] * b[col * 3 + j]).sum();
                assert!((ax - rhs[r]).abs() < 1e-12, "row {r}: {ax} vs {}", rhs[r]);
            }
        }
        // Duplicates are summed: two halves of the diagonal make the whole.
        let halves = [
            (0, 0, 2.0),
            (0, 0, 2.0),
            (1, 0, 1.0),
            (1, 1, 3.0),
            (2, 1, 1.0),
            (2, 2, 2.0),
        ];
        let h = Cholesky::factor(3, &halves).unwrap();
        let mut x = vec![1.0, 2.0, 3.0];
        h.solve(&mut x, 1);
        assert!((x[0] - b[0]).abs() < 1e-12);
    }

    #[test]
    fn a_singular_or_indefinite_matrix_is_refused() {
        // The Laplacian of two nodes without a ground is singular.
        let l = [(0, 0, 1.0), (1, 0, -1.0), (1, 1, 1.0)];
        assert_eq!(
            Cholesky::factor(2, &l).unwrap_err(),
            SolveError::NotPositiveDefinite
        );
        assert!(matches!(
            Cholesky::factor(2, &[(0, 1, 1.0)]),
            Err(SolveError::Index(0, 1, 2))
        ));
    }
}
