//! Candidate restoration sites and park connectors, made from the landscape and the corridors.
//!
//! # Input
//! The landscape (classes with `restorable_to` and `cost_yuan_per_ha`, zones, districts), the
//! resistance surface and its per-cell formula (for the resistance a cell has once restored),
//! the sources, the corridor network built with `keep_zone_cells` (each corridor's zone cells
//! with both cost distances) and one value per corridor (its dPC or gravity).
//!
//! # Output
//! [`Candidates`]: sites (parcels of restorable cells), connectors (one per corridor that
//! needs gap sites or a crossing), the corridors that already work without either, and the
//! site id of every cell.
//!
//! # Method
//! - **Parcels.** Restorable cells (class with a restoration target, not in a source, inside
//!   some corridor zone unless `within = anywhere`) are grouped into 8-connected pieces that
//!   never cross a line of the square `parcel_size_m` tiling, a zone border or a district
//!   border, so every parcel is a workable project wholly inside or outside each zone and in
//!   one district. Parcels under `min_parcel_ha` are dropped unless a least-cost path crosses
//!   them (they are then a connector's gap site).
//! - **Given parcels** (`[candidates] parcels`, GeoJSON) replace the tiling: each polygon's
//!   cells (by cell centre, inside the study area) are a site; only its restorable cells
//!   change class; its cost comes from the layer when given. Parcels that share cells exclude
//!   each other; where they overlap on a least-cost path the connector needs one of them.
//! - **Cost** `Σ cost_yuan_per_ha(current class) × cell area`; **carbon gain**
//!   `Σ (stock(target) − stock(current)) × cell area × 44/12` plus
//!   `seq_rate(target) × horizon_years × area × 44/12` (InVEST's stock-difference approach).
//! - **LCD drop** (a generalisation of Linkage Mapper's Barrier Mapper to parcels): for each
//!   corridor `c = (A, B)` whose zone touches the site, the cheapest path that comes from `A`
//!   over the old surface, enters the site from a zone cell `o`, crosses the site at restored
//!   resistance and leaves it to a zone cell `w` towards `B` costs
//!   `min CWD_A(o) + step'(o, u) + D'(u, v) + step'(v, w) + CWD_B(w)`, with `D'` the least-cost
//!   distance inside the site after restoration. It is a real path, so the new LCD is at most
//!   this and `drop = LCD − min(LCD, that)` is a lower bound of the true drop, exact whenever
//!   the best new path crosses the site once. Found by one Dijkstra over the site's cells per
//!   (corridor, site).
//! - **Site benefit** `Σ_c value_c × drop_c / LCD_c` (the share of each corridor's cost the
//!   site removes, weighted by the corridor's dPC or gravity).
//! - **Connectors.** For each corridor: the gap sites are the sites its least-cost path
//!   crosses; the crossing length is the path length inside cells of crossing classes
//!   (classes that cannot be restored with class resistance ≥ `crossing_min_resistance`:
//!   built-up land, roads, railways; not the cells of a candidate site, such as a park site
//!   on industrial land, which its site crosses), each step counted half to either cell; cost = crossing
//!   length × `crossing_cost_yuan_per_m`; benefit = the corridor's value. A corridor with
//!   neither gap sites nor crossing already works and gets no connector.
//!
//! # Memory
//! While the stage runs, 4 bytes per cell (the site id grid, next to the parcel labels it is
//! made from); kept, 8 bytes per site cell (the site ids on their cells) plus 4 per site cell
//! (the sites' cell lists); the zone cells of the corridors are held by the corridor network
//! (12 bytes per zone cell and corridor).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;

use crate::carbon::CO2_PER_C;
use crate::classes::{ClassIdx, ClassResistance, OUTSIDE};
use crate::corridors::CorridorNetwork;
use crate::label::label_keyed;
use crate::landscape::Landscape;
use crate::raster::Sparse;
use crate::resistance::CellModel;
use crate::sources::Sources;

mod drops;
use drops::DropContext;

/// Where candidate sites may lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Within {
    /// Inside some corridor zone (the default).
    #[default]
    Corridors,
    /// Anywhere in the study area.
    Anywhere,
}

/// Options of the candidate stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateOptions {
    /// Side of the square tiling that splits parcels, m.
    pub parcel_size_m: f64,
    /// Where sites may lie.
    pub within: Within,
    /// Parcels smaller than this are dropped unless a least-cost path crosses them, ha.
    pub min_parcel_ha: f64,
    /// Years of sequestration counted in the carbon gain (0: stock difference only).
    pub horizon_years: f64,
    /// Non-restorable classes with class resistance at least this are crossings.
    pub crossing_min_resistance: f64,
    /// Cost of a crossing structure (eco-bridge, greenway), yuan per m of crossing.
    pub crossing_cost_yuan_per_m: f64,
    /// Resistance of a crossing cell once a crossing structure is built there (eco-bridge,
    /// green overpass), in the resistance surface's units; used when a plan is measured.
    /// Default 60: park and green space (0810) in the bundled class table, a planted but
    /// narrow and disturbed passage.
    pub crossing_resistance: f64,
    /// Corner cutting of the cost-distance move rule (as for the corridors).
    pub corner_cutting: bool,
}

impl Default for CandidateOptions {
    fn default() -> Self {
        CandidateOptions {
            parcel_size_m: 300.0,
            within: Within::Corridors,
            min_parcel_ha: 0.0,
            horizon_years: 0.0,
            crossing_min_resistance: 500.0,
            crossing_cost_yuan_per_m: 150_000.0,
            crossing_resistance: 60.0,
            corner_cutting: true,
        }
    }
}

