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
