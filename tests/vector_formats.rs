//! Polygon layers in every format a bureau holds, as written by GDAL (the fixtures in
//! `tests/fixtures/vector`, made by its `make.sh` with ogr2ogr from `districts.geojson`):
//! the same cells and the same attributes whatever the format, encoding or CRS, and a clear
//! message for every broken layer.

use std::fs;
use std::path::{Path, PathBuf};

use ecocorridor::grid::{Crs, Grid};
use ecocorridor::io::load::read_polygons;
use ecocorridor::io::vector::{burn_polygons, read_layer, PolygonLayer, ReadOptions};

use crate::util::{have_gdal, run, sh, synth};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vector")
        .join(name)
}

/// 77 x 62 cells of 30 m over the fixtures, EPSG:4545 (CGCS2000 / 3-degree GK CM 108E).
fn grid() -> Grid {
    Grid::new(
        77,
        62,
        30.0,
        499_100.0,
        3_301_450.0,
        Crs::projected_epsg(4545),
    )
    .unwrap()
}

/// Each cell's feature (1-based; 0 = none), burned in file order.
fn burned(layer: &PolygonLayer, g: &Grid) -> Vec<u16> {
    let mut ids = vec![0u16; g.len()];
    for (k, f) in layer.features.iter().enumerate() {
        burn_polygons(g, &f.geometry, |i| ids[i] = k as u16 + 1);
    }
    ids
}

/// GDAL's ogr2ogr: `src` as a GBK Shapefile at `shp`.
fn to_gbk_shapefile(src: &Path, shp: &Path) {
    sh(
        "ogr2ogr",
        &[
            "-f",
            "ESRI Shapefile",
            "-lco",
            "ENCODING=CP936",
            shp.to_str().unwrap(),
            src.to_str().unwrap(),
        ],
    );
}

/// GDAL's ogr2ogr: `src` reprojected to EPSG:4490 as a GeoPackage at `gpkg`.
fn to_gpkg_in_degrees(src: &Path, gpkg: &Path) {
    sh(
        "ogr2ogr",
        &[
            "-f",
            "GPKG",
            "-t_srs",
            "EPSG:4490",
            gpkg.to_str().unwrap(),
            src.to_str().unwrap(),
        ],
    );
}

