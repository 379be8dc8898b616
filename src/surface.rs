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

    /// `cells` set to `values` in place until the returned guard is dropped, which puts the
    /// old values and the finite range back: a changed surface without a copy of the grid (4
    /// bytes per cell). As with [`Resistance::patch`], the finite range only widens while
    /// patched (a bound, which is all the cost-distance engine needs).
    ///
    /// # Errors
    /// A value that is not a resistance (`> 0`, `+∞` or NaN): its position in `values`; the
    /// surface is then unchanged.
    pub fn patched(&mut self, cells: &[u32], values: &[f32]) -> Result<Patched<'_>, (usize, f32)> {
        let range = self.range;
        let old = self.patch(cells, values)?;
        Ok(Patched {
            res: self,
            cells: cells.to_vec(),
            old,
            range,
        })
    }

    /// [`Resistance::patched`], the surface while patched being the one
    /// [`Resistance::from_values`] would make of the changed values, its finite range
    /// included (read again from the grid only when a changed cell held one of its ends).
    ///
    /// # Errors
    /// As [`Resistance::patched`].
    pub fn patched_exact(
        &mut self,
        cells: &[u32],
        values: &[f32],
    ) -> Result<Patched<'_>, (usize, f32)> {
        let (lo, hi) = self.range;
        let ends_changed = cells.iter().zip(values).any(|(&c, &v)| {
            let now = self.values[c as usize];
            now.to_bits() != v.to_bits() && (now == lo || now == hi)
        });
        let p = self.patched(cells, values)?;
        if ends_changed {
            p.res.range = finite_range(&p.res.values);
        }
        Ok(p)
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

/// A surface changed in place by [`Resistance::patched`]; dropping it (also while a panic
/// unwinds) puts the old values and the finite range back. Derefs to the changed surface;
/// further [`Resistance::patch`]es through it must be undone before it is dropped.
#[derive(Debug)]
pub struct Patched<'a> {
    res: &'a mut Resistance,
    cells: Vec<u32>,
    old: Vec<f32>,
    range: (f32, f32),
}

impl std::ops::Deref for Patched<'_> {
    type Target = Resistance;
    fn deref(&self) -> &Resistance {
        self.res
    }
}

impl std::ops::DerefMut for Patched<'_> {
    fn deref_mut(&mut self) -> &mut Resistance {
        self.res
    }
}

impl Patched<'_> {
    /// Keeps the changes: the surface stays as patched, with its finite range then.
    pub fn keep(mut self) {
        self.cells.clear();
        self.old.clear();
        self.range = self.res.range;
    }
}

impl Drop for Patched<'_> {
    fn drop(&mut self) {
        self.res.unpatch(&self.cells, &self.old);
        self.res.range = self.range;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bits(r: &Resistance) -> Vec<u32> {
        r.values().iter().map(|v| v.to_bits()).collect()
    }

    proptest! {
        /// Patched in place, the surface equals the one built from the changed values (its
        /// range included; only a bound of it with `patched`), and dropping the guard gives
        /// back the surface bit for bit.
        #[test]
        fn patched_equals_a_changed_copy_and_is_undone(
            base in prop::collection::vec(prop_oneof![
                4 => 1f32..100.0,
                1 => Just(f32::INFINITY),
                1 => Just(f32::NAN),
            ], 1..60),
            changes in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![
                4 => 0.5f32..200.0,
                1 => Just(f32::INFINITY),
            ]), 0..10),
        ) {
            let mut res = Resistance::from_values(base.clone()).unwrap();
            let before = (res.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>(), res.range());
            // Distinct cells, as a plan's changes are.
            let mut seen = std::collections::BTreeMap::new();
            for (i, v) in changes {
                seen.insert(i.index(base.len()) as u32, v);
            }
            let (cells, values): (Vec<u32>, Vec<f32>) = seen.into_iter().unzip();
            let mut copy = base.clone();
            for (&c, &v) in cells.iter().zip(&values) {
                copy[c as usize] = v;
            }
            let want = Resistance::from_values(copy).unwrap();
            {
                let p = res.patched_exact(&cells, &values).unwrap();
                prop_assert_eq!(bits(&p), bits(&want));
                prop_assert_eq!(p.range(), want.range());
            }
            {
                let p = res.patched(&cells, &values).unwrap();
                let (lo, hi) = p.range();
                prop_assert!(lo <= want.range().0 && hi >= want.range().1);
            }
            // Kept, the changes stay: the surface is the changed copy.
            let mut kept = res.clone();
            kept.patched_exact(&cells, &values).unwrap().keep();
            prop_assert_eq!(bits(&kept), bits(&want));
            prop_assert_eq!(kept.range(), want.range());
            prop_assert_eq!((res.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>(), res.range()), before);
        }
    }

    #[test]
    fn a_bad_value_leaves_the_surface_unchanged() {
        let mut res = Resistance::from_values(vec![1.0, 2.0, 3.0]).unwrap();
        assert_eq!(res.patched(&[0, 1], &[5.0, -1.0]).unwrap_err(), (1, -1.0));
        assert_eq!(
            res.patched_exact(&[0, 1], &[5.0, -1.0]).unwrap_err(),
            (1, -1.0)
        );
        assert_eq!(res.values(), &[1.0, 2.0, 3.0]);
        assert_eq!(res.range(), (1.0, 3.0));
    }
}
