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
//! Files: this one holds the problem, plan and error types, the objective and the feasibility
//! test; `diagnosis` the input checks and the infeasibilities shown without solving; `model`
//! the linear program; `export` its LP and MPS text; `solver` the HiGHS solve; `greedy` the
//! baseline; `sweep` the trade-off sweeps and the Pareto frontier.
//!
//! The model is built once as a plain linear program ([`LinearModel`]) that is both handed to
//! the solver and written as CPLEX LP or free MPS, so the exported file is the solved model.

use std::collections::{BTreeMap, BTreeSet};

mod diagnosis;
mod exact;
mod export;
mod greedy;
mod links;
mod model;
mod solver;
mod sweep;

pub use exact::ExactPc;
pub use export::{to_lp, to_mps};
pub use greedy::greedy;
pub use model::{linear_model, LinearModel, Row, Sense};
pub use solver::{solve, DEFAULT_MIP_GAP, PRESOLVE_MAX_BINARIES};
pub use sweep::{pareto, sweep, SweepPoint};

use diagnosis::check;
use solver::plan;

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

/// Park access in the objective, a maximal-covering term: groups of residents not within the
/// walk of a park today, each brought within it by any one of a set of sites (sites that
/// become parks). In the MILP a continuous `z_g ≤ Σ_{s ∈ S_g} x_s`, `z_g ≤ 1` per group:
/// with the `x` integral, `z_g` is 1 exactly when a covering site is chosen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Coverage {
    /// Per group: its residents (persons) and the sites (indices) that each bring them within
    /// the walk.
    pub groups: Vec<(f64, Vec<usize>)>,
    /// Weight of the term; it is normalised by the residents of all groups, so it lies in
    /// [0, 1] as the carbon and connectivity terms do.
    pub weight: f64,
    /// Residents the plan must bring within the walk (`[optimize] min_access_pct`), if any.
    pub min_persons: Option<f64>,
}

impl Coverage {
    /// Residents a selection brings within the walk (the model's estimate), persons.
    pub fn persons(&self, sites: &[bool]) -> f64 {
        self.groups
            .iter()
            .filter(|(_, by)| by.iter().any(|&s| sites.get(s).copied().unwrap_or(false)))
            .map(|(n, _)| n)
            .sum::<f64>()
            + 0.0
    }

    /// The term's normaliser: the residents of all groups (1 when none).
    pub fn norm(&self) -> f64 {
        let t: f64 = self.groups.iter().map(|g| g.0).sum();
        if t > 0.0 {
            t
        } else {
            1.0
        }
    }
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
    /// The connectivity term's normaliser when it must stay that of another problem (a
    /// refinement round revalues the candidates but keeps the first round's scale); None:
    /// the total benefit of the candidates.
    pub benefit_norm: Option<f64>,
    /// Exact mode: the connectivity term is the true PC of the improved patch network
    /// (a generalized-flow formulation, see [`ExactPc`]) instead of the candidates' benefits.
    pub exact: Option<ExactPc>,
    /// Park access: residents a chosen park site brings within the walk (see [`Coverage`]).
    pub coverage: Option<Coverage>,
}

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// Residents the plan's parks bring within the walk, by the covering term (0 without it).
    pub access_persons: f64,
}

/// Solver options.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SolveOptions {
    /// Time limit, s.
    pub time_limit_s: Option<f64>,
    /// Relative MIP gap to stop at (None: [`DEFAULT_MIP_GAP`], 0.1 %).
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
    let b = p.benefit_norm.unwrap_or(b);
    (if g > 0.0 { g } else { 1.0 }, if b > 0.0 { b } else { 1.0 })
}

/// The normalisers of the objective's carbon (t CO2e) and connectivity terms: the totals over
/// all candidates (1 when zero), or [`Problem::benefit_norm`].
pub fn normalisers(p: &Problem) -> (f64, f64) {
    norms(p)
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
    let access = p
        .coverage
        .as_ref()
        .map_or(0.0, |c| c.weight * c.persons(sites) / c.norm());
    if let Some(e) = &p.exact {
        return p.w_carbon * g / gn
            + p.w_benefit * (e.pc_num(connectors) - e.base) / e.scale
            + access;
    }
    p.w_carbon * g / gn + p.w_benefit * b / bn + access
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
    let seen = links::PatchLinks::new(c, &p.connectors, usable).joined(root, |_| true);
    c.patches
        .iter()
        .copied()
        .filter(|v| !seen.contains(v))
        .collect()
}

/// Whether a selection satisfies every constraint (used by tests and the greedy baseline).
pub fn feasible(p: &Problem, sites: &[bool], connectors: &[bool]) -> bool {
    feasible_within(p, sites, connectors, EPS)
}

