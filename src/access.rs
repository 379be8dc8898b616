//! Park access: walking time from every home to the nearest park, and who is within the
//! threshold (the ten-minute walk of Singapore's Green Plan, the Paris region's 2040 plan and
//! GB/T 51346-2019's park service radius).
//!
//! # Definitions
//! - **Parks**: 8-connected components of park cells (classes with `park = 1`, plus the cells
//!   of an optional park layer) of at least `min_park_ha`.
//! - **Walking impedance** per cell, minutes per metre: `walk_factor(class) × 60 / (1000 ×
//!   walk_speed_kmh)`; a `walk_factor` of `barrier` (water, railways, highways) is impassable,
//!   except at **crossings**: a straight run of barrier cells along a row or a column, at most
//!   [`CROSSING_MAX_M`] long, with a street-like cell (`walk_factor` 1) at both ends, is walked
//!   at street speed (a level crossing, an underpass or a bridge where a street meets it).
//! - **Walking time** `T(c)`: least accumulated `d × (w_a + w_b) / 2` over the 8-neighbour
//!   grid from any cell of a qualifying park (the cost-distance engine's move rule, `d` = cell
//!   size or cell size × √2), in minutes.
//! - **Covered**: `T(c) ≤ threshold_min`. Residents on cells no park can be reached from are
//!   counted as not covered (and reported as unreached).
//! - **Footbridges** (candidates for the plan, [`footbridges`]): straight runs of barrier
//!   cells longer than a street crosses and at most `footbridge_max_m`, with walkable land at
//!   both ends; built, their cells are walked at street speed ([`measure_with`]).
//! - Per district and for the study area: residents (persons), covered residents and their
//!   share (%), park area of the qualifying parks (ha) and per resident (m²/person), and the
//!   people-weighted mean walking time over the residents who can reach a park (min).
//!
//! # Cost
//! One multi-source cost-distance run over the grid (O(N log N)), two labelling passes and
//! linear sums: 4 bytes per cell for the impedance, 12 for the engine's output (f32 cost, u32
//! allocation) and 4 for the park labels, plus the population (8 bytes per populated cell).

use crate::classes::{ClassIdx, OUTSIDE};
use crate::costdist::{accumulate_cost_only, CostOptions};
use crate::landscape::Landscape;
use crate::raster::SparseF32;
use crate::surface::Resistance;

/// Longest run of barrier cells a street crosses, m (a 4-lane road with verges, a railway
/// corridor, a canal).
pub const CROSSING_MAX_M: f64 = 60.0;

/// The `[access]` options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccessOptions {
    /// Smallest park that counts, ha.
    pub min_park_ha: f64,
    /// Walking speed on a street, km/h.
    pub walk_speed_kmh: f64,
    /// Walking time that counts as access, min.
    pub threshold_min: f64,
    /// Side of the blocks residents are grouped in for the optimizer's covering term, m.
    pub block_m: f64,
    /// Longest footbridge the plan may build, m (0: none; see [`footbridges`]).
    pub footbridge_max_m: f64,
    /// Cost of a footbridge per metre of span, yuan/m.
    pub footbridge_cost_yuan_per_m: f64,
}

/// Default longest footbridge, m (a pedestrian bridge over a river, a rail yard or an
/// expressway with its verges).
pub const FOOTBRIDGE_MAX_M: f64 = 150.0;

/// Default cost of a footbridge, yuan per metre of span: a 4-m-wide steel deck at ~15,000
/// yuan/m² with its ramps or stairs (an assumption; give the bureau's own figure).
pub const FOOTBRIDGE_COST_YUAN_PER_M: f64 = 60_000.0;

impl Default for AccessOptions {
    fn default() -> Self {
        AccessOptions {
            min_park_ha: 0.4,
            walk_speed_kmh: 4.8,
            threshold_min: 10.0,
            block_m: 100.0,
            footbridge_max_m: FOOTBRIDGE_MAX_M,
            footbridge_cost_yuan_per_m: FOOTBRIDGE_COST_YUAN_PER_M,
        }
    }
}

