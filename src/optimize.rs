//! Choosing restoration sites and park connectors within a budget: a MILP (good_lp, solved by
//! HiGHS), a greedy benefit-per-cost baseline and trade-off sweeps.
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
//!       x_a + x_b <= 1            mutually exclusive sites (optional)
//!       connected network         (optional, single-commodity flow, below)
//! ```
//! `G_norm`, `B_norm` are the totals over all candidates (1 when zero), so both terms lie in
//! [0, 1]. Connected network: the required patches must be joined by existing links and
//! chosen connectors. One unit of flow leaves the first required patch for every other one;
//! each link carries flow in both directions (continuous `f ≥ 0`), a connector's only when it
//! is chosen (`f_uv + f_vu <= (k − 1) y_l`), and flow is conserved at every patch. Every
//! solve reports its status, objective, best bound and gap; a solve stopped by the time limit
//! is labelled as such, never as optimal.
//!
//! The connectivity term is a model of what the plan buys (each site's share of the LCD of
//! the corridors it shortens, each connector's dPC or gravity): it steers the choice. What a
//! chosen plan buys is measured afterwards on the landscape with the plan applied
//! ([`crate::measure`]) and only that measurement is reported as connectivity.
//!
//! The model is built once as a plain linear program ([`LinearModel`]) that is both handed to
//! the solver and written as CPLEX LP or free MPS, so the exported file is the solved model.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use good_lp::solvers::highs::highs;
use good_lp::{variable, Expression, ProblemVariables, SolverModel, Variable};
use rayon::prelude::*;

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
    /// The patches it links (needed by the connected-network constraint).
    pub ends: Option<(u32, u32)>,
}

/// The connected-network requirement: these patches must end up joined by existing links and
/// chosen connectors.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Connect {
    /// Patches to join (at least two to mean anything).
    pub patches: Vec<u32>,
    /// Links that work already.
    pub existing: Vec<(u32, u32)>,
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
    /// Pairs of sites (indices) of which at most one may be chosen.
    pub exclusive: Vec<(usize, usize)>,
    /// Connected-network requirement.
    pub connect: Option<Connect>,
}

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Proven optimal (within HiGHS' default tolerance or the requested gap).
    Optimal,
    /// Stopped by the time limit with a feasible plan.
    TimeLimit,
    /// Stopped by HiGHS' iteration limit with a feasible plan.
    IterationLimit,
    /// Interrupted with a feasible plan.
    Interrupted,
    /// Stopped by HiGHS' solution-count limit with a feasible plan.
    SolutionLimit,
    /// Stopped by HiGHS' memory limit with a feasible plan.
    MemoryLimit,
    /// A heuristic plan (the greedy baseline): no optimality claim.
    Heuristic,
}

impl Status {
    /// For tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Optimal => "optimal",
            Status::TimeLimit => "feasible at time limit",
            Status::IterationLimit => "feasible at iteration limit",
            Status::Interrupted => "feasible when interrupted",
            Status::SolutionLimit => "feasible at solution limit",
            Status::MemoryLimit => "feasible at memory limit",
            Status::Heuristic => "heuristic",
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
    /// HiGHS threads (None: HiGHS decides).
    pub threads: Option<u32>,
    /// HiGHS presolve (None: only with the connected-network constraint; see [`solve`]).
    pub presolve: Option<bool>,
    /// Print HiGHS' log on stderr (Unix).
    pub log: bool,
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

fn sum_selected<T>(items: &[T], pick: &[bool], f: impl Fn(&T) -> f64) -> f64 {
    items
        .iter()
        .zip(pick)
        .filter(|(_, &x)| x)
        .map(|(t, _)| f(t))
        .sum()
}

/// Patches the required ones cannot reach through existing links and the given connectors
/// (`usable[l]`), in the order given; empty when all are joined.
fn unreachable(p: &Problem, usable: &dyn Fn(usize) -> bool) -> Vec<u32> {
    let Some(c) = &p.connect else {
        return Vec::new();
    };
    let Some(&root) = c.patches.first() else {
        return Vec::new();
    };
    let mut adj: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut add = |a: u32, b: u32| {
        adj.entry(a).or_default().push(b);
        adj.entry(b).or_default().push(a);
    };
    for &(a, b) in &c.existing {
        add(a, b);
    }
    for (l, k) in p.connectors.iter().enumerate() {
        if let (Some((a, b)), true) = (k.ends, usable(l)) {
            add(a, b);
        }
    }
    let mut seen = BTreeSet::from([root]);
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        for &w in adj.get(&v).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(w) {
                stack.push(w);
            }
        }
    }
    c.patches
        .iter()
        .copied()
        .filter(|v| !seen.contains(v))
        .collect()
}

/// Whether a selection satisfies every constraint (used by tests and the greedy baseline).
pub fn feasible(p: &Problem, sites: &[bool], connectors: &[bool]) -> bool {
    feasible_except_carbon(p, sites, connectors)
        && p.carbon_min.is_none_or(|min| {
            let g = sum_selected(&p.sites, sites, |s| s.carbon_tco2e)
                + sum_selected(&p.connectors, connectors, |c| c.carbon_tco2e);
            g >= min * (1.0 - EPS) - EPS
        })
}

const EPS: f64 = 1e-6;

fn feasible_except_carbon(p: &Problem, sites: &[bool], connectors: &[bool]) -> bool {
    let cost = sum_selected(&p.sites, sites, |s| s.cost_yuan)
        + sum_selected(&p.connectors, connectors, |c| c.cost_yuan);
    if cost > p.budget_yuan * (1.0 + EPS) + EPS {
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
        if a > cap * (1.0 + EPS) + EPS {
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
        if c > cap * (1.0 + EPS) + EPS {
            return false;
        }
    }
    if p.exclusive.iter().any(|&(a, b)| sites[a] && sites[b]) {
        return false;
    }
    unreachable(p, &|l| connectors[l]).is_empty()
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

/// A constraint's sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sense {
    /// `<=`.
    Le,
    /// `>=`.
    Ge,
    /// `=`.
    Eq,
}

/// One constraint row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Name (for LP/MPS files).
    pub name: String,
    /// (variable, coefficient).
    pub terms: Vec<(usize, f64)>,
    /// Sense.
    pub sense: Sense,
    /// Right-hand side.
    pub rhs: f64,
}

