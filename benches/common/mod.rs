//! The seeded synthetic landscape the benchmarks share.

use ecocorridor::classes::{ClassTable, OUTSIDE};
use ecocorridor::landscape::Landscape;
use ecocorridor::synth::{generate, SynthOptions};

/// An `n x n` synthetic landscape (seed 11) with the bundled class table, no zones.
#[allow(dead_code)]
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
        access: None,
    }
}

/// Resistance from the class table only (no factors, no zone multipliers).
#[allow(dead_code)] // each bench binary uses part of this module
pub fn resistance_options() -> ecocorridor::resistance::ResistanceOptions {
    use ecocorridor::resistance::{Combine, ResistanceOptions};
    ResistanceOptions {
        combine: Combine::WeightedSum,
        class_weight: 1.0,
        factors: vec![],
        zone_multipliers: [1.0; 8],
    }
}

/// The class-only resistance surface of a landscape.
#[allow(dead_code)]
pub fn resistance(land: &Landscape) -> ecocorridor::resistance::Resistance {
    ecocorridor::resistance::build(land, &resistance_options()).unwrap()
}

/// The 100 largest habitat patches of at least 10 ha (8-connected, no edge removed).
#[allow(dead_code)]
pub fn largest_patches(
    land: &Landscape,
    res: &ecocorridor::resistance::Resistance,
) -> ecocorridor::sources::Sources {
    use ecocorridor::sources::{build, SourceMethod};
    let method = SourceMethod::Habitat {
        min_area_ha: 10.0,
        eight: true,
        edge_width_m: 0.0,
        core_only: false,
        largest: 100,
    };
    build(land, res, &method).unwrap()
}

/// Corridor options of the benches: width 10,000 cost units, allocation-touch pairs,
/// corridors crossing a third patch dropped.
#[allow(dead_code)]
pub fn corridor_options(keep_zone_cells: bool) -> ecocorridor::corridors::CorridorOptions {
    use ecocorridor::corridors::{CorridorOptions, PairRule};
    CorridorOptions {
        cost: ecocorridor::costdist::CostOptions::default(),
        width: 10_000.0,
        pairs: PairRule::AllocationTouch,
        drop_crossing: true,
        keep_zone_cells,
    }
}

/// splitmix64: a seeded stream of uniform numbers in [0, 1), so every run measures the same
/// instances.
#[allow(dead_code)]
pub struct Rng(pub u64);

#[allow(dead_code)]
impl Rng {
    /// The next number in [0, 1).
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }

    /// A whole number in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() * n as f64) as usize
    }
}
