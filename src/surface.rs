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
