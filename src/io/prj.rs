//! Reading a coordinate reference system from the text of a `.prj` file (WKT1, ESRI WKT, or
//! the old ESRI `Projection UTM / Zone 15 / Units METERS` form) or from a GeoJSON `crs` name.
//!
//! Only what ecocorridor needs is extracted: the EPSG code when stated (an `AUTHORITY["EPSG",..]`
//! or `ID["EPSG",..]` on the outermost CRS, or a CGCS2000 Gauss-Kruger zone recognised by
//! name), whether the CRS is projected or geographic, and whether its linear unit is the metre.

use crate::grid::{epsg_kind, Crs, CrsKind};

/// Parses `.prj` text. Never fails: what cannot be understood gives [`CrsKind::Unknown`].
pub fn parse_prj(text: &str) -> Crs {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    if upper.starts_with("PROJCS[")
        || upper.starts_with("PROJCRS[")
        || upper.starts_with("GEOGCS[")
        || upper.starts_with("GEOGCRS[")
        || upper.starts_with("GEODCRS[")
    {
        return parse_wkt(t);
    }
    // Old ESRI style: keyword lines.
    let mut projection = None;
    let mut zone = None;
    let mut units = None;
    for line in t.lines() {
        let mut it = line.split_whitespace();
        match (it.next().map(|s| s.to_ascii_lowercase()), it.next()) {
            (Some(k), Some(v)) if k == "projection" => projection = Some(v.to_ascii_uppercase()),
            (Some(k), Some(v)) if k == "zone" => zone = v.parse::<i32>().ok(),
            (Some(k), Some(v)) if k == "units" => units = Some(v.to_ascii_uppercase()),
            _ => {}
        }
    }
    match projection.as_deref() {
        Some("GEOGRAPHIC") => Crs {
            epsg: None,
            kind: CrsKind::Geographic,
            name: "geographic (ESRI .prj)".into(),
        },
        Some(p) => {
            let metres = units.as_deref().is_none_or(|u| u.starts_with("MET"));
            Crs {
                epsg: None,
                kind: if metres {
                    CrsKind::ProjectedMetres
                } else {
                    CrsKind::ProjectedOther
                },
                name: match zone {
                    Some(z) => format!("{p} zone {z}"),
                    None => p.to_string(),
                },
            }
        }
        None => Crs::unknown(),
    }
}

/// Parses a GeoJSON `crs` name such as `urn:ogc:def:crs:EPSG::4545`, `EPSG:4545` or
/// `urn:ogc:def:crs:OGC:1.3:CRS84`.
pub fn parse_crs_name(name: &str) -> Crs {
    let upper = name.to_ascii_uppercase();
    if upper.ends_with("CRS84") || upper.ends_with("CRS83") {
        return Crs {
            epsg: Some(4326),
            kind: CrsKind::Geographic,
            name: name.to_string(),
        };
    }
    if let Some(pos) = upper.rfind("EPSG") {
        let digits: String = upper[pos + 4..]
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if let Ok(code) = digits.parse::<u32>() {
            let kind = epsg_kind(code);
            return Crs {
                epsg: Some(code),
                kind,
                name: format!("EPSG:{code}"),
            };
        }
    }
    Crs {
        epsg: None,
        kind: CrsKind::Unknown,
        name: name.to_string(),
    }
}

fn parse_wkt(t: &str) -> Crs {
    let upper = t.to_ascii_uppercase();
    let projected = upper.starts_with("PROJCS") || upper.starts_with("PROJCRS");
    let name = t.split('"').nth(1).unwrap_or("").to_string();
    // The outermost authority is the last AUTHORITY/ID at bracket depth 1.
    let epsg = outer_epsg(t)
        .or_else(|| cgcs2000_gk_by_name(&name))
        .or_else(|| esri_name_code(&name, projected));
    let kind = if projected {
        // The linear unit of a PROJCS is its last top-level UNIT.
        let unit = outer_unit(t).unwrap_or_default().to_ascii_lowercase();
        if unit.is_empty() || unit.starts_with("met") || unit == "m" {
            CrsKind::ProjectedMetres
        } else {
            CrsKind::ProjectedOther
        }
    } else {
        CrsKind::Geographic
    };
    let name = match epsg {
        Some(e) => format!("EPSG:{e} ({name})"),
        None => name,
    };
    Crs { epsg, kind, name }
}

