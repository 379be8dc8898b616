//! The tables written for bureaus (pure: values in, [`Table`]s out; `io::table` writes them).

use crate::classes::OUTSIDE;
use crate::io::table::{num, Table};
use crate::landscape::Landscape;
use crate::resistance::Resistance;
use crate::sources::Sources;

/// CO2 per carbon by mass (44/12).
pub const CO2_PER_C: f64 = 44.0 / 12.0;

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

/// Appends dIIC, dPC, gravity and the important flag to a `corridors()` table.
pub fn join_corridor_importance(
    t: &mut Table,
    r: &crate::network::NetworkResult,
    important_gravity: f64,
) {
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

/// `sites.csv`, `connectors.csv` (candidates with `selected`) and `summary.csv` (status,
/// objective, bound, gap, greedy objective and the MILP/greedy ratio) of an optimization.
pub fn optimization(
    p: &crate::optimize::Problem,
    plan: &crate::optimize::Plan,
    greedy: &crate::optimize::Plan,
    solve_s: f64,
) -> (Table, Table, Table) {
    use crate::optimize::Lock;
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
    let mut ct = Table::new(&[
        "connector_id",
        "cost_yuan",
        "carbon_tco2e",
        "benefit",
        "gap_sites",
        "selected",
    ]);
    for (c, &y) in p.connectors.iter().zip(&plan.connectors) {
        let gaps: Vec<&str> = c
            .gap_sites
            .iter()
            .map(|&g| p.sites[g].id.as_str())
            .collect();
        ct.rows.push(vec![
            c.id.clone(),
            num(c.cost_yuan, 2),
            num(c.carbon_tco2e, 3),
            num(c.benefit, 6),
            gaps.join(";"),
            u8::from(y).to_string(),
        ]);
    }
    let ratio = if greedy.objective > 0.0 {
        plan.objective / greedy.objective
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
        "objective",
        "bound",
        "gap",
        "sites_selected",
        "connectors_selected",
        "greedy_objective",
        "milp_greedy_ratio",
        "solve_s",
    ]);
    sm.rows.push(vec![
        plan.status.as_str().into(),
        num(p.budget_yuan, 2),
        num(plan.spent_yuan, 2),
        num(plan.carbon_tco2e, 3),
        num(plan.benefit, 6),
        num(plan.objective, 6),
        num(plan.bound, 6),
        num(plan.gap, 6),
        count(&plan.sites),
        count(&plan.connectors),
        num(greedy.objective, 6),
        num(ratio, 4),
        num(solve_s, 3),
    ]);
    (st, ct, sm)
}
