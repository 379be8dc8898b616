//! What a plan buys, measured: the plan applied to the landscape and the network measured
//! again on the restored surface.
//!
//! # Input
//! The resistance surface as it is, the restoration rule ([`Restoration`]: each restorable
//! cell's target class through the full resistance formula), the candidates, the selected
//! sites and connectors, the resistance of a crossing structure, the corridor network as it
//! is (built with its zone cells), its patch graph and the options of the network's indices
//! (d50 and landscape area, the same as for "now").
//!
//! # Output
//! [`Measured`]: per corridor its least-cost distance on the restored surface (and its new
//! path where it was measured again), the restored network's IIC, PC and ECA, and how much
//! work that took.
//!
//! # Method
//! 1. **Apply.** Every cell of a selected site takes the resistance of its target class
//!    ([`Restoration::value`]); every crossing cell on a selected connector's least-cost path
//!    takes `crossing_resistance` (a crossing structure: eco-bridge, green overpass). Cells
//!    whose resistance does not change are dropped from the change list.
//! 2. **The same network.** Same patches (ids and areas: restored habitat does not enlarge a
//!    patch), the same pairs as the network as it is (the corridors of "now", so every link
//!    of the plan is a link of "now" measured again; a link whose new least-cost path
//!    crosses a third patch is kept with its new LCD, since dropping it would let a plan
//!    that only lowers resistance lower IIC), the same d50 and landscape area. IIC, which
//!    counts links, is therefore the same as now unless a plan raises resistance enough to
//!    cut a link beyond `max_cwd`; PC and ECA carry the gain.
//! 3. **Which corridors need a new run.** A corridor `(i, j)` can change only if the new
//!    surface has a path cheaper than (or as cheap as) its LCD through changed cells, or its
//!    old least-cost path meets a changed cell. With `s(c) = √2 · cell size · (R_now(c) −
//!    R_plan(c))⁺` the most a path can save at cell `c` (a path pays half of a cell's
//!    resistance on each of its two moves there), a path `P` that becomes at most as costly
//!    as `LCD` satisfies, for every changed cell `c` on it,
//!    `NLCC(c) ≤ cost_now(P) − LCD ≤ Σ_{c' ∈ P} s(c')`. So with `T₀ = Σ_c s(c)` and
//!    `T_{k+1} = Σ {s(c) : NLCC(c) ≤ T_k}`, every changed cell of `P` lies in the last set
//!    and `P` saves at most the limit `T`: when `T = 0` no such path exists and the corridor
//!    keeps its LCD and path exactly. `NLCC(c)` is known for the corridor's zone cells; the
//!    other cells have `NLCC > width` and count while `T` exceeds the width. Changes between
//!    passable and impassable (which can also open or close diagonal moves past corners)
//!    make every corridor run again.
//! 4. **Runs.** The corridors found in 3 are measured again with
//!    [`corridors::remeasure_paths`],
//!    each bounded by the cost of its old path on the new surface (and met halfway from the
//!    far patch where that saves work, see [`corridors::remeasure`]). The result equals a full
//!    re-run of every corridor ([`MeasureOptions::full`], tested) and what
//!    [`corridors::build`] gives the same pairs on the restored surface.
//! 5. **Indices.** IIC, PC and ECA of the patch graph with the new LCDs
//!    ([`network::indices`]); a link whose patches are no longer joined is dropped.
//!
//! # Work and memory
//! The test in 3 reads each corridor's zone cells once (a bit per grid cell marks the
//! changed cells): O(zone cells + changed cells). The runs cost one bounded Dijkstra per
//! patch at the smaller end of a corridor found in 3; a plan that touches a few corridors
//! re-runs a few patches (each about half a run to the bound when met halfway). Memory: the
//! bit set (1 bit per cell), the changed cells (the surface is restored in place and given
//! back, [`Resistance::patched_exact`]), plus each run alive and the far patches' half runs
//! (64 × 64 tiles where reached, 8 bytes per cell).

use crate::candidates::{Candidates, Restoration};
use crate::corridors::{self, CorridorError, CorridorNetwork, CorridorOptions, PairBound};
use crate::costdist::step_cost;
use crate::grid::Grid;
use crate::network::{self, Graph, Indices, NetworkError};
use crate::resistance::Resistance;
use crate::sources::Sources;

/// The cells a plan changes, sorted by cell, with their resistance now and once applied.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    /// Cell indices (row-major), ascending.
    pub cells: Vec<u32>,
    /// Resistance now.
    pub now: Vec<f32>,
    /// Resistance with the plan applied.
    pub plan: Vec<f32>,
}

impl Changes {
    /// Number of changed cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Whether some cell turns from passable to impassable or back (which can also open or
    /// close diagonal moves past corners).
    pub fn flips_passability(&self) -> bool {
        self.now
            .iter()
            .zip(&self.plan)
            .any(|(a, b)| a.is_finite() != b.is_finite())
    }
}

/// The resistance changes of a plan: selected sites (`sites[k]` for `cands.sites[k]`)
/// restored to their target classes, crossing cells of selected connectors
/// (`connectors[k]` for `cands.connectors[k]`) at `crossing_resistance`.
///
/// # Panics
/// When `sites` or `connectors` do not have one entry per candidate.
pub fn changes(
    restoration: &Restoration,
    res: &Resistance,
    cands: &Candidates,
    sites: &[bool],
    connectors: &[bool],
    crossing_resistance: f32,
) -> Changes {
    assert_eq!(sites.len(), cands.sites.len(), "one flag per site");
    assert_eq!(
        connectors.len(),
        cands.connectors.len(),
        "one flag per connector"
    );
    changes_of(
        restoration,
        res,
        cands,
        (0..sites.len()).filter(|&k| sites[k]),
        (0..connectors.len()).filter(|&k| connectors[k]),
        crossing_resistance,
    )
}

/// [`changes`] for the sites and connectors listed by index.
pub fn changes_of(
    restoration: &Restoration,
    res: &Resistance,
    cands: &Candidates,
    sites: impl IntoIterator<Item = usize>,
    connectors: impl IntoIterator<Item = usize>,
    crossing_resistance: f32,
) -> Changes {
    let r = res.values();
    let mut new: std::collections::BTreeMap<u32, f32> = std::collections::BTreeMap::new();
    // Footbridges change walking only.
    for k in sites.into_iter().filter(|&k| !cands.sites[k].footbridge) {
        for &c in cands.cells_of(k) {
            new.insert(c, restoration.value(c as usize, r[c as usize]));
        }
    }
    for k in connectors {
        for &c in &cands.connectors[k].crossing_cells {
            new.insert(c, crossing_resistance);
        }
    }
    let mut out = Changes::default();
    for (c, v) in new {
        let now = r[c as usize];
        // Bit patterns: NaN never counts as a change (outside cells are never candidates).
        if now.to_bits() != v.to_bits() && !now.is_nan() {
            out.cells.push(c);
            out.now.push(now);
            out.plan.push(v);
        }
    }
    out
}

