//! The tables written for bureaus (pure: values in, [`Table`]s out) and, in [`layers`], the
//! files a run writes (tables in the run's language, GeoTIFF and GeoJSON layers).

pub mod circuit;
pub mod layers;
mod zh;

use crate::candidates::Candidates;
use crate::classes::OUTSIDE;
use crate::io::table::{num, sig, Table};
use crate::landscape::Landscape;
use crate::optimize::{Lock, Plan, Problem, SweepPoint};
use crate::resistance::Resistance;
use crate::sources::Sources;

use crate::carbon::CO2_PER_C;

#[derive(Clone, Copy)]
struct Stats {
    cells: u64,
    barrier: u64,
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            cells: 0,
            barrier: 0,
            n: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
    fn add(&mut self, v: f32) {
        self.cells += 1;
        if v.is_finite() {
            let v = v as f64;
            self.n += 1;
            self.sum += v;
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        } else {
            self.barrier += 1;
        }
    }
    fn row(
        &self,
        group: &str,
        code: String,
        name: &str,
        name_zh: &str,
        cell_ha: f64,
    ) -> Vec<String> {
        let (min, mean, max) = if self.n > 0 {
            (self.min, self.sum / self.n as f64, self.max)
        } else {
            (f64::NAN, f64::NAN, f64::NAN)
        };
        vec![
            group.into(),
            code,
            name.into(),
            name_zh.into(),
            self.cells.to_string(),
            num(self.cells as f64 * cell_ha, 4),
            self.barrier.to_string(),
            num(min, 4),
            num(mean, 4),
            num(max, 4),
        ]
    }
}

/// `resistance_stats.csv`: resistance per land-cover class present and per zone (study area
/// only; barriers counted apart).
pub fn resistance_stats(land: &Landscape, res: &Resistance) -> Table {
    let mut t = Table::new(&[
        "group",
        "code",
        "name",
        "name_zh",
        "cells",
        "area_ha",
        "barrier_cells",
        "min_resistance",
        "mean_resistance",
        "max_resistance",
    ]);
    let mut by_class = vec![Stats::new(); land.classes.len()];
    let mut by_zone = vec![Stats::new(); land.zones.len()];
    for (i, &cls) in land.landcover.iter().enumerate() {
        if cls == OUTSIDE {
            continue;
        }
        let v = res.values()[i];
        by_class[cls as usize].add(v);
        for (k, z) in land.zones.iter().enumerate() {
            if land.zone_bits[i] & (1 << z.bit) != 0 {
                by_zone[k].add(v);
            }
        }
    }
    let ha = land.grid.cell_area_ha();
    for (c, s) in land.classes.classes().iter().zip(&by_class) {
        if s.cells > 0 {
            t.rows
                .push(s.row("class", c.code.to_string(), &c.name, &c.name_zh, ha));
        }
    }
    for (z, s) in land.zones.iter().zip(&by_zone) {
        t.rows.push(s.row(
            "zone",
            z.kind.as_str().to_string(),
            &z.name,
            z.kind.name_zh(),
            ha,
        ));
    }
    t
}

/// `patches.csv`: one row per ecological source patch.
pub fn patches(land: &Landscape, sources: &Sources) -> Table {
    let mut t = Table::new(&[
        "patch_id",
        "area_ha",
        "core_area_ha",
        "perimeter_m",
        "centroid_x",
        "centroid_y",
        "mean_resistance",
        "carbon_stock_tc",
        "carbon_stock_tco2e",
        "dominant_class",
        "dominant_class_name",
        "dominant_class_name_zh",
    ]);
    for p in &sources.patches {
        let c = land.classes.get(p.dominant_class);
        t.rows.push(vec![
            p.id.to_string(),
            num(p.area_ha, 4),
            num(p.core_area_ha, 4),
            num(p.perimeter_m, 2),
            num(p.centroid_x, 2),
            num(p.centroid_y, 2),
            num(p.mean_resistance, 4),
            num(p.carbon_stock_tc, 3),
            num(p.carbon_stock_tc * CO2_PER_C, 3),
            c.code.to_string(),
            c.name.clone(),
            c.name_zh.clone(),
        ]);
    }
    t
}

/// `corridors.csv`: one row per corridor (LCD in resistance x m).
pub fn corridors(net: &crate::corridors::CorridorNetwork) -> Table {
    let mut t = Table::new(&[
        "corridor_id",
        "from_patch",
        "to_patch",
        "lcd",
        "path_length_m",
        "euclid_m",
        "lcd_per_path_m",
        "lcd_per_euclid",
        "crosses_patch",
    ]);
    for c in &net.corridors {
        let ratio = |d: f64| if d > 0.0 { c.lcd / d } else { f64::NAN };
        t.rows.push(vec![
            c.id.to_string(),
            c.from.to_string(),
            c.to.to_string(),
            num(c.lcd, 3),
            num(c.path_length_m, 2),
            num(c.euclid_m, 2),
            num(ratio(c.path_length_m), 4),
            num(ratio(c.euclid_m), 4),
            u8::from(c.crosses_patch).to_string(),
        ]);
    }
    t
}

