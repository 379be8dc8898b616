//! Ecological sources: habitat patches, each with an id, and the patch table.
//!
//! # Input
//! The landscape, the resistance surface and a [`SourceMethod`]:
//! - **habitat**: cells of habitat classes grouped into 8- (or 4-) connected components, kept
//!   when their area reaches `min_area_ha`; optionally only the **core**: cells farther than
//!   `edge_width_m` (centre to centre, exact Euclidean distance) from any non-habitat cell, as
//!   MSPA's core class (Soille & Vogt 2009); optionally only the N largest;
//! - **polygons**: a polygon layer (nature reserves, forest parks, urban parks) burned by the
//!   cell-centre rule, one patch per feature (later features win where they overlap);
//! - **raster**: a patch-id raster on the same grid (non-zero cells; value = patch id).
//!
//! Cells outside the study area never belong to a patch and count as non-habitat; beyond the
//! grid border is unknown and is not an edge for the core.
//!
//! # Output
//! [`Sources`]: patch id per cell (0 = none; ids 1..=n in row-major order of each patch's
//! first cell for derived patches) and one [`Patch`] row per patch.
//!
//! # Memory
//! 4 bytes per cell for the ids, plus 4 for the labelling and 4 for the distance transform
//! while deriving.

use crate::classes::{ClassIdx, OUTSIDE};
use crate::edt::squared_distance;
use crate::label::label;
use crate::landscape::Landscape;
use crate::resistance::Resistance;

/// How sources are made.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceMethod {
    /// From habitat classes.
    Habitat {
        /// Smallest patch kept, ha (a patch of exactly this area is kept).
        min_area_ha: f64,
        /// 8-connectivity (else 4).
        eight: bool,
        /// Edge width for the core, m (0: the whole patch is core).
        edge_width_m: f64,
        /// Patches are the core only.
        core_only: bool,
        /// Keep only the N largest (0: all).
        largest: usize,
    },
    /// Given patch ids per cell (from polygons or a raster), 0 = none.
    Given {
        /// Patch id per cell.
        ids: Vec<u32>,
        /// Edge width for the core area column, m.
        edge_width_m: f64,
        /// Where they came from, for messages.
        origin: String,
    },
}

/// One row of `patches.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    /// Id (as in `sources.tif`).
    pub id: u32,
    /// Cells.
    pub cells: u64,
    /// Area, ha.
    pub area_ha: f64,
    /// Core area (cells farther than the edge width from non-habitat), ha.
    pub core_area_ha: f64,
    /// Perimeter (cell sides facing another patch, non-patch or the grid border), m.
    pub perimeter_m: f64,
    /// Centroid x (map units).
    pub centroid_x: f64,
    /// Centroid y (map units).
    pub centroid_y: f64,
    /// Mean resistance of its passable cells.
    pub mean_resistance: f64,
    /// Carbon stock (four pools), t C.
    pub carbon_stock_tc: f64,
    /// Most frequent class (lowest index on ties).
    pub dominant_class: ClassIdx,
}

/// The sources of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Sources {
    /// Patch id per cell, 0 = none.
    pub ids: Vec<u32>,
    /// Patches in id order.
    pub patches: Vec<Patch>,
}

/// Why no usable sources came out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourcesError {
    /// No class is habitat.
    #[error("no class of the class table is marked as habitat (habitat = 1), so no source can be derived\n  hint: mark the habitat classes in the class table, or give sources as polygons or a patch raster ([sources] method = \"polygons\" or \"raster\")")]
    NoHabitatClass,
    /// No patch is large enough.
    #[error("no habitat patch reaches min_area_ha = {min_area_ha} ha; the largest has {largest_ha:.2} ha ({n} patches in all)\n  hint: lower [sources] min_area_ha to at most {largest_ha:.2}{}", if *eight { "" } else { ", or join diagonal neighbours with connectivity = 8" })]
    TooSmall {
        /// Whether 8-connectivity was used.
        eight: bool,
        /// Threshold.
        min_area_ha: f64,
        /// Largest patch area.
        largest_ha: f64,
        /// Candidate patches.
        n: u32,
    },
    /// No habitat cell at all.
    #[error("the study area has no habitat cell{core}\n  hint: check the habitat column of the class table{fix}")]
    NoHabitatCell {
        /// " farther than X m from non-habitat" when core-only.
        core: String,
        /// Extra fix.
        fix: String,
    },
    /// Given sources have no cell inside the study area.
    #[error("the sources from {origin} cover no cell of the study area\n  hint: check that they overlap the land cover and use ids > 0")]
    Empty {
        /// Where they came from.
        origin: String,
    },
    /// Bad option.
    #[error("[sources] {0}")]
    Option(String),
}

