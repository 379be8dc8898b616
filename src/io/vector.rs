//! Polygon layers (GeoJSON) and burning them onto the run's grid.
//!
//! # Rasterization rule
//! A cell belongs to a polygon when its **centre** lies inside the polygon: inside the exterior
//! ring and outside every hole (even-odd rule per polygon; the parts of a MultiPolygon are
//! burned one by one, so they unite). A centre exactly on an edge counts as inside when the
//! polygon lies to its right (half-open intervals `[x_in, x_out)` along each row), so two
//! polygons sharing an edge never both claim a cell. This is the rule of `gdal_rasterize`
//! without `-at`. The burn is a scanline fill: every edge contributes one crossing per cell
//! row it spans, so the cost is linear in edges + crossings + burned cells.

use std::path::{Path, PathBuf};

use geo::{BoundingRect, MultiPolygon, Polygon};
use geojson::{GeoJson, GeometryValue, JsonObject};

use crate::grid::{Crs, CrsKind, Grid};

use super::prj::parse_crs_name;

/// One polygon feature: its geometry and properties.
#[derive(Debug, Clone)]
pub struct PolygonFeature {
    /// The geometry (a Polygon is stored as a one-part MultiPolygon).
    pub geometry: MultiPolygon<f64>,
    /// The feature's properties (empty when absent).
    pub properties: JsonObject,
}

/// A polygon layer read from a file.
#[derive(Debug, Clone)]
pub struct PolygonLayer {
    /// The file.
    pub path: PathBuf,
    /// The CRS the file declares (`crs` member), if any.
    pub crs: Option<Crs>,
    /// Its features, in file order.
    pub features: Vec<PolygonFeature>,
}

/// Why a vector layer could not be used.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// File unreadable.
    #[error("cannot read layer `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid GeoJSON.
    #[error("layer `{path}` is not valid GeoJSON: {what}\n  hint: check it with `ogrinfo -al -so {path}` or export it again from your GIS as GeoJSON")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        what: String,
    },
    /// A feature that is not a polygon.
    #[error("layer `{path}`, feature {index}: {what}")]
    Feature {
        /// The file.
        path: PathBuf,
        /// 0-based feature index.
        index: usize,
        /// What is wrong.
        what: String,
    },
    /// CRS conflicts with the grid.
    #[error("layer `{path}` is in {layer_crs} but the rasters are in {grid_crs}\n  hint: reproject it, e.g. `ogr2ogr -t_srs {target} out.geojson {path}`")]
    Crs {
        /// The file.
        path: PathBuf,
        /// Layer CRS.
        layer_crs: String,
        /// Grid CRS.
        grid_crs: String,
        /// What to pass to ogr2ogr.
        target: String,
    },
    /// The layer does not overlap the grid at all (usually a wrong CRS).
    #[error("none of the {n} polygons of layer `{path}` overlaps the study area\n  layer extent: x {lx0:.1} .. {lx1:.1}, y {ly0:.1} .. {ly1:.1}\n  grid extent:  x {gx0:.1} .. {gx1:.1}, y {gy0:.1} .. {gy1:.1}\n  hint: {hint}")]
    NoOverlap {
        /// The file.
        path: PathBuf,
        /// Feature count.
        n: usize,
        /// Layer extent.
        lx0: f64,
        /// Layer extent.
        lx1: f64,
        /// Layer extent.
        ly0: f64,
        /// Layer extent.
        ly1: f64,
        /// Grid extent.
        gx0: f64,
        /// Grid extent.
        gx1: f64,
        /// Grid extent.
        gy0: f64,
        /// Grid extent.
        gy1: f64,
        /// The likely fix.
        hint: String,
    },
}

