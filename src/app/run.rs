//! A scenario run as a library: the stages once, then each scenario's plan, its measurement and
//! every output, written into a temporary folder that replaces the output folder only when the
//! whole run succeeded (`ecocorridor run` and `batch` are thin callers).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use sha2::{Digest, Sha256};

use super::pipeline::{self, Pipeline};
use super::Context;
use crate::io::png_out::write_png;
use crate::io::table::num;
use crate::map::{self, Lang, MapLayers, ParetoPoint};
use crate::measure::Measured;
use crate::optimize::{self, Plan, SolveOptions};
use crate::report::layers::{self, write_table_in};
use crate::report::{self, Connectivity, PlanFigures, PlanStatus, Summary};
use crate::scenario::{Scenario, ZoneKind};

/// How the scenarios of one run are run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Replace output folders that already hold results (once the new run has succeeded).
    pub force: bool,
    /// Budget, yuan, overriding every scenario's `[optimize] budget_yuan`.
    pub budget_yuan: Option<f64>,
    /// Threads of the MILP solver (default: HiGHS' own).
    pub threads: Option<usize>,
    /// Language of the tables' column names and the pictures' labels.
    pub lang: Lang,
}

/// What a finished scenario reports back.
#[derive(Debug)]
pub struct Outcome {
    /// The folder the results were moved into.
    pub dir: PathBuf,
    /// No plan was feasible (the command exits with 1).
    pub infeasible: bool,
    /// What `summary.csv` and `run.json` say.
    pub summary: Summary,
    /// The plan's rounds (solve, measure, refine) for `run.json`.
    pub rounds: Vec<pipeline::Round>,
}

