//! Scenario files (TOML): which inputs a run uses and every option, each with a documented
//! default (`models/demo.toml` is the commented example of all of them).
//!
//! Every path is relative to the scenario file's folder. Unknown keys are errors, answered with
//! the closest valid key ("did you mean `landcover`?"), so a typo never silently falls back to a
//! default.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A scenario as written in the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Name used for the output folder (`outputs/<name>/`). Default: the file's stem.
    pub name: Option<String>,
    /// Free text shown in reports.
    #[serde(default)]
    pub description: String,
    /// Land cover and class table.
    pub landscape: LandscapeSection,
    /// Factor rasters (slope, night light...) for the resistance surface.
    #[serde(default)]
    pub factors: Vec<FactorSpec>,
    /// Zone layers (ecological protection redline, permanent basic farmland, urban
    /// development boundary, other protected areas).
    #[serde(default)]
    pub zones: Vec<ZoneSpec>,
    /// Administrative districts (for per-district tables and budget caps).
    pub districts: Option<DistrictSpec>,
    /// How the resistance surface is built.
    #[serde(default)]
    pub resistance: ResistanceSection,
    /// How ecological sources are made.
    #[serde(default)]
    pub sources: SourcesSection,
    /// How corridors are built.
    #[serde(default)]
    pub corridors: CorridorsSection,
    /// Connectivity indices of the network.
    #[serde(default)]
    pub network: NetworkSection,
    /// Circuit theory on the corridors: pinch points and centrality.
    #[serde(default)]
    pub circuit: CircuitSection,
    /// Park access: the walk from home to a park (optional; measured when present).
    pub access: Option<AccessSection>,
    /// How candidate restoration sites and park connectors are made.
    #[serde(default)]
    pub candidates: CandidatesSection,
    /// The restoration plan: budget, weights, constraints, sweeps.
    #[serde(default)]
    pub optimize: OptimizeSection,
    /// Where and how outputs are written.
    #[serde(default)]
    pub output: OutputSection,
}

/// What a connector's connectivity benefit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorBenefit {
    /// The rise in PC each candidate buys, measured (default): a connector's corridor is
    /// measured again with it built, and the rise in PC of that single-link change is exact;
    /// a site gets its share of the corridors it shortens (`measure::PcValues`).
    #[default]
    PcGain,
    /// dPC of the corridor's link, %; a site gets `Σ dPC × LCD drop / LCD`.
    Dpc,
    /// Gravity of the corridor (Kong et al. 2010).
    Gravity,
}

/// How the optimizer's connectivity term is modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectivityTerm {
    /// The candidates' values (default).
    #[default]
    Proxy,
    /// The true PC of the improved network, in the MILP.
    Exact,
}

/// `[candidates]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CandidatesSection {
    /// Side of the square tiling that splits restorable land into parcels, m. Default 300
    /// (9 ha at most per parcel).
    pub parcel_size_m: f64,
    /// `corridors` (default: only inside corridor zones) or `anywhere`.
    pub within: crate::candidates::Within,
    /// Parcels smaller than this are dropped unless a least-cost path crosses them, ha.
    /// Default 0.
    pub min_parcel_ha: f64,
    /// Years of sequestration counted in the carbon gain. Default 0 (stock difference only).
    pub horizon_years: f64,
    /// Classes that cannot be restored and have class resistance >= this are crossings
    /// (built-up land, roads, railways). Default 500.
    pub crossing_min_resistance: f64,
    /// Cost of a crossing structure (eco-bridge, green overpass), yuan per m crossed.
    /// Default 150000 (an assumption: replace with local unit costs).
    pub crossing_cost_yuan_per_m: f64,
    /// Resistance of a crossing cell once a crossing structure is built (used to measure a
    /// plan). Default 60 (park and green space in the bundled table).
    pub crossing_resistance: f64,
    /// `pc_gain` (default: the measured rise in PC), `dpc` or `gravity`: the connectivity
    /// value of a corridor.
    pub connector_benefit: ConnectorBenefit,
    /// Weight of pinch points in a site's connectivity value: the value is multiplied by
    /// `1 + pinch_weight x pinch_current` (the site's mean pinch-point current, 0-1 A), so
    /// sites where corridors narrow count more. A modelling choice, not a measurement
    /// (the plan's connectivity is always measured). Default 0 (no effect); needs pinch points.
    pub pinch_weight: f64,
    /// Your own parcels (a polygon layer: Shapefile, GeoPackage or GeoJSON) instead of the
    /// tiling. Default: none.
    pub parcels: Option<PathBuf>,
    /// Attribute encoding of the parcels layer (e.g. `gbk`). Default: from the file.
    pub parcels_encoding: Option<String>,
    /// Which layer of a GeoPackage holds the parcels. Default: its only one.
    pub parcels_layer: Option<String>,
    /// Property with each parcel's id. Default: number the features 1, 2, ...
    pub parcel_id_field: Option<String>,
    /// Property with each parcel's cost, yuan. Default: class unit costs × area.
    pub parcel_cost_field: Option<String>,
}