/// Derives or takes the sources and computes the patch table.
///
/// # Errors
/// [`SourcesError`] when no source remains, saying how large the largest patch was.
///
/// # Complexity
/// O(cells).
pub fn build(
    land: &Landscape,
    res: &Resistance,
    method: &SourceMethod,
) -> Result<Sources, SourcesError> {
    let (rows, cols) = (land.grid.rows(), land.grid.cols());
    let cell_ha = land.grid.cell_area_ha();
    let habitat: Vec<bool> = land.classes.classes().iter().map(|c| c.habitat).collect();
    let is_habitat = |i: usize| {
        let c = land.landcover[i];
        c != OUTSIDE && habitat[c as usize]
    };
    let (ids, core): (Vec<u32>, Option<Vec<bool>>) = match method {
        SourceMethod::Habitat {
            min_area_ha,
            eight,
            edge_width_m,
            core_only,
            largest,
        } => {
            if !(min_area_ha.is_finite() && *min_area_ha >= 0.0) {
                return Err(SourcesError::Option(format!(
                    "min_area_ha = {min_area_ha}; give an area >= 0 in hectares"
                )));
            }
            if !(edge_width_m.is_finite() && *edge_width_m >= 0.0) {
                return Err(SourcesError::Option(format!(
                    "edge_width_m = {edge_width_m}; give a width >= 0 in metres"
                )));
            }
            if !habitat.iter().any(|&h| h) {
                return Err(SourcesError::NoHabitatClass);
            }
            let core = core_mask(land, &is_habitat, *edge_width_m);
            let member = |i: usize| {
                if *core_only {
                    core.as_ref().map_or(is_habitat(i), |c| c[i])
                } else {
                    is_habitat(i)
                }
            };
            let lab = label(rows, cols, member, *eight);
            if lab.count == 0 {
                return Err(SourcesError::NoHabitatCell {
                    core: if *core_only && *edge_width_m > 0.0 {
                        format!(" farther than {edge_width_m} m from non-habitat")
                    } else {
                        String::new()
                    },
                    fix: if *core_only {
                        ", or lower edge_width_m".into()
                    } else {
                        String::new()
                    },
                });
            }
            let mut sizes = vec![0u64; lab.count as usize + 1];
            for &id in &lab.ids {
                sizes[id as usize] += 1;
            }
            // Keep patches reaching the area (in cells, so "exactly at the limit" is exact).
            let min_cells = (min_area_ha / cell_ha - 1e-9).ceil().max(1.0) as u64;
            let mut kept: Vec<u32> = (1..=lab.count)
                .filter(|&id| sizes[id as usize] >= min_cells)
                .collect();
            if kept.is_empty() {
                let largest_cells = sizes[1..].iter().copied().max().unwrap_or(0);
                return Err(SourcesError::TooSmall {
                    eight: *eight,
                    min_area_ha: *min_area_ha,
                    largest_ha: largest_cells as f64 * cell_ha,
                    n: lab.count,
                });
            }
            if *largest > 0 && kept.len() > *largest {
                let mut by_size = kept.clone();
                by_size.sort_by(|a, b| sizes[*b as usize].cmp(&sizes[*a as usize]).then(a.cmp(b)));
                by_size.truncate(*largest);
                by_size.sort_unstable();
                kept = by_size;
            }
            let mut remap = vec![0u32; lab.count as usize + 1];
            for (new, &old) in kept.iter().enumerate() {
                remap[old as usize] = new as u32 + 1;
            }
            let ids: Vec<u32> = lab.ids.iter().map(|&l| remap[l as usize]).collect();
            (ids, core)
        }
        SourceMethod::Given {
            ids,
            edge_width_m,
            origin,
        } => {
            let ids: Vec<u32> = ids
                .iter()
                .zip(&land.landcover)
                .map(|(&id, &c)| if c == OUTSIDE { 0 } else { id })
                .collect();
            if ids.iter().all(|&id| id == 0) {
                return Err(SourcesError::Empty {
                    origin: origin.clone(),
                });
            }
            let in_patch = |i: usize| ids[i] != 0;
            let core = core_mask(land, &in_patch, *edge_width_m);
            (ids, core)
        }
    };
    let patches = patch_table(land, res, &ids, core.as_deref());
    Ok(Sources { ids, patches })
}

