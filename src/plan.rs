//! From a scenario's candidates to the optimization problem: the `[optimize]` section checked
//! against the landscape (zone, district and patch names that exist) and turned into a
//! [`Problem`] and its sweep points.

use crate::candidates::Candidates;
use crate::landscape::Landscape;
use crate::optimize::{Connect, Connector, Lock, Problem, Site, SweepPoint};
use crate::scenario::{OptimizeSection, ZoneKind};
use crate::sources::Sources;

/// Zone names of a zone-bit set, in zone order.
pub fn zone_names(land: &Landscape, bits: u8) -> Vec<String> {
    land.zones
        .iter()
        .filter(|z| bits & (1 << z.bit) != 0)
        .map(|z| z.name.clone())
        .collect()
}

/// District name of a district id (None for 0 or without districts).
pub fn district_name(land: &Landscape, id: u16) -> Option<String> {
    let d = land.districts.as_ref()?;
    (id > 0).then(|| d.names[id as usize - 1].clone())
}

/// Why a scenario's `[optimize]` section cannot become a problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A zone or district name the scenario does not have.
    #[error("[optimize] names {what} `{name}`, which the scenario does not have\n  hint: {what}s are: {}", if valid.is_empty() { "(none)".to_string() } else { valid.join(", ") })]
    UnknownName {
        /// `zone` or `district`.
        what: &'static str,
        /// The name given.
        name: String,
        /// The names the scenario has.
        valid: Vec<String>,
    },
    /// A patch id that is not an ecological source.
    #[error("[optimize] connect_patches names patch {id}, which is not an ecological source of this scenario\n  hint: patch ids are in patches.csv ({count} patches)")]
    UnknownPatch {
        /// The id given.
        id: u32,
        /// Patches there are.
        count: usize,
    },
    /// A value out of range.
    #[error("[{section}] {key} = {value}; {fix}")]
    Value {
        /// `optimize` or `optimize.sweep`.
        section: &'static str,
        /// The key (with the zone or district for caps).
        key: String,
        /// The value given.
        value: f64,
        /// What to give instead.
        fix: &'static str,
    },
    /// Park access in the objective without `[access]`.
    #[error("[optimize] access_weight or min_access_pct needs park access: add an [access] section (parks, residents, walking speed)")]
    NoAccess,
    /// No budget in the scenario nor on the command line.
    #[error("no budget: set [optimize] budget_yuan in the scenario or pass --budget-yuan")]
    NoBudget,
}

fn known(what: &'static str, name: &str, valid: &[String]) -> Result<(), PlanError> {
    if valid.iter().any(|v| v == name) {
        Ok(())
    } else {
        Err(PlanError::UnknownName {
            what,
            name: name.to_string(),
            valid: valid.to_vec(),
        })
    }
}

/// Checks `[optimize]` against the landscape and the sources: zone, district and patch names
/// that exist, weights and sweep values in range. Returns the forbidden zones (default: the
/// permanent basic farmland zones). Used by `validate` and before optimizing.
///
/// # Errors
/// [`PlanError`] naming the unknown zone, district or patch or the bad value, with the fix.
pub fn check(
    land: &Landscape,
    sources: &Sources,
    sec: &OptimizeSection,
) -> Result<Vec<String>, PlanError> {
    let zone_list: Vec<String> = land.zones.iter().map(|z| z.name.clone()).collect();
    let district_list: Vec<String> = land
        .districts
        .as_ref()
        .map(|d| d.names.clone())
        .unwrap_or_default();
    let forbidden = match &sec.forbid_zones {
        Some(z) => z.clone(),
        None => land
            .zones
            .iter()
            .filter(|z| z.kind == ZoneKind::PermanentFarmland)
            .map(|z| z.name.clone())
            .collect(),
    };
    for z in forbidden.iter().chain(sec.zone_area_caps_ha.keys()) {
        known("zone", z, &zone_list)?;
    }
    for d in sec.district_budget_caps_yuan.keys() {
        known("district", d, &district_list)?;
    }
    for &p in &sec.connect_patches {
        if !sources.patches.iter().any(|q| q.id == p) {
            return Err(PlanError::UnknownPatch {
                id: p,
                count: sources.patches.len(),
            });
        }
    }
    let value =
        |section: &'static str, key: &str, value: f64, fix: &'static str| PlanError::Value {
            section,
            key: key.to_string(),
            value,
            fix,
        };
    let nonneg = |v: f64, what: &str| {
        if v.is_finite() && v >= 0.0 {
            Ok(())
        } else {
            Err(value("optimize", what, v, "give a number >= 0"))
        }
    };
    nonneg(sec.carbon_weight, "carbon_weight")?;
    nonneg(sec.connectivity_weight, "connectivity_weight")?;
    nonneg(sec.access_weight, "access_weight")?;
    if let Some(p) = sec.min_access_pct {
        if !(0.0..=100.0).contains(&p) {
            return Err(value(
                "optimize",
                "min_access_pct",
                p,
                "give a share of the residents from 0 to 100 (%)",
            ));
        }
    }
    if land.access.is_none() && (sec.access_weight > 0.0 || sec.min_access_pct.is_some()) {
        return Err(PlanError::NoAccess);
    }
    if let Some(b) = sec.budget_yuan {
        nonneg(b, "budget_yuan")?;
    }
    for (z, &v) in &sec.zone_area_caps_ha {
        nonneg(v, &format!("zone_area_caps_ha.{z}"))?;
    }
    for (d, &v) in &sec.district_budget_caps_yuan {
        nonneg(v, &format!("district_budget_caps_yuan.{d}"))?;
    }
    if let Some(t) = sec.time_limit_s {
        if !(t.is_finite() && t > 0.0) {
            return Err(value("optimize", "time_limit_s", t, "give seconds > 0"));
        }
    }
    if let Some(g) = sec.mip_gap {
        if !(0.0..1.0).contains(&g) {
            return Err(value(
                "optimize",
                "mip_gap",
                g,
                "give a relative gap from 0 to 1, e.g. 0.005",
            ));
        }
    }
    if sec.refine_rounds == 0 {
        return Err(value(
            "optimize",
            "refine_rounds",
            0.0,
            "give at least 1 (1 solves once, 2 refines once)",
        ));
    }
    if let Some(sw) = &sec.sweep {
        for &b in &sw.budgets_yuan {
            if !(b.is_finite() && b >= 0.0) {
                return Err(value(
                    "optimize.sweep",
                    "budgets_yuan",
                    b,
                    "give budgets >= 0",
                ));
            }
        }
        for &w in &sw.carbon_weights {
            if !(0.0..=1.0).contains(&w) {
                return Err(value(
                    "optimize.sweep",
                    "carbon_weights",
                    w,
                    "give weights from 0 to 1 (connectivity gets 1 minus it)",
                ));
            }
        }
    }
    Ok(forbidden)
}

