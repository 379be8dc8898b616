//! Resistance surface: the cost per metre of moving through each cell.
//!
//! # Input
//! Land cover (class indices), the class table's base resistance per class, factor rasters
//! with their reclassification (breaks → scores) and weights, zone membership and per-zone
//! multipliers.
//!
//! # Output
//! [`Resistance`]: per cell a finite value > 0, `+∞` for a barrier (impassable class), or NaN
//! outside the study area (also impassable).
//!
//! # Method
//! As in Chinese minimum-cumulative-resistance (MCR) studies (Yu 1996; `DESIGN.md`):
//! - weighted sum: `R = w_class · r_class + Σ_k w_k · score_k(factor_k)`;
//! - product: `R = r_class · Π_k score_k(factor_k)`;
//!
//! then multiplied by the multiplier of every zone the cell lies in (e.g. ×2 inside the urban
//! development boundary). A factor value `v` scores `scores[i]` for the first `i` with
//! `v < breaks[i]`, and the last score when `v` is at or above every break; a nodata factor cell
//! scores the lowest class, `scores[0]`.
//!
//! # Memory
//! 4 bytes per cell (`f32`).

use rayon::prelude::*;

use crate::classes::{ClassResistance, OUTSIDE};
use crate::landscape::Landscape;

/// How factors combine with the class resistance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// `w_class · r_class + Σ w_k · score_k`.
    #[default]
    WeightedSum,
    /// `r_class · Π score_k`.
    Product,
}

/// A factor's reclassification, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Reclass {
    breaks: Vec<f32>,
    scores: Vec<f32>,
    /// Weight in the weighted sum.
    pub weight: f64,
}

/// Why a reclassification or resistance options are unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResistanceError {
    /// Breaks not strictly ascending, or scores not one more than breaks.
    #[error("factor `{name}`: {what}")]
    Reclass {
        /// Factor name.
        name: String,
        /// What is wrong.
        what: String,
    },
    /// The combination gave a value that is not a usable resistance.
    #[error("resistance is {value} at row {row}, column {col} (x {x:.1}, y {y:.1}): {why}\n  hint: resistance must be finite and > 0; {hint}")]
    NotPositive {
        /// Resulting value.
        value: f64,
        /// Row.
        row: usize,
        /// Column.
        col: usize,
        /// Cell centre x.
        x: f64,
        /// Cell centre y.
        y: f64,
        /// The terms that produced it.
        why: String,
        /// The fix.
        hint: String,
    },
    /// Resistances so large that cost distances could pass the largest `f32` (3.4e38), where
    /// stored costs would turn infinite and cells would look unreachable.
    #[error("the largest resistance is {max:.3e}: over {cells} cells of {cell_size_m} m, cost distances could reach {bound:.1e}, beyond what a cost raster stores (3.4e38)\n  hint: rescale the class resistances and factor scores (e.g. divide them all by 1e6); least-cost paths do not change")]
    Overflow {
        /// Largest resistance.
        max: f64,
        /// Cells in the study area.
        cells: usize,
        /// Cell size.
        cell_size_m: f64,
        /// max × cell size × √2 × cells.
        bound: f64,
    },
    /// A zone multiplier that is not finite and > 0.
    #[error("zone multiplier for `{zone}` is {value}; it must be a finite number > 0")]
    Multiplier {
        /// Zone name.
        zone: String,
        /// Value.
        value: f64,
    },
    /// A multiplier names a zone the scenario does not have.
    #[error("[resistance.zone_multipliers] names zone `{zone}`, which is not a zone of the scenario\n  hint: zones are: {known}")]
    UnknownZone {
        /// Name given.
        zone: String,
        /// Names available.
        known: String,
    },
}

impl Reclass {
    /// Checks breaks (finite, strictly ascending: no gaps or overlaps) and scores (one more
    /// than breaks, finite, >= 0) and the weight (finite, >= 0).
    pub fn new(
        name: &str,
        breaks: &[f64],
        scores: &[f64],
        weight: f64,
    ) -> Result<Reclass, ResistanceError> {
        let err = |what: String| ResistanceError::Reclass {
            name: name.to_string(),
            what,
        };
        if breaks.iter().any(|b| !b.is_finite())
            || breaks
                .windows(2)
                .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
        {
            return Err(err(format!("breaks {breaks:?} must be finite and strictly ascending (no gaps or overlaps between classes)")));
        }
        if breaks.len() > crate::landscape::MAX_FACTOR_BREAKS {
            return Err(err(format!(
                "{} breaks; at most {} are supported (merge classes)",
                breaks.len(),
                crate::landscape::MAX_FACTOR_BREAKS
            )));
        }
        if scores.len() != breaks.len() + 1 {
            return Err(err(format!(
                "{} breaks make {} classes, but {} scores are given",
                breaks.len(),
                breaks.len() + 1,
                scores.len()
            )));
        }
        if scores.iter().any(|s| !s.is_finite() || *s < 0.0)
            || !(weight.is_finite() && weight >= 0.0)
        {
            return Err(err(format!("weight and scores must be finite numbers >= 0 (weight {weight}, scores {scores:?})")));
        }
        Ok(Reclass {
            breaks: breaks.iter().map(|&b| b as f32).collect(),
            scores: scores.iter().map(|&s| s as f32).collect(),
            weight,
        })
    }