/// Cells of `member` farther than `edge_width_m` from any non-member cell of the study area
/// (None when the width is 0: everything is core).
fn core_mask(
    land: &Landscape,
    member: &(dyn Fn(usize) -> bool + Sync),
    edge_width_m: f64,
) -> Option<Vec<bool>> {
    if edge_width_m <= 0.0 {
        return None;
    }
    let (rows, cols) = (land.grid.rows(), land.grid.cols());
    let d2 = squared_distance(rows, cols, |i| !member(i));
    let limit = sq(edge_width_m / land.grid.cell_size_m());
    Some(
        d2.iter()
            .enumerate()
            .map(|(i, &d)| member(i) && d as f64 > limit)
            .collect(),
    )
}

/// Dense slots for patch ids (ids from a raster may be any u32, so accumulators are indexed by
/// the rank of the id among the ids present, not by the id).
enum IdIndex {
    /// Slot per id value (ids up to 2^24).
    Direct(Vec<u32>),
    /// Slot per id through a hash map (larger ids).
    Hashed(std::collections::HashMap<u32, u32>),
}

impl IdIndex {
    /// The ids present (ascending) and their index.
    fn build(ids: &[u32]) -> (Vec<u32>, IdIndex) {
        let max = ids.iter().copied().max().unwrap_or(0);
        if max < 1 << 24 {
            let mut seen = vec![false; max as usize + 1];
            for &id in ids {
                seen[id as usize] = true;
            }
            let present: Vec<u32> = (1..=max).filter(|&id| seen[id as usize]).collect();
            let mut slot = vec![u32::MAX; max as usize + 1];
            for (k, &id) in present.iter().enumerate() {
                slot[id as usize] = k as u32;
            }
            (present, IdIndex::Direct(slot))
        } else {
            let set: std::collections::BTreeSet<u32> =
                ids.iter().copied().filter(|&id| id != 0).collect();
            let present: Vec<u32> = set.into_iter().collect();
            let map = present
                .iter()
                .enumerate()
                .map(|(k, &id)| (id, k as u32))
                .collect();
            (present, IdIndex::Hashed(map))
        }
    }

    fn slot(&self, id: u32) -> usize {
        match self {
            IdIndex::Direct(v) => v[id as usize] as usize,
            IdIndex::Hashed(m) => m[&id] as usize,
        }
    }
}

fn patch_table(
    land: &Landscape,
    res: &Resistance,
    ids: &[u32],
    core: Option<&[bool]>,
) -> Vec<Patch> {
    let (rows, cols) = (land.grid.rows(), land.grid.cols());
    let cs = land.grid.cell_size_m();
    let cell_ha = land.grid.cell_area_ha();
    #[derive(Default, Clone)]
    struct Acc {
        cells: u64,
        core: u64,
        edges: u64,
        sx: f64,
        sy: f64,
        sr: f64,
        nr: u64,
        carbon: f64,
        /// Cells per class; patches hold few classes, so a short list beats a map.
        hist: Vec<(ClassIdx, u64)>,
    }
    let (present, index) = IdIndex::build(ids);
    let mut acc = vec![Acc::default(); present.len()];
    let stock: Vec<f64> = land
        .classes
        .classes()
        .iter()
        .map(|c| c.stock_tc_per_ha() * cell_ha)
        .collect();
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            let id = ids[i];
            if id == 0 {
                continue;
            }
            let a = &mut acc[index.slot(id)];
            a.cells += 1;
            if core.is_none_or(|c| c[i]) {
                a.core += 1;
            }
            // Sides facing another id, no patch or the grid border.
            let up = r > 0 && ids[i - cols] == id;
            let down = r + 1 < rows && ids[i + cols] == id;
            let left = c > 0 && ids[i - 1] == id;
            let right = c + 1 < cols && ids[i + 1] == id;
            a.edges += [up, down, left, right]
                .iter()
                .filter(|&&same| !same)
                .count() as u64;
            let (x, y) = land.grid.cell_center(r, c);
            a.sx += x;
            a.sy += y;
            let v = res.values()[i];
            if v.is_finite() {
                a.sr += v as f64;
                a.nr += 1;
            }
            let cls = land.landcover[i];
            a.carbon += stock[cls as usize];
            match a.hist.iter_mut().find(|(k, _)| *k == cls) {
                Some((_, n)) => *n += 1,
                None => a.hist.push((cls, 1)),
            }
        }
    }
    present
        .into_iter()
        .zip(acc)
        .map(|(id, a)| Patch {
            id,
            cells: a.cells,
            area_ha: a.cells as f64 * cell_ha,
            core_area_ha: a.core as f64 * cell_ha,
            perimeter_m: a.edges as f64 * cs,
            centroid_x: a.sx / a.cells as f64,
            centroid_y: a.sy / a.cells as f64,
            mean_resistance: if a.nr > 0 {
                a.sr / a.nr as f64
            } else {
                f64::NAN
            },
            carbon_stock_tc: a.carbon,
            dominant_class: a
                .hist
                .iter()
                .max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(&x.0)))
                .map(|&(k, _)| k)
                .unwrap_or(0),
        })
        .collect()
}

