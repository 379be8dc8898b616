//! Choosing restoration sites and park connectors within a budget: a MILP (good_lp, solved by
//! HiGHS) and a greedy benefit-per-cost baseline.
//!
//! # Model (`DESIGN.md`, "The optimization model")
//! ```text
//! max   w_c (Σ g_s x_s + Σ g_l y_l) / G_norm + w_k (Σ h_s x_s + Σ b_l y_l) / B_norm
//! s.t.  Σ c_s x_s + Σ c_l y_l <= budget
//!       y_l <= x_s                for every gap site s of connector l
//!       x_s = 0                   sites in a forbidden zone, locked-out sites
//!       x_s = 1                   locked-in sites
//!       Σ_{s in zone z} a_s x_s <= cap_z,   Σ_{s in district d} c_s x_s <= cap_d
//!       Σ g_s x_s + Σ g_l y_l >= carbon_min   (optional)
//! ```
//! `G_norm`, `B_norm` are the totals over all candidates (1 when zero), so both terms lie in
//! [0, 1]. Every solve reports its status, objective, best bound and gap; a solve stopped by
//! the time limit is labelled as such, never as optimal.

use std::collections::BTreeMap;

use good_lp::solvers::highs::highs;
use good_lp::{constraint, variable, variables, Expression, SolverModel, Variable};

/// Whether a site is forced in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lock {
    /// Free to choose.
    #[default]
    Free,
    /// Must be selected.
    In,
    /// Must not be selected.
    Out,
}

/// A restoration site.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Id (for tables and messages).
    pub id: String,
    /// Cost, yuan.
    pub cost_yuan: f64,
    /// Area, ha.
    pub area_ha: f64,
    /// Carbon gain, t CO2e.
    pub carbon_tco2e: f64,
    /// Connectivity benefit (0 when not scored).
    pub benefit: f64,
    /// Zone names the site lies in.
    pub zones: Vec<String>,
    /// District name, if any.
    pub district: Option<String>,
    /// Locked in or out.
    pub lock: Lock,
}

/// A park connector: a corridor link that works only with its gap sites restored.
#[derive(Debug, Clone, PartialEq)]
pub struct Connector {
    /// Id.
    pub id: String,
    /// Own cost, yuan.
    pub cost_yuan: f64,
    /// Carbon gain, t CO2e.
    pub carbon_tco2e: f64,
    /// Connectivity benefit.
    pub benefit: f64,
    /// Indices of the sites it needs.
    pub gap_sites: Vec<usize>,
}

/// The decision problem.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Problem {
    /// Sites.
    pub sites: Vec<Site>,
    /// Connectors.
    pub connectors: Vec<Connector>,
    /// Budget, yuan.
    pub budget_yuan: f64,
    /// Weight of carbon.
    pub w_carbon: f64,
    /// Weight of connectivity.
    pub w_benefit: f64,
    /// Zones where no site may be chosen (e.g. permanent basic farmland).
    pub forbidden_zones: Vec<String>,
    /// Area caps per zone, ha.
    pub zone_area_caps: BTreeMap<String, f64>,
    /// Budget caps per district, yuan.
    pub district_budget_caps: BTreeMap<String, f64>,
    /// Minimum carbon gain, t CO2e.
    pub carbon_min: Option<f64>,
}

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Proven optimal (within HiGHS' default tolerance or the requested gap).
    Optimal,
    /// Stopped by the time limit with a feasible plan.
    TimeLimit,
}

impl Status {
    /// For tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Optimal => "optimal",
            Status::TimeLimit => "feasible at time limit",
        }
    }
}

/// A chosen plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// How the solve ended.
    pub status: Status,
    /// Objective value.
    pub objective: f64,
    /// Best bound on the objective.
    pub bound: f64,
    /// Relative gap (bound - objective) / objective.
    pub gap: f64,
    /// Selected sites.
    pub sites: Vec<bool>,
    /// Selected connectors.
    pub connectors: Vec<bool>,
    /// Spent, yuan.
    pub spent_yuan: f64,
    /// Carbon gain, t CO2e.
    pub carbon_tco2e: f64,
    /// Connectivity benefit.
    pub benefit: f64,
}

/// Solver options.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SolveOptions {
    /// Time limit, s.
    pub time_limit_s: Option<f64>,
    /// Relative MIP gap to stop at.
    pub mip_rel_gap: Option<f64>,
}