/// [`feasible`] with every bound (budget, caps, minimum carbon) kept to a relative and
/// absolute tolerance `eps`.
fn feasible_within(p: &Problem, sites: &[bool], connectors: &[bool], eps: f64) -> bool {
    feasible_except_carbon(p, sites, connectors, eps)
        && p.carbon_min.is_none_or(|min| {
            let g = sum_selected(&p.sites, sites, |s| s.carbon_tco2e)
                + sum_selected(&p.connectors, connectors, |c| c.carbon_tco2e);
            g >= min * (1.0 - eps) - eps
        })
        && p.coverage.as_ref().is_none_or(|c| {
            c.min_persons
                .is_none_or(|min| c.persons(sites) >= min * (1.0 - eps) - eps)
        })
}

const EPS: f64 = 1e-6;

fn feasible_except_carbon(p: &Problem, sites: &[bool], connectors: &[bool], eps: f64) -> bool {
    let cost = sum_selected(&p.sites, sites, |s| s.cost_yuan)
        + sum_selected(&p.connectors, connectors, |c| c.cost_yuan);
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
    if p.exclusive.iter().any(|&(a, b)| sites[a] && sites[b]) {
        return false;
    }
    unreachable(p, &|l| connectors[l]).is_empty()
}

#[cfg(test)]
mod tests {
    use super::solver::status_of;
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        /// With park access in the objective (and sometimes a minimum), the MILP reaches the
        /// best objective of every selection enumerated, the residents a group brings counted
        /// once however many of its sites are chosen; the bound is not below the plan.
        #[test]
        fn the_covering_term_equals_exhaustive_enumeration(
            raw_sites in proptest::collection::vec((1.0f64..9.0, 0.0f64..40.0), 1..9),
            raw_groups in proptest::collection::vec((0.0f64..500.0, proptest::collection::vec(0usize..9, 0..4)), 0..8),
            budget in 2.0f64..30.0,
            w in (0.0f64..1.0, 0.0f64..1.0),
            min_share in proptest::option::of(0.0f64..0.6),
        ) {
            let ns = raw_sites.len();
            let sites: Vec<Site> = raw_sites.iter().enumerate().map(|(i, &(c, g))| Site {
                id: format!("s{i}"), cost_yuan: c, area_ha: 1.0, carbon_tco2e: g, benefit: 0.0,
                zones: vec![], district: None, lock: Lock::Free,
            }).collect();
            let groups: Vec<(f64, Vec<usize>)> = raw_groups
                .into_iter()
                .map(|(n, by)| {
                    let mut by: Vec<usize> = by.into_iter().map(|s| s % ns).collect();
                    by.sort_unstable();
                    by.dedup();
                    (n, by)
                })
                .collect();
            let total: f64 = groups.iter().map(|g| g.0).sum();
            let p = Problem {
                sites, budget_yuan: budget, w_carbon: w.0, w_benefit: 0.0,
                coverage: Some(Coverage {
                    groups,
                    weight: w.1,
                    min_persons: min_share.map(|f| f * total),
                }),
                ..Default::default()
            };
            let mut best: Option<f64> = None;
            for mask in 0u32..(1 << ns) {
                let xs: Vec<bool> = (0..ns).map(|i| mask >> i & 1 == 1).collect();
                if feasible(&p, &xs, &[]) {
                    let v = objective(&p, &xs, &[]);
                    best = Some(best.map_or(v, |b: f64| b.max(v)));
                }
            }
            let opts = SolveOptions { mip_rel_gap: Some(0.0), ..Default::default() };
            match (solve(&p, &opts), best) {
                (Ok(plan), Some(best)) => {
                    prop_assert!(feasible(&p, &plan.sites, &plan.connectors));
                    prop_assert!((plan.objective - best).abs() <= 1e-6 * best.abs().max(1e-3), "MILP {} vs enumeration {}", plan.objective, best);
                    prop_assert!(plan.bound >= plan.objective - 1e-9);
                }
                (Err(OptimizeError::Infeasible(_)), None) => {}
                // A minimum met only within HiGHS' tolerance may be refused by one side.
                (Err(OptimizeError::Infeasible(_)), Some(_)) | (Ok(_), None) => {
                    let strict = |xs: &[bool]| feasible_within(&p, xs, &[], 1e-9);
                    prop_assert!(!(0u32..(1 << ns)).any(|m| strict(&(0..ns).map(|i| m >> i & 1 == 1).collect::<Vec<_>>())));
                }
                (r, b) => prop_assert!(false, "solve {r:?} but enumeration {b:?}"),
            }
        }

