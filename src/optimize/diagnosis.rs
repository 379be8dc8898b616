//! Input checks and the constraints that can be shown infeasible without solving.

use super::*;

/// Checks the data and the constraints that can be shown infeasible without solving, naming
/// them.
pub(super) fn check(p: &Problem) -> Result<(), OptimizeError> {
    let bad = |m: String| Err(OptimizeError::Input(m));
    if !(p.budget_yuan.is_finite() && p.budget_yuan >= 0.0) {
        return bad(format!("budget {} yuan: give a budget >= 0", p.budget_yuan));
    }
    for (w, name) in [(p.w_carbon, "carbon"), (p.w_benefit, "connectivity")] {
        if !(w.is_finite() && w >= 0.0) {
            return bad(format!(
                "the {name} weight is {w}; weights must be finite numbers >= 0"
            ));
        }
    }
    for s in &p.sites {
        for (v, what) in [
            (s.cost_yuan, "cost_yuan"),
            (s.area_ha, "area_ha"),
            (s.carbon_tco2e, "carbon_tco2e"),
            (s.benefit, "benefit"),
        ] {
            if !v.is_finite() || (v < 0.0 && what != "carbon_tco2e") {
                return bad(format!(
                    "site {}: {what} = {v}; it must be a finite number{}",
                    s.id,
                    if what == "carbon_tco2e" { "" } else { " >= 0" }
                ));
            }
        }
    }
    check_coverage(p)?;
    for c in &p.connectors {
        if let Some(&g) = c.gap_sites.iter().find(|&&g| g >= p.sites.len()) {
            return bad(format!(
                "connector {} needs gap site #{g}, which does not exist",
                c.id
            ));
        }
        if !(c.cost_yuan.is_finite()
            && c.cost_yuan >= 0.0
            && c.carbon_tco2e.is_finite()
            && c.benefit.is_finite())
        {
            return bad(format!(
                "connector {}: cost, carbon and benefit must be finite (cost >= 0)",
                c.id
            ));
        }
    }
    if let Some(&(a, b)) = p
        .exclusive
        .iter()
        .find(|&&(a, b)| a >= p.sites.len() || b >= p.sites.len() || a == b)
    {
        return bad(format!(
            "exclusive pair ({a}, {b}) does not name two different sites"
        ));
    }
    let locked_in: Vec<&Site> = p.sites.iter().filter(|s| s.lock == Lock::In).collect();
    if let Some(s) = locked_in
        .iter()
        .find(|s| s.zones.iter().any(|z| p.forbidden_zones.contains(z)))
    {
        return Err(OptimizeError::Infeasible(format!(
            "site {} is locked in but lies in a forbidden zone ({})",
            s.id,
            s.zones.join(", ")
        )));
    }
    if let Some(&(a, b)) = p
        .exclusive
        .iter()
        .find(|&&(a, b)| p.sites[a].lock == Lock::In && p.sites[b].lock == Lock::In)
    {
        return Err(OptimizeError::Infeasible(format!(
            "sites {} and {} are both locked in but exclude each other",
            p.sites[a].id, p.sites[b].id
        )));
    }
    let locked_cost: f64 = locked_in.iter().map(|s| s.cost_yuan).sum();
    if locked_cost > p.budget_yuan {
        return Err(OptimizeError::Infeasible(format!(
            "the {} locked-in sites cost {locked_cost:.0} yuan, more than the budget of {:.0} yuan\n  hint: raise the budget to at least {locked_cost:.0} yuan or unlock sites",
            locked_in.len(),
            p.budget_yuan
        )));
    }
    for (d, cap) in &p.district_budget_caps {
        let c: f64 = locked_in
            .iter()
            .filter(|s| s.district.as_deref() == Some(d.as_str()))
            .map(|s| s.cost_yuan)
            .sum();
        if c > *cap {
            return Err(OptimizeError::Infeasible(format!("locked-in sites in district {d} cost {c:.0} yuan, more than its budget cap of {cap:.0} yuan")));
        }
    }
    for (z, cap) in &p.zone_area_caps {
        let a: f64 = locked_in
            .iter()
            .filter(|s| s.zones.contains(z))
            .map(|s| s.area_ha)
            .sum();
        if a > *cap {
            return Err(OptimizeError::Infeasible(format!("locked-in sites in zone {z} cover {a:.2} ha, more than its area cap of {cap:.2} ha")));
        }
    }
    if let Some(min) = p.carbon_min {
        let best: f64 = p
            .sites
            .iter()
            .filter(|s| !forbidden(p, s))
            .map(|s| s.carbon_tco2e.max(0.0))
            .sum::<f64>()
            + p.connectors
                .iter()
                .map(|c| c.carbon_tco2e.max(0.0))
                .sum::<f64>();
        if best < min {
            return Err(OptimizeError::Infeasible(format!("the minimum carbon gain {min:.1} t CO2e exceeds what all allowed candidates together give ({best:.1} t CO2e)")));
        }
    }
    if let Some(c) = &p.connect {
        if let Some(l) = p.connectors.iter().position(|k| k.ends.is_none()) {
            return bad(format!(
                "the connected-network constraint needs the patches each connector links; connector {} has none",
                p.connectors[l].id
            ));
        }
        // With every connector whose gap sites may be chosen.
        let usable = |l: usize| {
            p.connectors[l]
                .gap_sites
                .iter()
                .all(|&g| !forbidden(p, &p.sites[g]))
        };
        let lost = unreachable(p, &usable);
        if !lost.is_empty() {
            let ids: Vec<String> = lost.iter().map(u32::to_string).collect();
            return Err(OptimizeError::Infeasible(format!(
                "patch(es) {} cannot be joined to patch {} even with every connector whose gap sites are allowed\n  hint: drop them from the patches to connect, or allow the zones their connectors cross",
                ids.join(", "),
                c.patches[0]
            )));
        }
    }
    Ok(())
}

/// The park-access term: weight, residents and site indices in range, and a minimum some
/// selection of the allowed sites can reach.
fn check_coverage(p: &Problem) -> Result<(), OptimizeError> {
    let bad = |m: String| Err(OptimizeError::Input(m));
    let Some(c) = &p.coverage else {
        return Ok(());
    };
    if !(c.weight.is_finite() && c.weight >= 0.0) {
        return bad(format!(
            "the access weight is {}; weights must be finite numbers >= 0",
            c.weight
        ));
    }
    for (g, (n, by)) in c.groups.iter().enumerate() {
        if !(n.is_finite() && *n >= 0.0) {
            return bad(format!(
                "access group {}: {n} persons; give a finite number >= 0",
                g + 1
            ));
        }
        if let Some(&s) = by.iter().find(|&&s| s >= p.sites.len()) {
            return bad(format!(
                "access group {} is covered by site index {s}, but there are {} sites",
                g + 1,
                p.sites.len()
            ));
        }
    }
    if let Some(min) = c.min_persons {
        if !min.is_finite() || min < 0.0 {
            return bad(format!(
                "the plan must bring {min} persons within the walk; give a finite number >= 0"
            ));
        }
    }
    // A minimum no selection can reach.
    if let Some(min) = c.min_persons {
        let allowed: Vec<bool> = p.sites.iter().map(|s| !forbidden(p, s)).collect();
        let best = c.persons(&allowed);
        if best < min * (1.0 - 1e-9) {
            return Err(OptimizeError::Infeasible(format!("the plan must bring {min:.0} more residents within the walk of a park, but every allowed candidate park site together brings {best:.0}\n  hint: lower [optimize] min_access_pct, or give more park sites (classes with park_to inside the urban development boundary)")));
        }
    }
    Ok(())
}