/// Why no plan came out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimizeError {
    /// The constraints cannot all hold; names them.
    #[error("no feasible plan: {0}")]
    Infeasible(String),
    /// Bad input.
    #[error("{0}")]
    Input(String),
    /// The solver failed.
    #[error("the MILP solver failed: {0}")]
    Solver(String),
}

fn norms(p: &Problem) -> (f64, f64) {
    let g: f64 = p.sites.iter().map(|s| s.carbon_tco2e).sum::<f64>()
        + p.connectors.iter().map(|c| c.carbon_tco2e).sum::<f64>();
    let b: f64 = p.sites.iter().map(|s| s.benefit).sum::<f64>()
        + p.connectors.iter().map(|c| c.benefit).sum::<f64>();
    (if g > 0.0 { g } else { 1.0 }, if b > 0.0 { b } else { 1.0 })
}

/// Objective value of a selection.
pub fn objective(p: &Problem, sites: &[bool], connectors: &[bool]) -> f64 {
    let (gn, bn) = norms(p);
    let (mut g, mut b) = (0.0, 0.0);
    for (s, &x) in p.sites.iter().zip(sites) {
        if x {
            g += s.carbon_tco2e;
            b += s.benefit;
        }
    }
    for (c, &y) in p.connectors.iter().zip(connectors) {
        if y {
            g += c.carbon_tco2e;
            b += c.benefit;
        }
    }
    p.w_carbon * g / gn + p.w_benefit * b / bn
}

fn forbidden(p: &Problem, s: &Site) -> bool {
    s.lock == Lock::Out || s.zones.iter().any(|z| p.forbidden_zones.contains(z))
}

/// Whether a selection satisfies every constraint (used by tests and the greedy baseline).
pub fn feasible(p: &Problem, sites: &[bool], connectors: &[bool]) -> bool {
    let eps = 1e-6;
    let cost: f64 = p
        .sites
        .iter()
        .zip(sites)
        .filter(|(_, &x)| x)
        .map(|(s, _)| s.cost_yuan)
        .sum::<f64>()
        + p.connectors
            .iter()
            .zip(connectors)
            .filter(|(_, &y)| y)
            .map(|(c, _)| c.cost_yuan)
            .sum::<f64>();
    if cost > p.budget_yuan * (1.0 + eps) + eps {
        return false;
    }
    for (s, &x) in p.sites.iter().zip(sites) {
        if (x && forbidden(p, s)) || (!x && s.lock == Lock::In) {
            return false;
        }
    }
    for (c, &y) in p.connectors.iter().zip(connectors) {
        if y && c.gap_sites.iter().any(|&g| !sites[g]) {
            return false;
        }
    }
    for (z, cap) in &p.zone_area_caps {
        let a: f64 = p
            .sites
            .iter()
            .zip(sites)
            .filter(|(s, &x)| x && s.zones.contains(z))
            .map(|(s, _)| s.area_ha)
            .sum();
        if a > cap * (1.0 + eps) + eps {
            return false;
        }
    }
    for (d, cap) in &p.district_budget_caps {
        let c: f64 = p
            .sites
            .iter()
            .zip(sites)
            .filter(|(s, &x)| x && s.district.as_deref() == Some(d.as_str()))
            .map(|(s, _)| s.cost_yuan)
            .sum();
        if c > cap * (1.0 + eps) + eps {
            return false;
        }
    }
    if let Some(min) = p.carbon_min {
        let g: f64 = p
            .sites
            .iter()
            .zip(sites)
            .filter(|(_, &x)| x)
            .map(|(s, _)| s.carbon_tco2e)
            .sum::<f64>()
            + p.connectors
                .iter()
                .zip(connectors)
                .filter(|(_, &y)| y)
                .map(|(c, _)| c.carbon_tco2e)
                .sum::<f64>();
        if g < min * (1.0 - eps) - eps {
            return false;
        }
    }
    true
}

/// Checks the data and the constraints that can be shown infeasible without solving, naming
/// them.
fn check(p: &Problem) -> Result<(), OptimizeError> {
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
    Ok(())
}

