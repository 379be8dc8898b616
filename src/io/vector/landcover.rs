//! A land cover given as polygons (the Third National Land Survey's 地类图斑 DLTB layer, field
//! DLBM) burned onto a grid.
//!
//! # Grid
//! The grid of `grid_like` (a raster, e.g. a factor, so every layer lines up) when given;
//! otherwise the layer's extent snapped outwards to whole multiples of the cell size (origin
//! x = floor(xmin / s) s, origin y = ceil(ymax / s) s), so two layers rasterized at the same
//! cell size share their cell edges (what `gdal_rasterize -tap` does). The layer must then be
//! in a projected CRS in metres.
//!
//! # Codes
//! Each polygon's `code_field` value is matched as **text** to the class table's `dlbm`
//! column (so "0301", "05H1" and "08H2" are distinct and leading zeros count), and, when no
//! `dlbm` matches, as a whole number to its `code` column (for tables without survey codes,
//! e.g. CORINE's 312). Cells are burned by the cell-centre rule ([`super::burn`]); where
//! polygons overlap, the later one in the file wins (as `gdal_rasterize`); cells no polygon
//! covers are outside the study area. Codes the table lacks are listed with their polygon
//! count and area.

use std::collections::{BTreeMap, HashMap};

use geo::Area;

use super::{burn_polygons, PolygonLayer};
use crate::classes::{ClassIdx, ClassTable, OUTSIDE};
use crate::grid::{CrsKind, Grid};

/// Why a polygon land cover cannot be burned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LandcoverError {
    /// The code field is missing from a feature.
    #[error("land-cover layer `{path}`, feature {index}: no `{field}` value\n  hint: set `code_field` in [landscape] to the field with the land-use codes (for the land survey's DLTB layer: DLBM); this feature has: {fields}")]
    NoField {
        /// The layer.
        path: String,
        /// 0-based feature.
        index: usize,
        /// The field asked for.
        field: String,
        /// The fields it has.
        fields: String,
    },
    /// Codes the class table lacks.
    #[error("land-cover layer `{path}` has {n} code(s) missing from the class table `{table}`: {list}\n  hint: add a row for each (its `dlbm` column holds the survey code as text, e.g. 0301 or 05H1)")]
    Unknown {
        /// The layer.
        path: String,
        /// The class table.
        table: String,
        /// How many codes.
        n: usize,
        /// The codes with polygon counts and areas.
        list: String,
    },
    /// No grid can be made.
    #[error("land-cover layer `{path}`: {what}")]
    Grid {
        /// The layer.
        path: String,
        /// What is wrong, with the fix.
        what: String,
    },
}

/// The grid a polygon land cover is burned onto (see the module docs).
///
/// # Errors
/// [`LandcoverError::Grid`]: no cell size and no `grid_like`, a layer in degrees without
/// `grid_like`, an empty layer, or a grid too large.
pub fn landcover_grid(
    layer: &PolygonLayer,
    cell_size_m: Option<f64>,
    grid_like: Option<&Grid>,
) -> Result<Grid, LandcoverError> {
    let err = |what: String| LandcoverError::Grid {
        path: layer.path.display().to_string(),
        what,
    };
    if let Some(g) = grid_like {
        if let Some(s) = cell_size_m {
            if (s - g.cell_size_m()).abs() > 1e-9 * s.max(1.0) {
                return Err(err(format!("`cell_size_m = {s}` differs from the cell size of `grid_like` ({} m); remove one of them", g.cell_size_m())));
            }
        }
        return Ok(g.clone());
    }
    let s = cell_size_m.ok_or_else(|| err("a polygon land cover needs `cell_size_m` (e.g. 30) or `grid_like` (a raster whose grid to use) in [landscape]".into()))?;
    if !(s.is_finite() && s > 0.0) {
        return Err(err(format!(
            "`cell_size_m = {s}` must be a positive number of metres"
        )));
    }
    let crs = layer.crs.clone().unwrap_or_else(crate::grid::Crs::unknown);
    if crs.kind == CrsKind::Geographic || crs.kind == CrsKind::ProjectedOther {
        return Err(err(format!(
            "is in {crs}, not in metres, so `cell_size_m` cannot make its grid\n  hint: set `grid_like` to a raster in a projected CRS (the layer is reprojected onto it), or reproject the layer: `ogr2ogr -t_srs EPSG:4545 projected.gpkg {}` (EPSG:4513-4554: CGCS2000 3-degree Gauss-Kruger zones)",
            layer.path.display()
        )));
    }
    let (x0, x1, y0, y1) = layer
        .extent()
        .ok_or_else(|| err("holds no polygon".into()))?;
    let ox = (x0 / s).floor() * s;
    let oy = (y1 / s).ceil() * s;
    let cols = (((x1 - ox) / s).ceil() as u64).max(1);
    let rows = (((oy - y0) / s).ceil() as u64).max(1);
    Grid::new(rows, cols, s, ox, oy, crs).map_err(|e| err(e.to_string()))
}