/// Per connector, the gap sites a plan restores: a gap site in a forbidden zone (permanent
/// basic farmland cannot be converted) is crossed as it is, so the connector needs only its
/// allowed gap sites.
pub fn allowed_gap_sites(
    land: &Landscape,
    cands: &Candidates,
    forbidden: &[String],
) -> Vec<Vec<usize>> {
    let allowed = |g: &usize| {
        !zone_names(land, cands.sites[*g].zone_bits)
            .iter()
            .any(|z| forbidden.contains(z))
    };
    cands
        .connectors
        .iter()
        .map(|c| c.gap_sites.iter().copied().filter(allowed).collect())
        .collect()
}

/// The problem of a scenario. `budget_yuan` overrides `[optimize] budget_yuan`.
///
/// # Errors
/// As [`check`], and a missing budget.
pub fn problem(
    land: &Landscape,
    sources: &Sources,
    cands: &Candidates,
    corridor_ends: &dyn Fn(u32) -> (u32, u32),
    sec: &OptimizeSection,
    budget_yuan: Option<f64>,
) -> Result<Problem, PlanError> {
    let forbidden = check(land, sources, sec)?;
    let budget = budget_yuan.or(sec.budget_yuan).ok_or(PlanError::NoBudget)?;
    let sites = cands
        .sites
        .iter()
        .map(|s| Site {
            id: s.name.clone(),
            cost_yuan: s.cost_yuan,
            area_ha: s.area_ha,
            carbon_tco2e: s.carbon_tco2e,
            benefit: s.benefit,
            zones: zone_names(land, s.zone_bits),
            district: district_name(land, s.district),
            lock: Lock::Free,
        })
        .collect();
    let gaps = allowed_gap_sites(land, cands, &forbidden);
    let connectors = cands
        .connectors
        .iter()
        .zip(gaps)
        .map(|(c, gap_sites)| Connector {
            id: c.id.to_string(),
            cost_yuan: c.cost_yuan,
            carbon_tco2e: c.carbon_tco2e,
            benefit: c.benefit,
            gap_sites,
            ends: Some((c.from, c.to)),
        })
        .collect();
    let connect = (sec.connect_patches.len() >= 2).then(|| Connect {
        patches: sec.connect_patches.clone(),
        existing: cands.existing.iter().map(|&id| corridor_ends(id)).collect(),
    });
    Ok(Problem {
        sites,
        connectors,
        budget_yuan: budget,
        w_carbon: sec.carbon_weight,
        w_benefit: sec.connectivity_weight,
        forbidden_zones: forbidden,
        zone_area_caps: sec.zone_area_caps_ha.clone(),
        district_budget_caps: sec.district_budget_caps_yuan.clone(),
        carbon_min: sec.carbon_min_tco2e,
        exclusive: cands.exclusive.clone(),
        connect,
        benefit_norm: None,
        exact: None,
        coverage: None,
    })
}

