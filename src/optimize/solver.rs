//! The HiGHS solve (through good_lp): options, warm start, status and plan.

use super::*;
use good_lp::solvers::highs::highs;
use good_lp::{variable, Expression, ProblemVariables, SolverModel, Variable};

/// Above this many variables HiGHS' presolve is off unless asked for (see [`solve`]).
pub const PRESOLVE_MAX_BINARIES: usize = 5_000;

/// The relative MIP gap a solve stops at unless told otherwise: 0.1 % (the plan's objective
/// is within 0.1 % of the best possible; the bound and gap are reported with every plan).
pub const DEFAULT_MIP_GAP: f64 = 1e-3;

/// HiGHS warns about costs below 1e-4 or above 1e6 and row bounds above 1e6 (its
/// `assessCosts`/`assessBounds`); the model is scaled into those ranges before the solve.
const SMALL: f64 = 1e-4;
const LARGE: f64 = 1e6;

/// The objective's scale factor: the largest coefficient becomes 1 when the coefficients
/// span at most 1e4, else the smallest becomes 1e-4 (as long as the largest stays <= 1e6).
/// Positive, so the plan and the relative gap are unchanged; 1 when every coefficient is 0.
///
/// Measured on the 20,000-site benchmark (`cargo bench --bench optimize`, back to back): the
/// 0.5 % solve takes 0.87 s scaled against 0.35 s unscaled, with the same plan; the rows'
/// scaling alone costs nothing. The objective is normalised over all candidates (coefficients
/// average 5e-5 there) and HiGHS' tolerances are absolute, so scaling changes its path.
pub(super) fn objective_scale(objective: &[f64]) -> f64 {
    let (lo, hi) = objective
        .iter()
        .map(|c| c.abs())
        .filter(|&c| c > 0.0 && c.is_finite())
        .fold((f64::INFINITY, 0f64), |(lo, hi), c| (lo.min(c), hi.max(c)));
    if hi == 0.0 {
        return 1.0;
    }
    if hi / lo <= 1.0 / SMALL {
        1.0 / hi
    } else {
        (SMALL / lo).min(LARGE / hi)
    }
}

