use std::path::Path;

use ecocorridor::io::raster::{open_raster, read_f32};

use crate::util::{have_gdal, run, sh, synth};

fn read_codes(path: &Path) -> Vec<f64> {
    open_raster(path)
        .unwrap()
        .read_with(|v, _| Ok::<_, std::convert::Infallible>(v))
        .unwrap()
}

#[test]
fn gdal_reads_our_crs_transform_nodata_and_values() {
    if !have_gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 64, 48, 5);
    for (name, nodata) in [("landcover.tif", 0.0), ("slope.tif", -9999.0)] {
        let path = dir.path().join(name);
        let info: serde_json::Value =
            serde_json::from_str(&sh("gdalinfo", &["-json", path.to_str().unwrap()])).unwrap();
        let gt: Vec<f64> = info["geoTransform"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let ours = open_raster(&path).unwrap().header().grid.clone();
        assert_eq!(
            gt,
            vec![ours.origin_x(), 30.0, 0.0, ours.origin_y(), 0.0, -30.0],
            "{name}"
        );
        let wkt = info["coordinateSystem"]["wkt"].as_str().unwrap();
        assert!(
            wkt.contains("CGCS2000 / 3-degree Gauss-Kruger CM 108E")
                && wkt.ends_with("ID[\"EPSG\",4545]]"),
            "{name}: {wkt}"
        );
        assert_eq!(
            info["bands"][0]["noDataValue"].as_f64(),
            Some(nodata),
            "{name}"
        );
        assert_eq!(info["size"], serde_json::json!([48, 64]));
        // GDAL decodes the same values we wrote.
        let asc = dir.path().join(format!("{name}.asc"));
        sh(
            "gdal_translate",
            &[
                "-q",
                "-of",
                "AAIGrid",
                path.to_str().unwrap(),
                asc.to_str().unwrap(),
            ],
        );
        let ours = read_f32(&path).unwrap();
        let theirs = read_f32(&asc).unwrap();
        assert!(ours.grid().aligned_with(theirs.grid()));
        for (a, b) in ours.data().iter().zip(theirs.data()) {
            assert!(a == b || (a.is_nan() && b.is_nan()), "{name}: {a} vs {b}");
        }
    }
}

#[test]
fn we_read_every_layout_and_compression_gdal_writes() {
    if !have_gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 75, 53, 6);
    let src = dir.path().join("landcover.tif");
    let expected = read_codes(&src);
    let variants: [(&str, &[&str]); 6] = [
        (
            "tiled_lzw.tif",
            &[
                "-co",
                "TILED=YES",
                "-co",
                "BLOCKXSIZE=16",
                "-co",
                "BLOCKYSIZE=16",
                "-co",
                "COMPRESS=LZW",
                "-co",
                "PREDICTOR=2",
            ],
        ),
        (
            "big_deflate_i16.tif",
            &[
                "-ot",
                "Int16",
                "-co",
                "COMPRESS=DEFLATE",
                "-co",
                "BIGTIFF=YES",
            ],
        ),
        (
            "zstd_f64_tiled.tif",
            &[
                "-ot",
                "Float64",
                "-co",
                "TILED=YES",
                "-co",
                "COMPRESS=ZSTD",
                "-co",
                "PREDICTOR=3",
            ],
        ),
        (
            "packbits_u32.tif",
            &["-ot", "UInt32", "-co", "COMPRESS=PACKBITS"],
        ),
        (
            "raw_i32_strips.tif",
            &["-ot", "Int32", "-co", "BLOCKYSIZE=7"],
        ),
        (
            "f32_lzw_pred3.tif",
            &[
                "-ot",
                "Float32",
                "-co",
                "COMPRESS=LZW",
                "-co",
                "PREDICTOR=3",
            ],
        ),
    ];
    for (name, opts) in variants {
        let out = dir.path().join(name);
        let mut args = vec!["-q"];
        args.extend_from_slice(opts);
        args.push(src.to_str().unwrap());
        args.push(out.to_str().unwrap());
        sh("gdal_translate", &args);
        let r = open_raster(&out).unwrap();
        assert_eq!(
            r.header().grid,
            open_raster(&src).unwrap().header().grid,
            "{name}"
        );
        assert_eq!(r.header().nodata, Some(0.0), "{name}");
        assert_eq!(read_codes(&out), expected, "{name}");
    }
}