/// A changed value that is not a resistance, as an error naming the cell.
pub(crate) fn bad_value(ch: &Changes, k: usize, x: f32) -> MeasureError {
    MeasureError::Input(format!(
        "cell {} would get resistance {x}; a restored or crossing resistance must be > 0",
        ch.cells[k]
    ))
}

/// The surface with the changes applied.
///
/// # Errors
/// A changed value that is not a resistance (`> 0`, `+∞`): the cell and the value.
pub fn apply(res: &Resistance, ch: &Changes) -> Result<Resistance, MeasureError> {
    let mut out = res.clone();
    out.patched_exact(&ch.cells, &ch.plan)
        .map_err(|(k, x)| bad_value(ch, k, x))?
        .keep();
    Ok(out)
}

/// The patches grown by a plan (`[network] grow_patches`): every changed cell whose
/// restored class is habitat and that is joined to a patch through such cells (8-neighbours)
/// joins that patch; where two patches reach a cell in the same step, the smaller id takes it.
/// Areas are recounted (ha); the other patch figures are those of now. Crossing cells never
/// join (a crossing structure is not habitat).
pub fn grown_sources(
    grid: &Grid,
    sources: &Sources,
    ch: &Changes,
    habitat: &dyn Fn(usize) -> bool,
) -> Sources {
    let (rows, cols) = (grid.rows(), grid.cols());
    let mut ids = sources.ids.clone();
    let mut open: std::collections::BTreeSet<u32> = ch
        .cells
        .iter()
        .copied()
        .filter(|&c| habitat(c as usize))
        .collect();
    // Breadth-first, one step at a time, all patches together.
    let mut frontier: Vec<usize> = Vec::new();
    for &c in &open {
        let c = c as usize;
        if neighbours_of(c, rows, cols).any(|n| ids[n] != 0) {
            frontier.push(c);
        }
    }
    while !frontier.is_empty() {
        let mut claimed: Vec<(usize, u32)> = frontier
            .iter()
            .map(|&c| {
                let id = neighbours_of(c, rows, cols)
                    .map(|n| ids[n])
                    .filter(|&id| id != 0)
                    .min()
                    .expect("a frontier cell touches a patch");
                (c, id)
            })
            .collect();
        claimed.sort_unstable();
        claimed.dedup_by_key(|x| x.0);
        for &(c, id) in &claimed {
            ids[c] = id;
            open.remove(&(c as u32));
        }
        let mut next: Vec<usize> = claimed
            .iter()
            .flat_map(|&(c, _)| neighbours_of(c, rows, cols))
            .filter(|&n| open.contains(&(n as u32)))
            .collect();
        next.sort_unstable();
        next.dedup();
        frontier = next;
    }
    let cell_ha = grid.cell_area_ha();
    let mut count: std::collections::BTreeMap<u32, u64> = std::collections::BTreeMap::new();
    for &id in ids.iter().filter(|&&id| id != 0) {
        *count.entry(id).or_default() += 1;
    }
    let patches = sources
        .patches
        .iter()
        .map(|p| {
            let cells = count.get(&p.id).copied().unwrap_or(p.cells);
            crate::sources::Patch {
                cells,
                area_ha: cells as f64 * cell_ha,
                ..p.clone()
            }
        })
        .collect();
    Sources { ids, patches }
}

fn neighbours_of(c: usize, rows: usize, cols: usize) -> impl Iterator<Item = usize> {
    let (r, k) = ((c / cols) as isize, (c % cols) as isize);
    crate::costdist::neighbours()
        .iter()
        .map(move |&(dr, dc, _)| (r + dr, k + dc))
        .filter(move |&(nr, nc)| nr >= 0 && nc >= 0 && (nr as usize) < rows && (nc as usize) < cols)
        .map(move |(nr, nc)| nr as usize * cols + nc as usize)
}

/// How the plan's network is measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasureOptions {
    /// The corridor options of "now" (move rule, cut-off, width, dropping of crossing paths).
    pub corridors: CorridorOptions,
    /// Median dispersal distance, cost units (the same as for "now").
    pub d50: f64,
    /// Landscape area A_L, ha (the same as for "now").
    pub landscape_area_ha: f64,
    /// Measure every corridor again, not only those the changes can reach (for checks).
    pub full: bool,
}

/// One corridor of "now" on the restored surface.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkPlan {
    /// The corridor's id.
    pub id: u32,
    /// Least-cost distance now, cost units.
    pub lcd_now: f64,
    /// Least-cost distance with the plan applied (None: the patches are no longer joined
    /// within `max_cwd`, possible only when a plan raises resistance).
    pub lcd: Option<f64>,
    /// Whether the new least-cost path crosses a third patch (the link is kept all the
    /// same: the pairs are those of now).
    pub crosses_patch: bool,
    /// Whether it was measured again (else it provably keeps its LCD and path).
    pub rerun: bool,
    /// The new least-cost path when it was measured again.
    pub path: Option<Vec<usize>>,
}

/// What the plan buys, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Cells whose resistance the plan changes.
    pub changed_cells: usize,
    /// Per corridor of "now", in corridor order.
    pub links: Vec<LinkPlan>,
    /// IIC, PC and ECA of the restored landscape.
    pub indices: Indices,
}

impl Measured {
    /// Corridors measured again.
    pub fn reruns(&self) -> usize {
        self.links.iter().filter(|l| l.rerun).count()
    }
}