/// Solves the MILP with HiGHS.
///
/// # Errors
/// [`OptimizeError::Infeasible`] naming the conflicting constraints; `Input` for bad data;
/// `Solver` when HiGHS fails or finds no feasible plan in the time limit.
pub fn solve(p: &Problem, opts: &SolveOptions) -> Result<Plan, OptimizeError> {
    check(p)?;
    if p.sites.is_empty() && p.connectors.is_empty() {
        return Ok(plan(p, Status::Optimal, vec![], vec![], 0.0));
    }
    let (gn, bn) = norms(p);
    let mut vars = variables!();
    let x: Vec<Variable> = p
        .sites
        .iter()
        .map(|_| vars.add(variable().binary()))
        .collect();
    let y: Vec<Variable> = p
        .connectors
        .iter()
        .map(|_| vars.add(variable().binary()))
        .collect();
    let mut obj = Expression::from(0.0);
    let mut cost = Expression::from(0.0);
    let mut carbon = Expression::from(0.0);
    for (s, &v) in p.sites.iter().zip(&x) {
        obj += (p.w_carbon * s.carbon_tco2e / gn + p.w_benefit * s.benefit / bn) * v;
        cost += s.cost_yuan * v;
        carbon += s.carbon_tco2e * v;
    }
    for (c, &v) in p.connectors.iter().zip(&y) {
        obj += (p.w_carbon * c.carbon_tco2e / gn + p.w_benefit * c.benefit / bn) * v;
        cost += c.cost_yuan * v;
        carbon += c.carbon_tco2e * v;
    }
    let mut model = vars.maximise(obj).using(highs);
    model = model.with(constraint!(cost <= p.budget_yuan));
    for (c, &v) in p.connectors.iter().zip(&y) {
        for &g in &c.gap_sites {
            model = model.with(constraint!(v <= x[g]));
        }
    }
    for (s, &v) in p.sites.iter().zip(&x) {
        if forbidden(p, s) {
            model = model.with(constraint!(v == 0));
        } else if s.lock == Lock::In {
            model = model.with(constraint!(v == 1));
        }
    }
    for (z, &cap) in &p.zone_area_caps {
        let mut a = Expression::from(0.0);
        for (s, &v) in p.sites.iter().zip(&x) {
            if s.zones.contains(z) {
                a += s.area_ha * v;
            }
        }
        model = model.with(constraint!(a <= cap));
    }
    for (d, &cap) in &p.district_budget_caps {
        let mut c = Expression::from(0.0);
        for (s, &v) in p.sites.iter().zip(&x) {
            if s.district.as_deref() == Some(d.as_str()) {
                c += s.cost_yuan * v;
            }
        }
        model = model.with(constraint!(c <= cap));
    }
    if let Some(min) = p.carbon_min {
        model = model.with(constraint!(carbon >= min));
    }
    let mut inner = model
        .try_into_inner()
        .map_err(|e| OptimizeError::Solver(e.to_string()))?;
    inner.make_quiet();
    if let Some(t) = opts.time_limit_s {
        inner.set_option("time_limit", t);
    }
    if let Some(g) = opts.mip_rel_gap {
        inner.set_option("mip_rel_gap", g);
    }
    let solved = inner
        .try_solve()
        .map_err(|e| OptimizeError::Solver(format!("{e:?}")))?;
    use highs::HighsModelStatus as H;
    let status = match solved.status() {
        H::Optimal => Status::Optimal,
        H::ReachedTimeLimit | H::ReachedIterationLimit | H::ReachedInterrupt | H::ReachedSolutionLimit | H::ReachedMemoryLimit => Status::TimeLimit,
        H::Infeasible | H::UnboundedOrInfeasible => {
            return Err(OptimizeError::Infeasible(
                "the budget, the connector gap-site links, the locked and forbidden sites, the zone and district caps and the minimum carbon cannot all hold together\n  hint: relax the minimum carbon or the caps, or raise the budget".into(),
            ))
        }
        other => return Err(OptimizeError::Solver(format!("HiGHS ended with status {other:?}"))),
    };
    if solved.primal_solution_status() != highs::HighsSolutionStatus::Feasible {
        return Err(OptimizeError::Solver(
            "no feasible plan was found within the time limit; allow more time".into(),
        ));
    }
    let cols = solved.get_solution().columns().to_vec();
    let sites: Vec<bool> = (0..x.len()).map(|i| cols[i] > 0.5).collect();
    let connectors: Vec<bool> = (0..y.len()).map(|i| cols[x.len() + i] > 0.5).collect();
    let bound = solved
        .double_info_value(c"mip_dual_bound")
        .unwrap_or(f64::NAN);
    Ok(plan(p, status, sites, connectors, bound))
}

