//! Carbon accounting (InVEST Carbon's four pools) with sinks and sources.
//!
//! # Input
//! The landscape: land cover (class indices), the class table's pools (t C/ha), annual
//! sequestration (`seq_rate`, t C/ha/yr) and emission (`emission`, t C/ha/yr), zones and
//! districts.
//!
//! # Output
//! Stock per cell (t C; NaN outside the study area) and a table of totals per class, zone,
//! district and for the whole study area: area (ha), stock (t C and t CO2e), annual sink,
//! annual emission and net balance (t CO2e/yr; positive = net sink).
//!
//! # Method
//! `stock(cell) = (c_above + c_below + c_soil + c_dead)(class) × cell area (ha)`;
//! `sink = seq_rate × area`, `emission = emission × area`; CO2e = C × 44/12. Sums run in cell
//! order, so totals are identical on every run.

use crate::classes::OUTSIDE;
use crate::landscape::Landscape;

/// CO2 per C by mass.
pub const CO2_PER_C: f64 = 44.0 / 12.0;

/// One row of `zones.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct CarbonRow {
    /// "class", "zone", "district" or "total".
    pub group: &'static str,
    /// Class code, zone kind or district number.
    pub key: String,
    /// Name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// Area, ha.
    pub area_ha: f64,
    /// Stock, t C.
    pub stock_tc: f64,
    /// Annual sink, t C/yr.
    pub sink_tc_per_yr: f64,
    /// Annual emission, t C/yr.
    pub emission_tc_per_yr: f64,
}

impl CarbonRow {
    fn new(group: &'static str, key: String, name: String, name_zh: String) -> CarbonRow {
        CarbonRow {
            group,
            key,
            name,
            name_zh,
            area_ha: 0.0,
            stock_tc: 0.0,
            sink_tc_per_yr: 0.0,
            emission_tc_per_yr: 0.0,
        }
    }

    /// Net balance, t CO2e/yr (positive: a net sink).
    pub fn net_tco2e_per_yr(&self) -> f64 {
        (self.sink_tc_per_yr - self.emission_tc_per_yr) * CO2_PER_C
    }
}

/// Carbon stock of one cell by class index, t C: NaN at [`OUTSIDE`] (outside the study
/// area) and at indices the class table does not use. A grid of it is
/// `table[landcover[i] as usize]`.
pub fn stock_per_class(land: &Landscape) -> [f32; 256] {
    let ha = land.grid.cell_area_ha();
    let mut table = [f32::NAN; 256];
    for (t, c) in table.iter_mut().zip(land.classes.classes()) {
        *t = (c.stock_tc_per_ha() * ha) as f32;
    }
    table[OUTSIDE as usize] = f32::NAN;
    table
}

