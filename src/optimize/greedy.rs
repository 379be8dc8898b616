//! The greedy benefit-per-cost baseline and its Steiner seeding for connected networks.

use super::links::{PatchLinks, Via};
use super::*;
use std::collections::BinaryHeap;

/// Greedy baseline: locked-in sites first; with a connected-network requirement, the cheapest
/// connector paths that join the required patches (shortest-path Steiner heuristic); then
/// candidates by objective value per yuan (a connector together with its missing gap sites),
/// adding each that keeps the plan feasible. `None` when it finds no feasible plan.
///
/// # Complexity
/// O(n log n) for the sort plus O(size of each addition) per candidate: budget, caps and
/// exclusions are tracked incrementally.
pub fn greedy(p: &Problem) -> Option<Plan> {
    let mut sites: Vec<bool> = p
        .sites
        .iter()
        .map(|s| s.lock == Lock::In && !forbidden(p, s))
        .collect();
    let mut connectors = vec![false; p.connectors.len()];
    let usable = |l: usize| {
        p.connectors[l]
            .gap_sites
            .iter()
            .all(|&g| !forbidden(p, &p.sites[g]))
    };
    if let Some(c) = &p.connect {
        steiner(p, c, &usable, &mut sites, &mut connectors);
    }
    if !feasible_except_carbon(p, &sites, &connectors, EPS) {
        return None;
    }
    let mut state = Tally::new(p, &sites, &connectors);
    let (gn, bn) = norms(p);
    let value = |g: f64, b: f64| p.w_carbon * g / gn + p.w_benefit * b / bn;
    // Park access: each site valued by the residents it would bring within the walk alone.
    let mut access = vec![0.0; p.sites.len()];
    if let Some(c) = &p.coverage {
        let norm = c.norm();
        for (n, by) in &c.groups {
            for &s in by {
                access[s] += c.weight * n / norm;
            }
        }
    }
    // (ratio, is_connector, index)
    let mut cands: Vec<(f64, bool, usize)> = Vec::new();
    for (i, s) in p.sites.iter().enumerate() {
        if !forbidden(p, s) && !sites[i] {
            cands.push((
                (value(s.carbon_tco2e, s.benefit) + access[i]) / s.cost_yuan.max(1e-9),
                false,
                i,
            ));
        }
    }
    for (i, c) in p.connectors.iter().enumerate() {
        if !usable(i) || connectors[i] {
            continue;
        }
        let (mut v, mut cost) = (value(c.carbon_tco2e, c.benefit), c.cost_yuan);
        for &g in &c.gap_sites {
            v += value(p.sites[g].carbon_tco2e, p.sites[g].benefit);
            cost += p.sites[g].cost_yuan;
        }
        cands.push((v / cost.max(1e-9), true, i));
    }
    cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut add: Vec<usize> = Vec::new();
    for &(ratio, is_conn, i) in &cands {
        if ratio <= 0.0 {
            break;
        }
        add.clear();
        if is_conn {
            if connectors[i] {
                continue;
            }
            add.extend(
                p.connectors[i]
                    .gap_sites
                    .iter()
                    .copied()
                    .filter(|&g| !sites[g]),
            );
            if state.try_add(p, &mut sites, &add, p.connectors[i].cost_yuan) {
                connectors[i] = true;
            }
        } else if !sites[i] {
            add.push(i);
            state.try_add(p, &mut sites, &add, 0.0);
        }
    }
    feasible(p, &sites, &connectors)
        .then(|| plan(p, Status::Heuristic, sites, connectors, f64::NAN))
}

/// Running totals of a selection: spending, area per capped zone, cost per capped district,
/// and each site's exclusive partners.
struct Tally {
    spent: f64,
    zone_area: Vec<f64>,
    zone_cap: Vec<f64>,
    site_zones: Vec<Vec<usize>>,
    district_cost: Vec<f64>,
    district_cap: Vec<f64>,
    site_district: Vec<Option<usize>>,
    partners: Vec<Vec<usize>>,
}

impl Tally {
    fn new(p: &Problem, sites: &[bool], connectors: &[bool]) -> Tally {
        let zones: Vec<&String> = p.zone_area_caps.keys().collect();
        let districts: Vec<&String> = p.district_budget_caps.keys().collect();
        let site_zones: Vec<Vec<usize>> = p
            .sites
            .iter()
            .map(|s| {
                zones
                    .iter()
                    .enumerate()
                    .filter(|(_, z)| s.zones.contains(z))
                    .map(|(k, _)| k)
                    .collect()
            })
            .collect();
        let site_district: Vec<Option<usize>> = p
            .sites
            .iter()
            .map(|s| {
                s.district
                    .as_ref()
                    .and_then(|d| districts.iter().position(|x| *x == d))
            })
            .collect();
        let mut partners = vec![Vec::new(); p.sites.len()];
        for &(a, b) in &p.exclusive {
            partners[a].push(b);
            partners[b].push(a);
        }
        let mut t = Tally {
            spent: sum_selected(&p.connectors, connectors, |c| c.cost_yuan),
            zone_area: vec![0.0; zones.len()],
            zone_cap: p.zone_area_caps.values().copied().collect(),
            site_zones,
            district_cost: vec![0.0; districts.len()],
            district_cap: p.district_budget_caps.values().copied().collect(),
            site_district,
            partners,
        };
        for (i, &x) in sites.iter().enumerate() {
            if x {
                t.apply(p, i, 1.0);
            }
        }
        t
    }