fn plan(p: &Problem, status: Status, sites: Vec<bool>, connectors: Vec<bool>, bound: f64) -> Plan {
    let objective = objective(p, &sites, &connectors);
    // A bound below the objective (HiGHS#2154 when presolve solves the model) means optimal.
    let bound = if bound.is_finite() && bound >= objective {
        bound
    } else {
        objective
    };
    let gap = if objective.abs() > 0.0 {
        (bound - objective) / objective.abs()
    } else {
        0.0
    };
    let pick = |v: &[bool], f: &dyn Fn(usize) -> f64| {
        v.iter()
            .enumerate()
            .filter(|(_, &b)| b)
            .map(|(i, _)| f(i))
            .sum::<f64>()
    };
    let spent_yuan =
        pick(&sites, &|i| p.sites[i].cost_yuan) + pick(&connectors, &|i| p.connectors[i].cost_yuan);
    let carbon_tco2e = pick(&sites, &|i| p.sites[i].carbon_tco2e)
        + pick(&connectors, &|i| p.connectors[i].carbon_tco2e);
    let benefit =
        pick(&sites, &|i| p.sites[i].benefit) + pick(&connectors, &|i| p.connectors[i].benefit);
    Plan {
        status,
        objective,
        bound,
        gap,
        sites,
        connectors,
        spent_yuan,
        carbon_tco2e,
        benefit,
    }
}

/// The model in CPLEX LP format, for checking with any solver: variables `x<i>` for sites
/// (table order, 1-based) and `y<j>` for connectors; ids appear in comments.
pub fn to_lp(p: &Problem) -> String {
    let (gn, bn) = norms(p);
    let term = |coef: f64, var: String| {
        format!(
            "{} {} {}",
            if coef < 0.0 { "-" } else { "+" },
            coef.abs(),
            var
        )
    };
    let x = |i: usize| format!("x{}", i + 1);
    let y = |j: usize| format!("y{}", j + 1);
    let mut out = String::from("\\ ecocorridor restoration plan\n");
    for (i, s) in p.sites.iter().enumerate() {
        out.push_str(&format!("\\ {} = site {}\n", x(i), s.id));
    }
    for (j, c) in p.connectors.iter().enumerate() {
        out.push_str(&format!("\\ {} = connector {}\n", y(j), c.id));
    }
    let mut obj: Vec<String> = p
        .sites
        .iter()
        .enumerate()
        .map(|(i, s)| {
            term(
                p.w_carbon * s.carbon_tco2e / gn + p.w_benefit * s.benefit / bn,
                x(i),
            )
        })
        .collect();
    obj.extend(p.connectors.iter().enumerate().map(|(j, c)| {
        term(
            p.w_carbon * c.carbon_tco2e / gn + p.w_benefit * c.benefit / bn,
            y(j),
        )
    }));
    out.push_str(&format!("Maximize\n obj: {}\nSubject To\n", obj.join(" ")));
    let mut cost: Vec<String> = p
        .sites
        .iter()
        .enumerate()
        .map(|(i, s)| term(s.cost_yuan, x(i)))
        .collect();
    cost.extend(
        p.connectors
            .iter()
            .enumerate()
            .map(|(j, c)| term(c.cost_yuan, y(j))),
    );
    out.push_str(&format!(
        " budget: {} <= {}\n",
        cost.join(" "),
        p.budget_yuan
    ));
    for (j, c) in p.connectors.iter().enumerate() {
        for &g in &c.gap_sites {
            out.push_str(&format!(
                " gap_{}_{}: {} - {} <= 0\n",
                y(j),
                x(g),
                y(j),
                x(g)
            ));
        }
    }
    for (i, s) in p.sites.iter().enumerate() {
        if forbidden(p, s) {
            out.push_str(&format!(" fixed_{}: {} = 0\n", x(i), x(i)));
        } else if s.lock == Lock::In {
            out.push_str(&format!(" fixed_{}: {} = 1\n", x(i), x(i)));
        }
    }
    for (k, (z, cap)) in p.zone_area_caps.iter().enumerate() {
        let t: Vec<String> = p
            .sites
            .iter()
            .enumerate()
            .filter(|(_, s)| s.zones.contains(z))
            .map(|(i, s)| term(s.area_ha, x(i)))
            .collect();
        if !t.is_empty() {
            out.push_str(&format!(" zone_cap_{}: {} <= {cap}\n", k + 1, t.join(" ")));
        }
    }
    for (k, (d, cap)) in p.district_budget_caps.iter().enumerate() {
        let t: Vec<String> = p
            .sites
            .iter()
            .enumerate()
            .filter(|(_, s)| s.district.as_deref() == Some(d.as_str()))
            .map(|(i, s)| term(s.cost_yuan, x(i)))
            .collect();
        if !t.is_empty() {
            out.push_str(&format!(
                " district_cap_{}: {} <= {cap}\n",
                k + 1,
                t.join(" ")
            ));
        }
    }
    if let Some(min) = p.carbon_min {
        let mut t: Vec<String> = p
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| term(s.carbon_tco2e, x(i)))
            .collect();
        t.extend(
            p.connectors
                .iter()
                .enumerate()
                .map(|(j, c)| term(c.carbon_tco2e, y(j))),
        );
        out.push_str(&format!(" carbon_min: {} >= {min}\n", t.join(" ")));
    }
    let vars: Vec<String> = (0..p.sites.len())
        .map(x)
        .chain((0..p.connectors.len()).map(y))
        .collect();
    out.push_str(&format!("Binaries\n {}\nEnd\n", vars.join(" ")));
    out
}

