//! Conjugate gradients preconditioned by smoothed-aggregation algebraic multigrid (the method
//! family of pyamg and Circuitscape.jl's AlgebraicMultigrid.jl), for SPD systems too large for
//! a sparse factor: memory grows linearly (the matrix hierarchy is ~1.5x the matrix).
//!
//! Setup per level: every off-diagonal entry is a strong connection; standard aggregation
//! (a root and its free neighbours, then stragglers join a neighbouring aggregate, then the
//! rest form their own); tentative prolongator of unit-norm aggregate indicators; smoothed
//! prolongator `P = (I - w D^-1 A) T` with `w = 4/3 / rho(D^-1 A)` (power iterations);
//! Galerkin coarse matrix `P^T A P`; down to at most [`COARSEST`] unknowns, solved by a sparse
//! Cholesky. The V-cycle smooths with damped Jacobi (two sweeps before and after), which keeps
//! the preconditioner symmetric and parallel. Every step is deterministic: rows are processed
//! independently and reduced in a fixed order.

use rayon::prelude::*;

use super::{Cholesky, SolveError};

/// Unknowns at which the hierarchy stops and factors.
const COARSEST: usize = 2_000;

/// A symmetric sparse matrix in compressed rows (both triangles stored).
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    n: usize,
    ptr: Vec<usize>,
    idx: Vec<u32>,
    val: Vec<f64>,
}

impl Csr {
    /// The symmetric matrix whose lower triangle (diagonal included; duplicates summed) is
    /// `entries`.
    pub fn from_lower(n: usize, entries: &[(u32, u32, f64)]) -> Csr {
        let mut count = vec![0usize; n + 1];
        for &(r, c, _) in entries {
            count[r as usize + 1] += 1;
            if r != c {
                count[c as usize + 1] += 1;
            }
        }
        for k in 0..n {
            count[k + 1] += count[k];
        }
        let mut fill = count.clone();
        let mut trip = vec![(0u32, 0.0f64); count[n]];
        for &(r, c, v) in entries {
            trip[fill[r as usize]] = (c, v);
            fill[r as usize] += 1;
            if r != c {
                trip[fill[c as usize]] = (r, v);
                fill[c as usize] += 1;
            }
        }
        Csr::from_rows(n, &count, &mut trip)
    }

    /// Sorts each row's (column, value) pairs, sums duplicates.
    fn from_rows(n: usize, ptr: &[usize], trip: &mut [(u32, f64)]) -> Csr {
        let mut out = Csr {
            n,
            ptr: vec![0; n + 1],
            idx: Vec::with_capacity(trip.len()),
            val: Vec::with_capacity(trip.len()),
        };
        for r in 0..n {
            let row = &mut trip[ptr[r]..ptr[r + 1]];
            row.sort_by_key(|e| e.0);
            for &(c, v) in row.iter() {
                if out.idx.len() > out.ptr[r] && *out.idx.last().expect("row not empty") == c {
                    *out.val.last_mut().expect("row not empty") += v;
                } else {
                    out.idx.push(c);
                    out.val.push(v);
                }
            }
            out.ptr[r + 1] = out.idx.len();
        }
        out
    }

    /// Unknowns.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the matrix is 0 x 0.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn row(&self, r: usize) -> (&[u32], &[f64]) {
        (
            &self.idx[self.ptr[r]..self.ptr[r + 1]],
            &self.val[self.ptr[r]..self.ptr[r + 1]],
        )
    }

    /// `y = A x`, rows in parallel.
    pub fn mul(&self, x: &[f64], y: &mut [f64]) {
        y.par_iter_mut().enumerate().for_each(|(r, yr)| {
            let (c, v) = self.row(r);
            *yr = c.iter().zip(v).map(|(&j, &a)| a * x[j as usize]).sum();
        });
    }

    fn diag(&self) -> Vec<f64> {
        (0..self.n)
            .map(|r| {
                let (c, v) = self.row(r);
                c.iter()
                    .zip(v)
                    .find(|(&j, _)| j as usize == r)
                    .map_or(0.0, |(_, &a)| a)
            })
            .collect()
    }

    /// The lower triangle as (row, column, value).
    fn lower(&self) -> Vec<(u32, u32, f64)> {
        let mut out = Vec::new();
        for r in 0..self.n {
            let (c, v) = self.row(r);
            for (&j, &a) in c.iter().zip(v) {
                if j as usize <= r {
                    out.push((r as u32, j, a));
                }
            }
        }
        out
    }
}

