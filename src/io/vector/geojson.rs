//! GeoJSON polygon layers (RFC 7946, plus the older `crs` member naming an EPSG code).

use std::path::Path;

use ::geojson::{GeoJson, GeometryValue};
use geo::{MultiPolygon, Polygon};

use super::{Format, PolygonFeature, PolygonLayer, VectorError};
use crate::io::prj::parse_crs_name;

/// Reads a GeoJSON FeatureCollection (or a single Feature or Geometry) of Polygons and
/// MultiPolygons. Features without geometry are skipped; other geometry types are an error.
///
/// # Errors
/// [`VectorError`] naming the file and, for a bad feature, its index.
pub fn read_geojson(path: &Path) -> Result<PolygonLayer, VectorError> {
    read(path, None)
}

/// Reads a GeoJSON file whose text is UTF-8 (RFC 7946) or, when `encoding` is given, in that
/// encoding (older exports from Chinese desktops are GBK).
pub(super) fn read(
    path: &Path,
    encoding: Option<&'static encoding_rs::Encoding>,
) -> Result<PolygonLayer, VectorError> {
    let bytes = std::fs::read(path).map_err(|source| VectorError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = match encoding {
        Some(enc) => enc.decode(&bytes).0,
        None => match std::str::from_utf8(&bytes) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(e) => {
                return Err(VectorError::Invalid {
                    path: path.to_path_buf(),
                    what: format!(
                        "is not UTF-8 text (byte {} is not valid UTF-8), as GeoJSON must be\n  hint: if it was saved as GBK, set `encoding = \"gbk\"` for this layer, or convert it: `ogr2ogr -f GeoJSON -lco ENCODING=UTF-8 utf8.geojson {}`",
                        e.valid_up_to(),
                        path.display()
                    ),
                })
            }
        },
    };
    parse_geojson(path, text.trim_start_matches('\u{feff}'))
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
            v @ GeometryValue::Polygon { .. } => {
                MultiPolygon::new(vec![Polygon::try_from(v).map_err(|e| bad(e.to_string()))?])
            }
            v @ GeometryValue::MultiPolygon { .. } => {
                MultiPolygon::try_from(v).map_err(|e| bad(e.to_string()))?
            }
            other => return Err(bad(super::not_polygon_message(other.type_name()))),
        };
        super::check_finite(&geometry).map_err(bad)?;
        out.push(PolygonFeature {
            geometry,
            properties: f.properties.unwrap_or_default(),
        });
    }
    Ok(PolygonLayer {
        path: path.to_path_buf(),
        format: Format::GeoJson,
        crs,
        features: out,
        notes: Vec::new(),
    })
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Crs, Grid};

    fn grid(rows: u64, cols: u64) -> Grid {
        Grid::new(rows, cols, 10.0, 1000.0, 2000.0, Crs::projected_epsg(4545)).unwrap()
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
    fn geojson_with_crs_member_is_read_and_checked() {
        let text = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4546"}},
            "features":[{"type":"Feature","properties":{"name":"红线"},"geometry":{"type":"Polygon","coordinates":[[[1000,2000],[1010,2000],[1010,1990],[1000,2000]]]}}]}"#;
        let layer = parse_geojson(Path::new("zones.geojson"), text).unwrap();
        assert_eq!(layer.features.len(), 1);
        assert_eq!(layer.features[0].properties["name"], "红线");
        // EPSG:4546 (CM 111E) is converted to the grid's EPSG:4545 (CM 108E): (1000, 2000)
        // becomes x = 335,451.78 m (gdaltransform agrees), so nothing overlaps, and the
        // message shows the converted extent.
        let err = layer.onto(&grid(3, 3)).unwrap_err().to_string();
        assert!(
            err.contains("zones.geojson")
                && err.contains("overlaps the study area")
                && err.contains("x 335451.8"),
            "{err}"
        );
    }

    #[test]
    fn a_layer_in_degrees_over_a_metre_grid_is_caught_by_its_extent() {
        let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[117.1,31.2],[117.2,31.2],[117.2,31.3],[117.1,31.2]]]}}]}"#;
        let layer = parse_geojson(Path::new("z.geojson"), text).unwrap();
        let err = layer.onto(&grid(3, 3)).unwrap_err().to_string();
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
}