/// Why access cannot be measured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AccessError {
    /// An option out of range.
    #[error("[access] {what}")]
    Option {
        /// What is wrong, with the fix.
        what: String,
    },
    /// No park at all.
    #[error("no park to walk to: no class of the table has `park = 1` on the land cover and no [access] parks layer cell is in the study area\n  hint: flag the park classes in the class table (the bundled table: 0810 公园与绿地) or give `parks = \"parks.shp\"` in [access]")]
    NoPark,
    /// Parks exist but none is large enough.
    #[error("no park reaches min_park_ha = {min_park_ha} ha (the largest is {largest_ha:.2} ha)\n  hint: lower `min_park_ha` in [access]")]
    NoLargePark {
        /// The option.
        min_park_ha: f64,
        /// The largest park.
        largest_ha: f64,
    },
    /// A walking impedance that is not a resistance (not > 0, `+∞` or NaN).
    #[error("walking impedance {value} at cell {cell} is not a positive number of minutes per metre\n  hint: check the class table's walk_factor (>= 1 or `barrier`) and [access] walk_speed_kmh (> 0)")]
    Impedance {
        /// The cell.
        cell: usize,
        /// The value.
        value: f32,
    },
    /// The population does not fit the grid.
    #[error("the population or land cover has {got} values for a grid of {expected} cells")]
    Population {
        /// Values given.
        got: usize,
        /// Cells.
        expected: usize,
    },
}

/// The qualifying parks.
#[derive(Debug, Clone, PartialEq)]
pub struct Parks {
    /// Park id (1-based, in raster order of first cell) of each cell of a qualifying park,
    /// held on those cells only (parks cover a few percent of a city grid).
    pub ids: crate::raster::Sparse<u32>,
    /// Area of each park, ha (index id − 1).
    pub areas_ha: Vec<f64>,
}

/// One row of `access.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRow {
    /// District name, or "study area".
    pub area: String,
    /// Residents, persons.
    pub population: f64,
    /// Residents within the threshold, persons.
    pub covered: f64,
    /// covered / population × 100 (0 when nobody lives there).
    pub covered_pct: f64,
    /// Area of qualifying parks in it, ha.
    pub park_area_ha: f64,
    /// Park area per resident, m²/person (0 when nobody lives there).
    pub park_m2_per_person: f64,
    /// People-weighted mean walking time of those who can reach a park, min (NaN if none).
    pub mean_walk_min: f64,
    /// Residents who cannot reach any park, persons.
    pub unreached: f64,
}

/// The measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    /// Walking time to the nearest qualifying park per cell, min; `+∞` where no park can be
    /// reached, NaN outside the study area.
    pub minutes: Vec<f32>,
    /// The qualifying parks.
    pub parks: Parks,
    /// Per district (in district order), then the study area.
    pub rows: Vec<AccessRow>,
    /// The threshold the rows count with, min.
    pub threshold_min: f64,
}

impl Access {
    /// The study area's row.
    pub fn total(&self) -> &AccessRow {
        study_area(&self.rows)
    }

    /// The measurement's table without its grids (the walking times and the park ids, 8
    /// bytes per cell): what the reports need of a plan's access.
    pub fn into_rows(self) -> AccessRows {
        AccessRows {
            rows: self.rows,
            threshold_min: self.threshold_min,
        }
    }

    /// The measurement's table (a copy).
    pub fn table(&self) -> AccessRows {
        AccessRows {
            rows: self.rows.clone(),
            threshold_min: self.threshold_min,
        }
    }

    /// Residents beyond the walk per cell, persons: the populated cells of `population`
    /// whose walking time is above the threshold, unreached or outside the study area (in
    /// cell order, the values of `population`).
    pub fn beyond(&self, population: &SparseF32) -> SparseF32 {
        let t = self.threshold_min as f32;
        // Unreached cells (+∞) and cells outside (NaN) are not within the walk either.
        let within = |i: usize| self.minutes[i] <= t;
        let entries = population
            .entries()
            .filter(|&(i, p)| p > 0.0 && !within(i))
            .map(|(i, p)| (i as u32, p))
            .collect();
        SparseF32::from_entries(population.len(), entries)
    }

