//! `ecocorridor run SCENARIO`: every stage, every output, written into a temporary folder that
//! replaces the output folder only when the whole run succeeded.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use ecocorridor::app::Context;
use ecocorridor::io::geojson_out::write_lines;
use ecocorridor::io::geotiff::write_geotiff;
use ecocorridor::io::png_out::write_png;
use ecocorridor::io::table::{num, Table};
use ecocorridor::map::{self, Lang, MapLayers, ParetoPoint};
use ecocorridor::measure::Measured;
use ecocorridor::optimize::{self, Plan, SolveOptions};
use ecocorridor::report::{Connectivity, PlanFigures, PlanStatus, Summary};
use ecocorridor::scenario::Scenario;
use ecocorridor::scenario::ZoneKind;
use ecocorridor::{carbon, report};
use sha2::{Digest, Sha256};

use super::{write_corridor_layers, write_resistance_tif, RESISTANCE_NODATA};
use ecocorridor::app::pipeline::{self, Pipeline};

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

/// What a finished run reports back.
pub(crate) struct Outcome {
    /// No plan was feasible (exit code 1).
    pub infeasible: bool,
    /// What `summary.csv` and `run.json` say.
    pub summary: Summary,
    /// The plan's rounds (solve, measure, refine) for `run.json`.
    pub rounds: Vec<pipeline::Round>,
}

pub(crate) fn run(a: &RunArgs, threads: Option<usize>, ctx: &Context) -> Result<ExitCode> {
    let scenario = Scenario::read(&a.scenario)?;
    let lang = match a.lang {
        LangArg::En => Lang::En,
        LangArg::Zh => Lang::Zh,
    };
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
    let outcomes = run_group(&group, a.force, a.budget_yuan, (threads, lang), ctx)?;
    Ok(if outcomes.iter().any(|o| o.infeasible) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The temporary sibling of the output folder and the place the old one goes while swapped.
fn staging(dir: &Path) -> (PathBuf, PathBuf) {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "outputs".into());
    let parent = dir.parent().unwrap_or(Path::new("."));
    let pid = std::process::id();
    (
        parent.join(format!(".{name}.partial-{pid}")),
        parent.join(format!(".{name}.old-{pid}")),
    )
}

/// Runs scenarios that share their stages up to the candidates: the stages once, then each
/// scenario's plan and outputs into its folder. Every folder is checked before any work.
fn run_group(
    group: &[(Scenario, PathBuf)],
    force: bool,
    budget_yuan: Option<f64>,
    (threads, lang): (Option<usize>, Lang),
    ctx: &Context,
) -> Result<Vec<Outcome>> {
    let t0 = Instant::now();
    let occupied: Vec<bool> = group
        .iter()
        .map(|(_, dir)| {
            dir.read_dir()
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
        })
        .collect();
    if let Some(k) = occupied.iter().position(|&o| o) {
        if !force {
            bail!(
                "output folder `{}` already holds results\n  hint: pass --force to replace them once the new run succeeds, or --out another folder",
                group[k].1.display()
            );
        }
    }
    // A folder that cannot be made fails now, not after the work.
    for (_, dir) in group {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| {
                format!(
                    "cannot create the output folder's parent `{}`\n  hint: check the path and your write permission, or pass --out DIR",
                    parent.display()
                )
            })?;
        }
    }
    let p = pipeline::build(&group[0].0, ctx)?;
    let shared = (ctx.stage_times(), t0.elapsed().as_secs_f64());
    let mut outcomes = Vec::new();
    for ((scenario, dir), &occupied) in group.iter().zip(&occupied) {
        outcomes.push(run_one(
            scenario,
            dir,
            occupied,
            &p,
            (budget_yuan, threads, lang),
            &shared,
            ctx,
        )?);
    }
    Ok(outcomes)
}