impl Default for CandidatesSection {
    fn default() -> Self {
        let d = crate::candidates::CandidateOptions::default();
        CandidatesSection {
            parcel_size_m: d.parcel_size_m,
            within: d.within,
            min_parcel_ha: d.min_parcel_ha,
            horizon_years: d.horizon_years,
            crossing_min_resistance: d.crossing_min_resistance,
            crossing_cost_yuan_per_m: d.crossing_cost_yuan_per_m,
            crossing_resistance: d.crossing_resistance,
            connector_benefit: ConnectorBenefit::default(),
            pinch_weight: 0.0,
            parcels: None,
            parcels_encoding: None,
            parcels_layer: None,
            parcel_id_field: None,
            parcel_cost_field: None,
        }
    }
}

/// `[optimize]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizeSection {
    /// Budget, yuan (required to optimise; `--budget-yuan` overrides).
    pub budget_yuan: Option<f64>,
    /// Weight of carbon in the objective. Default 0.5.
    pub carbon_weight: f64,
    /// Weight of connectivity in the objective. Default 0.5.
    pub connectivity_weight: f64,
    /// Zones (names) where no site may be chosen. Default: every zone of kind
    /// `permanent_farmland`.
    pub forbid_zones: Option<Vec<String>>,
    /// Area caps per zone name, ha.
    pub zone_area_caps_ha: std::collections::BTreeMap<String, f64>,
    /// Budget caps per district name, yuan.
    pub district_budget_caps_yuan: std::collections::BTreeMap<String, f64>,
    /// Minimum carbon gain, t CO2e.
    pub carbon_min_tco2e: Option<f64>,
    /// Weight of park access in the objective (needs `[access]`): the residents a plan's new
    /// parks bring within the walk, over all it could bring. Default 0.
    pub access_weight: f64,
    /// Share of all residents that must be within the walk of a park with the plan, %
    /// (needs `[access]`). Default: none.
    pub min_access_pct: Option<f64>,
    /// Patch ids that the plan must join into one network (existing links plus chosen
    /// connectors). Default: none.
    pub connect_patches: Vec<u32>,
    /// Solver time limit, s. Default: none.
    pub time_limit_s: Option<f64>,
    /// Relative MIP gap to stop at. Default 0.001 (0.1 %).
    pub mip_gap: Option<f64>,
    /// `proxy` (default): the connectivity term is the candidates' values (see
    /// `[candidates] connector_benefit`); `exact`: the true PC of the patch network improved by
    /// the chosen connectors, in the MILP itself (a generalized-flow formulation; for networks
    /// of at most 40 patches and 120 connectors, else the proxy is used and a note says so).
    pub connectivity: ConnectivityTerm,
    /// Rounds of solve, measure, revalue on the restored landscape, solve again (the plan
    /// with the best measured ECA is kept). Default 2; 1 solves once. Only with
    /// `connector_benefit = "pc_gain"` and a connectivity weight > 0.
    pub refine_rounds: usize,
    /// Trade-off sweep.
    pub sweep: Option<SweepSection>,
}