    /// What a run keeps of the measurement through its later stages ([`HeldAccess`]): the
    /// walking-time grid (4 bytes per cell) goes; `footbridges` are the candidates found on
    /// it.
    pub fn into_held(self, population: &SparseF32, footbridges: Vec<Footbridge>) -> HeldAccess {
        let beyond = self.beyond(population);
        let Access {
            parks,
            rows,
            threshold_min,
            ..
        } = self;
        HeldAccess {
            table: AccessRows {
                rows,
                threshold_min,
            },
            parks,
            beyond,
            footbridges,
        }
    }
}

/// Park access now as a run holds it after measuring it ([`Access::into_held`]): what the
/// covering term, the footbridges and the reports read later, without the walking-time grid
/// (recomputed by [`walk_minutes`] from the parks when it is written: 4 bytes per cell not
/// held through the corridor stage).
#[derive(Debug, Clone, PartialEq)]
pub struct HeldAccess {
    /// The measurement's table.
    pub table: AccessRows,
    /// The qualifying parks.
    pub parks: Parks,
    /// Residents beyond the walk per cell, persons ([`Access::beyond`]).
    pub beyond: SparseF32,
    /// Footbridge candidates found on the walking times ([`footbridges`]; empty when not
    /// asked for).
    pub footbridges: Vec<Footbridge>,
}

impl HeldAccess {
    /// The study area's row.
    pub fn total(&self) -> &AccessRow {
        self.table.total()
    }
}

/// The table of an access measurement ([`Access::into_rows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRows {
    /// Per district (in district order), then the study area.
    pub rows: Vec<AccessRow>,
    /// The threshold the rows count with, min.
    pub threshold_min: f64,
}

impl AccessRows {
    /// The study area's row.
    pub fn total(&self) -> &AccessRow {
        study_area(&self.rows)
    }
}

/// The last row of an access table: the study area's (always present).
fn study_area(rows: &[AccessRow]) -> &AccessRow {
    rows.last().expect("the study area row is always present")
}

/// Checks the options.
///
/// # Errors
/// [`AccessError::Option`] naming the key and the fix.
pub fn check(opts: &AccessOptions) -> Result<(), AccessError> {
    let bad = |what: String| Err(AccessError::Option { what });
    if !(opts.threshold_min.is_finite() && opts.threshold_min > 0.0) {
        return bad(format!("threshold_min = {} must be a number of minutes > 0 (e.g. 10 for the ten-minute walk, 5 for 300 m)", opts.threshold_min));
    }
    // Bounded above so that every impedance stays a positive f32.
    if !(opts.walk_speed_kmh.is_finite()
        && opts.walk_speed_kmh > 0.0
        && opts.walk_speed_kmh <= 50.0)
    {
        return bad(format!(
            "walk_speed_kmh = {} must be > 0 and at most 50 (4.8 km/h is a usual walking speed)",
            opts.walk_speed_kmh
        ));
    }
    // (value, acceptable, what to give)
    let ranges = [
        (
            "block_m",
            opts.block_m,
            opts.block_m > 0.0,
            "a length in metres > 0 (e.g. 100)",
        ),
        (
            "min_park_ha",
            opts.min_park_ha,
            opts.min_park_ha >= 0.0,
            "a number of hectares >= 0",
        ),
        (
            "footbridge_max_m",
            opts.footbridge_max_m,
            opts.footbridge_max_m >= 0.0,
            "a length in metres >= 0 (0: no footbridges)",
        ),
        (
            "footbridge_cost_yuan_per_m",
            opts.footbridge_cost_yuan_per_m,
            opts.footbridge_cost_yuan_per_m > 0.0,
            "a cost in yuan per metre > 0 (e.g. 60000)",
        ),
    ];
    for (key, value, ok, fix) in ranges {
        if !(value.is_finite() && ok) {
            return bad(format!("{key} = {value} must be {fix}"));
        }
    }
    Ok(())
}