fn read(path: &Path, layer: Option<&str>) -> PolygonLayer {
    read_polygons(path, None, layer, &grid()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_format_encoding_and_crs_burns_the_same_cells_with_the_same_attributes() {
    let g = grid();
    let reference = read(&fixture("districts.geojson"), None);
    let cells = burned(&reference, &g);
    // Every district covers cells, and the first one's hole is left out.
    for id in 1..=3u16 {
        assert!(
            cells.iter().filter(|&&c| c == id).count() > 100,
            "district {id}"
        );
    }
    // The cell whose centre is (499,495, 3,300,005): row (3,301,450 - 3,300,005) / 30 = 48,
    // column (499,495 - 499,100) / 30 = 13.
    let hole = 48 * g.cols() + 13;
    assert_eq!(cells[hole], 0, "the hole of 青山区");
    let cases = [
        ("districts_gbk.shp", None),
        ("nocpg/districts_gbk.shp", None),
        ("districts_utf8.shp", None),
        ("districts_4490.shp", None),
        ("layers.gpkg", Some("districts")),
        ("layers.gpkg", Some("parcels")),
        ("districts_4490.gpkg", None),
    ];
    for (name, layer) in cases {
        let l = read(&fixture(name), layer);
        assert_eq!(burned(&l, &g), cells, "{name}: burned cells");
        let names: Vec<&str> = l
            .features
            .iter()
            .map(|f| f.properties["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["青山区", "洪山区·东湖", "江夏区"], "{name}");
        let codes: Vec<Option<u64>> = l
            .features
            .iter()
            .map(|f| f.properties["code"].as_u64())
            .collect();
        assert_eq!(
            codes,
            [Some(420107), Some(420111), Some(420115)],
            "{name}: whole numbers stay whole"
        );
        let dlbm: Vec<&str> = l
            .features
            .iter()
            .map(|f| f.properties["dlbm"].as_str().unwrap())
            .collect();
        assert_eq!(dlbm, ["0301", "05H1", "08H2"], "{name}: codes stay text");
        assert_eq!(l.features[0].properties["area_km2"].as_f64(), Some(1.25));
        assert!(l.features[2].properties["area_km2"].is_null(), "{name}");
    }
}

#[test]
fn the_layer_says_how_it_was_read() {
    let notes = |name: &str| read(&fixture(name), None).notes.join("\n");
    assert!(
        notes("districts_gbk.shp").contains("GBK (from `districts_gbk.cpg`)"),
        "{}",
        notes("districts_gbk.shp")
    );
    assert!(notes("nocpg/districts_gbk.shp").contains("GBK (no .cpg and not valid UTF-8"));
    assert!(notes("districts_utf8.shp").contains("UTF-8 (from `districts_utf8.cpg`)"));
    let n = notes("districts_4490.shp");
    assert!(
        n.contains("reprojected from EPSG:4490") && n.contains("to EPSG:4545"),
        "{n}"
    );
}

#[test]
fn the_scenario_encoding_overrides_the_file() {
    let g = grid();
    let garbled =
        read_polygons(&fixture("nocpg/districts_gbk.shp"), Some("utf-8"), None, &g).unwrap();
    let name = garbled.features[0].properties["name"].as_str().unwrap();
    assert!(name.contains('\u{FFFD}'), "GBK bytes read as UTF-8: {name}");
    let right = read_polygons(&fixture("nocpg/districts_gbk.shp"), Some("936"), None, &g).unwrap();
    assert_eq!(right.features[0].properties["name"], "青山区");
    let err = read_polygons(&fixture("districts_gbk.shp"), Some("klingon"), None, &g)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("districts_gbk.shp") && err.contains("\"klingon\"") && err.contains("gbk"),
        "{err}"
    );
}

/// A copy of a Shapefile's parts in a temporary folder, without the parts named in `drop`.
fn shapefile_without(drop: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        if !drop.contains(&ext) {
            fs::copy(
                fixture(&format!("districts_gbk.{ext}")),
                dir.path().join(format!("d.{ext}")),
            )
            .unwrap();
        }
    }
    let shp = dir.path().join("d.shp");
    (dir, shp)
}

fn error_of(path: &Path, layer: Option<&str>) -> String {
    match read_polygons(path, None, layer, &grid()) {
        Ok(_) => panic!("{} was read", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_shapefile_missing_a_part_names_the_part_and_the_fix() {
    for (ext, words) in [
        ("dbf", "the attribute table"),
        ("shx", "the index of the shapes"),
    ] {
        let (_d, shp) = shapefile_without(&[ext]);
        let e = error_of(&shp, None);
        assert!(
            e.contains(&format!("d.{ext}`")) && e.contains(words) && e.contains("copy all"),
            "{e}"
        );
    }
    let (_d, shp) = shapefile_without(&["prj"]);
    let e = error_of(&shp, None);
    assert!(
        e.contains("d.prj") && e.contains("gdalsrsinfo -o wkt1_esri EPSG:4545"),
        "{e}"
    );
    // Upper-case parts (copied from Windows) are found.
    let (d, _) = shapefile_without(&[]);
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        fs::rename(
            d.path().join(format!("d.{ext}")),
            d.path().join(format!("D.{}", ext.to_uppercase())),
        )
        .unwrap();
    }
    assert_eq!(read(&d.path().join("D.SHP"), None).features.len(), 3);
}

#[test]
fn layers_that_are_not_polygon_layers_are_refused_with_the_conversion() {
    let e = error_of(&fixture("points.shp"), None);
    assert!(
        e.contains("feature 0") && e.contains("Point where Polygon") && e.contains("ST_Buffer"),
        "{e}"
    );
    let e = error_of(&fixture("layers.gpkg"), None);
    assert!(
        e.contains("2 feature layers") && e.contains("`districts`, `parcels`"),
        "{e}"
    );
    let e = error_of(&fixture("layers.gpkg"), Some("roads"));
    assert!(e.contains("no feature layer `roads`"), "{e}");
    let e = error_of(&fixture("districts_gbk.dbf"), None);
    assert!(e.contains("give the .shp file"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let gdb = dir.path().join("三调.gdb");
    fs::create_dir(&gdb).unwrap();
    let e = error_of(&gdb, Some("DLTB"));
    assert!(
        e.contains("File Geodatabase") && e.contains("ogr2ogr -f GPKG 三调_DLTB.gpkg"),
        "{e}"
    );
    let kml = dir.path().join("zones.kml");
    fs::write(&kml, "<?xml version=\"1.0\"?><kml></kml>").unwrap();
    let e = error_of(&kml, None);
    assert!(e.contains("XML") && e.contains("ogr2ogr -f GPKG"), "{e}");
    let empty = dir.path().join("empty.geojson");
    fs::write(&empty, r#"{"type":"FeatureCollection","features":[]}"#).unwrap();
    let layer = read_layer(&empty, &ReadOptions::default()).unwrap();
    let e = layer.require().unwrap_err().to_string();
    assert!(
        e.contains("holds no polygon") && e.contains("ogrinfo"),
        "{e}"
    );
}

/// The synthetic scenario with its zones as GBK Shapefiles and its districts as a GeoPackage
/// in EPSG:4490 (converted by GDAL) loads to the same zones and districts as the GeoJSON
/// originals, and `validate` says how each layer was read.
#[test]
fn a_scenario_with_shapefile_and_geopackage_layers_loads_like_its_geojson_one() {
    assert!(
        have_gdal(),
        "this test needs GDAL's ogr2ogr (scripts/setup.sh)"
    );
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 60, 50, 3);
    let d = dir.path();
    let original =
        ecocorridor::io::load::load(&ecocorridor::scenario::Scenario::read(&scenario).unwrap());
    let original = original.landscape.expect("the GeoJSON scenario loads");
    let mut text = fs::read_to_string(&scenario).unwrap();
    for zone in ["ecological_redline", "permanent_farmland", "urban_boundary"] {
        to_gbk_shapefile(
            &d.join(format!("{zone}.geojson")),
            &d.join(format!("{zone}.shp")),
        );
        text = text.replace(&format!("{zone}.geojson"), &format!("{zone}.shp"));
    }
    let gpkg = d.join("districts.gpkg");
    to_gpkg_in_degrees(&d.join("districts.geojson"), &gpkg);
    text = text.replace("districts.geojson", "districts.gpkg");
    fs::write(&scenario, text).unwrap();
    let converted =
        ecocorridor::io::load::load(&ecocorridor::scenario::Scenario::read(&scenario).unwrap());
    let converted = converted
        .landscape
        .unwrap_or_else(|| panic!("{:?}", converted.problems));
    assert_eq!(converted.zone_bits, original.zone_bits);
    let (a, b) = (
        original.districts.as_ref().unwrap(),
        converted.districts.as_ref().unwrap(),
    );
    assert_eq!(a.names, b.names);
    assert_eq!(a.ids, b.ids);
    let r = run(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("note: layer") && all.contains("reprojected from EPSG:4490 to EPSG:4545"),
        "{all}"
    );
}

/// The land survey's way: the synthetic land cover polygonized by GDAL into a DLTB-like
/// Shapefile (GBK, field DLBM with the survey's text codes such as "0301" and "05H1"), given
/// as `landcover` with `code_field` and `grid_like`, burns back to the raster cell for cell;
/// with a code the table lacks, the code is named with its polygon count and area.
#[test]
fn a_polygon_land_cover_round_trips_cell_for_cell() {
    assert!(have_gdal(), "this test needs GDAL (scripts/setup.sh)");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scenario = synth(d, 60, 50, 4);
    let raw = d.join("raw.shp");
    sh(
        "gdal_polygonize.py",
        &[
            "-q",
            d.join("landcover.tif").to_str().unwrap(),
            "-f",
            "ESRI Shapefile",
            raw.to_str().unwrap(),
            "raw",
            "code",
        ],
    );
    // DLBM as the survey writes it, from the class table's own dlbm column.
    let table = fs::read_to_string(d.join("landcover_classes.csv")).unwrap();
    let mut case = String::from("CASE code");
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        case.push_str(&format!(" WHEN {} THEN '{}'", f[0], f[1]));
    }
    case.push_str(" END");
    let dltb = d.join("DLTB.shp");
    sh(
        "ogr2ogr",
        &[
            "-f",
            "ESRI Shapefile",
            "-lco",
            "ENCODING=CP936",
            "-dialect",
            "sqlite",
            "-sql",
            &format!("SELECT geometry, {case} AS DLBM, '地类图斑' AS TBMC FROM raw"),
            dltb.to_str().unwrap(),
            raw.to_str().unwrap(),
        ],
    );
    let layer = read_layer(&dltb, &ReadOptions::default()).unwrap();
    let codes: std::collections::BTreeSet<&str> = layer
        .features
        .iter()
        .map(|f| f.properties["DLBM"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains("05H1") && codes.contains("0101") && codes.contains("1104"),
        "{codes:?}"
    );
    let text = fs::read_to_string(&scenario).unwrap().replacen(
        "landcover = \"landcover.tif\"",
        "landcover = \"DLTB.shp\"\ncode_field = \"DLBM\"\ngrid_like = \"landcover.tif\"",
        1,
    );
    fs::write(&scenario, &text).unwrap();
    let out = d.join("burned.tif");
    let rasterize = || {
        run(&[
            "rasterize",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let r = rasterize();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("polygons burned by cell centre"),
        "{}",
        r.stderr
    );
    let read_codes = |p: &Path| {
        ecocorridor::io::raster::open_raster(p)
            .unwrap()
            .read_with(|v, _| Ok::<_, std::convert::Infallible>(v as u16))
            .unwrap()
    };
    let original = read_codes(&d.join("landcover.tif"));
    let burned = read_codes(&out);
    assert_eq!(original.len(), burned.len());
    let differ = original.iter().zip(&burned).filter(|(a, b)| a != b).count();
    assert_eq!(differ, 0, "{differ} cells differ");
    // The whole run validates on the polygon land cover.
    let v = run(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}", v.stderr);

    // A code the class table lacks is listed with its polygons and area.
    let without = table
        .lines()
        .filter(|l| !l.starts_with("501,"))
        .collect::<Vec<_>>()
        .join("\n");
    fs::write(d.join("landcover_classes.csv"), without + "\n").unwrap();
    let r = rasterize();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("DLTB.shp")
            && r.stderr.contains("\"05H1\" (")
            && r.stderr.contains(" ha)"),
        "{}",
        r.stderr
    );
}

/// `init` on a bureau's files (a land-cover raster, zones as GBK Shapefiles named in
/// Chinese, districts as a GeoPackage in EPSG:4490) writes a scenario that validates and runs.
#[test]
fn init_then_run_on_a_bureaus_files() {
    assert!(
        have_gdal(),
        "this test needs GDAL's ogr2ogr (scripts/setup.sh)"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("局数据");
    fs::create_dir(&data).unwrap();
    synth(&data, 60, 50, 6);
    let mut zones = Vec::new();
    for (from, to) in [
        ("ecological_redline", "生态保护红线"),
        ("permanent_farmland", "永久基本农田"),
        ("urban_boundary", "城镇开发边界"),
    ] {
        let shp = data.join(format!("{to}.shp"));
        to_gbk_shapefile(&data.join(format!("{from}.geojson")), &shp);
        zones.push(shp);
    }
    let gpkg = data.join("区县.gpkg");
    to_gpkg_in_degrees(&data.join("districts.geojson"), &gpkg);
    let work = dir.path().join("规划").join("方案一");
    let mut args = vec![
        "init".to_string(),
        work.to_str().unwrap().to_string(),
        "--landcover".into(),
        data.join("landcover.tif").to_str().unwrap().to_string(),
        "--districts".into(),
        gpkg.to_str().unwrap().to_string(),
        "--zones".into(),
    ];
    args.extend(zones.iter().map(|z| z.to_str().unwrap().to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(&argv);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let scenario = work.join("scenario.toml");
    let text = fs::read_to_string(&scenario).unwrap();
    assert!(
        text.contains("landcover = \"../../局数据/landcover.tif\"")
            && text.contains(
                "kind = \"ecological_redline\"\npath = \"../../局数据/生态保护红线.shp\""
            )
            && text.contains("kind = \"permanent_farmland\"")
            && text.contains("kind = \"urban_boundary\""),
        "{text}"
    );
    assert!(work.join("landcover_classes.csv").is_file());
    // A second init does not overwrite the planner's edits.
    assert_eq!(run(&argv).code, 2);
    let v = run(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    let out = dir.path().join("out");
    let r = run(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    assert!(out.join("summary.csv").is_file() && out.join("run.json").is_file());
}

/// GeoJSON saved as GBK by an old desktop tool: refused with the fix, read with `encoding`.
#[test]
fn a_gbk_geojson_is_read_with_its_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let utf8 = fs::read_to_string(fixture("districts.geojson")).unwrap();
    let path = dir.path().join("districts_gbk.geojson");
    fs::write(&path, encoding_rs::GBK.encode(&utf8).0).unwrap();
    let e = error_of(&path, None);
    assert!(
        e.contains("not UTF-8") && e.contains("encoding = \"gbk\"") && e.contains("ENCODING=UTF-8"),
        "{e}"
    );
    let l = read_polygons(&path, Some("gbk"), None, &grid()).unwrap();
    assert_eq!(l.features[1].properties["name"], "洪山区·东湖");
}