/// The least-cost path of a corridor as map coordinates of cell centres, with vertices where
/// the path goes straight on dropped.
pub fn path_polyline(grid: &crate::grid::Grid, path: &[usize]) -> Vec<(f64, f64)> {
    let cols = grid.cols();
    let rc = |c: usize| ((c / cols) as i64, (c % cols) as i64);
    let n = path.len();
    (0..n)
        .filter(|&k| {
            if k == 0 || k + 1 == n {
                return true;
            }
            let (a, b, c) = (rc(path[k - 1]), rc(path[k]), rc(path[k + 1]));
            (b.0 - a.0, b.1 - a.1) != (c.0 - b.0, c.1 - b.1)
        })
        .map(|k| {
            let (r, c) = rc(path[k]);
            grid.cell_center(r as usize, c as usize)
        })
        .collect()
}

/// `indices.csv`: one row of landscape connectivity.
pub fn indices(
    r: &crate::network::NetworkResult,
    landscape_area_ha: f64,
    d50: f64,
    patches: usize,
    links: usize,
) -> Table {
    let mut t = Table::new(&[
        "iic",
        "pc",
        "eca_ha",
        "landscape_area_ha",
        "d50",
        "patches",
        "links",
    ]);
    let i = &r.indices;
    t.rows.push(vec![
        format!("{:.6e}", i.iic),
        format!("{:.6e}", i.pc),
        num(i.eca_ha, 4),
        num(landscape_area_ha, 4),
        num(d50, 3),
        patches.to_string(),
        links.to_string(),
    ]);
    t
}

/// `patches_network.csv`: importance of each patch (% loss when removed).
pub fn patch_importance(ids: &[u32], area_ha: &[f64], r: &crate::network::NetworkResult) -> Table {
    let mut t = Table::new(&[
        "patch_id",
        "area_ha",
        "d_iic",
        "d_pc",
        "d_pc_intra",
        "d_pc_flux",
        "d_pc_connector",
        "betweenness",
    ]);
    for ((id, a), n) in ids.iter().zip(area_ha).zip(&r.nodes) {
        t.rows.push(vec![
            id.to_string(),
            num(*a, 4),
            num(n.d_iic, 6),
            num(n.d_pc, 6),
            num(n.d_pc_intra, 6),
            num(n.d_pc_flux, 6),
            num(n.d_pc_connector, 6),
            num(n.betweenness, 3),
        ]);
    }
    t
}

/// `links_network.csv`: importance of each link (% loss when removed) and gravity.
pub fn link_importance(links: &[(u32, u32, f64)], r: &crate::network::NetworkResult) -> Table {
    let mut t = Table::new(&["from_patch", "to_patch", "lcd", "d_iic", "d_pc", "gravity"]);
    for (k, (&(a, b, d), l)) in links.iter().zip(&r.links).enumerate() {
        let g = r.gravity.as_ref().map(|g| num(g[k], 4)).unwrap_or_default();
        t.rows.push(vec![
            a.to_string(),
            b.to_string(),
            num(d, 3),
            num(l.d_iic, 6),
            num(l.d_pc, 6),
            g,
        ]);
    }
    t
}

/// Appends the network importance columns to a `patches()` table (rows in the same order).
pub fn join_patch_importance(t: &mut Table, r: &crate::network::NetworkResult) {
    t.header.extend(
        [
            "d_iic",
            "d_pc",
            "d_pc_intra",
            "d_pc_flux",
            "d_pc_connector",
            "betweenness",
        ]
        .map(String::from),
    );
    for (row, n) in t.rows.iter_mut().zip(&r.nodes) {
        row.extend([
            num(n.d_iic, 6),
            num(n.d_pc, 6),
            num(n.d_pc_intra, 6),
            num(n.d_pc_flux, 6),
            num(n.d_pc_connector, 6),
            num(n.betweenness, 3),
        ]);
    }
}