/// A candidate restoration site.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteCandidate {
    /// Id, 1-based: in row-major order of the parcels' first cells, or in the order of given
    /// parcels.
    pub id: u32,
    /// Name in tables: the id, or a given parcel's own id.
    pub name: String,
    /// Number of cells.
    pub cells: u32,
    /// Area, ha.
    pub area_ha: f64,
    /// Restoration cost, yuan.
    pub cost_yuan: f64,
    /// Carbon stock now, t C.
    pub stock_now_tc: f64,
    /// Carbon stock once restored, t C.
    pub stock_restored_tc: f64,
    /// Carbon gain (stock difference plus sequestration over the horizon), t CO2e.
    pub carbon_tco2e: f64,
    /// Class code covering most of the site now.
    pub from_code: u32,
    /// Class code it is restored to (for most of its cells).
    pub to_code: u32,
    /// A park site: its cells are made a park (see [`Restoration`]), not restored.
    pub park: bool,
    /// A footbridge (park access): its cells, a barrier to walkers, become walkable; the land
    /// cover and the wildlife's resistance stay as they are. No area, carbon or connectivity.
    pub footbridge: bool,
    /// Zone membership bits (as [`Landscape::zone_bits`]).
    pub zone_bits: u8,
    /// District id (0 = none).
    pub district: u16,
    /// Centroid, map units.
    pub x: f64,
    /// Centroid, map units.
    pub y: f64,
    /// Corridors whose zone the site touches, with the LCD drop (cost units) restoring it
    /// gives each, in corridor id order.
    pub corridors: Vec<(u32, f64)>,
    /// Sum of the LCD drops, cost units.
    pub lcd_drop: f64,
    /// Connectivity benefit `Σ value_c × drop_c / LCD_c`.
    pub benefit: f64,
}

impl SiteCandidate {
    /// A site of `cells` cells with every figure 0 (filled in by its maker).
    fn empty(id: u32, name: String, cells: u32) -> SiteCandidate {
        SiteCandidate {
            id,
            name,
            cells,
            area_ha: 0.0,
            cost_yuan: 0.0,
            stock_now_tc: 0.0,
            stock_restored_tc: 0.0,
            carbon_tco2e: 0.0,
            from_code: 0,
            to_code: 0,
            park: false,
            footbridge: false,
            zone_bits: 0,
            district: 0,
            x: 0.0,
            y: 0.0,
            corridors: Vec::new(),
            lcd_drop: 0.0,
            benefit: 0.0,
        }
    }
}

/// A candidate park connector.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorCandidate {
    /// Id (= the corridor's id).
    pub id: u32,
    /// Patch at one end.
    pub from: u32,
    /// Patch at the other end.
    pub to: u32,
    /// The corridor's least-cost distance.
    pub lcd: f64,
    /// Indices (into the sites) of the gap sites it needs.
    pub gap_sites: Vec<usize>,
    /// Length of the least-cost path in crossing cells, m.
    pub crossing_m: f64,
    /// The crossing cells of the least-cost path (where a crossing structure is built), in
    /// path order.
    pub crossing_cells: Vec<u32>,
    /// Cost of the crossing, yuan.
    pub cost_yuan: f64,
    /// Carbon of the connector itself, t CO2e (0: its gap sites carry the carbon).
    pub carbon_tco2e: f64,
    /// Connectivity benefit (the corridor's value).
    pub benefit: f64,
}

/// The candidates.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    /// Sites in id order.
    pub sites: Vec<SiteCandidate>,
    /// Connectors in corridor order.
    pub connectors: Vec<ConnectorCandidate>,
    /// Corridors (ids) that work already: no gap site, no crossing.
    pub existing: Vec<u32>,
    /// Site id on the cells of a site (where given parcels overlap, the first), held on those
    /// cells only: 8 bytes per site cell instead of 4 per grid cell (on the city cluster 4.6%
    /// of the cells are a site's: 37 MB instead of 400 MB through the rest of the run).
    pub site_ids: Sparse<u32>,
    /// Pairs of sites (indices) that share cells and so exclude each other (given parcels).
    pub exclusive: Vec<(usize, usize)>,
    /// Offsets into `site_cells` by 1-based site id: site `s` covers
    /// `site_cells[site_start[s]..site_start[s + 1]]`.
    pub site_start: Vec<usize>,
    /// Cells of every site (sorted within a site; a cell of overlapping given parcels is
    /// listed under each of them).
    pub site_cells: Vec<u32>,
}

impl Candidates {
    /// Cells of the site at index `k` (0-based, as in [`Candidates::sites`]), sorted.
    pub fn cells_of(&self, k: usize) -> &[u32] {
        &self.site_cells[self.site_start[k + 1]..self.site_start[k + 2]]
    }

    /// Appends footbridges as sites (ids after the last site, named `FB1`, `FB2`, ...):
    /// `(cells, cost yuan, district, centre x, centre y)`. Their cells are not parcels of
    /// any other site (they are barriers to walkers, never restorable parcels' cells here)
    /// and get their id in `site_ids` where no site holds the cell.
    pub fn append_footbridges(&mut self, bridges: &[(Vec<u32>, f64, u16, f64, f64)]) {
        let mut added: BTreeMap<u32, u32> = BTreeMap::new();
        for (j, (cells, cost, district, x, y)) in bridges.iter().enumerate() {
            let id = self.sites.len() as u32 + 1;
            let mut sorted = cells.clone();
            sorted.sort_unstable();
            for &c in &sorted {
                if self.site_ids.find(c as usize).is_none() {
                    added.entry(c).or_insert(id);
                }
            }
            self.site_cells.extend_from_slice(&sorted);
            self.site_start.push(self.site_cells.len());
            self.sites.push(SiteCandidate {
                cost_yuan: *cost,
                footbridge: true,
                district: *district,
                x: *x,
                y: *y,
                ..SiteCandidate::empty(id, format!("FB{}", j + 1), cells.len() as u32)
            });
        }
        if !added.is_empty() {
            let mut entries: Vec<(u32, u32)> = self
                .site_ids
                .entries()
                .map(|(c, v)| (c as u32, v))
                .chain(added)
                .collect();
            entries.sort_unstable_by_key(|e| e.0);
            self.site_ids = Sparse::from_entries(self.site_ids.len(), entries);
        }
    }

    /// The mean of a per-cell raster over each site's cells (NaN cells count 0).
    pub fn site_means(&self, values: &[f32]) -> Vec<f64> {
        self.site_means_by(|i| values[i])
    }