/// The MILP as plain data: variables `x<i>` (sites), `y<j>` (connectors), both binary, then
/// continuous flows `f<k>` in `[0, upper]`; the objective is maximised.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    /// Variable names.
    pub names: Vec<String>,
    /// Whether each variable is binary (else continuous in `[0, upper]`).
    pub binary: Vec<bool>,
    /// Upper bounds of continuous variables.
    pub upper: Vec<f64>,
    /// Objective coefficients.
    pub objective: Vec<f64>,
    /// Constraints.
    pub rows: Vec<Row>,
    /// Comments naming what the variables stand for.
    pub comments: Vec<String>,
    /// Flow edges of the connected-network constraint: (variable of the flow a -> b, a, b,
    /// connector); the flow b -> a is the next variable.
    pub flows: Vec<(usize, u32, u32, Option<usize>)>,
}

/// Builds the model of a problem (no checks; see [`solve`]).
pub fn linear_model(p: &Problem) -> LinearModel {
    let (gn, bn) = norms(p);
    let (ns, nc) = (p.sites.len(), p.connectors.len());
    let mut m = LinearModel {
        names: (0..ns)
            .map(|i| format!("x{}", i + 1))
            .chain((0..nc).map(|j| format!("y{}", j + 1)))
            .collect(),
        binary: vec![true; ns + nc],
        upper: vec![1.0; ns + nc],
        objective: p
            .sites
            .iter()
            .map(|s| (s.carbon_tco2e, s.benefit))
            .chain(p.connectors.iter().map(|c| (c.carbon_tco2e, c.benefit)))
            .map(|(g, b)| p.w_carbon * g / gn + p.w_benefit * b / bn)
            .collect(),
        rows: Vec::new(),
        flows: Vec::new(),
        comments: p
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| format!("x{} = site {}", i + 1, s.id))
            .chain(
                p.connectors
                    .iter()
                    .enumerate()
                    .map(|(j, c)| format!("y{} = connector {}", j + 1, c.id)),
            )
            .collect(),
    };
    let x = |i: usize| i;
    let y = |j: usize| ns + j;
    // Every site and connector with a coefficient each.
    let all = |fs: &dyn Fn(&Site) -> f64, fc: &dyn Fn(&Connector) -> f64| -> Vec<(usize, f64)> {
        let sites = p.sites.iter().enumerate().map(|(i, s)| (x(i), fs(s)));
        sites
            .chain(p.connectors.iter().enumerate().map(|(j, c)| (y(j), fc(c))))
            .collect()
    };
    m.rows.push(Row {
        name: "budget".into(),
        terms: all(&|s| s.cost_yuan, &|c| c.cost_yuan),
        sense: Sense::Le,
        rhs: p.budget_yuan,
    });
    for (j, c) in p.connectors.iter().enumerate() {
        let gaps: BTreeSet<usize> = c.gap_sites.iter().copied().collect();
        for g in gaps {
            m.rows.push(Row {
                name: format!("gap_y{}_x{}", j + 1, g + 1),
                terms: vec![(y(j), 1.0), (x(g), -1.0)],
                sense: Sense::Le,
                rhs: 0.0,
            });
        }
    }
    for (i, s) in p.sites.iter().enumerate() {
        let fix = if forbidden(p, s) {
            Some(0.0)
        } else if s.lock == Lock::In {
            Some(1.0)
        } else {
            None
        };
        if let Some(v) = fix {
            m.rows.push(Row {
                name: format!("fixed_x{}", i + 1),
                terms: vec![(x(i), 1.0)],
                sense: Sense::Eq,
                rhs: v,
            });
        }
    }
    // A cap row over the sites that `member` picks (skipped when none is).
    let mut cap_row = |name: String,
                       what: String,
                       member: &dyn Fn(&Site) -> bool,
                       coef: &dyn Fn(&Site) -> f64,
                       cap: f64| {
        let terms: Vec<(usize, f64)> = p
            .sites
            .iter()
            .enumerate()
            .filter(|(_, s)| member(s))
            .map(|(i, s)| (x(i), coef(s)))
            .collect();
        if !terms.is_empty() {
            m.comments.push(format!("{name} = {what}"));
            m.rows.push(Row {
                name,
                terms,
                sense: Sense::Le,
                rhs: cap,
            });
        }
    };
    for (k, (z, &cap)) in p.zone_area_caps.iter().enumerate() {
        cap_row(
            format!("zone_cap_{}", k + 1),
            format!("zone {z}"),
            &|s| s.zones.contains(z),
            &|s| s.area_ha,
            cap,
        );
    }
    for (k, (d, &cap)) in p.district_budget_caps.iter().enumerate() {
        cap_row(
            format!("district_cap_{}", k + 1),
            format!("district {d}"),
            &|s| s.district.as_deref() == Some(d.as_str()),
            &|s| s.cost_yuan,
            cap,
        );
    }
    if let Some(min) = p.carbon_min {
        m.rows.push(Row {
            name: "carbon_min".into(),
            terms: all(&|s| s.carbon_tco2e, &|c| c.carbon_tco2e),
            sense: Sense::Ge,
            rhs: min,
        });
    }
    let pairs: BTreeSet<(usize, usize)> = p
        .exclusive
        .iter()
        .map(|&(a, b)| (a.min(b), a.max(b)))
        .collect();
    for (a, b) in pairs {
        m.rows.push(Row {
            name: format!("exclusive_x{}_x{}", a + 1, b + 1),
            terms: vec![(x(a), 1.0), (x(b), 1.0)],
            sense: Sense::Le,
            rhs: 1.0,
        });
    }
    if let Some(c) = &p.connect {
        add_flow(p, c, &mut m);
    }
    m
}