    fn apply(&mut self, p: &Problem, i: usize, sign: f64) {
        let s = &p.sites[i];
        self.spent += sign * s.cost_yuan;
        for &z in &self.site_zones[i] {
            self.zone_area[z] += sign * s.area_ha;
        }
        if let Some(d) = self.site_district[i] {
            self.district_cost[d] += sign * s.cost_yuan;
        }
    }

    /// Adds the sites `add` (not selected yet) plus `extra` yuan when every constraint still
    /// holds; otherwise leaves everything as it was.
    fn try_add(&mut self, p: &Problem, sites: &mut [bool], add: &[usize], extra: f64) -> bool {
        let over = |v: f64, cap: f64| v > cap * (1.0 + EPS) + EPS;
        if add.iter().any(|&i| {
            self.partners[i]
                .iter()
                .any(|&j| sites[j] || (add.contains(&j) && j != i))
        }) {
            return false;
        }
        for &i in add {
            self.apply(p, i, 1.0);
        }
        self.spent += extra;
        let ok = !over(self.spent, p.budget_yuan)
            && !self
                .zone_area
                .iter()
                .zip(&self.zone_cap)
                .any(|(&a, &c)| over(a, c))
            && !self
                .district_cost
                .iter()
                .zip(&self.district_cap)
                .any(|(&a, &c)| over(a, c));
        if ok {
            for &i in add {
                sites[i] = true;
            }
        } else {
            for &i in add {
                self.apply(p, i, -1.0);
            }
            self.spent -= extra;
        }
        ok
    }
}

/// Adds, from the component of the first required patch, the cheapest connector path to the
/// nearest patch not yet joined, until all are joined (costs of gap sites not yet chosen
/// included).
fn steiner(
    p: &Problem,
    c: &Connect,
    usable: &dyn Fn(usize) -> bool,
    sites: &mut [bool],
    connectors: &mut [bool],
) {
    let g = PatchLinks::new(c, &p.connectors, usable);
    let Some(&root) = c.patches.first() else {
        return;
    };
    loop {
        // Multi-source Dijkstra from every patch already joined to the root.
        let joined = g.joined(root, |via| match via {
            Via::Existing => true,
            Via::Connector(l) => connectors[l],
        });
        let Some(_) = c.patches.iter().find(|v| !joined.contains(v)) else {
            return;
        };
        let mut dist: BTreeMap<u32, f64> = joined.iter().map(|&v| (v, 0.0)).collect();
        let mut prev: BTreeMap<u32, (u32, Via)> = BTreeMap::new();
        let mut heap: BinaryHeap<(std::cmp::Reverse<u64>, u32)> =
            joined.iter().map(|&v| (std::cmp::Reverse(0), v)).collect();
        let mut target = None;
        while let Some((std::cmp::Reverse(bits), v)) = heap.pop() {
            let d = f64::from_bits(bits);
            if d > dist[&v] {
                continue;
            }
            if !joined.contains(&v) && c.patches.contains(&v) {
                target = Some(v);
                break;
            }
            for (w, l) in g.links_of(v) {
                let step = match l {
                    Via::Existing => 0.0,
                    Via::Connector(l) if connectors[l] => 0.0,
                    Via::Connector(l) => {
                        p.connectors[l].cost_yuan
                            + p.connectors[l]
                                .gap_sites
                                .iter()
                                .filter(|&&g| !sites[g])
                                .map(|&g| p.sites[g].cost_yuan)
                                .sum::<f64>()
                    }
                };
                let nd = d + step;
                if nd < *dist.get(&w).unwrap_or(&f64::INFINITY) {
                    dist.insert(w, nd);
                    prev.insert(w, (v, l));
                    heap.push((std::cmp::Reverse(nd.to_bits()), w));
                }
            }
        }
        let Some(mut v) = target else {
            return;
        };
        // Back to the joined component (whose patches have no predecessor).
        while let Some(&(u, l)) = prev.get(&v) {
            if let Via::Connector(l) = l {
                connectors[l] = true;
                for &g in &p.connectors[l].gap_sites {
                    sites[g] = true;
                }
            }
            v = u;
        }
    }
}