impl Default for OptimizeSection {
    fn default() -> Self {
        OptimizeSection {
            budget_yuan: None,
            carbon_weight: 0.5,
            connectivity_weight: 0.5,
            forbid_zones: None,
            zone_area_caps_ha: Default::default(),
            district_budget_caps_yuan: Default::default(),
            carbon_min_tco2e: None,
            access_weight: 0.0,
            min_access_pct: None,
            connect_patches: Vec::new(),
            time_limit_s: None,
            mip_gap: None,
            connectivity: ConnectivityTerm::Proxy,
            refine_rounds: 2,
            sweep: None,
        }
    }
}

/// `[optimize.sweep]`: every combination of the lists is solved (an empty list keeps the
/// `[optimize]` value).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweepSection {
    /// Budgets, yuan.
    pub budgets_yuan: Vec<f64>,
    /// Carbon weights; the connectivity weight is 1 minus it.
    pub carbon_weights: Vec<f64>,
    /// Minimum carbon gains (ε-constraints), t CO2e.
    pub carbon_min_tco2e: Vec<f64>,
}

/// `[corridors]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorridorsSection {
    /// Corridor width in cost units (resistance x m): a cell is in the corridor when the
    /// cheapest route through it costs at most this much more than the least-cost path.
    /// Default 10000 (10 km through resistance 1, or 100 m through resistance 100).
    #[serde(default = "default_width")]
    pub width: f64,
    /// Cost-distance cut-off, cost units: pairs farther apart get no corridor. Default: none.
    pub max_cwd: Option<f64>,
    /// `allocation_touch` (default: patches whose cost allocation zones touch, as Linkage
    /// Mapper) or `within_max_cwd` (every pair within max_cwd).
    #[serde(default)]
    pub pairs: crate::corridors::PairRule,
    /// Drop corridors whose least-cost path crosses a third patch. Default true.
    #[serde(default = "yes")]
    pub drop_crossing: bool,
    /// Allow diagonal moves past impassable corners (as GRASS r.cost). Default true.
    #[serde(default = "yes")]
    pub corner_cutting: bool,
}

/// `[network]`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// Median dispersal distance in cost units (resistance x m): p = 0.5 at this LCD.
    /// Default: the median LCD of the corridors.
    pub d50: Option<f64>,
    /// Landscape area A_L, ha. Default: the study area.
    pub landscape_area_ha: Option<f64>,
    /// Corridors with gravity at or above this are flagged important. Default: the mean
    /// gravity of the corridors.
    pub important_gravity: Option<f64>,
    /// When a plan is measured, restored cells whose target class is habitat and that touch
    /// a patch (8-neighbours, through other such cells) join it: the patch grows and its
    /// area counts. Default false (the patches of "now").
    #[serde(default)]
    pub grow_patches: bool,
}

/// Whether the pinch points are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinchPoints {
    /// When the largest corridor zone holds at most `[circuit] max_zone_cells` cells (default).
    #[default]
    Auto,
    /// Always (refused by the memory check when too large).
    On,
    /// Never.
    Off,
}

fn default_max_zone_cells() -> u64 {
    10_000_000
}

/// `[access]`: who can walk to a park within the threshold.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSection {
    /// Population raster on the land cover's grid, persons per cell (a census grid,
    /// WorldPop...). Default: the class table's `persons_per_ha` x cell area (an assumption).
    pub population: Option<PathBuf>,
    /// Polygon layer of parks, in addition to the classes flagged `park = 1`. Default none.
    pub parks: Option<PathBuf>,
    /// Smallest park that counts, ha (8-connected park cells). Default 0.4.
    #[serde(default = "default_min_park_ha")]
    pub min_park_ha: f64,
    /// Walking speed on a street, km/h. Default 4.8.
    #[serde(default = "default_walk_speed")]
    pub walk_speed_kmh: f64,
    /// Walking time that counts as access, min. Default 10.
    #[serde(default = "default_threshold_min")]
    pub threshold_min: f64,
    /// Side of the blocks residents are grouped in for the optimizer's park-access term, m.
    /// Default 100.
    #[serde(default = "default_block_m")]
    pub block_m: f64,
    /// Longest footbridge the plan may build across a barrier walkers cannot cross (water,
    /// railways, expressways), m; 0: none. Default 150. Offered only when park access is in
    /// the objective (`[optimize] access_weight` or `min_access_pct`).
    #[serde(default = "default_footbridge_max_m")]
    pub footbridge_max_m: f64,
    /// Cost of a footbridge per metre of span, yuan/m. Default 60,000 (an assumption).
    #[serde(default = "default_footbridge_cost")]
    pub footbridge_cost_yuan_per_m: f64,
}

