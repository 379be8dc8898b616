//! A single-band raster held in memory: a [`Grid`] and one value per cell, row-major.

use crate::grid::Grid;

/// A grid and its cell values (`data.len() == grid.len()`, enforced by the constructor).
#[derive(Debug, Clone, PartialEq)]
pub struct Raster<T> {
    grid: Grid,
    data: Vec<T>,
}

/// The data length does not match the grid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("raster data has {len} values but the grid has {cells} cells")]
pub struct LengthMismatch {
    /// Values given.
    pub len: usize,
    /// Cells of the grid.
    pub cells: usize,
}

impl<T> Raster<T> {
    /// Pairs a grid with its data, checking the length.
    pub fn new(grid: Grid, data: Vec<T>) -> Result<Raster<T>, LengthMismatch> {
        if data.len() != grid.len() {
            return Err(LengthMismatch {
                len: data.len(),
                cells: grid.len(),
            });
        }
        Ok(Raster { grid, data })
    }

    /// A raster with every cell set to `value`.
    pub fn filled(grid: Grid, value: T) -> Raster<T>
    where
        T: Clone,
    {
        let data = vec![value; grid.len()];
        Raster { grid, data }
    }

    /// The grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Cell values, row-major.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// Mutable cell values (the length cannot change).
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// The value of cell (row, col).
    pub fn get(&self, row: usize, col: usize) -> &T {
        &self.data[row * self.grid.cols() + col]
    }

    /// Splits into grid and data.
    pub fn into_parts(self) -> (Grid, Vec<T>) {
        (self.grid, self.data)
    }

    /// A raster on the same grid with every value mapped.
    pub fn map<U>(&self, f: impl FnMut(&T) -> U) -> Raster<U> {
        Raster {
            grid: self.grid.clone(),
            data: self.data.iter().map(f).collect(),
        }
    }
}

/// Values on a few cells of a grid: the cells that hold one (ascending) and their values.
/// `4 + size_of::<T>()` bytes per cell held instead of `size_of::<T>()` per grid cell, for
/// layers that cover little of the grid (the corridor raster and the pinch points lie in the
/// corridor zones, 8.1% of the city cluster's 10^8 cells; parks cover less).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sparse<T> {
    len: usize,
    cells: Vec<u32>,
    values: Vec<T>,
}

/// An `f32` layer held on a few cells; NaN elsewhere.
pub type SparseF32 = Sparse<f32>;

impl<T: Copy> Sparse<T> {
    /// The cells of `dense` whose value `keep` accepts.
    ///
    /// # Panics
    /// When `dense` has more than `u32::MAX` cells.
    pub fn from_dense_where(dense: &[T], keep: impl Fn(T) -> bool) -> Sparse<T> {
        assert!(
            dense.len() <= u32::MAX as usize + 1,
            "too many cells for u32 ids"
        );
        let (cells, values) = dense
            .iter()
            .enumerate()
            .filter(|(_, &v)| keep(v))
            .map(|(i, &v)| (i as u32, v))
            .unzip();
        Sparse {
            len: dense.len(),
            cells,
            values,
        }
    }

    /// A layer of `len` cells holding `entries` (cells ascending, each once).
    ///
    /// # Panics
    /// When the cells are not ascending or one is beyond the grid.
    pub fn from_entries(len: usize, entries: Vec<(u32, T)>) -> Sparse<T> {
        assert!(
            entries.windows(2).all(|w| w[0].0 < w[1].0)
                && entries.last().is_none_or(|e| (e.0 as usize) < len),
            "cells must be ascending and on the grid"
        );
        let (cells, values) = entries.into_iter().unzip();
        Sparse { len, cells, values }
    }

    /// The value held at a cell, if any.
    pub fn find(&self, cell: usize) -> Option<T> {
        u32::try_from(cell)
            .ok()
            .and_then(|c| self.cells.binary_search(&c).ok())
            .map(|k| self.values[k])
    }

    /// The same cells with each value mapped.
    pub fn map_values<U>(self, f: impl Fn(T) -> U) -> Sparse<U> {
        Sparse {
            len: self.len,
            cells: self.cells,
            values: self.values.into_iter().map(f).collect(),
        }
    }

    /// Whether each cell of the grid holds a value (1 byte per cell).
    pub fn mask(&self) -> Vec<bool> {
        let mut out = vec![false; self.len];
        for &c in &self.cells {
            out[c as usize] = true;
        }
        out
    }

    /// Cells of the grid.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the grid has no cells.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many cells hold a value.
    pub fn held(&self) -> usize {
        self.cells.len()
    }

