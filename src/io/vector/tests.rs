use super::*;
use crate::grid::{Crs, Grid};

fn grid(rows: u64, cols: u64) -> Grid {
    Grid::new(rows, cols, 10.0, 1000.0, 2000.0, Crs::projected_epsg(4545)).unwrap()
}

#[test]
fn formats_are_told_apart_by_content() {
    assert_eq!(sniff(&[0, 0, 0x27, 0x0A, 0, 0]), Some(Format::Shapefile));
    assert_eq!(sniff(b"SQLite format 3\0abc"), Some(Format::GeoPackage));
    assert_eq!(sniff(b"\xEF\xBB\xBF\n  {\"type\""), Some(Format::GeoJson));
    assert_eq!(sniff(b"<?xml version"), None);
    assert_eq!(sniff(b""), None);
}

#[test]
fn encodings_are_found_by_label_and_code_page() {
    for name in [
        "gbk",
        "GBK",
        "GB2312",
        "936",
        "cp936",
        "CP936",
        "ANSI 936",
        "windows-936",
    ] {
        assert_eq!(encoding_for(name), Some(encoding_rs::GBK), "{name}");
    }
    for name in ["UTF-8", "utf8", "65001"] {
        assert_eq!(encoding_for(name), Some(encoding_rs::UTF_8), "{name}");
    }
    assert_eq!(encoding_for("System"), None);
    assert_eq!(encoding_for("klingon"), None);
}

/// Reference coordinates from GDAL 3.6 / PROJ (`gdaltransform -s_srs A -t_srs B`).
#[test]
fn reprojection_matches_proj_to_the_centimetre() {
    type Case = (u32, u32, (f64, f64), (f64, f64));
    let cases: [Case; 6] = [
        (4490, 4545, (108.0, 34.0), (500000.0, 3763661.44206821)),
        (
            4490,
            4545,
            (106.73, 29.56),
            (376920.264657625, 3272012.96425409),
        ),
        (
            4490,
            4545,
            (109.4, 31.2),
            (633432.298746526, 3453993.14386063),
        ),
        (
            4326,
            32650,
            (117.2, 31.8),
            (518931.977427724, 3518284.96379692),
        ),
        (
            4546,
            4545,
            (500000.0, 3500000.0),
            (784693.547802788, 3503910.11292977),
        ),
        (
            4490,
            4527,
            (116.4, 39.9),
            (39448688.8557344, 4418598.00125859),
        ),
    ];
    for (from, to, (x, y), (ex, ey)) in cases {
        let crs = |c: u32| crate::io::prj::parse_crs_name(&format!("EPSG:{c}"));
        let t = reproject::Transformer::between(&crs(from), &crs(to)).unwrap();
        let (px, py) = t.point(x, y).unwrap();
        assert!(
            (px - ex).abs() < 0.01 && (py - ey).abs() < 0.01,
            "EPSG:{from} -> EPSG:{to} of ({x}, {y}): ({px}, {py}), PROJ gives ({ex}, {ey})"
        );
    }
}

#[test]
fn a_crs_without_a_code_is_refused_with_the_ogr2ogr_command() {
    let text = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"my local grid"}},
        "features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[1000,2000],[1010,2000],[1010,1990],[1000,2000]]]}}]}"#;
    let layer = parse_geojson(Path::new("z.geojson"), text).unwrap();
    // Unknown kind and no code: taken as the grid's (no conflict can be shown).
    assert!(layer.onto(&grid(3, 3)).is_ok());
    let mut geographic = parse_geojson(Path::new("z.geojson"), text).unwrap();
    geographic.crs = Some(Crs {
        epsg: None,
        kind: crate::grid::CrsKind::Geographic,
        name: "GCS_Local".into(),
    });
    let err = geographic.onto(&grid(3, 3)).unwrap_err().to_string();
    assert!(
        err.contains("has no EPSG code") && err.contains("ogr2ogr -t_srs EPSG:4545"),
        "{err}"
    );
}
