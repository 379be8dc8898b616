//! The stand-alone tools behind `costdist`, `network --patches --links` and `synth`: read their
//! inputs through `io`, run one stage, write its outputs; the command line only prints.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _, Result};

use super::Context;
use crate::costdist::{accumulate_cost, CostOptions};
use crate::io::geojson_out::write_polygons;
use crate::io::geotiff::write_geotiff;
use crate::io::load;
use crate::io::network_tables::{self, PatchRow};
use crate::io::raster::{open_raster, read_f32};
use crate::network::{self, Graph, NetworkResult};
use crate::report::layers::{write_f32_at, write_table};
use crate::resistance::Resistance;
use crate::synth::{self, SynthOptions};

/// What `costdist` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostdistRun {
    /// Source cells (cells with an id > 0).
    pub seeds: usize,
    /// Cells reached (finite cost distance).
    pub reached: usize,
    /// Cells of the grid.
    pub cells: usize,
}

/// Accumulated cost distance from the sources of `src_path` over the resistance of
/// `res_path`, written to `out` (f32 GeoTIFF, unreached cells as nodata) and, with
/// `alloc_path`, the nearest source's id per cell.
///
/// # Errors
/// A bad cut-off, a resistance <= 0 (the first named, with the fix), misaligned grids, a
/// source id that is not a whole number >= 0, no source cell, or a file that cannot be
/// read or written.
pub fn costdist(
    res_path: &Path,
    src_path: &Path,
    (out, alloc_path): (&Path, Option<&Path>),
    opts: CostOptions,
    ctx: &Context,
) -> Result<CostdistRun> {
    if let Some(m) = opts.max_cwd {
        if m.is_nan() || m <= 0.0 {
            bail!(
                "--max-cwd {m}: give a cut-off > 0 in cost units (resistance x m), or leave it out"
            );
        }
    }
    let (grid, values) = read_resistance(res_path)?;
    let res = Resistance::from_values(values).map_err(|(i, v)| {
        anyhow::anyhow!(
            "resistance `{}` has value {v} at cell {i}",
            res_path.display()
        )
    })?;
    let ids = read_ids((src_path, "source"), (res_path, &grid))?;
    let seeds: Vec<(usize, u32)> = ids
        .iter()
        .enumerate()
        .filter(|(_, &id)| id != 0)
        .map(|(i, &id)| (i, id))
        .collect();
    if seeds.is_empty() {
        bail!("source raster `{}` has no source cell (every cell is 0 or nodata)\n  hint: source cells must hold their source id (> 0)", src_path.display());
    }
    let surface = ctx.stage("cost distance", || {
        Ok(accumulate_cost(
            grid.rows(),
            grid.cols(),
            grid.cell_size_m(),
            &res,
            seeds.iter().copied(),
            &opts,
        ))
    })?;
    let reached = surface.cost.iter().filter(|v| v.is_finite()).count();
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create folder `{}`", parent.display()))?;
    }
    write_f32_at(out, &grid, &surface.cost)?;
    if let Some(a) = alloc_path {
        write_geotiff(a, &grid, &surface.alloc, Some(0.0))?;
    }
    Ok(CostdistRun {
        seeds: seeds.len(),
        reached,
        cells: grid.len(),
    })
}

/// A resistance raster: its grid and values (nodata as NaN), refused when a cell is <= 0.
///
/// # Errors
/// The file cannot be read, or a value is <= 0 (the first named, with the fix).
pub fn read_resistance(res_path: &Path) -> Result<(crate::grid::Grid, Vec<f32>)> {
    let r = read_f32(res_path)?;
    let grid = r.grid().clone();
    let not_positive = |v: &f32| !v.is_nan() && *v <= 0.0;
    if let Some((i, v)) = r.data().iter().enumerate().find(|(_, v)| not_positive(v)) {
        let bad = r.data().iter().filter(|v| not_positive(v)).count();
        bail!(
            "resistance `{}` has {bad} cell(s) <= 0, the first {v} at row {}, column {}\n  hint: resistance must be > 0 (cost per metre); set impassable cells to nodata, e.g. `gdal_calc.py -A {} --calc=\"where(A<=0,-9999,A)\" --NoDataValue=-9999 --outfile=fixed.tif`",
            res_path.display(),
            i / grid.cols(),
            i % grid.cols(),
            res_path.display()
        );
    }
    Ok((grid, r.into_parts().1))
}