/// Appends dIIC, dPC, gravity and the important flag (gravity at or above
/// `important_gravity`, by default the corridors' mean gravity) to a `corridors()` table.
pub fn join_corridor_importance(
    t: &mut Table,
    r: &crate::network::NetworkResult,
    important_gravity: Option<f64>,
) {
    let gravity = r.gravity.as_deref().unwrap_or_default();
    let important_gravity = important_gravity.unwrap_or(if gravity.is_empty() {
        f64::INFINITY
    } else {
        gravity.iter().sum::<f64>() / gravity.len() as f64
    });
    t.header
        .extend(["d_iic", "d_pc", "gravity", "important"].map(String::from));
    for (k, (row, l)) in t.rows.iter_mut().zip(&r.links).enumerate() {
        let g = r.gravity.as_ref().map_or(f64::NAN, |g| g[k]);
        row.extend([
            num(l.d_iic, 6),
            num(l.d_pc, 6),
            num(g, 4),
            u8::from(g >= important_gravity).to_string(),
        ]);
    }
}

/// `zones.csv`: carbon stock, sink, emission and net balance per class, zone, district and for
/// the study area.
pub fn carbon(rows: &[crate::carbon::CarbonRow]) -> Table {
    let mut t = Table::new(&[
        "group",
        "code",
        "name",
        "name_zh",
        "area_ha",
        "carbon_stock_tc",
        "carbon_stock_tco2e",
        "sink_tco2e_per_yr",
        "emission_tco2e_per_yr",
        "net_tco2e_per_yr",
    ]);
    for r in rows {
        t.rows.push(vec![
            r.group.to_string(),
            r.key.clone(),
            r.name.clone(),
            r.name_zh.clone(),
            num(r.area_ha, 4),
            num(r.stock_tc, 3),
            num(r.stock_tc * CO2_PER_C, 3),
            num(r.sink_tc_per_yr * CO2_PER_C, 3),
            num(r.emission_tc_per_yr * CO2_PER_C, 3),
            num(r.net_tco2e_per_yr(), 3),
        ]);
    }
    t
}

/// `sites.csv` of planners' own candidates: the table read plus `selected` (0/1).
pub fn plan_sites(p: &Problem, plan: &Plan) -> Table {
    let lock = |l: Lock| match l {
        Lock::Free => "",
        Lock::In => "in",
        Lock::Out => "out",
    };
    let mut st = Table::new(&[
        "site_id",
        "cost_yuan",
        "area_ha",
        "carbon_tco2e",
        "benefit",
        "zone",
        "district",
        "locked",
        "selected",
    ]);
    for (s, &x) in p.sites.iter().zip(&plan.sites) {
        st.rows.push(vec![
            s.id.clone(),
            num(s.cost_yuan, 2),
            num(s.area_ha, 4),
            num(s.carbon_tco2e, 3),
            num(s.benefit, 6),
            s.zones.join(";"),
            s.district.clone().unwrap_or_default(),
            lock(s.lock).into(),
            u8::from(x).to_string(),
        ]);
    }
    st
}

