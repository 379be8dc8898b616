//! Writing vector layers as GeoJSON FeatureCollections with a `crs` member (GDAL and QGIS
//! read it; RFC 7946 readers ignore it), atomically.
//!
//! Features are serialized one at a time to the file as they come from the iterator: the
//! city cluster's 127,599 candidate sites (113 MB of text) never sit in memory as one
//! collection, one JSON tree or one string.

use std::io::Write;
use std::path::Path;

use geo::MultiPolygon;
use geojson::{Feature, Geometry, JsonObject};

use crate::grid::Crs;

/// Writes polygon features (geometry + properties) to `path`.
pub fn write_polygons(
    path: &Path,
    crs: &Crs,
    features: impl IntoIterator<Item = (MultiPolygon<f64>, JsonObject)>,
) -> std::io::Result<()> {
    write_features(
        path,
        crs,
        features.into_iter().map(|(g, p)| (Geometry::from(&g), p)),
    )
}

/// Writes line features (vertices in map coordinates + properties) to `path`.
pub fn write_lines(
    path: &Path,
    crs: &Crs,
    features: impl IntoIterator<Item = (Vec<(f64, f64)>, JsonObject)>,
) -> std::io::Result<()> {
    write_features(
        path,
        crs,
        features
            .into_iter()
            .map(|(pts, p)| (Geometry::from(&geo::LineString::from(pts)), p)),
    )
}

/// The `crs` foreign member naming `crs`' EPSG code, if it has one.
fn crs_member(crs: &Crs) -> Option<serde_json::Value> {
    crs.epsg.map(|epsg| {
        serde_json::json!({"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{epsg}")}})
    })
}

/// The text of `geojson::FeatureCollection` with these features and the `crs` member, as
/// the crate serializes it (`type`, `features`, then the foreign members), written feature
/// by feature. No `bbox` member (an empty collection has none either).
fn write_features(
    path: &Path,
    crs: &Crs,
    features: impl Iterator<Item = (Geometry, JsonObject)>,
) -> std::io::Result<()> {
    let member = crs_member(crs);
    super::atomic::write_atomic(path, |w| {
        w.write_all(br#"{"type":"FeatureCollection","features":["#)?;
        for (i, (g, props)) in features.enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            let f = Feature {
                geometry: Some(g),
                properties: Some(props),
                ..Default::default()
            };
            serde_json::to_writer(&mut *w, &f).map_err(std::io::Error::other)?;
        }
        w.write_all(b"]")?;
        if let Some(m) = &member {
            w.write_all(br#","crs":"#)?;
            serde_json::to_writer(&mut *w, m).map_err(std::io::Error::other)?;
        }
        w.write_all(b"}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, LineString};
    use geojson::FeatureCollection;

    /// What the crate writes for the whole collection built in memory.
    fn the_crates_text(crs: &Crs, features: Vec<(Geometry, JsonObject)>) -> String {
        let mut fc = FeatureCollection::new(features.into_iter().map(|(g, p)| Feature {
            geometry: Some(g),
            properties: Some(p),
            ..Default::default()
        }));
        // The crate gives an empty collection `"bbox":[]`, which RFC 7946 (section 5: 2n
        // numbers) does not allow; ours has no bbox, as the crate's non-empty ones here.
        fc.bbox = None;
        if let Some(m) = crs_member(crs) {
            let mut fm = JsonObject::new();
            fm.insert("crs".into(), m);
            fc.foreign_members = Some(fm);
        }
        serde_json::to_string(&fc).unwrap()
    }

    fn props(i: usize) -> JsonObject {
        let mut p = JsonObject::new();
        p.insert("site_id".into(), format!("S{i}").into());
        p.insert("area_ha".into(), (i as f64 * 0.5625).into());
        p.insert("selected".into(), u8::from(i % 2 == 0).into());
        p
    }

    /// Streamed polygons and lines are the crate's text byte for byte: with and without an
    /// EPSG code, none, one and several features, a polygon with a hole and a multipolygon.
    #[test]
    fn streamed_collections_are_the_crates_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.geojson");
        let square =
            polygon![(x: 0.0, y: 0.0), (x: 30.0, y: 0.0), (x: 30.0, y: 30.0), (x: 0.0, y: 30.0)];
        let holed = geo::Polygon::new(
            LineString::from(vec![
                (100.0, 0.0),
                (190.0, 0.0),
                (190.0, 90.0),
                (100.0, 0.0),
            ]),
            vec![LineString::from(vec![
                (130.0, 30.0),
                (160.0, 30.0),
                (160.0, 45.0),
                (130.0, 30.0),
            ])],
        );
        let polys = [
            MultiPolygon(vec![square.clone()]),
            MultiPolygon(vec![square, holed.clone()]),
            MultiPolygon(vec![holed]),
            MultiPolygon(Vec::new()),
        ];
        let lines = [
            vec![(0.5, 1.25), (2.0, 3.0)],
            vec![
                (500_000.123, 4_000_000.5),
                (500_030.0, 4_000_030.0),
                (1e-7, -3.0),
            ],
        ];
        for crs in [Crs::projected_epsg(4545), Crs::unknown()] {
            for n in [0, 1, polys.len()] {
                let feats: Vec<_> = polys[..n]
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (g.clone(), props(i)))
                    .collect();
                write_polygons(&path, &crs, feats.clone()).unwrap();
                let expected = the_crates_text(
                    &crs,
                    feats
                        .iter()
                        .map(|(g, p)| (Geometry::from(g), p.clone()))
                        .collect(),
                );
                assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
            }
            let feats: Vec<_> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), props(i)))
                .collect();
            write_lines(&path, &crs, feats.clone()).unwrap();
            let expected = the_crates_text(
                &crs,
                feats
                    .into_iter()
                    .map(|(l, p)| (Geometry::from(&LineString::from(l)), p))
                    .collect(),
            );
            assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
        }
    }
}
