//! Any text as a zone layer: parsing, checking against a grid and burning never panic.
#![no_main]

use ecocorridor::grid::{Crs, Grid};
use ecocorridor::io::vector::{burn_polygons, parse_geojson};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = std::path::Path::new("zones.geojson");
    if let Ok(layer) = parse_geojson(path, text) {
        let grid = Grid::new(64, 64, 30.0, 500_000.0, 3_300_000.0, Crs::projected_epsg(4545))
            .expect("a valid grid");
        let _ = layer.check_against(&grid);
        let _ = layer.extent();
        let mut n = 0usize;
        for f in &layer.features {
            burn_polygons(&grid, &f.geometry, |_| n += 1);
        }
    }
});
