//! The scenario pipeline: load, resistance, sources, corridors (with zone cells), network,
//! candidates, the optimization problem and the measurement of a plan, in that order, each
//! stage timed through the [`Context`]. `run`, `optimize SCENARIO`, `batch` and the stage
//! commands all go through here.

use anyhow::{bail, Context as _, Result};

use super::Context;
use crate::candidates::{self, Candidates};
use crate::corridors::{self, CorridorNetwork};
use crate::io::load::{self, Severity};
use crate::landscape::{self, Landscape};
use crate::network::{self, Graph, NetworkResult};
use crate::optimize::{self, OptimizeError, Plan, Problem, SolveOptions, SweepPoint};
use crate::resistance::{self, Resistance};
use crate::scenario::{ConnectivityTerm, ConnectorBenefit, Scenario};
use crate::sources::{self, Sources};
use crate::{measure, plan, settings};

/// Everything a scenario's stages produced up to the candidates.
pub struct Pipeline {
    /// The scenario's inputs on one grid.
    pub land: Landscape,
    /// The resistance surface.
    pub res: Resistance,
    /// The ecological sources (patch id per cell, patch table).
    pub src: Sources,
    /// Corridors with their zone cells and the multi-source cost.
    pub net: CorridorNetwork,
    /// The patch graph (one link per corridor, in corridor order).
    pub graph: Graph,
    /// Indices and importances of the network as it is ("now").
    pub network: NetworkResult,
    /// Median dispersal distance used, cost units.
    pub d50: f64,
    /// Landscape area A_L used, ha.
    pub landscape_area_ha: f64,
    /// Candidate sites and connectors.
    pub cands: Candidates,
    /// Per connector, its corridor's LCD measured with it built (cost units), when computed
    /// (`pc_gain` values or exact mode).
    pub connector_lcd: Option<Vec<Option<f64>>>,
    /// Circuit theory on the corridors (`[circuit]`), or why it was not run.
    pub circuit: CircuitResult,
    /// Park access of the landscape as it is (`[access]`), when the scenario has it, as the
    /// run holds it ([`access::HeldAccess`](crate::access::HeldAccess): the walking-time grid
    /// is recomputed when written, [`walk_minutes_now`]).
    pub access: Option<crate::access::HeldAccess>,
    /// The residents candidate park sites would bring within the walk (the optimizer's
    /// covering term, `access::coverage_groups`; site indices into `cands.sites`), when the
    /// scenario has `[access]` and park sites.
    pub park_cover: Option<ParkCover>,
    /// Whether the corridor zones' cells were released ([`Pipeline::release_zone_cells`]).
    zones_released: bool,
}

impl Pipeline {
    /// Drops the corridor zones' cells (12 bytes per cell and corridor; 0.8 GB on the city
    /// cluster), which only the stages that measure connectivity read: for a run whose plans
    /// are all measured. Those stages find no zone afterwards.
    pub fn release_zone_cells(&mut self) {
        for c in &mut self.net.corridors {
            c.zone = Vec::new();
        }
        self.zones_released = true;
        crate::pages::return_free_memory();
    }

    /// An error once the zones' cells are released: a plan measured without them would
    /// silently miss every corridor's zone.
    fn zones_held(&self) -> Result<()> {
        if self.zones_released {
            bail!(
                "internal error: a plan was measured after the corridor zones' cells were released"
            );
        }
        Ok(())
    }
}

/// Groups of residents beyond the walk and the park sites (indices) that each bring them
/// within it: (persons, sites).
pub type ParkCover = Vec<(f64, Vec<usize>)>;

/// Pinch points and centrality of the corridors, or why they were not computed.
#[derive(Debug, Clone, PartialEq)]
pub enum CircuitResult {
    /// Computed.
    Done {
        /// Pinch points and each corridor zone's effective resistance.
        pinch: crate::circuit::PinchPoints,
        /// Current-flow centrality per corridor (in corridor order).
        centrality: Vec<f64>,
    },
    /// Not computed, and why (for the screen and `run.json`).
    Skipped(String),
}

impl CircuitResult {
    /// What `run.json` says of it.
    pub fn describe(&self) -> serde_json::Value {
        match self {
            CircuitResult::Done { pinch, .. } => serde_json::json!({
                "pinch_points": true,
                "solver": format!(
                    "one system per corridor zone: sparse Cholesky (faer, AMD ordering) for {} zones of up to {} cells, conjugate gradients with smoothed-aggregation AMG for {} larger zones",
                    pinch.resistance.len() - pinch.iterative,
                    crate::linsolve::AUTO_DIRECT_NODES,
                    pinch.iterative
                ),
                "nodes": pinch.nodes,
            }),
            CircuitResult::Skipped(why) => serde_json::json!({
                "pinch_points": false,
                "why": why,
            }),
        }
    }
}

/// `[candidates] pinch_weight`: each site's connectivity value times
/// `1 + pinch_weight x` its mean pinch-point current.
fn apply_pinch_weight(
    scenario: &Scenario,
    circuit: &CircuitResult,
    cands: &mut Candidates,
) -> Result<()> {
    let w = scenario.file.candidates.pinch_weight;
    if !(w.is_finite() && w >= 0.0) {
        bail!(
            "scenario `{}`: [candidates] pinch_weight = {w}; give a finite number >= 0 (0 = pinch points do not change site values)",
            scenario.path.display()
        );
    }
    if w == 0.0 {
        return Ok(());
    }
    let CircuitResult::Done { pinch, .. } = circuit else {
        bail!(
            "scenario `{}`: [candidates] pinch_weight = {w} needs pinch points, which were not computed\n  hint: set [circuit] pinch_points = \"on\", or pinch_weight = 0",
            scenario.path.display()
        );
    };
    let means = cands.site_means_by(|i| pinch.current.get(i));
    for (site, mean) in cands.sites.iter_mut().zip(means) {
        site.benefit *= 1.0 + w * mean;
    }
    Ok(())
}

