//! Writing polygon layers as GeoJSON FeatureCollections with a `crs` member (GDAL and QGIS
//! read it; RFC 7946 readers ignore it), atomically.

use std::io::Write;
use std::path::Path;

use geo::MultiPolygon;
use geojson::{Feature, FeatureCollection, Geometry, JsonObject};

use crate::grid::Crs;

/// Writes features (geometry + properties) to `path`.
pub fn write_polygons(
    path: &Path,
    crs: &Crs,
    features: &[(MultiPolygon<f64>, JsonObject)],
) -> std::io::Result<()> {
    let feats: Vec<Feature> = features
        .iter()
        .map(|(g, props)| Feature {
            geometry: Some(Geometry::from(g)),
            properties: Some(props.clone()),
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