    /// [`Self::site_means`] of the values `value(cell)` gives.
    pub fn site_means_by(&self, value: impl Fn(usize) -> f32 + Sync) -> Vec<f64> {
        (0..self.sites.len())
            .map(|k| {
                let cells = self.cells_of(k);
                let sum: f64 = cells
                    .iter()
                    .map(|&i| value(i as usize))
                    .filter(|v| v.is_finite())
                    .map(f64::from)
                    .sum();
                sum / cells.len().max(1) as f64
            })
            .collect()
    }
}

/// What restoring a cell means: its class's `restorable_to` target through the full
/// resistance formula (class, factors, zone multipliers). Cells of a source, of a class with
/// no target, or outside the study area are not restorable and keep their resistance.
///
/// **Park sites**: in a scenario with `[access]`, a cell inside an urban development boundary
/// (a zone of kind `urban_boundary`) whose class has `park_to` is made a park instead (target
/// `park_to`, cost `park_cost_yuan_per_ha`): in towns vacant land, brownfields and mining land
/// serve the residents around them.
pub struct Restoration<'a> {
    land: &'a Landscape,
    model: &'a CellModel<'a>,
    source_ids: &'a [u32],
    /// Target class index per class index.
    target: Vec<Option<ClassIdx>>,
    /// Park class index per class index (all None without `[access]` or an urban boundary).
    park_target: Vec<Option<ClassIdx>>,
    /// Zone bits of the urban development boundaries.
    urban_bits: u8,
}

impl<'a> Restoration<'a> {
    /// The rule for a landscape, its resistance formula and its sources.
    pub fn new(
        land: &'a Landscape,
        model: &'a CellModel<'a>,
        sources: &'a Sources,
    ) -> Restoration<'a> {
        let classes = land.classes.classes();
        let index = |code: Option<u32>| code.and_then(|t| land.classes.index_of(t));
        let target = classes.iter().map(|c| index(c.restorable_to)).collect();
        let urban_bits = if land.access.is_some() {
            land.zones
                .iter()
                .filter(|z| z.kind == crate::landscape::ZoneKind::UrbanBoundary)
                .fold(0u8, |b, z| b | 1 << z.bit)
        } else {
            0
        };
        let park_target = classes
            .iter()
            .map(|c| index(c.park_to).filter(|_| urban_bits != 0))
            .collect();
        Restoration {
            land,
            model,
            source_ids: &sources.ids,
            target,
            park_target,
            urban_bits,
        }
    }

    /// The class cell `i` is restored to (or made a park of), if it is restorable.
    pub fn target(&self, i: usize) -> Option<ClassIdx> {
        let cls = self.land.landcover[i];
        if cls == OUTSIDE || self.source_ids[i] != 0 {
            return None;
        }
        self.park_target(i).or(self.target[cls as usize])
    }

    /// The park class cell `i` becomes, when it is a park-site cell.
    fn park_target(&self, i: usize) -> Option<ClassIdx> {
        if self.land.zone_bits[i] & self.urban_bits == 0 {
            return None;
        }
        self.park_target[self.land.landcover[i] as usize]
    }

    /// Whether cell `i` is a park-site cell (see the type's docs).
    pub fn is_park(&self, i: usize) -> bool {
        let cls = self.land.landcover[i];
        cls != OUTSIDE && self.source_ids[i] == 0 && self.park_target(i).is_some()
    }

    /// Cost of restoring cell `i` (or making it a park), yuan/ha.
    pub fn cost_yuan_per_ha(&self, i: usize) -> f64 {
        let class = self.land.classes.get(self.land.landcover[i]);
        if self.is_park(i) {
            class.park_cost_yuan_per_ha
        } else {
            class.cost_yuan_per_ha
        }
    }

    /// Resistance of cell `i` once restored (`now` when it is not restorable).
    pub fn value(&self, i: usize, now: f32) -> f32 {
        match self.target(i) {
            Some(t) => self.model.value(i, t),
            None => now,
        }
    }
}

/// A parcel given by the planner (a GeoJSON polygon burned by cell centre).
#[derive(Debug, Clone, PartialEq)]
pub struct GivenParcel {
    /// The parcel's own id.
    pub name: String,
    /// Cells it covers inside the study area, sorted.
    pub cells: Vec<u32>,
    /// Its cost when the layer gives one, yuan (else the class unit costs × area).
    pub cost_yuan: Option<f64>,
}

/// Site cells (CSR by 1-based site id), site id per cell, site names and the cells covered by
/// several sites.
type Assignment = (
    Vec<u32>,
    Vec<usize>,
    Vec<u32>,
    Vec<String>,
    HashMap<u32, Vec<u32>>,
);