/// Walking impedance per cell, minutes per metre (see the module docs): NaN outside the
/// study area, `+∞` for barriers that are not crossings. `landcover` is `land`'s or a
/// changed copy (a plan applied).
pub fn walk_impedance(land: &Landscape, landcover: &[ClassIdx], walk_speed_kmh: f64) -> Vec<f32> {
    let per_m = 60.0 / (1000.0 * walk_speed_kmh);
    let factor: Vec<f64> = land
        .classes
        .classes()
        .iter()
        .map(|c| c.walk_factor)
        .collect();
    let mut w: Vec<f32> = landcover
        .iter()
        .map(|&c| {
            if c == OUTSIDE {
                f32::NAN
            } else {
                (factor[c as usize] * per_m) as f32
            }
        })
        .collect();
    let street = (per_m * 1.0) as f32;
    let (rows, cols) = (land.grid.rows(), land.grid.cols());
    let max_run = ((CROSSING_MAX_M / land.grid.cell_size_m()).floor() as usize).max(1);
    let is_street = |v: f32| v.is_finite() && v <= street;
    let mut crossing = vec![false; w.len()];
    // Rows, then columns: runs of barrier cells with a street at both ends.
    let mut mark = |idx: &dyn Fn(usize) -> usize, len: usize| {
        let mut k = 0;
        while k < len {
            if w[idx(k)] == f32::INFINITY {
                let start = k;
                while k < len && w[idx(k)] == f32::INFINITY {
                    k += 1;
                }
                let run = k - start;
                if run <= max_run
                    && start > 0
                    && k < len
                    && is_street(w[idx(start - 1)])
                    && is_street(w[idx(k)])
                {
                    for j in start..k {
                        crossing[idx(j)] = true;
                    }
                }
            } else {
                k += 1;
            }
        }
    };
    for r in 0..rows {
        mark(&|c| r * cols + c, cols);
    }
    for c in 0..cols {
        mark(&|r| r * cols + c, rows);
    }
    for (v, x) in w.iter_mut().zip(&crossing) {
        if *x {
            *v = street;
        }
    }
    w
}

/// The qualifying parks: 8-connected park cells (class `park` or `extra`) of at least
/// `min_park_ha`.
///
/// # Errors
/// No park cell at all, or none large enough.
pub fn parks(
    land: &Landscape,
    landcover: &[ClassIdx],
    extra: Option<&[bool]>,
    min_park_ha: f64,
) -> Result<Parks, AccessError> {
    let park_class: Vec<bool> = land.classes.classes().iter().map(|c| c.park).collect();
    let is_park = |i: usize| {
        let c = landcover[i];
        c != OUTSIDE && (park_class[c as usize] || extra.is_some_and(|e| e[i]))
    };
    let g = &land.grid;
    let labels = crate::label::label(g.rows(), g.cols(), is_park, true);
    if labels.count == 0 {
        return Err(AccessError::NoPark);
    }
    let mut cells = vec![0u64; labels.count as usize + 1];
    for &id in &labels.ids {
        cells[id as usize] += 1;
    }
    let cell_ha = g.cell_area_ha();
    let mut new_id = vec![0u32; labels.count as usize + 1];
    let mut areas_ha = Vec::new();
    let mut largest = 0.0f64;
    for id in 1..=labels.count as usize {
        let ha = cells[id] as f64 * cell_ha;
        largest = largest.max(ha);
        if ha + 1e-9 >= min_park_ha {
            areas_ha.push(ha);
            new_id[id] = areas_ha.len() as u32;
        }
    }
    if areas_ha.is_empty() {
        return Err(AccessError::NoLargePark {
            min_park_ha,
            largest_ha: largest,
        });
    }
    let ids = crate::raster::Sparse::from_dense_where(&labels.ids, |id| new_id[id as usize] != 0);
    let ids = ids.map_values(|id| new_id[id as usize]);
    Ok(Parks { ids, areas_ha })
}