/// Pinch points of every corridor zone and the current-flow centrality of the patch network
/// (`[circuit]`; with `auto`, only when the largest zone holds at most `max_zone_cells`).
pub fn circuit_stage(
    scenario: &Scenario,
    (land, res, src): (&Landscape, &Resistance, &Sources),
    (net, graph): (&CorridorNetwork, &Graph),
    ctx: &Context,
) -> Result<CircuitResult> {
    use crate::scenario::PinchPoints as Mode;
    let c = &scenario.file.circuit;
    let largest = net
        .corridors
        .iter()
        .map(|k| k.zone.len() as u64)
        .max()
        .unwrap_or(0);
    let why = match c.pinch_points {
        Mode::Off => Some("[circuit] pinch_points = \"off\"".to_string()),
        Mode::Auto if largest > c.max_zone_cells => Some(format!(
            "the largest corridor zone holds {largest} cells, more than [circuit] max_zone_cells = {}; set pinch_points = \"on\" to compute them anyway (zones above 200,000 cells are solved one at a time by AMG, at most ~110 bytes per zone cell plus ~70 per cell of its bounding box), or raise max_zone_cells, or narrow [corridors] width",
            c.max_zone_cells
        )),
        _ if net.corridors.is_empty() => Some("no corridor".to_string()),
        _ => None,
    };
    if let Some(why) = why {
        ctx.say(format_args!("pinch points not computed: {why}"));
        return Ok(CircuitResult::Skipped(why));
    }
    let opts = crate::circuit::CircuitOptions {
        four_neighbours: c.four_neighbours,
        avg_resistance: c.avg_resistance,
        solver: crate::linsolve::Method::Auto,
    };
    ctx.stage("pinch points", || {
        let shape = (land.grid.rows(), land.grid.cols());
        let pinch =
            crate::circuit::pinch_points(shape, res.values(), &src.ids, &net.corridors, opts)
                .with_context(|| format!("scenario `{}`: pinch points", scenario.path.display()))?;
        // Links are resistors of their LCD (a zero LCD, patches touching, as a tiny one).
        let tiny = graph
            .links
            .iter()
            .map(|l| l.2)
            .filter(|&d| d > 0.0)
            .fold(f64::INFINITY, f64::min);
        let tiny = if tiny.is_finite() { tiny * 1e-6 } else { 1e-6 };
        let links: Vec<(usize, usize, f64)> = graph
            .links
            .iter()
            .map(|&(a, b, d)| (a, b, d.max(tiny)))
            .collect();
        let centrality = crate::circuit::link_centrality(graph.attr.len(), &links)
            .with_context(|| format!("scenario `{}`: centrality", scenario.path.display()))?;
        Ok(CircuitResult::Done { pinch, centrality })
    })
}

/// A scenario's optimization problem on a pipeline (None without a budget) and its sweep.
pub struct Decision {
    /// The problem, when there is a budget.
    pub problem: Option<Problem>,
    /// The sweep's points (empty without a sweep).
    pub sweep: Vec<SweepPoint>,
}

/// A missing budget as an error (for commands that need a plan), before any work.
pub fn require_budget(scenario: &Scenario, budget_yuan: Option<f64>) -> Result<()> {
    if budget_yuan.or(scenario.file.optimize.budget_yuan).is_none() {
        bail!(
            "scenario `{}`: no budget: set [optimize] budget_yuan in the scenario or pass --budget-yuan",
            scenario.path.display()
        );
    }
    Ok(())
}

/// Bytes per cell at the run's peak: what lives through every stage plus the largest
/// stage's own arrays (the stages' peaks do not coincide). Measured on the 10^8-cell target
/// case (`run models/city_cluster.toml -v`, live heap read after and during each stage).
///
/// Through every stage: land cover (1), zone bits (1), districts (2), factors (1 each: the
/// class of their breaks), resistance (4), patch ids (4), the pinch points (2: on the zone
/// cells only) and, with `[access]`, the population raster (1: 8 bytes per populated cell,
/// counted for up to an eighth of the cells populated; 1.7% of the city cluster's are) and
/// the parks layer (1). The walking times of the landscape as it is are not held: the
/// residents beyond the walk are kept on their cells and the grid is computed again when it
/// is written.
///
/// From the corridors on ("kept", 17): the multi-source cost (4; its allocation is dropped
/// before the per-patch runs), the corridor raster on the zone cells (1), the corridor zones'
/// cells (12 bytes each per corridor: 8 per grid cell on the city cluster, whose zones cover
/// 8.1% of the grid and overlap about eight deep; released once the plans are measured,
/// before the plan's access, by the last scenario of a group sharing the stages) and, from
/// the candidates on, the site ids on the sites' cells (1: 8 bytes per site cell, counted for
/// up to an eighth of the cells; 4.6% of the city cluster's are a site's).
///
/// Stages' own: the park access stage (before the resistance) the impedance (4) and the
/// engine's `f64` times (8; they become the `f32` grid in their own memory, no allocation
/// kept); the sources labelling (8); the corridors the multi-source run (12: the `f64` cost,
/// which becomes the `f32` cost in its own memory, and the allocation) and then the cost
/// (4), the zones as they
/// grow (8, as kept), the tiled corridor raster (1) and the per-patch runs alive (8 per
/// thread, 1.6 GB with two on the city cluster); the candidates their parcel labels (8) and
/// the site id grid (4); measuring the plan, the refinement rounds
/// and the connectivity values change the resistance in place (the first thread's surface)
/// and give it back, so a copy of it per thread beyond the first (4) and per thread the runs
/// alive (3); measuring the plan's access a copy of the land cover (1, released once the
/// impedance is made), the impedance (4) and the engine's times (8); the walking times
/// written (the same run, 12, then the grid, 4, while the files are written strip by strip:
/// no layer is copied whole to be written, and the vector layers are streamed feature by
/// feature).
///
/// Measured on the city cluster with 2 threads, at the peak (`/usr/bin/time`): 8.72 GB on
/// 2026-12-02, 7.76 GB on 2026-12-03 (pinch points on the zone cells, the plan's access grids
/// dropped), then 6.37 and 6.54 GB in two runs with the factors as classes, the corridor
/// raster and the parks on their cells and the runs' pruning bound read from the multi-source
/// cost (later that day); 5.72 GB (5,585,564 KiB) with the allocation dropped after the
/// corridors and the zones' cells released before the plan's access, against 5.9 GB
/// estimated; 5.22 GB (5,218 MB, in the corridor stage) with the plan applied to the
/// resistance in place instead of copies (the refinement round 5.67 -> 4.79 GB), against 5.7
/// GB estimated; 5.00 GB (5,001 MB, the corridor stage) with the residents held on the
/// populated cells, against 5.4 GB estimated; 4.26 GB (4,260,072 KiB, measuring the plan's
/// access) and 4.16 GB (4,156,064 KiB) in two runs of nearly the same build on 2026-12-04
/// (the multi-source allocation dropped before the per-patch runs, the walking times not
/// held, layers written strip by strip, GeoJSON streamed, runs of costs only without an
/// allocation), against 4.6 GB estimated; 4.15 GB (4,050,564 KiB, in the candidates stage)
/// with the site ids held on the sites' cells, against 4.6 GB estimated. The walking run's queue (about 3 bytes per cell on
/// the city cluster's parks, freed with the run) is not counted.
pub fn bytes_per_cell(scenario: &Scenario, threads: usize) -> u64 {
    let f = &scenario.file;
    let threads = threads as u64;
    let pinch = if f.circuit.pinch_points == crate::scenario::PinchPoints::Off {
        0
    } else {
        2
    };
    let access = match &f.access {
        None => 0,
        Some(a) => u64::from(a.population.is_some()) + u64::from(a.parks.is_some()),
    };
    let through = 1
        + 1
        + if f.districts.is_some() { 2 } else { 0 }
        + f.factors.len() as u64
        + 4
        + 4
        + pinch
        + access;
    let access_stage = if f.access.is_some() { 4 + 8 } else { 0 };
    let sources = 8u64.max(access_stage);
    let corridors = (8 + 4u64).max(4 + 8 + 1 + 8 * threads);
    // Kept from the corridors on: the multi-source cost, the corridor raster, the zones'
    // cells and the site ids on their cells; the zones are released before the plan's access.
    let zones = 8;
    let kept = 4 + 1 + zones + 1;
    // The candidates' parcel labels (8) and the site id grid made from them (4), which
    // becomes the site ids on their cells at the end of the stage.
    let candidates = 12;
    let measure = 4 * threads.saturating_sub(1) + 3 * threads;
    let plan_access = if f.access.is_some() { 4 + 8 } else { 0 };
    through
        + sources
            .max(corridors)
            .max(kept + candidates.max(measure))
            .max(kept - zones + plan_access)
}