/// The single-commodity flow rows of the connected-network constraint.
fn add_flow(p: &Problem, c: &Connect, m: &mut LinearModel) {
    if c.patches.len() < 2 {
        return;
    }
    let k = (c.patches.len() - 1) as f64;
    let ns = p.sites.len();
    // Edges: (a, b, connector index or None for existing).
    let mut edges: Vec<(u32, u32, Option<usize>)> =
        c.existing.iter().map(|&(a, b)| (a, b, None)).collect();
    for (l, con) in p.connectors.iter().enumerate() {
        if let Some((a, b)) = con.ends {
            edges.push((a, b, Some(l)));
        }
    }
    // A loop joins nothing.
    edges.retain(|&(a, b, _)| a != b);
    let mut nodes: BTreeSet<u32> = c.patches.iter().copied().collect();
    for &(a, b, _) in &edges {
        nodes.insert(a);
        nodes.insert(b);
    }
    let mut balance: BTreeMap<u32, Vec<(usize, f64)>> =
        nodes.iter().map(|&v| (v, Vec::new())).collect();
    for (e, &(a, b, l)) in edges.iter().enumerate() {
        let fwd = m.names.len();
        m.flows.push((fwd, a, b, l));
        for (dir, (from, to)) in [(a, b), (b, a)].into_iter().enumerate() {
            let v = fwd + dir;
            m.names
                .push(format!("f{}", v - ns - p.connectors.len() + 1));
            m.binary.push(false);
            m.upper.push(k);
            m.objective.push(0.0);
            m.comments.push(format!(
                "f{} = flow from patch {from} to patch {to} over {}",
                v - ns - p.connectors.len() + 1,
                match l {
                    Some(l) => format!("connector {}", p.connectors[l].id),
                    None => format!("existing link {e}"),
                }
            ));
            balance.get_mut(&to).expect("node").push((v, 1.0));
            balance.get_mut(&from).expect("node").push((v, -1.0));
        }
        if let Some(l) = l {
            m.rows.push(Row {
                name: format!("flow_needs_y{}_{}", l + 1, e + 1),
                terms: vec![(fwd, 1.0), (fwd + 1, 1.0), (ns + l, -k)],
                sense: Sense::Le,
                rhs: 0.0,
            });
        }
    }
    let root = c.patches[0];
    let required: BTreeSet<u32> = c.patches[1..].iter().copied().collect();
    for (v, terms) in balance {
        let rhs = if v == root {
            -k
        } else if required.contains(&v) {
            1.0
        } else {
            0.0
        };
        m.rows.push(Row {
            name: format!("flow_patch_{v}"),
            terms,
            sense: Sense::Eq,
            rhs,
        });
    }
}

fn fmt_num(v: f64) -> String {
    // Shortest text that reads back to the same f64.
    format!("{v}")
}

impl LinearModel {
    fn term(&self, coef: f64, v: usize) -> String {
        format!(
            "{} {} {}",
            if coef < 0.0 { "-" } else { "+" },
            fmt_num(coef.abs()),
            self.names[v]
        )
    }

    /// CPLEX LP text (readable by HiGHS, CPLEX, Gurobi, SCIP, GLPK).
    pub fn to_lp(&self) -> String {
        let mut out = String::from("\\ ecocorridor restoration plan\n");
        for c in &self.comments {
            out.push_str(&format!("\\ {c}\n"));
        }
        let obj: Vec<String> = self
            .objective
            .iter()
            .enumerate()
            .map(|(v, &c)| self.term(c, v))
            .collect();
        out.push_str(&format!("Maximize\n obj: {}\nSubject To\n", obj.join(" ")));
        for r in &self.rows {
            let t: Vec<String> = r.terms.iter().map(|&(v, c)| self.term(c, v)).collect();
            let sense = match r.sense {
                Sense::Le => "<=",
                Sense::Ge => ">=",
                Sense::Eq => "=",
            };
            out.push_str(&format!(
                " {}: {} {sense} {}\n",
                r.name,
                t.join(" "),
                fmt_num(r.rhs)
            ));
        }
        let cont: Vec<usize> = (0..self.names.len()).filter(|&v| !self.binary[v]).collect();
        if !cont.is_empty() {
            out.push_str("Bounds\n");
            for v in cont {
                out.push_str(&format!(
                    " 0 <= {} <= {}\n",
                    self.names[v],
                    fmt_num(self.upper[v])
                ));
            }
        }
        let bins: Vec<&str> = (0..self.names.len())
            .filter(|&v| self.binary[v])
            .map(|v| self.names[v].as_str())
            .collect();
        out.push_str(&format!("Binaries\n {}\nEnd\n", bins.join(" ")));
        out
    }

    /// Free MPS text with an `OBJSENSE MAX` section (HiGHS, CPLEX, Gurobi, SCIP read it).
    pub fn to_mps(&self) -> String {
        let mut out = String::from("NAME ecocorridor\nOBJSENSE\n    MAX\nROWS\n N obj\n");
        for r in &self.rows {
            let s = match r.sense {
                Sense::Le => "L",
                Sense::Ge => "G",
                Sense::Eq => "E",
            };
            out.push_str(&format!(" {s} {}\n", r.name));
        }
        // Column-wise coefficients.
        let mut cols: Vec<Vec<(usize, f64)>> = vec![Vec::new(); self.names.len()];
        for (k, r) in self.rows.iter().enumerate() {
            for &(v, c) in &r.terms {
                cols[v].push((k, c));
            }
        }
        out.push_str("COLUMNS\n");
        let mut in_int = false;
        for (v, entries) in cols.iter().enumerate() {
            if self.binary[v] != in_int {
                out.push_str(if self.binary[v] {
                    "    MARKER 'MARKER' 'INTORG'\n"
                } else {
                    "    MARKER 'MARKER' 'INTEND'\n"
                });
                in_int = self.binary[v];
            }
            out.push_str(&format!(
                "    {} obj {}\n",
                self.names[v],
                fmt_num(self.objective[v])
            ));
            for &(k, c) in entries {
                out.push_str(&format!(
                    "    {} {} {}\n",
                    self.names[v],
                    self.rows[k].name,
                    fmt_num(c)
                ));
            }
        }
        if in_int {
            out.push_str("    MARKER 'MARKER' 'INTEND'\n");
        }
        out.push_str("RHS\n");
        for r in &self.rows {
            if r.rhs != 0.0 {
                out.push_str(&format!("    RHS {} {}\n", r.name, fmt_num(r.rhs)));
            }
        }
        out.push_str("BOUNDS\n");
        for v in 0..self.names.len() {
            if self.binary[v] {
                out.push_str(&format!(" BV BND {}\n", self.names[v]));
            } else {
                out.push_str(&format!(
                    " UP BND {} {}\n",
                    self.names[v],
                    fmt_num(self.upper[v])
                ));
            }
        }
        out.push_str("ENDATA\n");
        out
    }
}

/// The model in CPLEX LP format (see [`LinearModel::to_lp`]).
pub fn to_lp(p: &Problem) -> String {
    linear_model(p).to_lp()
}