/// An id raster (`what`: "source", "focal region") on the grid of `like`: whole numbers >= 0
/// (nodata = 0 = none).
///
/// # Errors
/// The file cannot be read, its grid differs from `like`'s, or a value is not an id.
pub fn read_ids(
    (path, what): (&Path, &str),
    (like_path, like): (&Path, &crate::grid::Grid),
) -> Result<Vec<u32>> {
    let reader = open_raster(path)?;
    let header = reader.header().clone();
    if !like.aligned_with(&header.grid) {
        bail!(
            "{}",
            load::grid_mismatch_message(like_path, like, path, &header.grid)
        );
    }
    Ok(reader.read_with(|v, _| {
        if header.is_nodata(v) {
            Ok(0)
        } else if v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 {
            Ok(v as u32)
        } else {
            Err(format!(
                "{what} id {v} is not a whole number >= 0 (0 = none)"
            ))
        }
    })?)
}

/// A patch network read from tables, and its analysis.
#[derive(Debug)]
pub struct TableNetwork {
    /// The patches as read.
    pub patches: Vec<PatchRow>,
    /// The links as read: (from id, to id, distance).
    pub links: Vec<(u32, u32, f64)>,
    /// The graph the indices were computed on.
    pub graph: Graph,
    /// Indices and importances.
    pub result: NetworkResult,
}

/// The network indices of the patches and links in two CSV tables (`network --patches
/// --links`), written as `indices.csv`, `patches_network.csv` and `links_network.csv` into
/// `out`.
///
/// # Errors
/// A table cannot be read or holds a bad value, the network options are refused, or a file
/// cannot be written.
pub fn network_from_tables(
    (patches, links): (&Path, &Path),
    landscape_area_ha: f64,
    d50: f64,
    out: &Path,
    ctx: &Context,
) -> Result<TableNetwork> {
    let p = network_tables::read_patches(patches)?;
    let l = network_tables::read_links(links, &p)?;
    let index: BTreeMap<u32, usize> = p.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let graph = Graph {
        attr: p.iter().map(|r| r.area_ha).collect(),
        links: l
            .iter()
            .map(|&(a, b, d)| (index[&a], index[&b], d))
            .collect(),
    };
    let resistances: Option<Vec<f64>> = p.iter().map(|r| r.mean_resistance).collect();
    let result = ctx.stage("network", || {
        network::analyse(&graph, landscape_area_ha, d50, resistances.as_deref()).map_err(|e| {
            anyhow::anyhow!(
                "{e}\n  (patches `{}`, links `{}`)",
                patches.display(),
                links.display()
            )
        })
    })?;
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create output folder `{}`", out.display()))?;
    let ids: Vec<u32> = p.iter().map(|r| r.id).collect();
    write_table(
        out,
        "indices.csv",
        &crate::report::indices(&result, landscape_area_ha, d50, p.len(), l.len()),
        true,
    )?;
    write_table(
        out,
        "patches_network.csv",
        &crate::report::patch_importance(&ids, &graph.attr, &result),
        true,
    )?;
    write_table(
        out,
        "links_network.csv",
        &crate::report::link_importance(&l, &result),
        true,
    )?;
    Ok(TableNetwork {
        patches: p,
        links: l,
        graph,
        result,
    })
}

