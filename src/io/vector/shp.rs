//! ESRI Shapefile polygon layers, read with the `shapefile` and `dbase` crates.
//!
//! A Shapefile is several files with one stem: `.shp` (geometry), `.shx` (index), `.dbf`
//! (attributes), `.prj` (coordinate system) and often `.cpg` (attribute encoding). All but
//! `.cpg` are required here; companions are found whatever the case of their extension.
//!
//! # Attribute encoding
//! In order: the scenario's `encoding` for the layer; the `.cpg` file (`UTF-8`, `GBK`, `936`,
//! `CP936`...; ArcGIS's `System` means "this computer's code page" and is treated as unknown);
//! the `.dbf` language-driver byte when it names a code page (0x4D / 0x7A: GBK, 0xF0 is not
//! standard and ignored); otherwise the content decides: UTF-8 when every attribute byte is
//! valid UTF-8, else GBK (what ArcGIS and older QGIS write on Chinese Windows). The choice is
//! recorded in the layer's notes.
//!
//! # Rings
//! Shapefile polygons are lists of rings: clockwise rings are exteriors, counter-clockwise
//! rings are holes. A hole belongs to the smallest exterior that contains it (the order of
//! rings in a record is not significant in the specification); a hole inside no exterior is
//! taken as an exterior, as GDAL does.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use geo::{Area, Contains, Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

use super::{Format, PolygonFeature, PolygonLayer, VectorError};
use crate::io::prj::parse_prj;

/// The companion file of a Shapefile with extension `ext`, whatever its case (`.dbf`, `.DBF`).
pub fn sibling(shp: &Path, ext: &str) -> Option<PathBuf> {
    [ext.to_ascii_lowercase(), ext.to_ascii_uppercase()]
        .into_iter()
        .map(|e| shp.with_extension(e))
        .find(|p| p.is_file())
}

/// Reads a Shapefile of polygons (see the module docs).
pub(super) fn read(
    path: &Path,
    encoding: Option<&'static encoding_rs::Encoding>,
) -> Result<PolygonLayer, VectorError> {
    let invalid = |what: String| VectorError::Invalid {
        path: path.to_path_buf(),
        what,
    };
    let io = |source: std::io::Error| VectorError::Io {
        path: path.to_path_buf(),
        source,
    };
    let stem = path.with_extension("");
    let missing = |ext: &str, role: &str| {
        invalid(format!(
            "is a Shapefile without its `{}.{ext}` ({role})\n  hint: a Shapefile is several files with one name (.shp, .shx, .dbf, .prj, .cpg); copy all of them into the same folder",
            stem.display()
        ))
    };
    let shx = sibling(path, "shx").ok_or_else(|| missing("shx", "the index of the shapes"))?;
    let dbf = sibling(path, "dbf").ok_or_else(|| missing("dbf", "the attribute table"))?;
    let crs = match sibling(path, "prj") {
        Some(p) => Some(parse_prj(&std::fs::read_to_string(&p).map_err(io)?)),
        None => None,
    };
    let cpg = match sibling(path, "cpg") {
        Some(p) => Some((p.clone(), std::fs::read(&p).map_err(io)?)),
        None => None,
    };
    let dbf_bytes = std::fs::read(&dbf).map_err(io)?;
    let (enc, note) = choose_encoding(encoding, cpg.as_ref(), &dbf_bytes);
    let dbf_reader = dbase::ReaderBuilder::new()
        .with_encoding(dbase::encoding::EncodingRs::from(enc))
        .build(std::io::Cursor::new(dbf_bytes))
        .map_err(|e| {
            invalid(format!(
                "has an unreadable attribute table `{}`: {e}",
                dbf.display()
            ))
        })?;
    let shp_file = BufReader::new(File::open(path).map_err(io)?);
    let shx_file = BufReader::new(File::open(&shx).map_err(io)?);
    let shape_reader = shapefile::ShapeReader::with_shx(shp_file, shx_file)
        .map_err(|e| invalid(format!("is not a readable Shapefile: {e}")))?;
    let mut reader = shapefile::Reader::new(shape_reader, dbf_reader);
    let mut features = Vec::new();
    for (index, item) in reader.iter_shapes_and_records().enumerate() {
        let bad = |what: String| VectorError::Feature {
            path: path.to_path_buf(),
            index,
            what,
        };
        let (shape, record) = item.map_err(|e| bad(format!("cannot be read: {e}")))?;
        let rings: Vec<Vec<Coord<f64>>> = match shape {
            shapefile::Shape::NullShape => continue,
            shapefile::Shape::Polygon(p) => ring_coords(p.rings(), |q| (q.x, q.y)),
            shapefile::Shape::PolygonM(p) => ring_coords(p.rings(), |q| (q.x, q.y)),
            shapefile::Shape::PolygonZ(p) => ring_coords(p.rings(), |q| (q.x, q.y)),
            other => {
                return Err(bad(super::not_polygon_message(
                    &other.shapetype().to_string(),
                )))
            }
        };
        let geometry = assemble(rings);
        super::check_finite(&geometry).map_err(bad)?;
        features.push(PolygonFeature {
            geometry,
            properties: record
                .into_iter()
                .map(|(k, v)| (k, json_value(v)))
                .collect(),
        });
    }
    Ok(PolygonLayer {
        path: path.to_path_buf(),
        format: Format::Shapefile,
        crs,
        features,
        notes: vec![format!("layer `{}`: {note}", path.display())],
    })
}

