//! The LCD drop a site gives a corridor (see the module docs of `candidates`): the cheapest
//! path that crosses the site once at restored resistance, found by one Dijkstra over the
//! site's cells per (corridor, site).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use crate::corridors::{Corridor, ZoneCell};
use crate::costdist::{neighbours, step_cost};

/// What the LCD-drop search needs.
pub(super) struct DropContext<'a> {
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) cs: f64,
    pub(super) res: &'a [f32],
    pub(super) site_ids: &'a [u32],
    pub(super) overlap: &'a HashMap<u32, Vec<u32>>,
    pub(super) start: &'a [usize],
    pub(super) site_cells: &'a [u32],
    pub(super) restored: &'a (dyn Fn(usize) -> f32 + Sync),
    pub(super) corner_cutting: bool,
}

fn zone_lookup(zone: &[ZoneCell], cell: usize) -> Option<&ZoneCell> {
    zone.binary_search_by_key(&(cell as u32), |z| z.cell)
        .ok()
        .map(|k| &zone[k])
}

impl DropContext<'_> {
    fn neighbour(&self, i: usize, dr: isize, dc: isize) -> Option<usize> {
        let (r, c) = ((i / self.cols) as isize + dr, (i % self.cols) as isize + dc);
        (r >= 0 && c >= 0 && (r as usize) < self.rows && (c as usize) < self.cols)
            .then(|| r as usize * self.cols + c as usize)
    }

    fn cells(&self, s: u32) -> &[u32] {
        &self.site_cells[self.start[s as usize]..self.start[s as usize + 1]]
    }

    fn in_site(&self, s: u32, i: usize) -> bool {
        self.site_ids[i] == s || self.cells(s).binary_search(&(i as u32)).is_ok()
    }

    /// Every site covering cell `i`.
    fn sites_at(&self, i: usize, mut f: impl FnMut(u32)) {
        match self.overlap.get(&(i as u32)) {
            Some(all) => all.iter().for_each(|&s| f(s)),
            None if self.site_ids[i] != 0 => f(self.site_ids[i]),
            None => {}
        }
    }

    /// Resistance after restoring site `s`.
    fn r_new(&self, s: u32, i: usize) -> f32 {
        if self.in_site(s, i) {
            (self.restored)(i)
        } else {
            self.res[i]
        }
    }

    /// Whether the move i -> j (diagonal or not) is allowed with site `s` restored.
    fn move_ok(&self, s: u32, i: usize, dr: isize, dc: isize, diag: bool) -> bool {
        if !diag || self.corner_cutting {
            return true;
        }
        let a = self.neighbour(i, dr, 0).map(|k| self.r_new(s, k));
        let b = self.neighbour(i, 0, dc).map(|k| self.r_new(s, k));
        matches!((a, b), (Some(a), Some(b)) if a.is_finite() && b.is_finite())
    }

    /// Sites touching the corridor's zone and the LCD drop each gives, in site order.
    pub(super) fn corridor_drops(&self, c: &Corridor) -> Vec<(u32, f64)> {
        let mut touching = BTreeSet::new();
        for z in &c.zone {
            let i = z.cell as usize;
            self.sites_at(i, |s| {
                touching.insert(s);
            });
            for &(dr, dc, _) in neighbours() {
                if let Some(j) = self.neighbour(i, dr, dc) {
                    self.sites_at(j, |s| {
                        touching.insert(s);
                    });
                }
            }
        }
        touching
            .into_iter()
            .map(|s| (s, self.drop_for(c, s)))
            .collect()
    }

    /// `LCD − min(LCD, cheapest path crossing site s once)`, zeroed below rounding level.
    fn drop_for(&self, c: &Corridor, s: u32) -> f64 {
        let cells = self.cells(s);
        let local = |i: usize| cells.binary_search(&(i as u32)).ok();
        let mut dist = vec![f64::INFINITY; cells.len()];
        let mut heap = BinaryHeap::new();
        // Entries from zone cells outside the site, over the old surface.
        for (k, &u) in cells.iter().enumerate() {
            let u = u as usize;
            let ru = self.r_new(s, u);
            if !ru.is_finite() {
                continue;
            }
            for &(dr, dc, diag) in neighbours() {
                let Some(o) = self.neighbour(u, dr, dc) else {
                    continue;
                };
                if self.in_site(s, o) || !self.move_ok(s, o, -dr, -dc, diag) {
                    continue;
                }
                let (Some(z), true) = (zone_lookup(&c.zone, o), self.res[o].is_finite()) else {
                    continue;
                };
                let d = z.cwd_from as f64 + step_cost(self.cs, diag, self.res[o], ru);
                if d < dist[k] {
                    dist[k] = d;
                }
            }
            if dist[k].is_finite() {
                heap.push((Reverse(dist[k].to_bits()), k));
            }
        }
        // Across the site at restored resistance.
        while let Some((Reverse(bits), k)) = heap.pop() {
            let d = f64::from_bits(bits);
            if d > dist[k] {
                continue;
            }
            let u = cells[k] as usize;
            let ru = self.r_new(s, u);
            for &(dr, dc, diag) in neighbours() {
                let Some(v) = self.neighbour(u, dr, dc) else {
                    continue;
                };
                let Some(kv) = local(v) else { continue };
                let rv = self.r_new(s, v);
                if !rv.is_finite() || !self.move_ok(s, u, dr, dc, diag) {
                    continue;
                }
                let nd = d + step_cost(self.cs, diag, ru, rv);
                if nd < dist[kv] {
                    dist[kv] = nd;
                    heap.push((Reverse(nd.to_bits()), kv));
                }
            }
        }
        // Exits to zone cells towards the other patch.
        let mut best = f64::INFINITY;
        for (k, &v) in cells.iter().enumerate() {
            if !dist[k].is_finite() {
                continue;
            }
            let v = v as usize;
            let rv = self.r_new(s, v);
            for &(dr, dc, diag) in neighbours() {
                let Some(w) = self.neighbour(v, dr, dc) else {
                    continue;
                };
                if self.in_site(s, w) || !self.move_ok(s, v, dr, dc, diag) {
                    continue;
                }
                let (Some(z), true) = (zone_lookup(&c.zone, w), self.res[w].is_finite()) else {
                    continue;
                };
                best =
                    best.min(dist[k] + step_cost(self.cs, diag, rv, self.res[w]) + z.cwd_to as f64);
            }
        }
        let drop = c.lcd - best.min(c.lcd);
        if drop > c.lcd * 1e-6 {
            drop
        } else {
            0.0
        }
    }
}