/// Park access alone (`ecocorridor access`): loads the scenario, measures access and writes
/// `walk_minutes.tif` and `access.csv` into `dir` (created).
///
/// # Errors
/// No `[access]` section, every load problem, no park, a file that cannot be written.
pub fn access(
    scenario: &crate::scenario::Scenario,
    dir: &Path,
    ctx: &Context,
) -> Result<crate::access::Access> {
    if scenario.file.access.is_none() {
        bail!(
            "scenario `{}` has no [access] section; add one (see models/demo.toml: `[access]` with `threshold_min = 10`)",
            scenario.path.display()
        );
    }
    let land = ctx.stage("load", || super::pipeline::load_landscape(scenario, ctx))?;
    let Some(a) = super::pipeline::access_stage(scenario, &land, ctx)? else {
        bail!(
            "scenario `{}`: [access] gave no measurement",
            scenario.path.display()
        );
    };
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create output folder `{}`\n  hint: check the path and your write permission, or pass --out DIR",
            dir.display()
        )
    })?;
    crate::report::layers::write_walk_minutes(dir, &land.grid, &a.minutes)?;
    write_table(
        dir,
        "access.csv",
        &crate::report::access_table(&a.table(), None),
        scenario.file.output.csv_bom,
    )?;
    Ok(a)
}

/// What [`rasterize`] wrote.
#[derive(Debug, Clone)]
pub struct Rasterized {
    /// The grid.
    pub grid: crate::grid::Grid,
    /// Cells inside the study area (covered by a polygon).
    pub cells_inside: u64,
    /// The nodata value written (0, or 65535 when the class table uses code 0).
    pub nodata: u16,
    /// Notes and warnings of the load (encoding, reprojection, polygons burned).
    pub problems: Vec<load::Problem>,
}

/// The scenario's land cover (a polygon layer with `code_field`, or a raster) burned to a
/// GeoTIFF of class codes (u16) on its grid, to use as `landcover` in later runs.
///
/// # Errors
/// Every problem of the land cover (missing files, unknown codes with their polygon count and
/// area...), or a file that cannot be written.
pub fn rasterize(scenario: &crate::scenario::Scenario, out: &Path) -> Result<Rasterized> {
    let (loaded, problems) = load::load_landcover(scenario);
    let Some((grid, table, cells)) = loaded else {
        let list: Vec<String> = problems
            .iter()
            .filter(|p| p.severity == load::Severity::Fatal)
            .map(|p| p.to_string())
            .collect();
        bail!(
            "{}\n{} fatal problem(s) with the land cover of scenario `{}`; nothing was written",
            list.join("\n"),
            list.len(),
            scenario.path.display()
        );
    };
    let nodata = if table.index_of(0).is_some() {
        u16::MAX
    } else {
        0
    };
    let codes: Vec<u16> = cells
        .iter()
        .map(|&c| {
            if c == crate::classes::OUTSIDE {
                nodata
            } else {
                table.get(c).code as u16
            }
        })
        .collect();
    write_geotiff(out, &grid, &codes, Some(f64::from(nodata)))?;
    Ok(Rasterized {
        cells_inside: cells
            .iter()
            .filter(|&&c| c != crate::classes::OUTSIDE)
            .count() as u64,
        grid,
        nodata,
        problems,
    })
}

/// A synthetic landscape (`synth`) written into `out`: `landcover.tif`, `slope.tif`, the three
/// zone layers and the districts (GeoJSON), the bundled class table and a `scenario.toml`
/// that runs as it is.
///
/// # Errors
/// Sizes out of range, or a file that cannot be written.
pub fn synth(opts: &SynthOptions, out: &Path) -> Result<()> {
    if opts.rows == 0 || opts.cols == 0 {
        bail!(
            "--rows and --cols must be at least 1 (got {} x {})",
            opts.rows,
            opts.cols
        );
    }
    if !(opts.cell_size_m.is_finite() && opts.cell_size_m > 0.0) {
        bail!(
            "--cell-size-m must be a positive number of metres (got {})",
            opts.cell_size_m
        );
    }
    let cells = opts.rows as u64 * opts.cols as u64;
    if cells > crate::grid::MAX_CELLS {
        bail!("{} x {} = {cells} cells is more than ecocorridor can address ({}); use fewer rows or columns", opts.rows, opts.cols, crate::grid::MAX_CELLS);
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create output folder `{}`", out.display()))?;
    let s = synth::generate(opts);
    let crs = s.grid.crs().clone();
    write_geotiff(&out.join("landcover.tif"), &s.grid, &s.landcover, Some(0.0))?;
    write_geotiff(&out.join("slope.tif"), &s.grid, &s.slope_deg, Some(-9999.0))?;
    write_geotiff(
        &out.join("population.tif"),
        &s.grid,
        &s.population,
        Some(-1.0),
    )?;
    let layer = |name: &str, polys: &[synth::NamedPolygon]| -> Result<()> {
        let feats = polys.iter().map(|p| {
            let mut props = serde_json::Map::new();
            props.insert("name".into(), p.name.clone().into());
            (p.geometry.clone(), props)
        });
        let path = out.join(name);
        write_polygons(&path, &crs, feats)
            .with_context(|| format!("cannot write `{}`", path.display()))
    };
    layer("ecological_redline.geojson", &s.redline)?;
    layer("permanent_farmland.geojson", &s.farmland)?;
    layer("urban_boundary.geojson", &s.urban_boundary)?;
    layer("districts.geojson", &s.districts)?;
    crate::io::atomic::write_text(&out.join("landcover_classes.csv"), synth::CLASS_TABLE)?;
    crate::io::atomic::write_text(
        &out.join("scenario.toml"),
        &synth::scenario_toml(opts, s.largest_park_ha() >= 0.4),
    )?;
    Ok(())
}

/// Which pairs of focal regions `circuit` computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairChoice {
    /// Every pair.
    All,
    /// Pairs whose cost-allocation zones touch (as corridors' pairs).
    Adjacent,
    /// The pairs of a file (see [`network_tables::read_pairs`]).
    File(std::path::PathBuf),
}