/// CSR offsets and cells of an id raster (ids 1..=n).
fn csr(site_ids: &[u32], n: usize) -> (Vec<usize>, Vec<u32>) {
    let mut start = vec![0usize; n + 2];
    for &s in site_ids {
        if s != 0 {
            start[s as usize + 1] += 1;
        }
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    let mut fill = start.clone();
    let mut cells = vec![0u32; start[n + 1]];
    for (i, &s) in site_ids.iter().enumerate() {
        if s != 0 {
            cells[fill[s as usize]] = i as u32;
            fill[s as usize] += 1;
        }
    }
    (start, cells)
}

/// Parcels from the tiling (see the module docs).
fn tiled_parcels(
    land: &Landscape,
    net: &CorridorNetwork,
    opts: &CandidateOptions,
    (restorable_class, park): (&dyn Fn(usize) -> bool, &dyn Fn(usize) -> bool),
    district: &dyn Fn(usize) -> u16,
) -> Assignment {
    let (rows, cols, cs) = (land.grid.rows(), land.grid.cols(), land.grid.cell_size_m());
    let tile = ((opts.parcel_size_m / cs).round() as usize).max(1);
    let tiles_x = cols.div_ceil(tile) as u64;
    // The corridor zones' cells, one byte per cell while labelling.
    let in_zone = (opts.within != Within::Anywhere).then(|| net.nlcc.mask());
    let labels = label_keyed(
        rows,
        cols,
        |i| {
            // Park sites serve residents, not corridors: they may lie anywhere.
            let park = park(i);
            (restorable_class(i) && (park || in_zone.as_ref().is_none_or(|z| z[i]))).then(|| {
                let (r, c) = (i / cols, i % cols);
                let t = (r / tile) as u64 * tiles_x + (c / tile) as u64;
                (u64::from(park) << 62)
                    | (t << 24)
                    | ((land.zone_bits[i] as u64) << 16)
                    | district(i) as u64
            })
        },
        true,
    );
    // Parcels crossed by a least-cost path are kept whatever their size.
    let mut on_path = vec![false; labels.count as usize + 1];
    for c in &net.corridors {
        for &cell in &c.path {
            on_path[labels.ids[cell] as usize] = true;
        }
    }
    let mut count = vec![0u32; labels.count as usize + 1];
    for &l in &labels.ids {
        count[l as usize] += 1;
    }
    let min_cells = opts.min_parcel_ha / land.grid.cell_area_ha();
    let mut new_id = vec![0u32; labels.count as usize + 1];
    let mut n = 0u32;
    for l in 1..=labels.count as usize {
        if on_path[l] || count[l] as f64 >= min_cells * (1.0 - 1e-9) {
            n += 1;
            new_id[l] = n;
        }
    }
    let site_ids: Vec<u32> = labels.ids.iter().map(|&l| new_id[l as usize]).collect();
    drop(labels);
    let (start, cells) = csr(&site_ids, n as usize);
    let names = (1..=n).map(|k| k.to_string()).collect();
    (site_ids, start, cells, names, HashMap::new())
}

/// Parcels given by the planner.
fn given_parcels(land: &Landscape, parcels: &[GivenParcel]) -> Result<Assignment, CandidateError> {
    let n = parcels.len();
    let mut site_ids = vec![0u32; land.grid.len()];
    let mut overlap: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut start = vec![0usize; n + 2];
    let mut cells = Vec::new();
    for (k, p) in parcels.iter().enumerate() {
        if p.cells.is_empty() {
            return Err(CandidateError::Parcels(format!(
                "parcel `{}` covers no cell centre of the study area",
                p.name
            )));
        }
        let id = k as u32 + 1;
        for &c in &p.cells {
            let slot = &mut site_ids[c as usize];
            if *slot == 0 {
                *slot = id;
            } else {
                let first = *slot;
                overlap.entry(c).or_insert_with(|| vec![first]).push(id);
            }
        }
        cells.extend_from_slice(&p.cells);
        start[k + 2] = cells.len();
    }
    let names = parcels.iter().map(|p| p.name.clone()).collect();
    Ok((site_ids, start, cells, names, overlap))
}

/// Why candidates cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CandidateError {
    /// Bad option.
    #[error("[candidates] {0}")]
    Option(String),
    /// Unusable given parcels.
    #[error("[candidates] parcels: {0}")]
    Parcels(String),
}

/// Checks the options' values.
///
/// # Errors
/// [`CandidateError::Option`] naming the bad value.
pub fn check(o: &CandidateOptions) -> Result<(), CandidateError> {
    let bad = |m: String| Err(CandidateError::Option(m));
    if !(o.parcel_size_m.is_finite() && o.parcel_size_m > 0.0) {
        return bad(format!(
            "parcel_size_m = {}; give the side of a parcel tile in m, > 0 (e.g. 300)",
            o.parcel_size_m
        ));
    }
    if !(o.crossing_resistance.is_finite() && o.crossing_resistance > 0.0) {
        return bad(format!(
            "crossing_resistance = {}; give the resistance of a cell with a crossing structure, finite and > 0 (e.g. 60)",
            o.crossing_resistance
        ));
    }
    for (v, name) in [
        (o.min_parcel_ha, "min_parcel_ha"),
        (o.horizon_years, "horizon_years"),
        (o.crossing_min_resistance, "crossing_min_resistance"),
        (o.crossing_cost_yuan_per_m, "crossing_cost_yuan_per_m"),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return bad(format!("{name} = {v}; give a finite number >= 0"));
        }
    }
    Ok(())
}

/// What the candidate stage reads.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    /// The landscape.
    pub land: &'a Landscape,
    /// The resistance formula (for restored cells).
    pub model: &'a CellModel<'a>,
    /// The resistance surface.
    pub res: &'a [f32],
    /// The sources.
    pub sources: &'a Sources,
    /// The corridors, built with `keep_zone_cells`.
    pub net: &'a CorridorNetwork,
    /// One connectivity value per corridor (dPC in %, or gravity).
    pub value: &'a [f64],
    /// The planner's own parcels, if any (else the tiling).
    pub given: Option<&'a [GivenParcel]>,
}

/// Makes the candidates.
///
/// # Errors
/// [`CandidateError`] for bad options.
///
/// # Complexity
/// O(cells) for the parcels plus, per corridor, O(z log z) over its z zone cells and, per
/// (corridor, touching site), O(s log s + s log z) for the site's s cells.
pub fn build(inputs: &Inputs, opts: &CandidateOptions) -> Result<Candidates, CandidateError> {
    let Inputs {
        land,
        model,
        res,
        sources,
        net,
        value,
        given,
    } = *inputs;
    check(opts)?;
    assert_eq!(value.len(), net.corridors.len(), "one value per corridor");
    let grid = &land.grid;
    let (rows, cols, cs) = (grid.rows(), grid.cols(), grid.cell_size_m());
    let restoration = Restoration::new(land, model, sources);
    let restorable_class = |i: usize| -> bool { restoration.target(i).is_some() };
    let district = |i: usize| land.districts.as_ref().map_or(0, |d| d.ids[i]);

    // Site cells (CSR, sorted within a site), the site id raster (the first parcel wins where
    // given parcels overlap) and the cells covered by several parcels.
    let (site_ids, start, site_cells, names, overlap) = match given {
        None => tiled_parcels(
            land,
            net,
            opts,
            (&restorable_class, &|i| restoration.is_park(i)),
            &district,
        ),
        Some(parcels) => given_parcels(land, parcels)?,
    };
    let n = names.len();
    let mut exclusive = BTreeSet::new();
    for sites in overlap.values() {
        for (k, &a) in sites.iter().enumerate() {
            for &b in &sites[k + 1..] {
                exclusive.insert((a as usize - 1, b as usize - 1));
            }
        }
    }

    // Per-site sums over the site's cells.
    let mut sites: Vec<SiteCandidate> = Vec::with_capacity(n);
    for (k, name) in names.into_iter().enumerate() {
        let cells = &site_cells[start[k + 1]..start[k + 2]];
        let cost = given.and_then(|g| g[k].cost_yuan);
        let site = site_candidate((k, name, cells), land, &restoration, cost, opts);
        sites.push(site);
    }

    // LCD drops, in parallel over corridors.
    let restored = |i: usize| -> f32 { restoration.value(i, res[i]) };
    let ctx = DropContext {
        rows,
        cols,
        cs,
        res,
        site_ids: &site_ids,
        overlap: &overlap,
        start: &start,
        site_cells: &site_cells,
        restored: &restored,
        corner_cutting: opts.corner_cutting,
    };
    let per_corridor: Vec<Vec<(u32, f64)>> = net
        .corridors
        .par_iter()
        .map(|c| ctx.corridor_drops(c))
        .collect();
    for (ci, (c, drops)) in net.corridors.iter().zip(&per_corridor).enumerate() {
        for &(s, d) in drops {
            let site = &mut sites[s as usize - 1];
            site.corridors.push((c.id, d));
            site.lcd_drop += d;
            if c.lcd > 0.0 {
                site.benefit += value[ci] * d / c.lcd;
            }
        }
    }

    // Connectors: corridors whose path needs sites or crossings.
    let (connectors, existing) =
        connector_candidates((land, sources, net), value, (&site_ids, &overlap), opts);
    Ok(Candidates {
        sites,
        connectors,
        existing,
        site_ids: Sparse::from_dense_where(&site_ids, |id| id != 0),
        exclusive: exclusive.into_iter().collect(),
        site_start: start,
        site_cells,
    })
}