fn gap_ids(p: &Problem, c: &crate::optimize::Connector) -> String {
    c.gap_sites
        .iter()
        .map(|&g| p.sites[g].id.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

/// `connectors.csv` of planners' own candidates plus `selected`.
pub fn plan_connectors(p: &Problem, plan: &Plan) -> Table {
    let mut ct = Table::new(&[
        "connector_id",
        "cost_yuan",
        "carbon_tco2e",
        "benefit",
        "gap_sites",
        "from_patch",
        "to_patch",
        "selected",
    ]);
    for (c, &y) in p.connectors.iter().zip(&plan.connectors) {
        let (a, b) = c.ends.map_or((String::new(), String::new()), |(a, b)| {
            (a.to_string(), b.to_string())
        });
        ct.rows.push(vec![
            c.id.clone(),
            num(c.cost_yuan, 2),
            num(c.carbon_tco2e, 3),
            num(c.benefit, 6),
            gap_ids(p, c),
            a,
            b,
            u8::from(y).to_string(),
        ]);
    }
    ct
}

/// `summary.csv`: status, budget, spending, carbon, benefit, objective, bound, gap, counts,
/// the greedy baseline and the MILP/greedy ratio (no timings: tables are byte-identical
/// across runs).
pub fn plan_summary(p: &Problem, plan: &Plan, greedy: Option<&Plan>) -> Table {
    let g = greedy.map_or(f64::NAN, |g| g.objective);
    let ratio = if g > 0.0 {
        plan.objective / g
    } else {
        f64::NAN
    };
    let count = |v: &[bool]| v.iter().filter(|&&b| b).count().to_string();
    let mut sm = Table::new(&[
        "status",
        "budget_yuan",
        "spent_yuan",
        "carbon_tco2e",
        "benefit",
        "area_ha",
        "objective",
        "bound",
        "gap",
        "sites_selected",
        "connectors_selected",
        "greedy_objective",
        "greedy_spent_yuan",
        "milp_greedy_ratio",
    ]);
    let area: f64 = p
        .sites
        .iter()
        .zip(&plan.sites)
        .filter(|(_, &x)| x)
        .map(|(s, _)| s.area_ha)
        .sum();
    sm.rows.push(vec![
        plan.status.as_str().into(),
        num(p.budget_yuan, 2),
        num(plan.spent_yuan, 2),
        num(plan.carbon_tco2e, 3),
        num(plan.benefit, 6),
        num(area, 4),
        num(plan.objective, 6),
        num(plan.bound, 6),
        num(plan.gap, 6),
        count(&plan.sites),
        count(&plan.connectors),
        num(g, 6),
        num(greedy.map_or(f64::NAN, |g| g.spent_yuan), 2),
        num(ratio, 4),
    ]);
    sm
}

/// `sites.csv` of a scenario's candidates: where each site is, what it is now and restored
/// to (`park` = 1: made a park), its cost, carbon, corridors and LCD drop, the residents it
/// alone would bring within the walk of a park (the covering term's estimate, when the problem
/// has one), whether it may be chosen and whether it was.
pub fn candidate_sites(c: &Candidates, p: &Problem, plan: &Plan) -> Table {
    let mut reach = vec![0.0; c.sites.len()];
    if let Some(cov) = &p.coverage {
        for (n, by) in &cov.groups {
            for &s in by {
                reach[s] += n;
            }
        }
    }
    let mut t = Table::new(&[
        "site_id",
        "area_ha",
        "cost_yuan",
        "carbon_tco2e",
        "stock_now_tc",
        "stock_restored_tc",
        "from_class",
        "to_class",
        "park",
        "footbridge",
        "zones",
        "district",
        "x",
        "y",
        "corridors",
        "lcd_drop",
        "benefit",
        "park_reach_persons",
        "allowed",
        "selected",
    ]);
    for (((s, q), &x), reach) in c.sites.iter().zip(&p.sites).zip(&plan.sites).zip(reach) {
        let allowed = !q.zones.iter().any(|z| p.forbidden_zones.contains(z));
        t.rows.push(vec![
            s.name.clone(),
            num(s.area_ha, 4),
            num(s.cost_yuan, 2),
            num(s.carbon_tco2e, 3),
            num(s.stock_now_tc, 3),
            num(s.stock_restored_tc, 3),
            s.from_code.to_string(),
            s.to_code.to_string(),
            u8::from(s.park).to_string(),
            u8::from(s.footbridge).to_string(),
            q.zones.join(";"),
            q.district.clone().unwrap_or_default(),
            num(s.x, 2),
            num(s.y, 2),
            s.corridors
                .iter()
                .map(|(id, _)| id.to_string())
                .collect::<Vec<_>>()
                .join(";"),
            num(s.lcd_drop, 3),
            sig(s.benefit, 7),
            if p.coverage.is_some() && (s.park || s.footbridge) {
                num(reach, 1)
            } else {
                String::new()
            },
            u8::from(allowed).to_string(),
            u8::from(x).to_string(),
        ]);
    }
    t
}

/// `connectors.csv` of a scenario: per corridor that needs work, its ends, LCD, crossing
/// length and cost, the gap sites it needs (those in forbidden zones are crossed as they are)
/// and their cost, benefit and whether it was chosen.
pub fn candidate_connectors(c: &Candidates, p: &Problem, plan: &Plan) -> Table {
    let mut t = Table::new(&[
        "connector_id",
        "corridor_id",
        "from_patch",
        "to_patch",
        "lcd",
        "crossing_m",
        "cost_yuan",
        "gap_sites",
        "gap_cost_yuan",
        "carbon_tco2e",
        "benefit",
        "selected",
    ]);
    for ((k, q), &y) in c.connectors.iter().zip(&p.connectors).zip(&plan.connectors) {
        let gap_cost: f64 = q.gap_sites.iter().map(|&g| c.sites[g].cost_yuan).sum();
        t.rows.push(vec![
            q.id.clone(),
            k.id.to_string(),
            k.from.to_string(),
            k.to.to_string(),
            num(k.lcd, 3),
            num(k.crossing_m, 2),
            num(k.cost_yuan, 2),
            gap_ids(p, q),
            num(gap_cost, 2),
            num(k.carbon_tco2e, 3),
            sig(k.benefit, 7),
            u8::from(y).to_string(),
        ]);
    }
    t
}

/// One measured figure per sweep plan (None where its solve failed), when measured at all.
pub type PerPlan<'a> = Option<&'a [Option<f64>]>;

/// `pareto.csv`: one row per sweep point with its plan (or why there is none) and whether
/// it is on the frontier of (cost, carbon, connectivity).
///
/// `eca_plan_ha`, when given (one per point), is each plan's ECA measured on its restored
/// landscape (`run`), written as `eca_plan_ha`; `access_plan_pct` likewise its measured share
/// of residents within the walk of a park.
pub fn pareto(
    points: &[SweepPoint],
    results: &[Result<Plan, crate::optimize::OptimizeError>],
    (eca_plan_ha, access_plan_pct): (PerPlan<'_>, PerPlan<'_>),
) -> Table {
    let plans: Vec<Option<&Plan>> = results.iter().map(|r| r.as_ref().ok()).collect();
    let front = crate::optimize::pareto(&plans);
    let mut t = Table::new(&[
        "run",
        "budget_yuan",
        "carbon_weight",
        "connectivity_weight",
        "carbon_min_tco2e",
        "status",
        "spent_yuan",
        "carbon_tco2e",
        "benefit",
        "objective",
        "gap",
        "sites_selected",
        "connectors_selected",
        "pareto",
    ]);
    for (k, ((pt, r), on)) in points.iter().zip(results).zip(front).enumerate() {
        let mut row = vec![
            (k + 1).to_string(),
            num(pt.budget_yuan, 2),
            num(pt.w_carbon, 4),
            num(pt.w_benefit, 4),
            pt.carbon_min.map_or(String::new(), |m| num(m, 3)),
        ];
        match r {
            Ok(p) => {
                let count = |v: &[bool]| v.iter().filter(|&&b| b).count().to_string();
                row.extend([
                    p.status.as_str().to_string(),
                    num(p.spent_yuan, 2),
                    num(p.carbon_tco2e, 3),
                    sig(p.benefit, 7),
                    num(p.objective, 6),
                    num(p.gap, 6),
                    count(&p.sites),
                    count(&p.connectors),
                    u8::from(on).to_string(),
                ]);
            }
            Err(e) => {
                let status = match e {
                    crate::optimize::OptimizeError::Infeasible(_) => "infeasible",
                    _ => "failed",
                };
                row.push(status.into());
                row.extend((0..8).map(|_| String::new()));
            }
        }
        if let Some(eca) = eca_plan_ha {
            row.push(eca[k].map_or(String::new(), |e| num(e, 4)));
        }
        if let Some(acc) = access_plan_pct {
            row.push(acc[k].map_or(String::new(), |a| num(a, 2)));
        }
        t.rows.push(row);
    }
    if eca_plan_ha.is_some() {
        t.header.push("eca_plan_ha".into());
    }
    if access_plan_pct.is_some() {
        t.header.push("access_plan_pct".into());
    }
    t
}

/// Adds `lcd_plan` to `corridors.csv`: each corridor's least-cost distance measured on the
/// landscape with the plan applied (empty without a plan, or where the plan's network no
/// longer links the pair).
pub fn join_corridor_plan(t: &mut Table, measured: Option<&crate::measure::Measured>) {
    t.header.push("lcd_plan".into());
    for (k, row) in t.rows.iter_mut().enumerate() {
        row.push(
            measured
                .and_then(|m| m.links[k].lcd)
                .map_or(String::new(), |d| num(d, 3)),
        );
    }
}

pub use zh::ZH_COLUMNS;

/// The table with Chinese column names (see [`ZH_COLUMNS`]).
pub fn to_chinese(t: &Table) -> Table {
    Table {
        header: t
            .header
            .iter()
            .map(|h| {
                ZH_COLUMNS
                    .iter()
                    .find(|(en, _)| en == h)
                    .map_or_else(|| h.clone(), |(_, zh)| zh.to_string())
            })
            .collect(),
        rows: t.rows.clone(),
    }
}

/// How a scenario's plan ended, as `summary.csv` and `run.json` say it: the solver's own
/// status when there is a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// A plan, and how its solve ended.
    Solved(crate::optimize::Status),
    /// No plan satisfies every constraint.
    Infeasible,
    /// No budget, so no plan was asked for.
    NoBudget,
}

impl PlanStatus {
    /// For tables and the screen.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Solved(s) => s.as_str(),
            PlanStatus::Infeasible => "infeasible",
            PlanStatus::NoBudget => "no budget given",
        }
    }
}