/// `v²` by one multiplication: `powi` is lowered differently by optimisation level, which
/// would make debug and release builds disagree in the last bit.
fn sq(v: f64) -> f64 {
    v * v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classes::ClassTable;
    use crate::grid::{Crs, Grid};
    use crate::resistance::{self, Combine, ResistanceOptions};
    use proptest::prelude::*;

    /// Land from a picture: `#` forest (habitat, resistance 1), `.` dry land (100), ` ` outside.
    fn land(pic: &[&str]) -> Landscape {
        let table = ClassTable::parse(
            std::path::Path::new("t.csv"),
            "code,name,resistance,habitat,c_above,c_below,c_soil,c_dead\n301,forest,1,1,50,12,88,13\n103,dry land,100,0,5,0,60.7,0\n",
        )
        .unwrap();
        let (rows, cols) = (pic.len(), pic[0].len());
        let landcover = pic
            .concat()
            .bytes()
            .map(|b| match b {
                b'#' => 0,
                b'.' => 1,
                _ => OUTSIDE,
            })
            .collect();
        let grid = Grid::new(
            rows as u64,
            cols as u64,
            30.0,
            0.0,
            rows as f64 * 30.0,
            Crs::projected_epsg(4545),
        )
        .unwrap();
        Landscape {
            grid,
            classes: table,
            landcover,
            zones: vec![],
            zone_bits: vec![0; rows * cols],
            districts: None,
            factors: vec![],
            access: None,
        }
    }

    fn res(l: &Landscape) -> Resistance {
        resistance::build(
            l,
            &ResistanceOptions {
                combine: Combine::WeightedSum,
                class_weight: 1.0,
                factors: vec![],
                zone_multipliers: [1.0; 8],
            },
        )
        .unwrap()
    }

    fn habitat(min_area_ha: f64, eight: bool) -> SourceMethod {
        SourceMethod::Habitat {
            min_area_ha,
            eight,
            edge_width_m: 0.0,
            core_only: false,
            largest: 0,
        }
    }

    #[test]
    fn diagonal_habitat_joins_only_with_eight_connectivity() {
        let l = land(&["#..", ".#.", "..#"]);
        assert_eq!(
            build(&l, &res(&l), &habitat(0.0, true))
                .unwrap()
                .patches
                .len(),
            1
        );
        assert_eq!(
            build(&l, &res(&l), &habitat(0.0, false))
                .unwrap()
                .patches
                .len(),
            3
        );
    }

    #[test]
    fn a_patch_with_a_hole_on_the_border_has_the_hand_computed_table() {
        let l = land(&["###.", "#.#.", "###."]);
        let s = build(&l, &res(&l), &habitat(0.0, true)).unwrap();
        assert_eq!(s.patches.len(), 1);
        let p = &s.patches[0];
        assert_eq!(p.cells, 8);
        assert!((p.area_ha - 0.72).abs() < 1e-12);
        // Outer boundary 3+3+3+3 = 12 sides, the hole 4 sides: 16 x 30 m.
        assert_eq!(p.perimeter_m, 480.0);
        assert_eq!((p.centroid_x, p.centroid_y), (45.0, 45.0));
        assert_eq!(p.mean_resistance, 1.0);
        assert!((p.carbon_stock_tc - 8.0 * 163.0 * 0.09).abs() < 1e-9);
        assert_eq!(p.dominant_class, 0);
        assert_eq!(s.ids[5], 0, "the hole is not part of the patch");
    }

    #[test]
    fn a_patch_exactly_at_the_minimum_area_is_kept() {
        // 3 cells = 0.27 ha, 2 cells = 0.18 ha.
        let l = land(&["###..##"]);
        let s = build(&l, &res(&l), &habitat(0.27, true)).unwrap();
        assert_eq!(s.patches.len(), 1);
        assert_eq!(s.patches[0].cells, 3);
        assert_eq!(&s.ids[..], &[1, 1, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn no_patch_large_enough_names_the_largest() {
        let l = land(&["##..#"]);
        let err = build(&l, &res(&l), &habitat(1.0, true))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("min_area_ha = 1 ha; the largest has 0.18 ha (2 patches"),
            "{err}"
        );
    }

    #[test]
    fn only_the_n_largest_are_kept_and_renumbered_in_scan_order() {
        let l = land(&["#.###.##"]);
        let m = SourceMethod::Habitat {
            min_area_ha: 0.0,
            eight: true,
            edge_width_m: 0.0,
            core_only: false,
            largest: 2,
        };
        let s = build(&l, &res(&l), &m).unwrap();
        assert_eq!(&s.ids[..], &[0, 0, 1, 1, 1, 0, 2, 2]);
    }

    #[test]
    fn a_table_without_habitat_classes_is_an_error() {
        let mut l = land(&["##"]);
        let text = "code,name,resistance,habitat,c_above,c_below,c_soil,c_dead\n301,forest,1,0,1,1,1,1\n103,dry,100,0,1,1,1,1\n";
        l.classes = ClassTable::parse(std::path::Path::new("t.csv"), text).unwrap();
        assert_eq!(
            build(&l, &res(&l), &habitat(0.0, true)).unwrap_err(),
            SourcesError::NoHabitatClass
        );
    }

    #[test]
    fn huge_patch_ids_from_a_raster_do_not_allocate_per_id() {
        let l = land(&["##.#"]);
        let m = SourceMethod::Given {
            ids: vec![4_000_000_000, 4_000_000_000, 0, 7],
            edge_width_m: 0.0,
            origin: "p.tif".into(),
        };
        let s = build(&l, &res(&l), &m).unwrap();
        assert_eq!(
            s.patches
                .iter()
                .map(|p| (p.id, p.cells))
                .collect::<Vec<_>>(),
            vec![(7, 1), (4_000_000_000, 2)]
        );
    }

    #[test]
    fn given_sources_outside_the_study_area_are_dropped() {
        let l = land(&["## "]);
        let m = SourceMethod::Given {
            ids: vec![0, 0, 7],
            edge_width_m: 0.0,
            origin: "parks.geojson".into(),
        };
        assert!(build(&l, &res(&l), &m)
            .unwrap_err()
            .to_string()
            .contains("parks.geojson"));
        let m = SourceMethod::Given {
            ids: vec![3, 0, 7],
            edge_width_m: 0.0,
            origin: "p".into(),
        };
        let s = build(&l, &res(&l), &m).unwrap();
        assert_eq!(s.patches.iter().map(|p| p.id).collect::<Vec<_>>(), vec![3]);
    }

    proptest! {
        #[test]
        fn core_cells_are_exactly_those_farther_than_the_edge_width(
            bits in proptest::collection::vec(proptest::bool::weighted(0.8), 1..=196), cols in 1usize..14, width_cells in 0.5f64..3.0,
        ) {
            let rows = bits.len().div_ceil(cols);
            let mut cells = bits.clone();
            cells.resize(rows * cols, false);
            let pic: Vec<String> = cells.chunks(cols).map(|r| r.iter().map(|&b| if b { '#' } else { '.' }).collect()).collect();
            let pic: Vec<&str> = pic.iter().map(|s| s.as_str()).collect();
            let l = land(&pic);
            let width = width_cells * 30.0;
            let m = SourceMethod::Habitat { min_area_ha: 0.0, eight: true, edge_width_m: width, core_only: true, largest: 0 };
            let got: Vec<bool> = match build(&l, &res(&l), &m) {
                Ok(s) => s.ids.iter().map(|&id| id != 0).collect(),
                Err(_) => vec![false; rows * cols],
            };
            for i in 0..rows * cols {
                let (r, c) = ((i / cols) as f64, (i % cols) as f64);
                let nearest = (0..rows * cols).filter(|&j| !cells[j]).map(|j| (((j / cols) as f64 - r).powi(2) + ((j % cols) as f64 - c).powi(2)).sqrt() * 30.0).fold(f64::INFINITY, f64::min);
                prop_assert_eq!(got[i], cells[i] && nearest > width, "cell {}", i);
            }
        }
    }
}