impl PairChoice {
    /// `--pairs`: `all`, `adjacent`, else a file's path.
    pub fn from_arg(text: &str) -> PairChoice {
        match text {
            "all" => PairChoice::All,
            "adjacent" => PairChoice::Adjacent,
            file => PairChoice::File(file.into()),
        }
    }
}

/// The pairs of focal regions `req` asks for.
fn choose_pairs(
    req: &CircuitRequest,
    (grid, res, regions): (&crate::grid::Grid, &[f32], &[u32]),
    ids: &[u32],
) -> Result<Vec<(u32, u32)>> {
    use crate::circuit as ct;
    let shape = (grid.rows(), grid.cols());
    Ok(match &req.pairs {
        PairChoice::All => ct::all_pairs(ids),
        PairChoice::Adjacent => {
            let seeds = regions
                .iter()
                .enumerate()
                .filter(|(_, &id)| id != 0)
                .map(|(i, &id)| (i, id));
            let r = Resistance::from_values(res.to_vec())
                .map_err(|(i, v)| anyhow::anyhow!("resistance value {v} at cell {i}"))?;
            let alloc = accumulate_cost(
                grid.rows(),
                grid.cols(),
                grid.cell_size_m(),
                &r,
                seeds,
                &CostOptions::default(),
            )
            .alloc;
            ct::touching_pairs(shape, &alloc, req.opts.four_neighbours)
        }
        PairChoice::File(p) => {
            let list = network_tables::read_pairs(p)?;
            if list.exclude {
                ct::all_pairs(ids)
                    .into_iter()
                    .filter(|x| !list.pairs.contains(x))
                    .collect()
            } else {
                list.pairs
            }
        }
    })
}

/// What `circuit` is asked to do.
#[derive(Debug, Clone)]
pub struct CircuitRequest<'a> {
    /// Resistance raster.
    pub resistance: &'a Path,
    /// Focal regions raster (ids > 0; optional in advanced mode).
    pub regions: Option<&'a Path>,
    /// Output folder.
    pub out: &'a Path,
    /// Pairwise mode's pairs.
    pub pairs: PairChoice,
    /// Neighbours and conductance rule.
    pub opts: crate::circuit::CircuitOptions,
    /// Advanced mode: (source currents raster, ground conductances raster).
    pub advanced: Option<(&'a Path, &'a Path)>,
    /// One-to-all or all-to-one instead of pairwise (None: pairwise).
    pub mode: Option<crate::circuit::FocalMode>,
}