/// Walking time to the nearest qualifying park per cell, min (`+∞` unreached, NaN outside).
///
/// # Errors
/// [`AccessError::Impedance`] for a value that is not > 0, `+∞` or NaN ([`walk_impedance`] of
/// checked options never gives one).
pub fn walk_minutes(
    land: &Landscape,
    impedance: Vec<f32>,
    parks: &Parks,
) -> Result<Vec<f32>, AccessError> {
    let g = &land.grid;
    let res = Resistance::from_values(impedance)
        .map_err(|(cell, value)| AccessError::Impedance { cell, value })?;
    let seeds = parks.ids.entries();
    // The times only (no park ids), NaN outside the study area (where the impedance is
    // NaN): 12 bytes per cell at the peak with the impedance (the run's `f64` times become
    // the `f32` grid in their own memory).
    let mut minutes = accumulate_cost_only(
        g.rows(),
        g.cols(),
        g.cell_size_m(),
        &res,
        seeds,
        &CostOptions::default(),
    );
    for (t, v) in minutes.iter_mut().zip(res.values()) {
        if v.is_nan() {
            *t = f32::NAN;
        }
    }
    Ok(minutes)
}

/// Sums per district and for the study area (see the module docs).
pub fn summarise(
    land: &Landscape,
    population: &SparseF32,
    minutes: &[f32],
    parks: &Parks,
    threshold_min: f64,
) -> Vec<AccessRow> {
    let names: Vec<String> = land
        .districts
        .as_ref()
        .map(|d| d.names.clone())
        .unwrap_or_default();
    let n = names.len();
    // Per district (index 1..=n) and the whole (index 0): population, covered, park cells,
    // person-minutes, reached persons.
    let mut acc = vec![[0.0f64; 5]; n + 1];
    let district = |i: usize| land.districts.as_ref().map_or(0, |d| d.ids[i] as usize);
    for (i, _) in parks.ids.entries() {
        if land.landcover[i] != OUTSIDE {
            let d = district(i);
            acc[0][2] += 1.0;
            if d != 0 {
                acc[d][2] += 1.0;
            }
        }
    }
    let threshold = threshold_min as f32;
    // Only populated cells add to the sums (in cell order, as over every cell).
    for (i, p) in population.entries() {
        if land.landcover[i] == OUTSIDE {
            continue;
        }
        let d = district(i);
        let p = p as f64;
        let t = minutes[i];
        let targets: &[usize] = if d == 0 { &[0] } else { &[0, d] };
        for &k in targets {
            let a = &mut acc[k];
            a[0] += p;
            if t.is_finite() {
                a[3] += p * t as f64;
                a[4] += p;
                if t <= threshold {
                    a[1] += p;
                }
            }
        }
    }
    let cell_ha = land.grid.cell_area_ha();
    let row = |area: String, a: &[f64; 5]| {
        let park_area_ha = a[2] * cell_ha;
        AccessRow {
            area,
            population: a[0],
            covered: a[1],
            covered_pct: if a[0] > 0.0 { 100.0 * a[1] / a[0] } else { 0.0 },
            park_area_ha,
            park_m2_per_person: if a[0] > 0.0 {
                park_area_ha * 10_000.0 / a[0]
            } else {
                0.0
            },
            mean_walk_min: if a[4] > 0.0 { a[3] / a[4] } else { f64::NAN },
            unreached: a[0] - a[4],
        }
    };
    let mut rows: Vec<AccessRow> = names
        .iter()
        .enumerate()
        .map(|(k, name)| row(name.clone(), &acc[k + 1]))
        .collect();
    rows.push(row("study area".into(), &acc[0]));
    rows
}

/// Residents on the populated cells: the population raster when the landscape has one, else
/// from the class table's `persons_per_ha`.
pub fn residents(land: &Landscape) -> std::borrow::Cow<'_, SparseF32> {
    match land.access.as_ref().and_then(|a| a.population.as_ref()) {
        Some(p) => std::borrow::Cow::Borrowed(p),
        None => std::borrow::Cow::Owned(population_from_classes(land)),
    }
}