/// Reads a GeoJSON FeatureCollection (or a single Feature or Geometry) of Polygons and
/// MultiPolygons. Features without geometry are skipped; other geometry types are an error.
///
/// # Errors
/// [`VectorError`] naming the file and, for a bad feature, its index.
pub fn read_geojson(path: &Path) -> Result<PolygonLayer, VectorError> {
    let text = std::fs::read_to_string(path).map_err(|source| VectorError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_geojson(path, &text)
}

/// Parses GeoJSON text (see [`read_geojson`]); `path` is only used in messages.
pub fn parse_geojson(path: &Path, text: &str) -> Result<PolygonLayer, VectorError> {
    let gj: GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| VectorError::Parse {
            path: path.to_path_buf(),
            what: e.to_string(),
        })?;
    let (features, foreign) = match gj {
        GeoJson::FeatureCollection(fc) => (fc.features, fc.foreign_members),
        GeoJson::Feature(f) => (vec![f], None),
        GeoJson::Geometry(g) => (vec![geojson::Feature::from(g)], None),
    };
    let crs = foreign
        .as_ref()
        .and_then(|m| m.get("crs"))
        .and_then(|c| c.get("properties"))
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(parse_crs_name);
    let mut out = Vec::with_capacity(features.len());
    for (index, f) in features.into_iter().enumerate() {
        let Some(geom) = f.geometry else { continue };
        let bad = |what: String| VectorError::Feature {
            path: path.to_path_buf(),
            index,
            what,
        };
        // geojson's conversion indexes x and y without checking (it panics on `[5]`).
        let rings: Vec<&Vec<geojson::Position>> = match &geom.value {
            GeometryValue::Polygon { coordinates } => coordinates.iter().collect(),
            GeometryValue::MultiPolygon { coordinates } => coordinates.iter().flatten().collect(),
            _ => Vec::new(),
        };
        if let Some(p) = rings
            .iter()
            .flat_map(|r| r.iter())
            .find(|p| p.as_slice().len() < 2)
        {
            return Err(bad(format!(
                "has a position with {} coordinate(s) ({:?}) where x and y are expected",
                p.as_slice().len(),
                p.as_slice()
            )));
        }
        let geometry: MultiPolygon<f64> = match geom.value {
            v @ GeometryValue::Polygon { .. } => MultiPolygon::new(vec![Polygon::try_from(v).map_err(|e| bad(e.to_string()))?]),
            v @ GeometryValue::MultiPolygon { .. } => MultiPolygon::try_from(v).map_err(|e| bad(e.to_string()))?,
            other => {
                return Err(bad(format!(
                    "is a {} where Polygon or MultiPolygon is expected\n  hint: buffer lines and points into polygons first (e.g. `ogr2ogr -dialect sqlite -sql \"SELECT ST_Buffer(geometry, 15) FROM layer\"`)",
                    other.type_name()
                )))
            }
        };
        for p in &geometry {
            for c in p
                .exterior()
                .coords()
                .chain(p.interiors().iter().flat_map(|r| r.coords()))
            {
                if !(c.x.is_finite() && c.y.is_finite()) {
                    return Err(bad(format!(
                        "has a non-finite coordinate ({}, {})",
                        c.x, c.y
                    )));
                }
            }
        }
        out.push(PolygonFeature {
            geometry,
            properties: f.properties.unwrap_or_default(),
        });
    }
    Ok(PolygonLayer {
        path: path.to_path_buf(),
        crs,
        features: out,
    })
}