/// Every combination of the sweep lists (budgets × carbon weights × minimum carbon), in that
/// nesting order; empty lists keep the problem's own value. Empty without a sweep. (Values
/// are checked by [`check`].)
pub fn sweep_points(p: &Problem, sec: &OptimizeSection) -> Vec<SweepPoint> {
    let Some(sw) = &sec.sweep else {
        return Vec::new();
    };
    let budgets = if sw.budgets_yuan.is_empty() {
        vec![p.budget_yuan]
    } else {
        sw.budgets_yuan.clone()
    };
    let weights: Vec<(f64, f64)> = if sw.carbon_weights.is_empty() {
        vec![(p.w_carbon, p.w_benefit)]
    } else {
        sw.carbon_weights.iter().map(|&w| (w, 1.0 - w)).collect()
    };
    let mins: Vec<Option<f64>> = if sw.carbon_min_tco2e.is_empty() {
        vec![p.carbon_min]
    } else {
        sw.carbon_min_tco2e.iter().map(|&m| Some(m)).collect()
    };
    let mut out = Vec::new();
    for &b in &budgets {
        for &(wc, wk) in &weights {
            for &m in &mins {
                out.push(SweepPoint {
                    budget_yuan: b,
                    w_carbon: wc,
                    w_benefit: wk,
                    carbon_min: m,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classes::ClassTable;
    use crate::grid::{Crs, Grid};
    use crate::landscape::Zone;
    use crate::sources::Patch;

    fn land() -> (Landscape, Sources) {
        let classes = ClassTable::parse(
            std::path::Path::new("t.csv"),
            "code,name,name_zh,resistance,habitat,c_above,c_below,c_soil,c_dead,emission,seq_rate,restorable_to,cost_yuan_per_ha\n301,forest,乔木林地,1,1,0,0,0,0,0,0,,0\n",
        )
        .unwrap();
        let grid = Grid::new(2, 2, 30.0, 0.0, 60.0, Crs::projected_epsg(4545)).unwrap();
        let land = Landscape {
            grid,
            classes,
            landcover: vec![0; 4],
            zones: vec![Zone {
                name: "farm".into(),
                kind: ZoneKind::PermanentFarmland,
                bit: 0,
                path: "f.geojson".into(),
            }],
            zone_bits: vec![0; 4],
            districts: None,
            factors: vec![],
            access: None,
        };
        let patch = Patch {
            id: 7,
            cells: 1,
            area_ha: 0.09,
            core_area_ha: 0.0,
            perimeter_m: 0.0,
            centroid_x: 0.0,
            centroid_y: 0.0,
            mean_resistance: 1.0,
            carbon_stock_tc: 0.0,
            dominant_class: 0,
        };
        (
            land,
            Sources {
                ids: vec![7, 0, 0, 0],
                patches: vec![patch],
            },
        )
    }

    #[test]
    fn the_farmland_zones_are_forbidden_by_default_and_names_are_checked() {
        let (land, src) = land();
        let sec = OptimizeSection::default();
        assert_eq!(check(&land, &src, &sec).unwrap(), vec!["farm".to_string()]);
        let mut bad = OptimizeSection::default();
        bad.zone_area_caps_ha.insert("redline".into(), 10.0);
        let e = check(&land, &src, &bad).unwrap_err();
        assert!(matches!(e, PlanError::UnknownName { what: "zone", .. }));
        assert!(e.to_string().contains("zones are: farm"), "{e}");
        let bad = OptimizeSection {
            connect_patches: vec![7, 8],
            ..Default::default()
        };
        assert_eq!(
            check(&land, &src, &bad).unwrap_err(),
            PlanError::UnknownPatch { id: 8, count: 1 }
        );
    }

    #[test]
    fn values_out_of_range_name_the_key_and_the_fix() {
        let (land, src) = land();
        for (sec, key) in [
            (
                OptimizeSection {
                    carbon_weight: -1.0,
                    ..Default::default()
                },
                "carbon_weight",
            ),
            (
                OptimizeSection {
                    mip_gap: Some(1.5),
                    ..Default::default()
                },
                "mip_gap",
            ),
            (
                OptimizeSection {
                    refine_rounds: 0,
                    ..Default::default()
                },
                "refine_rounds",
            ),
        ] {
            match check(&land, &src, &sec).unwrap_err() {
                PlanError::Value { key: k, .. } => assert_eq!(k, key),
                e => panic!("{e}"),
            }
        }
        let cands = Candidates {
            sites: vec![],
            connectors: vec![],
            existing: vec![],
            site_ids: crate::raster::Sparse::from_entries(4, vec![]),
            exclusive: vec![],
            site_start: vec![0, 0],
            site_cells: vec![],
        };
        let ends = |_: u32| (0, 0);
        assert_eq!(
            problem(
                &land,
                &src,
                &cands,
                &ends,
                &OptimizeSection::default(),
                None
            )
            .unwrap_err(),
            PlanError::NoBudget
        );
        let p = problem(
            &land,
            &src,
            &cands,
            &ends,
            &OptimizeSection::default(),
            Some(5.0),
        )
        .unwrap();
        assert_eq!(
            (p.budget_yuan, p.forbidden_zones),
            (5.0, vec!["farm".to_string()])
        );
    }
}