/// One scenario's plan and outputs, written into a working folder that replaces `dir` only
/// when complete.
fn run_one(
    scenario: &Scenario,
    dir: &Path,
    occupied: bool,
    p: &Pipeline,
    (budget_yuan, threads, lang): (Option<f64>, Option<usize>, Lang),
    shared: &(Vec<(String, f64)>, f64),
    ctx: &Context,
) -> Result<Outcome> {
    let t0 = Instant::now();
    let (tmp, old) = staging(dir);
    if let Some(parent) = tmp.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).with_context(|| {
        format!(
            "cannot create the working folder `{}`\n  hint: check that you may write there, or pass --out DIR",
            tmp.display()
        )
    })?;
    // Whatever happens from here, the working folder goes away unless it is moved into place
    // (also on SIGINT/SIGTERM: it is tracked).
    let guard = Cleanup(tmp.clone());
    ecocorridor::io::atomic::track(&tmp);
    let mark = ctx.stage_times().len();
    let decision = pipeline::decide(p, scenario, budget_yuan, ctx)?;
    let outcome = write_all(scenario, &tmp, p, &decision, (threads, lang), ctx)?;
    let mut times = shared.0.clone();
    times.extend(ctx.stage_times().into_iter().skip(mark));
    write_run_json(
        scenario,
        &tmp,
        (&outcome.summary, &outcome.rounds),
        &times,
        shared.1 + t0.elapsed().as_secs_f64(),
    )?;
    if occupied {
        std::fs::rename(dir, &old)
            .with_context(|| format!("cannot move the old results `{}` aside", dir.display()))?;
    }
    if let Err(e) = std::fs::rename(&tmp, dir) {
        if occupied {
            let _ = std::fs::rename(&old, dir);
        }
        return Err(e).with_context(|| format!("cannot move the results into `{}`", dir.display()));
    }
    std::mem::forget(guard);
    ecocorridor::io::atomic::untrack(&tmp);
    if occupied {
        let _ = std::fs::remove_dir_all(&old);
    }
    if !ctx.quiet {
        say!("wrote the results to `{}`", dir.display());
    }
    Ok(outcome)
}

/// Removes a folder when dropped (a failed run's working folder).
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        ecocorridor::io::atomic::untrack(&self.0);
    }
}

fn write_all(
    scenario: &Scenario,
    dir: &Path,
    p: &Pipeline,
    d: &pipeline::Decision,
    (threads, lang): (Option<usize>, Lang),
    ctx: &Context,
) -> Result<Outcome> {
    let bom = scenario.file.output.csv_bom;
    let o = &scenario.file.optimize;
    let solve_opts = SolveOptions {
        time_limit_s: o.time_limit_s,
        mip_rel_gap: o.mip_gap,
        threads: threads.map(|t| t as u32),
        presolve: None,
        log: ctx.verbose,
    };
    let Decided {
        plan,
        measured,
        greedy,
        sweep,
        sweep_eca,
        rounds,
        infeasible,
    } = decide_and_measure(scenario, p, d, &solve_opts, ctx)?;
    // The chosen connectors' corridor ids.
    let chosen: std::collections::BTreeSet<u32> = match &plan {
        Some(pl) => p
            .cands
            .connectors
            .iter()
            .zip(&pl.connectors)
            .filter(|(_, &y)| y)
            .map(|(c, _)| c.id)
            .collect(),
        None => Default::default(),
    };
    ctx.stage("write", || {
        write_outputs(
            scenario,
            dir,
            p,
            d,
            (plan.as_ref(), measured.as_ref(), &chosen),
            (sweep.as_deref(), sweep_eca.as_deref()),
            lang,
        )
    })?;
    ctx.stage("map", || {
        write_pictures(
            scenario,
            dir,
            p,
            plan.as_ref(),
            (&chosen, sweep.as_deref().map(|r| (d.sweep.as_slice(), r))),
            lang,
        )
    })?;
    let summary = summary(
        scenario,
        p,
        d,
        plan.as_ref(),
        greedy.as_ref(),
        infeasible.is_some(),
        measured.as_ref(),
    );
    write_table_in(lang, dir, "summary.csv", &summary.table(), bom)?;
    if !ctx.quiet {
        print_summary(&summary);
    }
    Ok(Outcome {
        infeasible: infeasible.is_some(),
        summary,
        rounds,
    })
}