/// `access::FOOTBRIDGE_MAX_M` (the scenario layer sits below `access`).
fn default_footbridge_max_m() -> f64 {
    150.0
}

/// `access::FOOTBRIDGE_COST_YUAN_PER_M`.
fn default_footbridge_cost() -> f64 {
    60_000.0
}

fn default_block_m() -> f64 {
    100.0
}

fn default_min_park_ha() -> f64 {
    0.4
}

fn default_walk_speed() -> f64 {
    4.8
}

fn default_threshold_min() -> f64 {
    10.0
}

/// `[circuit]`: circuit theory on the corridors (pinch points, centrality).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitSection {
    /// `auto` (default), `on` or `off`.
    #[serde(default)]
    pub pinch_points: PinchPoints,
    /// With `auto`: the largest corridor zone solved, cells (default 1e7: zones above
    /// 200,000 cells are solved one at a time by AMG-preconditioned conjugate gradients,
    /// at most ~110 bytes per zone cell plus ~70 per cell of the zone's bounding box;
    /// smaller zones by a sparse factor, one per thread).
    #[serde(default = "default_max_zone_cells")]
    pub max_zone_cells: u64,
    /// Conductance `2/(R_a + R_b)` instead of `(1/R_a + 1/R_b)/2` (Circuitscape's
    /// `connect_using_avg_resistances`). Default false.
    #[serde(default)]
    pub avg_resistance: bool,
    /// Join 4 neighbours only. Default false (8).
    #[serde(default)]
    pub four_neighbours: bool,
}

impl Default for CircuitSection {
    fn default() -> Self {
        CircuitSection {
            pinch_points: PinchPoints::Auto,
            max_zone_cells: default_max_zone_cells(),
            avg_resistance: false,
            four_neighbours: false,
        }
    }
}

fn default_width() -> f64 {
    10_000.0
}

impl Default for CorridorsSection {
    fn default() -> Self {
        CorridorsSection {
            width: default_width(),
            max_cwd: None,
            pairs: Default::default(),
            drop_crossing: true,
            corner_cutting: true,
        }
    }
}

/// `[resistance]`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResistanceSection {
    /// `weighted_sum` (default) or `product`.
    #[serde(default)]
    pub method: crate::resistance::Combine,
    /// Weight of the class resistance in the weighted sum. Default: 1 - sum of factor weights
    /// (1 when there are no factors).
    pub class_weight: Option<f64>,
    /// Multiplier per zone name (e.g. `urban_boundary = 2.0`). Default: none.
    #[serde(default)]
    pub zone_multipliers: std::collections::BTreeMap<String, f64>,
}

/// Where sources come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Derived from habitat classes (default).
    #[default]
    Habitat,
    /// A GeoJSON polygon layer, one patch per feature.
    Polygons,
    /// A patch-id raster on the land cover's grid.
    Raster,
}

/// `[sources]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesSection {
    /// `habitat` (default), `polygons` or `raster`.
    #[serde(default)]
    pub method: SourceKind,
    /// Smallest patch kept (habitat method), ha. Default 100.
    #[serde(default = "default_min_area_ha")]
    pub min_area_ha: f64,
    /// 8 (default) or 4: which neighbours join habitat cells into one patch.
    #[serde(default = "default_connectivity")]
    pub connectivity: u8,
    /// Edge width for core areas, m. Default 0 (no edge).
    #[serde(default)]
    pub edge_width_m: f64,
    /// Patches are only their core (cells farther than edge_width_m from non-habitat).
    /// Default false.
    #[serde(default)]
    pub core_only: bool,
    /// Keep only the N largest patches. Default 0 (all).
    #[serde(default)]
    pub largest: usize,
    /// Layer or raster for the polygons and raster methods.
    pub path: Option<PathBuf>,
    /// Attribute encoding of the polygons (e.g. `gbk`). Default: from the file.
    pub encoding: Option<String>,
    /// Which layer of a GeoPackage holds the polygons. Default: its only one.
    pub layer: Option<String>,
    /// Property holding a positive integer patch id (polygons method). Default: feature
    /// order, 1-based.
    pub id_field: Option<String>,
}