/// The summary a run wrote into its `run.json`.
///
/// `None` when the file is missing or does not hold a summary (a run that failed early).
pub fn read_summary(path: &Path) -> Option<Summary> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut doc: serde_json::Value = serde_json::from_str(&text).ok()?;
    serde_json::from_value(doc.get_mut("summary")?.take()).ok()
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
///
/// `done` is called with each scenario's outcome once its folder is in place (the command
/// line prints the summary there).
///
/// # Errors
/// A folder is occupied (without `force`) or cannot be made, a stage fails, an output cannot
/// be written; the scenario's folder is then left as it was.
pub fn run_group(
    group: &[(Scenario, PathBuf)],
    opts: RunOptions,
    ctx: &Context,
    done: &mut dyn FnMut(&Outcome),
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
        if !opts.force {
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
    let mut p = pipeline::build(&group[0].0, ctx)?;
    let shared = (ctx.stage_times(), t0.elapsed().as_secs_f64());
    let mut outcomes = Vec::new();
    for (k, ((scenario, dir), &occupied)) in group.iter().zip(&occupied).enumerate() {
        let last = k + 1 == group.len();
        let outcome = run_one(scenario, dir, (occupied, last), &mut p, opts, &shared, ctx)?;
        done(&outcome);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// One scenario's plan and outputs, written into a working folder that replaces `dir` only
/// when complete.
///
/// The last scenario of a group releases the corridor zones' cells once its plans are
/// measured (nothing after needs them): they are 0.8 GB on the city cluster, and the plan's
/// park access, measured next, is where the run's memory peaks.
fn run_one(
    scenario: &Scenario,
    dir: &Path,
    (occupied, last): (bool, bool),
    p: &mut Pipeline,
    opts: RunOptions,
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
    crate::io::atomic::create_tracked(&tmp, |t| std::fs::create_dir(t)).with_context(|| {
        format!(
            "cannot create the working folder `{}`\n  hint: check that you may write there, or pass --out DIR",
            tmp.display()
        )
    })?;
    // Whatever happens from here, the working folder goes away unless it is moved into place
    // (also on SIGINT/SIGTERM: it is tracked from its creation).
    let guard = Cleanup(tmp.clone());
    let mark = ctx.stage_times().len();
    let decision = pipeline::decide(p, scenario, opts.budget_yuan, ctx)?;
    let outcome = write_all(scenario, (&tmp, dir), (p, last), &decision, opts, ctx)?;
    let mut times = shared.0.clone();
    times.extend(ctx.stage_times().into_iter().skip(mark));
    write_run_json(
        scenario,
        &tmp,
        (&outcome.summary, &outcome.rounds, &p.circuit),
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
    crate::io::atomic::untrack(&tmp);
    if occupied {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(outcome)
}

/// Removes a folder when dropped (a failed run's working folder).
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        crate::io::atomic::untrack(&self.0);
    }
}

/// The plan, its measurement and every output of one scenario, written into `dir` (the
/// working folder; `out` is where it will be moved).
fn write_all(
    scenario: &Scenario,
    (dir, out): (&Path, &Path),
    (p, last): (&mut Pipeline, bool),
    d: &pipeline::Decision,
    RunOptions { threads, lang, .. }: RunOptions,
    ctx: &Context,
) -> Result<Outcome> {
    let bom = scenario.file.output.csv_bom;
    let solve_opts = crate::settings::solve_options(&scenario.file.optimize, threads, ctx.verbose);
    let Decided {
        plan,
        measured,
        greedy,
        sweep,
        sweep_eca,
        rounds,
        infeasible,
    } = decide_and_measure(scenario, p, d, &solve_opts, ctx)?;
    if last {
        p.release_zone_cells();
    }
    let p = &*p;
    let (access_plan, sweep_access) = measure_access(scenario, p, plan.as_ref(), &sweep, ctx)?;
    // The chosen connectors' corridor ids.
    let chosen: BTreeSet<u32> = match &plan {
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
    // The walking times now, for walk_minutes.tif and the map: computed again here rather
    // than held through the stages since the park access stage (4 bytes per cell).
    let minutes = match &p.access {
        Some(_) => ctx.stage("walking times now", || {
            pipeline::walk_minutes_now(p, scenario)
        })?,
        None => None,
    };
    ctx.stage("write", || {
        write_outputs(
            scenario,
            dir,
            p,
            d,
            (plan.as_ref(), measured.as_ref(), &chosen),
            (
                sweep.as_deref(),
                sweep_eca.as_deref(),
                sweep_access.as_deref(),
            ),
            (access_plan.as_ref(), minutes.as_deref(), lang),
        )
    })?;
    ctx.stage("map", || {
        write_pictures(
            scenario,
            dir,
            p,
            plan.as_ref(),
            (&chosen, sweep.as_deref().map(|r| (d.sweep.as_slice(), r))),
            (minutes.as_deref(), lang),
        )
    })?;
    drop(minutes);
    let summary = summary(
        scenario,
        p,
        d,
        plan.as_ref(),
        greedy.as_ref(),
        infeasible.is_some(),
        (measured.as_ref(), access_plan.as_ref()),
    );
    write_table_in(lang, dir, "summary.csv", &summary.table(), bom)?;
    Ok(Outcome {
        dir: out.to_path_buf(),
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

/// Park access, measured the same way as the plan's connectivity on the landscape with the
/// plan (and each sweep plan) applied: the plan's table and each sweep plan's share of
/// residents within the walk, %.
#[allow(clippy::type_complexity)]
fn measure_access(
    scenario: &Scenario,
    p: &Pipeline,
    plan: Option<&Plan>,
    sweep: &Option<Vec<SweepResult>>,
    ctx: &Context,
) -> Result<(Option<crate::access::AccessRows>, Option<Vec<Option<f64>>>)> {
    let access_plan = match (plan, &p.access) {
        (Some(pl), Some(_)) => ctx.stage("measure plan access", || {
            // Only the table is reported: the grids (8 bytes per cell) go at once instead of
            // living through the writing.
            pipeline::measure_plan_access(p, scenario, &pl.sites)
        })?,
        _ => None,
    };
    let sweep_access: Option<Vec<Option<f64>>> = match (sweep, &p.access) {
        (Some(results), Some(_)) => Some(ctx.stage("measure sweep plans' access", || {
            results
                .iter()
                .map(|r| match r {
                    Ok(pl) => pipeline::measure_plan_access(p, scenario, &pl.sites)
                        .map(|a| a.map(|a| a.total().covered_pct)),
                    Err(_) => Ok(None),
                })
                .collect::<Result<Vec<_>>>()
        })?),
        _ => None,
    };
    Ok((access_plan, sweep_access))
}

fn decide_and_measure(
    scenario: &Scenario,
    p: &mut Pipeline,
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
        ctx.shout(format_args!("no feasible plan: {why}"));
    }
    if rounds.len() > 1 && !ctx.quiet {
        let eca: Vec<String> = rounds.iter().map(|r| num(r.eca_plan_ha, 1)).collect();
        let kept = rounds.iter().find(|r| r.kept).map_or(1, |r| r.round);
        ctx.say(format_args!(
            "refined in {} rounds, measured ECA {} ha; kept round {kept}",
            rounds.len(),
            eca.join(" -> ")
        ));
    }

    // What the plan buys, measured on the restored landscape; the same for every sweep plan.
    if let (Some(m), false) = (&measured, ctx.quiet) {
        ctx.say(format_args!(
            "the plan changes {} cells; {} of {} corridors measured again (the others provably keep their least-cost distance)",
            m.changed_cells,
            m.reruns(),
            m.links.len()
        ));
    }
    let sweep_eca: Option<Vec<Option<f64>>> = sweep
        .as_ref()
        .map(|results| {
            ctx.stage("measure sweep plans", || {
                results
                    .iter()
                    .map(|r| match r {
                        Ok(pl) => pipeline::measure_plan(
                            p,
                            scenario,
                            (&pl.sites, &pl.connectors),
                            measured.as_ref(),
                        )
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

/// Every raster, table and layer of a run but the summary and the pictures.
#[allow(clippy::type_complexity)]
fn write_outputs(
    scenario: &Scenario,
    dir: &Path,
    p: &Pipeline,
    d: &pipeline::Decision,
    (plan, measured, chosen): (Option<&Plan>, Option<&Measured>, &BTreeSet<u32>),
    (sweep, sweep_eca, sweep_access): (Option<&[SweepResult]>, report::PerPlan, report::PerPlan),
    (access_plan, minutes, lang): (Option<&crate::access::AccessRows>, Option<&[f32]>, Lang),
) -> Result<()> {
    let bom = scenario.file.output.csv_bom;
    let write_table = |dir: &Path, name: &str, t: &crate::io::table::Table, bom: bool| {
        write_table_in(lang, dir, name, t, bom)
    };
    // Two halves of about equal size (each GeoTIFF is compressed on one thread), written
    // side by side: the files are the same whichever finishes first.
    let network_side = || -> Result<()> {
        layers::write_corridor_layers(dir, &p.land, &p.src, &p.net)?;
        let mut patches = report::patches(&p.land, &p.src);
        report::join_patch_importance(&mut patches, &p.network);
        write_table(dir, "patches.csv", &patches, bom)?;
        let mut corridor_table = report::corridors(&p.net);
        let important = scenario.file.network.important_gravity;
        report::join_corridor_importance(&mut corridor_table, &p.network, important);
        report::join_corridor_plan(&mut corridor_table, measured);
        if let pipeline::CircuitResult::Done { pinch, centrality } = &p.circuit {
            report::circuit::join_corridor_circuit(
                &mut corridor_table,
                &pinch.resistance,
                centrality,
            );
            layers::write_pinch_points(dir, &p.land.grid, pinch)?;
        }
        write_table(dir, "corridors.csv", &corridor_table, bom)?;
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
        )
    };
    let land_side = || -> Result<()> {
        layers::write_resistance(dir, &p.land.grid, &p.res)?;
        layers::write_carbon(dir, &p.land)?;
        if let (Some(a), Some(minutes)) = (&p.access, minutes) {
            layers::write_walk_minutes(dir, &p.land.grid, minutes)?;
            write_table(
                dir,
                "access.csv",
                &report::access_table(&a.table, access_plan),
                bom,
            )?;
        }
        write_table(
            dir,
            "zones.csv",
            &report::carbon(&crate::carbon::summarize(&p.land)),
            bom,
        )?;
        let Some(prob) = &d.problem else {
            return Ok(());
        };
        let shown = plan.cloned().unwrap_or_else(|| nothing(prob));
        let mut sites = report::candidate_sites(&p.cands, prob, &shown);
        if let pipeline::CircuitResult::Done { pinch, .. } = &p.circuit {
            report::circuit::join_site_pinch(&mut sites, &p.cands, &pinch.current);
        }
        write_table(dir, "sites.csv", &sites, bom)?;
        write_table(
            dir,
            "connectors.csv",
            &report::candidate_connectors(&p.cands, prob, &shown),
            bom,
        )?;
        layers::write_sites_layer(dir, &p.land.grid, &p.cands, prob, &shown)?;
        layers::write_connector_lines(dir, &p.land.grid, &p.cands, &p.net, chosen)?;
        if let Some(results) = sweep {
            write_table(
                dir,
                "pareto.csv",
                &report::pareto(&d.sweep, results, (sweep_eca, sweep_access)),
                bom,
            )?;
        }
        Ok(())
    };
    let (a, b) = rayon::join(network_side, land_side);
    a?;
    b?;
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
        access_persons: 0.0,
    }
}

/// The scenario's [`Summary`] (`summary.csv`, `run.json`, the screen).
fn summary(
    scenario: &Scenario,
    p: &Pipeline,
    d: &pipeline::Decision,
    plan: Option<&Plan>,
    greedy: Option<&Plan>,
    infeasible: bool,
    (measured, access_plan): (Option<&Measured>, Option<&crate::access::AccessRows>),
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
            sites_selected: p
                .cands
                .sites
                .iter()
                .zip(&pl.sites)
                .filter(|(s, &x)| x && !s.footbridge)
                .count(),
            footbridges_selected: p
                .cands
                .sites
                .iter()
                .zip(&pl.sites)
                .filter(|(s, &x)| x && s.footbridge)
                .count(),
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
        access_now: p
            .access
            .as_ref()
            .map(|a| report::AccessFigures::of_rows(&a.table)),
        access_plan: access_plan.map(report::AccessFigures::of_rows),
        gap_tolerance: plan.map(|_| {
            scenario
                .file
                .optimize
                .mip_gap
                .unwrap_or(optimize::DEFAULT_MIP_GAP)
        }),
        persons_gained_model: plan
            .zip(d.problem.as_ref())
            .and_then(|(pl, q)| q.coverage.as_ref().map(|c| c.persons(&pl.sites))),
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
    (summary, rounds, circuit): (&Summary, &[pipeline::Round], &pipeline::CircuitResult),
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
        "peak_memory_bytes": super::peak_memory_bytes(),
        "summary": summary,
        "plan_rounds": rounds,
        "circuit": circuit.describe(),
    });
    let text = serde_json::to_string_pretty(&doc).expect("JSON of plain values");
    let path = dir.join("run.json");
    crate::io::atomic::write_text(&path, &text)
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
    (minutes, lang): (Option<&[f32]>, Lang),
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
        sites: plan.map(|pl| (&p.cands.site_ids, pl.sites.as_slice())),
        connectors: p
            .net
            .corridors
            .iter()
            .filter(|c| chosen.contains(&c.id))
            .map(|c| c.path.as_slice())
            .collect(),
        redline: (redline_bits != 0).then_some((p.land.zone_bits.as_slice(), redline_bits)),
        pinch: match &p.circuit {
            pipeline::CircuitResult::Done { pinch, .. } => Some(&pinch.normalized),
            pipeline::CircuitResult::Skipped(_) => None,
        },
        access: p
            .access
            .as_ref()
            .zip(minutes)
            .map(|(a, minutes)| map::AccessLayer {
                parks: &a.parks.ids,
                minutes,
                threshold_min: a.table.threshold_min,
                beyond: &a.beyond,
            }),
        title: scenario.name.clone(),
        subtitle: scenario.file.description.clone(),
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