fn ring_coords<P>(
    rings: &[shapefile::PolygonRing<P>],
    xy: impl Fn(&P) -> (f64, f64),
) -> Vec<Vec<Coord<f64>>> {
    rings
        .iter()
        .map(|r| {
            r.points()
                .iter()
                .map(|p| {
                    let (x, y) = xy(p);
                    Coord { x, y }
                })
                .collect()
        })
        .collect()
}

/// Rings to polygons: clockwise rings (negative signed area, y up) are exteriors; each hole
/// goes to the smallest exterior containing its first vertex.
fn assemble(rings: Vec<Vec<Coord<f64>>>) -> MultiPolygon<f64> {
    let mut outers: Vec<(Polygon<f64>, f64)> = Vec::new();
    let mut holes: Vec<LineString<f64>> = Vec::new();
    for ring in rings {
        if ring.len() < 3 {
            continue;
        }
        let ls = LineString::from(ring);
        let signed = Polygon::new(ls.clone(), vec![]).signed_area();
        if signed < 0.0 {
            outers.push((Polygon::new(ls, vec![]), -signed));
        } else if signed > 0.0 {
            holes.push(ls);
        }
    }
    let mut orphans = Vec::new();
    let mut assigned: Vec<Vec<LineString<f64>>> = vec![Vec::new(); outers.len()];
    for h in holes {
        let probe = geo::Point::from(h.0[0]);
        let owner = outers
            .iter()
            .enumerate()
            .filter(|(_, (p, _))| p.contains(&probe) || p.exterior().contains(&probe))
            .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
            .map(|(k, _)| k);
        match owner {
            Some(k) => assigned[k].push(h),
            None => orphans.push(Polygon::new(h, vec![])),
        }
    }
    let mut polys: Vec<Polygon<f64>> = outers
        .into_iter()
        .zip(assigned)
        .map(|((p, _), hs)| Polygon::new(p.exterior().clone(), hs))
        .collect();
    polys.extend(orphans);
    MultiPolygon::new(polys)
}

/// Picks the attribute encoding (see the module docs) and says how it was chosen.
fn choose_encoding(
    given: Option<&'static encoding_rs::Encoding>,
    cpg: Option<&(PathBuf, Vec<u8>)>,
    dbf: &[u8],
) -> (&'static encoding_rs::Encoding, String) {
    if let Some(e) = given {
        return (e, format!("attributes read as {} (scenario)", e.name()));
    }
    if let Some((p, bytes)) = cpg {
        let text = String::from_utf8_lossy(bytes);
        if let Some(e) = super::encoding_for(&text) {
            return (
                e,
                format!(
                    "attributes read as {} (from `{}`)",
                    e.name(),
                    p.file_name().unwrap_or_default().to_string_lossy()
                ),
            );
        }
    }
    let ldid = dbf.get(29).copied().unwrap_or(0);
    if ldid == 0x4D || ldid == 0x7A {
        return (
            encoding_rs::GBK,
            format!("attributes read as GBK (the .dbf's language driver 0x{ldid:02X})"),
        );
    }
    // The records (and field names) as stored; numbers and padding are ASCII either way.
    let body = dbf.get(32..).unwrap_or_default();
    if std::str::from_utf8(body).is_ok() {
        (
            encoding_rs::UTF_8,
            "attributes read as UTF-8 (no .cpg; every byte is valid UTF-8)".into(),
        )
    } else {
        (
            encoding_rs::GBK,
            "attributes read as GBK (no .cpg and not valid UTF-8; set `encoding` for the layer if the names look wrong)".into(),
        )
    }
}

