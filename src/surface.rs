//! The resistance surface as a model type: a value per cell that is finite and > 0, `+∞`
//! (barrier) or NaN (outside the study area). The cost-distance engine reads it; the
//! resistance stage builds it.

/// A resistance surface: per cell finite > 0, `+∞` (barrier) or NaN (outside).
#[derive(Debug, Clone, PartialEq)]
pub struct Resistance {
    values: Vec<f32>,
    /// Smallest and largest finite value (`(+∞, 0)` when no cell is passable).
    range: (f32, f32),
}

/// Smallest and largest finite value (`(+∞, 0)` when none is finite).
pub(crate) fn finite_range(values: &[f32]) -> (f32, f32) {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

impl Resistance {
    /// Checks and wraps values: each must be finite and > 0, `+∞` or NaN.
    pub fn from_values(values: Vec<f32>) -> Result<Resistance, (usize, f32)> {
        if let Some((i, &v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_nan() || **v > 0.0))
        {
            return Err((i, v));
        }
        let range = finite_range(&values);
        Ok(Resistance { values, range })
    }

    /// Wraps values already checked, with their finite range.
    pub(crate) fn from_checked(values: Vec<f32>, range: (f32, f32)) -> Resistance {
        debug_assert_eq!(range, finite_range(&values));
        Resistance { values, range }
    }

    /// Sets `cells` to `values` in place and returns their old values (for [`Self::unpatch`]).
    /// The finite range only widens, so it stays a valid bound after the values go back
    /// (the cost-distance engine needs bounds, not the exact extremes).
    ///
    /// # Errors
    /// A value that is not a resistance (`> 0`, `+∞` or NaN): its position in `values`.
    pub fn patch(&mut self, cells: &[u32], values: &[f32]) -> Result<Vec<f32>, (usize, f32)> {
        if let Some((k, &v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_nan() || **v > 0.0))
        {
            return Err((k, v));
        }
        let old = cells.iter().map(|&c| self.values[c as usize]).collect();
        for (&c, &v) in cells.iter().zip(values) {
            self.values[c as usize] = v;
            if v.is_finite() {
                self.range = (self.range.0.min(v), self.range.1.max(v));
            }
        }
        Ok(old)
    }

    /// Puts back the values [`Self::patch`] returned.
    pub fn unpatch(&mut self, cells: &[u32], old: &[f32]) {
        for (&c, &v) in cells.iter().zip(old) {
            self.values[c as usize] = v;
        }
    }

    /// Values per cell.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Smallest and largest finite resistance (`(+∞, 0)` when no cell is passable).
    pub fn range(&self) -> (f32, f32) {
        self.range
    }

    /// Whether the cell can be entered.
    pub fn passable(&self, i: usize) -> bool {
        self.values[i].is_finite()
    }
}
