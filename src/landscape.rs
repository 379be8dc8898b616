//! The landscape as plain data: the land cover (as dense class indices), factor rasters,
//! zone layers and districts on one grid, and the areas they cover. Every later stage may
//! assume the layers line up; `io::load` makes a landscape from a scenario's files.
//!
//! # Memory
//! 1 byte per cell for land cover, 1 for zone membership (one bit per zone, up to 8 zones),
//! 2 for districts when given, 4 per factor raster.

use std::path::PathBuf;

use crate::classes::{ClassIdx, ClassTable, OUTSIDE};
use crate::grid::Grid;

/// The kinds of zone ecocorridor knows ("three zones, three lines" and protected areas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// 生态保护红线.
    EcologicalRedline,
    /// 永久基本农田.
    PermanentFarmland,
    /// 城镇开发边界.
    UrbanBoundary,
    /// Nature reserves, forest parks... (自然保护地).
    ProtectedArea,
    /// Any other zone.
    Other,
}

impl ZoneKind {
    /// The name used in scenario files and tables (`urban_boundary`...).
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::EcologicalRedline => "ecological_redline",
            ZoneKind::PermanentFarmland => "permanent_farmland",
            ZoneKind::UrbanBoundary => "urban_boundary",
            ZoneKind::ProtectedArea => "protected_area",
            ZoneKind::Other => "other",
        }
    }

    /// Chinese name for reports.
    pub fn name_zh(self) -> &'static str {
        match self {
            ZoneKind::EcologicalRedline => "生态保护红线",
            ZoneKind::PermanentFarmland => "永久基本农田",
            ZoneKind::UrbanBoundary => "城镇开发边界",
            ZoneKind::ProtectedArea => "自然保护地",
            ZoneKind::Other => "其他分区",
        }
    }
}

/// A zone layer burned onto the grid.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Name for tables.
    pub name: String,
    /// Kind.
    pub kind: ZoneKind,
    /// Bit of this zone in [`Landscape::zone_bits`].
    pub bit: u8,
    /// Source file.
    pub path: PathBuf,
}

/// Districts burned onto the grid.
#[derive(Debug, Clone)]
pub struct Districts {
    /// Names; district id `k` (1-based) is `names[k - 1]`.
    pub names: Vec<String>,
    /// District id per cell, 0 where no district covers it.
    pub ids: Vec<u16>,
}

/// A factor raster on the grid, held as the class of its breaks per cell: the resistance
/// formula reads a factor only through the score of its class, so one byte per cell keeps
/// everything it needs (the raster's `f32` values would take four).
#[derive(Debug, Clone)]
pub struct Factor {
    /// Name.
    pub name: String,
    /// Per cell, the index of the value's class: how many breaks lie at or below it
    /// ([`factor_class`]); [`FACTOR_NODATA`] where the raster has no data.
    pub classes: Vec<u8>,
}

/// The class of cells where a factor raster has no data (they score as the lowest class).
pub const FACTOR_NODATA: u8 = u8::MAX;

/// The most breaks a factor may have (its classes and [`FACTOR_NODATA`] fit in one byte).
pub const MAX_FACTOR_BREAKS: usize = FACTOR_NODATA as usize - 1;

/// The class of a factor value: how many of the (ascending) `breaks` are at or below it, so
/// classes are half-open `[break, next break)`; [`FACTOR_NODATA`] for NaN.
///
/// # Panics
/// With more than [`MAX_FACTOR_BREAKS`] breaks (checked when a scenario is loaded).
pub fn factor_class(breaks: &[f32], v: f32) -> u8 {
    assert!(breaks.len() <= MAX_FACTOR_BREAKS, "too many breaks");
    if v.is_nan() {
        return FACTOR_NODATA;
    }
    breaks.partition_point(|&b| b <= v) as u8
}

impl Factor {
    /// A factor from its raster's values (NaN = nodata) and its breaks.
    pub fn classify(name: &str, values: &[f32], breaks: &[f32]) -> Factor {
        Factor {
            name: name.to_string(),
            classes: values.iter().map(|&v| factor_class(breaks, v)).collect(),
        }
    }
}

/// All inputs of a scenario on one grid.
#[derive(Debug, Clone)]
pub struct Landscape {
    /// The shared grid.
    pub grid: Grid,
    /// The class table.
    pub classes: ClassTable,
    /// Class index per cell; [`OUTSIDE`] outside the study area.
    pub landcover: Vec<ClassIdx>,
    /// Zone layers.
    pub zones: Vec<Zone>,
    /// Zone membership per cell, one bit per zone.
    pub zone_bits: Vec<u8>,
    /// Districts, when given.
    pub districts: Option<Districts>,
    /// Factor rasters.
    pub factors: Vec<Factor>,
    /// The people side (`[access]`), when the scenario has it.
    pub access: Option<AccessLayers>,
}

/// The inputs of park access that are layers on the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLayers {
    /// Residents per cell (persons), from a population raster, held on the cells that have
    /// residents (8 bytes each instead of 4 per grid cell: 1.7% of the city cluster's cells
    /// are populated); None: from the class table's `persons_per_ha`.
    pub population: Option<crate::raster::SparseF32>,
    /// Cells of the parks layer; None when no layer is given.
    pub park_cells: Option<Vec<bool>>,
}

