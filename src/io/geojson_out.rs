//! Writing vector layers as GeoJSON FeatureCollections with a `crs` member (GDAL and QGIS
//! read it; RFC 7946 readers ignore it), atomically.

use std::io::Write;
use std::path::Path;

use geo::MultiPolygon;
use geojson::{Feature, FeatureCollection, Geometry, JsonObject};

use crate::grid::Crs;

/// Writes polygon features (geometry + properties) to `path`.
pub fn write_polygons(
    path: &Path,
    crs: &Crs,
    features: &[(MultiPolygon<f64>, JsonObject)],
) -> std::io::Result<()> {
    write_features(
        path,
        crs,
        features
            .iter()
            .map(|(g, p)| (Geometry::from(g), p.clone()))
            .collect(),
    )
}

/// Writes line features (vertices in map coordinates + properties) to `path`.
pub fn write_lines(
    path: &Path,
    crs: &Crs,
    features: &[(Vec<(f64, f64)>, JsonObject)],
) -> std::io::Result<()> {
    write_features(
        path,
        crs,
        features
            .iter()
            .map(|(pts, p)| {
                (
                    Geometry::from(&geo::LineString::from(pts.clone())),
                    p.clone(),
                )
            })
            .collect(),
    )
}

fn write_features(
    path: &Path,
    crs: &Crs,
    features: Vec<(Geometry, JsonObject)>,
) -> std::io::Result<()> {
    let feats: Vec<Feature> = features
        .into_iter()
        .map(|(g, props)| Feature {
            geometry: Some(g),
            properties: Some(props),
            ..Default::default()
        })
        .collect();
    let mut fc = FeatureCollection::new(feats);
    if let Some(epsg) = crs.epsg {
        let mut fm = JsonObject::new();
        fm.insert("crs".into(), serde_json::json!({"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{epsg}")}}));
        fc.foreign_members = Some(fm);
    }
    let text = serde_json::to_string(&fc).map_err(std::io::Error::other)?;
    super::atomic::write_atomic(path, |w| w.write_all(text.as_bytes()))
}