impl PolygonLayer {
    /// Checks that the layer can be burned onto `grid`: a declared CRS must not conflict, and
    /// the polygons must overlap the grid (a layer in degrees over a metre grid, or in another
    /// zone, does not).
    pub fn check_against(&self, grid: &Grid) -> Result<(), VectorError> {
        let target = grid
            .crs()
            .epsg
            .map(|e| format!("EPSG:{e}"))
            .unwrap_or_else(|| "<the rasters' CRS>".into());
        if let Some(crs) = &self.crs {
            if crs.conflicts_with(grid.crs())
                || (crs.kind == CrsKind::Geographic && grid.crs().kind == CrsKind::ProjectedMetres)
            {
                return Err(VectorError::Crs {
                    path: self.path.clone(),
                    layer_crs: crs.to_string(),
                    grid_crs: grid.crs().to_string(),
                    target,
                });
            }
        }
        let Some((lx0, lx1, ly0, ly1)) = self.extent() else {
            return Ok(());
        };
        let (gx0, gx1, gy0, gy1) = (grid.origin_x(), grid.max_x(), grid.min_y(), grid.origin_y());
        if lx1 < gx0 || lx0 > gx1 || ly1 < gy0 || ly0 > gy1 {
            let degrees = lx0 >= -180.0 && lx1 <= 180.0 && ly0 >= -90.0 && ly1 <= 90.0;
            let hint = if degrees {
                format!("the coordinates look like longitude/latitude; reproject the layer: `ogr2ogr -t_srs {target} out.geojson {}`", self.path.display())
            } else {
                format!("check that the layer is in the same CRS as the rasters ({}) and covers the study area", grid.crs())
            };
            return Err(VectorError::NoOverlap {
                path: self.path.clone(),
                n: self.features.len(),
                lx0,
                lx1,
                ly0,
                ly1,
                gx0,
                gx1,
                gy0,
                gy1,
                hint,
            });
        }
        Ok(())
    }

    /// Bounding box (xmin, xmax, ymin, ymax) of all features.
    pub fn extent(&self) -> Option<(f64, f64, f64, f64)> {
        let mut ext: Option<(f64, f64, f64, f64)> = None;
        for f in &self.features {
            if let Some(r) = f.geometry.bounding_rect() {
                let e = ext.get_or_insert((r.min().x, r.max().x, r.min().y, r.max().y));
                e.0 = e.0.min(r.min().x);
                e.1 = e.1.max(r.max().x);
                e.2 = e.2.min(r.min().y);
                e.3 = e.3.max(r.max().y);
            }
        }
        ext
    }
}

