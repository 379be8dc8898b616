//! `ecocorridor optimize`: a scenario's candidates or planners' own tables in, the plan out.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use ecocorridor::app::pipeline;
use ecocorridor::app::Context;
use ecocorridor::candidates::Candidates;
use ecocorridor::io::optimize_tables;
use ecocorridor::io::table::Table;
use ecocorridor::optimize::{self, Plan, Problem, SolveOptions, SweepPoint};
use ecocorridor::report;
use ecocorridor::scenario::Scenario;
use ecocorridor::settings;

use super::prepare_out;
use ecocorridor::io::atomic::write_text;
use ecocorridor::report::layers::{write_sites_layer, write_table};

#[derive(Args)]
pub(crate) struct OptimizeArgs {
    /// Scenario file (TOML): candidates are made from its landscape and corridors; options in
    /// [candidates] and [optimize]. Leave out to use --sites.
    scenario: Option<PathBuf>,
    /// Your own sites: CSV with site_id, cost_yuan, area_ha, carbon_tco2e [, benefit, zone,
    /// district, locked (in/out), excludes (site ids separated by `;`)].
    #[arg(
        long,
        conflicts_with = "scenario",
        required_unless_present = "scenario"
    )]
    sites: Option<PathBuf>,
    /// Your own connectors: CSV with connector_id, cost_yuan, carbon_tco2e, benefit, gap_sites
    /// (site ids separated by `;`) [, from_patch, to_patch].
    #[arg(long, requires = "sites")]
    connectors: Option<PathBuf>,
    /// Budget, yuan (overrides [optimize] budget_yuan).
    #[arg(long = "budget-yuan", alias = "budget", allow_negative_numbers = true)]
    budget_yuan: Option<f64>,
    /// Weights of carbon and connectivity, e.g. `0.5,0.5` (default: the scenario's, else
    /// `1,1`).
    #[arg(long, allow_hyphen_values = true)]
    weights: Option<String>,
    /// Zones where no site may be chosen, separated by commas (default: the scenario's
    /// permanent basic farmland zones; for tables `permanent_farmland`).
    #[arg(long = "forbid-zones")]
    forbid_zones: Option<String>,
    /// Minimum carbon gain, t CO2e.
    #[arg(long = "carbon-min-tco2e", allow_negative_numbers = true)]
    carbon_min: Option<f64>,
    /// Patch ids the plan must join into one network, separated by commas (connectors need
    /// from_patch/to_patch).
    #[arg(long)]
    connect: Option<String>,
    /// Budgets to sweep, yuan, separated by commas (writes pareto.csv).
    #[arg(long = "sweep-budgets")]
    sweep_budgets: Option<String>,
    /// Time limit for the solver, s.
    #[arg(long = "time-limit-s")]
    time_limit_s: Option<f64>,
    /// Relative MIP gap to stop at (default 0.001, i.e. 0.1 %; e.g. 0.005).
    #[arg(long = "mip-gap")]
    mip_gap: Option<f64>,
    /// Also write the model to this file: CPLEX LP (`.lp`) or free MPS (`.mps`).
    #[arg(long = "write-model")]
    write_model: Option<PathBuf>,
    /// Output folder (default for a scenario: [output] dir, else outputs/<scenario name>/).
    #[arg(long, required_unless_present = "scenario")]
    out: Option<PathBuf>,
}

fn numbers(flag: &str, text: &str) -> Result<Vec<f64>> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| anyhow::anyhow!("{flag} `{text}`: `{t}` is not a number"))
        })
        .collect()
}

/// What both modes hand to the solve-and-write step.
struct Prepared {
    problem: Problem,
    sweep: Vec<SweepPoint>,
    /// The scenario's `[optimize]` section (its sweep lists), when there is a scenario.
    section: Option<ecocorridor::scenario::OptimizeSection>,
    dir: PathBuf,
    bom: bool,
    scenario: Option<ScenarioParts>,
    solve: SolveOptions,
}

/// The scenario-side data for richer tables and the site layer.
struct ScenarioParts {
    grid: ecocorridor::Grid,
    cands: Candidates,
}