impl From<crate::optimize::Status> for PlanStatus {
    fn from(s: crate::optimize::Status) -> PlanStatus {
        PlanStatus::Solved(s)
    }
}

/// What a scenario's plan selected, spent and solved (present when there is a plan).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanFigures {
    /// Spent, yuan.
    pub spent_yuan: f64,
    /// Sites selected (restoration and park sites; footbridges are counted apart).
    pub sites_selected: usize,
    /// Footbridges selected (park access).
    #[serde(default)]
    pub footbridges_selected: usize,
    /// Area of the selected sites, ha.
    pub area_restored_ha: f64,
    /// Connectors selected.
    pub connectors_selected: usize,
    /// Carbon gain, t CO2e.
    pub carbon_gain_tco2e: f64,
    /// Objective value.
    pub objective: f64,
    /// Best bound on the objective.
    pub bound: f64,
    /// Relative gap.
    pub gap: f64,
}

/// Connectivity of a landscape: IIC, PC (dimensionless) and ECA (ha).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Connectivity {
    /// Integral index of connectivity.
    pub iic: f64,
    /// Probability of connectivity.
    pub pc: f64,
    /// Equivalent connected area, ha.
    pub eca_ha: f64,
}

impl From<&crate::network::Indices> for Connectivity {
    fn from(i: &crate::network::Indices) -> Connectivity {
        Connectivity {
            iic: i.iic,
            pc: i.pc,
            eca_ha: i.eca_ha,
        }
    }
}