fn default_min_area_ha() -> f64 {
    100.0
}

fn default_connectivity() -> u8 {
    8
}

impl Default for SourcesSection {
    fn default() -> Self {
        SourcesSection {
            method: SourceKind::Habitat,
            min_area_ha: default_min_area_ha(),
            connectivity: default_connectivity(),
            edge_width_m: 0.0,
            core_only: false,
            largest: 0,
            path: None,
            encoding: None,
            layer: None,
            id_field: None,
        }
    }
}

/// `[output]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Output folder. Default `outputs/<name>/` in the current folder; `--out` overrides.
    pub dir: Option<PathBuf>,
    /// Write CSV files with a UTF-8 byte-order mark so Excel opens them correctly. Default
    /// true.
    #[serde(default = "yes")]
    pub csv_bom: bool,
}

fn yes() -> bool {
    true
}

impl Default for OutputSection {
    fn default() -> Self {
        OutputSection {
            dir: None,
            csv_bom: true,
        }
    }
}

/// `[landscape]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandscapeSection {
    /// Land cover: a raster (GeoTIFF or ASCII grid) of integer class codes, or a polygon
    /// layer (Shapefile, GeoPackage, GeoJSON; e.g. the land survey's DLTB) with `code_field`.
    pub landcover: PathBuf,
    /// Class table CSV (see `models/landcover_classes.csv`).
    pub classes: PathBuf,
    /// Polygon land cover: the field with each polygon's land-use code (DLTB: `DLBM`),
    /// matched as text to the class table's `dlbm` column.
    pub code_field: Option<String>,
    /// Polygon land cover: cell size of the grid made from the layer's extent, m.
    pub cell_size_m: Option<f64>,
    /// Polygon land cover: a raster whose grid to burn onto (e.g. a factor), so every layer
    /// lines up. Default: the layer's extent snapped to multiples of `cell_size_m`.
    pub grid_like: Option<PathBuf>,
    /// Polygon land cover: attribute encoding (e.g. `gbk`). Default: from the file.
    pub encoding: Option<String>,
    /// Polygon land cover: which layer of a GeoPackage. Default: its only one.
    pub layer: Option<String>,
}

/// `[[factors]]`: a raster reclassified by breaks into scores.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorSpec {
    /// Name used in tables (e.g. "slope").
    pub name: String,
    /// The raster; must share the land cover's grid exactly.
    pub path: PathBuf,
    /// Ascending class breaks: value < `breaks[0]` scores `scores[0]`, and so on.
    pub breaks: Vec<f64>,
    /// One score more than breaks.
    pub scores: Vec<f64>,
    /// Weight in the weighted sum. Default 1.
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

pub use crate::landscape::ZoneKind;

/// `[[zones]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    /// Name used in tables. Default: the kind.
    pub name: Option<String>,
    /// What the zone is.
    pub kind: ZoneKind,
    /// Polygon layer: ESRI Shapefile, GeoPackage or GeoJSON (chosen by content).
    pub path: PathBuf,
    /// Attribute encoding (e.g. `gbk`). Default: the `.cpg`, else detected.
    pub encoding: Option<String>,
    /// Which layer of a GeoPackage. Default: its only one.
    pub layer: Option<String>,
}

/// `[districts]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictSpec {
    /// Polygon layer: ESRI Shapefile, GeoPackage or GeoJSON (chosen by content).
    pub path: PathBuf,
    /// Attribute encoding (e.g. `gbk`). Default: the `.cpg`, else detected.
    pub encoding: Option<String>,
    /// Which layer of a GeoPackage. Default: its only one.
    pub layer: Option<String>,
    /// Property holding the district name. Default "name".
    #[serde(default = "default_name_field")]
    pub name_field: String,
}

fn default_name_field() -> String {
    "name".into()
}

/// A scenario read from disk, with paths resolved against its folder.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario file.
    pub path: PathBuf,
    /// Its name (explicit or the file stem).
    pub name: String,
    /// Its content, paths resolved.
    pub file: ScenarioFile,
    /// Every input file it names: where in the scenario, the path as written, and as resolved
    /// against the scenario's folder (what [`ScenarioFile`] holds).
    pub inputs: Vec<InputPath>,
}