/// Splits the top-level items of the outer WKT node and returns them with their keyword.
fn top_level_items(t: &str) -> Vec<(String, String)> {
    let Some(open) = t.find('[') else {
        return Vec::new();
    };
    let body = &t[open + 1..];
    let mut items = Vec::new();
    let (mut depth, mut start, mut in_str) = (0i32, 0usize, false);
    for (i, c) in body.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '[' | '(' if !in_str => depth += 1,
            ']' | ')' if !in_str => {
                if depth == 0 {
                    items.push(body[start..i].trim().to_string());
                    break;
                }
                depth -= 1;
            }
            ',' if !in_str && depth == 0 => {
                items.push(body[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    items
        .into_iter()
        .map(|it| {
            let kw = it
                .split(['[', '('])
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_uppercase();
            (kw, it)
        })
        .collect()
}

fn outer_epsg(t: &str) -> Option<u32> {
    top_level_items(t).into_iter().rev().find_map(|(kw, it)| {
        if kw == "AUTHORITY" || kw == "ID" {
            let parts: Vec<&str> = it.split('"').collect();
            if parts.get(1).is_some_and(|a| a.eq_ignore_ascii_case("EPSG")) {
                let rest = it.split(',').nth(1)?;
                return rest
                    .trim()
                    .trim_matches(|c: char| !c.is_ascii_digit())
                    .parse()
                    .ok();
            }
        }
        None
    })
}

fn outer_unit(t: &str) -> Option<String> {
    top_level_items(t).into_iter().rev().find_map(|(kw, it)| {
        if kw == "UNIT" || kw == "LENGTHUNIT" {
            it.split('"').nth(1).map(str::to_string)
        } else {
            None
        }
    })
}

/// ESRI `.prj` files name their CRS without a code: the geographic systems of China and the
/// world, and WGS 84 / UTM zones, by name.
fn esri_name_code(name: &str, projected: bool) -> Option<u32> {
    let n = name.to_ascii_uppercase().replace(['_', '-', ' '], "");
    if !projected {
        return match n.trim_start_matches("GCS") {
            "CHINAGEODETICCOORDINATESYSTEM2000" | "CGCS2000" => Some(4490),
            "WGS1984" | "WGS84" => Some(4326),
            "BEIJING1954" => Some(4214),
            "XIAN1980" => Some(4610),
            _ => None,
        };
    }
    let zone = n
        .strip_prefix("WGS1984UTMZONE")
        .or_else(|| n.strip_prefix("WGS84UTMZONE"))?;
    let (digits, hemi) = zone.split_at(zone.len().checked_sub(1)?);
    let z: u32 = digits.parse().ok()?;
    match (hemi, (1..=60).contains(&z)) {
        ("N", true) => Some(32600 + z),
        ("S", true) => Some(32700 + z),
        _ => None,
    }
}

/// CGCS2000 3-degree Gauss-Kruger zones by their ESRI/EPSG names: zone z (25-45) is
/// EPSG 4513 + (z - 25); central-meridian forms ("CM 117E") are EPSG 4534 + (cm - 75) / 3.
fn cgcs2000_gk_by_name(name: &str) -> Option<u32> {
    let n = name.to_ascii_uppercase().replace(['_', '-'], " ");
    if !n.contains("CGCS2000") || !n.contains("3 DEGREE") {
        return None;
    }
    let digits_after = |key: &str| -> Option<u32> {
        let pos = n.find(key)? + key.len();
        let d: String = n[pos..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        d.parse().ok()
    };
    if let Some(cm) = digits_after("CM") {
        if (75..=135).contains(&cm) && cm % 3 == 0 {
            return Some(4534 + (cm - 75) / 3);
        }
    }
    if let Some(z) = digits_after("ZONE") {
        if (25..=45).contains(&z) {
            return Some(4513 + (z - 25));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esri_albers_is_projected_metres_without_code() {
        let t = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/lm_cores.prj"
        ))
        .unwrap();
        let c = parse_prj(&t);
        assert_eq!(c.kind, CrsKind::ProjectedMetres);
        assert_eq!(c.epsg, None);
        assert!(c.name.contains("Albers"), "{}", c.name);
    }

    #[test]
    fn gdal_wkt_takes_the_outer_authority_not_the_datum_one() {
        let t = r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 117E",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4490"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",117],PARAMETER["scale_factor",1],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Northing",NORTH],AXIS["Easting",EAST],AUTHORITY["EPSG","4548"]]"#;
        let c = parse_prj(t);
        assert_eq!(c.epsg, Some(4548));
        assert_eq!(c.kind, CrsKind::ProjectedMetres);
    }

    #[test]
    fn esri_cgcs2000_names_map_to_epsg_codes() {
        let zone = r#"PROJCS["CGCS2000_3_Degree_GK_Zone_39",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000"],UNIT["Meter",1.0]]"#;
        assert_eq!(parse_prj(zone).epsg, Some(4527));
        let cm = r#"PROJCS["CGCS2000_3_Degree_GK_CM_117E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000"],UNIT["Meter",1.0]]"#;
        assert_eq!(parse_prj(cm).epsg, Some(4548));
    }

    #[test]
    fn esri_geographic_and_utm_names_map_to_epsg_codes() {
        // What GDAL 3.6 writes as the .prj of EPSG:4490 (no AUTHORITY in ESRI WKT).
        let cgcs = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert_eq!(parse_prj(cgcs).epsg, Some(4490));
        let wgs = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert_eq!(parse_prj(wgs).epsg, Some(4326));
        let utm = r#"PROJCS["WGS_1984_UTM_Zone_50N",GEOGCS["GCS_WGS_1984"],PROJECTION["Transverse_Mercator"],UNIT["Meter",1.0]]"#;
        assert_eq!(parse_prj(utm).epsg, Some(32650));
        let south = r#"PROJCS["WGS_1984_UTM_Zone_33S",GEOGCS["GCS_WGS_1984"],UNIT["Meter",1.0]]"#;
        assert_eq!(parse_prj(south).epsg, Some(32733));
        let other = r#"PROJCS["Asia_North_Albers_Equal_Area_Conic",GEOGCS["GCS_WGS_1984"],UNIT["Meter",1.0]]"#;
        assert_eq!(parse_prj(other).epsg, None);
    }

    #[test]
    fn geographic_and_feet_are_recognised() {
        let g = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert_eq!(parse_prj(g).kind, CrsKind::Geographic);
        let ft =
            r#"PROJCS["NAD83 / Texas",GEOGCS["NAD83"],UNIT["US survey foot",0.3048006096012192]]"#;
        assert_eq!(parse_prj(ft).kind, CrsKind::ProjectedOther);
    }

    #[test]
    fn old_esri_keyword_prj_is_read() {
        let t = "Projection    UTM\nZone          15\nDatum         NAD83\nUnits         METERS\n";
        let c = parse_prj(t);
        assert_eq!(c.kind, CrsKind::ProjectedMetres);
        assert_eq!(c.name, "UTM zone 15");
    }

    #[test]
    fn geojson_crs_names_are_read() {
        assert_eq!(
            parse_crs_name("urn:ogc:def:crs:EPSG::4545").epsg,
            Some(4545)
        );
        assert_eq!(
            parse_crs_name("urn:ogc:def:crs:EPSG::4545").kind,
            CrsKind::ProjectedMetres
        );
        assert_eq!(
            parse_crs_name("urn:ogc:def:crs:OGC:1.3:CRS84").kind,
            CrsKind::Geographic
        );
        assert_eq!(parse_crs_name("EPSG:4490").kind, CrsKind::Geographic);
    }
}