    /// The score of a factor value (NaN scores the lowest class).
    pub fn score(&self, v: f32) -> f32 {
        self.class_score(crate::landscape::factor_class(&self.breaks, v))
    }

    /// The score of a factor class ([`crate::landscape::factor_class`] of these breaks; no
    /// data scores the lowest class).
    pub fn class_score(&self, class: u8) -> f32 {
        if class == crate::landscape::FACTOR_NODATA {
            return self.scores[0];
        }
        self.scores[class as usize]
    }

    /// The values of a factor class, for messages: `= no data`, `< 8`, `in [8, 15)`, `>= 25`.
    pub fn class_range(&self, class: u8) -> String {
        let k = class as usize;
        match (class == crate::landscape::FACTOR_NODATA, k) {
            (true, _) => "= no data".to_string(),
            (false, 0) if self.breaks.is_empty() => "(any value)".to_string(),
            (false, 0) => format!("< {}", self.breaks[0]),
            (false, k) if k == self.breaks.len() => format!(">= {}", self.breaks[k - 1]),
            (false, k) => format!("in [{}, {})", self.breaks[k - 1], self.breaks[k]),
        }
    }

    /// The breaks, as the scores compare values with them.
    pub fn breaks(&self) -> &[f32] {
        &self.breaks
    }
}

/// Options of the resistance stage (checked).
#[derive(Debug, Clone, PartialEq)]
pub struct ResistanceOptions {
    /// How to combine.
    pub combine: Combine,
    /// Weight of the class resistance in the weighted sum.
    pub class_weight: f64,
    /// One reclassification per landscape factor, in the same order.
    pub factors: Vec<Reclass>,
    /// Multiplier per zone bit (1.0 when not given).
    pub zone_multipliers: [f64; 8],
}

pub use crate::surface::{Patched, Resistance};

/// The resistance formula of one cell, for its own class or for another one (the resistance a
/// cell would have once restored).
pub struct CellModel<'a> {
    land: &'a Landscape,
    opts: &'a ResistanceOptions,
    /// Class resistance per class index (None = barrier).
    base: Vec<Option<f64>>,
    /// Product of the zone multipliers per zone bit set.
    mult: Vec<f64>,
}

impl<'a> CellModel<'a> {
    /// Prepares the formula for a landscape.
    pub fn new(land: &'a Landscape, opts: &'a ResistanceOptions) -> CellModel<'a> {
        let base = land
            .classes
            .classes()
            .iter()
            .map(|c| match c.resistance {
                ClassResistance::Finite(r) => Some(r),
                ClassResistance::Barrier => None,
            })
            .collect();
        let mult = (0..256usize)
            .map(|bits| {
                (0..8)
                    .filter(|b| bits & (1 << b) != 0)
                    .map(|b| opts.zone_multipliers[b])
                    .product()
            })
            .collect();
        CellModel {
            land,
            opts,
            base,
            mult,
        }
    }

    /// Resistance of cell `i` if it were of class `cls`: NaN outside the study area, `+∞` for
    /// barrier classes.
    pub fn value(&self, i: usize, cls: crate::classes::ClassIdx) -> f32 {
        let land = self.land;
        let opts = self.opts;
        if cls == OUTSIDE {
            return f32::NAN;
        }
        let Some(rc) = self.base[cls as usize] else {
            return f32::INFINITY;
        };
        let v = match opts.combine {
            Combine::WeightedSum => {
                opts.class_weight * rc
                    + land
                        .factors
                        .iter()
                        .zip(&opts.factors)
                        .map(|(f, rc)| rc.weight * rc.class_score(f.classes[i]) as f64)
                        .sum::<f64>()
            }
            Combine::Product => {
                rc * land
                    .factors
                    .iter()
                    .zip(&opts.factors)
                    .map(|(f, rc)| rc.class_score(f.classes[i]) as f64)
                    .product::<f64>()
            }
        };
        (v * self.mult[land.zone_bits[i] as usize]) as f32
    }
}