    /// The cells holding a value (ascending) and their values.
    pub fn entries(&self) -> impl Iterator<Item = (usize, T)> + '_ {
        self.cells
            .iter()
            .zip(&self.values)
            .map(|(&c, &v)| (c as usize, v))
    }

    /// Cells `start..start + out.len()` into `out`: the values held there, `fill` elsewhere (a
    /// strip of the dense layer, for writers that go strip by strip).
    pub fn fill_range(&self, start: usize, out: &mut [T], fill: T) {
        out.fill(fill);
        for (c, v) in self.entries_in(start..start + out.len()) {
            out[c - start] = v;
        }
    }

    /// Every cell's value, `fill` where none is held.
    pub fn to_dense_or(&self, fill: T) -> Vec<T> {
        let mut out = vec![fill; self.len];
        self.fill_range(0, &mut out, fill);
        out
    }

    /// [`Sparse::entries`] of the cells in `cells` (found by a binary search).
    pub fn entries_in(
        &self,
        cells: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (usize, T)> + '_ {
        let at = |c: usize| self.cells.partition_point(|&x| (x as usize) < c);
        let (a, b) = (at(cells.start), at(cells.end));
        self.cells[a..b]
            .iter()
            .zip(&self.values[a..b])
            .map(|(&c, &v)| (c as usize, v))
    }
}

impl Sparse<f32> {
    /// The non-NaN cells of `dense`.
    ///
    /// # Panics
    /// When `dense` has more than `u32::MAX` cells.
    pub fn from_dense(dense: &[f32]) -> SparseF32 {
        Sparse::from_dense_where(dense, |v| !v.is_nan())
    }

    /// The finite cells of `dense` (`+∞` and NaN are not held).
    ///
    /// # Panics
    /// When `dense` has more than `u32::MAX` cells.
    pub fn from_finite(dense: &[f32]) -> SparseF32 {
        Sparse::from_dense_where(dense, f32::is_finite)
    }

    /// The value of a cell (NaN where none is held or beyond the grid).
    pub fn get(&self, cell: usize) -> f32 {
        self.find(cell).unwrap_or(f32::NAN)
    }

    /// Every cell's value, NaN where none is held.
    pub fn to_dense(&self) -> Vec<f32> {
        self.to_dense_or(f32::NAN)
    }
}

#[cfg(test)]
mod sparse_tests {
    use super::SparseF32;

    #[test]
    fn a_filled_range_is_that_slice_of_the_dense_layer() {
        let dense: Vec<u32> = (0..40).map(|i| if i % 5 == 2 { i } else { 0 }).collect();
        let s = super::Sparse::from_dense_where(&dense, |v| v != 0);
        assert_eq!(s.to_dense_or(0), dense);
        for a in 0..=40 {
            for b in a..=40 {
                let mut out = vec![99u32; b - a];
                s.fill_range(a, &mut out, 0);
                assert_eq!(out, &dense[a..b], "{a}..{b}");
            }
        }
    }

    #[test]
    fn entries_in_a_range_are_those_of_every_entry_in_it() {
        let dense: Vec<f32> = (0..50)
            .map(|i| if i % 7 == 3 { i as f32 } else { f32::NAN })
            .collect();
        let s = SparseF32::from_dense(&dense);
        for a in 0..=50 {
            for b in a..=50 {
                let got: Vec<(usize, f32)> = s.entries_in(a..b).collect();
                let want: Vec<(usize, f32)> =
                    s.entries().filter(|&(c, _)| (a..b).contains(&c)).collect();
                assert_eq!(got, want, "{a}..{b}");
            }
        }
    }

    #[test]
    fn sparse_layers_keep_every_value_and_nan_elsewhere() {
        let dense = [f32::NAN, 1.5, f32::NAN, 0.0, f32::INFINITY, -2.0, f32::NAN];
        let s = SparseF32::from_dense(&dense);
        assert_eq!(s.len(), 7);
        let back = s.to_dense();
        for (i, (&a, &b)) in dense.iter().zip(&back).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "cell {i}");
            assert_eq!(s.get(i).to_bits(), a.to_bits(), "cell {i}");
        }
        assert!(s.get(7).is_nan() && s.get(usize::MAX).is_nan());
        let e: Vec<(usize, f32)> = s.entries().collect();
        assert_eq!(e, vec![(1, 1.5), (3, 0.0), (4, f32::INFINITY), (5, -2.0)]);
        assert!(SparseF32::from_dense(&[]).is_empty());
        // Finite values only: +inf is not held either.
        let f = SparseF32::from_finite(&dense);
        let e: Vec<(usize, f32)> = f.entries().collect();
        assert_eq!(e, vec![(1, 1.5), (3, 0.0), (5, -2.0)]);
        assert_eq!(f.mask(), vec![false, true, false, true, false, true, false]);
        assert!(f.get(4).is_nan());
        assert_eq!((f.held(), f.find(3), f.find(4)), (3, Some(0.0), None));
        // Any value type: ids held where non-zero.
        let ids = super::Sparse::from_dense_where(&[0u32, 7, 0, 0, 9], |v| v != 0);
        assert_eq!(ids.entries().collect::<Vec<_>>(), vec![(1, 7), (4, 9)]);
        assert_eq!(
            (ids.find(1), ids.find(2), ids.find(4)),
            (Some(7), None, Some(9))
        );
    }
}
