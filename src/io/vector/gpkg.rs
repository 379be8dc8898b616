//! GeoPackage polygon layers (OGC 12-128r18), read with SQLite (`rusqlite`, bundled) and the
//! `wkb` crate.
//!
//! The feature tables are those of `gpkg_contents` with `data_type = 'features'`; a file with
//! several needs the scenario's `layer`. The geometry column and its `srs_id` come from
//! `gpkg_geometry_columns`; the CRS from `gpkg_spatial_ref_sys` (an EPSG code when the
//! organisation is EPSG, else its WKT). A geometry blob is the GeoPackage header (`GP`,
//! version, flags, srs id, optional envelope) followed by standard WKB. Text is UTF-8 by the
//! standard, so no encoding applies. The file is opened read-only.

use std::path::Path;

use geo::MultiPolygon;
use geo_traits::to_geo::{ToGeoMultiPolygon, ToGeoPolygon};
use geo_traits::GeometryTrait;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

use super::{Format, PolygonFeature, PolygonLayer, VectorError};
use crate::grid::Crs;
use crate::io::prj::{parse_crs_name, parse_prj};

/// Reads the polygon layer `layer` (or the only feature table) of a GeoPackage.
pub(super) fn read(path: &Path, layer: Option<&str>) -> Result<PolygonLayer, VectorError> {
    let invalid = |what: String| VectorError::Invalid {
        path: path.to_path_buf(),
        what,
    };
    let sql = |e: rusqlite::Error| invalid(format!("cannot be read as a GeoPackage: {e}"));
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    let tables: Vec<String> = conn
        .prepare(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name",
        )
        .and_then(|mut st| {
            st.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| {
            invalid(format!(
                "is an SQLite file but not a GeoPackage (no readable gpkg_contents: {e})"
            ))
        })?;
    let table = match (layer, tables.as_slice()) {
        (Some(name), _) if tables.iter().any(|t| t == name) => name.to_string(),
        (Some(name), _) => {
            return Err(invalid(format!(
                "has no feature layer `{name}`; its layers: {}\n  hint: set `layer` to one of them",
                list(&tables)
            )))
        }
        (None, [only]) => only.clone(),
        (None, []) => return Err(invalid("(GeoPackage) holds no feature layer".into())),
        (None, _) => {
            return Err(invalid(format!(
                "holds {} feature layers: {}\n  hint: say which one with `layer = \"...\"` beside the path in the scenario",
                tables.len(),
                list(&tables)
            )))
        }
    };
    let (geom_col, srs_id): (String, i64) = conn
        .query_row(
            "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?1",
            [&table],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| invalid(format!("has no geometry column for layer `{table}`: {e}")))?;
    let crs = layer_crs(&conn, srs_id);
    let mut st = conn
        .prepare(&format!("SELECT * FROM {}", quote(&table)))
        .map_err(sql)?;
    let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
    let geom_idx = names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(&geom_col))
        .ok_or_else(|| invalid(format!("layer `{table}` has no column `{geom_col}`")))?;
    let mut rows = st.query([]).map_err(sql)?;
    let mut features = Vec::new();
    let mut index = 0usize;
    while let Some(row) = rows.next().map_err(sql)? {
        let bad = |what: String| VectorError::Feature {
            path: path.to_path_buf(),
            index,
            what,
        };
        let mut properties = serde_json::Map::new();
        let mut geometry = None;
        for (k, name) in names.iter().enumerate() {
            let v = row.get_ref(k).map_err(sql)?;
            if k == geom_idx {
                if let ValueRef::Blob(b) = v {
                    geometry = polygon_from_blob(b).map_err(bad)?;
                }
                continue;
            }
            let value = match v {
                ValueRef::Null | ValueRef::Blob(_) => Value::Null,
                ValueRef::Integer(i) => Value::from(i),
                ValueRef::Real(x) => {
                    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
                }
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
            };
            properties.insert(name.clone(), value);
        }
        if let Some(geometry) = geometry {
            super::check_finite(&geometry).map_err(bad)?;
            features.push(PolygonFeature {
                geometry,
                properties,
            });
        }
        index += 1;
    }
    Ok(PolygonLayer {
        path: path.to_path_buf(),
        format: Format::GeoPackage,
        crs,
        features,
        notes: vec![format!(
            "layer `{}`: GeoPackage table `{table}`",
            path.display()
        )],
    })
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An SQL identifier in double quotes.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The layer's CRS: an EPSG code when the organisation says so, else the WKT's reading;
/// None for the standard's undefined systems (srs_id 0 and -1).
fn layer_crs(conn: &Connection, srs_id: i64) -> Option<Crs> {
    if srs_id <= 0 {
        return None;
    }
    let (org, code, wkt): (String, i64, String) = conn
        .query_row(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ok()?;
    if org.eq_ignore_ascii_case("EPSG") && code > 0 {
        Some(parse_crs_name(&format!("EPSG:{code}")))
    } else {
        Some(parse_prj(&wkt))
    }
}

/// Decodes a GeoPackage geometry blob; None for an empty geometry.
///
/// # Errors
/// A message for a blob that is not a GeoPackage geometry or not a polygon.
pub fn polygon_from_blob(b: &[u8]) -> Result<Option<MultiPolygon<f64>>, String> {
    if b.len() < 8 || &b[..2] != b"GP" {
        return Err("has a geometry that is not GeoPackage binary (no `GP` header)".into());
    }
    let flags = b[3];
    if flags & 0b0010_0000 != 0 {
        return Err("has an extended GeoPackage geometry, which is not read".into());
    }
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        e => {
            return Err(format!(
                "has a geometry header with envelope code {e}, which is invalid"
            ))
        }
    };
    if flags & 0b0001_0000 != 0 {
        return Ok(None);
    }
    let wkb_bytes = b.get(8 + envelope..).ok_or("has a truncated geometry")?;
    let g = wkb::reader::read_wkb(wkb_bytes).map_err(|e| format!("has unreadable WKB: {e}"))?;
    match g.as_type() {
        geo_traits::GeometryType::Polygon(p) => Ok(Some(MultiPolygon::new(vec![p.to_polygon()]))),
        geo_traits::GeometryType::MultiPolygon(mp) => Ok(Some(mp.to_multi_polygon())),
        _ => Err(super::not_polygon_message(type_name(&g))),
    }
}

fn type_name(g: &wkb::reader::Wkb<'_>) -> &'static str {
    match g.as_type() {
        geo_traits::GeometryType::Point(_) => "Point",
        geo_traits::GeometryType::LineString(_) => "LineString",
        geo_traits::GeometryType::MultiPoint(_) => "MultiPoint",
        geo_traits::GeometryType::MultiLineString(_) => "MultiLineString",
        geo_traits::GeometryType::GeometryCollection(_) => "GeometryCollection",
        _ => "non-polygon geometry",
    }
}