/// Why a plan cannot be measured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeasureError {
    /// Bad input.
    #[error("{0}")]
    Input(String),
    /// The corridor runs failed.
    #[error(transparent)]
    Corridors(#[from] CorridorError),
    /// The indices could not be computed.
    #[error(transparent)]
    Network(#[from] NetworkError),
}

/// The cost of a path (cells in order) on a surface, by the move rule.
fn path_cost(grid: &Grid, r: &[f32], path: &[usize]) -> f64 {
    let cols = grid.cols();
    path.windows(2)
        .map(|w| {
            let diag = w[0] % cols != w[1] % cols && w[0] / cols != w[1] / cols;
            step_cost(grid.cell_size_m(), diag, r[w[0]], r[w[1]])
        })
        .sum()
}

/// An upper bound of a corridor's LCD on a surface `r` made by changes `ch`: the least cost
/// on it of the corridor's path now and, when given, the path an earlier measurement traced
/// for it (another plan on the same patches). Each is a path between the two patches, so
/// each cost bounds the LCD; the tighter the bound, the fewer cells the corridor's run
/// enters, and the run's result does not depend on it. `+∞` when neither path is passable,
/// and when the changes flip a cell's passability: a cell made a barrier beside a path can
/// forbid its diagonal move past that corner, which its cost would not show.
fn corridor_bound(
    grid: &Grid,
    (r, ch): (&[f32], &Changes),
    now: &[usize],
    earlier: Option<&[usize]>,
) -> f64 {
    if ch.flips_passability() {
        return f64::INFINITY;
    }
    let finite_or_inf = |x: f64| if x.is_nan() { f64::INFINITY } else { x };
    let a = finite_or_inf(path_cost(grid, r, now));
    earlier.map_or(a, |p| a.min(finite_or_inf(path_cost(grid, r, p))))
}

/// Each connector's corridor measured with only that connector built: its gap sites
/// (`gap_sites[k]`, indices into the sites: those the plan would restore) at their target
/// classes and its crossing cells at `crossing_resistance`. One bounded run per connector
/// asked for (`wanted[k]`; bounded by its old path's cost with the changes), each thread
/// taking the next connector and patching and restoring its own surface: the
/// first thread `res` itself (given back as it came), each other one a copy (4 bytes per cell
/// per thread beyond the first). `None` where the pair is no longer joined (only when
/// resistance rises) and for the connectors not asked for.
///
/// `earlier`: a measurement of a plan on the same network and patches whose surface `res`
/// is (a refinement round values the candidates on top of the last plan): the paths it
/// traced, re-costed with each connector built, also bound the runs (the same values, fewer
/// cells entered).
///
/// # Errors
/// [`MeasureError`] for a change that is no resistance or a failed run.
///
/// # Panics
/// When `earlier` does not have one link per corridor.
#[allow(clippy::too_many_arguments)]
pub fn connector_lcds(
    grid: &Grid,
    res: &mut Resistance,
    restoration: &Restoration,
    cands: &Candidates,
    gap_sites: &[Vec<usize>],
    wanted: &[bool],
    crossing_resistance: f32,
    sources: &Sources,
    (net, earlier): (&CorridorNetwork, Option<&Measured>),
    copts: &CorridorOptions,
) -> Result<Vec<Option<f64>>, MeasureError> {
    use rayon::prelude::*;
    let n = cands.connectors.len();
    if let Some(e) = earlier {
        assert_eq!(e.links.len(), net.corridors.len(), "one link per corridor");
    }
    assert_eq!(gap_sites.len(), n, "gap sites per connector");
    assert_eq!(wanted.len(), n, "one flag per connector");
    let patch = corridors::PatchCells::new(grid, sources);
    let copts = CorridorOptions {
        drop_crossing: false,
        ..*copts
    };
    let asked: Vec<usize> = (0..n).filter(|&k| wanted[k]).collect();
    let threads = rayon::current_num_threads().clamp(1, asked.len().max(1));
    // The copies are made before the first thread patches `res`.
    let mut copies: Vec<Resistance> = (1..threads).map(|_| res.clone()).collect();
    let surfaces: Vec<&mut Resistance> = std::iter::once(res).chain(copies.iter_mut()).collect();
    // Each thread takes the next connector asked for (their runs differ a lot in size);
    // every value depends on its connector alone, so the order of work does not matter.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: Vec<Vec<(usize, Option<f64>)>> = surfaces
        .into_par_iter()
        .map(|work| -> Result<Vec<(usize, Option<f64>)>, MeasureError> {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&k) = asked.get(i) else {
                    return Ok(out);
                };
                let conn = &cands.connectors[k];
                let ch = changes_of(
                    restoration,
                    work,
                    cands,
                    gap_sites[k].iter().copied(),
                    [k],
                    crossing_resistance,
                );
                let built = work
                    .patched(&ch.cells, &ch.plan)
                    .map_err(|(i, v)| bad_value(&ch, i, v))?;
                let l = conn.id as usize - 1;
                let c = &net.corridors[l];
                let traced = earlier.and_then(|e| e.links[l].path.as_deref());
                let pair = PairBound {
                    from: c.from,
                    to: c.to,
                    bound: corridor_bound(grid, (built.values(), &ch), &c.path, traced),
                };
                let m = corridors::remeasure_lcds_with(grid, &built, &patch, &[pair], &copts);
                drop(built);
                out.push((k, m?.pop().flatten()));
            }
        })
        .collect::<Result<_, _>>()?;
    let mut out = vec![None; n];
    for (k, lcd) in done.into_iter().flatten() {
        out[k] = lcd;
    }
    Ok(out)
}

/// Connectivity values in units of measured PC (the model the optimizer steers by when
/// `connector_benefit = "pc_gain"`).
#[derive(Debug, Clone, PartialEq)]
pub struct PcValues {
    /// Per connector: the rise in PC when its corridor's LCD drops to the one measured with
    /// it built ([`connector_lcds`]), the rest of the network as it is (exact, by
    /// [`network::LinkGains`]).
    pub connector: Vec<f64>,
    /// Per site: `Σ_c slope_c · drop_c` over the corridors it shortens, with `drop_c` its LCD
    /// drop (the candidates' lower bound) and `slope_c` the secant of corridor c's exact gain
    /// curve (PC gained per cost unit of LCD removed) between its LCD now and the LCD its
    /// connector reaches, or, for a corridor without connector, the LCD its best single site
    /// reaches. A model: a site's share of a corridor's gain.
    pub site: Vec<f64>,
    /// Per connector, the LCD measured with it built (cost units).
    pub connector_lcd: Vec<Option<f64>>,
}

/// The connectivity values of the candidates in measured-PC units (see [`PcValues`]).
///
/// `base_lcd[l]` is corridor l's LCD in the network `gains` was made on (the corridors' own
/// LCDs for the landscape as it is; a measured plan's for a refinement round).
pub fn pc_values(
    gains: &network::LinkGains,
    net: &CorridorNetwork,
    base_lcd: &[f64],
    cands: &Candidates,
    connector_lcd: Vec<Option<f64>>,
) -> PcValues {
    use rayon::prelude::*;
    // The LCD each corridor reaches with its connector, else with its best single site.
    let mut target: Vec<Option<f64>> = vec![None; net.corridors.len()];
    for (conn, lcd) in cands.connectors.iter().zip(&connector_lcd) {
        target[conn.id as usize - 1] = *lcd;
    }
    let mut best_drop = vec![0f64; net.corridors.len()];
    for s in &cands.sites {
        for &(c, d) in &s.corridors {
            let b = &mut best_drop[c as usize - 1];
            *b = b.max(d);
        }
    }
    let curve: Vec<(f64, f64)> = net
        .corridors
        .par_iter()
        .enumerate()
        .map(|(l, _)| {
            let lcd = base_lcd[l];
            let x = target[l].unwrap_or(lcd - best_drop[l]);
            let gain = gains.gain(l, x);
            let slope = if lcd - x > 0.0 { gain / (lcd - x) } else { 0.0 };
            (gain, slope)
        })
        .collect();
    let connector = cands
        .connectors
        .iter()
        .zip(&connector_lcd)
        .map(|(conn, lcd)| lcd.map_or(0.0, |_| curve[conn.id as usize - 1].0))
        .collect();
    let site = cands
        .sites
        .iter()
        .map(|s| {
            s.corridors
                .iter()
                .map(|&(c, d)| curve[c as usize - 1].1 * d)
                .sum()
        })
        .collect();
    PcValues {
        connector,
        site,
        connector_lcd,
    }
}