/// The plan, its measurement and refinement rounds, the greedy baseline, the sweep and each
/// sweep plan's measured ECA.
struct Decided {
    plan: Option<Plan>,
    measured: Option<Measured>,
    greedy: Option<Plan>,
    sweep: Option<Vec<SweepResult>>,
    sweep_eca: Option<Vec<Option<f64>>>,
    rounds: Vec<pipeline::Round>,
    infeasible: Option<String>,
}

fn decide_and_measure(
    scenario: &Scenario,
    p: &Pipeline,
    d: &pipeline::Decision,
    solve_opts: &SolveOptions,
    ctx: &Context,
) -> Result<Decided> {
    // The plan (when there is a budget), its greedy baseline and the sweep.
    let mut infeasible = None;
    let mut rounds: Vec<pipeline::Round> = Vec::new();
    let (plan, measured, greedy, sweep) = match &d.problem {
        None => (None, None, None, None),
        Some(prob) => {
            let (plan, measured, greedy) =
                match pipeline::plan_and_measure(p, scenario, prob, solve_opts, ctx)? {
                    Ok(r) => {
                        // The greedy baseline valued like the kept plan, so the ratio compares
                        // like with like.
                        let greedy = optimize::greedy(prob).map(|mut g| {
                            g.objective = optimize::objective(&r.problem, &g.sites, &g.connectors);
                            g
                        });
                        rounds = r.rounds;
                        (Some(r.plan), Some(r.measured), greedy)
                    }
                    Err(optimize::OptimizeError::Infeasible(why)) => {
                        infeasible = Some(why);
                        (None, None, optimize::greedy(prob))
                    }
                    Err(e) => return Err(e.into()),
                };
            let sweep = (!d.sweep.is_empty())
                .then(|| ctx.stage("sweep", || Ok(optimize::sweep(prob, &d.sweep, solve_opts))))
                .transpose()?;
            (plan, measured, greedy, sweep)
        }
    };
    if let Some(why) = &infeasible {
        say!("no feasible plan: {why}");
    }
    if rounds.len() > 1 && !ctx.quiet {
        let eca: Vec<String> = rounds.iter().map(|r| num(r.eca_plan_ha, 1)).collect();
        let kept = rounds.iter().find(|r| r.kept).map_or(1, |r| r.round);
        say!(
            "refined in {} rounds, measured ECA {} ha; kept round {kept}",
            rounds.len(),
            eca.join(" -> ")
        );
    }

    // What the plan buys, measured on the restored landscape; the same for every sweep plan.
    if let (Some(m), false) = (&measured, ctx.quiet) {
        say!(
            "the plan changes {} cells; {} of {} corridors measured again (the others provably keep their least-cost distance)",
            m.changed_cells,
            m.reruns(),
            m.links.len()
        );
    }
    let sweep_eca: Option<Vec<Option<f64>>> = sweep
        .as_ref()
        .map(|results| {
            ctx.stage("measure sweep plans", || {
                results
                    .iter()
                    .map(|r| match r {
                        Ok(pl) => pipeline::measure_plan(p, scenario, &pl.sites, &pl.connectors)
                            .map(|m| Some(m.indices.eca_ha)),
                        Err(_) => Ok(None),
                    })
                    .collect::<Result<Vec<_>>>()
            })
        })
        .transpose()?;

    Ok(Decided {
        plan,
        measured,
        greedy,
        sweep,
        sweep_eca,
        rounds,
        infeasible,
    })
}

/// A table in the run's language.
fn write_table_in(lang: Lang, dir: &Path, name: &str, t: &Table, bom: bool) -> Result<()> {
    match lang {
        Lang::En => super::write_table(dir, name, t, bom),
        Lang::Zh => super::write_table(dir, name, &report::to_chinese(t), bom),
    }
}

