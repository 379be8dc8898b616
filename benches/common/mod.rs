//! The seeded synthetic landscape the benchmarks share.

use ecocorridor::classes::{ClassTable, OUTSIDE};
use ecocorridor::landscape::Landscape;
use ecocorridor::synth::{generate, SynthOptions};

/// An `n x n` synthetic landscape (seed 11) with the bundled class table, no zones.
pub fn landscape(n: u32) -> Landscape {
    let s = generate(&SynthOptions {
        rows: n,
        cols: n,
        seed: 11,
        ..Default::default()
    });
    let classes = ClassTable::parse(
        std::path::Path::new("models/landcover_classes.csv"),
        include_str!("../../models/landcover_classes.csv"),
    )
    .unwrap();
    let lut = classes.code_lookup();
    let landcover = s
        .landcover
        .iter()
        .map(|&c| if c == 0 { OUTSIDE } else { lut[c as usize] })
        .collect();
    let len = s.grid.len();
    Landscape {
        grid: s.grid,
        classes,
        landcover,
        zones: vec![],
        zone_bits: vec![0; len],
        districts: None,
        factors: vec![],
    }
}

/// The class-only resistance surface of a landscape.
#[allow(dead_code)] // each bench binary uses part of this module
pub fn resistance(land: &Landscape) -> ecocorridor::resistance::Resistance {
    use ecocorridor::resistance::{build, Combine, ResistanceOptions};
    build(
        land,
        &ResistanceOptions {
            combine: Combine::WeightedSum,
            class_weight: 1.0,
            factors: vec![],
            zone_multipliers: [1.0; 8],
        },
    )
    .unwrap()
}
