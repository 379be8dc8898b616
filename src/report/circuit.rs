//! The circuit-theory columns of the tables: each corridor's effective resistance and
//! current-flow centrality, each candidate site's pinch current.

use crate::candidates::Candidates;
use crate::io::table::{num, Table};
use crate::raster::SparseF32;

/// Adds `effective_resistance` (of the corridor zone between its patches; `inf` when the zone
/// does not join them) and `current_flow_centrality` (A summed over every pair of patches)
/// to `corridors.csv`, one value per corridor in order.
pub fn join_corridor_circuit(t: &mut Table, resistance: &[f64], centrality: &[f64]) {
    t.header
        .extend(["effective_resistance", "current_flow_centrality"].map(String::from));
    for ((row, &r), &c) in t.rows.iter_mut().zip(resistance).zip(centrality) {
        row.push(if r.is_finite() {
            num(r, 6)
        } else {
            "inf".into()
        });
        row.push(num(c, 6));
    }
}

/// Adds `pinch_current` to `sites.csv`: the mean pinch-point current over each site's cells
/// (A; cells outside every corridor zone count 0).
pub fn join_site_pinch(t: &mut Table, cands: &Candidates, current: &SparseF32) {
    t.header.push("pinch_current".into());
    for (row, mean) in t
        .rows
        .iter_mut()
        .zip(cands.site_means_by(|i| current.get(i)))
    {
        row.push(num(mean, 6));
    }
}