/// Every raster, table and layer of a run but the summary and the pictures.
#[allow(clippy::type_complexity)]
fn write_outputs(
    scenario: &Scenario,
    dir: &Path,
    p: &Pipeline,
    d: &pipeline::Decision,
    (plan, measured, chosen): (
        Option<&Plan>,
        Option<&Measured>,
        &std::collections::BTreeSet<u32>,
    ),
    (sweep, sweep_eca): (Option<&[SweepResult]>, Option<&[Option<f64>]>),
    lang: Lang,
) -> Result<()> {
    let bom = scenario.file.output.csv_bom;
    let write_table =
        |dir: &Path, name: &str, t: &Table, bom: bool| write_table_in(lang, dir, name, t, bom);
    write_resistance_tif(dir, &p.land.grid, &p.res)?;
    write_corridor_layers(dir, &p.land, &p.src, &p.net)?;
    let stock: Vec<f32> = carbon::stock_per_cell(&p.land)
        .iter()
        .map(|&v| if v.is_nan() { RESISTANCE_NODATA } else { v })
        .collect();
    write_geotiff(
        &dir.join("carbon.tif"),
        &p.land.grid,
        &stock,
        Some(RESISTANCE_NODATA as f64),
    )?;
    let mut patches = report::patches(&p.land, &p.src);
    report::join_patch_importance(&mut patches, &p.network);
    write_table(dir, "patches.csv", &patches, bom)?;
    let gravity = p.network.gravity.clone().unwrap_or_default();
    let important = scenario
        .file
        .network
        .important_gravity
        .unwrap_or(if gravity.is_empty() {
            f64::INFINITY
        } else {
            gravity.iter().sum::<f64>() / gravity.len() as f64
        });
    let mut corridor_table = report::corridors(&p.net);
    report::join_corridor_importance(&mut corridor_table, &p.network, important);
    report::join_corridor_plan(&mut corridor_table, measured);
    write_table(dir, "corridors.csv", &corridor_table, bom)?;
    write_table(
        dir,
        "zones.csv",
        &report::carbon(&carbon::summarize(&p.land)),
        bom,
    )?;
    write_table(
        dir,
        "indices.csv",
        &report::indices(
            &p.network,
            p.landscape_area_ha,
            p.d50,
            p.graph.attr.len(),
            p.graph.links.len(),
        ),
        bom,
    )?;
    if let Some(prob) = &d.problem {
        let shown = plan.cloned().unwrap_or_else(|| nothing(prob));
        write_table(
            dir,
            "sites.csv",
            &report::candidate_sites(&p.cands, prob, &shown),
            bom,
        )?;
        write_table(
            dir,
            "connectors.csv",
            &report::candidate_connectors(&p.cands, prob, &shown),
            bom,
        )?;
        super::optimize_cmd::write_sites_layer(dir, &p.land.grid, &p.cands, prob, &shown)?;
        write_connector_lines(dir, p, chosen)?;
        if let Some(results) = sweep {
            write_table(
                dir,
                "pareto.csv",
                &report::pareto(&d.sweep, results, sweep_eca),
                bom,
            )?;
        }
    }
    Ok(())
}

/// A plan that selects nothing (for tables when no plan could be made).
fn nothing(prob: &optimize::Problem) -> Plan {
    Plan {
        status: optimize::Status::Heuristic,
        objective: 0.0,
        bound: 0.0,
        gap: 0.0,
        sites: vec![false; prob.sites.len()],
        connectors: vec![false; prob.connectors.len()],
        spent_yuan: 0.0,
        carbon_tco2e: 0.0,
        benefit: 0.0,
    }
}