/// One scenario's result: the row of `summary.csv`, the `summary` of `run.json` (which
/// `batch` reads back through serde) and the end-of-run screen.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Ecological sources.
    pub patches: usize,
    /// Corridors.
    pub corridors: usize,
    /// Candidate sites.
    pub candidate_sites: usize,
    /// Candidate connectors.
    pub candidate_connectors: usize,
    /// Budget, yuan (None without one).
    pub budget_yuan: Option<f64>,
    /// How the plan ended.
    pub status: PlanStatus,
    /// The plan's figures (None without a plan).
    pub plan: Option<PlanFigures>,
    /// The network as it is (= `indices.csv`).
    pub now: Connectivity,
    /// The network measured on the landscape with the plan applied (None without a plan).
    pub with_plan: Option<Connectivity>,
    /// Objective of the greedy baseline.
    pub greedy_objective: Option<f64>,
    /// Park access of the landscape as it is (None without `[access]`).
    #[serde(default)]
    pub access_now: Option<AccessFigures>,
    /// Park access measured on the landscape with the plan applied (None without `[access]`
    /// or without a plan).
    #[serde(default)]
    pub access_plan: Option<AccessFigures>,
    /// The relative gap the solver was asked to stop at (None without a plan).
    #[serde(default)]
    pub gap_tolerance: Option<f64>,
    /// Residents the optimizer's covering term expected the plan's new parks to bring within
    /// the walk (a model's estimate, beside the measured `persons_gained`; None without the
    /// term).
    #[serde(default)]
    pub persons_gained_model: Option<f64>,
}

impl AccessFigures {
    /// The study-area figures of a measurement's table.
    pub fn of_rows(a: &crate::access::AccessRows) -> AccessFigures {
        Self::of_total(a.total(), a.threshold_min)
    }

    fn of_total(t: &crate::access::AccessRow, threshold_min: f64) -> AccessFigures {
        AccessFigures {
            population: t.population,
            covered: t.covered,
            covered_pct: t.covered_pct,
            threshold_min,
        }
    }
}

/// Park access in the study area (the last row of `access.csv`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccessFigures {
    /// Residents, persons.
    pub population: f64,
    /// Residents within the threshold, persons.
    pub covered: f64,
    /// Their share, %.
    pub covered_pct: f64,
    /// The threshold, min.
    pub threshold_min: f64,
}

/// `access.csv`: per district and for the study area, residents, those within the walking
/// threshold and their share, park area (total and per resident), the people-weighted mean
/// walking time and the residents who cannot reach any park; with a plan, the residents
/// within the threshold, their share and the mean walk measured with the plan applied.
pub fn access_table(
    a: &crate::access::AccessRows,
    plan: Option<&crate::access::AccessRows>,
) -> Table {
    let mut t = Table::new(&[
        "area",
        "population_persons",
        "covered_persons",
        "covered_pct",
        "park_area_ha",
        "park_m2_per_person",
        "mean_walk_min",
        "unreached_persons",
    ]);
    for r in &a.rows {
        t.rows.push(vec![
            r.area.clone(),
            num(r.population, 1),
            num(r.covered, 1),
            num(r.covered_pct, 2),
            num(r.park_area_ha, 4),
            num(r.park_m2_per_person, 2),
            if r.mean_walk_min.is_finite() {
                num(r.mean_walk_min, 2)
            } else {
                String::new()
            },
            num(r.unreached, 1),
        ]);
    }
    if let Some(pl) = plan {
        t.header.extend(
            [
                "covered_plan_persons",
                "covered_plan_pct",
                "mean_walk_plan_min",
            ]
            .map(String::from),
        );
        for (row, r) in t.rows.iter_mut().zip(&pl.rows) {
            row.extend([
                num(r.covered, 1),
                num(r.covered_pct, 2),
                if r.mean_walk_min.is_finite() {
                    num(r.mean_walk_min, 2)
                } else {
                    String::new()
                },
            ]);
        }
    }
    t
}