/// Which corridors the changes can reach (step 3 of the module docs).
pub fn affected(grid: &Grid, net: &CorridorNetwork, ch: &Changes, width: f64) -> Vec<bool> {
    let n = net.corridors.len();
    if ch.is_empty() {
        return vec![false; n];
    }
    if ch
        .now
        .iter()
        .zip(&ch.plan)
        .any(|(a, b)| a.is_finite() != b.is_finite())
    {
        return vec![true; n];
    }
    let per_cell = std::f64::consts::SQRT_2 * grid.cell_size_m();
    let saving: Vec<f64> = ch
        .now
        .iter()
        .zip(&ch.plan)
        .map(|(&a, &b)| per_cell * (a as f64 - b as f64).max(0.0))
        .collect();
    let total: f64 = saving.iter().sum();
    let mut bits = vec![0u64; grid.len().div_ceil(64)];
    for &c in &ch.cells {
        bits[c as usize / 64] |= 1 << (c % 64);
    }
    let marked = |c: usize| bits[c / 64] & (1 << (c % 64)) != 0;
    let slot = |c: u32| {
        ch.cells
            .binary_search(&c)
            .expect("a marked cell is a change")
    };
    // The width with a margin for the f32 cost distances the zone cells keep.
    let beyond_width = width * (1.0 - 1e-6);
    net.corridors
        .iter()
        .map(|c| {
            if c.path.iter().any(|&p| marked(p)) {
                return true;
            }
            if c.zone.is_empty() {
                // Zone cells not kept: nothing is known about NLCC, so measure.
                return true;
            }
            // (NLCC, saving) of the changed zone cells, NLCC lowered by the f32 rounding of
            // the stored cost distances.
            let inside: Vec<(f64, f64)> = c
                .zone
                .iter()
                .filter(|z| marked(z.cell as usize))
                .map(|z| {
                    let sum = z.cwd_from as f64 + z.cwd_to as f64;
                    let nlcc = (sum - c.lcd) - 1e-6 * sum.abs().max(c.lcd.abs());
                    (nlcc, saving[slot(z.cell)])
                })
                .collect();
            let outside = total - inside.iter().map(|x| x.1).sum::<f64>();
            let mut t = total;
            loop {
                let mut next: f64 = inside
                    .iter()
                    .filter(|(nlcc, _)| *nlcc <= t)
                    .map(|x| x.1)
                    .sum();
                if t >= beyond_width {
                    next += outside.max(0.0);
                }
                if next >= t {
                    break;
                }
                t = next;
            }
            t > 0.0
        })
        .collect()
}

/// Measures the network of the restored landscape (module docs).
///
/// `graph` is the patch graph of `net` (one link per corridor, in corridor order). The
/// changes are applied to `res` in place while the corridors run again and taken back
/// before it returns (also on an error): no copy of the grid.
///
/// # Errors
/// [`MeasureError`] for a change that is no resistance, failed runs or indices.
///
/// # Panics
/// When `graph` does not have one link per corridor.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    grid: &Grid,
    res: &mut Resistance,
    ch: &Changes,
    sources: &Sources,
    net: &CorridorNetwork,
    graph: &Graph,
    opts: &MeasureOptions,
) -> Result<Measured, MeasureError> {
    measure_on(grid, res, ch, (sources, None), (net, None), graph, opts)
}