/// `connectors.geojson`: the least-cost path of every candidate connector, with `selected`.
fn write_connector_lines(
    dir: &Path,
    p: &Pipeline,
    chosen: &std::collections::BTreeSet<u32>,
) -> Result<()> {
    let lines: Vec<_> = p
        .cands
        .connectors
        .iter()
        .map(|k| {
            let c = &p.net.corridors[k.id as usize - 1];
            let mut props = serde_json::Map::new();
            props.insert("connector_id".into(), k.id.into());
            props.insert("from_patch".into(), k.from.into());
            props.insert("to_patch".into(), k.to.into());
            props.insert(
                "crossing_m".into(),
                serde_json::json!((k.crossing_m * 100.0).round() / 100.0),
            );
            props.insert(
                "cost_yuan".into(),
                serde_json::json!((k.cost_yuan * 100.0).round() / 100.0),
            );
            props.insert("selected".into(), u8::from(chosen.contains(&k.id)).into());
            (report::path_polyline(&p.land.grid, &c.path), props)
        })
        .collect();
    let path = dir.join("connectors.geojson");
    write_lines(&path, p.land.grid.crs(), &lines)
        .with_context(|| format!("cannot write `{}`", path.display()))
}

/// The scenario's [`Summary`] (`summary.csv`, `run.json`, the screen).
fn summary(
    scenario: &Scenario,
    p: &Pipeline,
    d: &pipeline::Decision,
    plan: Option<&Plan>,
    greedy: Option<&Plan>,
    infeasible: bool,
    measured: Option<&Measured>,
) -> Summary {
    let count = |v: &[bool]| v.iter().filter(|&&b| b).count();
    let status = match (plan, &d.problem) {
        (Some(pl), _) => PlanStatus::from(pl.status),
        (None, Some(_)) if infeasible => PlanStatus::Infeasible,
        _ => PlanStatus::NoBudget,
    };
    Summary {
        scenario: scenario.name.clone(),
        patches: p.src.patches.len(),
        corridors: p.net.corridors.len(),
        candidate_sites: p.cands.sites.len(),
        candidate_connectors: p.cands.connectors.len(),
        budget_yuan: d.problem.as_ref().map(|q| q.budget_yuan),
        status,
        plan: plan.map(|pl| PlanFigures {
            spent_yuan: pl.spent_yuan,
            sites_selected: count(&pl.sites),
            area_restored_ha: p
                .cands
                .sites
                .iter()
                .zip(&pl.sites)
                .filter(|(_, &x)| x)
                .map(|(s, _)| s.area_ha)
                .sum(),
            connectors_selected: count(&pl.connectors),
            carbon_gain_tco2e: pl.carbon_tco2e,
            objective: pl.objective,
            bound: pl.bound,
            gap: pl.gap,
        }),
        now: Connectivity::from(&p.network.indices),
        with_plan: measured.map(|m| Connectivity::from(&m.indices)),
        greedy_objective: greedy.map(|g| g.objective),
    }
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
}

/// A number as printed in a table, with its sign (`+12.5`, `-3`).
fn signed(x: &str) -> String {
    if x.starts_with('-') || x.is_empty() {
        x.to_string()
    } else {
        format!("+{x}")
    }
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(format!("{:x}", h.finalize()))
}