/// `threads`: the global `--threads`, also given to HiGHS for the main solve.
pub(crate) fn run(a: &OptimizeArgs, threads: Option<usize>, ctx: &Context) -> Result<ExitCode> {
    if let Some(g) = a.mip_gap {
        if !(0.0..1.0).contains(&g) {
            bail!("--mip-gap {g}: give a relative gap from 0 to 1, e.g. 0.005");
        }
    }
    if let Some(t) = a.time_limit_s {
        if t.is_nan() || t <= 0.0 {
            bail!("--time-limit-s {t}: give a positive number of seconds");
        }
    }
    let mut prep = match &a.scenario {
        Some(path) => from_scenario(path, a, ctx)?,
        None => from_tables(a, ctx)?,
    };
    // Options common to both modes.
    if let Some(w) = &a.weights {
        let w = numbers("--weights", w)?;
        if w.len() != 2 {
            bail!("--weights: give two numbers, carbon and connectivity, e.g. 0.5,0.5");
        }
        prep.problem.w_carbon = w[0];
        prep.problem.w_benefit = w[1];
    }
    if let Some(z) = &a.forbid_zones {
        prep.problem.forbidden_zones = z
            .split(',')
            .map(str::trim)
            .filter(|z| !z.is_empty())
            .map(str::to_string)
            .collect();
    }
    if a.carbon_min.is_some() {
        prep.problem.carbon_min = a.carbon_min;
    }
    if let Some(c) = &a.connect {
        let ids: Vec<u32> = c
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<u32>()
                    .map_err(|_| anyhow::anyhow!("--connect `{c}`: `{t}` is not a patch id"))
            })
            .collect::<Result<_>>()?;
        let existing = prep
            .problem
            .connect
            .take()
            .map(|c| c.existing)
            .unwrap_or_default();
        prep.problem.connect = Some(optimize::Connect {
            patches: ids,
            existing,
        });
    }
    if let Some(b) = &a.sweep_budgets {
        let budgets = numbers("--sweep-budgets", b)?;
        prep.sweep = match &prep.section {
            // The scenario's other sweep lists (carbon weights, minimum carbon) still apply.
            Some(sec) => {
                let mut sec = sec.clone();
                sec.sweep.get_or_insert_with(Default::default).budgets_yuan = budgets;
                ecocorridor::plan::sweep_points(&prep.problem, &sec)
            }
            None => budgets
                .into_iter()
                .map(|b| SweepPoint {
                    budget_yuan: b,
                    w_carbon: prep.problem.w_carbon,
                    w_benefit: prep.problem.w_benefit,
                    carbon_min: prep.problem.carbon_min,
                })
                .collect(),
        };
    }
    prep.solve.threads = threads.map(|t| t as u32);
    solve_and_write(&prep, a.write_model.as_deref(), ctx)
}

fn from_tables(a: &OptimizeArgs, ctx: &Context) -> Result<Prepared> {
    let sites_path = a
        .sites
        .as_ref()
        .expect("clap requires --sites without a scenario");
    let (sites, exclusive) = optimize_tables::read_sites(sites_path)?;
    let connectors = match &a.connectors {
        Some(c) => optimize_tables::read_connectors(c, &sites)?,
        None => Vec::new(),
    };
    let budget = a
        .budget_yuan
        .ok_or_else(|| anyhow::anyhow!("--budget-yuan is needed with --sites"))?;
    let dir = a
        .out
        .clone()
        .expect("clap requires --out without a scenario");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create output folder `{}`", dir.display()))?;
    Ok(Prepared {
        problem: Problem {
            sites,
            connectors,
            budget_yuan: budget,
            w_carbon: 1.0,
            w_benefit: 1.0,
            forbidden_zones: vec!["permanent_farmland".into()],
            exclusive,
            ..Default::default()
        },
        sweep: Vec::new(),
        section: None,
        dir,
        bom: true,
        scenario: None,
        solve: SolveOptions {
            time_limit_s: a.time_limit_s,
            mip_rel_gap: a.mip_gap,
            log: ctx.verbose,
            ..SolveOptions::default()
        },
    })
}

