//! Command-line parsing and the commands' thin edges: read inputs through `io`, call the pure
//! stages, print and write results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};
use ecocorridor::app::pipeline::{
    analyse_network, build_resistance, build_sources, load_landscape, patch_graph, run_to_corridors,
};
use ecocorridor::app::tools;
use ecocorridor::app::Context;
use ecocorridor::carbon;
use ecocorridor::costdist::CostOptions;
use ecocorridor::io::load::{self, Severity};
use ecocorridor::landscape::AreaRow;
use ecocorridor::linsolve::Method;
use ecocorridor::report;
use ecocorridor::report::layers::{self, write_table};
use ecocorridor::scenario::Scenario;
use ecocorridor::synth::SynthOptions;

/// Prints a line to stdout; a closed pipe (`ecocorridor validate s.toml | head`) ends the
/// program quietly instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = writeln!(stdout, $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

/// Prints a line to stderr; a closed pipe (`ecocorridor run s.toml 2>&1 | head -2`) loses the
/// line, never the run.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod batch_cmd;
mod optimize_cmd;
mod run_cmd;

#[derive(Parser)]
#[command(
    name = "ecocorridor",
    version,
    about = "Ecological corridors, carbon sinks and restoration planning on land-cover rasters",
    after_help = "Where to start:\n  ecocorridor run models/demo.toml              the bundled demo (inputs in inputs/demo; `make demo` builds and runs it)\n  ecocorridor init mydir --landcover LC.tif --zones 生态保护红线.shp --districts 区县.shp\n                                               a scenario for your own data, paths relative to it\n  ecocorridor validate mydir/scenario.toml       every problem with the inputs, all at once\n  ecocorridor run mydir/scenario.toml            the whole job"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Print nothing but errors.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print each stage's peak memory and the MILP solver's log.
    #[arg(long, short, global = true)]
    verbose: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    /// Refuse a scenario run whose estimated peak memory is above this (e.g. 8G, 500M).
    #[arg(long = "max-memory", global = true, value_name = "SIZE", value_parser = ecocorridor::app::parse_size)]
    max_memory: Option<u64>,
}

/// `circuit --solver`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum SolverArg {
    Auto,
    Cholesky,
    Amg,
}

/// `circuit --mode`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    /// 1 A between each pair of focal regions.
    Pairwise,
    /// Each region in turn: 1 A in, every other region grounded.
    OneToAll,
    /// Each region in turn: grounded, 1 A in at every other region.
    AllToOne,
}