/// Calls `burn(cell_index)` for every cell of `grid` whose centre lies inside `geometry`
/// (see the module's rasterization rule). Each cell is visited at most once per polygon part.
///
/// # Complexity
/// O(E + C log C + B) for E edges, C row crossings and B burned cells.
pub fn burn_polygons(grid: &Grid, geometry: &MultiPolygon<f64>, mut burn: impl FnMut(usize)) {
    let (rows, cols) = (grid.rows() as i64, grid.cols() as i64);
    let (x0, y0, cs) = (grid.origin_x(), grid.origin_y(), grid.cell_size_m());
    let mut crossings: Vec<(u32, f64)> = Vec::new();
    for poly in geometry {
        crossings.clear();
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for line in ring.lines() {
                let (a, b) = (line.start, line.end);
                if a.y == b.y {
                    continue;
                }
                let (ylo, yhi) = if a.y < b.y { (a.y, b.y) } else { (b.y, a.y) };
                // Rows whose centre y_r satisfies ylo <= y_r < yhi, found approximately then tested exactly.
                // Clamped in f64 before the cast: far-away coordinates must not overflow.
                let r_first = ((y0 - yhi) / cs - 0.5).floor().max(0.0).min(rows as f64) as i64;
                let r_last = (((y0 - ylo) / cs - 0.5).floor() + 1.0)
                    .min((rows - 1) as f64)
                    .max(-1.0) as i64;
                for r in r_first..=r_last {
                    let yr = y0 - (r as f64 + 0.5) * cs;
                    if ylo <= yr && yr < yhi {
                        let x = a.x + (yr - a.y) * (b.x - a.x) / (b.y - a.y);
                        crossings.push((r as u32, x));
                    }
                }
            }
        }
        crossings.sort_unstable_by(|p, q| p.0.cmp(&q.0).then(p.1.total_cmp(&q.1)));
        for pair in crossings.chunks_exact(2) {
            let (r, xa) = pair[0];
            let (r2, xb) = pair[1];
            debug_assert_eq!(r, r2, "closed rings cross each row an even number of times");
            if r != r2 {
                continue;
            }
            // Centres x_c = x0 + (c + 0.5) cs with xa <= x_c < xb.
            let c_first = ((xa - x0) / cs - 0.5).ceil().max(0.0).min(cols as f64) as i64;
            let c_end = ((xb - x0) / cs - 0.5).ceil().min(cols as f64).max(0.0) as i64;
            let base = r as usize * cols as usize;
            for c in c_first..c_end {
                burn(base + c as usize);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Contains, Point};
    use proptest::prelude::*;

    fn grid(rows: u64, cols: u64) -> Grid {
        Grid::new(rows, cols, 10.0, 1000.0, 2000.0, Crs::projected_epsg(4545)).unwrap()
    }

    fn burned(grid: &Grid, mp: &MultiPolygon<f64>) -> Vec<u8> {
        let mut out = vec![0u8; grid.len()];
        burn_polygons(grid, mp, |i| out[i] += 1);
        out
    }

    #[test]
    fn a_vertex_far_outside_the_grid_still_burns_the_cells_inside() {
        // Found by fuzzing: y = -2.2e22 overflowed the row range (i64) and the polygon burned
        // nothing. A triangle reaching far south still covers the grid's left column band.
        let g = grid(6, 6);
        let p = polygon!(
            exterior: [(x: 1000.0, y: 2000.0), (x: 1030.0, y: 2000.0), (x: 1030.0, y: -2.2e22), (x: 1000.0, y: -2.2e22)],
            interiors: [],
        );
        let out = burned(&g, &MultiPolygon::new(vec![p]));
        for r in 0..6 {
            assert_eq!(&out[r * 6..r * 6 + 6], &[1, 1, 1, 0, 0, 0], "row {r}");
        }
    }

    #[test]
    fn a_position_without_y_is_an_error_not_a_panic() {
        // Found by fuzzing: geojson's own conversion indexes [1] without checking.
        for text in [
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[5],[0,0]]]}"#,
            r#"{"type":"MultiPolygon","coordinates":[[[[0,0],[1],[1,1],[0,0]]]]}"#,
        ] {
            let e = parse_geojson(Path::new("z.geojson"), text)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("z.geojson") && e.contains("where x and y are expected"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_square_with_a_hole_burns_the_ring_of_cells_around_it() {
        let g = grid(6, 6);
        // Outer: cells 1..5 in both directions; hole: cells 2..4.
        let p = polygon!(
            exterior: [(x: 1010.0, y: 1990.0), (x: 1050.0, y: 1990.0), (x: 1050.0, y: 1950.0), (x: 1010.0, y: 1950.0)],
            interiors: [[(x: 1020.0, y: 1980.0), (x: 1040.0, y: 1980.0), (x: 1040.0, y: 1960.0), (x: 1020.0, y: 1960.0)]],
        );
        let out = burned(&g, &MultiPolygon::new(vec![p]));
        let expect: Vec<u8> = ["000000", "011110", "010010", "010010", "011110", "000000"]
            .concat()
            .bytes()
            .map(|b| b - b'0')
            .collect();
        assert_eq!(out, expect);
    }

    #[test]
    fn polygons_sharing_an_edge_never_both_claim_a_cell() {
        let g = grid(4, 4);
        let left = polygon![(x: 1000.0, y: 2000.0), (x: 1020.0, y: 2000.0), (x: 1020.0, y: 1960.0), (x: 1000.0, y: 1960.0)];
        // The shared edge x = 1015 passes through cell centres of column 1.
        let l2 = polygon![(x: 1000.0, y: 2000.0), (x: 1015.0, y: 2000.0), (x: 1015.0, y: 1960.0), (x: 1000.0, y: 1960.0)];
        let r2 = polygon![(x: 1015.0, y: 2000.0), (x: 1040.0, y: 2000.0), (x: 1040.0, y: 1960.0), (x: 1015.0, y: 1960.0)];
        let mut count = vec![0u8; g.len()];
        burn_polygons(&g, &MultiPolygon::new(vec![l2]), |i| count[i] += 1);
        burn_polygons(&g, &MultiPolygon::new(vec![r2]), |i| count[i] += 1);
        assert!(count.iter().all(|&c| c == 1), "{count:?}");
        assert_eq!(
            burned(&g, &MultiPolygon::new(vec![left]))
                .iter()
                .filter(|&&v| v == 1)
                .count(),
            8
        );
    }

    #[test]
    fn polygons_beyond_the_grid_are_clipped() {
        let g = grid(3, 3);
        let p = polygon![(x: 900.0, y: 2100.0), (x: 2000.0, y: 2100.0), (x: 2000.0, y: 1000.0), (x: 900.0, y: 1000.0)];
        assert_eq!(burned(&g, &MultiPolygon::new(vec![p])), vec![1; 9]);
    }

    #[test]
    fn geojson_with_crs_member_is_read_and_checked() {
        let text = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4546"}},
            "features":[{"type":"Feature","properties":{"name":"红线"},"geometry":{"type":"Polygon","coordinates":[[[1000,2000],[1010,2000],[1010,1990],[1000,2000]]]}}]}"#;
        let layer = parse_geojson(Path::new("zones.geojson"), text).unwrap();
        assert_eq!(layer.features.len(), 1);
        assert_eq!(layer.features[0].properties["name"], "红线");
        let err = layer.check_against(&grid(3, 3)).unwrap_err().to_string();
        assert!(
            err.contains("EPSG:4546") && err.contains("ogr2ogr -t_srs EPSG:4545"),
            "{err}"
        );
    }

    #[test]
    fn a_layer_in_degrees_over_a_metre_grid_is_caught_by_its_extent() {
        let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[117.1,31.2],[117.2,31.2],[117.2,31.3],[117.1,31.2]]]}}]}"#;
        let layer = parse_geojson(Path::new("z.geojson"), text).unwrap();
        let err = layer.check_against(&grid(3, 3)).unwrap_err().to_string();
        assert!(err.contains("longitude/latitude"), "{err}");
    }

    #[test]
    fn non_polygon_features_are_refused_with_their_index() {
        let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}]}"#;
        let err = parse_geojson(Path::new("z.geojson"), text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("feature 0") && err.contains("LineString"),
            "{err}"
        );
        let err = parse_geojson(Path::new("z.geojson"), "{\"type\": \"Feature\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not valid GeoJSON"), "{err}");
    }

    proptest! {
        #[test]
        fn burning_matches_point_in_polygon_at_every_cell_centre(
            n in 6usize..14,
            radii in proptest::collection::vec(40.0f64..95.0, 14),
            jitter in proptest::collection::vec(-0.4f64..0.4, 14),
            centre in (1080.0f64..1120.0, 1880.0f64..1920.0),
            hole in proptest::option::of(3.0f64..12.0),
        ) {
            let g = grid(20, 20);
            // A star-shaped ring with evenly spread angles contains the disk of half its smallest
            // radius, so a hole of half-side < 0.35 x 40 m around the centre is inside it.
            let step = std::f64::consts::TAU / n as f64;
            let ext: Vec<(f64, f64)> = (0..n)
                .map(|k| {
                    let a = (k as f64 + jitter[k]) * step;
                    (centre.0 + radii[k] * a.cos(), centre.1 + radii[k] * a.sin())
                })
                .collect();
            let holes = match hole {
                Some(r) => vec![geo::LineString::from(vec![
                    (centre.0 - r, centre.1 - r), (centre.0 + r, centre.1 - r),
                    (centre.0 + r, centre.1 + r), (centre.0 - r, centre.1 + r),
                ])],
                None => vec![],
            };
            let poly = Polygon::new(geo::LineString::from(ext), holes);
            let out = burned(&g, &MultiPolygon::new(vec![poly.clone()]));
            for r in 0..g.rows() {
                for c in 0..g.cols() {
                    let (x, y) = g.cell_center(r, c);
                    let inside = poly.contains(&Point::new(x, y));
                    prop_assert_eq!(out[r * g.cols() + c] == 1, inside, "cell ({}, {})", r, c);
                }
            }
        }
    }
}
