//! Each case makes a small valid scenario, breaks one thing, runs `validate` and checks the
//! exit code and the key words of the message: the file, the value and the fix.

use std::fs;
use std::path::Path;

use ecocorridor::grid::{Crs, Grid};
use ecocorridor::io::geotiff::write_geotiff;
use ecocorridor::io::raster::open_raster;
use tiff::encoder::{colortype, TiffEncoder};
use tiff::tags::Tag;

use crate::util::{run, synth};

fn check(mutate: impl FnOnce(&Path), needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 30, 30, 1);
    mutate(dir.path());
    let r = run(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(r.code, 2, "expected exit 2; stderr:\n{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    for n in needles {
        assert!(r.stderr.contains(n), "missing {n:?} in:\n{}", r.stderr);
    }
}

fn land_cover(dir: &Path) -> (Grid, Vec<u16>) {
    let r = open_raster(&dir.join("landcover.tif")).unwrap();
    let grid = r.header().grid.clone();
    (
        grid,
        r.read_with(|v, _| Ok::<_, std::convert::Infallible>(v as u16))
            .unwrap(),
    )
}

fn append(dir: &Path, text: &str) {
    let p = dir.join("scenario.toml");
    let mut t = fs::read_to_string(&p).unwrap();
    // synth writes a [sources] table last; a test's own [sources] replaces it.
    if text.contains("[sources]") {
        if let Some(at) = t.find("\n[sources]") {
            t.truncate(at + 1);
        }
    }
    t.push_str(text);
    fs::write(p, t).unwrap();
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

macro_rules! bad_input {
    ($($name:ident: $mutate:expr => [$($needle:expr),+ $(,)?];)+) => {
        $(#[test] fn $name() { check($mutate, &[$($needle),+]); })+
    };
}

bad_input! {
    truncated_land_cover: |d: &Path| {
        let p = d.join("landcover.tif");
        let b = fs::read(&p).unwrap();
        fs::write(&p, &b[..b.len() / 2]).unwrap();
    } => ["landcover.tif", "damaged or truncated", "gdalinfo -checksum"];

    land_cover_that_is_not_a_raster: |d: &Path| fs::write(d.join("landcover.tif"), "code,name\n301,forest\n").unwrap()
        => ["landcover.tif", "is not a raster ecocorridor reads", "gdal_translate"];

    missing_land_cover: |d: &Path| fs::remove_file(d.join("landcover.tif")).unwrap()
        => ["[landscape] landcover = \"landcover.tif\"", "no such file", "relative paths are taken from the scenario's folder"];

    every_missing_file_is_listed_with_the_path_as_given_and_as_resolved: |d: &Path| {
        fs::remove_file(d.join("landcover.tif")).unwrap();
        fs::remove_file(d.join("slope.tif")).unwrap();
        fs::remove_file(d.join("districts.geojson")).unwrap();
        fs::remove_file(d.join("urban_boundary.geojson")).unwrap();
    } => ["[landscape] landcover", "[[factors]] slope = \"slope.tif\"", "[districts] path = \"districts.geojson\"",
          "[[zones]] urban_boundary", "urban_boundary.geojson`", "4 fatal problem(s)"];

    zone_shapefile_without_its_dbf: |d: &Path| {
        let shp = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vector/districts_gbk");
        for ext in ["shp", "shx", "prj"] {
            fs::copy(shp.with_extension(ext), d.join(format!("urban_boundary.{ext}"))).unwrap();
        }
        edit(&d.join("scenario.toml"), "urban_boundary.geojson", "urban_boundary.shp");
    } => ["urban_boundary.shp", "without its", "urban_boundary.dbf", "copy all of them"];

    unknown_encoding_for_a_layer: |d: &Path| edit(&d.join("scenario.toml"), "path = \"districts.geojson\"", "path = \"districts.geojson\"\nencoding = \"klingon\"")
        => ["districts.geojson", "encoding = \"klingon\"", "gbk"];

    rotated_geotiff: |d: &Path| {
        let mut f = fs::File::create(d.join("landcover.tif")).unwrap();
        let mut enc = TiffEncoder::new(&mut f).unwrap();
        let mut img = enc.new_image::<colortype::Gray16>(30, 30).unwrap();
        let m = [30.0, 5.0, 0.0, 500000.0, 5.0, -30.0, 0.0, 3300000.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        img.encoder().write_tag(Tag::ModelTransformationTag, &m[..]).unwrap();
        img.write_data(&[301u16; 900]).unwrap();
    } => ["landcover.tif", "is rotated", "north-up", "gdalwarp"];

    geotiff_without_georeferencing: |d: &Path| {
        let mut f = fs::File::create(d.join("landcover.tif")).unwrap();
        TiffEncoder::new(&mut f).unwrap().write_image::<colortype::Gray16>(30, 30, &[301u16; 900]).unwrap();
    } => ["landcover.tif", "has no georeferencing", "gdal_translate -a_srs"];

    multi_band_geotiff: |d: &Path| {
        let mut f = fs::File::create(d.join("landcover.tif")).unwrap();
        TiffEncoder::new(&mut f).unwrap().write_image::<colortype::RGB8>(30, 30, &[1u8; 2700]).unwrap();
    } => ["landcover.tif", "has 3 bands", "gdal_translate -b 1"];

    geographic_land_cover: |d: &Path| {
        let (_, data) = land_cover(d);
        let g = Grid::new(30, 30, 0.0003, 107.9, 29.8, Crs::geographic_epsg(4490)).unwrap();
        write_geotiff(&d.join("landcover.tif"), &g, &data, Some(0.0)).unwrap();
    } => ["geographic CRS", "EPSG:4490", "projected CRS in metres", "0.000300 degrees (about 33 m",
          "gdalwarp -t_srs EPSG:4545 -tr 30 30 -tap -r near", "CM 108E", "1 fatal problem(s)"];

    factor_on_another_grid: |d: &Path| {
        let (g, _) = land_cover(d);
        let shifted = Grid::new(30, 30, 30.0, g.origin_x() + 30.0, g.origin_y(), g.crs().clone()).unwrap();
        write_geotiff(&d.join("slope.tif"), &shifted, &vec![1.0f32; 900], None).unwrap();
    } => ["slope.tif", "does not line up with", "landcover.tif: 30 x 30 cells (cols x rows), 30 m, origin (499550, 3300450), EPSG:4545",
        "slope.tif: 30 x 30 cells (cols x rows), 30 m, origin (499580, 3300450)", "gdalwarp -te 499550 3299550 500450 3300450 -tr 30 30 -t_srs EPSG:4545"];

    land_cover_codes_missing_from_the_table: |d: &Path| {
        let (g, mut data) = land_cover(d);
        data[400] = 9999;
        data[401] = 9999;
        data[402] = 8888;
        write_geotiff(&d.join("landcover.tif"), &g, &data, Some(0.0)).unwrap();
    } => ["2 code(s) missing from the class table", "8888 (1 cells, 0.1 ha)", "9999 (2 cells, 0.2 ha)", "add a row"];

    fractional_land_cover_values: |d: &Path| {
        let (g, data) = land_cover(d);
        let mut f: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        f[31] = 301.5;
        write_geotiff(&d.join("landcover.tif"), &g, &f, Some(0.0)).unwrap();
    } => ["row 1, column 1", "301.5 is not a class code"];

    all_nodata_land_cover: |d: &Path| {
        let (g, _) = land_cover(d);
        write_geotiff(&d.join("landcover.tif"), &g, &vec![0u16; 900], Some(0.0)).unwrap();
    } => ["landcover.tif", "no data cell"];

    header_claiming_a_trillion_cells: |d: &Path| {
        fs::write(d.join("landcover.asc"), "ncols 1000000\nnrows 1000000\nxllcorner 0\nyllcorner 0\ncellsize 30\n1 2 3\n").unwrap();
        edit(&d.join("scenario.toml"), "landcover.tif", "landcover.asc");
    } => ["landcover.asc", "1000000000000 cells", "coarser cell size"];

    tiny_tiff_claiming_a_huge_raster: |d: &Path| {
        // A valid 30 x 30 GeoTIFF whose header is edited to claim 40,000 x 40,000 cells in one
        // strip: its few hundred compressed bytes cannot hold 1.6e9 values.
        let p = d.join("landcover.tif");
        let mut b = fs::read(&p).unwrap();
        assert_eq!(&b[..4], b"II*\0");
        let ifd = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
        let n = u16::from_le_bytes(b[ifd..ifd + 2].try_into().unwrap()) as usize;
        for e in 0..n {
            let at = ifd + 2 + 12 * e;
            let tag = u16::from_le_bytes(b[at..at + 2].try_into().unwrap());
            let typ = u16::from_le_bytes(b[at + 2..at + 4].try_into().unwrap());
            if [256u16, 257, 278].contains(&tag) {
                if typ == 3 {
                    b[at + 8..at + 10].copy_from_slice(&40_000u16.to_le_bytes());
                } else {
                    b[at + 8..at + 12].copy_from_slice(&40_000u32.to_le_bytes());
                }
            }
        }
        fs::write(&p, b).unwrap();
    } => ["landcover.tif", "claims 40000 x 40000 cells", "cannot decode to", "truncated"];

    resistance_summing_past_f32: |d: &Path| edit(&d.join("landcover_classes.csv"), "301,0301,arbor forest,乔木林地,1,", "301,0301,arbor forest,乔木林地,1e36,")
        => ["largest resistance is 7.000e35", "beyond what a cost raster stores", "rescale the class resistances"];

    one_cell_land_cover: |d: &Path| {
        let g = Grid::new(1, 1, 30.0, 500_000.0, 3_300_000.0, Crs::projected_epsg(4545)).unwrap();
        write_geotiff(&d.join("landcover.tif"), &g, &[301u16], Some(0.0)).unwrap();
        fs::remove_file(d.join("slope.tif")).unwrap();
        write_geotiff(&d.join("slope.tif"), &g, &[1.0f32], None).unwrap();
        write_geotiff(&d.join("population.tif"), &g, &[10.0f32], None).unwrap();
    } => ["no habitat patch reaches min_area_ha", "the largest has 0.09 ha", "lower [sources] min_area_ha"];

    population_raster_on_another_grid: |d: &Path| {
        let g = Grid::new(3, 3, 30.0, 500_000.0, 3_300_000.0, Crs::projected_epsg(4545)).unwrap();
        write_geotiff(&d.join("population.tif"), &g, &[1.0f32; 9], None).unwrap();
    } => ["population.tif` does not line up with", "gdalwarp -te"];

    population_negative_or_nan: |d: &Path| {
        let (g, _) = land_cover(d);
        let mut pop = vec![2.0f32; g.len()];
        pop[37] = -3.0;
        pop[40] = f32::NAN;
        pop[41] = f32::INFINITY;
        write_geotiff(&d.join("population.tif"), &g, &pop, Some(-1.0)).unwrap();
    } => ["population raster", "2 cell(s) that are not a number of persons >= 0", "row 1 column 7, is -3", "gdal_edit.py -a_nodata"];

    access_without_any_park: |d: &Path| {
        let p = d.join("landcover_classes.csv");
        // No park class (and so no class turned into a park).
        let t = fs::read_to_string(&p)
            .unwrap()
            .replace(",#81C784,1,", ",#81C784,0,")
            .replace(",810,", ",,");
        fs::write(p, t).unwrap();
    } => ["no park to walk to", "park = 1", "parks = \"parks.shp\""];

    access_threshold_not_positive: |d: &Path| edit(&d.join("scenario.toml"), "threshold_min = 10", "threshold_min = 0")
        => ["threshold_min = 0", "must be a number of minutes > 0"];

    duplicate_class_codes: |d: &Path| {
        let p = d.join("landcover_classes.csv");
        let mut t = fs::read_to_string(&p).unwrap();
        t.push_str("301,0301,forest again,乔木林地,1,1,1,1,1,1,0,0,,0\n");
        fs::write(&p, t).unwrap();
    } => ["landcover_classes.csv", "code 301 is listed twice"];

    negative_resistance: |d: &Path| edit(&d.join("landcover_classes.csv"), "301,0301,arbor forest,乔木林地,1,", "301,0301,arbor forest,乔木林地,-1,")
        => ["landcover_classes.csv", "class 301 has resistance -1", "> 0"];

    nan_resistance: |d: &Path| edit(&d.join("landcover_classes.csv"), "301,0301,arbor forest,乔木林地,1,", "301,0301,arbor forest,乔木林地,NaN,")
        => ["class 301 has resistance NaN"];

    class_table_missing_columns: |d: &Path| {
        let p = d.join("landcover_classes.csv");
        let t = fs::read_to_string(&p).unwrap();
        fs::write(&p, t.replacen("c_soil", "soil_carbon", 1)).unwrap();
    } => ["landcover_classes.csv", "lacks the column(s) c_soil", "columns found"];

    restoration_target_not_in_the_table: |d: &Path| edit(&d.join("landcover_classes.csv"), "103,0103,dry land,旱地,100,0,5.0,0,60.7,0,0.422,0,301,", "103,0103,dry land,旱地,100,0,5.0,0,60.7,0,0.422,0,3010,")
        => ["restorable_to 3010, which is not a code"];

    malformed_geojson: |d: &Path| fs::write(d.join("ecological_redline.geojson"), "{\"type\": \"FeatureCollection\", \"features\": [").unwrap()
        => ["ecological_redline.geojson", "not valid GeoJSON", "ogrinfo"];

    zone_layer_in_another_crs: |d: &Path| edit(&d.join("urban_boundary.geojson"), "EPSG::4545", "EPSG::4546")
        => ["urban_boundary.geojson", "overlaps the study area", "declares EPSG:4546 and was reprojected to EPSG:4545"];

    zone_layer_in_degrees_without_crs: |d: &Path| fs::write(d.join("urban_boundary.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[107.9,29.8],[108.0,29.8],[108.0,29.9],[107.9,29.8]]]}}]}"#).unwrap()
        => ["urban_boundary.geojson", "overlaps the study area", "longitude/latitude"];

    zone_layer_of_lines: |d: &Path| fs::write(d.join("urban_boundary.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[491000,3300000],[491500,3300500]]}}]}"#).unwrap()
        => ["urban_boundary.geojson", "feature 0", "LineString", "buffer"];

    misspelled_scenario_key: |d: &Path| edit(&d.join("scenario.toml"), "landcover = ", "landcovr = ")
        => ["scenario.toml", "line 7", "unknown field `landcovr`", "did you mean `landcover`?"];

    misspelled_zone_kind: |d: &Path| edit(&d.join("scenario.toml"), "kind = \"ecological_redline\"", "kind = \"ecological_redlin\"")
        => ["unknown variant `ecological_redlin`", "did you mean `ecological_redline`?"];

    factor_breaks_not_ascending: |d: &Path| edit(&d.join("scenario.toml"), "breaks = [8.0, 15.0, 25.0]", "breaks = [15.0, 8.0, 25.0]")
        => ["factor `slope`", "strictly ascending"];

    factor_with_too_few_scores: |d: &Path| edit(&d.join("scenario.toml"), "scores = [1.0, 10.0, 30.0, 60.0]", "scores = [1.0, 10.0, 30.0]")
        => ["factor `slope`", "3 breaks make 4 classes, but 3 scores"];

    factor_with_nan_weight: |d: &Path| edit(&d.join("scenario.toml"), "weight = 0.3", "weight = nan")
        => ["factor `slope`", "weight and scores must be finite"];

    no_patch_reaches_the_minimum_area: |d: &Path| append(d, "\n[sources]\nmin_area_ha = 1000000\n")
        => ["no habitat patch reaches min_area_ha = 1000000 ha; the largest has", "lower [sources] min_area_ha"];

    connectivity_other_than_four_or_eight: |d: &Path| append(d, "\n[sources]\nconnectivity = 6\n")
        => ["connectivity = 6", "use 8"];

    polygon_sources_without_a_path: |d: &Path| append(d, "\n[sources]\nmethod = \"polygons\"\n")
        => ["method = \"polygons\" needs `path`"];

    multiplier_for_an_unknown_zone: |d: &Path| append(d, "\n[resistance.zone_multipliers]\nurban = 2.0\n")
        => ["names zone `urban`", "zones are: ecological_redline, permanent_farmland, urban_boundary"];

    zero_zone_multiplier: |d: &Path| append(d, "\n[resistance.zone_multipliers]\nurban_boundary = 0.0\n")
        => ["zone multiplier for `urban_boundary` is 0"];

    product_with_a_zero_score: |d: &Path| {
        edit(&d.join("scenario.toml"), "scores = [1.0, 10.0, 30.0, 60.0]", "scores = [0.0, 10.0, 30.0, 60.0]");
        append(d, "\n[resistance]\nmethod = \"product\"\n");
    } => ["resistance is 0 at row", "slope ", "scores 0", "any score of 0 makes the resistance 0"];

    misspelled_sources_key: |d: &Path| append(d, "\n[sources]\nmin_area = 5\n")
        => ["unknown field `min_area`", "did you mean `min_area_ha`?"];

    district_name_field_missing: |d: &Path| edit(&d.join("scenario.toml"), "name_field = \"name\"", "name_field = \"NAME99\"")
        => ["districts.geojson", "no `NAME99` property", "set `name_field`", "name"];

    forbidding_a_zone_the_scenario_lacks: |d: &Path| append(d, "\n[optimize]\nforbid_zones = [\"basic_farmland\"]\n")
        => ["[optimize] names zone `basic_farmland`", "zones are: ", "permanent_farmland"];

    capping_a_district_the_scenario_lacks: |d: &Path| append(d, "\n[optimize]\ndistrict_budget_caps_yuan = { Nowhere = 1.0 }\n")
        => ["district `Nowhere`", "districts are: "];

    connecting_a_patch_that_is_not_a_source: |d: &Path| append(d, "\n[optimize]\nconnect_patches = [1, 999]\n")
        => ["connect_patches names patch 999", "patches.csv"];

    sweep_weight_above_one: |d: &Path| append(d, "\n[optimize.sweep]\ncarbon_weights = [0.5, 1.5]\n")
        => ["carbon_weights = 1.5", "from 0 to 1"];

    negative_budget: |d: &Path| append(d, "\n[optimize]\nbudget_yuan = -5.0\n")
        => ["budget_yuan = -5", ">= 0"];

    zero_parcel_size: |d: &Path| append(d, "\n[candidates]\nparcel_size_m = 0.0\n")
        => ["[candidates] parcel_size_m = 0", "> 0"];

    misspelled_within: |d: &Path| append(d, "\n[candidates]\nwithin = \"corridor\"\n")
        => ["unknown variant `corridor`", "did you mean `corridors`?"];

    misspelled_budget_key: |d: &Path| append(d, "\n[optimize]\nbudget = 1.0\n")
        => ["unknown field `budget`", "did you mean `budget_yuan`?"];
}

#[test]
fn a_missing_scenario_file_is_named() {
    let r = run(&["validate", "/nonexistent/scenario.toml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("cannot read scenario `/nonexistent/scenario.toml`"),
        "{}",
        r.stderr
    );
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 30, 30, 1);
    edit(
        &dir.path().join("urban_boundary.geojson"),
        "EPSG::4545",
        "EPSG::4546",
    );
    fs::write(dir.path().join("ecological_redline.geojson"), "not json").unwrap();
    let r = run(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("urban_boundary.geojson")
            && r.stderr.contains("ecological_redline.geojson"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("2 fatal problem(s)"), "{}", r.stderr);
}