/// A dBase value as a JSON value: whole numbers become integers (so ids compare as ids).
fn json_value(v: dbase::FieldValue) -> Value {
    use dbase::FieldValue as F;
    let number = |x: f64| {
        if x.fract() == 0.0 && x.abs() < 9.0e15 {
            Value::from(x as i64)
        } else {
            serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
        }
    };
    match v {
        F::Character(Some(s)) | F::Memo(s) => Value::String(s),
        F::Character(None)
        | F::Numeric(None)
        | F::Float(None)
        | F::Logical(None)
        | F::Date(None) => Value::Null,
        F::Numeric(Some(x)) | F::Double(x) => number(x),
        F::Float(Some(x)) => number(f64::from(x)),
        F::Integer(i) => Value::from(i),
        F::Currency(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
        F::Logical(Some(b)) => Value::Bool(b),
        F::Date(Some(d)) => {
            Value::String(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
        }
        F::DateTime(dt) => {
            let d = dt.date();
            let t = dt.time();
            Value::String(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                d.year(),
                d.month(),
                d.day(),
                t.hours(),
                t.minutes(),
                t.seconds()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, Point};

    fn square(x0: f64, y0: f64, side: f64, clockwise: bool) -> Vec<Coord<f64>> {
        let mut v = vec![
            Coord { x: x0, y: y0 },
            Coord {
                x: x0 + side,
                y: y0,
            },
            Coord {
                x: x0 + side,
                y: y0 + side,
            },
            Coord {
                x: x0,
                y: y0 + side,
            },
            Coord { x: x0, y: y0 },
        ];
        if clockwise {
            v.reverse();
        }
        v
    }

    #[test]
    fn holes_go_to_the_exterior_that_contains_them_whatever_the_order() {
        // Two exteriors (clockwise) and a hole of the second listed first.
        let rings = vec![
            square(12.0, 2.0, 2.0, false),
            square(0.0, 0.0, 5.0, true),
            square(10.0, 0.0, 6.0, true),
        ];
        let mp = assemble(rings);
        assert_eq!(mp.0.len(), 2);
        assert_eq!(mp.0[0].interiors().len(), 0);
        assert_eq!(mp.0[1].interiors().len(), 1);
        assert!(!mp.contains(&Point::new(13.0, 3.0)), "inside the hole");
        assert!(mp.contains(&Point::new(11.0, 1.0)));
        assert!(mp.contains(&Point::new(2.0, 2.0)));
    }

    #[test]
    fn a_hole_inside_no_exterior_becomes_an_exterior_and_degenerate_rings_are_dropped() {
        let rings = vec![
            square(0.0, 0.0, 5.0, true),
            square(20.0, 20.0, 1.0, false),
            vec![Coord { x: 0.0, y: 0.0 }, Coord { x: 1.0, y: 1.0 }],
        ];
        let mp = assemble(rings);
        assert_eq!(mp.0.len(), 2);
        assert!(mp.contains(&Point::new(20.5, 20.5)));
    }

    #[test]
    fn the_encoding_is_chosen_in_order_scenario_cpg_driver_content() {
        let gbk_name = encoding_rs::GBK.encode("青山区").0.into_owned();
        let mut dbf = vec![0u8; 32];
        dbf.extend_from_slice(&gbk_name);
        let cpg = (PathBuf::from("x.cpg"), b"UTF-8\r\n".to_vec());
        assert_eq!(
            choose_encoding(Some(encoding_rs::BIG5), Some(&cpg), &dbf).0,
            encoding_rs::BIG5
        );
        assert_eq!(
            choose_encoding(None, Some(&cpg), &dbf).0,
            encoding_rs::UTF_8
        );
        let system = (PathBuf::from("x.cpg"), b"System".to_vec());
        assert_eq!(
            choose_encoding(None, Some(&system), &dbf).0,
            encoding_rs::GBK
        );
        let mut utf8 = vec![0u8; 32];
        utf8.extend_from_slice("青山区".as_bytes());
        assert_eq!(choose_encoding(None, None, &utf8).0, encoding_rs::UTF_8);
        utf8[29] = 0x4D;
        assert_eq!(choose_encoding(None, None, &utf8).0, encoding_rs::GBK);
    }
}
