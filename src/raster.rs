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

/// Values on a few cells of a grid: the cells that hold one (ascending) and their values;
/// every other cell is NaN. 8 bytes per cell held instead of 4 per grid cell, for layers that
/// cover little of the grid (the pinch points lie in the corridor zones: 8.1% of the city
/// cluster's 10^8 cells).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparseF32 {
    len: usize,
    cells: Vec<u32>,
    values: Vec<f32>,
}

impl SparseF32 {
    /// The non-NaN cells of `dense`.
    ///
    /// # Panics
    /// When `dense` has more than `u32::MAX` cells.
    pub fn from_dense(dense: &[f32]) -> SparseF32 {
        assert!(
            dense.len() <= u32::MAX as usize + 1,
            "too many cells for u32 ids"
        );
        let (cells, values) = dense
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(|(i, &v)| (i as u32, v))
            .unzip();
        SparseF32 {
            len: dense.len(),
            cells,
            values,
        }
    }

    /// The value of a cell (NaN where none is held or beyond the grid).
    pub fn get(&self, cell: usize) -> f32 {
        u32::try_from(cell)
            .ok()
            .and_then(|c| self.cells.binary_search(&c).ok())
            .map_or(f32::NAN, |k| self.values[k])
    }

    /// Every cell's value, NaN where none is held.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![f32::NAN; self.len];
        for (&c, &v) in self.cells.iter().zip(&self.values) {
            out[c as usize] = v;
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

    /// The cells holding a value (ascending) and their values.
    pub fn entries(&self) -> impl Iterator<Item = (usize, f32)> + '_ {
        self.cells
            .iter()
            .zip(&self.values)
            .map(|(&c, &v)| (c as usize, v))
    }
}

#[cfg(test)]
mod sparse_tests {
    use super::SparseF32;

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
    }
}