/// A general sparse matrix in compressed rows (prolongators).
#[derive(Debug, Clone)]
struct Rect {
    rows: usize,
    cols: usize,
    ptr: Vec<usize>,
    idx: Vec<u32>,
    val: Vec<f64>,
}

impl Rect {
    fn transpose(&self) -> Rect {
        let mut count = vec![0usize; self.cols + 1];
        for &c in &self.idx {
            count[c as usize + 1] += 1;
        }
        for k in 0..self.cols {
            count[k + 1] += count[k];
        }
        let mut fill = count.clone();
        let mut idx = vec![0u32; self.idx.len()];
        let mut val = vec![0.0; self.idx.len()];
        for r in 0..self.rows {
            for k in self.ptr[r]..self.ptr[r + 1] {
                let c = self.idx[k] as usize;
                idx[fill[c]] = r as u32;
                val[fill[c]] = self.val[k];
                fill[c] += 1;
            }
        }
        Rect {
            rows: self.cols,
            cols: self.rows,
            ptr: count,
            idx,
            val,
        }
    }

    /// `self * b` (`b` given by its rows), one dense accumulator of `b.cols`.
    fn times(&self, b: (&[usize], &[u32], &[f64], usize)) -> Rect {
        let (bptr, bidx, bval, bcols) = b;
        let mut acc = vec![0.0f64; bcols];
        let mut mark = vec![usize::MAX; bcols];
        let mut touched: Vec<u32> = Vec::new();
        let mut out = Rect {
            rows: self.rows,
            cols: bcols,
            ptr: vec![0; self.rows + 1],
            idx: Vec::new(),
            val: Vec::new(),
        };
        for r in 0..self.rows {
            touched.clear();
            for k in self.ptr[r]..self.ptr[r + 1] {
                let (j, a) = (self.idx[k] as usize, self.val[k]);
                for m in bptr[j]..bptr[j + 1] {
                    let c = bidx[m] as usize;
                    if mark[c] != r {
                        mark[c] = r;
                        acc[c] = 0.0;
                        touched.push(c as u32);
                    }
                    acc[c] += a * bval[m];
                }
            }
            touched.sort_unstable();
            for &c in &touched {
                out.idx.push(c);
                out.val.push(acc[c as usize]);
            }
            out.ptr[r + 1] = out.idx.len();
        }
        out
    }

    fn mul(&self, x: &[f64], y: &mut [f64]) {
        y.par_iter_mut().enumerate().for_each(|(r, yr)| {
            *yr = (self.ptr[r]..self.ptr[r + 1])
                .map(|k| self.val[k] * x[self.idx[k] as usize])
                .sum();
        });
    }
}

/// One level of the hierarchy.
#[derive(Debug)]
struct Level {
    a: Csr,
    /// Inverse diagonal times the Jacobi damping.
    wdinv: Vec<f64>,
    p: Rect,
    pt: Rect,
}

/// A smoothed-aggregation hierarchy of an SPD matrix.
#[derive(Debug)]
pub struct Amg {
    levels: Vec<Level>,
    coarse: Cholesky,
}

/// The spectral radius of `D^-1 A`, estimated by power iterations from a fixed start.
fn spectral_radius(a: &Csr, dinv: &[f64]) -> f64 {
    let n = a.len();
    let mut x: Vec<f64> = (0..n).map(|i| 1.0 + (i % 7) as f64 * 0.1).collect();
    let mut y = vec![0.0; n];
    let mut rho = 1.0;
    for _ in 0..15 {
        a.mul(&x, &mut y);
        for (v, d) in y.iter_mut().zip(dinv) {
            *v *= d;
        }
        let norm = y.iter().map(|v| v * v).sum::<f64>().sqrt();
        let xn = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 || xn == 0.0 {
            break;
        }
        rho = norm / xn;
        for (xi, yi) in x.iter_mut().zip(&y) {
            *xi = yi / norm;
        }
    }
    rho
}