        /// Exact mode's MILP reaches the best objective of every selection enumerated, with
        /// PC computed from its definition; the plan's bound and objective agree.
        #[test]
        fn exact_mode_equals_exhaustive_enumeration(
            attr in proptest::collection::vec(1.0f64..30.0, 2..7),
            raw_links in proptest::collection::vec((0usize..7, 0usize..7, 0.05f64..0.9), 1..9),
            raw_conn in proptest::collection::vec((0usize..7, 0usize..7, 0.3f64..1.0, 1.0f64..9.0), 1..10),
            carbon in proptest::collection::vec((0.0f64..50.0, 1.0f64..9.0), 0..3),
            budget in 3.0f64..25.0,
            w in 0.0f64..1.0,
        ) {
            let n = attr.len();
            let links: Vec<(usize, usize, f64)> = raw_links.into_iter().map(|(a, b, p)| (a % n, b % n, p)).filter(|(a, b, _)| a != b).collect();
            let improved: Vec<Option<(usize, usize, f64)>> = raw_conn.iter().map(|&(a, b, p, _)| (a % n != b % n).then_some((a % n, b % n, p))).collect();
            let sites: Vec<Site> = carbon.iter().enumerate().map(|(i, &(g, c))| Site {
                id: format!("s{i}"), cost_yuan: c, area_ha: 1.0, carbon_tco2e: g, benefit: 0.0,
                zones: vec![], district: None, lock: Lock::Free,
            }).collect();
            let ns = sites.len();
            let connectors: Vec<Connector> = raw_conn.iter().enumerate().map(|(k, &(_, _, _, c))| Connector {
                id: format!("c{k}"), cost_yuan: c, carbon_tco2e: 0.0, benefit: 1.0,
                // The first connector needs the first site, when there is one.
                gap_sites: if k == 0 && ns > 0 { vec![0] } else { vec![] },
                ends: None,
            }).collect();
            let nc = connectors.len();
            let p = Problem {
                sites, connectors, budget_yuan: budget, w_carbon: w, w_benefit: 1.0 - w,
                exact: Some(ExactPc::new(attr, links, improved)),
                ..Default::default()
            };
            let opts = SolveOptions { mip_rel_gap: Some(0.0), ..Default::default() };
            let plan = solve(&p, &opts).unwrap();
            let mut best = f64::NEG_INFINITY;
            for mask in 0u32..(1 << (ns + nc)) {
                let xs: Vec<bool> = (0..ns).map(|i| mask >> i & 1 == 1).collect();
                let ys: Vec<bool> = (0..nc).map(|j| mask >> (ns + j) & 1 == 1).collect();
                if feasible(&p, &xs, &ys) {
                    best = best.max(objective(&p, &xs, &ys));
                }
            }
            prop_assert!(feasible(&p, &plan.sites, &plan.connectors));
            prop_assert!((plan.objective - best).abs() <= 1e-6 * best.abs().max(1e-3), "MILP {} vs enumeration {}", plan.objective, best);
            prop_assert!(plan.bound >= plan.objective - 1e-9);
        }
    }

    #[test]
    fn a_given_benefit_norm_replaces_the_total() {
        let site = |benefit: f64| Site {
            id: "1".into(),
            cost_yuan: 10.0,
            area_ha: 1.0,
            carbon_tco2e: 0.0,
            benefit,
            zones: vec![],
            district: None,
            lock: Lock::Free,
        };
        let mut p = Problem {
            sites: vec![site(2.0), site(6.0)],
            budget_yuan: 100.0,
            w_carbon: 0.0,
            w_benefit: 1.0,
            ..Default::default()
        };
        assert_eq!(objective(&p, &[true, false], &[]), 2.0 / 8.0);
        p.benefit_norm = Some(4.0);
        assert_eq!(objective(&p, &[true, false], &[]), 2.0 / 4.0);
        assert_eq!(normalisers(&p), (1.0, 4.0));
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

    #[test]
    fn the_pareto_front_counts_the_residents_parks_bring() {
        let plan = |spent: f64, access: f64| Plan {
            status: Status::Optimal,
            objective: 0.0,
            bound: 0.0,
            gap: 0.0,
            sites: vec![],
            connectors: vec![],
            spent_yuan: spent,
            carbon_tco2e: 10.0,
            benefit: 1.0,
            access_persons: access,
        };
        let (a, b, c) = (plan(5.0, 100.0), plan(5.0, 300.0), plan(4.0, 0.0));
        // b has a's cost, carbon and benefit and more residents: a is dominated; c is
        // cheaper, so it stays.
        assert_eq!(
            pareto(&[Some(&a), Some(&b), Some(&c), None]),
            vec![false, true, true, false]
        );
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
                    benefit_norm: None,
                    exact: None,
                    coverage: None,
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
            // (small models) and without it (large models, where greedy is the start and the
            // variables fixed at 0 are left out of what HiGHS gets).
            let exact = SolveOptions { mip_rel_gap: Some(0.0), ..Default::default() };
            let without = SolveOptions { presolve: Some(false), ..exact };
            for opts in [exact, without] {
                match (solve(&p, &opts), best) {
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
                    // Only selections inside the tolerance band (a bound exceeded by less than
                    // 1e-6 relative) are feasible: the solver's own tolerance may refuse them.
                    (Err(OptimizeError::Infeasible(_)), Some(_))
                        if (0u32..(1 << (ns + nc))).all(|mask| {
                            let s: Vec<bool> = (0..ns).map(|i| mask & (1 << i) != 0).collect();
                            let c: Vec<bool> = (0..nc).map(|i| mask & (1 << (ns + i)) != 0).collect();
                            !feasible_within(&p, &s, &c, 1e-9)
                        }) => {}
                    (r, b) => prop_assert!(false, "solver {:?} (presolve {:?}) but enumeration best {:?}", r.map(|p| p.objective), opts.presolve, b),
                }
            }
        }
    }
}
