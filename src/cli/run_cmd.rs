//! `ecocorridor run SCENARIO`: the arguments, then [`ecocorridor::app::run`] (every stage,
//! every output, swapped into place only when complete), then the end-of-run screen.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;
use ecocorridor::app::run::{run_group, Outcome, RunOptions};
use ecocorridor::app::Context;
use ecocorridor::io::table::num;
use ecocorridor::map::Lang;
use ecocorridor::report::Summary;
use ecocorridor::scenario::Scenario;

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    /// Output folder (default: [output] dir, else outputs/<scenario name>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace an existing output folder (only once the new run has succeeded).
    #[arg(long)]
    force: bool,
    /// Budget, yuan (overrides [optimize] budget_yuan).
    #[arg(long = "budget-yuan", alias = "budget")]
    budget_yuan: Option<f64>,
    /// Language of the column names and picture labels: en or zh (Chinese column names as
    /// listed in README, with units).
    #[arg(long, value_enum, default_value = "en")]
    lang: LangArg,
    /// (For `batch`.) More scenarios sharing this one's stages up to the candidates, each
    /// with its output folder (`--also-out`, same order): the stages run once.
    #[arg(long = "also", hide = true)]
    also: Vec<PathBuf>,
    /// (For `batch`.) Output folders of the `--also` scenarios.
    #[arg(long = "also-out", hide = true)]
    also_out: Vec<PathBuf>,
}

/// `--lang`: the language of column names and picture labels.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LangArg {
    En,
    Zh,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        }
    }
}

pub(crate) fn run(a: &RunArgs, threads: Option<usize>, ctx: &Context) -> Result<ExitCode> {
    let scenario = Scenario::read(&a.scenario)?;
    let lang = Lang::from(a.lang);
    if a.also.len() != a.also_out.len() {
        bail!("--also and --also-out must come in pairs");
    }
    let mut group = vec![(scenario.clone(), scenario.output_dir(a.out.as_deref()))];
    for (s, o) in a.also.iter().zip(&a.also_out) {
        let sc = Scenario::read(s)?;
        if sc.stage_key() != scenario.stage_key() {
            bail!(
                "`{}` does not share the stages of `{}` (inputs or options before [optimize] differ)",
                s.display(),
                scenario.path.display()
            );
        }
        group.push((sc, o.clone()));
    }
    let opts = RunOptions {
        force: a.force,
        budget_yuan: a.budget_yuan,
        threads,
        lang,
    };
    let outcomes = run_group(&group, opts, ctx, &mut |o: &Outcome| {
        if !ctx.quiet {
            print_summary(&o.summary);
            say!("wrote the results to `{}`", o.dir.display());
        }
    })?;
    Ok(if outcomes.iter().any(|o| o.infeasible) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The end-of-run screen a planner reads.
fn print_summary(s: &Summary) {
    say!("---");
    say!(
        "scenario {}: {} ecological sources, {} corridors; {} candidate sites, {} connectors",
        s.scenario,
        s.patches,
        s.corridors,
        s.candidate_sites,
        s.candidate_connectors
    );
    match &s.plan {
        None => say!("plan: {}", s.status.as_str()),
        Some(p) => {
            say!(
                "plan ({}): {} sites ({} ha) and {} connectors for {} of {} yuan",
                s.status.as_str(),
                p.sites_selected,
                num(p.area_restored_ha, 4),
                p.connectors_selected,
                num(p.spent_yuan, 2),
                s.budget_yuan.map_or(String::new(), |b| num(b, 2))
            );
            say!("carbon gain: {} t CO2e", num(p.carbon_gain_tco2e, 3));
        }
    }
    match (s.with_plan, s.eca_gain_ha()) {
        (Some(w), Some(gain)) => say!(
            "connectivity, measured on the restored landscape: ECA {} ha now -> {} ha with the plan ({} ha, {} %), PC {:.6e} -> {:.6e}",
            num(s.now.eca_ha, 4),
            num(w.eca_ha, 4),
            signed(&num(gain, 4)),
            signed(&s.eca_gain_pct().map_or(String::new(), |g| num(g, 4))),
            s.now.pc,
            w.pc
        ),
        _ => say!(
            "connectivity now: ECA {} ha, PC {:.6e}",
            num(s.now.eca_ha, 4),
            s.now.pc
        ),
    }
    if let (Some(n), Some(w)) = (s.access_now, s.access_plan) {
        say!(
            "park access, measured with the plan applied: {} % of residents within the walk now -> {} % ({} persons{})",
            num(n.covered_pct, 2),
            num(w.covered_pct, 2),
            signed(&num(w.covered - n.covered, 0)),
            s.persons_gained_model
                .map_or(String::new(), |m| format!("; the model expected {}", signed(&num(m, 0))))
        );
    }
}

/// A number as printed in a table, with its sign (`+12.5`, `-3`).
fn signed(x: &str) -> String {
    if x.starts_with('-') || x.is_empty() {
        x.to_string()
    } else {
        format!("+{x}")
    }
}