impl Summary {
    /// ECA gained by the plan, ha.
    pub fn eca_gain_ha(&self) -> Option<f64> {
        self.with_plan.map(|p| p.eca_ha - self.now.eca_ha)
    }

    /// ECA gained by the plan, % of now (None when ECA now is 0).
    pub fn eca_gain_pct(&self) -> Option<f64> {
        self.eca_gain_ha()
            .filter(|_| self.now.eca_ha > 0.0)
            .map(|g| 100.0 * g / self.now.eca_ha)
    }

    /// Objective of the MILP over the greedy baseline's.
    pub fn milp_greedy_ratio(&self) -> Option<f64> {
        match (&self.plan, self.greedy_objective) {
            (Some(p), Some(g)) if g > 0.0 => Some(p.objective / g),
            _ => None,
        }
    }

    /// `summary.csv`: one row a bureau can quote.
    pub fn table(&self) -> Table {
        let mut t = Table::new(&[
            "scenario",
            "patches",
            "corridors",
            "candidate_sites",
            "candidate_connectors",
            "budget_yuan",
            "status",
            "spent_yuan",
            "sites_selected",
            "area_restored_ha",
            "connectors_selected",
            "footbridges_selected",
            "carbon_gain_tco2e",
            "iic_now",
            "pc_now",
            "eca_now_ha",
            "iic_plan",
            "pc_plan",
            "eca_plan_ha",
            "eca_gain_ha",
            "eca_gain_pct",
            "objective",
            "bound",
            "gap",
            "gap_tolerance",
            "greedy_objective",
            "milp_greedy_ratio",
            "access_now_pct",
            "covered_now_persons",
            "access_plan_pct",
            "covered_plan_persons",
            "persons_gained",
            "persons_gained_model",
        ]);
        let opt = |v: Option<String>| v.unwrap_or_default();
        let p = self.plan.as_ref();
        let w = self.with_plan.as_ref();
        let e = |x: f64| format!("{x:.6e}");
        t.rows.push(vec![
            self.scenario.clone(),
            self.patches.to_string(),
            self.corridors.to_string(),
            self.candidate_sites.to_string(),
            self.candidate_connectors.to_string(),
            opt(self.budget_yuan.map(|b| num(b, 2))),
            self.status.as_str().to_string(),
            opt(p.map(|p| num(p.spent_yuan, 2))),
            opt(p.map(|p| p.sites_selected.to_string())),
            opt(p.map(|p| num(p.area_restored_ha, 4))),
            opt(p.map(|p| p.connectors_selected.to_string())),
            opt(p.map(|p| p.footbridges_selected.to_string())),
            opt(p.map(|p| num(p.carbon_gain_tco2e, 3))),
            e(self.now.iic),
            e(self.now.pc),
            num(self.now.eca_ha, 4),
            opt(w.map(|w| e(w.iic))),
            opt(w.map(|w| e(w.pc))),
            opt(w.map(|w| num(w.eca_ha, 4))),
            opt(self.eca_gain_ha().map(|g| num(g, 4))),
            opt(self.eca_gain_pct().map(|g| num(g, 4))),
            opt(p.map(|p| num(p.objective, 6))),
            opt(p.map(|p| num(p.bound, 6))),
            opt(p.map(|p| num(p.gap, 6))),
            opt(p.and(self.gap_tolerance).map(|g| num(g, 6))),
            opt(self.greedy_objective.map(|g| num(g, 6))),
            opt(self.milp_greedy_ratio().map(|r| num(r, 4))),
            opt(self.access_now.map(|a| num(a.covered_pct, 2))),
            opt(self.access_now.map(|a| num(a.covered, 1))),
            opt(self.access_plan.map(|a| num(a.covered_pct, 2))),
            opt(self.access_plan.map(|a| num(a.covered, 1))),
            opt(self
                .access_now
                .zip(self.access_plan)
                .map(|(n, p)| num(p.covered - n.covered, 1))),
            opt(self.persons_gained_model.map(|n| num(n, 1))),
        ]);
        t
    }
}