/// Totals per class (classes present), zone, district and the whole study area.
pub fn summarize(land: &Landscape) -> Vec<CarbonRow> {
    let ha = land.grid.cell_area_ha();
    let classes = land.classes.classes();
    let mut by_class: Vec<CarbonRow> = classes
        .iter()
        .map(|c| {
            CarbonRow::new(
                "class",
                c.code.to_string(),
                c.name.clone(),
                c.name_zh.clone(),
            )
        })
        .collect();
    let mut by_zone: Vec<CarbonRow> = land
        .zones
        .iter()
        .map(|z| {
            CarbonRow::new(
                "zone",
                z.kind.as_str().to_string(),
                z.name.clone(),
                z.kind.name_zh().to_string(),
            )
        })
        .collect();
    let mut by_district: Vec<CarbonRow> = land
        .districts
        .as_ref()
        .map(|d| {
            d.names
                .iter()
                .enumerate()
                .map(|(k, n)| CarbonRow::new("district", (k + 1).to_string(), n.clone(), n.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut total = CarbonRow::new("total", String::new(), "study area".into(), "研究区".into());
    let add = |r: &mut CarbonRow, stock: f64, sink: f64, emission: f64| {
        r.area_ha += ha;
        r.stock_tc += stock;
        r.sink_tc_per_yr += sink;
        r.emission_tc_per_yr += emission;
    };
    for (i, &c) in land.landcover.iter().enumerate() {
        if c == OUTSIDE {
            continue;
        }
        let cl = &classes[c as usize];
        let (stock, sink, emission) = (
            cl.stock_tc_per_ha() * ha,
            cl.seq_rate * ha,
            cl.emission * ha,
        );
        add(&mut by_class[c as usize], stock, sink, emission);
        add(&mut total, stock, sink, emission);
        for (k, z) in land.zones.iter().enumerate() {
            if land.zone_bits[i] & (1 << z.bit) != 0 {
                add(&mut by_zone[k], stock, sink, emission);
            }
        }
        if let Some(d) = &land.districts {
            let id = d.ids[i] as usize;
            if id > 0 {
                add(&mut by_district[id - 1], stock, sink, emission);
            }
        }
    }
    by_class.retain(|r| r.area_ha > 0.0);
    by_class
        .into_iter()
        .chain(by_zone)
        .chain(by_district)
        .chain(std::iter::once(total))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classes::ClassTable;
    use crate::grid::{Crs, Grid};
    use crate::landscape::ZoneKind;
    use crate::landscape::{Districts, Zone};

    fn land() -> Landscape {
        let table = ClassTable::parse(
            std::path::Path::new("t.csv"),
            "code,name,name_zh,resistance,habitat,c_above,c_below,c_soil,c_dead,emission,seq_rate\n301,forest,乔木林地,1,1,50,12,88,13,0,0.644\n701,urban,城镇住宅用地,1000,0,0,0,44,0,50,0\n",
        )
        .unwrap();
        // 2 x 3 cells of 100 m (1 ha): forest forest urban / forest outside urban.
        let grid = Grid::new(2, 3, 100.0, 0.0, 200.0, Crs::projected_epsg(4545)).unwrap();
        Landscape {
            grid,
            classes: table,
            landcover: vec![0, 0, 1, 0, OUTSIDE, 1],
            zones: vec![Zone {
                name: "urban_boundary".into(),
                kind: ZoneKind::UrbanBoundary,
                bit: 0,
                path: "u.geojson".into(),
            }],
            zone_bits: vec![0, 0, 1, 0, 0, 1],
            districts: Some(Districts {
                names: vec!["A".into(), "B".into()],
                ids: vec![1, 1, 2, 2, 2, 0],
            }),
            factors: vec![],
            access: None,
        }
    }

    #[test]
    fn totals_are_the_hand_sums() {
        let rows = summarize(&land());
        let get = |g: &str, k: &str| {
            rows.iter()
                .find(|r| r.group == g && r.key == k)
                .unwrap()
                .clone()
        };
        let forest = get("class", "301");
        assert_eq!((forest.area_ha, forest.stock_tc), (3.0, 3.0 * 163.0));
        assert!((forest.sink_tc_per_yr - 3.0 * 0.644).abs() < 1e-12);
        let urban = get("class", "701");
        assert_eq!((urban.stock_tc, urban.emission_tc_per_yr), (88.0, 100.0));
        let total = get("total", "");
        assert_eq!((total.area_ha, total.stock_tc), (5.0, 3.0 * 163.0 + 88.0));
        assert!((total.net_tco2e_per_yr() - (3.0 * 0.644 - 100.0) * 44.0 / 12.0).abs() < 1e-9);
        assert_eq!(get("zone", "urban_boundary").stock_tc, 88.0);
        // District B: forest (1,0) and urban (0,2); the outside cell and the unassigned urban
        // cell do not count.
        let b = get("district", "2");
        assert_eq!((b.area_ha, b.stock_tc), (2.0, 163.0 + 44.0));
    }

    #[test]
    fn stock_per_cell_is_nan_outside() {
        let l = land();
        let table = stock_per_class(&l);
        let s: Vec<f32> = l.landcover.iter().map(|&c| table[c as usize]).collect();
        assert_eq!(s[0], 163.0);
        assert_eq!(s[2], 44.0);
        assert!(s[4].is_nan());
    }
}