/// One input file named by a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct InputPath {
    /// Where it is named, e.g. `[landscape] landcover` or `[[zones]] urban_boundary`.
    pub key: String,
    /// The path as written in the scenario.
    pub given: PathBuf,
    /// The path the run uses (relative paths joined to the scenario's folder).
    pub resolved: PathBuf,
}

/// Why a scenario file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Unreadable.
    #[error("cannot read scenario `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid, with position and a suggestion.
    #[error("scenario `{path}`{position}: {what}{hint}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// ", line L, column C" when known.
        position: String,
        /// What is wrong.
        what: String,
        /// "\n  hint: ..." when there is one.
        hint: String,
    },
}

/// The parts of a scenario its stages up to the candidates depend on (see
/// [`Scenario::stage_key`]); compared as typed values, not as text.
#[derive(Debug, Clone, PartialEq)]
pub struct StageKey {
    landscape: LandscapeSection,
    factors: Vec<FactorSpec>,
    zones: Vec<ZoneSpec>,
    districts: Option<DistrictSpec>,
    resistance: ResistanceSection,
    sources: SourcesSection,
    corridors: CorridorsSection,
    network: NetworkSection,
    circuit: CircuitSection,
    access: Option<AccessSection>,
    candidates: CandidatesSection,
}

impl Scenario {
    /// Reads a scenario file and resolves its paths.
    ///
    /// # Errors
    /// [`ScenarioError`] with the line and column of a TOML or schema error, and for an unknown
    /// key the closest valid one.
    pub fn read(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::parse(path, &text)
    }

    /// Parses scenario text; `path` locates relative inputs and names the file in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        let mut file: ScenarioFile = toml::from_str(text).map_err(|e| {
            let position = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
                    format!(", line {line}, column {col}")
                })
                .unwrap_or_default();
            let what = e.message().trim().to_string();
            let hint = suggest(&what)
                .map(|s| format!("\n  hint: {s}"))
                .unwrap_or_default();
            ScenarioError::Invalid {
                path: path.to_path_buf(),
                position,
                what,
                hint,
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut inputs = Vec::new();
        let mut resolve = |key: String, p: &mut PathBuf| {
            let given = p.clone();
            if p.is_relative() {
                *p = base.join(&*p);
            }
            inputs.push(InputPath {
                key,
                given,
                resolved: p.clone(),
            });
        };
        resolve(
            "[landscape] landcover".into(),
            &mut file.landscape.landcover,
        );
        resolve("[landscape] classes".into(), &mut file.landscape.classes);
        if let Some(p) = &mut file.landscape.grid_like {
            resolve("[landscape] grid_like".into(), p);
        }
        for f in &mut file.factors {
            resolve(format!("[[factors]] {}", f.name), &mut f.path);
        }
        for z in &mut file.zones {
            let name = z
                .name
                .clone()
                .unwrap_or_else(|| z.kind.as_str().to_string());
            resolve(format!("[[zones]] {name}"), &mut z.path);
        }
        if let Some(d) = &mut file.districts {
            resolve("[districts] path".into(), &mut d.path);
        }
        if let Some(p) = &mut file.sources.path {
            resolve("[sources] path".into(), p);
        }
        if let Some(p) = &mut file.candidates.parcels {
            resolve("[candidates] parcels".into(), p);
        }
        if let Some(a) = &mut file.access {
            if let Some(p) = &mut a.population {
                resolve("[access] population".into(), p);
            }
            if let Some(p) = &mut a.parks {
                resolve("[access] parks".into(), p);
            }
        }
        if let Some(p) = &mut file.output.dir {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        let name = file.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".into())
        });
        Ok(Scenario {
            path: path.to_path_buf(),
            name,
            file,
            inputs,
        })
    }
}