#[test]
fn lzw_tiles_the_tiff_crate_rejects_are_decoded_like_libtiff() {
    if !have_gdal() {
        return;
    }
    // A 520-column window of the demo makes tiff 0.11 fail on an edge tile
    // (image-rs/image-tiff#395); our fallback must give GDAL's values.
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("inputs/demo");
    for (name, pred) in [("landcover.tif", "2"), ("slope.tif", "3")] {
        let src = demo.join(name);
        let tiled = dir.path().join(format!("tiled_{name}"));
        let plain = dir.path().join(format!("plain_{name}"));
        let window = ["-q", "-srcwin", "0", "0", "520", "600"];
        let mut args = window.to_vec();
        args.extend(["-co", "TILED=YES", "-co", "COMPRESS=LZW", "-co"]);
        let p = format!("PREDICTOR={pred}");
        args.push(&p);
        args.extend([src.to_str().unwrap(), tiled.to_str().unwrap()]);
        sh("gdal_translate", &args);
        let mut args = window.to_vec();
        args.extend([src.to_str().unwrap(), plain.to_str().unwrap()]);
        sh("gdal_translate", &args);
        let (a, b) = (read_codes(&tiled), read_codes(&plain));
        assert_eq!(a.len(), b.len());
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x == y || (x.is_nan() && y.is_nan())),
            "{name}"
        );
    }
}

#[test]
fn a_jpeg_compressed_land_cover_is_refused_with_the_fix() {
    if !have_gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = synth(dir.path(), 40, 40, 1);
    let lc = dir.path().join("landcover.tif");
    let jpeg = dir.path().join("jpeg.tif");
    sh(
        "gdal_translate",
        &[
            "-q",
            "-ot",
            "Byte",
            "-scale",
            "0",
            "1207",
            "0",
            "255",
            "-co",
            "COMPRESS=JPEG",
            lc.to_str().unwrap(),
            jpeg.to_str().unwrap(),
        ],
    );
    std::fs::rename(&jpeg, &lc).unwrap();
    let r = run(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("JPEG")
            && r.stderr.contains("lossy")
            && r.stderr.contains("COMPRESS=DEFLATE"),
        "{}",
        r.stderr
    );
}

#[test]
fn third_party_rasters_read_with_their_georeferencing() {
    let Some(data) = crate::util::shared_testdata() else {
        return;
    };
    // Linkage Mapper demo resistances: 808 x 730 f32, ~400 m, NAD83 Albers (user-defined).
    let lm = read_f32(&data.join("linkage_mapper_demo/lm_resistances.tif")).unwrap();
    assert_eq!((lm.grid().cols(), lm.grid().rows()), (808, 730));
    assert!((lm.grid().cell_size_m() - 399.88765623).abs() < 1e-6);
    assert_eq!(lm.grid().crs().kind, ecocorridor::CrsKind::ProjectedMetres);
    // Circuitscape's ASCII grid with its old-style .prj.
    let cs = read_f32(&data.join("circuitscape/mgVerify7/resistance_TestArea1.asc")).unwrap();
    assert_eq!((cs.grid().cols(), cs.grid().rows()), (481, 355));
    let valid = cs.data().iter().filter(|v| !v.is_nan()).count() as f64 / cs.data().len() as f64;
    assert!(
        (valid - 0.9826).abs() < 1e-3,
        "valid share {valid} (gdalinfo -stats: 98.26 %)"
    );
}