/// The peak memory a run of `scenario` needs, from its land cover's header: (cells, bytes).
pub fn memory_estimate(scenario: &Scenario) -> Result<(u64, u64)> {
    let header = crate::io::open_raster(&scenario.file.landscape.landcover)?
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
fn check_memory(scenario: &Scenario, ctx: &Context) -> Result<()> {
    // An unreadable land cover is reported with every other problem by the load stage.
    let Ok((cells, bytes)) = memory_estimate(scenario) else {
        return Ok(());
    };
    let gb = bytes as f64 / 1e9;
    if let Some(max) = ctx.max_memory {
        if bytes > max {
            let per_thread = bytes_per_cell(scenario, 2) - bytes_per_cell(scenario, 1);
            let threads = if per_thread > 0 {
                format!("use fewer threads (each adds {per_thread} bytes per cell), ")
            } else {
                String::new()
            };
            bail!(
                "scenario `{}`: {cells} cells need about {gb:.1} GB, more than --max-memory {:.1} GB\n  hint: {threads}use a coarser cell size (`gdalwarp -tr 60 60 -tap ...` quarters the cells; warp every raster the same way), or split the study area",
                scenario.path.display(),
                max as f64 / 1e9,
            );
        }
    }
    if gb >= 1.0 || ctx.verbose {
        ctx.say(format_args!(
            "{cells} cells: about {gb:.1} GB of memory at the peak"
        ));
    }
    Ok(())
}

/// Runs the stages up to the candidates (everything `Scenario::stage_key` covers).
pub fn build(scenario: &Scenario, ctx: &Context) -> Result<Pipeline> {
    let about = || format!("scenario `{}`", scenario.path.display());
    check_memory(scenario, ctx)?;
    let land = ctx.stage("load", || load_landscape(scenario, ctx))?;
    let access = access_stage(scenario, &land, ctx)?.map(|a| hold_access(scenario, &land, a));
    let (mut res, src, net) = run_to_corridors(scenario, &land, ctx, true)?;
    if !net.isolated.is_empty() {
        ctx.say(format_args!(
            "warning: {} patch(es) have no corridor (isolated by barriers, beyond max_cwd, or every path crossed another patch): {}",
            net.isolated.len(),
            net.isolated
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let graph = patch_graph(&src, &net);
    let (network, d50, landscape_area_ha) =
        analyse_network(scenario, &land, &src, &graph, &net, ctx)?;
    let circuit = circuit_stage(scenario, (&land, &res, &src), (&net, &graph), ctx)?;
    let benefit = scenario.file.candidates.connector_benefit;
    let value: Vec<f64> = match benefit {
        // (Replaced by measured values below; dPC ranks the parcels kept until then.)
        ConnectorBenefit::Dpc | ConnectorBenefit::PcGain => {
            network.links.iter().map(|l| l.d_pc).collect()
        }
        ConnectorBenefit::Gravity => network
            .gravity
            .clone()
            .unwrap_or_else(|| vec![0.0; net.corridors.len()]),
    };
    let (res_opts, _) = settings::resistance_options(scenario, &land).with_context(about)?;
    let model = resistance::CellModel::new(&land, &res_opts);
    let opts = settings::candidate_options(scenario);
    let cands = ctx.stage("candidates", || {
        let given = crate::io::load::read_given_parcels(scenario, &land)
            .map_err(anyhow::Error::msg)
            .with_context(about)?;
        let inputs = candidates::Inputs {
            land: &land,
            model: &model,
            res: res.values(),
            sources: &src,
            net: &net,
            value: &value,
            given: given.as_deref(),
        };
        candidates::build(&inputs, &opts).with_context(about)
    })?;
    let mut cands = cands;
    let mut connector_lcd = None;
    let exact = scenario.file.optimize.connectivity == ConnectivityTerm::Exact;
    if benefit == ConnectorBenefit::PcGain || exact {
        ctx.stage("connectivity values", || {
            let forbidden = plan::check(&land, &src, &scenario.file.optimize)
                .map_err(|e| anyhow::anyhow!("{}: {e}", about()))?;
            let gaps = plan::allowed_gap_sites(&land, &cands, &forbidden);
            let restoration = candidates::Restoration::new(&land, &model, &src);
            let lcds = measure::connector_lcds(
                &land.grid,
                &mut res,
                &restoration,
                &cands,
                &gaps,
                &vec![true; gaps.len()],
                opts.crossing_resistance as f32,
                &src,
                (&net, None),
                &settings::corridor_options(scenario),
            )
            .with_context(about)?;
            connector_lcd = Some(lcds.clone());
            if benefit == ConnectorBenefit::PcGain {
                let gains =
                    network::LinkGains::new(&graph, landscape_area_ha, d50).with_context(about)?;
                let base: Vec<f64> = net.corridors.iter().map(|c| c.lcd).collect();
                let values = measure::pc_values(&gains, &net, &base, &cands, lcds);
                for (c, v) in cands.connectors.iter_mut().zip(&values.connector) {
                    c.benefit = *v;
                }
                for (s, v) in cands.sites.iter_mut().zip(&values.site) {
                    s.benefit = *v;
                }
            }
            Ok(())
        })?;
    }
    drop(model);
    apply_pinch_weight(scenario, &circuit, &mut cands)?;
    let park_cover = park_cover(scenario, &land, &mut cands, access.as_ref(), ctx)?;
    ctx.say(format_args!(
            "{} candidate sites ({:.1} ha, {:.0} yuan in all), {} connectors, {} corridors working already",
            cands.sites.len(),
            cands.sites.iter().map(|s| s.area_ha).sum::<f64>(),
            cands.sites.iter().map(|s| s.cost_yuan).sum::<f64>(),
            cands.connectors.len(),
            cands.existing.len()
        ));
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
        connector_lcd,
        circuit,
        access,
        park_cover,
        zones_released: false,
    })
}

/// What the run keeps of park access now: the footbridge candidates found on its walking
/// times (only when park access is in the objective, `[optimize] access_weight` or
/// `min_access_pct`, and `[access] footbridge_max_m` > 0) and the residents beyond the walk;
/// the walking-time grid goes.
fn hold_access(
    scenario: &Scenario,
    land: &Landscape,
    a: crate::access::Access,
) -> crate::access::HeldAccess {
    let sec = &scenario.file.optimize;
    let wanted = sec.access_weight > 0.0 || sec.min_access_pct.is_some();
    let bridges = match settings::access_options(scenario) {
        Some(opts) if wanted && opts.footbridge_max_m > 0.0 => {
            crate::access::footbridges(land, &a.minutes, &opts, opts.footbridge_max_m)
        }
        _ => Vec::new(),
    };
    let population = crate::access::residents(land);
    a.into_held(&population, bridges)
}

/// The walking times to the parks of the landscape as it is, min per cell (`+∞` unreached,
/// NaN outside): computed again from the parks the run holds, the same run as the park access
/// stage's (the grid is not held through the stages between). None without `[access]`.
///
/// # Errors
/// An impedance that is not a resistance (checked options never give one).
pub fn walk_minutes_now(p: &Pipeline, scenario: &Scenario) -> Result<Option<Vec<f32>>> {
    let (Some(opts), Some(now)) = (settings::access_options(scenario), &p.access) else {
        return Ok(None);
    };
    let impedance = crate::access::walk_impedance(&p.land, &p.land.landcover, opts.walk_speed_kmh);
    crate::access::walk_minutes(&p.land, impedance, &now.parks)
        .map(Some)
        .with_context(|| {
            format!(
                "scenario `{}`: walking times to the parks",
                scenario.path.display()
            )
        })
}

/// The residents each candidate park site (of at least `min_park_ha`) and each footbridge
/// would bring within the walk, grouped for the covering term; None without `[access]` or
/// anything that could. Footbridges (`access::footbridges`, found when park access was
/// measured) are offered only when park access is in the objective: for each block of
/// `block_m` on the far side, the candidate that brings most residents within the walk (ties
/// to the first in scan order), if any; they are appended to the candidate sites.
fn park_cover(
    scenario: &Scenario,
    land: &Landscape,
    cands: &mut Candidates,
    access: Option<&crate::access::HeldAccess>,
    ctx: &Context,
) -> Result<Option<ParkCover>> {
    let (Some(opts), Some(now)) = (settings::access_options(scenario), access) else {
        return Ok(None);
    };
    let parks: Vec<usize> = (0..cands.sites.len())
        .filter(|&k| {
            cands.sites[k].park && cands.sites[k].area_ha >= opts.min_park_ha * (1.0 - 1e-9)
        })
        .collect();
    let bridges = &now.footbridges;
    if parks.is_empty() && bridges.is_empty() {
        return Ok(None);
    }
    let (reach, kept) = ctx.stage("park sites' reach", || {
        let mut items: Vec<(&[u32], f64)> =
            parks.iter().map(|&k| (cands.cells_of(k), 0.0)).collect();
        let far: Vec<[u32; 1]> = bridges.iter().map(|b| [b.ends.1]).collect();
        items.extend(
            far.iter()
                .zip(bridges)
                .map(|(f, b)| (&f[..], b.far_minutes)),
        );
        let reach = crate::access::reach(land, &now.beyond, &items, &opts)
            .with_context(|| format!("scenario `{}`", scenario.path.display()))?;
        let kept = best_footbridges(land, bridges, &reach, parks.len(), opts.block_m);
        Ok((reach, kept))
    })?;
    let n = cands.sites.len();
    let cols = land.grid.cols();
    let rows: Vec<(Vec<u32>, f64, u16, f64, f64)> = kept
        .iter()
        .map(|&j| {
            let b = &bridges[j];
            let mid = b.cells[b.cells.len() / 2] as usize;
            let (x, y) = land.grid.cell_center(mid / cols, mid % cols);
            let district = land
                .districts
                .as_ref()
                .map_or(0, |d| d.ids[b.ends.1 as usize]);
            (
                b.cells.clone(),
                b.length_m * opts.footbridge_cost_yuan_per_m,
                district,
                x,
                y,
            )
        })
        .collect();
    cands.append_footbridges(&rows);
    let items = (0..parks.len()).chain(kept.iter().map(|&j| parks.len() + j));
    let groups: Vec<(f64, Vec<usize>)> = reach
        .groups(items)
        .into_iter()
        .map(|(persons, by)| {
            let by = by
                .into_iter()
                .map(|j| {
                    if j < parks.len() {
                        parks[j]
                    } else {
                        n + j - parks.len()
                    }
                })
                .collect();
            (persons, by)
        })
        .collect();
    ctx.say(format_args!(
        "{} candidate park sites and {} footbridges could bring {:.0} residents within the walk (model estimate)",
        parks.len(),
        kept.len(),
        groups.iter().map(|g| g.0).sum::<f64>()
    ));
    Ok(Some(groups))
}

/// The footbridges offered (indices into `bridges`, ascending): per block of `block_m` of
/// the far landing, the one whose reach (item `offset + j` of `reach`) holds most residents,
/// if any.
fn best_footbridges(
    land: &Landscape,
    bridges: &[crate::access::Footbridge],
    reach: &crate::access::Reach,
    offset: usize,
    block_m: f64,
) -> Vec<usize> {
    let cols = land.grid.cols();
    let b = ((block_m / land.grid.cell_size_m()).round() as usize).max(1);
    let block = |i: u32| {
        let i = i as usize;
        (i / cols / b, (i % cols) / b)
    };
    let mut best: std::collections::BTreeMap<(usize, usize), (f64, usize)> = Default::default();
    for (j, br) in bridges.iter().enumerate() {
        let persons = reach.persons(offset + j);
        if persons <= 0.0 {
            continue;
        }
        let e = best.entry(block(br.ends.1)).or_insert((persons, j));
        if persons > e.0 {
            *e = (persons, j);
        }
    }
    let mut kept: Vec<usize> = best.into_values().map(|(_, j)| j).collect();
    kept.sort_unstable();
    kept
}

/// Park access with the plan applied (`sites[k]` for `p.cands.sites[k]`): every restorable
/// cell of a selected site takes its target class, as when the plan's connectivity is
/// measured, and the cells of a selected footbridge are walked at street speed; walking times
/// and coverage are measured again for the same residents. None when
/// the scenario has no `[access]`. Crossing structures of connectors are for wildlife and
/// leave walking as it is.
///
/// # Errors
/// The resistance options (for the restoration rule) or the access measurement failing.
pub fn measure_plan_access(
    p: &Pipeline,
    scenario: &Scenario,
    sites: &[bool],
) -> Result<Option<crate::access::AccessRows>> {
    let Some(opts) = settings::access_options(scenario) else {
        return Ok(None);
    };
    let about = || {
        format!(
            "scenario `{}`: measuring the plan's park access",
            scenario.path.display()
        )
    };
    let (res_opts, _) = settings::resistance_options(scenario, &p.land).with_context(about)?;
    let model = resistance::CellModel::new(&p.land, &res_opts);
    let restoration = candidates::Restoration::new(&p.land, &model, &p.src);
    let mut landcover = p.land.landcover.clone();
    let mut walkable = Vec::new();
    for (k, _) in sites.iter().enumerate().filter(|(_, &x)| x) {
        if p.cands.sites[k].footbridge {
            walkable.extend_from_slice(p.cands.cells_of(k));
            continue;
        }
        for &c in p.cands.cells_of(k) {
            if let Some(t) = restoration.target(c as usize) {
                landcover[c as usize] = t;
            }
        }
    }
    let population = crate::access::residents(&p.land);
    let parks = p.land.access.as_ref().and_then(|a| a.park_cells.as_deref());
    crate::access::measure_with(&p.land, landcover, &population, parks, &walkable, &opts)
        .map(|a| Some(a.into_rows()))
        .with_context(about)
}

/// Park access on `land` (`[access]`), None when the scenario has no such section.
///
/// # Errors
/// Options out of range, no qualifying park (naming the scenario and the fix).
pub fn access_stage(
    scenario: &Scenario,
    land: &Landscape,
    ctx: &Context,
) -> Result<Option<crate::access::Access>> {
    let Some(opts) = settings::access_options(scenario) else {
        return Ok(None);
    };
    let about = || format!("scenario `{}`", scenario.path.display());
    ctx.stage("park access", || {
        let population = crate::access::residents(land);
        let parks = land.access.as_ref().and_then(|a| a.park_cells.as_deref());
        let a = crate::access::measure(land, &population, parks, &opts).with_context(about)?;
        let t = a.total();
        ctx.say(format_args!(
            "park access: {:.0} of {:.0} residents ({:.1} %) within {} min of one of {} parks",
            t.covered,
            t.population,
            t.covered_pct,
            opts.threshold_min,
            a.parks.areas_ha.len()
        ));
        Ok(Some(a))
    })
}

/// The optimization problem of `scenario` (its `[optimize]` section) on a pipeline.
pub fn decide(
    p: &Pipeline,
    scenario: &Scenario,
    budget_yuan: Option<f64>,
    ctx: &Context,
) -> Result<Decision> {
    let about = || format!("scenario `{}`", scenario.path.display());
    let ends = |id: u32| {
        let c = &p.net.corridors[id as usize - 1];
        (c.from, c.to)
    };
    match budget_yuan.or(scenario.file.optimize.budget_yuan) {
        None => {
            plan::check(&p.land, &p.src, &scenario.file.optimize)
                .map_err(|e| anyhow::anyhow!("{}: {e}", about()))?;
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
            .map_err(|e| anyhow::anyhow!("{}: {e}", about()))?;
            let mut problem = problem;
            if scenario.file.optimize.connectivity == ConnectivityTerm::Exact {
                problem.exact = exact_network(p, ctx);
            }
            problem.coverage = coverage(p, &scenario.file.optimize);
            let sweep = plan::sweep_points(&problem, &scenario.file.optimize);
            Ok(Decision {
                problem: Some(problem),
                sweep,
            })
        }
    }
}

/// The park-access term of the problem: the groups of [`Pipeline::park_cover`] with
/// `[optimize] access_weight`, and the residents `min_access_pct` asks the plan to add to
/// those within the walk now; None when neither is set.
fn coverage(p: &Pipeline, sec: &crate::scenario::OptimizeSection) -> Option<optimize::Coverage> {
    if sec.access_weight <= 0.0 && sec.min_access_pct.is_none() {
        return None;
    }
    let now = p.access.as_ref()?.total();
    let min_persons = sec
        .min_access_pct
        .map(|pct| (pct / 100.0 * now.population - now.covered).max(0.0));
    Some(optimize::Coverage {
        groups: p.park_cover.clone().unwrap_or_default(),
        weight: sec.access_weight,
        min_persons,
    })
}

/// Largest patch network exact mode takes (patches, connectors): its MILP has up to
/// patches × 2 (links + connectors) flow variables before preprocessing (`optimize::exact`).
/// On networks like the pipeline's HiGHS proves 40 patches and 120 connectors optimal (0.1 %
/// of the gain) in 24 s, while 50 and 150 end 1.6 % from the bound after 60 s
/// (`benches/exact.rs`).
pub const EXACT_MAX: (usize, usize) = (40, 120);

/// The patch network of exact mode: links at `p = exp(−k LCD)` now, each connector's link at
/// the LCD measured with it built; None (with a note) when the network is larger than
/// [`EXACT_MAX`].
fn exact_network(p: &Pipeline, ctx: &Context) -> Option<optimize::ExactPc> {
    let (n, k) = (p.graph.attr.len(), p.cands.connectors.len());
    if n > EXACT_MAX.0 || k > EXACT_MAX.1 {
        ctx.say(format_args!(
            "note: [optimize] connectivity = \"exact\" takes networks of at most {} patches and {} connectors; this one has {n} and {k}, so the measured proxy (with refinement) is used",
            EXACT_MAX.0, EXACT_MAX.1
        ));
        return None;
    }
    let lcds = p.connector_lcd.as_ref()?;
    let kk = std::f64::consts::LN_2 / p.d50;
    let prob = |lcd: f64| (-kk * lcd).exp();
    let links = p
        .graph
        .links
        .iter()
        .map(|&(a, b, d)| (a, b, prob(d)))
        .collect();
    let improved = p
        .cands
        .connectors
        .iter()
        .zip(lcds)
        .map(|(c, lcd)| {
            let (a, b, _) = p.graph.links[c.id as usize - 1];
            lcd.map(|d| (a, b, prob(d)))
        })
        .collect();
    Some(optimize::ExactPc::new(
        p.graph.attr.clone(),
        links,
        improved,
    ))
}

/// The plan (`sites` per candidate site, `connectors` per candidate connector) applied to the
/// landscape and its network measured (see `crate::measure`): the same patches, pairs,
/// d50 and landscape area as "now". `earlier`, another plan's measurement (the last
/// refinement round's, the kept plan's for sweep plans), only bounds the runs: the same
/// result with or without it (see [`measure::measure_on`]).
pub fn measure_plan(
    p: &mut Pipeline,
    scenario: &Scenario,
    (sites, connectors): (&[bool], &[bool]),
    earlier: Option<&measure::Measured>,
) -> Result<measure::Measured> {
    let about = || format!("scenario `{}`: measuring the plan", scenario.path.display());
    p.zones_held()?;
    let (res_opts, _) = settings::resistance_options(scenario, &p.land).with_context(about)?;
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
    let classes = p.land.classes.classes();
    let grown = scenario.file.network.grow_patches.then(|| {
        let habitat = |c: usize| {
            restoration
                .target(c)
                .is_some_and(|t| classes[t as usize].habitat)
        };
        measure::grown_sources(&p.land.grid, &p.src, &changes, &habitat)
    });
    measure::measure_on(
        &p.land.grid,
        &mut p.res,
        &changes,
        (&p.src, grown.as_ref()),
        (&p.net, earlier),
        &p.graph,
        &opts,
    )
    .with_context(about)
}

/// Loads the landscape, printing every problem; fatal problems end the command (exit 2).
pub fn load_landscape(scenario: &Scenario, ctx: &Context) -> Result<landscape::Landscape> {
    let report = load::load(scenario);
    for p in &report.problems {
        if p.severity == Severity::Fatal {
            ctx.shout(format_args!("{p}"));
        } else {
            ctx.say(format_args!("{p}"));
        }
    }
    match report.landscape {
        Some(l) => Ok(l),
        None => {
            let n = report
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Fatal)
                .count();
            bail!(
                "{n} fatal problem(s) in scenario `{}`; nothing was written",
                scenario.path.display()
            )
        }
    }
}

/// The resistance surface of a loaded landscape (warnings about the options are printed).
pub fn build_resistance(
    scenario: &Scenario,
    land: &landscape::Landscape,
    ctx: &Context,
) -> Result<Resistance> {
    let (opts, warnings) = settings::resistance_options(scenario, land)
        .with_context(|| format!("scenario `{}`", scenario.path.display()))?;
    for w in warnings {
        ctx.say(format_args!("warning: {w}"));
    }
    resistance::build(land, &opts).with_context(|| {
        format!(
            "scenario `{}`: the resistance surface is not usable",
            scenario.path.display()
        )
    })
}

/// The ecological sources of a loaded landscape, by the scenario's `[sources]` method.
pub fn build_sources(
    scenario: &Scenario,
    land: &landscape::Landscape,
    res: &Resistance,
) -> Result<Sources> {
    let given = load::read_given_sources(scenario, &land.grid).map_err(anyhow::Error::msg)?;
    let method = settings::source_method(scenario, given)?;
    sources::build(land, res, &method).with_context(|| {
        format!(
            "scenario `{}`: no usable ecological sources",
            scenario.path.display()
        )
    })
}

/// The stages' own checks of a loaded landscape (`validate`): resistance values, source
/// options and sizes, candidate options, the plan's zones, given parcels, and park access
/// (options and at least one park).
///
/// # Errors
/// The first problem, naming the scenario.
pub fn check_stages(scenario: &Scenario, land: &Landscape, ctx: &Context) -> Result<Sources> {
    let res = build_resistance(scenario, land, ctx)?;
    let src = build_sources(scenario, land, &res)?;
    let about = || format!("scenario `{}`", scenario.path.display());
    candidates::check(&settings::candidate_options(scenario)).with_context(about)?;
    plan::check(land, &src, &scenario.file.optimize)
        .map_err(anyhow::Error::msg)
        .with_context(about)?;
    if let Some(parcels) = load::read_given_parcels(scenario, land)
        .map_err(anyhow::Error::msg)
        .with_context(about)?
    {
        if let Some(p) = parcels.iter().find(|p| p.cells.is_empty()) {
            bail!(
                "{}: [candidates] parcels: parcel `{}` covers no cell centre of the study area",
                about(),
                p.name
            );
        }
    }
    access_stage(scenario, land, ctx)?;
    Ok(src)
}

/// Resistance, sources and corridors of a loaded landscape, each stage timed.
pub fn run_to_corridors(
    scenario: &Scenario,
    land: &landscape::Landscape,
    ctx: &Context,
    keep_zone_cells: bool,
) -> Result<(Resistance, Sources, corridors::CorridorNetwork)> {
    let res = ctx.stage("resistance", || build_resistance(scenario, land, ctx))?;
    let src = ctx.stage("sources", || build_sources(scenario, land, &res))?;
    let opts = corridors::CorridorOptions {
        keep_zone_cells,
        ..settings::corridor_options(scenario)
    };
    let net = ctx.stage("corridors", || {
        corridors::build(&land.grid, &res, &src, &opts)
            .with_context(|| format!("scenario `{}`", scenario.path.display()))
    })?;
    Ok((res, src, net))
}

/// The patch graph of the sources and corridors (node order = patch order).
pub fn patch_graph(src: &Sources, net: &corridors::CorridorNetwork) -> network::Graph {
    let slot: std::collections::BTreeMap<u32, usize> = src
        .patches
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    network::Graph {
        attr: src.patches.iter().map(|p| p.area_ha).collect(),
        links: net
            .corridors
            .iter()
            .map(|c| (slot[&c.from], slot[&c.to], c.lcd))
            .collect(),
    }
}

/// Connectivity of the patch graph with the scenario's d50 (default: the median corridor
/// LCD) and landscape area (default: the study area). Returns the result, d50 and A_L (ha).
pub fn analyse_network(
    scenario: &Scenario,
    land: &landscape::Landscape,
    src: &Sources,
    graph: &network::Graph,
    net: &corridors::CorridorNetwork,
    ctx: &Context,
) -> Result<(network::NetworkResult, f64, f64)> {
    let spec = &scenario.file.network;
    let study_ha = land.study_cells() as f64 * land.grid.cell_area_ha();
    let landscape_area_ha = spec.landscape_area_ha.unwrap_or(study_ha);
    let mut lcds: Vec<f64> = net.corridors.iter().map(|c| c.lcd).collect();
    lcds.sort_by(|a, b| a.total_cmp(b));
    let d50 = spec.d50.unwrap_or_else(|| {
        if lcds.is_empty() {
            1.0
        } else {
            lcds[lcds.len() / 2]
        }
    });
    let resistances: Vec<f64> = src
        .patches
        .iter()
        .map(|p| {
            if p.mean_resistance.is_finite() {
                p.mean_resistance
            } else {
                1.0
            }
        })
        .collect();
    let result = ctx.stage("network", || {
        network::analyse(graph, landscape_area_ha, d50, Some(&resistances))
            .with_context(|| format!("scenario `{}`: [network]", scenario.path.display()))
    })?;
    Ok((result, d50, landscape_area_ha))
}

/// One round of [`plan_and_measure`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Round {
    /// 1 for the first solve.
    pub round: usize,
    /// The plan's connectivity term as the optimizer modelled it (Σ benefit of the chosen
    /// candidates, in the round's values).
    pub connectivity_proxy: f64,
    /// Its objective.
    pub objective: f64,
    /// ECA measured on the landscape with this round's plan applied, ha.
    pub eca_plan_ha: f64,
    /// The objective with the measured rise in PC in place of the modelled connectivity
    /// term (same weights and normalisers as the first round): what rounds are ranked by.
    pub measured_objective: f64,
    /// Whether this round's plan is the one kept (the best measured).
    pub kept: bool,
}