impl Scenario {
    /// What the stages up to the candidates depend on (inputs with resolved paths, resistance,
    /// sources, corridors, network and candidate options): scenarios with equal keys share
    /// those stages, so a batch computes them once.
    pub fn stage_key(&self) -> StageKey {
        let f = &self.file;
        StageKey {
            landscape: f.landscape.clone(),
            factors: f.factors.clone(),
            zones: f.zones.clone(),
            districts: f.districts.clone(),
            resistance: f.resistance.clone(),
            sources: f.sources.clone(),
            corridors: f.corridors.clone(),
            network: f.network.clone(),
            circuit: f.circuit.clone(),
            access: f.access.clone(),
            candidates: f.candidates.clone(),
        }
    }

    /// The output folder: `--out` if given, else `[output] dir`, else `outputs/<name>/`.
    pub fn output_dir(&self, out: Option<&Path>) -> PathBuf {
        match (out, &self.file.output.dir) {
            (Some(o), _) => o.to_path_buf(),
            (None, Some(d)) => d.clone(),
            (None, None) => Path::new("outputs").join(&self.name),
        }
    }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant"), the
/// closest expected name.
fn suggest(message: &str) -> Option<String> {
    let unknown = message.split('`').nth(1)?;
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return None;
    }
    let expected: Vec<&str> = message
        .split("expected")
        .nth(1)?
        .split('`')
        .skip(1)
        .step_by(2)
        .collect();
    let best = expected.iter().min_by_key(|e| edit_distance(unknown, e))?;
    let d = edit_distance(unknown, best);
    if d <= best.len().max(3) / 2 {
        Some(format!("did you mean `{best}`?"))
    } else {
        Some(format!("valid names here: {}", expected.join(", ")))
    }
}

/// Levenshtein distance (characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[landscape]\nlandcover = \"lc.tif\"\nclasses = \"classes.csv\"\n";

    #[test]
    fn the_bundled_scenarios_parse() {
        for (name, text) in [
            ("models/demo.toml", include_str!("../models/demo.toml")),
            (
                "models/city_cluster.toml",
                include_str!("../models/city_cluster.toml"),
            ),
        ] {
            let s =
                Scenario::parse(Path::new(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(s.file.optimize.budget_yuan.is_some(), "{name}");
        }
    }

    #[test]
    fn scenarios_share_stages_when_only_the_plan_or_output_differs() {
        let parse = |dir: &str, extra: &str| {
            Scenario::parse(Path::new(dir), &format!("{MINIMAL}{extra}")).unwrap()
        };
        let base = parse("m/a.toml", "");
        let budget = parse(
            "m/b.toml",
            "[optimize]\nbudget_yuan = 5e6\n[output]\ncsv_bom = false\n",
        );
        assert_eq!(base.stage_key(), budget.stage_key());
        let width = parse("m/c.toml", "[corridors]\nwidth = 500.0\n");
        assert_ne!(base.stage_key(), width.stage_key());
        let value = parse("m/d.toml", "[candidates]\nconnector_benefit = \"dpc\"\n");
        assert_ne!(base.stage_key(), value.stage_key());
        // The same file names in another folder are other inputs.
        let elsewhere = parse("n/a.toml", "");
        assert_ne!(base.stage_key(), elsewhere.stage_key());
    }

    #[test]
    fn paths_resolve_against_the_scenario_folder() {
        let s = Scenario::parse(Path::new("models/a.toml"), MINIMAL).unwrap();
        assert_eq!(s.file.landscape.landcover, Path::new("models/lc.tif"));
        assert_eq!(s.name, "a");
    }

    #[test]
    fn a_misspelled_key_gets_the_right_one_suggested() {
        let text = "[landscape]\nlandcovr = \"lc.tif\"\nclasses = \"c.csv\"\n";
        let err = Scenario::parse(Path::new("s.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2, column 1"), "{err}");
        assert!(err.contains("unknown field `landcovr`"), "{err}");
        assert!(err.contains("did you mean `landcover`?"), "{err}");
    }

    #[test]
    fn a_misspelled_zone_kind_gets_the_right_one_suggested() {
        let text =
            format!("{MINIMAL}[[zones]]\nkind = \"ecological_redlin\"\npath = \"z.geojson\"\n");
        let err = Scenario::parse(Path::new("s.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `ecological_redline`?"), "{err}");
    }

    #[test]
    fn a_missing_section_is_named() {
        let err = Scenario::parse(Path::new("s.toml"), "name = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `landscape`"), "{err}");
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("landcovr", "landcover"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