/// A row's scale factor: a power of ten that brings its largest magnitude (coefficients and
/// right-hand side; e.g. a budget of 2e9 yuan) to below 1e4; 1 for rows already there.
pub(super) fn row_scale(r: &Row) -> f64 {
    let big = r
        .terms
        .iter()
        .map(|t| t.1.abs())
        .fold(r.rhs.abs(), f64::max);
    if big < 1e4 || !big.is_finite() {
        1.0
    } else {
        10f64.powi(-(big.log10().floor() as i32 - 3))
    }
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
    let m = linear_model(p);
    // HiGHS' presolve (1.11) spends O(n²) in singleton-column stuffing on the dense budget row:
    // 15 s for 20,000 sites, where the whole solve without it takes 0.6 s to a 4e-6 gap. But
    // without presolve the branch and bound of the demo (614 sites) ran for minutes where it
    // takes 0.02 s with it. So: presolve unless the model is large, and always with flow rows.
    let presolve = opts
        .presolve
        .unwrap_or(!m.flows.is_empty() || binaries(&m) <= PRESOLVE_MAX_BINARIES);
    // Without presolve, the binaries the rows fix at 0 (forbidden and locked-out sites, the
    // connectors that need one of them) are left out of what HiGHS gets (see [`zero_fixed`]).
    let dropped = if presolve {
        vec![false; m.names.len()]
    } else {
        zero_fixed(&m)?
    };
    if dropped.iter().all(|&d| d) {
        // Nothing can be chosen (and every row holds with nothing: `zero_fixed`).
        let (ns, nc) = (p.sites.len(), p.connectors.len());
        return Ok(plan(
            p,
            Status::Optimal,
            vec![false; ns],
            vec![false; nc],
            0.0,
        ));
    }
    let mut vars = ProblemVariables::new();
    let v: Vec<Option<Variable>> = (0..m.names.len())
        .map(|k| {
            if dropped[k] {
                None
            } else if m.binary[k] {
                Some(vars.add(variable().binary()))
            } else {
                Some(vars.add(variable().min(m.lower[k]).max(m.upper[k])))
            }
        })
        .collect();
    // Scaled into HiGHS' comfortable ranges (no change to the plan or the relative gap; the
    // bound is scaled back below).
    let f = objective_scale(&m.objective);
    let obj: Expression = m
        .objective
        .iter()
        .zip(&v)
        .filter_map(|(&c, x)| Some((c, (*x)?)))
        .filter(|&(c, _)| c != 0.0)
        .map(|(c, x)| (c * f) * x)
        .sum();
    let mut model = vars.maximise(obj).using(highs);
    for r in &m.rows {
        // A row left with no variable holds whatever is chosen (`zero_fixed` checked it).
        if r.terms.iter().all(|&(j, _)| dropped[j]) {
            continue;
        }
        let k = row_scale(r);
        let e: Expression = r
            .terms
            .iter()
            .filter_map(|&(j, c)| Some((c * k) * v[j]?))
            .sum();
        let rhs = r.rhs * k;
        model = model.with(match r.sense {
            Sense::Le => e.leq(rhs),
            Sense::Ge => e.geq(rhs),
            Sense::Eq => e.eq(rhs),
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
    inner.set_option("presolve", if presolve { "on" } else { "off" });
    if !presolve {
        // HiGHS 1.11 presolves the root LP even with presolve off; this option, despite its
        // name, turns that off (`HighsMipSolverData::evaluateRootNode`). That presolve's
        // quadratic singleton-column stuffing on the budget row took 60% of the city
        // cluster's solve. Measured on that plan (`optimize --sites --connectors`, 205,523
        // sites of which 81,150 forbidden, 0.5 % gap, same plan), the previous version and
        // this one alternately, three times: 16.3-17.8 s -> 10.7-11.6 s for the whole command.
        // What is left is mostly HiGHS' dual ratio test on the dense budget row
        // (`chooseFinalWorkGroupQuad`, 74% by perf).
        inner.set_option("mip_root_presolve_only", true);
    }
    // Without presolve, the greedy plan is handed over as the starting incumbent (HiGHS checks
    // it). Not with presolve: HiGHS 1.11 then once returned the start as "optimal" while a
    // better plan existed (found by the enumeration property test).
    if !presolve {
        if let Some(g) = greedy(p) {
            let start: Vec<f64> = start_values(p, &m, &g)
                .into_iter()
                .zip(&dropped)
                .filter(|(_, &d)| !d)
                .map(|(x, _)| x)
                .collect();
            // Rows are computed by HiGHS when not given.
            let _ = inner.try_set_solution(Some(&start), None, None, None);
        }
    }
    if let Some(t) = opts.time_limit_s {
        inner.set_option("time_limit", t);
    }
    inner.set_option("mip_rel_gap", opts.mip_rel_gap.unwrap_or(DEFAULT_MIP_GAP));
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
    // The solution's columns, with 0 for the dropped variables.
    let solution = solved.get_solution();
    let mut given = solution.columns().iter();
    let cols: Vec<f64> = dropped
        .iter()
        .map(|&d| {
            if d {
                0.0
            } else {
                *given.next().unwrap_or(&0.0)
            }
        })
        .collect();
    let ns = p.sites.len();
    let sites: Vec<bool> = (0..ns).map(|i| cols[i] > 0.5).collect();
    let connectors: Vec<bool> = (0..p.connectors.len())
        .map(|j| cols[ns + j] > 0.5)
        .collect();
    let bound = solved
        .double_info_value(c"mip_dual_bound")
        .unwrap_or(f64::NAN)
        / f;
    Ok(plan(p, status, sites, connectors, bound))
}

/// The model's binary variables (sites and connectors; exact mode's flows are continuous).
fn binaries(m: &LinearModel) -> usize {
    m.binary.iter().filter(|&&b| b).count()
}

/// The binary variables the rows fix at 0, found by propagation: a row whose only variable
/// left (the others fixed at 0) is a binary `x` with `c x <= r`, `c > 0`, `0 <= r < c` (or
/// `c x = 0`) fixes it (the forbidden and locked-out sites' rows `x = 0`, then the connectors
/// whose gap rows `y - x <= 0` lost their site). The rows left with no variable are checked.
///
/// Without presolve, HiGHS carried such variables and rows through every simplex iteration,
/// and its root LP presolve (which runs even then) spends time quadratic in the budget row's
/// length on them: measured on the city cluster's plan (205,523 sites of which 81,150 are
/// forbidden, 3,226 connectors), see the README's optimizer figures.
///
/// # Errors
/// [`OptimizeError::Infeasible`] when a row cannot hold with those variables at 0.
pub(super) fn zero_fixed(m: &LinearModel) -> Result<Vec<bool>, OptimizeError> {
    let mut zero = vec![false; m.names.len()];
    let tol = |r: f64| 1e-9 * r.abs().max(1.0);
    loop {
        let mut changed = false;
        for r in &m.rows {
            let mut live = r.terms.iter().filter(|&&(j, c)| !zero[j] && c != 0.0);
            let (first, second) = (live.next(), live.next());
            match (first, second) {
                (None, _) => {
                    let holds = match r.sense {
                        Sense::Le => 0.0 <= r.rhs + tol(r.rhs),
                        Sense::Ge => 0.0 >= r.rhs - tol(r.rhs),
                        Sense::Eq => r.rhs.abs() <= tol(r.rhs),
                    };
                    if !holds {
                        return Err(OptimizeError::Infeasible(format!(
                            "constraint {} cannot hold: every site or connector in it is forbidden, locked out or needs one that is\n  hint: unlock sites or change the zones the plan may not use",
                            r.name
                        )));
                    }
                }
                (Some(&(j, c)), None) if m.binary[j] => {
                    // c x (sense) rhs: which of x = 0 and x = 1 hold.
                    let ok = |x: f64| match r.sense {
                        Sense::Le => c * x <= r.rhs + tol(r.rhs),
                        Sense::Ge => c * x >= r.rhs - tol(r.rhs),
                        Sense::Eq => (c * x - r.rhs).abs() <= tol(r.rhs),
                    };
                    if ok(0.0) && !ok(1.0) {
                        zero[j] = true;
                        changed = true;
                    }
                }
                _ => {}
            }
        }
        if !changed {
            return Ok(zero);
        }
    }
}

/// How a HiGHS solve ended, as a [`Status`] (each limit named as such) or why there is no
/// plan.
pub(super) fn status_of(model_status: highs::HighsModelStatus) -> Result<Status, OptimizeError> {
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
                "the budget, the connector gap-site links, the locked and forbidden sites, the zone and district caps, the exclusions, the connected network, the minimum carbon and the minimum park access cannot all hold together\n  hint: relax the minimums or the caps, or raise the budget".into(),
            ))
        }
        other => return Err(OptimizeError::Solver(format!("HiGHS ended with status {other:?}"))),
    })
}