/// Standard aggregation: aggregate of each unknown (all off-diagonals strong).
#[allow(clippy::needless_range_loop)]
fn aggregate(a: &Csr) -> (Vec<u32>, usize) {
    const FREE: u32 = u32::MAX;
    let n = a.len();
    let mut agg = vec![FREE; n];
    let mut k = 0u32;
    // 1. A root whose neighbours are all free takes them.
    for i in 0..n {
        if agg[i] != FREE {
            continue;
        }
        let (c, _) = a.row(i);
        if c.iter().all(|&j| agg[j as usize] == FREE) {
            agg[i] = k;
            for &j in c {
                agg[j as usize] = k;
            }
            k += 1;
        }
    }
    // 2. Stragglers join a neighbouring aggregate of pass 1.
    let first = agg.clone();
    for i in 0..n {
        if agg[i] == FREE {
            let (c, _) = a.row(i);
            if let Some(&j) = c.iter().find(|&&j| first[j as usize] != FREE) {
                agg[i] = first[j as usize];
            }
        }
    }
    // 3. The rest form aggregates with their free neighbours.
    for i in 0..n {
        if agg[i] == FREE {
            agg[i] = k;
            let (c, _) = a.row(i);
            for &j in c {
                if agg[j as usize] == FREE {
                    agg[j as usize] = k;
                }
            }
            k += 1;
        }
    }
    (agg, k as usize)
}

impl Amg {
    /// The hierarchy of `a`.
    ///
    /// # Errors
    /// The coarsest matrix is not positive definite.
    pub fn new(a: &Csr) -> Result<Amg, SolveError> {
        let mut levels = Vec::new();
        let mut cur = a.clone();
        while cur.len() > COARSEST && levels.len() < 25 {
            let d = cur.diag();
            let dinv: Vec<f64> = d
                .iter()
                .map(|&x| if x > 0.0 { 1.0 / x } else { 0.0 })
                .collect();
            let rho = spectral_radius(&cur, &dinv).max(1e-12);
            let (agg, nc) = aggregate(&cur);
            if nc >= cur.len() {
                break;
            }
            let mut size = vec![0usize; nc];
            for &g in &agg {
                size[g as usize] += 1;
            }
            let t: Vec<f64> = agg
                .iter()
                .map(|&g| 1.0 / (size[g as usize] as f64).sqrt())
                .collect();
            // P = T - w D^-1 A T, row by row.
            let w = 4.0 / 3.0 / rho;
            let mut p = Rect {
                rows: cur.len(),
                cols: nc,
                ptr: vec![0; cur.len() + 1],
                idx: Vec::new(),
                val: Vec::new(),
            };
            let mut row: Vec<(u32, f64)> = Vec::new();
            for i in 0..cur.len() {
                row.clear();
                row.push((agg[i], t[i]));
                let (c, v) = cur.row(i);
                for (&j, &aij) in c.iter().zip(v) {
                    row.push((agg[j as usize], -w * dinv[i] * aij * t[j as usize]));
                }
                row.sort_by_key(|e| e.0);
                let start = p.idx.len();
                for &(g, x) in &row {
                    if p.idx.len() > start && *p.idx.last().expect("row") == g {
                        *p.val.last_mut().expect("row") += x;
                    } else {
                        p.idx.push(g);
                        p.val.push(x);
                    }
                }
                p.ptr[i + 1] = p.idx.len();
            }
            let pt = p.transpose();
            let ap = Rect {
                rows: cur.len(),
                cols: cur.len(),
                ptr: cur.ptr.clone(),
                idx: cur.idx.clone(),
                val: cur.val.clone(),
            }
            .times((&p.ptr, &p.idx, &p.val, nc));
            let ac = pt.times((&ap.ptr, &ap.idx, &ap.val, nc));
            let coarse = Csr {
                n: nc,
                ptr: ac.ptr,
                idx: ac.idx,
                val: ac.val,
            };
            let wj = 4.0 / 3.0 / rho;
            levels.push(Level {
                wdinv: dinv.iter().map(|d| wj * d).collect(),
                a: std::mem::replace(&mut cur, coarse),
                p,
                pt,
            });
        }
        let coarse = Cholesky::factor(cur.len(), &cur.lower())?;
        Ok(Amg { levels, coarse })
    }

    /// Levels of the hierarchy (the factored coarsest not counted).
    pub fn levels(&self) -> usize {
        self.levels.len()
    }