/// [`measure`] with the plan's own patches when they grow (`grown`, from
/// [`grown_sources`]): every corridor is measured again between the grown patches (their new
/// cells are sources, cost 0) and the indices use their new areas.
///
/// `earlier`: a measurement of another plan on the same network (the last round's, when a
/// plan is refined): the paths it traced, re-costed on this plan's surface, also bound the
/// runs (see [`corridor_bound`]: the same results, fewer cells entered). Not used when
/// `grown` is given, as its paths may start from cells another plan grew.
///
/// # Errors
/// As [`measure`].
///
/// # Panics
/// When `graph` or `earlier` does not have one link per corridor.
pub fn measure_on(
    grid: &Grid,
    res: &mut Resistance,
    ch: &Changes,
    (sources, grown): (&Sources, Option<&Sources>),
    (net, earlier): (&CorridorNetwork, Option<&Measured>),
    graph: &Graph,
    opts: &MeasureOptions,
) -> Result<Measured, MeasureError> {
    assert_eq!(
        graph.links.len(),
        net.corridors.len(),
        "one link per corridor"
    );
    if let Some(e) = earlier {
        assert_eq!(e.links.len(), net.corridors.len(), "one link per corridor");
    }
    let earlier = earlier.filter(|_| grown.is_none());
    let grew = grown.is_some_and(|g| g.ids != sources.ids);
    let rerun = if opts.full || grew {
        vec![true; net.corridors.len()]
    } else {
        affected(grid, net, ch, opts.corridors.width)
    };
    let mut links: Vec<LinkPlan> = net
        .corridors
        .iter()
        .zip(&rerun)
        .map(|(c, &again)| LinkPlan {
            id: c.id,
            lcd_now: c.lcd,
            lcd: Some(c.lcd),
            rerun: again,
            crosses_patch: c.crosses_patch,
            path: None,
        })
        .collect();
    if rerun.iter().any(|&r| r) {
        let restored = res
            .patched_exact(&ch.cells, &ch.plan)
            .map_err(|(k, x)| bad_value(ch, k, x))?;
        let r = restored.values();
        let pairs: Vec<PairBound> = net
            .corridors
            .iter()
            .enumerate()
            .zip(&rerun)
            .filter(|(_, &again)| again)
            .map(|((l, c), _)| {
                // The old path on the new surface is a path: its cost bounds the new LCD, and
                // so does the earlier plan's path.
                let traced = earlier.and_then(|e| e.links[l].path.as_deref());
                PairBound {
                    from: c.from,
                    to: c.to,
                    bound: corridor_bound(grid, (r, ch), &c.path, traced),
                }
            })
            .collect();
        // The links are those of now: a link whose better path now crosses a third patch
        // keeps its new LCD (dropping it would make a plan that only lowers resistance
        // lower IIC).
        let copts = CorridorOptions {
            drop_crossing: false,
            ..opts.corridors
        };
        let plan_sources = if grew { grown.expect("grew") } else { sources };
        let measured = corridors::remeasure_paths(grid, &restored, plan_sources, &pairs, &copts)?;
        let again = links.iter_mut().filter(|l| l.rerun);
        for (l, m) in again.zip(measured) {
            l.lcd = m.as_ref().map(|c| c.lcd);
            l.crosses_patch = m.as_ref().is_some_and(|c| c.crosses_patch);
            l.path = m.map(|c| c.path);
        }
    }
    let plan_graph = Graph {
        attr: match grown {
            Some(g) if grew => g.patches.iter().map(|p| p.area_ha).collect(),
            _ => graph.attr.clone(),
        },
        links: graph
            .links
            .iter()
            .zip(&links)
            .filter_map(|(&(a, b, _), l)| l.lcd.map(|d| (a, b, d)))
            .collect(),
    };
    let indices = network::indices(&plan_graph, opts.landscape_area_ha, opts.d50)?;
    Ok(Measured {
        changed_cells: ch.len(),
        links,
        indices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::{self, CandidateOptions, Within};
    use crate::classes::ClassTable;
    use crate::corridors::PairRule;
    use crate::costdist::{accumulate_cost, CostOptions};
    use crate::grid::Crs;
    use crate::landscape::Landscape;
    use crate::resistance::{self, CellModel, Combine, ResistanceOptions};
    use crate::sources::Patch;
    use proptest::prelude::*;

    const TABLE: &str = "code,name,name_zh,resistance,habitat,c_above,c_below,c_soil,c_dead,emission,seq_rate,restorable_to,cost_yuan_per_ha\n\
        301,forest,乔木林地,1,1,50,12,88,13,0,0.644,,0\n\
        103,dry land,旱地,100,0,5,0,60.7,0,0.422,0,301,30000\n\
        404,other grassland,其他草地,30,0,0,0,40,0,0,0,301,20000\n\
        1003,highway,公路用地,900,0,0,0,22,0,20,0,,0\n\
        701,urban,城镇住宅用地,1000,0,0,0,44,0,50,0,,0\n";

    /// `1`-`9`: forest in that patch; `f` forest; `d` dry land; `g` grassland; `h` highway;
    /// `u` urban.
    fn scene(pic: &[String], cell: f64) -> (Landscape, Sources) {
        let classes = ClassTable::parse(std::path::Path::new("t.csv"), TABLE).unwrap();
        let (rows, cols) = (pic.len(), pic[0].len());
        let grid = Grid::new(
            rows as u64,
            cols as u64,
            cell,
            0.0,
            rows as f64 * cell,
            Crs::projected_epsg(4545),
        )
        .unwrap();
        let idx = |code| classes.index_of(code).unwrap();
        let (mut landcover, mut ids) = (Vec::new(), Vec::new());
        for ch in pic.concat().chars() {
            let (code, id) = match ch {
                '1'..='9' => (301, ch.to_digit(10).unwrap()),
                'f' => (301, 0),
                'd' => (103, 0),
                'g' => (404, 0),
                'h' => (1003, 0),
                'u' => (701, 0),
                _ => panic!("{ch}"),
            };
            landcover.push(idx(code));
            ids.push(id);
        }
        let mut present: Vec<u32> = ids.iter().copied().filter(|&i| i != 0).collect();
        present.sort_unstable();
        present.dedup();
        let patches = present
            .into_iter()
            .map(|id| Patch {
                id,
                cells: 0,
                area_ha: ids.iter().filter(|&&i| i == id).count() as f64 * cell * cell / 1e4,
                core_area_ha: 0.0,
                perimeter_m: 0.0,
                centroid_x: 0.0,
                centroid_y: 0.0,
                mean_resistance: 1.0,
                carbon_stock_tc: 0.0,
                dominant_class: 0,
            })
            .collect();
        let n = ids.len();
        let land = Landscape {
            grid,
            classes,
            landcover,
            zones: vec![],
            zone_bits: vec![0; n],
            districts: None,
            factors: vec![],
            access: None,
        };
        (land, Sources { ids, patches })
    }

    fn res_opts() -> ResistanceOptions {
        ResistanceOptions {
            combine: Combine::WeightedSum,
            class_weight: 1.0,
            factors: vec![],
            zone_multipliers: [1.0; 8],
        }
    }

    fn corridor_opts(width: f64, corner_cutting: bool) -> CorridorOptions {
        CorridorOptions {
            cost: CostOptions {
                max_cwd: None,
                corner_cutting,
            },
            width,
            pairs: PairRule::AllocationTouch,
            drop_crossing: false,
            keep_zone_cells: true,
        }
    }

    fn patch_graph(src: &Sources, net: &CorridorNetwork) -> Graph {
        let slot = |id: u32| src.patches.iter().position(|p| p.id == id).unwrap();
        Graph {
            attr: src.patches.iter().map(|p| p.area_ha).collect(),
            links: net
                .corridors
                .iter()
                .map(|c| (slot(c.from), slot(c.to), c.lcd))
                .collect(),
        }
    }

    /// Everything a measurement needs, for one picture.
    struct Case {
        land: Landscape,
        src: Sources,
        res: Resistance,
        net: CorridorNetwork,
        cands: Candidates,
        copts: CorridorOptions,
    }

    fn case(pic: &[String], width: f64, corner_cutting: bool) -> Case {
        let (land, src) = scene(pic, 30.0);
        let ro = res_opts();
        let res = resistance::build(&land, &ro).unwrap();
        let copts = corridor_opts(width, corner_cutting);
        let net = corridors::build(&land.grid, &res, &src, &copts).unwrap();
        let model = CellModel::new(&land, &ro);
        let value = vec![1.0; net.corridors.len()];
        let cands = candidates::build(
            &candidates::Inputs {
                land: &land,
                model: &model,
                res: res.values(),
                sources: &src,
                net: &net,
                value: &value,
                given: None,
            },
            &CandidateOptions {
                parcel_size_m: 90.0,
                within: Within::Anywhere,
                corner_cutting,
                ..Default::default()
            },
        )
        .unwrap();
        Case {
            land,
            src,
            res,
            net,
            cands,
            copts,
        }
    }

    impl Case {
        fn changes(&self, sites: &[bool], connectors: &[bool], crossing: f32) -> Changes {
            let ro = res_opts();
            let model = CellModel::new(&self.land, &ro);
            let rest = Restoration::new(&self.land, &model, &self.src);
            changes(&rest, &self.res, &self.cands, sites, connectors, crossing)
        }

        fn measure(&self, ch: &Changes, full: bool) -> Measured {
            self.measure_after(ch, full, None)
        }

        /// [`connector_lcds`] of the connectors `wanted` on `res` (the surface as it is, or
        /// a plan applied to it), bounded by `earlier` when given.
        fn connector_lcds(
            &self,
            res: &mut Resistance,
            wanted: &[bool],
            crossing: f32,
            earlier: Option<&Measured>,
        ) -> Vec<Option<f64>> {
            let ro = res_opts();
            let model = CellModel::new(&self.land, &ro);
            let rest = Restoration::new(&self.land, &model, &self.src);
            let gaps: Vec<Vec<usize>> = self
                .cands
                .connectors
                .iter()
                .map(|k| k.gap_sites.clone())
                .collect();
            connector_lcds(
                &self.land.grid,
                res,
                &rest,
                &self.cands,
                &gaps,
                wanted,
                crossing,
                &self.src,
                (&self.net, earlier),
                &self.copts,
            )
            .unwrap()
        }

        /// The plan of connector `k` alone: its gap sites and itself.
        fn connector_alone(&self, k: usize) -> (Vec<bool>, Vec<bool>) {
            let mut sites = vec![false; self.cands.sites.len()];
            for &g in &self.cands.connectors[k].gap_sites {
                sites[g] = true;
            }
            let mut conns = vec![false; self.cands.connectors.len()];
            conns[k] = true;
            (sites, conns)
        }

        /// [`Case::measure`] with an earlier measurement bounding the runs.
        fn measure_after(&self, ch: &Changes, full: bool, earlier: Option<&Measured>) -> Measured {
            let graph = patch_graph(&self.src, &self.net);
            let d50 = self.net.corridors.first().map_or(1.0, |c| c.lcd);
            let area = self.land.grid.len() as f64 * self.land.grid.cell_area_ha();
            let mut res = self.res.clone();
            let m = measure_on(
                &self.land.grid,
                &mut res,
                ch,
                (&self.src, None),
                (&self.net, earlier),
                &graph,
                &MeasureOptions {
                    corridors: self.copts,
                    d50,
                    landscape_area_ha: area,
                    full,
                },
            )
            .unwrap();
            // Measuring changes the surface in place and gives it back as it came.
            assert_eq!(bits(&res), bits(&self.res));
            assert_eq!(res.range(), self.res.range());
            m
        }
    }

    /// A surface's values as bit patterns (NaN compares equal to itself).
    fn bits(r: &Resistance) -> Vec<u32> {
        r.values().iter().map(|v| v.to_bits()).collect()
    }

    fn pic(rows: &[&str]) -> Vec<String> {
        rows.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn restoring_the_gap_of_a_corridor_gives_the_hand_computed_lcd() {
        // Patches 1 and 2 joined across three dry-land cells (R 100) in a row of forest
        // (R 1) fenced by urban land: the LCD is 30 m x (1+100)/2 + 2 x 30 x 100 + 30 x
        // (100+1)/2 = 9,030; restored to forest it is 4 x 30 x 1 = 120.
        let c = case(&pic(&["uuuuuuu", "1dddd2u", "uuuuuuu"]), 1e9, true);
        // Four dry-land cells: LCD = 2 x 30 x 101/2 + 3 x 30 x 100 = 12,030.
        assert_eq!(c.net.corridors.len(), 1);
        assert!((c.net.corridors[0].lcd - 12_030.0).abs() < 1e-9);
        let all = vec![true; c.cands.sites.len()];
        let none = vec![false; c.cands.connectors.len()];
        let ch = c.changes(&all, &none, 60.0);
        assert_eq!(ch.len(), 4);
        let m = c.measure(&ch, false);
        assert_eq!(m.links[0].lcd, Some(150.0));
        assert!(m.links[0].rerun);
        assert!(m.indices.pc > 0.0);
        // Nothing selected: nothing changes and nothing runs.
        let ch0 = c.changes(&vec![false; c.cands.sites.len()], &none, 60.0);
        assert!(ch0.is_empty());
        let m0 = c.measure(&ch0, false);
        assert_eq!(m0.reruns(), 0);
        assert_eq!(m0.links[0].lcd, Some(12_030.0));
    }

    #[test]
    fn grown_patches_take_the_restored_habitat_that_touches_them() {
        // Patches 1 and 2 with four dry-land cells between them (restored to forest, a
        // habitat class) and one more restored cell that touches no patch.
        let c = case(&pic(&["uuuuuuuu", "1dddd2ud", "uuuuuuuu"]), 1e9, true);
        let all = vec![true; c.cands.sites.len()];
        let ch = c.changes(&all, &vec![false; c.cands.connectors.len()], 60.0);
        assert_eq!(ch.len(), 5);
        let habitat = |i: usize| c.land.landcover[i] != c.land.classes.index_of(701).unwrap();
        let g = grown_sources(&c.land.grid, &c.src, &ch, &habitat);
        // Both grow one cell a step, meeting in the middle; the lone cell stays outside.
        assert_eq!(&g.ids[8..16], &[1, 1, 1, 2, 2, 2, 0, 0]);
        assert_eq!(g.patches[0].cells, 3);
        assert!((g.patches[0].area_ha - 3.0 * 0.09).abs() < 1e-12);
        // The grown patches touch: one rook step of forest, 30 x (1 + 1) / 2.
        let graph = patch_graph(&c.src, &c.net);
        let area = c.land.grid.len() as f64 * c.land.grid.cell_area_ha();
        let m = measure_on(
            &c.land.grid,
            &mut c.res.clone(),
            &ch,
            (&c.src, Some(&g)),
            (&c.net, None),
            &graph,
            &MeasureOptions {
                corridors: c.copts,
                d50: 1000.0,
                landscape_area_ha: area,
                full: false,
            },
        )
        .unwrap();
        assert_eq!(m.links[0].lcd, Some(30.0));
        let want = network::indices(
            &Graph {
                attr: g.patches.iter().map(|p| p.area_ha).collect(),
                links: vec![(0, 1, 30.0)],
            },
            area,
            1000.0,
        )
        .unwrap();
        assert_eq!(m.indices, want);
    }

    #[test]
    fn a_crossing_structure_lowers_the_crossing_cells_to_its_resistance() {
        // A highway (R 900) cut between patches 1 and 2; the only connector's crossing is the
        // highway cell: 30 x (1+900)/2 x 2 = 27,030 now, 30 x (1+60)/2 x 2 = 1,830 with it.
        let c = case(&pic(&["uuuuu", "1fhf2", "uuuuu"]), 1e9, true);
        assert_eq!(c.cands.connectors.len(), 1);
        assert_eq!(c.cands.connectors[0].crossing_cells, vec![7]);
        let lcd = c.net.corridors[0].lcd;
        assert!(
            (lcd - (30.0 * 1.0 * 2.0 + 30.0 * 901.0)).abs() < 1e-9,
            "{lcd}"
        );
        let ch = c.changes(&[], &[true], 60.0);
        assert_eq!((ch.cells.clone(), ch.plan.clone()), (vec![7], vec![60.0]));
        let m = c.measure(&ch, false);
        assert_eq!(m.links[0].lcd, Some(30.0 * 2.0 + 30.0 * 61.0));
        assert!(m.indices.pc > 0.0);
    }

    #[test]
    fn far_changes_rerun_no_corridor() {
        // Two corridors (1-2 along the top, 3-4 along the bottom) walled off from each other
        // by urban land; restoring the grassland cell of the bottom corridor saves at most
        // √2 x 30 x 29 = 1,230 < width, and the top corridor's zone does not meet it: the top
        // one provably keeps its LCD without a run.
        let c = case(
            &pic(&[
                "1ffffff2", "uuuuuuuu", "uuuuuuuu", "uuuuuuuu", "uuuuuuuu", "3fffgff4",
            ]),
            5_000.0,
            true,
        );
        let ends: Vec<(u32, u32)> = c.net.corridors.iter().map(|x| (x.from, x.to)).collect();
        assert!(ends.contains(&(1, 2)) && ends.contains(&(3, 4)), "{ends:?}");
        let sites: Vec<bool> = c.cands.sites.iter().map(|_| true).collect();
        let ch = c.changes(&sites, &vec![false; c.cands.connectors.len()], 60.0);
        assert_eq!(ch.len(), 1);
        let m = c.measure(&ch, false);
        let top = c
            .net
            .corridors
            .iter()
            .position(|x| (x.from, x.to) == (1, 2))
            .unwrap();
        let bottom = c
            .net
            .corridors
            .iter()
            .position(|x| (x.from, x.to) == (3, 4))
            .unwrap();
        assert!(!m.links[top].rerun);
        assert!(m.links[bottom].rerun);
        let full = c.measure(&ch, true);
        assert_eq!(full.reruns(), c.net.corridors.len());
        for (a, b) in m.links.iter().zip(&full.links) {
            assert_eq!(a.lcd, b.lcd);
        }
        assert_eq!(m.indices, full.indices);
    }

    /// A random picture: patches 1-4 as blocks in the corners and the middle, the rest
    /// drawn from forest, dry land, grassland, highway and urban.
    fn random_pic(seed: u64, rows: usize, cols: usize) -> Vec<String> {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut g: Vec<Vec<char>> = (0..rows)
            .map(|_| {
                (0..cols)
                    .map(|_| match next() % 10 {
                        0..=2 => 'f',
                        3..=5 => 'd',
                        6 => 'g',
                        7 => 'h',
                        _ => 'u',
                    })
                    .collect()
            })
            .collect();
        let blocks = [
            (0, 0, '1'),
            (0, cols - 2, '2'),
            (rows - 2, 0, '3'),
            (rows - 2, cols - 2, '4'),
            (rows / 2 - 1, cols / 2 - 1, '5'),
        ];
        for &(r, c, ch) in &blocks {
            for row in &mut g[r..r + 2] {
                row[c..c + 2].fill(ch);
            }
        }
        g.into_iter().map(|r| r.into_iter().collect()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Each connector's own LCD equals the full measurement of a plan made of just that
        /// connector and its gap sites; its PC value equals the PC such a plan measures
        /// when only that corridor changes.
        #[test]
        fn connector_lcds_equal_measuring_each_connector_alone(seed in any::<u64>(), corner_cutting in any::<bool>()) {
            let c = case(&random_pic(seed, 14, 16), 5_000.0, corner_cutting);
            prop_assume!(!c.cands.connectors.is_empty());
            let n = c.cands.connectors.len();
            let mut res = c.res.clone();
            let lcds = c.connector_lcds(&mut res, &vec![true; n], 60.0, None);
            // The first thread's surface (the one given) comes back as it came.
            prop_assert_eq!(bits(&res), bits(&c.res));
            prop_assert_eq!(res.range(), c.res.range());
            // Every other connector asked for: the same LCDs for those, None for the others.
            let every_other: Vec<bool> = (0..n).map(|k| k % 2 == 1).collect();
            let part = c.connector_lcds(&mut res, &every_other, 60.0, None);
            for k in 0..n {
                prop_assert_eq!(part[k], if every_other[k] { lcds[k] } else { None });
            }
            let graph = patch_graph(&c.src, &c.net);
            let d50 = c.net.corridors[0].lcd;
            let area = c.land.grid.len() as f64 * c.land.grid.cell_area_ha();
            let gains = network::LinkGains::new(&graph, area, d50).unwrap();
            let base: Vec<f64> = c.net.corridors.iter().map(|x| x.lcd).collect();
            let values = pc_values(&gains, &c.net, &base, &c.cands, lcds.clone());
            let now = network::indices(&graph, area, d50).unwrap();
            for (k, conn) in c.cands.connectors.iter().enumerate() {
                let (sites, conns) = c.connector_alone(k);
                let ch = c.changes(&sites, &conns, 60.0);
                let m = c.measure(&ch, false);
                let l = conn.id as usize - 1;
                prop_assert_eq!(lcds[k], m.links[l].lcd, "connector {}", conn.id);
                // With only this link changed, the exact gain is the measured rise in PC.
                let mut only = graph.clone();
                only.links[l].2 = m.links[l].lcd.unwrap();
                let want = network::indices(&only, area, d50).unwrap().pc - now.pc;
                prop_assert!((values.connector[k] - want).abs() <= 1e-12 + 1e-9 * want.abs(), "{} vs {}", values.connector[k], want);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Changes that turn passable cells impassable (here crossings made barriers, so
        /// some links are cut): each connector's LCD still equals the full measurement of
        /// its plan alone (the runs are then unbounded, see `corridor_bound`).
        #[test]
        fn connector_lcds_hold_when_a_change_blocks_cells(seed in any::<u64>()) {
            let c = case(&random_pic(seed, 14, 16), 5_000.0, false);
            prop_assume!(!c.cands.connectors.is_empty());
            let all = vec![true; c.cands.connectors.len()];
            let lcds = c.connector_lcds(&mut c.res.clone(), &all, f32::INFINITY, None);
            for (k, conn) in c.cands.connectors.iter().enumerate() {
                let (sites, conns) = c.connector_alone(k);
                let m = c.measure(&c.changes(&sites, &conns, f32::INFINITY), true);
                prop_assert_eq!(lcds[k], m.links[conn.id as usize - 1].lcd, "connector {}", conn.id);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Another plan's paths only bound the runs: a plan measured with an earlier
        /// measurement of a different plan gives the same LCDs, paths and indices, bit for
        /// bit, as measured alone; so do the connectors' LCDs valued on top of a plan.
        #[test]
        fn an_earlier_plan_bounds_the_runs_and_changes_no_result(
            seed in any::<u64>(),
            width in prop::sample::select(vec![0.0, 5_000.0, 1e9]),
            corner_cutting in any::<bool>(),
            pick_a in any::<u64>(),
            pick_b in any::<u64>(),
        ) {
            let c = case(&random_pic(seed, 16, 18), width, corner_cutting);
            prop_assume!(!c.net.corridors.is_empty());
            let choose = |pick: u64, n: usize, shift: usize| -> Vec<bool> {
                (0..n).map(|k| (pick >> ((k + shift) % 61)) & 3 == 0).collect()
            };
            let (ns, nc) = (c.cands.sites.len(), c.cands.connectors.len());
            let (sites_a, conns_a) = (choose(pick_a, ns, 0), choose(pick_a, nc, 17));
            // Plan b adds to plan a, as a refinement round mostly does: a's new paths are
            // then often cheaper on b's surface than the paths of now.
            let or = |x: Vec<bool>, y: Vec<bool>| -> Vec<bool> { x.iter().zip(&y).map(|(p, q)| *p || *q).collect() };
            let sites_b = or(sites_a.clone(), choose(pick_b, ns, 0));
            let conns_b = or(conns_a.clone(), choose(pick_b, nc, 17));
            let a = c.measure(&c.changes(&sites_a, &conns_a, 60.0), false);
            let ch_b = c.changes(&sites_b, &conns_b, 60.0);
            let alone = c.measure(&ch_b, false);
            let after = c.measure_after(&ch_b, false, Some(&a));
            prop_assert_eq!(&after.links, &alone.links);
            prop_assert_eq!(after.indices, alone.indices);

            // Connectors valued on top of plan a, bounded by its paths or not.
            let unbuilt: Vec<bool> = conns_a.iter().map(|&x| !x).collect();
            let mut restored = apply(&c.res, &c.changes(&sites_a, &conns_a, 60.0)).unwrap();
            let plain = c.connector_lcds(&mut restored, &unbuilt, 60.0, None);
            let bounded = c.connector_lcds(&mut restored, &unbuilt, 60.0, Some(&a));
            prop_assert_eq!(plain, bounded);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The bounded measurement equals a full re-run of every corridor, and both equal an
        /// independent path: the sites' classes burned into the land cover by hand, the
        /// resistance built from it, the crossings set, and the LCD of each pair from a
        /// whole-grid cost-distance run.
        #[test]
        fn measurement_equals_a_full_rerun_and_the_burned_land_cover(
            seed in any::<u64>(),
            width in prop::sample::select(vec![0.0, 5_000.0, 50_000.0, 1e9]),
            corner_cutting in any::<bool>(),
            drop_crossing in any::<bool>(),
            pick in any::<u64>(),
        ) {
            let mut c = case(&random_pic(seed, 16, 18), width, corner_cutting);
            if drop_crossing {
                c.copts.drop_crossing = true;
                c.net = corridors::build(&c.land.grid, &c.res, &c.src, &c.copts).unwrap();
            }
            prop_assume!(!c.net.corridors.is_empty());
            // A few sites and connectors (about one in eight), so that the bound has
            // corridors to leave out.
            let sites: Vec<bool> = (0..c.cands.sites.len()).map(|k| (pick >> (k % 61)) & 7 == 0).collect();
            let conns: Vec<bool> = (0..c.cands.connectors.len()).map(|k| (pick >> ((k + 17) % 61)) & 7 == 0).collect();
            let ch = c.changes(&sites, &conns, 60.0);
            let m = c.measure(&ch, false);
            let full = c.measure(&ch, true);
            for (a, b) in m.links.iter().zip(&full.links) {
                prop_assert_eq!(a.lcd, b.lcd, "corridor {}", a.id);
                if a.rerun {
                    prop_assert_eq!(&a.path, &b.path);
                }
            }
            prop_assert_eq!(m.indices, full.indices);

            // Independent: burn the targets into the land cover and build the surface anew.
            let mut land2 = c.land.clone();
            let targets: std::collections::BTreeMap<u32, u32> = c.land.classes.classes().iter()
                .filter_map(|k| k.restorable_to.map(|t| (k.code, t))).collect();
            for k in (0..sites.len()).filter(|&k| sites[k]) {
                for &cell in c.cands.cells_of(k) {
                    let cell = cell as usize;
                    let code = c.land.classes.classes()[c.land.landcover[cell] as usize].code;
                    if let (Some(t), 0) = (targets.get(&code), c.src.ids[cell]) {
                        land2.landcover[cell] = c.land.classes.index_of(*t).unwrap();
                    }
                }
            }
            let mut v = resistance::build(&land2, &res_opts()).unwrap().values().to_vec();
            for (k, conn) in c.cands.connectors.iter().enumerate() {
                if conns[k] {
                    for &cell in &conn.crossing_cells {
                        v[cell as usize] = 60.0;
                    }
                }
            }
            let restored = Resistance::from_values(v).unwrap();
            let applied = apply(&c.res, &ch).unwrap();
            prop_assert_eq!(restored.values(), applied.values());
            let again = corridors::build(&c.land.grid, &restored, &c.src, &c.copts).unwrap();
            let (rows, cols) = (c.land.grid.rows(), c.land.grid.cols());
            for (l, cor) in m.links.iter().zip(&c.net.corridors) {
                let seeds = c.src.ids.iter().enumerate().filter(|(_, &id)| id == cor.from).map(|(i, _)| (i, 1));
                let run = accumulate_cost(rows, cols, 30.0, &restored, seeds, &c.copts.cost);
                let lcd = c.src.ids.iter().enumerate().filter(|(_, &id)| id == cor.to)
                    .map(|(i, _)| run.cost[i] as f64).fold(f64::INFINITY, f64::min);
                let again_pair = again.corridors.iter().find(|x| (x.from, x.to) == (cor.from, cor.to));
                // Resistance only falls here, so every link stays.
                let got = l.lcd.unwrap();
                // The whole-grid run stores f32 costs.
                prop_assert!((got - lcd).abs() <= 1e-6 * lcd.max(1.0), "corridor {}: {} vs {}", l.id, got, lcd);
                // And the corridor stage on the restored surface gives the same pair the
                // same LCD, bit for bit, when it still pairs them.
                if let Some(x) = again_pair {
                    // (With drop_crossing the stage drops a pair whose path crosses a patch;
                    // the measurement keeps it, see the module docs.)
                    prop_assert_eq!(x.lcd, got);
                    prop_assert_eq!(x.crosses_patch, l.crosses_patch);
                    prop_assert_eq!(&x.path, l.path.as_ref().unwrap_or(&cor.path));
                }
            }
        }
    }
}
