//! The scenario pipeline shared by `optimize SCENARIO` and `run`: load, resistance, sources,
//! corridors (with zone cells), network, candidates and the optimization problem.

use anyhow::{bail, Context, Result};
use ecocorridor::candidates::{self, Candidates};
use ecocorridor::corridors::CorridorNetwork;
use ecocorridor::landscape::Landscape;
use ecocorridor::network::{Graph, NetworkResult};
use ecocorridor::optimize::{Problem, SweepPoint};
use ecocorridor::resistance::Resistance;
use ecocorridor::scenario::{ConnectorBenefit, Scenario};
use ecocorridor::sources::Sources;
use ecocorridor::{measure, plan, resistance, settings};

use super::{analyse_network, load_landscape, patch_graph, run_to_corridors, timed};

/// Everything a scenario's stages produced.
pub(crate) struct Pipeline {
    pub land: Landscape,
    pub res: Resistance,
    pub src: Sources,
    pub net: CorridorNetwork,
    pub graph: Graph,
    pub network: NetworkResult,
    pub d50: f64,
    pub landscape_area_ha: f64,
    pub cands: Candidates,
}

/// A scenario's optimization problem on a pipeline (None without a budget) and its sweep.
pub(crate) struct Decision {
    pub problem: Option<Problem>,
    pub sweep: Vec<SweepPoint>,
}

/// A missing budget as an error (for commands that need a plan), before any work.
pub(crate) fn require_budget(scenario: &Scenario, budget_yuan: Option<f64>) -> Result<()> {
    if budget_yuan.or(scenario.file.optimize.budget_yuan).is_none() {
        bail!(
            "scenario `{}`: no budget: set [optimize] budget_yuan in the scenario or pass --budget-yuan",
            scenario.path.display()
        );
    }
    Ok(())
}

/// Bytes per cell at the run's peak: what lives through every stage plus the largest
/// stage's own arrays (the stages' peaks do not coincide).
///
/// Through every stage: land cover (1), zone bits (1), districts (2), factors (4 each),
/// resistance (4) and patch ids (4). Stages' own: sources labelling (8); corridors, the
/// largest: the multi-source run (12 while running, then 8 kept as `f32` cost and `u32`
/// allocation, 16 at the hand-over), the corridor raster (4) and the runs' pruning bound (4),
/// plus up to 8 per cell for each per-patch run alive (one computing and one handed over per
/// thread, each bounded to its neighbourhood: counted as two cells' worth per thread);
/// candidates: the kept cost and allocation (8), corridor raster (4) and site ids while
/// labelling (8); measuring the plan: the kept cost and allocation (8),
/// corridor raster (4), site ids (4), the restored surface (4) and the per-patch runs alive as
/// for the corridors (two cells' worth per thread). Measured on the 10^8-cell target case with
/// 2 threads, before plans were measured: 5.7 GB at the peak against 6.5 GB estimated.
pub(crate) fn bytes_per_cell(scenario: &Scenario, threads: usize) -> u64 {
    let f = &scenario.file;
    let through =
        1 + 1 + if f.districts.is_some() { 2 } else { 0 } + 4 * f.factors.len() as u64 + 4 + 4;
    let sources = 8;
    let corridors = 16 + 16 * threads as u64;
    let candidates = 8 + 4 + 8;
    let measure = 8 + 4 + 4 + 4 + 16 * threads as u64;
    through + sources.max(corridors).max(candidates).max(measure)
}

/// The peak memory a run of `scenario` needs, from its land cover's header: (cells, bytes).
pub(crate) fn memory_estimate(scenario: &Scenario) -> Result<(u64, u64)> {
    let header = ecocorridor::io::open_raster(&scenario.file.landscape.landcover)?
        .header()
        .clone();
    let cells = header.grid.len() as u64;
    let threads = rayon::current_num_threads();
    // Plus a fixed 100 MB for tables, the MILP and the binary.
    Ok((
        cells,
        cells * bytes_per_cell(scenario, threads) + 100_000_000,
    ))
}

/// Prints the estimate for large runs and refuses one above `--max-memory`.
fn check_memory(scenario: &Scenario, quiet: bool) -> Result<()> {
    let (cells, bytes) = memory_estimate(scenario)?;
    let gb = bytes as f64 / 1e9;
    if let Some(max) = super::max_memory() {
        if bytes > max {
            bail!(
                "scenario `{}`: {cells} cells need about {gb:.1} GB, more than --max-memory {:.1} GB\n  hint: use fewer threads (each adds {} bytes per cell), a coarser cell size (`gdalwarp -tr 60 60 ...` quarters the cells), or split the study area",
                scenario.path.display(),
                max as f64 / 1e9,
                16
            );
        }
    }
    if !quiet && (gb >= 1.0 || super::verbose()) {
        eprintln!("{cells} cells: about {gb:.1} GB of memory at the peak");
    }
    Ok(())
}