/// The model in free MPS format (see [`LinearModel::to_mps`]).
pub fn to_mps(p: &Problem) -> String {
    linear_model(p).to_mps()
}

/// Above this many variables HiGHS' presolve is off unless asked for (see [`solve`]).
pub const PRESOLVE_MAX_BINARIES: usize = 5_000;

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
    let m = linear_model(p);
    let mut vars = ProblemVariables::new();
    let v: Vec<Variable> = (0..m.names.len())
        .map(|k| {
            if m.binary[k] {
                vars.add(variable().binary())
            } else {
                vars.add(variable().min(0.0).max(m.upper[k]))
            }
        })
        .collect();
    let obj: Expression = m
        .objective
        .iter()
        .zip(&v)
        .filter(|(&c, _)| c != 0.0)
        .map(|(&c, &x)| c * x)
        .sum();
    let mut model = vars.maximise(obj).using(highs);
    for r in &m.rows {
        let e: Expression = r.terms.iter().map(|&(k, c)| c * v[k]).sum();
        model = model.with(match r.sense {
            Sense::Le => e.leq(r.rhs),
            Sense::Ge => e.geq(r.rhs),
            Sense::Eq => e.eq(r.rhs),
        });
    }
    let mut inner = model
        .try_into_inner()
        .map_err(|e| OptimizeError::Solver(e.to_string()))?;
    if opts.log && cfg!(unix) {
        // The log to stderr (stdout stays for data).
        inner.set_option("output_flag", true);
        inner.set_option("log_to_console", false);
        inner.set_option("log_file", "/dev/stderr");
    } else {
        inner.make_quiet();
    }
    // HiGHS' presolve (1.11) spends O(n²) in singleton-column stuffing on the dense budget row:
    // 15 s for 20,000 sites, where the whole solve without it takes 0.6 s to a 4e-6 gap. But
    // without presolve the branch and bound of the demo (614 sites) ran for minutes where it
    // takes 0.02 s with it. So: presolve unless the model is large, and always with flow rows.
    let presolve = opts
        .presolve
        .unwrap_or(!m.flows.is_empty() || m.names.len() <= PRESOLVE_MAX_BINARIES);
    inner.set_option("presolve", if presolve { "on" } else { "off" });
    // Without presolve, the greedy plan is handed over as the starting incumbent (HiGHS checks
    // it). Not with presolve: HiGHS 1.11 then once returned the start as "optimal" while a
    // better plan existed (found by the enumeration property test).
    if !presolve {
        if let Some(g) = greedy(p) {
            let start = start_values(p, &m, &g);
            // Rows are computed by HiGHS when not given.
            let _ = inner.try_set_solution(Some(&start), None, None, None);
        }
    }
    if let Some(t) = opts.time_limit_s {
        inner.set_option("time_limit", t);
    }
    if let Some(g) = opts.mip_rel_gap {
        inner.set_option("mip_rel_gap", g);
    }
    if let Some(t) = opts.threads {
        inner.set_option("threads", t as i32);
    }
    let solved = inner
        .try_solve()
        .map_err(|e| OptimizeError::Solver(format!("{e:?}")))?;
    let status = status_of(solved.status())?;
    if solved.primal_solution_status() != highs::HighsSolutionStatus::Feasible {
        return Err(OptimizeError::Solver(
            "no feasible plan was found within the time limit; allow more time".into(),
        ));
    }
    let cols = solved.get_solution().columns().to_vec();
    let ns = p.sites.len();
    let sites: Vec<bool> = (0..ns).map(|i| cols[i] > 0.5).collect();
    let connectors: Vec<bool> = (0..p.connectors.len())
        .map(|j| cols[ns + j] > 0.5)
        .collect();
    let bound = solved
        .double_info_value(c"mip_dual_bound")
        .unwrap_or(f64::NAN);
    Ok(plan(p, status, sites, connectors, bound))
}

/// How a HiGHS solve ended, as a [`Status`] (each limit named as such) or why there is no
/// plan.
fn status_of(model_status: highs::HighsModelStatus) -> Result<Status, OptimizeError> {
    use highs::HighsModelStatus as H;
    Ok(match model_status {
        H::Optimal => Status::Optimal,
        H::ReachedTimeLimit => Status::TimeLimit,
        H::ReachedIterationLimit => Status::IterationLimit,
        H::ReachedInterrupt => Status::Interrupted,
        H::ReachedSolutionLimit => Status::SolutionLimit,
        H::ReachedMemoryLimit => Status::MemoryLimit,
        H::Infeasible | H::UnboundedOrInfeasible => {
            return Err(OptimizeError::Infeasible(
                "the budget, the connector gap-site links, the locked and forbidden sites, the zone and district caps, the exclusions, the connected network and the minimum carbon cannot all hold together\n  hint: relax the minimum carbon or the caps, or raise the budget".into(),
            ))
        }
        other => return Err(OptimizeError::Solver(format!("HiGHS ended with status {other:?}"))),
    })
}

/// Column values of a plan: its binaries and, for the connected-network constraint, one unit
/// of flow from the first required patch to every other one along a BFS tree of the existing
/// links and chosen connectors.
fn start_values(p: &Problem, m: &LinearModel, plan: &Plan) -> Vec<f64> {
    let mut v = vec![0.0; m.names.len()];
    for (i, &x) in plan.sites.iter().enumerate() {
        v[i] = f64::from(u8::from(x));
    }
    for (j, &y) in plan.connectors.iter().enumerate() {
        v[p.sites.len() + j] = f64::from(u8::from(y));
    }
    let Some(c) = &p.connect else { return v };
    if m.flows.is_empty() {
        return v;
    }
    // node -> (neighbour, flow variable for node -> neighbour)
    let mut adj: BTreeMap<u32, Vec<(u32, usize)>> = BTreeMap::new();
    for &(fwd, a, b, l) in &m.flows {
        if l.is_none_or(|l| plan.connectors[l]) {
            adj.entry(a).or_default().push((b, fwd));
            adj.entry(b).or_default().push((a, fwd + 1));
        }
    }
    let root = c.patches[0];
    let mut parent: BTreeMap<u32, (u32, usize)> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([root]);
    let mut seen = BTreeSet::from([root]);
    while let Some(u) = queue.pop_front() {
        for &(w, var) in adj.get(&u).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(w) {
                parent.insert(w, (u, var));
                queue.push_back(w);
            }
        }
    }
    for &t in &c.patches[1..] {
        let mut x = t;
        while let Some(&(u, var)) = parent.get(&x) {
            v[var] += 1.0;
            x = u;
        }
    }
    v
}

