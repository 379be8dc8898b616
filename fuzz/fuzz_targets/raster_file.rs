//! Any bytes as a raster file (GeoTIFF or ESRI/GRASS ASCII, chosen by the first byte): opening
//! and reading must return a value or an error, never panic or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("eco-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(if kind % 2 == 0 { "r.tif" } else { "r.asc" });
    if std::fs::write(&path, body).is_err() {
        return;
    }
    if let Ok(reader) = ecocorridor::io::open_raster(&path) {
        // Real files this small cannot hold more cells than this; bigger claims must have
        // been refused already or fail while reading.
        if reader.header().grid.len() <= 1 << 24 {
            let _ = reader.read_with(|v, _| Ok(v as f32));
        }
    }
});