/// Residents on the populated cells from the class table's `persons_per_ha` (when no
/// population raster is given).
pub fn population_from_classes(land: &Landscape) -> SparseF32 {
    let cell_ha = land.grid.cell_area_ha();
    let per: Vec<f64> = land
        .classes
        .classes()
        .iter()
        .map(|c| c.persons_per_ha * cell_ha)
        .collect();
    let entries = land
        .landcover
        .iter()
        .enumerate()
        .filter(|&(_, &c)| c != OUTSIDE)
        .map(|(i, &c)| (i as u32, per[c as usize] as f32))
        .filter(|&(_, p)| p > 0.0)
        .collect();
    SparseF32::from_entries(land.grid.len(), entries)
}

/// Measures park access on `land` (see the module docs).
///
/// # Errors
/// Options out of range, a population of the wrong size, no qualifying park.
pub fn measure(
    land: &Landscape,
    population: &SparseF32,
    extra_parks: Option<&[bool]>,
    opts: &AccessOptions,
) -> Result<Access, AccessError> {
    measure_on(land, &land.landcover, population, extra_parks, opts)
}

/// Measures park access on `land` with its cells' classes replaced by `landcover` (a plan
/// applied: restored sites in their target classes); the residents, districts and grid are
/// `land`'s.
///
/// # Errors
/// As [`measure`], and a land cover of the wrong size.
pub fn measure_on(
    land: &Landscape,
    landcover: &[ClassIdx],
    population: &SparseF32,
    extra_parks: Option<&[bool]>,
    opts: &AccessOptions,
) -> Result<Access, AccessError> {
    measure_with(land, landcover, population, extra_parks, &[], opts)
}

/// [`measure_on`] with footbridges built: the cells `walkable` (in the study area) are walked
/// at street speed whatever their class. `landcover` is borrowed, or handed over (a plan
/// applied to a copy) and then released once the parks and the impedance are read from it:
/// 1 byte per cell less while walking.
///
/// # Errors
/// As [`measure_on`].
pub fn measure_with<'l>(
    land: &Landscape,
    landcover: impl Into<std::borrow::Cow<'l, [ClassIdx]>>,
    population: &SparseF32,
    extra_parks: Option<&[bool]>,
    walkable: &[u32],
    opts: &AccessOptions,
) -> Result<Access, AccessError> {
    let landcover = landcover.into();
    check(opts)?;
    for got in [population.len(), landcover.len()] {
        if got != land.grid.len() {
            return Err(AccessError::Population {
                got,
                expected: land.grid.len(),
            });
        }
    }
    let parks = parks(land, &landcover, extra_parks, opts.min_park_ha)?;
    let mut impedance = walk_impedance(land, &landcover, opts.walk_speed_kmh);
    drop(landcover);
    let street = (60.0 / (1000.0 * opts.walk_speed_kmh)) as f32;
    for &c in walkable {
        if let Some(v) = impedance.get_mut(c as usize).filter(|v| !v.is_nan()) {
            *v = street;
        }
    }
    let minutes = walk_minutes(land, impedance, &parks)?;
    let rows = summarise(land, population, &minutes, &parks, opts.threshold_min);
    Ok(Access {
        minutes,
        parks,
        rows,
        threshold_min: opts.threshold_min,
    })
}

#[cfg(test)]
mod tests;

/// A Dijkstra store for one bounded run: the cells reached only.
#[derive(Default)]
struct LocalStore(std::collections::HashMap<usize, f64>);

impl crate::costdist::CostStore for LocalStore {
    fn cost(&self, cell: usize) -> f64 {
        self.0.get(&cell).copied().unwrap_or(f64::INFINITY)
    }
    fn alloc(&self, _cell: usize) -> u32 {
        1
    }
    fn set(&mut self, cell: usize, cost: f64, _alloc: u32) {
        self.0.insert(cell, cost);
    }
}

