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

fn known(what: &str, name: &str, valid: &[String]) -> Result<(), String> {
    if valid.iter().any(|v| v == name) {
        Ok(())
    } else {
        Err(format!(
            "[optimize] names {what} `{name}`, which the scenario does not have\n  hint: {what}s are: {}",
            if valid.is_empty() {
                "(none)".to_string()
            } else {
                valid.join(", ")
            }
        ))
    }
}

/// Checks `[optimize]` against the landscape and the sources: zone, district and patch names
/// that exist, weights and sweep values in range. Returns the forbidden zones (default: the
/// permanent basic farmland zones). Used by `validate` and before optimizing.
///
/// # Errors
/// A message naming the unknown zone, district or patch or the bad value, with the fix.
pub fn check(
    land: &Landscape,
    sources: &Sources,
    sec: &OptimizeSection,
) -> Result<Vec<String>, String> {
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
            return Err(format!(
                "[optimize] connect_patches names patch {p}, which is not an ecological source of this scenario\n  hint: patch ids are in patches.csv ({} patches)",
                sources.patches.len()
            ));
        }
    }
    let nonneg = |v: f64, what: &str| {
        if v.is_finite() && v >= 0.0 {
            Ok(())
        } else {
            Err(format!("[optimize] {what} = {v}; give a number >= 0"))
        }
    };
    nonneg(sec.carbon_weight, "carbon_weight")?;
    nonneg(sec.connectivity_weight, "connectivity_weight")?;
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
            return Err(format!("[optimize] time_limit_s = {t}; give seconds > 0"));
        }
    }
    if let Some(g) = sec.mip_gap {
        if !(0.0..1.0).contains(&g) {
            return Err(format!(
                "[optimize] mip_gap = {g}; give a relative gap from 0 to 1, e.g. 0.005"
            ));
        }
    }
    if let Some(sw) = &sec.sweep {
        for &b in &sw.budgets_yuan {
            if !(b.is_finite() && b >= 0.0) {
                return Err(format!(
                    "[optimize.sweep] budgets_yuan has {b}; give budgets >= 0"
                ));
            }
        }
        for &w in &sw.carbon_weights {
            if !(0.0..=1.0).contains(&w) {
                return Err(format!(
                    "[optimize.sweep] carbon_weights has {w}; give weights from 0 to 1 (connectivity gets 1 minus it)"
                ));
            }
        }
    }
    Ok(forbidden)
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
) -> Result<Problem, String> {
    let forbidden = check(land, sources, sec)?;
    let budget = budget_yuan.or(sec.budget_yuan).ok_or(
        "no budget: set [optimize] budget_yuan in the scenario or pass --budget-yuan".to_string(),
    )?;
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
    // A gap site in a forbidden zone (permanent basic farmland cannot be converted) is crossed
    // as it is: the connector needs only its allowed gap sites.
    let allowed = |g: &usize| {
        !zone_names(land, cands.sites[*g].zone_bits)
            .iter()
            .any(|z| forbidden.contains(z))
    };
    let connectors = cands
        .connectors
        .iter()
        .map(|c| Connector {
            id: c.id.to_string(),
            cost_yuan: c.cost_yuan,
            carbon_tco2e: c.carbon_tco2e,
            benefit: c.benefit,
            gap_sites: c.gap_sites.iter().copied().filter(allowed).collect(),
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