/// Area of one class, zone or district.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaRow {
    /// Label.
    pub label: String,
    /// Cells.
    pub cells: u64,
    /// Hectares.
    pub area_ha: f64,
}

impl Landscape {
    /// Cells inside the study area.
    pub fn study_cells(&self) -> u64 {
        self.landcover.iter().filter(|&&c| c != OUTSIDE).count() as u64
    }

    /// Area by class (table order; classes absent from the raster included with 0).
    pub fn class_areas(&self) -> Vec<AreaRow> {
        let mut counts = vec![0u64; self.classes.len()];
        for &c in &self.landcover {
            if c != OUTSIDE {
                counts[c as usize] += 1;
            }
        }
        let ha = self.grid.cell_area_ha();
        self.classes
            .classes()
            .iter()
            .zip(counts)
            .map(|(c, n)| AreaRow {
                label: format!("{} {} {}", c.code, c.name, c.name_zh)
                    .trim()
                    .to_string(),
                cells: n,
                area_ha: n as f64 * ha,
            })
            .collect()
    }

    /// Area inside each zone (study area only).
    pub fn zone_areas(&self) -> Vec<AreaRow> {
        let ha = self.grid.cell_area_ha();
        self.zones
            .iter()
            .map(|z| {
                let bit = 1u8 << z.bit;
                let n = self
                    .zone_bits
                    .iter()
                    .zip(&self.landcover)
                    .filter(|(&b, &c)| b & bit != 0 && c != OUTSIDE)
                    .count() as u64;
                AreaRow {
                    label: format!("{} ({})", z.name, z.kind.name_zh()),
                    cells: n,
                    area_ha: n as f64 * ha,
                }
            })
            .collect()
    }

    /// Area of each district (study area only).
    pub fn district_areas(&self) -> Vec<AreaRow> {
        let Some(d) = &self.districts else {
            return Vec::new();
        };
        let mut counts = vec![0u64; d.names.len() + 1];
        for (&id, &c) in d.ids.iter().zip(&self.landcover) {
            if c != OUTSIDE {
                counts[id as usize] += 1;
            }
        }
        let ha = self.grid.cell_area_ha();
        let mut rows: Vec<AreaRow> = d
            .names
            .iter()
            .enumerate()
            .map(|(k, n)| AreaRow {
                label: n.clone(),
                cells: counts[k + 1],
                area_ha: counts[k + 1] as f64 * ha,
            })
            .collect();
        if counts[0] > 0 {
            rows.push(AreaRow {
                label: "(no district)".into(),
                cells: counts[0],
                area_ha: counts[0] as f64 * ha,
            });
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Crs;

    /// 2 x 3 cells of 100 m (1 ha): forest, forest, outside / farm, forest, farm; zone bit 0
    /// on the first row, districts 1 and 2 by column.
    fn land() -> Landscape {
        let classes = ClassTable::parse(
            std::path::Path::new("t.csv"),
            "code,name,name_zh,resistance,habitat,c_above,c_below,c_soil,c_dead,emission,seq_rate,restorable_to,cost_yuan_per_ha\n\
             301,forest,乔木林地,1,1,0,0,0,0,0,0,,0\n\
             103,dry land,旱地,100,0,0,0,0,0,0,0,,0\n\
             1110,glacier,冰川,barrier,0,0,0,0,0,0,0,,0\n",
        )
        .unwrap();
        let f = classes.index_of(301).unwrap();
        let d = classes.index_of(103).unwrap();
        Landscape {
            grid: Grid::new(2, 3, 100.0, 0.0, 200.0, Crs::projected_epsg(4545)).unwrap(),
            classes,
            landcover: vec![f, f, OUTSIDE, d, f, d],
            zones: vec![Zone {
                name: "red".into(),
                kind: ZoneKind::EcologicalRedline,
                bit: 0,
                path: "r.geojson".into(),
            }],
            zone_bits: vec![1, 1, 1, 0, 0, 0],
            districts: Some(Districts {
                names: vec!["west".into(), "east".into()],
                ids: vec![1, 1, 2, 1, 1, 2],
            }),
            factors: vec![],
            access: None,
        }
    }

    #[test]
    fn areas_count_the_study_area_only() {
        let l = land();
        assert_eq!(l.study_cells(), 5);
        let classes: Vec<(u64, f64)> = l
            .class_areas()
            .iter()
            .map(|r| (r.cells, r.area_ha))
            .collect();
        assert_eq!(classes, vec![(3, 3.0), (2, 2.0), (0, 0.0)]);
        assert_eq!(l.class_areas()[0].label, "301 forest 乔木林地");
        // The zone's third cell is outside the study area.
        let zones = l.zone_areas();
        assert_eq!(
            (zones[0].cells, zones[0].label.as_str()),
            (2, "red (生态保护红线)")
        );
        let districts: Vec<u64> = l.district_areas().iter().map(|r| r.cells).collect();
        assert_eq!(districts.iter().sum::<u64>(), 5);
    }
}