/// Builds the resistance surface.
///
/// # Errors
/// [`ResistanceError::NotPositive`] for the first cell (row-major) whose resistance is not
/// finite and > 0, naming the class, the factor scores and the multipliers that produced it.
///
/// # Complexity
/// O(cells × factors), parallel over rows.
pub fn build(land: &Landscape, opts: &ResistanceOptions) -> Result<Resistance, ResistanceError> {
    let model = CellModel::new(land, opts);
    let (base, mult) = (&model.base, &model.mult);
    let classes = land.classes.classes();
    let cols = land.grid.cols();
    let mut values = vec![0f32; land.grid.len()];
    values
        .par_chunks_mut(cols)
        .enumerate()
        .for_each(|(r, row)| {
            for (c, out) in row.iter_mut().enumerate() {
                let i = r * cols + c;
                *out = model.value(i, land.landcover[i]);
            }
        });
    // Inside the study area, a passable class must give a finite value > 0 (a huge product can
    // overflow f32 to +inf, a zero score or weight can give 0).
    let bad = values.iter().enumerate().position(|(i, &v)| {
        let cls = land.landcover[i];
        cls != OUTSIDE && base[cls as usize].is_some() && !(v.is_finite() && v > 0.0)
    });
    if let Some(i) = bad {
        let (row, col) = (i / cols, i % cols);
        let (x, y) = land.grid.cell_center(row, col);
        let class = &classes[land.landcover[i] as usize];
        let mut terms = vec![format!(
            "class {} ({}) resistance {:?}",
            class.code,
            class.name,
            base[land.landcover[i] as usize].unwrap_or(f64::INFINITY)
        )];
        for (f, rc) in land.factors.iter().zip(&opts.factors) {
            terms.push(format!(
                "{} {} scores {} (weight {})",
                f.name,
                rc.class_range(f.classes[i]),
                rc.class_score(f.classes[i]),
                rc.weight
            ));
        }
        terms.push(format!(
            "zone multiplier {}",
            mult[land.zone_bits[i] as usize]
        ));
        let hint = match opts.combine {
            Combine::Product => {
                "in a product any score of 0 makes the resistance 0: give every class a score > 0"
                    .to_string()
            }
            Combine::WeightedSum => "give the class weight or the scores values > 0".to_string(),
        };
        return Err(ResistanceError::NotPositive {
            value: values[i] as f64,
            row,
            col,
            x,
            y,
            why: terms.join(", "),
            hint,
        });
    }
    let range = crate::surface::finite_range(&values);
    // The longest possible path visits every cell once at the largest step cost.
    let cells = values.iter().filter(|v| v.is_finite()).count();
    let cs = land.grid.cell_size_m();
    let bound = range.1 as f64 * cs * std::f64::consts::SQRT_2 * cells as f64;
    if bound > f32::MAX as f64 {
        return Err(ResistanceError::Overflow {
            max: range.1 as f64,
            cells,
            cell_size_m: cs,
            bound,
        });
    }
    Ok(Resistance::from_checked(values, range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_half_open_breaks() {
        let r = Reclass::new("slope", &[8.0, 15.0, 25.0], &[1.0, 10.0, 30.0, 60.0], 0.3).unwrap();
        assert_eq!(r.score(0.0), 1.0);
        assert_eq!(r.score(7.99), 1.0);
        assert_eq!(r.score(8.0), 10.0);
        assert_eq!(r.score(24.9), 30.0);
        assert_eq!(r.score(25.0), 60.0);
        assert_eq!(r.score(89.0), 60.0);
        assert_eq!(r.score(f32::NAN), 1.0);
        // Held as classes, the same scores.
        for v in [0.0, 7.99, 8.0, 14.9, 15.0, 24.9, 25.0, 89.0, f32::NAN] {
            let class = crate::landscape::factor_class(r.breaks(), v);
            assert_eq!(r.class_score(class).to_bits(), r.score(v).to_bits(), "{v}");
        }
        let range = |v: f32| r.class_range(crate::landscape::factor_class(r.breaks(), v));
        assert_eq!(range(3.0), "< 8");
        assert_eq!(range(8.0), "in [8, 15)");
        assert_eq!(range(30.0), ">= 25");
        assert_eq!(range(f32::NAN), "= no data");
    }

    #[test]
    fn overlapping_or_gapped_breaks_are_refused() {
        assert!(Reclass::new("s", &[8.0, 8.0], &[1.0, 2.0, 3.0], 1.0).is_err());
        assert!(Reclass::new("s", &[15.0, 8.0], &[1.0, 2.0, 3.0], 1.0).is_err());
        assert!(Reclass::new("s", &[8.0], &[1.0], 1.0)
            .unwrap_err()
            .to_string()
            .contains("1 breaks make 2 classes, but 1 scores"));
        assert!(Reclass::new("s", &[8.0], &[1.0, 2.0], f64::NAN).is_err());
        // Classes are held in one byte per cell: at most 254 breaks.
        let breaks: Vec<f64> = (0..254).map(f64::from).collect();
        let scores = vec![1.0; 255];
        assert!(Reclass::new("s", &breaks, &scores, 1.0).is_ok());
        let breaks: Vec<f64> = (0..255).map(f64::from).collect();
        let scores = vec![1.0; 256];
        assert!(Reclass::new("s", &breaks, &scores, 1.0)
            .unwrap_err()
            .to_string()
            .contains("255 breaks; at most 254"));
    }

    #[test]
    fn resistance_values_cannot_be_zero_negative_or_minus_infinity() {
        assert!(Resistance::from_values(vec![1.0, f32::INFINITY, f32::NAN]).is_ok());
        assert_eq!(Resistance::from_values(vec![1.0, 0.0]), Err((1, 0.0)));
        assert!(Resistance::from_values(vec![-1.0]).is_err());
        assert!(Resistance::from_values(vec![f32::NEG_INFINITY]).is_err());
    }
}