/// Greedy baseline: locked-in sites first, then candidates by objective value per yuan
/// (a connector together with its missing gap sites), adding each that keeps the plan
/// feasible.
pub fn greedy(p: &Problem) -> Plan {
    let mut sites: Vec<bool> = p
        .sites
        .iter()
        .map(|s| s.lock == Lock::In && !forbidden(p, s))
        .collect();
    let mut connectors = vec![false; p.connectors.len()];
    let (gn, bn) = norms(p);
    let value = |g: f64, b: f64| p.w_carbon * g / gn + p.w_benefit * b / bn;
    // (ratio, is_connector, index)
    let mut cands: Vec<(f64, bool, usize)> = Vec::new();
    for (i, s) in p.sites.iter().enumerate() {
        if !forbidden(p, s) && s.lock != Lock::In {
            cands.push((
                value(s.carbon_tco2e, s.benefit) / s.cost_yuan.max(1e-9),
                false,
                i,
            ));
        }
    }
    for (i, c) in p.connectors.iter().enumerate() {
        let (mut v, mut cost) = (value(c.carbon_tco2e, c.benefit), c.cost_yuan);
        for &g in &c.gap_sites {
            v += value(p.sites[g].carbon_tco2e, p.sites[g].benefit);
            cost += p.sites[g].cost_yuan;
        }
        cands.push((v / cost.max(1e-9), true, i));
    }
    cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for &(ratio, is_conn, i) in &cands {
        if ratio <= 0.0 {
            break;
        }
        let (mut s2, mut c2) = (sites.clone(), connectors.clone());
        if is_conn {
            c2[i] = true;
            for &g in &p.connectors[i].gap_sites {
                s2[g] = true;
            }
        } else {
            s2[i] = true;
        }
        if feasible(p, &s2, &c2) || (p.carbon_min.is_some() && feasible_but_carbon(p, &s2, &c2)) {
            sites = s2;
            connectors = c2;
        }
    }
    plan(p, Status::Optimal, sites, connectors, f64::NAN)
}