/// `transitions.csv` (`assess`): area and carbon change per class transition.
pub fn transitions(
    classes: &crate::classes::ClassTable,
    cells: &std::collections::BTreeMap<(crate::classes::ClassIdx, crate::classes::ClassIdx), u64>,
    cell_ha: f64,
) -> Table {
    let classes = classes.classes();
    let mut t = Table::new(&[
        "from_code",
        "from_name",
        "from_name_zh",
        "to_code",
        "to_name",
        "to_name_zh",
        "area_ha",
        "carbon_change_tc",
        "carbon_change_tco2e",
    ]);
    for (&(a, b), &n) in cells {
        let (ca, cb) = (&classes[a as usize], &classes[b as usize]);
        let change = (cb.stock_tc_per_ha() - ca.stock_tc_per_ha()) * n as f64 * cell_ha;
        t.rows.push(vec![
            ca.code.to_string(),
            ca.name.clone(),
            ca.name_zh.clone(),
            cb.code.to_string(),
            cb.name.clone(),
            cb.name_zh.clone(),
            num(n as f64 * cell_ha, 4),
            num(change, 3),
            num(change * CO2_PER_C, 3),
        ]);
    }
    t
}

/// `carbon_change.csv` (`assess`): stock and net balance before and after per zone, district
/// and the study area.
pub fn carbon_change(
    before: &[crate::carbon::CarbonRow],
    after: &[crate::carbon::CarbonRow],
) -> Table {
    let mut c = Table::new(&[
        "group",
        "code",
        "name",
        "name_zh",
        "carbon_before_tc",
        "carbon_after_tc",
        "change_tc",
        "change_tco2e",
        "net_before_tco2e_per_yr",
        "net_after_tco2e_per_yr",
    ]);
    for r1 in after.iter().filter(|r| r.group != "class") {
        let before_row = before
            .iter()
            .find(|r| r.group == r1.group && r.key == r1.key);
        let (b_stock, b_net) =
            before_row.map_or((0.0, 0.0), |r| (r.stock_tc, r.net_tco2e_per_yr()));
        let change = r1.stock_tc - b_stock;
        c.rows.push(vec![
            r1.group.to_string(),
            r1.key.clone(),
            r1.name.clone(),
            r1.name_zh.clone(),
            num(b_stock, 3),
            num(r1.stock_tc, 3),
            num(change, 3),
            num(change * CO2_PER_C, 3),
            num(b_net, 3),
            num(r1.net_tco2e_per_yr(), 3),
        ]);
    }
    c
}

/// `indices_change.csv` (`assess`): IIC, PC and ECA before and after (empty when either year
/// has no network).
pub fn indices_change(
    before: Option<&crate::network::Indices>,
    after: Option<&crate::network::Indices>,
) -> Table {
    let mut ic = Table::new(&["index", "before", "after", "change", "change_percent"]);
    if let (Some(a), Some(b)) = (before, after) {
        for (name, x0, x1) in [
            ("iic", a.iic, b.iic),
            ("pc", a.pc, b.pc),
            ("eca_ha", a.eca_ha, b.eca_ha),
        ] {
            let pct = if x0 != 0.0 {
                100.0 * (x1 - x0) / x0
            } else {
                f64::NAN
            };
            ic.rows.push(vec![
                name.into(),
                format!("{x0:.6e}"),
                format!("{x1:.6e}"),
                format!("{:.6e}", x1 - x0),
                num(pct, 4),
            ]);
        }
    }
    ic
}

/// One scenario's result row for `comparison.csv`.
#[derive(Debug, Clone)]
pub struct BatchRow {
    /// Scenario name.
    pub name: String,
    /// Scenario file.
    pub path: std::path::PathBuf,
    /// Exit code of its run (0 = done, 1 = no feasible plan, 2 = error).
    pub exit: i32,
    /// The run's message (empty when it succeeded).
    pub message: String,
    /// The summary its `run.json` holds.
    pub summary: Option<Summary>,
    /// Whether the scenario was run (not refused before any work).
    pub ran: bool,
}

/// One row per scenario: file, exit code, message, then the summary's columns.
pub fn comparison(rows: &[BatchRow]) -> Table {
    let tables: Vec<Option<Table>> = rows
        .iter()
        .map(|r| r.summary.as_ref().map(Summary::table))
        .collect();
    let header: Vec<String> = tables
        .iter()
        .find_map(|t| t.as_ref().map(|t| t.header.clone()))
        .unwrap_or_else(|| vec!["scenario".into()]);
    let mut cols = vec![
        "scenario_file".to_string(),
        "exit_code".into(),
        "message".into(),
    ];
    cols.extend(header.iter().cloned());
    let mut t = Table {
        header: cols,
        rows: Vec::new(),
    };
    for (r, table) in rows.iter().zip(&tables) {
        let mut row = vec![
            r.path.display().to_string(),
            r.exit.to_string(),
            r.message.clone(),
        ];
        match table {
            Some(s) => row.extend(s.rows[0].iter().cloned()),
            None => {
                row.push(r.name.clone());
                row.extend((1..header.len()).map(|_| String::new()));
            }
        }
        t.rows.push(row);
    }
    t
}

#[cfg(test)]
mod tests;