/// A site's figures, summed over its cells: cost, carbon now and restored, the classes it
/// changes (the most common), its zones, district (the most common) and centre.
fn site_candidate(
    (k, name, cells): (usize, String, &[u32]),
    land: &Landscape,
    restoration: &Restoration,
    given_cost: Option<f64>,
    opts: &CandidateOptions,
) -> SiteCandidate {
    let grid = &land.grid;
    let (cols, cs) = (grid.cols(), grid.cell_size_m());
    let cell_ha = grid.cell_area_ha();
    let classes = land.classes.classes();
    let restorable_class = |i: usize| -> bool { restoration.target(i).is_some() };
    let district = |i: usize| land.districts.as_ref().map_or(0, |d| d.ids[i]);
    let mut site = SiteCandidate::empty(k as u32 + 1, name, cells.len() as u32);
    site.area_ha = cells.len() as f64 * cell_ha;
    let (mut seq, mut sr, mut sc) = (0.0, 0.0, 0.0);
    // (class now, target) -> cells
    let mut class_count: Vec<((ClassIdx, ClassIdx), u32)> = Vec::new();
    let mut district_count: Vec<(u16, u32)> = Vec::new();
    for &i in cells {
        let i = i as usize;
        let cls = land.landcover[i];
        site.zone_bits |= land.zone_bits[i];
        match district_count.iter_mut().find(|(d, _)| *d == district(i)) {
            Some(e) => e.1 += 1,
            None => district_count.push((district(i), 1)),
        }
        sr += (i / cols) as f64;
        sc += (i % cols) as f64;
        if !restorable_class(i) {
            continue;
        }
        let from = &classes[cls as usize];
        let target = restoration.target(i).expect("restorable");
        let to = &classes[target as usize];
        site.cost_yuan += restoration.cost_yuan_per_ha(i) * cell_ha;
        site.stock_now_tc += from.stock_tc_per_ha() * cell_ha;
        site.stock_restored_tc += to.stock_tc_per_ha() * cell_ha;
        seq += to.seq_rate * cell_ha;
        site.park |= restoration.is_park(i);
        match class_count.iter_mut().find(|(c, _)| *c == (cls, target)) {
            Some(e) => e.1 += 1,
            None => class_count.push(((cls, target), 1)),
        }
    }
    if let Some(c) = given_cost {
        site.cost_yuan = c;
    }
    site.carbon_tco2e =
        (site.stock_restored_tc - site.stock_now_tc + seq * opts.horizon_years) * CO2_PER_C;
    let m = cells.len().max(1) as f64;
    site.x = grid.origin_x() + (sc / m + 0.5) * cs;
    site.y = grid.origin_y() - (sr / m + 0.5) * cs;
    site.district = district_count
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or(0, |d| d.0);
    if let Some(&((cls, target), _)) = class_count
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
    {
        site.from_code = classes[cls as usize].code;
        site.to_code = classes[target as usize].code;
    }
    site
}