fn plan(p: &Problem, status: Status, sites: Vec<bool>, connectors: Vec<bool>, bound: f64) -> Plan {
    let objective = objective(p, &sites, &connectors) + 0.0;
    // A bound below the objective (HiGHS#2154 when presolve solves the model) means optimal.
    let bound = if bound.is_finite() && bound >= objective {
        bound + 0.0
    } else {
        objective
    };
    let gap = if objective.abs() > 0.0 {
        (bound - objective) / objective.abs()
    } else {
        0.0
    };
    // `+ 0.0`: an empty float sum is -0, which would print as "-0 yuan".
    let spent_yuan = sum_selected(&p.sites, &sites, |s| s.cost_yuan)
        + sum_selected(&p.connectors, &connectors, |c| c.cost_yuan)
        + 0.0;
    let carbon_tco2e = sum_selected(&p.sites, &sites, |s| s.carbon_tco2e)
        + sum_selected(&p.connectors, &connectors, |c| c.carbon_tco2e)
        + 0.0;
    let benefit = sum_selected(&p.sites, &sites, |s| s.benefit)
        + sum_selected(&p.connectors, &connectors, |c| c.benefit)
        + 0.0;
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

/// Greedy baseline: locked-in sites first; with a connected-network requirement, the cheapest
/// connector paths that join the required patches (shortest-path Steiner heuristic); then
/// candidates by objective value per yuan (a connector together with its missing gap sites),
/// adding each that keeps the plan feasible. `None` when it finds no feasible plan.
///
/// # Complexity
/// O(n log n) for the sort plus O(size of each addition) per candidate: budget, caps and
/// exclusions are tracked incrementally.
pub fn greedy(p: &Problem) -> Option<Plan> {
    let mut sites: Vec<bool> = p
        .sites
        .iter()
        .map(|s| s.lock == Lock::In && !forbidden(p, s))
        .collect();
    let mut connectors = vec![false; p.connectors.len()];
    let usable = |l: usize| {
        p.connectors[l]
            .gap_sites
            .iter()
            .all(|&g| !forbidden(p, &p.sites[g]))
    };
    if let Some(c) = &p.connect {
        steiner(p, c, &usable, &mut sites, &mut connectors);
    }
    if !feasible_except_carbon(p, &sites, &connectors) {
        return None;
    }
    let mut state = Tally::new(p, &sites, &connectors);
    let (gn, bn) = norms(p);
    let value = |g: f64, b: f64| p.w_carbon * g / gn + p.w_benefit * b / bn;
    // (ratio, is_connector, index)
    let mut cands: Vec<(f64, bool, usize)> = Vec::new();
    for (i, s) in p.sites.iter().enumerate() {
        if !forbidden(p, s) && !sites[i] {
            cands.push((
                value(s.carbon_tco2e, s.benefit) / s.cost_yuan.max(1e-9),
                false,
                i,
            ));
        }
    }
    for (i, c) in p.connectors.iter().enumerate() {
        if !usable(i) || connectors[i] {
            continue;
        }
        let (mut v, mut cost) = (value(c.carbon_tco2e, c.benefit), c.cost_yuan);
        for &g in &c.gap_sites {
            v += value(p.sites[g].carbon_tco2e, p.sites[g].benefit);
            cost += p.sites[g].cost_yuan;
        }
        cands.push((v / cost.max(1e-9), true, i));
    }
    cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut add: Vec<usize> = Vec::new();
    for &(ratio, is_conn, i) in &cands {
        if ratio <= 0.0 {
            break;
        }
        add.clear();
        if is_conn {
            if connectors[i] {
                continue;
            }
            add.extend(
                p.connectors[i]
                    .gap_sites
                    .iter()
                    .copied()
                    .filter(|&g| !sites[g]),
            );
            if state.try_add(p, &mut sites, &add, p.connectors[i].cost_yuan) {
                connectors[i] = true;
            }
        } else if !sites[i] {
            add.push(i);
            state.try_add(p, &mut sites, &add, 0.0);
        }
    }
    feasible(p, &sites, &connectors)
        .then(|| plan(p, Status::Heuristic, sites, connectors, f64::NAN))
}

/// Running totals of a selection: spending, area per capped zone, cost per capped district,
/// and each site's exclusive partners.
struct Tally {
    spent: f64,
    zone_area: Vec<f64>,
    zone_cap: Vec<f64>,
    site_zones: Vec<Vec<usize>>,
    district_cost: Vec<f64>,
    district_cap: Vec<f64>,
    site_district: Vec<Option<usize>>,
    partners: Vec<Vec<usize>>,
}

impl Tally {
    fn new(p: &Problem, sites: &[bool], connectors: &[bool]) -> Tally {
        let zones: Vec<&String> = p.zone_area_caps.keys().collect();
        let districts: Vec<&String> = p.district_budget_caps.keys().collect();
        let site_zones: Vec<Vec<usize>> = p
            .sites
            .iter()
            .map(|s| {
                zones
                    .iter()
                    .enumerate()
                    .filter(|(_, z)| s.zones.contains(z))
                    .map(|(k, _)| k)
                    .collect()
            })
            .collect();
        let site_district: Vec<Option<usize>> = p
            .sites
            .iter()
            .map(|s| {
                s.district
                    .as_ref()
                    .and_then(|d| districts.iter().position(|x| *x == d))
            })
            .collect();
        let mut partners = vec![Vec::new(); p.sites.len()];
        for &(a, b) in &p.exclusive {
            partners[a].push(b);
            partners[b].push(a);
        }
        let mut t = Tally {
            spent: sum_selected(&p.connectors, connectors, |c| c.cost_yuan),
            zone_area: vec![0.0; zones.len()],
            zone_cap: p.zone_area_caps.values().copied().collect(),
            site_zones,
            district_cost: vec![0.0; districts.len()],
            district_cap: p.district_budget_caps.values().copied().collect(),
            site_district,
            partners,
        };
        for (i, &x) in sites.iter().enumerate() {
            if x {
                t.apply(p, i, 1.0);
            }
        }
        t
    }

    fn apply(&mut self, p: &Problem, i: usize, sign: f64) {
        let s = &p.sites[i];
        self.spent += sign * s.cost_yuan;
        for &z in &self.site_zones[i] {
            self.zone_area[z] += sign * s.area_ha;
        }
        if let Some(d) = self.site_district[i] {
            self.district_cost[d] += sign * s.cost_yuan;
        }
    }

    /// Adds the sites `add` (not selected yet) plus `extra` yuan when every constraint still
    /// holds; otherwise leaves everything as it was.
    fn try_add(&mut self, p: &Problem, sites: &mut [bool], add: &[usize], extra: f64) -> bool {
        let over = |v: f64, cap: f64| v > cap * (1.0 + EPS) + EPS;
        if add.iter().any(|&i| {
            self.partners[i]
                .iter()
                .any(|&j| sites[j] || (add.contains(&j) && j != i))
        }) {
            return false;
        }
        for &i in add {
            self.apply(p, i, 1.0);
        }
        self.spent += extra;
        let ok = !over(self.spent, p.budget_yuan)
            && !self
                .zone_area
                .iter()
                .zip(&self.zone_cap)
                .any(|(&a, &c)| over(a, c))
            && !self
                .district_cost
                .iter()
                .zip(&self.district_cap)
                .any(|(&a, &c)| over(a, c));
        if ok {
            for &i in add {
                sites[i] = true;
            }
        } else {
            for &i in add {
                self.apply(p, i, -1.0);
            }
            self.spent -= extra;
        }
        ok
    }
}

/// Adds, from the component of the first required patch, the cheapest connector path to the
/// nearest patch not yet joined, until all are joined (costs of gap sites not yet chosen
/// included).
fn steiner(
    p: &Problem,
    c: &Connect,
    usable: &dyn Fn(usize) -> bool,
    sites: &mut [bool],
    connectors: &mut [bool],
) {
    let mut adj: BTreeMap<u32, Vec<(u32, Option<usize>)>> = BTreeMap::new();
    for &(a, b) in &c.existing {
        adj.entry(a).or_default().push((b, None));
        adj.entry(b).or_default().push((a, None));
    }
    for (l, k) in p.connectors.iter().enumerate() {
        if let (Some((a, b)), true) = (k.ends, usable(l)) {
            adj.entry(a).or_default().push((b, Some(l)));
            adj.entry(b).or_default().push((a, Some(l)));
        }
    }
    let Some(&root) = c.patches.first() else {
        return;
    };
    loop {
        // Multi-source Dijkstra from every patch already joined to the root.
        let joined: BTreeSet<u32> = {
            let mut seen = BTreeSet::from([root]);
            let mut stack = vec![root];
            while let Some(v) = stack.pop() {
                for &(w, l) in adj.get(&v).map(Vec::as_slice).unwrap_or(&[]) {
                    if l.is_none_or(|l| connectors[l]) && seen.insert(w) {
                        stack.push(w);
                    }
                }
            }
            seen
        };
        let Some(_) = c.patches.iter().find(|v| !joined.contains(v)) else {
            return;
        };
        let mut dist: BTreeMap<u32, f64> = joined.iter().map(|&v| (v, 0.0)).collect();
        let mut prev: BTreeMap<u32, (u32, Option<usize>)> = BTreeMap::new();
        let mut heap: BinaryHeap<(std::cmp::Reverse<u64>, u32)> =
            joined.iter().map(|&v| (std::cmp::Reverse(0), v)).collect();
        let mut target = None;
        while let Some((std::cmp::Reverse(bits), v)) = heap.pop() {
            let d = f64::from_bits(bits);
            if d > dist[&v] {
                continue;
            }
            if !joined.contains(&v) && c.patches.contains(&v) {
                target = Some(v);
                break;
            }
            for &(w, l) in adj.get(&v).map(Vec::as_slice).unwrap_or(&[]) {
                let step = match l {
                    None => 0.0,
                    Some(l) if connectors[l] => 0.0,
                    Some(l) => {
                        p.connectors[l].cost_yuan
                            + p.connectors[l]
                                .gap_sites
                                .iter()
                                .filter(|&&g| !sites[g])
                                .map(|&g| p.sites[g].cost_yuan)
                                .sum::<f64>()
                    }
                };
                let nd = d + step;
                if nd < *dist.get(&w).unwrap_or(&f64::INFINITY) {
                    dist.insert(w, nd);
                    prev.insert(w, (v, l));
                    heap.push((std::cmp::Reverse(nd.to_bits()), w));
                }
            }
        }
        let Some(mut v) = target else {
            return;
        };
        // Back to the joined component (whose patches have no predecessor).
        while let Some(&(u, l)) = prev.get(&v) {
            if let Some(l) = l {
                connectors[l] = true;
                for &g in &p.connectors[l].gap_sites {
                    sites[g] = true;
                }
            }
            v = u;
        }
    }
}

/// One point of a trade-off sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    /// Budget, yuan.
    pub budget_yuan: f64,
    /// Weight of carbon.
    pub w_carbon: f64,
    /// Weight of connectivity.
    pub w_benefit: f64,
    /// Minimum carbon (ε-constraint), t CO2e.
    pub carbon_min: Option<f64>,
}