/// Runs the stages up to the candidates (everything `Scenario::stage_key` covers).
pub(crate) fn build(scenario: &Scenario, quiet: bool) -> Result<Pipeline> {
    let ctx = || format!("scenario `{}`", scenario.path.display());
    check_memory(scenario, quiet)?;
    let land = timed(quiet, "load", || load_landscape(scenario, quiet))?;
    let (res, src, net) = run_to_corridors(scenario, &land, quiet, true)?;
    if !quiet && !net.isolated.is_empty() {
        eprintln!(
            "warning: {} patch(es) have no corridor (isolated by barriers, beyond max_cwd, or every path crossed another patch): {}",
            net.isolated.len(),
            net.isolated
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let graph = patch_graph(&src, &net);
    let (network, d50, landscape_area_ha) =
        analyse_network(scenario, &land, &src, &graph, &net, quiet)?;
    let value: Vec<f64> = match scenario.file.candidates.connector_benefit {
        ConnectorBenefit::Dpc => network.links.iter().map(|l| l.d_pc).collect(),
        ConnectorBenefit::Gravity => network
            .gravity
            .clone()
            .unwrap_or_else(|| vec![0.0; net.corridors.len()]),
    };
    let (res_opts, _) = settings::resistance_options(scenario, &land).with_context(ctx)?;
    let model = resistance::CellModel::new(&land, &res_opts);
    let opts = settings::candidate_options(scenario);
    let cands = timed(quiet, "candidates", || {
        let given = ecocorridor::landscape::read_given_parcels(scenario, &land)
            .map_err(anyhow::Error::msg)
            .with_context(ctx)?;
        let inputs = candidates::Inputs {
            land: &land,
            model: &model,
            res: res.values(),
            sources: &src,
            net: &net,
            value: &value,
            given: given.as_deref(),
        };
        candidates::build(&inputs, &opts).with_context(ctx)
    })?;
    drop(model);
    if !quiet {
        eprintln!(
            "{} candidate sites ({:.1} ha, {:.0} yuan in all), {} connectors, {} corridors working already",
            cands.sites.len(),
            cands.sites.iter().map(|s| s.area_ha).sum::<f64>(),
            cands.sites.iter().map(|s| s.cost_yuan).sum::<f64>(),
            cands.connectors.len(),
            cands.existing.len()
        );
    }
    Ok(Pipeline {
        land,
        res,
        src,
        net,
        graph,
        network,
        d50,
        landscape_area_ha,
        cands,
    })
}

/// The optimization problem of `scenario` (its [optimize] section) on a pipeline.
pub(crate) fn decide(
    p: &Pipeline,
    scenario: &Scenario,
    budget_yuan: Option<f64>,
) -> Result<Decision> {
    let ctx = || format!("scenario `{}`", scenario.path.display());
    let ends = |id: u32| {
        let c = &p.net.corridors[id as usize - 1];
        (c.from, c.to)
    };
    match budget_yuan.or(scenario.file.optimize.budget_yuan) {
        None => {
            plan::check(&p.land, &p.src, &scenario.file.optimize)
                .map_err(|e| anyhow::anyhow!("{}: {e}", ctx()))?;
            Ok(Decision {
                problem: None,
                sweep: Vec::new(),
            })
        }
        Some(b) => {
            let problem = plan::problem(
                &p.land,
                &p.src,
                &p.cands,
                &ends,
                &scenario.file.optimize,
                Some(b),
            )
            .map_err(|e| anyhow::anyhow!("{}: {e}", ctx()))?;
            let sweep = plan::sweep_points(&problem, &scenario.file.optimize);
            Ok(Decision {
                problem: Some(problem),
                sweep,
            })
        }
    }
}

/// The plan (`sites` per candidate site, `connectors` per candidate connector) applied to the
/// landscape and its network measured (see `ecocorridor::measure`): the same patches, pairs,
/// d50 and landscape area as "now".
pub(crate) fn measure_plan(
    p: &Pipeline,
    scenario: &Scenario,
    sites: &[bool],
    connectors: &[bool],
) -> Result<measure::Measured> {
    let ctx = || format!("scenario `{}`: measuring the plan", scenario.path.display());
    let (res_opts, _) = settings::resistance_options(scenario, &p.land).with_context(ctx)?;
    let model = resistance::CellModel::new(&p.land, &res_opts);
    let restoration = candidates::Restoration::new(&p.land, &model, &p.src);
    let copts = settings::candidate_options(scenario);
    let changes = measure::changes(
        &restoration,
        &p.res,
        &p.cands,
        sites,
        connectors,
        copts.crossing_resistance as f32,
    );
    let opts = measure::MeasureOptions {
        corridors: settings::corridor_options(scenario),
        d50: p.d50,
        landscape_area_ha: p.landscape_area_ha,
        full: false,
    };
    measure::measure(
        &p.land.grid,
        &p.res,
        &changes,
        &p.src,
        &p.net,
        &p.graph,
        &opts,
    )
    .with_context(ctx)
}