/// Connector candidates (corridors whose least-cost path crosses candidate sites or
/// crossing cells: roads, railways, water, barriers) and the ids of corridors that need
/// nothing (existing links).
fn connector_candidates(
    (land, sources, net): (&Landscape, &Sources, &CorridorNetwork),
    value: &[f64],
    (site_ids, overlap): (&[u32], &HashMap<u32, Vec<u32>>),
    opts: &CandidateOptions,
) -> (Vec<ConnectorCandidate>, Vec<u32>) {
    let (cols, cs) = (land.grid.cols(), land.grid.cell_size_m());
    let classes = land.classes.classes();
    let crossing: Vec<bool> = classes
        .iter()
        .map(|c| {
            c.restorable_to.is_none()
                && match c.resistance {
                    ClassResistance::Finite(r) => r >= opts.crossing_min_resistance,
                    ClassResistance::Barrier => true,
                }
        })
        .collect();
    // A cell of a candidate site (a park site on industrial land, say) is crossed by
    // restoring the site, not by a structure.
    let is_cross = |i: usize| {
        let cls = land.landcover[i];
        cls != OUTSIDE
            && sources.ids[i] == 0
            && site_ids[i] == 0
            && !overlap.contains_key(&(i as u32))
            && crossing[cls as usize]
    };
    let mut connectors = Vec::new();
    let mut existing = Vec::new();
    for (ci, c) in net.corridors.iter().enumerate() {
        // Cells of one parcel force it; a cell several given parcels cover needs one of them:
        // already chosen or else the first.
        let mut gaps: BTreeSet<u32> = c
            .path
            .iter()
            .filter(|&&i| !overlap.contains_key(&(i as u32)))
            .map(|&i| site_ids[i])
            .filter(|&s| s != 0)
            .collect();
        for &i in &c.path {
            if let Some(all) = overlap.get(&(i as u32)) {
                if !all.iter().any(|s| gaps.contains(s)) {
                    gaps.insert(all[0]);
                }
            }
        }
        let crossing_cells: Vec<u32> = c
            .path
            .iter()
            .filter(|&&i| is_cross(i))
            .map(|&i| i as u32)
            .collect();
        let crossing_m: f64 = c
            .path
            .windows(2)
            .map(|w| {
                let diag = w[0] % cols != w[1] % cols && w[0] / cols != w[1] / cols;
                let len = if diag {
                    cs * std::f64::consts::SQRT_2
                } else {
                    cs
                };
                0.5 * len * (is_cross(w[0]) as u8 + is_cross(w[1]) as u8) as f64
            })
            .sum();
        if gaps.is_empty() && crossing_m == 0.0 {
            existing.push(c.id);
            continue;
        }
        connectors.push(ConnectorCandidate {
            id: c.id,
            from: c.from,
            to: c.to,
            lcd: c.lcd,
            gap_sites: gaps.into_iter().map(|s| s as usize - 1).collect(),
            crossing_m,
            crossing_cells,
            cost_yuan: crossing_m * opts.crossing_cost_yuan_per_m,
            carbon_tco2e: 0.0,
            benefit: value[ci],
        });
    }
    (connectors, existing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classes::ClassTable;
    use crate::corridors::{self, CorridorOptions, PairRule};
    use crate::costdist::step_cost;
    use crate::costdist::{accumulate_cost, CostOptions};
    use crate::grid::{Crs, Grid};
    use crate::landscape::ZoneKind;
    use crate::landscape::{Districts, Zone};
    use crate::resistance::{self, Combine, Resistance, ResistanceOptions};
    use crate::sources::Patch;
    use proptest::prelude::*;

    const TABLE: &str = "code,name,name_zh,resistance,habitat,c_above,c_below,c_soil,c_dead,emission,seq_rate,restorable_to,cost_yuan_per_ha\n\
        301,forest,乔木林地,1,1,50,12,88,13,0,0.644,,0\n\
        103,dry land,旱地,100,0,5,0,60.7,0,0.422,0,301,30000\n\
        1003,highway,公路用地,900,0,0,0,22,0,20,0,,0\n\
        701,urban,城镇住宅用地,1000,0,0,0,44,0,50,0,,0\n";

    /// `A`/`B`/`C`: forest in patch 1/2/3; `f` forest; `d` dry land; `h` highway; `u` urban;
    /// `z` dry land in zone bit 0.
    fn scene(pic: &[&str], cell: f64) -> (Landscape, Sources) {
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
        let mut landcover = Vec::new();
        let mut zone_bits = Vec::new();
        let mut ids = Vec::new();
        for ch in pic.concat().chars() {
            let (code, id, z) = match ch {
                'A' => (301, 1, 0),
                'B' => (301, 2, 0),
                'C' => (301, 3, 0),
                'f' => (301, 0, 0),
                'd' => (103, 0, 0),
                'z' => (103, 0, 1),
                'h' => (1003, 0, 0),
                'u' => (701, 0, 0),
                _ => panic!("{ch}"),
            };
            landcover.push(idx(code));
            zone_bits.push(z);
            ids.push(id);
        }
        let n = ids.len();
        let mut present: Vec<u32> = ids.iter().copied().filter(|&i| i != 0).collect();
        present.sort_unstable();
        present.dedup();
        let patches = present
            .into_iter()
            .map(|id| Patch {
                id,
                cells: 0,
                area_ha: 1.0,
                core_area_ha: 0.0,
                perimeter_m: 0.0,
                centroid_x: 0.0,
                centroid_y: 0.0,
                mean_resistance: 1.0,
                carbon_stock_tc: 0.0,
                dominant_class: 0,
            })
            .collect();
        let land = Landscape {
            grid,
            classes,
            landcover,
            zones: vec![Zone {
                name: "redline".into(),
                kind: ZoneKind::EcologicalRedline,
                bit: 0,
                path: "z.geojson".into(),
            }],
            zone_bits,
            districts: Some(Districts {
                names: vec!["east".into()],
                ids: vec![1; n],
            }),
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

    /// The resistance (class values) and the corridors, zone cells kept.
    fn surface_and_corridors(
        land: &Landscape,
        src: &Sources,
        ro: &ResistanceOptions,
    ) -> (Resistance, CorridorNetwork) {
        let res = resistance::build(land, ro).unwrap();
        let net = corridors::build(
            &land.grid,
            &res,
            src,
            &CorridorOptions {
                cost: CostOptions::default(),
                width: 1e9,
                pairs: PairRule::AllocationTouch,
                drop_crossing: false,
                keep_zone_cells: true,
            },
        )
        .unwrap();
        (res, net)
    }

    fn run(
        land: &Landscape,
        src: &Sources,
        opts: &CandidateOptions,
    ) -> (Resistance, CorridorNetwork, Candidates) {
        let ro = res_opts();
        let (res, net) = surface_and_corridors(land, src, &ro);
        let model = CellModel::new(land, &ro);
        let value = vec![10.0; net.corridors.len()];
        let inputs = Inputs {
            land,
            model: &model,
            res: res.values(),
            sources: src,
            net: &net,
            value: &value,
            given: None,
        };
        let c = build(&inputs, opts).unwrap();
        (res, net, c)
    }

    #[test]
    fn footbridges_take_the_cells_no_site_holds() {
        let (land, src) = scene(&["AdddzddB", "AddddddB", "AddddddB"], 100.0);
        let opts = CandidateOptions {
            within: Within::Anywhere,
            ..Default::default()
        };
        let (_, _, mut c) = run(&land, &src, &opts);
        let before = c.site_ids.to_dense_or(0);
        let n = c.sites.len() as u32;
        // Cells 0 and 8 hold no site (a source column); 9 is site 1's.
        assert_eq!((before[0], before[8], before[9]), (0, 0, 1));
        c.append_footbridges(&[
            (vec![8, 0, 9], 1e5, 1, 0.0, 0.0),
            (vec![16], 1e5, 1, 0.0, 0.0),
        ]);
        let after = c.site_ids.to_dense_or(0);
        let mut want = before.clone();
        want[0] = n + 1;
        want[8] = n + 1;
        want[16] = n + 2;
        assert_eq!(after, want);
        assert_eq!(c.cells_of(n as usize), &[0, 8, 9]);
        assert_eq!(c.cells_of(n as usize + 1), &[16]);
        assert_eq!(
            c.site_ids.held(),
            before.iter().filter(|&&s| s != 0).count() + 3
        );
    }

    #[test]
    fn parcels_follow_the_tiling_and_zone_borders() {
        // 100 m cells (1 ha), tiles of 3 x 3 cells: columns 1-2 | 3-5 | 6, and the zone cell
        // (0, 4) is a parcel of its own.
        let (land, src) = scene(&["AdddzddB", "AddddddB", "AddddddB"], 100.0);
        let opts = CandidateOptions {
            within: Within::Anywhere,
            ..Default::default()
        };
        let (_, _, c) = run(&land, &src, &opts);
        let areas: Vec<f64> = c.sites.iter().map(|s| s.area_ha).collect();
        assert_eq!(areas, vec![6.0, 8.0, 1.0, 3.0]);
        assert_eq!(c.sites[2].zone_bits, 1);
        assert_eq!(c.site_ids.find(4).unwrap_or(0), 3);
        assert_eq!(c.site_ids.find(1).unwrap_or(0), 1);
        assert_eq!(c.site_ids.find(3).unwrap_or(0), 2);
        assert_eq!(c.site_ids.find(6).unwrap_or(0), 4);
        let s = &c.sites[1];
        assert!((s.cost_yuan - 8.0 * 30_000.0).abs() < 1e-6);
        // (163 - 65.7) t C/ha x 8 ha x 44/12.
        assert!((s.carbon_tco2e - 97.3 * 8.0 * 44.0 / 12.0).abs() < 1e-6);
        assert_eq!((s.from_code, s.to_code, s.district), (103, 301, 1));
        // Centroid of columns 3-5 minus (0, 4): x = 100 * (3+3+4+5+3+4+5+... )/8 + 50.
        let cols = [3.0, 5.0, 3.0, 4.0, 5.0, 3.0, 4.0, 5.0];
        let x = 100.0 * cols.iter().sum::<f64>() / 8.0 + 50.0;
        assert!((s.x - x).abs() < 1e-9, "{} vs {x}", s.x);
        // Sequestration over a horizon adds seq_rate x years x area x 44/12.
        let (_, _, c2) = run(
            &land,
            &src,
            &CandidateOptions {
                horizon_years: 10.0,
                ..opts
            },
        );
        let extra = c2.sites[1].carbon_tco2e - s.carbon_tco2e;
        assert!((extra - 0.644 * 10.0 * 8.0 * 44.0 / 12.0).abs() < 1e-6);
    }

    #[test]
    fn restoring_a_strip_lowers_the_lcd_by_the_hand_computed_amount() {
        // 1 x 6 strip A d d d d B of 10 m cells, tiles of 2 cells: sites {1}, {2,3}, {4}.
        // LCD = 10 (50.5 + 100 + 100 + 100 + 50.5) = 4010. Restoring {2,3} to forest:
        // 10 (50.5 + 50.5 + 1 + 50.5 + 50.5) = 2030, a drop of 1980; restoring {1}:
        // 10 (1 + 50.5 + 100 + 100 + 50.5) = 3020, a drop of 990.
        let (land, src) = scene(&["AddddB"], 10.0);
        let opts = CandidateOptions {
            parcel_size_m: 20.0,
            ..Default::default()
        };
        let (_, net, c) = run(&land, &src, &opts);
        assert!((net.corridors[0].lcd - 4010.0).abs() < 1e-6);
        let drops: Vec<f64> = c.sites.iter().map(|s| s.lcd_drop).collect();
        assert_eq!(c.sites.len(), 3);
        for (d, want) in drops.iter().zip([990.0, 1980.0, 990.0]) {
            assert!((d - want).abs() < 1e-3, "{drops:?}");
        }
        assert!((c.sites[1].benefit - 10.0 * 1980.0 / 4010.0).abs() < 1e-6);
        assert_eq!(c.sites[1].corridors, vec![(1, c.sites[1].lcd_drop)]);
        // The connector needs all three gap sites and crosses nothing.
        assert_eq!(c.connectors.len(), 1);
        let k = &c.connectors[0];
        assert_eq!(k.gap_sites, vec![0, 1, 2]);
        assert_eq!((k.crossing_m, k.cost_yuan, k.benefit), (0.0, 0.0, 10.0));
        assert!(c.existing.is_empty());
    }

    #[test]
    fn a_connector_pays_for_its_crossing_and_small_parcels_on_the_path_stay() {
        // A h h d B: crossing = 10/2 + 10 + 10/2 = 20 m; the one-cell dry-land parcel is
        // below min_parcel_ha but lies on the path.
        let (land, src) = scene(&["AhhdB", "uuuuu"], 10.0);
        let opts = CandidateOptions {
            min_parcel_ha: 1.0,
            crossing_cost_yuan_per_m: 1000.0,
            ..Default::default()
        };
        let (_, _, c) = run(&land, &src, &opts);
        assert_eq!(c.sites.len(), 1);
        let k = &c.connectors[0];
        assert_eq!((k.crossing_m, k.cost_yuan), (20.0, 20_000.0));
        assert_eq!(k.gap_sites, vec![0]);
        // Forest all the way: the corridor already works.
        let (land, src) = scene(&["AfffB"], 10.0);
        let (_, _, c) = run(&land, &src, &opts);
        assert!(c.connectors.is_empty() && c.sites.is_empty());
        assert_eq!(c.existing, vec![1]);
    }

    #[test]
    fn given_parcels_keep_their_cells_cost_and_exclude_overlaps() {
        // Strip A d d d d B (10 m): P1 = cells 1-2, P2 = cells 2-4 with its own cost. Restoring
        // P1: 10 (1 + 1 + 50.5 + 100 + 50.5) = 2030, drop 1980; P2: 10 (50.5 + 50.5 + 1 + 1 + 1)
        // = 1040, drop 2970.
        let (land, src) = scene(&["AddddB"], 10.0);
        let ro = res_opts();
        let (res, net) = surface_and_corridors(&land, &src, &ro);
        let model = CellModel::new(&land, &ro);
        let given = vec![
            GivenParcel {
                name: "P1".into(),
                cells: vec![1, 2],
                cost_yuan: None,
            },
            GivenParcel {
                name: "P2".into(),
                cells: vec![2, 3, 4],
                cost_yuan: Some(777.0),
            },
        ];
        let inputs = Inputs {
            land: &land,
            model: &model,
            res: res.values(),
            sources: &src,
            net: &net,
            value: &[1.0],
            given: Some(&given),
        };
        let c = build(&inputs, &CandidateOptions::default()).unwrap();
        assert_eq!(c.exclusive, vec![(0, 1)]);
        assert_eq!(c.site_ids.to_dense_or(0), vec![0, 1, 1, 2, 2, 0]);
        let drops: Vec<f64> = c.sites.iter().map(|s| s.lcd_drop).collect();
        assert!(
            (drops[0] - 1980.0).abs() < 1e-3 && (drops[1] - 2970.0).abs() < 1e-3,
            "{drops:?}"
        );
        assert_eq!(c.sites[1].cost_yuan, 777.0);
        assert!((c.sites[0].cost_yuan - 2.0 * 0.01 * 30_000.0).abs() < 1e-9);
        assert_eq!((c.sites[1].name.as_str(), c.sites[1].area_ha), ("P2", 0.03));
        // The path needs P1 (cell 1) and P2 (cells 3, 4); cell 2 is covered by P1 already.
        assert_eq!(c.connectors[0].gap_sites, vec![0, 1]);
        let empty = vec![GivenParcel {
            name: "E".into(),
            cells: vec![],
            cost_yuan: None,
        }];
        let e = build(
            &Inputs {
                given: Some(&empty),
                ..inputs
            },
            &CandidateOptions::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("parcel `E` covers no cell centre"),
            "{e}"
        );
    }

    #[test]
    fn bad_options_are_named() {
        let (land, src) = scene(&["AdB"], 10.0);
        let ro = res_opts();
        let (res, net) = surface_and_corridors(&land, &src, &ro);
        let model = CellModel::new(&land, &ro);
        let o = CandidateOptions {
            parcel_size_m: 0.0,
            ..Default::default()
        };
        let inputs = Inputs {
            land: &land,
            model: &model,
            res: res.values(),
            sources: &src,
            net: &net,
            value: &[1.0],
            given: None,
        };
        let e = build(&inputs, &o).unwrap_err();
        assert!(e.to_string().contains("parcel_size_m = 0"), "{e}");
    }

    fn pic_strategy() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![3 => Just('d'), 1 => Just('f'), 1 => Just('u'), 1 => Just('h')],
                6,
            ),
            5,
        )
        .prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(r, mut row)| {
                    if r == 2 {
                        row[0] = 'A';
                        row[5] = 'B';
                    }
                    row.into_iter().collect()
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The LCD drop is never more than the true drop (recomputed with the site restored)
        /// and is positive when the least-cost path runs through the site in one piece.
        #[test]
        fn lcd_drops_are_true_lower_bounds(pic in pic_strategy(), tile in 1usize..4) {
            let pic: Vec<&str> = pic.iter().map(String::as_str).collect();
            let (land, src) = scene(&pic, 10.0);
            let opts = CandidateOptions { parcel_size_m: 10.0 * tile as f64, ..Default::default() };
            let (res, net, c) = run(&land, &src, &opts);
            let ro = res_opts();
            let model = CellModel::new(&land, &ro);
            let (rows, cols) = (land.grid.rows(), land.grid.cols());
            for corridor in &net.corridors {
                for s in &c.sites {
                    let mut v = res.values().to_vec();
                    let target = land.classes.index_of(s.to_code).unwrap();
                    for (i, r) in v.iter_mut().enumerate() {
                        if c.site_ids.find(i).unwrap_or(0) == s.id {
                            *r = model.value(i, target);
                        }
                    }
                    let restored = Resistance::from_values(v).unwrap();
                    let from: Vec<(usize, u32)> = src.ids.iter().enumerate().filter(|(_, &id)| id == corridor.from).map(|(i, _)| (i, 1)).collect();
                    let cost = accumulate_cost(rows, cols, 10.0, &restored, from, &CostOptions::default());
                    let new_lcd = src.ids.iter().enumerate().filter(|(_, &id)| id == corridor.to).map(|(i, _)| cost.cost[i] as f64).fold(f64::INFINITY, f64::min);
                    let true_drop = corridor.lcd - new_lcd;
                    let drop = s.corridors.iter().find(|(id, _)| *id == corridor.id).map_or(0.0, |d| d.1);
                    prop_assert!(drop >= 0.0);
                    prop_assert!(drop <= true_drop + 1e-3 * corridor.lcd.max(1.0) * 1e-3 + 1e-2, "site {} drop {} > true {}", s.id, drop, true_drop);
                    // One contiguous run of the path inside the site: the old path restored is a
                    // candidate, so the drop is at least what that path saves.
                    let inside: Vec<usize> = corridor.path.iter().enumerate().filter(|(_, &cell)| c.site_ids.find(cell).unwrap_or(0) == s.id).map(|(k, _)| k).collect();
                    if !inside.is_empty() && inside.last().unwrap() - inside[0] + 1 == inside.len() {
                        let old: f64 = corridor.path.windows(2).map(|w| step_cost(10.0, w[0] % cols != w[1] % cols && w[0] / cols != w[1] / cols, res.values()[w[0]], res.values()[w[1]])).sum();
                        let new: f64 = corridor.path.windows(2).map(|w| step_cost(10.0, w[0] % cols != w[1] % cols && w[0] / cols != w[1] / cols, restored.values()[w[0]], restored.values()[w[1]])).sum();
                        prop_assert!(drop >= old - new - 1e-3, "site {} drop {} < path saving {}", s.id, drop, old - new);
                    }
                }
            }
        }
    }
}