/// `run.json`: what was run on which inputs (SHA-256), with which options, by which version,
/// how long each stage took, the peak memory and the [`Summary`] (which `batch` reads). Not
/// byte-identical across runs (timings).
fn write_run_json(
    scenario: &Scenario,
    dir: &Path,
    (summary, rounds): (&Summary, &[pipeline::Round]),
    times: &[(String, f64)],
    total_s: f64,
) -> Result<()> {
    let f = &scenario.file;
    let mut inputs: Vec<(String, PathBuf)> = vec![
        ("scenario".into(), scenario.path.clone()),
        ("landcover".into(), f.landscape.landcover.clone()),
        ("classes".into(), f.landscape.classes.clone()),
    ];
    for x in &f.factors {
        inputs.push((format!("factor {}", x.name), x.path.clone()));
    }
    for z in &f.zones {
        inputs.push((
            format!("zone {}", z.name.as_deref().unwrap_or(z.kind.as_str())),
            z.path.clone(),
        ));
    }
    if let Some(d) = &f.districts {
        inputs.push(("districts".into(), d.path.clone()));
    }
    if let Some(s) = &f.sources.path {
        inputs.push(("sources".into(), s.clone()));
    }
    if let Some(s) = &f.candidates.parcels {
        inputs.push(("parcels".into(), s.clone()));
    }
    let mut files = serde_json::Map::new();
    for (role, path) in inputs {
        files.insert(
            role,
            serde_json::json!({ "path": path.display().to_string(), "sha256": sha256_file(&path)? }),
        );
    }
    let stages: Vec<serde_json::Value> = times
        .iter()
        .map(|(s, t)| serde_json::json!({ "stage": s, "seconds": (t * 1000.0).round() / 1000.0 }))
        .collect();
    let scenario_text = std::fs::read_to_string(&scenario.path).unwrap_or_default();
    let options: toml::Value =
        toml::from_str(&scenario_text).unwrap_or(toml::Value::Table(Default::default()));
    let doc = serde_json::json!({
        "tool": "ecocorridor",
        "version": env!("CARGO_PKG_VERSION"),
        "scenario": scenario.name,
        "inputs": files,
        "options": options,
        "threads": rayon::current_num_threads(),
        "stages": stages,
        "total_seconds": (total_s * 1000.0).round() / 1000.0,
        "peak_memory_bytes": ecocorridor::app::peak_memory_bytes(),
        "summary": summary,
        "plan_rounds": rounds,
    });
    let text = serde_json::to_string_pretty(&doc).expect("JSON of plain values");
    let path = dir.join("run.json");
    ecocorridor::io::atomic::write_atomic(&path, |w| std::io::Write::write_all(w, text.as_bytes()))
        .with_context(|| format!("cannot write `{}`", path.display()))
}

/// One solve of a sweep.
type SweepResult = Result<Plan, optimize::OptimizeError>;

/// A sweep's points and their solves.
type Sweep<'a> = (&'a [optimize::SweepPoint], &'a [SweepResult]);

/// `map.png` and, when sweeping, `pareto.png`.
fn write_pictures(
    scenario: &Scenario,
    dir: &Path,
    p: &Pipeline,
    plan: Option<&Plan>,
    (chosen, sweep): (&std::collections::BTreeSet<u32>, Option<Sweep>),
    lang: Lang,
) -> Result<()> {
    let redline_bits = p
        .land
        .zones
        .iter()
        .filter(|z| z.kind == ZoneKind::EcologicalRedline)
        .fold(0u8, |m, z| m | (1 << z.bit));
    let layers = MapLayers {
        grid: &p.land.grid,
        classes: &p.land.classes,
        landcover: &p.land.landcover,
        sources: &p.src.ids,
        nlcc: &p.net.nlcc,
        paths: p
            .net
            .corridors
            .iter()
            .zip(&p.network.links)
            .map(|(c, l)| (c.path.as_slice(), l.d_pc))
            .collect(),
        sites: plan.map(|pl| (p.cands.site_ids.as_slice(), pl.sites.as_slice())),
        connectors: p
            .net
            .corridors
            .iter()
            .filter(|c| chosen.contains(&c.id))
            .map(|c| c.path.as_slice())
            .collect(),
        redline: (redline_bits != 0).then_some((p.land.zone_bits.as_slice(), redline_bits)),
        title: scenario.name.clone(),
    };
    let path = dir.join("map.png");
    write_png(&path, &map::render_map(&layers, lang))
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    if let Some((sweep_points, results)) = sweep {
        let plans: Vec<Option<&Plan>> = results.iter().map(|r| r.as_ref().ok()).collect();
        let front = optimize::pareto(&plans);
        let points: Vec<ParetoPoint> = sweep_points
            .iter()
            .zip(&plans)
            .zip(front)
            .filter_map(|((pt, pl), on)| {
                pl.map(|pl| ParetoPoint {
                    cost_yuan: pl.spent_yuan,
                    carbon_tco2e: pl.carbon_tco2e,
                    w_carbon: pt.w_carbon,
                    frontier: on,
                })
            })
            .collect();
        let path = dir.join("pareto.png");
        write_png(&path, &map::render_pareto(&points, &scenario.name, lang))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(())
}