/// Burns the layer's classes onto `grid`: each cell's class index, [`OUTSIDE`] where no
/// polygon is (see the module docs for the matching and overlap rules).
///
/// # Errors
/// A feature without the code field, or codes the class table lacks (all listed).
pub fn burn_landcover(
    layer: &PolygonLayer,
    field: &str,
    table: &ClassTable,
    table_name: &str,
    grid: &Grid,
) -> Result<Vec<ClassIdx>, LandcoverError> {
    let by_dlbm: HashMap<&str, ClassIdx> = table
        .classes()
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.dlbm.trim().is_empty())
        .map(|(i, c)| (c.dlbm.trim(), i as ClassIdx))
        .collect();
    let mut cells = vec![OUTSIDE; grid.len()];
    let mut unknown: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for (index, f) in layer.features.iter().enumerate() {
        let text = match f.properties.get(field) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => {
                return Err(LandcoverError::NoField {
                    path: layer.path.display().to_string(),
                    index,
                    field: field.to_string(),
                    fields: f
                        .properties
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        };
        let idx = by_dlbm.get(text.as_str()).copied().or_else(|| {
            text.parse::<u32>()
                .ok()
                .and_then(|code| table.index_of(code))
        });
        match idx {
            Some(k) => burn_polygons(grid, &f.geometry, |i| cells[i] = k),
            None => {
                let e = unknown.entry(text).or_default();
                e.0 += 1;
                e.1 += f.geometry.unsigned_area() / 10_000.0;
            }
        }
    }
    if !unknown.is_empty() {
        let list: Vec<String> = unknown
            .iter()
            .map(|(c, (n, ha))| format!("\"{c}\" ({n} polygon(s), {ha:.1} ha)"))
            .collect();
        return Err(LandcoverError::Unknown {
            path: layer.path.display().to_string(),
            table: table_name.to_string(),
            n: unknown.len(),
            list: list.join(", "),
        });
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Crs;
    use crate::io::vector::{Format, PolygonFeature};
    use geo::{polygon, MultiPolygon};

    fn layer(crs: Crs) -> PolygonLayer {
        let p = polygon![(x: 1012.0, y: 2047.0), (x: 1100.5, y: 2047.0), (x: 1100.5, y: 1961.0), (x: 1012.0, y: 1961.0)];
        PolygonLayer {
            path: "dltb.shp".into(),
            format: Format::Shapefile,
            crs: Some(crs),
            features: vec![PolygonFeature {
                geometry: MultiPolygon::new(vec![p]),
                properties: serde_json::json!({"DLBM": "0301"})
                    .as_object()
                    .unwrap()
                    .clone(),
            }],
            notes: vec![],
        }
    }

    #[test]
    fn the_grid_is_the_extent_snapped_outwards_to_whole_cells() {
        let g = landcover_grid(&layer(Crs::projected_epsg(4545)), Some(30.0), None).unwrap();
        // x 1012 .. 1100.5 -> 990 .. 1110 (4 columns); y 1961 .. 2047 -> 1950 .. 2070 (4 rows).
        assert_eq!((g.origin_x(), g.origin_y()), (990.0, 2070.0));
        assert_eq!((g.cols(), g.rows()), (4, 4));
    }

    #[test]
    fn a_grid_needs_metres_and_a_cell_size() {
        let e = landcover_grid(&layer(Crs::projected_epsg(4545)), None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cell_size_m") && e.contains("grid_like"), "{e}");
        let e = landcover_grid(&layer(Crs::geographic_epsg(4490)), Some(30.0), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("EPSG:4490") && e.contains("grid_like"), "{e}");
        let like = Grid::new(5, 5, 10.0, 0.0, 50.0, Crs::projected_epsg(4545)).unwrap();
        let e = landcover_grid(&layer(Crs::projected_epsg(4545)), Some(30.0), Some(&like))
            .unwrap_err()
            .to_string();
        assert!(e.contains("differs"), "{e}");
        assert_eq!(
            landcover_grid(&layer(Crs::projected_epsg(4545)), None, Some(&like)).unwrap(),
            like
        );
    }
}