/// Residents beyond the walk today, grouped for the optimizer's maximal-covering term
/// (`optimize::Coverage`): per group its residents (persons) and the candidate park sites
/// (indices into `sites`) that would each bring them within the walk.
///
/// Residents beyond the walk now (`beyond`: [`Access::beyond`]) are summed per square
/// block of side `block_m` (rounded to whole cells). A site covers a block when at least
/// half of the block's residents beyond the walk live on cells within `threshold_min` of the
/// site's cells (a bounded walking-time run from the site over the impedance now, the
/// site's own cells walked as they are). Blocks covered by the same sites form one group.
/// This is the model's estimate; the plan's access is measured afterwards on the land cover
/// with the plan applied.
///
/// # Cost
/// One walking-time run per site, bounded by the threshold (a disc of radius `threshold_min`
/// × speed), and a hash entry per reached cell; the sites run in parallel.
///
/// # Errors
/// [`AccessError::Impedance`] for an impedance that is not a resistance.
pub fn coverage_groups(
    land: &Landscape,
    beyond: &SparseF32,
    sites: &[&[u32]],
    opts: &AccessOptions,
) -> Result<Vec<(f64, Vec<usize>)>, AccessError> {
    let items: Vec<(&[u32], f64)> = sites.iter().map(|&c| (c, 0.0)).collect();
    Ok(reach(land, beyond, &items, opts)?.groups(0..items.len()))
}

/// The blocks of residents beyond the walk today that each of a list of items (park sites,
/// footbridges) would bring within it (see [`coverage_groups`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Reach {
    /// Residents beyond the walk per block (block index), persons.
    pub block_persons: std::collections::BTreeMap<usize, f64>,
    /// Per item, the blocks it covers (ascending).
    pub covered: Vec<Vec<usize>>,
}

impl Reach {
    /// Residents of the blocks item `k` covers, persons.
    pub fn persons(&self, k: usize) -> f64 {
        self.covered[k].iter().map(|b| self.block_persons[b]).sum()
    }

    /// The covering groups of the items `items` (in that order; a group lists positions in
    /// `items`): blocks covered by the same items form one group.
    pub fn groups(&self, items: impl IntoIterator<Item = usize>) -> Vec<(f64, Vec<usize>)> {
        let mut by_block: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for (j, k) in items.into_iter().enumerate() {
            for &b in &self.covered[k] {
                by_block.entry(b).or_default().push(j);
            }
        }
        let mut groups: std::collections::BTreeMap<Vec<usize>, f64> = Default::default();
        for (b, by) in by_block {
            *groups.entry(by).or_insert(0.0) += self.block_persons[&b];
        }
        groups.into_iter().map(|(by, n)| (n, by)).collect()
    }
}

/// What each item brings within the walk: an item is (cells, minutes) — walking from its
/// cells starts at that many minutes (0 for a new park; for a footbridge, the walk to its far
/// end over the bridge). A block is covered when at least half of its residents beyond the
/// walk today are within `threshold_min` of the item's start (see [`coverage_groups`]).
///
/// # Errors
/// [`AccessError::Impedance`] for an impedance that is not a resistance.
pub fn reach(
    land: &Landscape,
    beyond: &SparseF32,
    items: &[(&[u32], f64)],
    opts: &AccessOptions,
) -> Result<Reach, AccessError> {
    use rayon::prelude::*;
    let g = &land.grid;
    let (cols, cs) = (g.cols(), g.cell_size_m());
    let b = ((opts.block_m / cs).round() as usize).max(1);
    let bcols = cols.div_ceil(b);
    let block = |i: usize| (i / cols / b) * bcols + (i % cols) / b;
    let mut block_persons: std::collections::BTreeMap<usize, f64> = Default::default();
    for (i, p) in beyond.entries() {
        *block_persons.entry(block(i)).or_insert(0.0) += f64::from(p);
    }
    let impedance = walk_impedance(land, &land.landcover, opts.walk_speed_kmh);
    let res = Resistance::from_values(impedance)
        .map_err(|(cell, value)| AccessError::Impedance { cell, value })?;
    let shape = crate::costdist::Shape {
        rows: g.rows(),
        cols,
        cell_size_m: cs,
    };
    let covered: Vec<Vec<usize>> = items
        .par_iter()
        .map(|&(cells, start)| {
            let left = opts.threshold_min - start;
            if left < 0.0 {
                return Vec::new();
            }
            let mut store = LocalStore::default();
            let seeds = cells.iter().map(|&c| (c as usize, 1));
            crate::costdist::dijkstra(
                shape,
                &res,
                seeds,
                left,
                &crate::costdist::NoPrune,
                true,
                &mut store,
            );
            // In cell order, so the sums do not depend on the hash order.
            let mut cells: Vec<(usize, f64)> = store.0.into_iter().collect();
            cells.sort_unstable_by_key(|c| c.0);
            let mut reached: std::collections::BTreeMap<usize, f64> = Default::default();
            for (i, t) in cells {
                if let Some(p) = beyond.find(i).filter(|_| t <= left) {
                    *reached.entry(block(i)).or_insert(0.0) += f64::from(p);
                }
            }
            reached
                .into_iter()
                .filter(|&(k, n)| n >= 0.5 * block_persons[&k])
                .map(|(k, _)| k)
                .collect()
        })
        .collect();
    Ok(Reach {
        block_persons,
        covered,
    })
}