/// What `circuit` did.
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitRun {
    /// Nodes of the network (cells with a finite resistance > 0, regions shorted).
    pub nodes: usize,
    /// Focal regions.
    pub regions: usize,
    /// Pairwise mode: the effective resistances.
    pub pairs: Vec<crate::circuit::PairResistance>,
    /// The files written, in order.
    pub written: Vec<&'static str>,
    /// The linear solver that ran.
    pub solver: &'static str,
    /// Pairwise mode: wall time of preparing the solver and of the solves, s.
    pub solver_seconds: Option<(f64, f64)>,
}

impl CircuitRun {
    /// The solver that ran, with its times when known.
    pub fn solver_text(&self) -> String {
        match self.solver_seconds {
            Some((p, s)) => format!("{} ({p:.2} s to prepare, {s:.2} s to solve)", self.solver),
            None => self.solver.to_string(),
        }
    }
}

/// A float layer written as f32 GeoTIFF with non-finite values as nodata.
fn write_f64_layer(dir: &Path, grid: &crate::grid::Grid, name: &str, v: &[f64]) -> Result<()> {
    write_f32_at(&dir.join(name), grid, v)
}

/// One-to-all or all-to-one: `focal_resistances.csv` and the cumulative `current.tif`.
fn focal_run(
    req: &CircuitRequest,
    (net, grid): (&crate::circuit::Network, &crate::grid::Grid),
    mode: crate::circuit::FocalMode,
    ctx: &Context,
) -> Result<CircuitRun> {
    use crate::circuit as ct;
    let f = ctx.stage("circuit (focal mode)", || {
        ct::focal(net, mode).with_context(|| {
            format!(
                "regions `{}`",
                req.regions
                    .map_or("(none)".into(), |p| p.display().to_string())
            )
        })
    })?;
    let mut t = crate::io::table::Table::new(&["focal_id", "others", "effective_resistance"]);
    for r in &f.runs {
        t.rows.push(vec![
            r.id.to_string(),
            r.others.to_string(),
            if r.resistance.is_finite() {
                format!("{}", r.resistance)
            } else {
                "inf".into()
            },
        ]);
    }
    write_table(req.out, "focal_resistances.csv", &t, true)?;
    write_f64_layer(req.out, grid, "current.tif", &f.current)?;
    Ok(CircuitRun {
        nodes: net.nodes(),
        regions: net.region_ids().len(),
        pairs: Vec::new(),
        written: vec!["focal_resistances.csv", "current.tif"],
        solver: f.solver,
        solver_seconds: None,
    })
}