/// Column values of a plan: its binaries and, for the connected-network constraint, one unit
/// of flow from the first required patch to every other one along a BFS tree of the existing
/// links and chosen connectors.
pub(super) fn start_values(p: &Problem, m: &LinearModel, plan: &Plan) -> Vec<f64> {
    let mut v = m.lower.clone();
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

pub(super) fn plan(
    p: &Problem,
    status: Status,
    sites: Vec<bool>,
    connectors: Vec<bool>,
    bound: f64,
) -> Plan {
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
    let access_persons = p.coverage.as_ref().map_or(0.0, |c| c.persons(&sites));
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
        access_persons,
    }
}

#[cfg(test)]
mod scale_tests {
    use super::*;

    fn row(name: &str, terms: Vec<(usize, f64)>, sense: Sense, rhs: f64) -> Row {
        Row {
            name: name.into(),
            terms,
            sense,
            rhs,
        }
    }

    fn model(n: usize, rows: Vec<Row>) -> LinearModel {
        LinearModel {
            names: (0..n).map(|k| format!("v{k}")).collect(),
            binary: vec![true; n],
            lower: vec![0.0; n],
            upper: vec![1.0; n],
            objective: vec![1.0; n],
            rows,
            comments: vec![],
            flows: vec![],
        }
    }

