//! Trade-off sweeps (budgets x weights x minimum carbon) and the Pareto frontier.

use super::*;
use rayon::prelude::*;

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

/// Which feasible plans are on the Pareto frontier of (cost ↓, carbon ↑, benefit ↑, residents
/// brought within the walk of a park ↑): not dominated by another plan at least as good in
/// all four and better in one.
pub fn pareto(plans: &[Option<&Plan>]) -> Vec<bool> {
    // Cost negated, so larger is better in every place.
    let key = |p: &Plan| [-p.spent_yuan, p.carbon_tco2e, p.benefit, p.access_persons];
    plans
        .iter()
        .map(|a| {
            let Some(a) = a else { return false };
            let ka = key(a);
            !plans.iter().flatten().any(|b| {
                let kb = key(b);
                kb.iter().zip(&ka).all(|(x, y)| x >= y) && kb.iter().zip(&ka).any(|(x, y)| x > y)
            })
        })
        .collect()
}
