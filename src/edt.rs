//! Exact Euclidean distance transform: for every cell, the squared distance (in cells) to the
//! nearest feature cell, centre to centre.
//!
//! # Method
//! Felzenszwalb & Huttenlocher (2012), *Distance Transforms of Sampled Functions*, Theory of
//! Computing 8: 415-428: a 1-D pass down the columns (done row by row over all columns at
//! once, so memory is read in order), then, for each row in parallel, the lower envelope of
//! the parabolas `(x - q)² + g(q)²`.
//!
//! Cells beyond the grid are not features. Distances are exact integers (`u32`: exact for any
//! grid of up to 46,000 × 46,000 cells); [`NO_FEATURE`] where the grid has no feature at all.
//!
//! # Memory
//! 4 bytes per cell for the result, plus O(cols) per thread.

use rayon::prelude::*;

/// Squared distance of cells when the grid has no feature cell.
pub const NO_FEATURE: u32 = u32::MAX;

/// Squared Euclidean distance (cells²) from each cell to the nearest cell where `feature` is
/// true.
///
/// # Complexity
/// O(cells), the row pass parallel.
pub fn squared_distance(
    rows: usize,
    cols: usize,
    feature: impl Fn(usize) -> bool + Sync,
) -> Vec<u32> {
    // Column pass: vertical distance to the nearest feature in the same column.
    const FAR: u32 = u32::MAX / 4;
    let mut g = vec![FAR; rows * cols];
    let mut last = vec![FAR; cols];
    for (r, grow) in g.chunks_mut(cols).enumerate() {
        for (c, (l, out)) in last.iter_mut().zip(grow.iter_mut()).enumerate() {
            if feature(r * cols + c) {
                *l = 0;
            } else if *l != FAR {
                *l += 1;
            }
            *out = *l;
        }
    }
    last.fill(FAR);
    for grow in g.chunks_mut(cols).rev() {
        for (l, out) in last.iter_mut().zip(grow.iter_mut()) {
            if *out == 0 {
                *l = 0;
            } else if *l != FAR {
                *l += 1;
            }
            *out = (*out).min(*l);
        }
    }
    // Row pass: lower envelope of parabolas.
    g.par_chunks_mut(cols).for_each_init(
        || (vec![0usize; cols], vec![0f64; cols + 1], vec![0u64; cols]),
        |(v, z, f), row| {
            for (fi, &gi) in f.iter_mut().zip(row.iter()) {
                *fi = if gi == FAR {
                    u64::MAX
                } else {
                    gi as u64 * gi as u64
                };
            }
            let finite: Vec<usize> = (0..cols).filter(|&q| f[q] != u64::MAX).collect();
            if finite.is_empty() {
                row.fill(NO_FEATURE);
                return;
            }
            let mut k = 0usize;
            v[0] = finite[0];
            z[0] = f64::NEG_INFINITY;
            z[1] = f64::INFINITY;
            for &q in &finite[1..] {
                loop {
                    let p = v[k];
                    let s = ((f[q] as f64 + (q * q) as f64) - (f[p] as f64 + (p * p) as f64))
                        / (2.0 * (q as f64 - p as f64));
                    if s <= z[k] && k > 0 {
                        k -= 1;
                    } else {
                        k += 1;
                        v[k] = q;
                        z[k] = s;
                        z[k + 1] = f64::INFINITY;
                        break;
                    }
                }
            }
            let mut k = 0usize;
            for (x, out) in row.iter_mut().enumerate() {
                while z[k + 1] < x as f64 {
                    k += 1;
                }
                let q = v[k];
                let d = (x as i64 - q as i64).unsigned_abs();
                *out = u32::try_from(d * d + f[q]).unwrap_or(NO_FEATURE - 1);
            }
        },
    );
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute(rows: usize, cols: usize, m: &[bool]) -> Vec<u32> {
        (0..rows * cols)
            .map(|i| {
                let (r, c) = ((i / cols) as i64, (i % cols) as i64);
                m.iter()
                    .enumerate()
                    .filter(|(_, &f)| f)
                    .map(|(j, _)| {
                        let (rr, cc) = ((j / cols) as i64, (j % cols) as i64);
                        ((r - rr).pow(2) + (c - cc).pow(2)) as u32
                    })
                    .min()
                    .unwrap_or(NO_FEATURE)
            })
            .collect()
    }

    #[test]
    fn a_single_feature_gives_squared_distances() {
        let m: Vec<bool> = (0..25).map(|i| i == 12).collect();
        let d = squared_distance(5, 5, |i| m[i]);
        assert_eq!(d[12], 0);
        assert_eq!(d[0], 8);
        assert_eq!(d[2], 4);
        assert_eq!(d[24], 8);
    }

    #[test]
    fn no_feature_means_no_distance() {
        assert!(squared_distance(3, 4, |_| false)
            .iter()
            .all(|&d| d == NO_FEATURE));
    }

    proptest! {
        #[test]
        fn distances_match_brute_force(bits in proptest::collection::vec(proptest::bool::weighted(0.15), 1..=300), cols in 1usize..30) {
            let rows = bits.len().div_ceil(cols);
            let mut m = bits.clone();
            m.resize(rows * cols, false);
            prop_assert_eq!(squared_distance(rows, cols, |i| m[i]), brute(rows, cols, &m));
        }
    }
}