    #[test]
    fn rows_that_fix_binaries_at_zero_are_propagated() {
        // x0 forbidden (x0 = 0); connector y3 needs x0 and x1 (y3 - x0 <= 0, y3 - x1 <= 0);
        // y4 needs x1 only; x2 is locked in (x2 = 1, kept); a budget row over all.
        let rows = vec![
            row("budget", (0..5).map(|k| (k, 2.0)).collect(), Sense::Le, 7.0),
            row("gap_y3_x0", vec![(3, 1.0), (0, -1.0)], Sense::Le, 0.0),
            row("gap_y3_x1", vec![(3, 1.0), (1, -1.0)], Sense::Le, 0.0),
            row("gap_y4_x1", vec![(4, 1.0), (1, -1.0)], Sense::Le, 0.0),
            row("fixed_x0", vec![(0, 1.0)], Sense::Eq, 0.0),
            row("fixed_x2", vec![(2, 1.0)], Sense::Eq, 1.0),
        ];
        let zero = zero_fixed(&model(5, rows.clone())).unwrap();
        assert_eq!(zero, vec![true, false, false, true, false]);
        // `2 x <= 1` fixes a binary too; `x <= 1` does not.
        let halves = vec![
            row("half", vec![(0, 2.0)], Sense::Le, 1.0),
            row("free", vec![(1, 1.0)], Sense::Le, 1.0),
        ];
        assert_eq!(zero_fixed(&model(2, halves)).unwrap(), vec![true, false]);
        // A row that needs something from variables all fixed at 0 cannot hold.
        let mut bad = rows;
        bad.push(row("carbon_min", vec![(0, 5.0), (3, 1.0)], Sense::Ge, 1.0));
        match zero_fixed(&model(5, bad)) {
            Err(OptimizeError::Infeasible(m)) => assert!(m.contains("carbon_min"), "{m}"),
            other => panic!("expected infeasible, got {other:?}"),
        }
    }

    #[test]
    fn objective_and_rows_are_scaled_into_highs_ranges() {
        // A narrow range: the largest coefficient becomes 1.
        let f = objective_scale(&[0.0, 2e-3, 4e-3]);
        assert!((4e-3 * f - 1.0).abs() < 1e-12);
        // A wide range (1e8): the smallest becomes 1e-4, the largest 1e4.
        let f = objective_scale(&[3e-9, 3e-1]);
        assert!((3e-9 * f - 1e-4).abs() < 1e-16 && (3e-1 * f - 1e4).abs() < 1e-6);
        assert_eq!(objective_scale(&[0.0, 0.0]), 1.0);
        // A budget row of 2e9 yuan: to 2e3 (a power of ten, so the plan is unchanged).
        let r = Row {
            name: "budget".into(),
            terms: vec![(0, 5e6), (1, 1.2e5)],
            sense: Sense::Le,
            rhs: 2e9,
        };
        let k = row_scale(&r);
        assert_eq!(k, 1e-6);
        assert!(r.rhs * k < 1e4);
        let small = Row {
            rhs: 5.0,
            ..r.clone()
        };
        assert_eq!(
            row_scale(&Row {
                terms: vec![(0, 1.0)],
                ..small
            }),
            1.0
        );
    }
}