/// Feasible except possibly the minimum carbon (which greedy additions can only approach).
fn feasible_but_carbon(p: &Problem, sites: &[bool], connectors: &[bool]) -> bool {
    let mut q = p.clone();
    q.carbon_min = None;
    feasible(&q, sites, connectors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn site(id: &str, cost: f64, carbon: f64) -> Site {
        Site {
            id: id.into(),
            cost_yuan: cost,
            area_ha: 1.0,
            carbon_tco2e: carbon,
            benefit: 0.0,
            zones: vec![],
            district: None,
            lock: Lock::Free,
        }
    }

    #[test]
    fn prioritizr_budget_example() {
        // prioritizr's budget test: costs [1, 2, 2], budget 4.23; with equal value per site the
        // two-site plans are best; carbon tips it to sites 2 and 3.
        let p = Problem {
            sites: vec![
                site("a", 1.0, 1.0),
                site("b", 2.0, 2.0),
                site("c", 2.0, 2.0),
            ],
            budget_yuan: 4.23,
            w_carbon: 1.0,
            ..Default::default()
        };
        let plan = solve(&p, &SolveOptions::default()).unwrap();
        assert_eq!(plan.sites, vec![false, true, true]);
        assert_eq!(plan.status, Status::Optimal);
        assert!((plan.objective - 0.8).abs() < 1e-9 && plan.gap.abs() < 1e-6);
    }

    #[test]
    fn the_lp_file_states_the_model() {
        let mut p = Problem {
            sites: vec![site("a", 5.0, 2.0), site("b", 3.0, 2.0)],
            budget_yuan: 6.0,
            w_carbon: 1.0,
            carbon_min: Some(1.0),
            ..Default::default()
        };
        p.sites[1].lock = Lock::Out;
        p.connectors.push(Connector {
            id: "l".into(),
            cost_yuan: 1.0,
            carbon_tco2e: 0.0,
            benefit: 0.0,
            gap_sites: vec![0],
        });
        let lp = to_lp(&p);
        for line in [
            "Maximize",
            " obj: + 0.5 x1 + 0.5 x2 + 0 y1",
            " budget: + 5 x1 + 3 x2 + 1 y1 <= 6",
            " gap_y1_x1: y1 - x1 <= 0",
            " fixed_x2: x2 = 0",
            " carbon_min: + 2 x1 + 2 x2 + 0 y1 >= 1",
            "Binaries",
            " x1 x2 y1",
            "End",
        ] {
            assert!(lp.lines().any(|l| l == line), "missing {line:?} in\n{lp}");
        }
    }

    #[test]
    fn a_connector_brings_its_gap_sites() {
        let mut p = Problem {
            sites: vec![site("gap", 5.0, 0.0), site("other", 5.0, 1.0)],
            budget_yuan: 8.0,
            w_benefit: 1.0,
            ..Default::default()
        };
        p.connectors.push(Connector {
            id: "l1".into(),
            cost_yuan: 2.0,
            carbon_tco2e: 0.0,
            benefit: 10.0,
            gap_sites: vec![0],
        });
        let plan = solve(&p, &SolveOptions::default()).unwrap();
        assert_eq!(
            (plan.sites.clone(), plan.connectors.clone()),
            (vec![true, false], vec![true])
        );
        assert_eq!(plan.spent_yuan, 7.0);
    }

    #[test]
    fn locked_in_sites_over_budget_are_named() {
        let mut p = Problem {
            sites: vec![site("a", 10.0, 1.0), site("b", 10.0, 1.0)],
            budget_yuan: 15.0,
            w_carbon: 1.0,
            ..Default::default()
        };
        p.sites[0].lock = Lock::In;
        p.sites[1].lock = Lock::In;
        let err = solve(&p, &SolveOptions::default()).unwrap_err().to_string();
        assert!(
            err.contains("2 locked-in sites cost 20 yuan, more than the budget of 15 yuan"),
            "{err}"
        );
        p.sites[1].lock = Lock::Free;
        p.sites[0].zones = vec!["permanent_farmland".into()];
        p.forbidden_zones = vec!["permanent_farmland".into()];
        assert!(solve(&p, &SolveOptions::default())
            .unwrap_err()
            .to_string()
            .contains("locked in but lies in a forbidden zone"));
    }

    #[test]
    fn a_minimum_carbon_beyond_reach_is_named() {
        let p = Problem {
            sites: vec![site("a", 1.0, 3.0)],
            budget_yuan: 10.0,
            w_carbon: 1.0,
            carbon_min: Some(5.0),
            ..Default::default()
        };
        assert!(solve(&p, &SolveOptions::default())
            .unwrap_err()
            .to_string()
            .contains("minimum carbon gain 5.0 t CO2e exceeds"));
        // Reachable only beyond the budget: the solver says infeasible, in words.
        let p = Problem {
            sites: vec![site("a", 20.0, 6.0)],
            budget_yuan: 10.0,
            w_carbon: 1.0,
            carbon_min: Some(5.0),
            ..Default::default()
        };
        assert!(solve(&p, &SolveOptions::default())
            .unwrap_err()
            .to_string()
            .contains("cannot all hold together"));
    }

    fn arb_problem() -> impl Strategy<Value = Problem> {
        let sites = proptest::collection::vec(
            (
                1.0f64..20.0,
                0.0f64..10.0,
                0.0f64..5.0,
                0.0f64..3.0,
                0u8..6,
                0u8..3,
            ),
            1..9,
        );
        let conns = proptest::collection::vec(
            (
                0.0f64..10.0,
                0.0f64..5.0,
                0.0f64..8.0,
                proptest::collection::vec(0usize..9, 0..3),
            ),
            0..4,
        );
        (
            sites,
            conns,
            0.0f64..60.0,
            0.0f64..1.0,
            proptest::option::of(0.0f64..15.0),
            proptest::option::of(1.0f64..6.0),
        )
            .prop_map(|(sites, conns, budget, w, cmin, cap)| {
                let n = sites.len();
                let sites: Vec<Site> = sites
                    .into_iter()
                    .enumerate()
                    .map(|(i, (cost, carbon, benefit, area, flag, district))| Site {
                        id: format!("s{i}"),
                        cost_yuan: cost,
                        area_ha: area,
                        carbon_tco2e: carbon,
                        benefit,
                        zones: if flag == 0 {
                            vec!["pbf".into()]
                        } else if flag == 1 {
                            vec!["red".into()]
                        } else {
                            vec![]
                        },
                        district: Some(format!("d{district}")),
                        lock: match flag {
                            2 => Lock::In,
                            3 => Lock::Out,
                            _ => Lock::Free,
                        },
                    })
                    .collect();
                let connectors = conns
                    .into_iter()
                    .enumerate()
                    .map(|(i, (cost, carbon, benefit, gaps))| {
                        let mut g: Vec<usize> = gaps.into_iter().map(|x| x % n).collect();
                        g.sort_unstable();
                        g.dedup();
                        Connector {
                            id: format!("c{i}"),
                            cost_yuan: cost,
                            carbon_tco2e: carbon,
                            benefit,
                            gap_sites: g,
                        }
                    })
                    .collect();
                let mut zone_area_caps = BTreeMap::new();
                if let Some(c) = cap {
                    zone_area_caps.insert("red".to_string(), c);
                }
                let mut district_budget_caps = BTreeMap::new();
                district_budget_caps.insert("d1".to_string(), budget / 2.0);
                Problem {
                    sites,
                    connectors,
                    budget_yuan: budget,
                    w_carbon: w,
                    w_benefit: 1.0 - w,
                    forbidden_zones: vec!["pbf".into()],
                    zone_area_caps,
                    district_budget_caps,
                    carbon_min: cmin,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn the_milp_equals_exhaustive_enumeration(p in arb_problem()) {
            let (ns, nc) = (p.sites.len(), p.connectors.len());
            let mut best: Option<f64> = None;
            for mask in 0u32..(1 << (ns + nc)) {
                let s: Vec<bool> = (0..ns).map(|i| mask & (1 << i) != 0).collect();
                let c: Vec<bool> = (0..nc).map(|i| mask & (1 << (ns + i)) != 0).collect();
                if feasible(&p, &s, &c) {
                    let v = objective(&p, &s, &c);
                    best = Some(best.map_or(v, |b: f64| b.max(v)));
                }
            }
            match (solve(&p, &SolveOptions::default()), best) {
                (Ok(plan), Some(b)) => {
                    prop_assert!(feasible(&p, &plan.sites, &plan.connectors), "the plan breaks a constraint");
                    prop_assert!((plan.objective - b).abs() <= 1e-6 * b.abs().max(1.0), "MILP {} vs enumeration {}", plan.objective, b);
                    prop_assert!(plan.bound >= plan.objective - 1e-9);
                    let g = greedy(&p);
                    if feasible(&p, &g.sites, &g.connectors) {
                        prop_assert!(g.objective <= plan.objective + 1e-9);
                    }
                }
                (Err(OptimizeError::Infeasible(_)), None) => {}
                (r, b) => prop_assert!(false, "solver {:?} but enumeration best {:?}", r.map(|p| p.objective), b),
            }
        }
    }
}