/// The plan kept, its measurement and every round's figures.
pub struct Refined {
    /// The plan with the best measured objective (the earliest on ties).
    pub plan: Plan,
    /// Its measurement on the restored landscape.
    pub measured: measure::Measured,
    /// The problem it was solved on (its values may be a later round's).
    pub problem: Problem,
    /// Every round, in order.
    pub rounds: Vec<Round>,
}

/// Solves the problem, measures the plan on the restored landscape and, for up to
/// `[optimize] refine_rounds` rounds, values the candidates again on that restored landscape
/// and solves again; keeps the plan whose measured objective is highest: the same weights and
/// normalisers, with the measured rise in PC in place of the modelled connectivity term (the
/// candidates' `pc_gain` values are in PC units, so the two are on one scale).
///
/// Refinement (only with `connector_benefit = "pc_gain"` and a connectivity weight > 0): the
/// candidates the last plan did not choose get their value on top of it (each connector's
/// corridor measured on the restored surface with the connector built, its exact rise in PC
/// in the restored network; sites by the secant of those gain curves); the chosen ones keep
/// their value, so the solver weighs what more the budget buys against what it has. Each
/// round's plan is measured; the best measured is kept, so refining never keeps a plan that
/// measures worse than the first. The revalued problems keep the first round's normaliser of
/// the connectivity term, so the weights mean the same in every round.
///
/// # Errors
/// The solver's [`OptimizeError`] as the inner error (an infeasible problem is not a
/// failure of the run); failed measurements as the outer one.
pub fn plan_and_measure(
    p: &mut Pipeline,
    scenario: &Scenario,
    problem: &Problem,
    solve: &SolveOptions,
    ctx: &Context,
) -> Result<std::result::Result<Refined, OptimizeError>> {
    let first = ctx.stage("optimize", || Ok(optimize::solve(problem, solve)));
    let plan = match first? {
        Ok(plan) => plan,
        Err(e @ OptimizeError::Infeasible(_)) => return Ok(Err(e)),
        Err(e) => return Err(e.into()),
    };
    let measured = ctx.stage("measure plan", || {
        measure_plan(p, scenario, (&plan.sites, &plan.connectors), None)
    })?;
    // Weights and normalisers of the first round for every round's measured objective.
    let (g_norm, b_norm) = optimize::normalisers(problem);
    let pc_now = p.network.indices.pc;
    let score = |plan: &Plan, m: &measure::Measured| {
        problem.w_carbon * plan.carbon_tco2e / g_norm
            + problem.w_benefit * (m.indices.pc - pc_now) / b_norm
    };
    let mut rounds = vec![Round {
        round: 1,
        connectivity_proxy: plan.benefit,
        objective: plan.objective,
        eca_plan_ha: measured.indices.eca_ha,
        measured_objective: score(&plan, &measured),
        kept: true,
    }];
    let mut best = Refined {
        plan,
        measured,
        problem: problem.clone(),
        rounds: Vec::new(),
    };
    let refine = scenario.file.candidates.connector_benefit == ConnectorBenefit::PcGain
        && problem.w_benefit > 0.0
        && problem.exact.is_none();
    let (mut last_plan, mut last_measured, mut last_problem) =
        (best.plan.clone(), best.measured.clone(), problem.clone());
    let total = if refine {
        scenario.file.optimize.refine_rounds.max(1)
    } else {
        1
    };
    for round in 2..=total {
        let next = ctx.stage(&format!("refine round {round}"), || {
            let revalued = revalue(p, scenario, &last_problem, &last_plan, &last_measured)?;
            match optimize::solve(&revalued, solve) {
                Ok(plan) => {
                    let m = measure_plan(
                        p,
                        scenario,
                        (&plan.sites, &plan.connectors),
                        Some(&last_measured),
                    )?;
                    Ok(Some((revalued, plan, m)))
                }
                // A revalued problem has the same constraints: a failure here ends refining.
                Err(_) => Ok(None),
            }
        })?;
        let Some((revalued, plan, m)) = next else {
            break;
        };
        let better = score(&plan, &m) > score(&best.plan, &best.measured);
        if better {
            for r in &mut rounds {
                r.kept = false;
            }
        }
        rounds.push(Round {
            round,
            connectivity_proxy: plan.benefit,
            objective: plan.objective,
            eca_plan_ha: m.indices.eca_ha,
            measured_objective: score(&plan, &m),
            kept: better,
        });
        if better {
            best = Refined {
                plan: plan.clone(),
                measured: m.clone(),
                problem: revalued.clone(),
                rounds: Vec::new(),
            };
        }
        let same = plan.sites == last_plan.sites && plan.connectors == last_plan.connectors;
        (last_plan, last_measured, last_problem) = (plan, m, revalued);
        if same {
            break; // a fixed point: more rounds would repeat it
        }
    }
    best.rounds = rounds;
    Ok(Ok(best))
}