/// Solves the problem at every sweep point, in parallel (one single-threaded HiGHS each).
/// Results come back in the order of the points.
pub fn sweep(
    p: &Problem,
    points: &[SweepPoint],
    opts: &SolveOptions,
) -> Vec<Result<Plan, OptimizeError>> {
    // One thread per solve, and no interleaved solver logs.
    let one = SolveOptions {
        threads: Some(1),
        log: false,
        ..*opts
    };
    points
        .par_iter()
        .map(|pt| {
            let q = Problem {
                budget_yuan: pt.budget_yuan,
                w_carbon: pt.w_carbon,
                w_benefit: pt.w_benefit,
                carbon_min: pt.carbon_min.or(p.carbon_min),
                ..p.clone()
            };
            solve(&q, &one)
        })
        .collect()
}

/// Which feasible plans are on the Pareto frontier of (cost ↓, carbon ↑, benefit ↑): not
/// dominated by another plan at least as good in all three and better in one.
pub fn pareto(plans: &[Option<&Plan>]) -> Vec<bool> {
    let key = |p: &Plan| (p.spent_yuan, p.carbon_tco2e, p.benefit);
    plans
        .iter()
        .map(|a| {
            let Some(a) = a else { return false };
            let (ca, ga, ba) = key(a);
            !plans.iter().flatten().any(|b| {
                let (cb, gb, bb) = key(b);
                cb <= ca && gb >= ga && bb >= ba && (cb < ca || gb > ga || bb > ba)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_highs_limit_is_named_as_such_never_as_the_time_limit() {
        use highs::HighsModelStatus as H;
        let cases = [
            (H::ReachedTimeLimit, "feasible at time limit"),
            (H::ReachedIterationLimit, "feasible at iteration limit"),
            (H::ReachedInterrupt, "feasible when interrupted"),
            (H::ReachedSolutionLimit, "feasible at solution limit"),
            (H::ReachedMemoryLimit, "feasible at memory limit"),
            (H::Optimal, "optimal"),
        ];
        for (h, want) in cases {
            assert_eq!(status_of(h).unwrap().as_str(), want, "{h:?}");
        }
        assert!(matches!(
            status_of(H::Infeasible),
            Err(OptimizeError::Infeasible(_))
        ));
    }

    #[test]
    fn an_empty_plan_spends_plus_zero() {
        let p = Problem {
            sites: vec![Site {
                id: "1".into(),
                cost_yuan: 10.0,
                area_ha: 1.0,
                carbon_tco2e: 1.0,
                benefit: 0.0,
                zones: vec![],
                district: None,
                lock: Lock::Free,
            }],
            budget_yuan: 0.0,
            ..Default::default()
        };
        let pl = plan(&p, Status::Optimal, vec![false], vec![], 0.0);
        assert!(pl.spent_yuan.is_sign_positive() && pl.spent_yuan == 0.0);
        assert!(pl.carbon_tco2e.is_sign_positive());
        assert_eq!(
            format!("{:.0} {:.1}", pl.spent_yuan, pl.carbon_tco2e),
            "0 0.0"
        );
        // HiGHS reports a bound of -0 on such a model.
        let pl = plan(&p, Status::Optimal, vec![false], vec![], -0.0);
        assert_eq!(
            format!("{:.4} {:.4}", pl.objective, pl.bound),
            "0.0000 0.0000"
        );
    }
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
            ends: None,
        });
        let lp = to_lp(&p);
        for line in [
            "Maximize",
            " obj: + 0.5 x1 + 0.5 x2 + 0 y1",
            " budget: + 5 x1 + 3 x2 + 1 y1 <= 6",
            " gap_y1_x1: + 1 y1 - 1 x1 <= 0",
            " fixed_x2: + 1 x2 = 0",
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
            ends: None,
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

    /// Reads a model file with HiGHS' own reader, solves it and returns the objective.
    fn highs_solves_file(path: &std::path::Path) -> f64 {
        use std::ffi::CString;
        let name = CString::new(path.to_str().unwrap()).unwrap();
        let flag = CString::new("output_flag").unwrap();
        // SAFETY: a fresh HiGHS instance, used and destroyed here; strings outlive the calls.
        unsafe {
            let h = highs_sys::Highs_create();
            highs_sys::Highs_setBoolOptionValue(
                h,
                flag.as_ptr(),
                std::env::var("HIGHS_LOG").is_ok() as i32,
            );
            let gap = CString::new("mip_rel_gap").unwrap();
            highs_sys::Highs_setDoubleOptionValue(h, gap.as_ptr(), 0.0);
            // 0 ok, 1 warning (e.g. repeated terms), -1 error: the files must read cleanly.
            let st = highs_sys::Highs_readModel(h, name.as_ptr());
            assert_eq!(st, 0, "HiGHS reads {path:?} with warnings or errors");
            highs_sys::Highs_run(h);
            let v = highs_sys::Highs_getObjectiveValue(h);
            highs_sys::Highs_destroy(h);
            v
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// The LP and MPS files are the solved model: HiGHS reading either file finds the same
        /// optimum as the solve.
        #[test]
        fn written_models_solve_to_the_same_optimum(p in arb_problem()) {
            let exact = SolveOptions { mip_rel_gap: Some(0.0), ..Default::default() };
            let Ok(plan) = solve(&p, &exact) else { return Ok(()) };
            let dir = tempfile::tempdir().unwrap();
            for (name, text) in [("m.lp", to_lp(&p)), ("m.mps", to_mps(&p))] {
                let path = dir.path().join(name);
                std::fs::write(&path, text).unwrap();
                let v = highs_solves_file(&path);
                prop_assert!((v - plan.objective).abs() <= 1e-6 * plan.objective.abs().max(1.0), "{name}: {v} vs {}", plan.objective);
            }
        }
    }

    #[test]
    fn a_required_network_buys_the_cheapest_connectors() {
        // Patches 1-2-3 in a line: connector a (1-2) and b (2-3) are needed to join 1 and 3;
        // c (1-3 directly) costs more than a + b. No benefit at all, so only the constraint
        // makes the solver buy anything.
        let mk = |id: &str, cost: f64, ends: (u32, u32)| Connector {
            id: id.into(),
            cost_yuan: cost,
            carbon_tco2e: 0.0,
            benefit: 0.0,
            gap_sites: vec![],
            ends: Some(ends),
        };
        let mut p = Problem {
            sites: vec![site("s", 1.0, 1.0)],
            connectors: vec![
                mk("a", 3.0, (1, 2)),
                mk("b", 4.0, (2, 3)),
                mk("c", 9.0, (1, 3)),
            ],
            budget_yuan: 8.0,
            w_carbon: 1.0,
            connect: Some(Connect {
                patches: vec![1, 3],
                existing: vec![],
            }),
            ..Default::default()
        };
        let plan = solve(&p, &SolveOptions::default()).unwrap();
        assert_eq!(plan.connectors, vec![true, true, false]);
        assert_eq!(plan.sites, vec![true]);
        let g = greedy(&p).unwrap();
        assert_eq!(g.connectors, vec![true, true, false]);
        // An existing 2-3 link makes b unnecessary (and the budget no longer covers it).
        p.connect.as_mut().unwrap().existing.push((2, 3));
        p.budget_yuan = 4.5;
        let plan = solve(&p, &SolveOptions::default()).unwrap();
        assert_eq!(plan.connectors, vec![true, false, false]);
        // Budget below the cheapest joining: infeasible; a patch no connector reaches: named.
        p.budget_yuan = 2.0;
        assert!(matches!(
            solve(&p, &SolveOptions::default()),
            Err(OptimizeError::Infeasible(_))
        ));
        p.connect.as_mut().unwrap().patches.push(7);
        let e = solve(&p, &SolveOptions::default()).unwrap_err().to_string();
        assert!(e.contains("patch(es) 7 cannot be joined to patch 1"), "{e}");
    }

    #[test]
    fn exclusive_sites_are_never_both_chosen() {
        let mut p = Problem {
            sites: vec![
                site("a", 1.0, 5.0),
                site("b", 1.0, 4.0),
                site("c", 1.0, 1.0),
            ],
            budget_yuan: 10.0,
            w_carbon: 1.0,
            exclusive: vec![(0, 1)],
            ..Default::default()
        };
        let plan = solve(&p, &SolveOptions::default()).unwrap();
        assert_eq!(plan.sites, vec![true, false, true]);
        p.sites[0].lock = Lock::In;
        p.sites[1].lock = Lock::In;
        assert!(solve(&p, &SolveOptions::default())
            .unwrap_err()
            .to_string()
            .contains("sites a and b are both locked in but exclude each other"));
    }

    #[test]
    fn sweeps_are_monotone_in_the_budget_and_mark_the_frontier() {
        let p = Problem {
            sites: (0..12)
                .map(|i| {
                    let mut s = site(
                        &format!("s{i}"),
                        1.0 + (i * 7 % 5) as f64,
                        1.0 + (i * 3 % 7) as f64,
                    );
                    s.benefit = (i % 4) as f64;
                    s
                })
                .collect(),
            budget_yuan: 10.0,
            w_carbon: 0.5,
            w_benefit: 0.5,
            ..Default::default()
        };
        let points: Vec<SweepPoint> = [0.0, 3.0, 6.0, 9.0, 15.0, 30.0, 60.0]
            .iter()
            .map(|&b| SweepPoint {
                budget_yuan: b,
                w_carbon: 0.5,
                w_benefit: 0.5,
                carbon_min: None,
            })
            .collect();
        let results = sweep(&p, &points, &SolveOptions::default());
        let objs: Vec<f64> = results
            .iter()
            .map(|r| r.as_ref().unwrap().objective)
            .collect();
        assert!(objs.windows(2).all(|w| w[1] >= w[0] - 1e-9), "{objs:?}");
        // Each point equals its own single solve.
        for (pt, r) in points.iter().zip(&results) {
            let q = Problem {
                budget_yuan: pt.budget_yuan,
                ..p.clone()
            };
            let one = solve(&q, &SolveOptions::default()).unwrap();
            assert!((one.objective - r.as_ref().unwrap().objective).abs() < 1e-9);
        }
        let plans: Vec<Option<&Plan>> = results.iter().map(|r| r.as_ref().ok()).collect();
        let front = pareto(&plans);
        // The budget-0 plan spends nothing and gains nothing: still not dominated (cheapest).
        assert!(front[0]);
        // Once every site is bought, larger budgets give the same plan: equal, so not dominated.
        assert!(front[6]);
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
            1..11,
        );
        let conns = proptest::collection::vec(
            (
                0.0f64..10.0,
                0.0f64..5.0,
                0.0f64..8.0,
                proptest::collection::vec(0usize..11, 0..3),
                (1u32..5, 1u32..5),
            ),
            0..6,
        );
        let extra = (
            proptest::collection::vec((0usize..11, 0usize..11), 0..3),
            proptest::option::of((
                proptest::collection::btree_set(1u32..5, 2..4),
                proptest::collection::vec((1u32..5, 1u32..5), 0..4),
            )),
        );
        (
            sites,
            conns,
            0.0f64..60.0,
            0.0f64..1.0,
            proptest::option::of(0.0f64..15.0),
            proptest::option::of(1.0f64..6.0),
            extra,
        )
            .prop_filter("at most 16 binaries", |(s, c, ..)| s.len() + c.len() <= 16)
            .prop_map(|(sites, conns, budget, w, cmin, cap, (excl, connect))| {
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
                    .map(|(i, (cost, carbon, benefit, gaps, ends))| {
                        let mut g: Vec<usize> = gaps.into_iter().map(|x| x % n).collect();
                        g.sort_unstable();
                        g.dedup();
                        Connector {
                            id: format!("c{i}"),
                            cost_yuan: cost,
                            carbon_tco2e: carbon,
                            benefit,
                            gap_sites: g,
                            ends: Some(ends),
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
                    exclusive: excl
                        .into_iter()
                        .map(|(a, b)| (a % n, b % n))
                        .filter(|(a, b)| a != b)
                        .collect(),
                    connect: connect.map(|(patches, existing)| Connect {
                        patches: patches.into_iter().collect(),
                        existing,
                    }),
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
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
            // Proven optimal to a zero gap (the default 1e-4 could stop short), with presolve
            // (small models) and without it (large models, where greedy is the start).
            let exact = SolveOptions { mip_rel_gap: Some(0.0), ..Default::default() };
            if let (Ok(a), Ok(b)) = (solve(&p, &exact), solve(&p, &SolveOptions { presolve: Some(false), ..exact })) {
                prop_assert!((a.objective - b.objective).abs() <= 1e-6 * a.objective.abs().max(1.0), "presolve {} vs without {}", a.objective, b.objective);
            }
            match (solve(&p, &exact), best) {
                (Ok(plan), Some(b)) => {
                    prop_assert!(feasible(&p, &plan.sites, &plan.connectors), "the plan breaks a constraint");
                    prop_assert!((plan.objective - b).abs() <= 1e-6 * b.abs().max(1.0), "MILP {} vs enumeration {}", plan.objective, b);
                    prop_assert!(plan.bound >= plan.objective - 1e-9);
                    if let Some(g) = greedy(&p) {
                        prop_assert!(feasible(&p, &g.sites, &g.connectors), "greedy broke a constraint");
                        prop_assert!(g.objective <= plan.objective + 1e-9);
                    }
                }
                (Err(OptimizeError::Infeasible(_)), None) => {}
                (r, b) => prop_assert!(false, "solver {:?} but enumeration best {:?}", r.map(|p| p.objective), b),
            }
        }
    }
}