fn from_scenario(path: &Path, a: &OptimizeArgs, ctx: &Context) -> Result<Prepared> {
    let scenario = Scenario::read(path)?;
    pipeline::require_budget(&scenario, a.budget_yuan)?;
    let p = pipeline::build(&scenario, ctx)?;
    let d = pipeline::decide(&p, &scenario, a.budget_yuan, ctx)?;
    let problem = d.problem.expect("a budget was required");
    let dir = prepare_out(&scenario, a.out.as_deref())?;
    let o = &scenario.file.optimize;
    Ok(Prepared {
        problem,
        sweep: d.sweep,
        section: Some(o.clone()),
        dir,
        bom: scenario.file.output.csv_bom,
        scenario: Some(ScenarioParts {
            grid: p.land.grid.clone(),
            cands: p.cands,
        }),
        solve: SolveOptions {
            time_limit_s: a.time_limit_s.or(o.time_limit_s),
            mip_rel_gap: a.mip_gap.or(o.mip_gap),
            ..settings::solve_options(o, None, ctx.verbose)
        },
    })
}

fn solve_and_write(prep: &Prepared, model_path: Option<&Path>, ctx: &Context) -> Result<ExitCode> {
    let p = &prep.problem;
    if let Some(m) = model_path {
        let mps = m.extension().is_some_and(|e| e.eq_ignore_ascii_case("mps"));
        let text = if mps {
            optimize::to_mps(p)
        } else {
            optimize::to_lp(p)
        };
        write_text(m, &text)?;
    }
    let t0 = Instant::now();
    let plan = match optimize::solve(p, &prep.solve) {
        Ok(plan) => plan,
        Err(optimize::OptimizeError::Infeasible(why)) => {
            say!("no feasible plan: {why}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let solve_s = t0.elapsed().as_secs_f64();
    let greedy = optimize::greedy(p);
    let dir = &prep.dir;
    let mut written = vec!["sites.csv", "connectors.csv", "summary.csv"];
    let (sites_t, connectors_t): (Table, Table) = match &prep.scenario {
        Some(s) => (
            report::candidate_sites(&s.cands, p, &plan),
            report::candidate_connectors(&s.cands, p, &plan),
        ),
        None => (
            report::plan_sites(p, &plan),
            report::plan_connectors(p, &plan),
        ),
    };
    write_table(dir, "sites.csv", &sites_t, prep.bom)?;
    write_table(dir, "connectors.csv", &connectors_t, prep.bom)?;
    write_table(
        dir,
        "summary.csv",
        &report::plan_summary(p, &plan, greedy.as_ref()),
        prep.bom,
    )?;
    if let Some(s) = &prep.scenario {
        write_sites_layer(dir, &s.grid, &s.cands, p, &plan)?;
        written.extend(["sites.geojson", "sites.tif"]);
    }
    if !ctx.quiet {
        let ratio = match &greedy {
            Some(g) if g.objective > 0.0 => format!("{:.3}", plan.objective / g.objective),
            _ => "n/a".into(),
        };
        say!(
            "{}: {} sites and {} connectors selected, {:.0} of {:.0} yuan, {:.1} t CO2e; objective {:.4} (bound {:.4}, gap {:.2e}) in {:.2} s; greedy {} (MILP/greedy {ratio})",
            plan.status.as_str(),
            plan.sites.iter().filter(|&&x| x).count(),
            plan.connectors.iter().filter(|&&y| y).count(),
            plan.spent_yuan,
            p.budget_yuan,
            plan.carbon_tco2e,
            plan.objective,
            plan.bound,
            plan.gap,
            solve_s,
            greedy
                .as_ref()
                .map_or("found no feasible plan".to_string(), |g| format!(
                    "{:.4}",
                    g.objective
                )),
        );
    }
    if !prep.sweep.is_empty() {
        let t1 = Instant::now();
        let results = optimize::sweep(p, &prep.sweep, &prep.solve);
        write_table(
            dir,
            "pareto.csv",
            &report::pareto(&prep.sweep, &results, (None, None)),
            prep.bom,
        )?;
        written.push("pareto.csv");
        if !ctx.quiet {
            let solved: Vec<Option<&Plan>> = results.iter().map(|r| r.as_ref().ok()).collect();
            let on_front = optimize::pareto(&solved).iter().filter(|&&f| f).count();
            say!(
                "sweep: {} runs in {:.2} s ({} with a plan, {on_front} on the cost-carbon-connectivity frontier; pareto.csv)",
                prep.sweep.len(),
                t1.elapsed().as_secs_f64(),
                solved.iter().flatten().count()
            );
        }
    }
    if !ctx.quiet {
        say!("wrote {} to `{}`", written.join(", "), dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
