//! Turning a scenario's sections into checked options for the stages, in one place.

use crate::landscape::Landscape;
use crate::resistance::{Combine, Reclass, ResistanceError, ResistanceOptions};
use crate::scenario::{Scenario, SourceKind};
use crate::sources::SourceMethod;

/// Resistance options from `[resistance]` and `[[factors]]`, with warnings for the planner
/// (weights that do not sum to 1).
///
/// # Errors
/// A bad reclassification, a multiplier that is not > 0, or one naming an unknown zone.
pub fn resistance_options(
    scenario: &Scenario,
    land: &Landscape,
) -> Result<(ResistanceOptions, Vec<String>), ResistanceError> {
    let spec = &scenario.file;
    let mut warnings = Vec::new();
    let factors = spec
        .factors
        .iter()
        .map(|f| Reclass::new(&f.name, &f.breaks, &f.scores, f.weight))
        .collect::<Result<Vec<_>, _>>()?;
    let factor_weights: f64 = factors.iter().map(|f| f.weight).sum();
    let class_weight = spec
        .resistance
        .class_weight
        .unwrap_or((1.0 - factor_weights).max(0.0));
    if !(class_weight.is_finite() && class_weight >= 0.0) {
        return Err(ResistanceError::Reclass {
            name: "class resistance".into(),
            what: format!("class_weight = {class_weight}; give a finite weight >= 0"),
        });
    }
    if spec.resistance.method == Combine::WeightedSum && !factors.is_empty() {
        let total = class_weight + factor_weights;
        if (total - 1.0).abs() > 1e-6 {
            warnings.push(format!(
                "resistance weights sum to {total} (class {class_weight} + factors {factor_weights}), not 1: the weighted sum is scaled by {total}"
            ));
        }
    }
    if spec.resistance.method == Combine::Product && spec.resistance.class_weight.is_some() {
        warnings.push("[resistance] class_weight is ignored by method = \"product\"".into());
    }
    let mut zone_multipliers = [1.0; 8];
    for (name, &m) in &spec.resistance.zone_multipliers {
        let Some(zone) = land.zones.iter().find(|z| &z.name == name) else {
            return Err(ResistanceError::UnknownZone {
                zone: name.clone(),
                known: land
                    .zones
                    .iter()
                    .map(|z| z.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        if !(m.is_finite() && m > 0.0) {
            return Err(ResistanceError::Multiplier {
                zone: name.clone(),
                value: m,
            });
        }
        zone_multipliers[zone.bit as usize] = m;
    }
    Ok((
        ResistanceOptions {
            combine: spec.resistance.method,
            class_weight,
            factors,
            zone_multipliers,
        },
        warnings,
    ))
}

/// The source method from `[sources]`; `given` are the patch ids read from the layer or
/// raster for the polygons and raster methods.
///
/// # Errors
/// [`SettingsError`] for a bad option (connectivity not 4 or 8, a path missing for the
/// method).
pub fn source_method(
    scenario: &Scenario,
    given: Option<(Vec<u32>, String)>,
) -> Result<SourceMethod, SettingsError> {
    let s = &scenario.file.sources;
    if s.connectivity != 4 && s.connectivity != 8 {
        return Err(SettingsError::Connectivity(s.connectivity));
    }
    Ok(match s.method {
        SourceKind::Habitat => SourceMethod::Habitat {
            min_area_ha: s.min_area_ha,
            eight: s.connectivity == 8,
            edge_width_m: s.edge_width_m,
            core_only: s.core_only,
            largest: s.largest,
        },
        SourceKind::Polygons | SourceKind::Raster => {
            let (ids, origin) = given.ok_or_else(|| {
                SettingsError::SourcesPath(format!("{:?}", s.method).to_lowercase())
            })?;
            SourceMethod::Given {
                ids,
                edge_width_m: s.edge_width_m,
                origin,
            }
        }
    })
}

/// A scenario option that cannot become a stage option.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    /// `[sources] connectivity` other than 4 or 8.
    #[error("[sources] connectivity = {0}; use 8 (diagonal neighbours join patches) or 4")]
    Connectivity(u8),
    /// A given-sources method without its layer.
    #[error("[sources] method = \"{0}\" needs `path`")]
    SourcesPath(String),
}

/// The MILP solver's options from `[optimize]` (time limit, relative gap), with the solver's
/// thread count and whether it prints its log.
pub fn solve_options(
    o: &crate::scenario::OptimizeSection,
    threads: Option<usize>,
    log: bool,
) -> crate::optimize::SolveOptions {
    crate::optimize::SolveOptions {
        time_limit_s: o.time_limit_s,
        mip_rel_gap: o.mip_gap,
        threads: threads.map(|t| t as u32),
        presolve: None,
        log,
    }
}

/// Park-access options from `[access]`; None when the scenario has no such section.
pub fn access_options(scenario: &Scenario) -> Option<crate::access::AccessOptions> {
    scenario
        .file
        .access
        .as_ref()
        .map(|a| crate::access::AccessOptions {
            min_park_ha: a.min_park_ha,
            walk_speed_kmh: a.walk_speed_kmh,
            threshold_min: a.threshold_min,
            block_m: a.block_m,
            footbridge_max_m: a.footbridge_max_m,
            footbridge_cost_yuan_per_m: a.footbridge_cost_yuan_per_m,
        })
}

/// Corridor options from `[corridors]`.
pub fn corridor_options(scenario: &Scenario) -> crate::corridors::CorridorOptions {
    let c = &scenario.file.corridors;
    crate::corridors::CorridorOptions {
        cost: crate::costdist::CostOptions {
            max_cwd: c.max_cwd,
            corner_cutting: c.corner_cutting,
        },
        width: c.width,
        pairs: c.pairs,
        drop_crossing: c.drop_crossing,
        keep_zone_cells: false,
    }
}

/// Candidate options from `[candidates]` (corner cutting as `[corridors]`).
pub fn candidate_options(scenario: &Scenario) -> crate::candidates::CandidateOptions {
    let c = &scenario.file.candidates;
    crate::candidates::CandidateOptions {
        parcel_size_m: c.parcel_size_m,
        within: c.within,
        min_parcel_ha: c.min_parcel_ha,
        horizon_years: c.horizon_years,
        crossing_min_resistance: c.crossing_min_resistance,
        crossing_cost_yuan_per_m: c.crossing_cost_yuan_per_m,
        crossing_resistance: c.crossing_resistance,
        corner_cutting: scenario.file.corridors.corner_cutting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        let text = format!("[landscape]\nlandcover = \"lc.tif\"\nclasses = \"c.csv\"\n{extra}");
        Scenario::parse(std::path::Path::new("/tmp/s.toml"), &text).unwrap()
    }

    #[test]
    fn source_methods_follow_the_sources_section() {
        let s = scenario("[sources]\nmin_area_ha = 20.0\nconnectivity = 4\n");
        match source_method(&s, None).unwrap() {
            SourceMethod::Habitat {
                min_area_ha, eight, ..
            } => assert_eq!((min_area_ha, eight), (20.0, false)),
            _ => panic!("habitat expected"),
        }
        let s = scenario("[sources]\nconnectivity = 6\n");
        assert_eq!(
            source_method(&s, None).unwrap_err(),
            SettingsError::Connectivity(6)
        );
        let s = scenario("[sources]\nmethod = \"raster\"\npath = \"p.tif\"\n");
        assert_eq!(
            source_method(&s, None).unwrap_err().to_string(),
            "[sources] method = \"raster\" needs `path`"
        );
        match source_method(&s, Some((vec![0, 1], "p.tif".into()))).unwrap() {
            SourceMethod::Given { ids, origin, .. } => {
                assert_eq!((ids, origin.as_str()), (vec![0, 1], "p.tif"))
            }
            _ => panic!("given expected"),
        }
    }

    #[test]
    fn corridor_and_candidate_options_carry_the_sections_and_defaults() {
        let s = scenario(
            "[corridors]\nwidth = 2500.0\ncorner_cutting = false\n\n[candidates]\ncrossing_resistance = 80.0\n",
        );
        let c = corridor_options(&s);
        assert_eq!(
            (c.width, c.cost.corner_cutting, c.keep_zone_cells),
            (2500.0, false, false)
        );
        let k = candidate_options(&s);
        // Corner cutting follows [corridors]; the rest the [candidates] defaults.
        assert!(!k.corner_cutting);
        assert_eq!(k.crossing_resistance, 80.0);
        assert_eq!(k.parcel_size_m, 300.0);
        let d = candidate_options(&scenario(""));
        assert_eq!(d.crossing_resistance, 60.0);
    }
}