/// The problem with the candidates a plan did not choose valued on top of it (see
/// [`plan_and_measure`]).
fn revalue(
    p: &mut Pipeline,
    scenario: &Scenario,
    problem: &Problem,
    plan: &Plan,
    measured: &measure::Measured,
) -> Result<Problem> {
    let about = || format!("scenario `{}`: refining the plan", scenario.path.display());
    p.zones_held()?;
    let (res_opts, _) = settings::resistance_options(scenario, &p.land).with_context(about)?;
    let model = resistance::CellModel::new(&p.land, &res_opts);
    let restoration = candidates::Restoration::new(&p.land, &model, &p.src);
    let copts = settings::candidate_options(scenario);
    let crossing = copts.crossing_resistance as f32;
    let changes = measure::changes(
        &restoration,
        &p.res,
        &p.cands,
        &plan.sites,
        &plan.connectors,
        crossing,
    );
    // The plan applied in place (put back when `restored` goes): no copy of the grid.
    let mut restored = p
        .res
        .patched_exact(&changes.cells, &changes.plan)
        .map_err(|(k, x)| measure::bad_value(&changes, k, x))
        .with_context(about)?;
    // The restored network: every link at its measured LCD.
    let base: Vec<f64> = measured
        .links
        .iter()
        .map(|l| l.lcd.unwrap_or(l.lcd_now))
        .collect();
    let graph = Graph {
        attr: p.graph.attr.clone(),
        links: p
            .graph
            .links
            .iter()
            .zip(&base)
            .map(|(&(a, b, _), &d)| (a, b, d))
            .collect(),
    };
    let gaps: Vec<Vec<usize>> = problem
        .connectors
        .iter()
        .map(|c| c.gap_sites.clone())
        .collect();
    // The connectors the plan built keep their values (below): only the others are measured.
    let unbuilt: Vec<bool> = plan.connectors.iter().map(|&c| !c).collect();
    // The plan's own paths bound the runs too, unless its patches grew (its paths may then
    // start from cells that are no source here).
    let earlier = (!scenario.file.network.grow_patches).then_some(measured);
    let lcds = measure::connector_lcds(
        &p.land.grid,
        &mut restored,
        &restoration,
        &p.cands,
        &gaps,
        &unbuilt,
        crossing,
        &p.src,
        (&p.net, earlier),
        &settings::corridor_options(scenario),
    )
    .with_context(about)?;
    // A built connector's corridor measured again with it built is the plan's measurement
    // (the same surface, the same exact runs): its curve is flat there, which is what the
    // sites on it are valued by.
    let mut lcds = lcds;
    for (k, conn) in p.cands.connectors.iter().enumerate() {
        if plan.connectors[k] {
            lcds[k] = measured.links[conn.id as usize - 1].lcd;
        }
    }
    let gains = network::LinkGains::new(&graph, p.landscape_area_ha, p.d50).with_context(about)?;
    let values = measure::pc_values(&gains, &p.net, &base, &p.cands, lcds);
    let mut out = problem.clone();
    // The first round's scale: the connectivity term stays in the same units, so the
    // weights keep their meaning across rounds.
    out.benefit_norm = Some(optimize::normalisers(problem).1);
    for (k, s) in out.sites.iter_mut().enumerate() {
        if !plan.sites[k] {
            s.benefit = values.site[k];
        }
    }
    for (k, c) in out.connectors.iter_mut().enumerate() {
        if !plan.connectors[k] {
            c.benefit = values.connector[k];
        }
    }
    Ok(out)
}