/// Circuit theory on a resistance raster (`ecocorridor circuit`): pairwise mode writes
/// `resistances.csv` (`from_patch, to_patch, effective_resistance`, `inf` between
/// unconnected regions) and `current.tif` (cumulative current; focal regions and nodata as
/// nodata), plus `voltages.tif` for a single pair; advanced mode writes `current.tif` and
/// `voltages.tif`.
///
/// # Errors
/// Bad rasters or pairs (named, with the fix), a network too large for `--max-memory`, the
/// solver's errors, files that cannot be written.
pub fn circuit(req: &CircuitRequest, ctx: &Context) -> Result<CircuitRun> {
    use crate::circuit::{self as ct, Network};
    let (grid, res) = read_resistance(req.resistance)?;
    let regions = match req.regions {
        Some(p) => read_ids((p, "focal region"), (req.resistance, &grid))?,
        None => Vec::new(),
    };
    let shape = (grid.rows(), grid.cols());
    let net = Network::new(shape, &res, &regions, req.opts).with_context(|| {
        format!(
            "resistance `{}`, regions `{}`",
            req.resistance.display(),
            req.regions
                .map_or("(none)".into(), |p| p.display().to_string())
        )
    })?;
    // Pairwise mode's pairs, chosen first: one solved column per region in a pair.
    let pairs = match (req.advanced, req.mode) {
        (None, None) => {
            let ids = net.region_ids();
            let pairs = choose_pairs(req, (&grid, &res, &regions), &ids)?;
            if pairs.is_empty() && ids.len() >= 2 {
                bail!(
                    "no pair of focal regions to compute ({} regions)\n  hint: check the pairs file, or use --pairs all",
                    ids.len()
                );
            }
            pairs
        }
        _ => Vec::new(),
    };
    let columns = pairs
        .iter()
        .flat_map(|p| [p.0, p.1])
        .collect::<std::collections::BTreeSet<u32>>()
        .len()
        .max(1);
    // Solver (on a grid with a one-cell border) with the solved columns (one per region in
    // a pair but the grounded one of each part: at most all but one), and the per-cell
    // arrays; refused before the work when over the limit.
    let cells = (grid.rows() + 2) * (grid.cols() + 2);
    let solved = columns.saturating_sub(1).max(1);
    let need = req.opts.solver.estimate_bytes(net.nodes(), cells, solved)
        + grid.len() as u64 * (4 + 4 + 8);
    if let Some(max) = ctx.max_memory {
        if need > max {
            bail!(
                "the circuit of {} nodes needs about {:.1} GiB, more than --max-memory {:.1} GiB\n  hint: coarsen the resistance raster (e.g. `gdalwarp -tr <2x cell size> <2x cell size> -tap -r average`), clip it to the study area, or raise --max-memory",
                net.nodes(),
                need as f64 / (1u64 << 30) as f64,
                max as f64 / (1u64 << 30) as f64
            );
        }
    }
    std::fs::create_dir_all(req.out)
        .with_context(|| format!("cannot create output folder `{}`", req.out.display()))?;
    let f32_layer = |name: &str, v: &[f64]| write_f64_layer(req.out, &grid, name, v);
    let mut written = Vec::new();
    if let Some((src_path, gnd_path)) = req.advanced {
        let per_cell = |path: &Path| -> Result<Vec<f64>> {
            let r = read_f32(path)?;
            if !grid.aligned_with(r.grid()) {
                bail!(
                    "{}",
                    load::grid_mismatch_message(req.resistance, &grid, path, r.grid())
                );
            }
            Ok(r.data()
                .iter()
                .map(|&v| if v.is_nan() { 0.0 } else { v as f64 })
                .collect())
        };
        let (s, g) = (per_cell(src_path)?, per_cell(gnd_path)?);
        let a = ctx.stage("circuit (advanced)", || {
            ct::advanced(&net, &s, &g).with_context(|| {
                format!(
                    "sources `{}`, grounds `{}`",
                    src_path.display(),
                    gnd_path.display()
                )
            })
        })?;
        f32_layer("current.tif", &a.current)?;
        f32_layer("voltages.tif", &a.voltage)?;
        written.extend(["current.tif", "voltages.tif"]);
        return Ok(CircuitRun {
            nodes: net.nodes(),
            regions: net.region_ids().len(),
            pairs: Vec::new(),
            written,
            solver: a.solver,
            solver_seconds: None,
        });
    }
    if let Some(mode) = req.mode {
        return focal_run(req, (&net, &grid), mode, ctx);
    }
    let ids = net.region_ids();
    // The network holds the regions; their raster is not needed while the circuit solves.
    drop(regions);
    let p = ctx.stage("circuit (pairwise)", || {
        ct::pairwise(&net, &pairs, true).with_context(|| {
            let regions = req
                .regions
                .map_or("(none)".into(), |p| p.display().to_string());
            match &req.pairs {
                PairChoice::File(f) => format!(
                    "regions `{regions}`, pairs `{}` (list only ids the regions raster has)",
                    f.display()
                ),
                _ => format!("regions `{regions}`"),
            }
        })
    })?;
    let mut t = crate::io::table::Table::new(&["from_patch", "to_patch", "effective_resistance"]);
    for q in &p.pairs {
        t.rows.push(vec![
            q.from.to_string(),
            q.to.to_string(),
            if q.resistance.is_finite() {
                format!("{}", q.resistance)
            } else {
                "inf".into()
            },
        ]);
    }
    write_table(req.out, "resistances.csv", &t, true)?;
    f32_layer("current.tif", &p.current)?;
    written.extend(["resistances.csv", "current.tif"]);
    if !p.voltage.is_empty() {
        f32_layer("voltages.tif", &p.voltage)?;
        written.push("voltages.tif");
    }
    Ok(CircuitRun {
        nodes: net.nodes(),
        regions: ids.len(),
        pairs: p.pairs,
        written,
        solver: p.solver,
        solver_seconds: Some(p.solver_seconds),
    })
}