    /// One V-cycle for `A x = b` from `x = 0`.
    fn vcycle(&self, k: usize, b: &[f64], x: &mut [f64]) {
        if k == self.levels.len() {
            x.copy_from_slice(b);
            self.coarse.solve(x, 1);
            return;
        }
        let l = &self.levels[k];
        let n = l.a.len();
        let mut r = vec![0.0; n];
        x.iter_mut().for_each(|v| *v = 0.0);
        let jacobi = |x: &mut [f64], r: &mut [f64]| {
            l.a.mul(x, r);
            x.par_iter_mut()
                .zip(r.par_iter())
                .zip(b.par_iter())
                .zip(l.wdinv.par_iter())
                .for_each(|(((xi, ri), bi), d)| *xi += d * (bi - ri));
        };
        for _ in 0..2 {
            jacobi(x, &mut r);
        }
        l.a.mul(x, &mut r);
        r.par_iter_mut()
            .zip(b.par_iter())
            .for_each(|(ri, bi)| *ri = bi - *ri);
        let nc = l.p.cols;
        let mut rc = vec![0.0; nc];
        l.pt.mul(&r, &mut rc);
        let mut xc = vec![0.0; nc];
        self.vcycle(k + 1, &rc, &mut xc);
        let mut e = vec![0.0; n];
        l.p.mul(&xc, &mut e);
        x.par_iter_mut()
            .zip(e.par_iter())
            .for_each(|(xi, ei)| *xi += ei);
        for _ in 0..2 {
            jacobi(x, &mut r);
        }
    }

    /// Solves `A x = b` by preconditioned conjugate gradients to a relative residual of
    /// `tol`, at most `max_iter` iterations: (x, iterations, relative residual).
    pub fn pcg(&self, a: &Csr, b: &[f64], tol: f64, max_iter: usize) -> (Vec<f64>, usize, f64) {
        let n = a.len();
        let dot = |u: &[f64], v: &[f64]| -> f64 {
            // Fixed-order reduction (chunks summed in order) for deterministic results.
            u.par_chunks(4096)
                .zip(v.par_chunks(4096))
                .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>())
                .collect::<Vec<f64>>()
                .iter()
                .sum()
        };
        let bn = dot(b, b).sqrt();
        let mut x = vec![0.0; n];
        if bn == 0.0 {
            return (x, 0, 0.0);
        }
        let mut r = b.to_vec();
        let mut z = vec![0.0; n];
        self.vcycle(0, &r, &mut z);
        let mut p = z.clone();
        let mut rz = dot(&r, &z);
        let mut ap = vec![0.0; n];
        let mut res = 1.0;
        for it in 1..=max_iter {
            a.mul(&p, &mut ap);
            let alpha = rz / dot(&p, &ap);
            x.par_iter_mut()
                .zip(p.par_iter())
                .for_each(|(xi, pi)| *xi += alpha * pi);
            r.par_iter_mut()
                .zip(ap.par_iter())
                .for_each(|(ri, ai)| *ri -= alpha * ai);
            res = dot(&r, &r).sqrt() / bn;
            if res <= tol {
                return (x, it, res);
            }
            self.vcycle(0, &r, &mut z);
            let rz_new = dot(&r, &z);
            let beta = rz_new / rz;
            rz = rz_new;
            p.par_iter_mut()
                .zip(z.par_iter())
                .for_each(|(pi, zi)| *pi = zi + beta * *pi);
        }
        (x, max_iter, res)
    }
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
    fn amg_pcg_agrees_with_the_sparse_factor_in_few_iterations() {
        for (side, seed) in [(40usize, 1u64), (150, 2)] {
            let (n, e) = grid(side, seed);
            let a = Csr::from_lower(n, &e);
            let mut b = vec![0.0; n];
            b[n / 2] = 1.0;
            b[n - 1] = -0.5;
            let amg = Amg::new(&a).unwrap();
            let (x, iters, res) = amg.pcg(&a, &b, 1e-10, 200);
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
            assert!(iters <= 60, "side {side}: {iters} iterations");
            if side == 150 {
                assert!(amg.levels() >= 1, "a hierarchy for {n} unknowns");
            }
        }
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
        assert_eq!(a.diag(), [2.0, 3.0, 1.0]);
        assert_eq!(
            a.lower(),
            [(0, 0, 2.0), (1, 0, -2.0), (1, 1, 3.0), (2, 2, 1.0)]
        );
    }
}