#[derive(Subcommand)]
enum Command {
    /// Load every input of a scenario, check it and print a summary (grid, area by class,
    /// zones, districts) and every problem found.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
    /// Build the resistance surface: writes resistance.tif (f32; barriers and cells outside
    /// the study area are nodata) and resistance_stats.csv (per class and zone).
    Resistance {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Output folder (default: [output] dir, else outputs/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Make the ecological sources: writes sources.tif (u32 patch ids, 0 = none) and
    /// patches.csv (area, core area, perimeter, centroid, mean resistance, carbon per patch).
    Sources {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Output folder (default: [output] dir, else outputs/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Build least-cost corridors between the sources: writes cost_distance.tif,
    /// corridors.tif (minimum normalized least-cost corridor value within the width),
    /// corridors.csv, corridors.geojson, and the sources (sources.tif, patches.csv).
    Corridors {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Output folder (default: [output] dir, else outputs/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Cost distance for your own rasters: minimum cumulative resistance from the source
    /// cells (non-zero values = source ids) over an 8-connected grid.
    Costdist {
        /// Resistance raster (GeoTIFF or ASCII grid); nodata and +inf cells are impassable.
        #[arg(long)]
        resistance: PathBuf,
        /// Source raster on the same grid: non-zero cells are sources, the value their id.
        #[arg(long)]
        sources: PathBuf,
        /// Output cost-distance GeoTIFF (resistance x m; nodata where unreached).
        #[arg(long)]
        out: PathBuf,
        /// Also write the allocation (id of the cheapest source per cell) to this GeoTIFF.
        #[arg(long)]
        allocation: Option<PathBuf>,
        /// Cut-off: cells costlier than this are left unreached (cost units).
        #[arg(long = "max-cwd", allow_negative_numbers = true)]
        max_cwd: Option<f64>,
        /// Forbid diagonal moves past impassable corners.
        #[arg(long = "no-corner-cutting")]
        no_corner_cutting: bool,
    },
    /// Circuit theory (Circuitscape's raster conventions): effective resistance between focal
    /// regions (resistances.csv; `inf` between unconnected ones), cumulative current
    /// (current.tif: where movement is funnelled; focal regions and nodata are nodata) and,
    /// for one pair or in advanced mode, voltages.tif. Cell size does not enter: resistances
    /// are in the raster's units per cell.
    Circuit {
        /// Resistance raster (GeoTIFF or ASCII grid); nodata cells are not part of the circuit.
        #[arg(long)]
        resistance: PathBuf,
        /// Focal regions on the same grid (id > 0; each region's cells are shorted).
        #[arg(long)]
        sources: Option<PathBuf>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Pairs: all, adjacent (cost-allocation zones touch) or a file of id pairs
        /// (Circuitscape's `mode include|exclude` format or CSV).
        #[arg(long, default_value = "all")]
        pairs: String,
        /// Conductance 2/(R_a + R_b) (average resistance) instead of (1/R_a + 1/R_b)/2.
        #[arg(long = "avg-resistance")]
        avg_resistance: bool,
        /// Join the 4 rook neighbours only (default 8).
        #[arg(long = "four-neighbours")]
        four_neighbours: bool,
        /// Linear solver: auto (default: the sparse factor up to 200,000 nodes, AMG above),
        /// cholesky (sparse factor) or amg (AMG-preconditioned conjugate gradients, to a
        /// relative residual of 1e-10; about a third of the factor's memory).
        #[arg(long, value_enum, default_value = "auto")]
        solver: SolverArg,
        /// Focal mode: pairwise (default; --pairs chooses the pairs), one-to-all or
        /// all-to-one (Circuitscape's modes: one factorization per region; writes
        /// focal_resistances.csv and current.tif).
        #[arg(long, value_enum, default_value = "pairwise")]
        mode: ModeArg,
        /// Advanced mode: current injected per cell, A (with --grounds).
        #[arg(long = "source-currents", requires = "grounds")]
        source_currents: Option<PathBuf>,
        /// Advanced mode: conductance to ground per cell (with --source-currents).
        #[arg(long, requires = "source_currents")]
        grounds: Option<PathBuf>,
    },
    /// Connectivity of the ecological network (Conefor definitions) and carbon accounting.
    /// With a scenario: runs up to the corridors and writes indices.csv, patches.csv and
    /// corridors.csv joined with dIIC, dPC (intra/flux/connector), betweenness, gravity and
    /// an important-corridor flag, zones.csv (carbon per class, zone, district) and carbon.tif.
    /// Without: the Conefor drop-in on --patches and --links tables.
    Network {
        /// Scenario file (TOML); leave out to use --patches and --links.
        scenario: Option<PathBuf>,
        /// Patches: CSV with patch_id, area_ha [, mean_resistance], or a Conefor node file.
        #[arg(long)]
        patches: Option<PathBuf>,
        /// Links: CSV with from_patch, to_patch, lcd, or a Conefor distance file.
        #[arg(long)]
        links: Option<PathBuf>,
        /// Area of the whole study area A_L, ha (with --patches).
        #[arg(long = "landscape-area-ha", allow_negative_numbers = true)]
        landscape_area_ha: Option<f64>,
        /// Median dispersal distance in the links' units, p = 0.5 at d50 (with --patches).
        #[arg(long, allow_negative_numbers = true)]
        d50: Option<f64>,
        /// Output folder (default with a scenario: [output] dir, else outputs/<name>/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The yearly check: compare two land-cover rasters of the same grid under a scenario
    /// (its class table, zones, districts and stage options). Writes transitions.csv (area
    /// and carbon change per class transition), carbon_change.csv (per zone, district and the
    /// study area) and indices_change.csv (IIC, PC, ECA before and after).
    Assess {
        /// Scenario file (TOML) giving the class table, zones, districts and options.
        scenario: PathBuf,
        /// Land cover of the earlier year.
        #[arg(long)]
        before: PathBuf,
        /// Land cover of the later year (same grid).
        #[arg(long)]
        after: PathBuf,
        /// Output folder (default: [output] dir, else outputs/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The whole job: every stage and every output (tables, GeoJSON, GeoTIFF, run.json) into
    /// the output folder, which is replaced only when the run succeeded (and only with
    /// --force). Exit code 1 when no plan is feasible (the other outputs are still written).
    Run(run_cmd::RunArgs),
    /// Run many scenarios (each as `ecocorridor run`, --jobs at a time) and write one
    /// comparison.csv of their summaries; --shard i/n for cluster array jobs.
    Batch(batch_cmd::BatchArgs),
    /// Choose restoration sites and park connectors within a budget (MILP with HiGHS, plus a
    /// greedy baseline): from a scenario (candidates made from its landscape and corridors,
    /// options in [candidates] and [optimize]) or from your own candidate tables. Writes
    /// sites.csv and connectors.csv with a `selected` column, summary.csv, pareto.csv when
    /// sweeping, and for a scenario sites.geojson. Exit code 1 when no plan is feasible.
    Optimize(optimize_cmd::OptimizeArgs),
    /// Park access alone (the bureau's yearly check): walking time from every home to the
    /// nearest park of at least `min_park_ha` ([access] section), walk_minutes.tif (min;
    /// nodata outside and where no park can be reached) and access.csv (per district and the
    /// study area: residents, those within the threshold and their share, park area per
    /// resident, people-weighted mean walk).
    Access {
        /// Scenario file (TOML) with an [access] section.
        scenario: PathBuf,
        /// Output folder (default: [output] dir, else outputs/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a first scenario for your own data into DIR: scenario.toml (paths relative to
    /// it, zone kinds guessed from the file names, a source size suited to the study area,
    /// every choice commented) and a copy of the bundled class table.
    Init {
        /// Folder for the scenario (created).
        dir: PathBuf,
        /// Land cover: a raster of class codes, or a polygon layer (then --code-field).
        #[arg(long)]
        landcover: PathBuf,
        /// Field of a polygon land cover with the land-use codes (the land survey's DLTB: DLBM).
        #[arg(long = "code-field")]
        code_field: Option<String>,
        /// Cell size for a polygon land cover, m (default 30).
        #[arg(long = "cell-size-m")]
        cell_size_m: Option<f64>,
        /// Zone layers (redline, permanent farmland, urban boundary...), any number.
        #[arg(long, num_args = 1..)]
        zones: Vec<PathBuf>,
        /// District layer.
        #[arg(long)]
        districts: Option<PathBuf>,
        /// Field of the district layer with the names (default "name").
        #[arg(long = "name-field")]
        name_field: Option<String>,
        /// Replace an existing scenario.toml.
        #[arg(long)]
        force: bool,
    },
    /// Burn the scenario's land cover (a polygon layer such as the land survey's DLTB, with
    /// `code_field` and `cell_size_m` or `grid_like` in [landscape]) to a GeoTIFF of class
    /// codes (u16) on its grid, to reuse as `landcover`. A raster land cover is copied as
    /// codes.
    Rasterize {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Output GeoTIFF.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a deterministic synthetic landscape as a complete scenario folder (rasters,
    /// zone polygons, class table, scenario.toml).
    Synth {
        /// Rows.
        #[arg(long, default_value_t = 600)]
        rows: u32,
        /// Columns.
        #[arg(long, default_value_t = 600)]
        cols: u32,
        /// Seed of the generator.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Cell size in metres.
        #[arg(long = "cell-size-m", default_value_t = 30.0)]
        cell_size_m: f64,
        /// Output folder (created; existing files of the same names are replaced).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Parses the command line and runs the command.
pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    // Interrupted (Ctrl-C, SIGTERM from a scheduler): remove unfinished outputs, keep the rest.
    let _ = ctrlc::set_handler(|| {
        let n = ecocorridor::io::atomic::remove_pending();
        say!(
            "interrupted: {n} unfinished output(s) removed; results from earlier runs are unchanged"
        );
        std::process::exit(130);
    });
    let ctx = Context::new(
        cli.global.quiet,
        cli.global.verbose,
        cli.global.max_memory.map(|m| m.max(1)),
    );
    if let Some(n) = cli.global.threads {
        if n == 0 {
            bail!("--threads 0: give at least 1 thread (or leave it out to use all cores)");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("cannot set up the thread pool")?;
    }
    match cli.command {
        Command::Validate { scenario } => validate(&scenario, &ctx),
        Command::Resistance { scenario, out } => {
            resistance_cmd(&scenario, out.as_deref(), &ctx)
        }
        Command::Sources { scenario, out } => {
            sources_cmd(&scenario, out.as_deref(), &ctx)
        }
        Command::Corridors { scenario, out } => {
            corridors_cmd(&scenario, out.as_deref(), &ctx)
        }
        Command::Network { scenario, patches, links, landscape_area_ha, d50, out } => match (scenario, patches, links, landscape_area_ha, d50, out) {
            (Some(sc), None, None, None, None, out) => network_scenario_cmd(&sc, out.as_deref(), &ctx),
            (Some(_), ..) => bail!("give either a scenario or --patches/--links/--landscape-area-ha/--d50, not both (a scenario takes d50 and the landscape area from its [network] section)"),
            (None, Some(p), Some(l), Some(a), Some(d), Some(o)) => network_cmd((&p, &l), a, d, &o, &ctx),
            (None, p, l, a, d, o) => {
                let missing: Vec<&str> = [(p.is_none(), "--patches"), (l.is_none(), "--links"), (a.is_none(), "--landscape-area-ha"), (d.is_none(), "--d50"), (o.is_none(), "--out")].iter().filter(|m| m.0).map(|m| m.1).collect();
                bail!("ecocorridor network needs a scenario, or all of --patches, --links, --landscape-area-ha, --d50 and --out (missing: {})", missing.join(", "))
            }
        },
        Command::Optimize(args) => optimize_cmd::run(&args, cli.global.threads, &ctx),
        Command::Run(args) => run_cmd::run(&args, cli.global.threads, &ctx),
        Command::Batch(args) => batch_cmd::run(&args, cli.global.threads, &ctx),
        Command::Assess { scenario, before, after, out } => assess_cmd(&scenario, &before, &after, out.as_deref(), &ctx),
        Command::Circuit {
            resistance,
            sources,
            out,
            pairs,
            avg_resistance,
            four_neighbours,
            source_currents,
            grounds,
            solver,
            mode,
        } => {
            let advanced = source_currents.as_deref().zip(grounds.as_deref());
            if advanced.is_none() && sources.is_none() {
                bail!("ecocorridor circuit needs --sources (focal regions), or --source-currents and --grounds for advanced mode");
            }
            let pairs_given = |p: &tools::PairChoice| !matches!(p, tools::PairChoice::All);
            let pairs = tools::PairChoice::from_arg(&pairs);
            let req = tools::CircuitRequest {
                resistance: &resistance,
                regions: sources.as_deref(),
                out: &out,
                pairs,
                opts: ecocorridor::circuit::CircuitOptions {
                    four_neighbours,
                    avg_resistance,
                    solver: match solver {
                        SolverArg::Auto => Method::Auto,
                        SolverArg::Cholesky => Method::Cholesky,
                        SolverArg::Amg => Method::Amg,
                    },
                },
                advanced,
                mode: match mode {
                    ModeArg::Pairwise => None,
                    ModeArg::OneToAll => Some(ecocorridor::circuit::FocalMode::OneToAll),
                    ModeArg::AllToOne => Some(ecocorridor::circuit::FocalMode::AllToOne),
                },
            };
            if req.mode.is_some() && (advanced.is_some() || pairs_given(&req.pairs)) {
                bail!("--mode one-to-all and all-to-one take every focal region; leave out --pairs and the advanced-mode rasters");
            }
            let r = tools::circuit(&req, &ctx)?;
            if !ctx.quiet {
                let unconnected = r.pairs.iter().filter(|p| p.resistance.is_infinite()).count();
                if req.mode.is_some() {
                    say!(
                        "{} nodes, {} focal regions, one system each; {}; wrote {} to `{}`",
                        r.nodes, r.regions, r.solver, r.written.join(", "), out.display()
                    );
                } else {
                    say!(
                        "{} nodes, {} focal regions, {} pairs ({unconnected} unconnected); {}; wrote {} to `{}`",
                        r.nodes, r.regions, r.pairs.len(), r.solver_text(), r.written.join(", "), out.display()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Costdist {
            resistance,
            sources,
            out,
            allocation,
            max_cwd,
            no_corner_cutting,
        } => {
            let opts = CostOptions { max_cwd, corner_cutting: !no_corner_cutting };
            let r = tools::costdist(&resistance, &sources, (&out, allocation.as_deref()), opts, &ctx)?;
            if !ctx.quiet {
                say!("{} source cells, {} of {} cells reached; wrote `{}`", r.seeds, r.reached, r.cells, out.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Access { scenario, out } => access_cmd(&scenario, out.as_deref(), &ctx),
        Command::Init { dir, landcover, code_field, cell_size_m, zones, districts, name_field, force } => {
            let opts = ecocorridor::app::init::InitOptions { dir, landcover, code_field, cell_size_m, zones, districts, name_field, force };
            init_cmd(opts, &ctx)
        }
        Command::Rasterize { scenario, out } => rasterize_cmd(&scenario, &out, &ctx),
        Command::Synth {
            rows,
            cols,
            seed,
            cell_size_m,
            out,
        } => {
            let opts = SynthOptions { rows, cols, seed, cell_size_m, ..Default::default() };
            let t0 = Instant::now();
            tools::synth(&opts, &out)?;
            if !ctx.quiet {
                say!(
                    "wrote a {cols} x {rows} synthetic landscape (seed {seed}) to `{}` in {:.1} s\n  check it with: ecocorridor validate {}",
                    out.display(),
                    t0.elapsed().as_secs_f64(),
                    out.join("scenario.toml").display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_areas(title: &str, rows: &[AreaRow], total_ha: f64) {
    out!("{title}");
    for r in rows {
        let pct = if total_ha > 0.0 {
            100.0 * r.area_ha / total_ha
        } else {
            0.0
        };
        out!("  {:<44} {:>12.1} ha  {:>5.1} %", r.label, r.area_ha, pct);
    }
}

fn validate(path: &Path, ctx: &Context) -> Result<ExitCode> {
    let scenario = Scenario::read(path)?;
    let report = load::load(&scenario);
    if !ctx.quiet {
        if let Some(l) = &report.landscape {
            let total = l.study_cells() as f64 * l.grid.cell_area_ha();
            out!("scenario {} ({})", scenario.name, path.display());
            out!("grid: {}", l.grid);
            out!("study area: {:.1} ha ({} cells)", total, l.study_cells());
            let (present, absent): (Vec<AreaRow>, Vec<AreaRow>) =
                l.class_areas().into_iter().partition(|r| r.cells > 0);
            print_areas("area by land-cover class:", &present, total);
            if !absent.is_empty() {
                out!("  ({} classes of the table do not occur)", absent.len());
            }
            if !l.zones.is_empty() {
                print_areas("zones:", &l.zone_areas(), total);
            }
            if l.districts.is_some() {
                print_areas("districts:", &l.district_areas(), total);
            }
            for f in &l.factors {
                out!(
                    "factor {}: {} cells with data",
                    f.name,
                    f.classes
                        .iter()
                        .filter(|&&c| c != ecocorridor::landscape::FACTOR_NODATA)
                        .count()
                );
            }
        }
    }
    for p in &report.problems {
        if p.severity == Severity::Fatal || !ctx.quiet {
            say!("{p}");
        }
    }
    let mut fatal = report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Fatal)
        .count();
    // The stages' own checks: resistance values, source options and sizes.
    if let Some(land) = &report.landscape {
        let checked = ecocorridor::app::pipeline::check_stages(&scenario, land, ctx);
        match checked {
            Err(e) => {
                say!("error: {e:#}");
                fatal += 1;
            }
            Ok(src) if !ctx.quiet => {
                let area: f64 = src.patches.iter().map(|p| p.area_ha).sum();
                out!("sources: {} patches, {:.1} ha", src.patches.len(), area);
            }
            Ok(_) => {}
        }
    }
    if fatal > 0 {
        say!("{fatal} fatal problem(s) in scenario `{}`", path.display());
        return Ok(ExitCode::from(2));
    }
    if !ctx.quiet {
        out!(
            "ok: scenario `{}` is valid ({} warning(s))",
            path.display(),
            report.problems.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn prepare_out(scenario: &Scenario, out: Option<&Path>) -> Result<PathBuf> {
    let dir = scenario.output_dir(out);
    std::fs::create_dir_all(&dir).with_context(|| {
        format!(
            "cannot create output folder `{}`
  hint: check the path and your write permission, or pass --out DIR",
            dir.display()
        )
    })?;
    Ok(dir)
}

fn resistance_cmd(path: &Path, out: Option<&Path>, ctx: &Context) -> Result<ExitCode> {
    let scenario = Scenario::read(path)?;
    let land = ctx.stage("load", || load_landscape(&scenario, ctx))?;
    let res = ctx.stage("resistance", || build_resistance(&scenario, &land, ctx))?;
    let dir = prepare_out(&scenario, out)?;
    layers::write_resistance(&dir, &land.grid, &res)?;
    write_table(
        &dir,
        "resistance_stats.csv",
        &report::resistance_stats(&land, &res),
        scenario.file.output.csv_bom,
    )?;
    if !ctx.quiet {
        say!(
            "wrote resistance.tif and resistance_stats.csv to `{}`",
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn sources_cmd(path: &Path, out: Option<&Path>, ctx: &Context) -> Result<ExitCode> {
    let scenario = Scenario::read(path)?;
    let land = ctx.stage("load", || load_landscape(&scenario, ctx))?;
    let res = ctx.stage("resistance", || build_resistance(&scenario, &land, ctx))?;
    let src = ctx.stage("sources", || build_sources(&scenario, &land, &res))?;
    let dir = prepare_out(&scenario, out)?;
    layers::write_sources(&dir, &land.grid, &src)?;
    write_table(
        &dir,
        "patches.csv",
        &report::patches(&land, &src),
        scenario.file.output.csv_bom,
    )?;
    if !ctx.quiet {
        let area: f64 = src.patches.iter().map(|p| p.area_ha).sum();
        say!(
            "{} ecological source patches, {:.1} ha; wrote sources.tif and patches.csv to `{}`",
            src.patches.len(),
            area,
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn corridors_cmd(path: &Path, out: Option<&Path>, ctx: &Context) -> Result<ExitCode> {
    let scenario = Scenario::read(path)?;
    let land = ctx.stage("load", || load_landscape(&scenario, ctx))?;
    let (_, src, net) = run_to_corridors(&scenario, &land, ctx, false)?;
    let dir = prepare_out(&scenario, out)?;
    let bom = scenario.file.output.csv_bom;
    layers::write_corridor_layers(&dir, &land, &src, &net)?;
    write_table(&dir, "patches.csv", &report::patches(&land, &src), bom)?;
    write_table(&dir, "corridors.csv", &report::corridors(&net), bom)?;
    if !ctx.quiet {
        say!(
            "{} corridors between {} patches",
            net.corridors.len(),
            src.patches.len()
        );
        if !net.isolated.is_empty() {
            say!(
                "warning: {} patch(es) have no corridor (isolated by barriers, beyond max_cwd, or every path crossed another patch): {}",
                net.isolated.len(),
                net.isolated.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
            );
        }
        say!("wrote cost_distance.tif, corridors.tif, corridors.csv, corridors.geojson, sources.tif and patches.csv to `{}`", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn network_cmd(
    tables: (&Path, &Path),
    landscape_area_ha: f64,
    d50: f64,
    out: &Path,
    ctx: &Context,
) -> Result<ExitCode> {
    let n = tools::network_from_tables(tables, landscape_area_ha, d50, out, ctx)?;
    if !ctx.quiet {
        let i = n.result.indices;
        say!(
            "{} patches, {} links: IIC {:.4e}, PC {:.4e}, ECA {:.1} ha of {:.1} ha of patches; wrote indices.csv, patches_network.csv, links_network.csv to `{}`",
            n.patches.len(),
            n.links.len(),
            i.iic,
            i.pc,
            i.eca_ha,
            n.graph.attr.iter().sum::<f64>(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn access_cmd(path: &Path, out: Option<&Path>, ctx: &Context) -> Result<ExitCode> {
    let scenario = Scenario::read(path)?;
    let dir = scenario.output_dir(out);
    let a = tools::access(&scenario, &dir, ctx)?;
    if !ctx.quiet {
        let t = a.total();
        say!(
            "{:.0} of {:.0} residents ({:.1} %) live within {} min of a park; wrote walk_minutes.tif and access.csv to `{}`",
            t.covered,
            t.population,
            t.covered_pct,
            a.threshold_min,
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn init_cmd(opts: ecocorridor::app::init::InitOptions, ctx: &Context) -> Result<ExitCode> {
    let path = ecocorridor::app::init::init(&opts)?;
    if !ctx.quiet {
        say!(
            "wrote `{}` and the class table beside it\n  next: ecocorridor validate {}",
            path.display(),
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn rasterize_cmd(path: &Path, out: &Path, ctx: &Context) -> Result<ExitCode> {
    let scenario = Scenario::read(path)?;
    let r = tools::rasterize(&scenario, out)?;
    if !ctx.quiet {
        for p in &r.problems {
            say!("{p}");
        }
        say!(
            "wrote `{}`: {}, {} cells inside the study area (nodata {})",
            out.display(),
            r.grid,
            r.cells_inside,
            r.nodata
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn network_scenario_cmd(path: &Path, out: Option<&Path>, ctx: &Context) -> Result<ExitCode> {
    let scenario = Scenario::read(path)?;
    let land = ctx.stage("load", || load_landscape(&scenario, ctx))?;
    let (_, src, net) = run_to_corridors(&scenario, &land, ctx, false)?;
    let spec = &scenario.file.network;
    let graph = patch_graph(&src, &net);
    let (result, d50, landscape_area_ha) =
        analyse_network(&scenario, &land, &src, &graph, &net, ctx)?;
    let carbon_rows = ctx.stage("carbon", || Ok(carbon::summarize(&land)))?;
    let dir = prepare_out(&scenario, out)?;
    let bom = scenario.file.output.csv_bom;
    write_table(
        &dir,
        "indices.csv",
        &report::indices(
            &result,
            landscape_area_ha,
            d50,
            graph.attr.len(),
            graph.links.len(),
        ),
        bom,
    )?;
    let mut patches = report::patches(&land, &src);
    report::join_patch_importance(&mut patches, &result);
    write_table(&dir, "patches.csv", &patches, bom)?;
    let mut corridor_table = report::corridors(&net);
    report::join_corridor_importance(&mut corridor_table, &result, spec.important_gravity);
    write_table(&dir, "corridors.csv", &corridor_table, bom)?;
    write_table(&dir, "zones.csv", &report::carbon(&carbon_rows), bom)?;
    layers::write_carbon(&dir, &land)?;
    if !ctx.quiet {
        let i = result.indices;
        let total = carbon_rows.last().expect("a total row");
        say!(
            "{} patches, {} corridors: IIC {:.4e}, PC {:.4e}, ECA {:.1} ha (d50 {:.0}, A_L {:.1} ha); carbon {:.0} t C = {:.0} t CO2e, net {:+.0} t CO2e/yr",
            graph.attr.len(),
            graph.links.len(),
            i.iic,
            i.pc,
            i.eca_ha,
            d50,
            landscape_area_ha,
            total.stock_tc,
            total.stock_tc * carbon::CO2_PER_C,
            total.net_tco2e_per_yr()
        );
        say!(
            "wrote indices.csv, patches.csv, corridors.csv, zones.csv and carbon.tif to `{}`",
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn assess_cmd(
    path: &Path,
    before: &Path,
    after: &Path,
    out: Option<&Path>,
    ctx: &Context,
) -> Result<ExitCode> {
    let scenario = Scenario::read(path)?;
    let a = ecocorridor::app::assess::assess(&scenario, before, after, ctx)?;
    let (y0, y1) = (&a.before, &a.after);
    let ha = y0.land.grid.cell_area_ha();
    let dir = prepare_out(&scenario, out)?;
    let bom = scenario.file.output.csv_bom;
    write_table(
        &dir,
        "transitions.csv",
        &report::transitions(&y0.land.classes, &a.transitions, ha),
        bom,
    )?;
    write_table(
        &dir,
        "carbon_change.csv",
        &report::carbon_change(&y0.carbon, &y1.carbon),
        bom,
    )?;
    write_table(
        &dir,
        "indices_change.csv",
        &report::indices_change(y0.indices.as_ref(), y1.indices.as_ref()),
        bom,
    )?;
    if !ctx.quiet {
        let (s0, s1) = (
            y0.carbon.last().map_or(0.0, |r| r.stock_tc),
            y1.carbon.last().map_or(0.0, |r| r.stock_tc),
        );
        let changed: f64 = a
            .transitions
            .iter()
            .filter(|((x, y), _)| x != y)
            .map(|(_, &n)| n as f64 * ha)
            .sum();
        say!(
            "{changed:.1} ha changed class; carbon {s0:.0} -> {s1:.0} t C ({:+.0} t CO2e)",
            (s1 - s0) * carbon::CO2_PER_C
        );
        if a.edge_changed > 0 {
            say!("warning: {} cells are inside the study area in one year only; they are left out of the transitions", a.edge_changed);
        }
        say!(
            "wrote transitions.csv, carbon_change.csv and indices_change.csv to `{}`",
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