/// A footbridge candidate (see [`footbridges`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Footbridge {
    /// The barrier cells it spans (row-major indices, from the near end).
    pub cells: Vec<u32>,
    /// Its landings: the walkable cells at both ends, the one nearer a park (in walking time
    /// now) first.
    pub ends: (u32, u32),
    /// Span over the barrier, m.
    pub length_m: f64,
    /// Walking time from a park to the far landing over the bridge, min.
    pub far_minutes: f64,
}

/// Footbridge candidates: straight runs of barrier cells along a row or a column (impassable
/// to walkers now: water, railways, highways wider than a street crosses, see
/// [`walk_impedance`]) of at most `max_m`, with a walkable cell at both ends, that would bring
/// the far landing within the walk (`far_minutes < threshold_min`) sooner than today. The
/// bridge is walked at street speed: from the near landing (walking time `T_near` now) to the
/// far one costs `cell × (w_near / 2 + k × w_street + w_far / 2)` for `k` barrier cells (the
/// move rule of the walking-time run). Each carries `start = far_minutes` for [`reach`] from
/// its far landing. In row-major order of their first cell, rows before columns.
pub fn footbridges(
    land: &Landscape,
    minutes: &[f32],
    opts: &AccessOptions,
    max_m: f64,
) -> Vec<Footbridge> {
    let g = &land.grid;
    let (rows, cols, cs) = (g.rows(), g.cols(), g.cell_size_m());
    let w = walk_impedance(land, &land.landcover, opts.walk_speed_kmh);
    let street = 60.0 / (1000.0 * opts.walk_speed_kmh);
    let max_k = (max_m / cs + 1e-9).floor() as usize;
    let mut out = Vec::new();
    let mut scan = |idx: &dyn Fn(usize) -> usize, len: usize| {
        let mut k = 0;
        while k < len {
            if w[idx(k)] != f32::INFINITY {
                k += 1;
                continue;
            }
            let start = k;
            while k < len && w[idx(k)] == f32::INFINITY {
                k += 1;
            }
            let run = k - start;
            if start == 0 || k == len || run > max_k {
                continue;
            }
            let (a, b) = (idx(start - 1), idx(k));
            let (wa, wb) = (w[a], w[b]);
            if !(wa.is_finite() && wb.is_finite()) {
                continue;
            }
            let over = cs * (f64::from(wa) / 2.0 + run as f64 * street + f64::from(wb) / 2.0);
            let (ta, tb) = (f64::from(minutes[a]), f64::from(minutes[b]));
            let (near, far, t_near, t_far) = if ta <= tb {
                (a, b, ta, tb)
            } else {
                (b, a, tb, ta)
            };
            let far_minutes = t_near + over;
            if far_minutes < opts.threshold_min && far_minutes < t_far {
                let mut cells: Vec<u32> = (start..k).map(|j| idx(j) as u32).collect();
                if near != a {
                    cells.reverse();
                }
                out.push(Footbridge {
                    cells,
                    ends: (near as u32, far as u32),
                    length_m: run as f64 * cs,
                    far_minutes,
                });
            }
        }
    };
    for r in 0..rows {
        scan(&|c| r * cols + c, cols);
    }
    for c in 0..cols {
        scan(&|r| r * cols + c, rows);
    }
    out
}
