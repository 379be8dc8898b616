//! Turning a cell mask into polygons (the inverse of burning), as `gdal_polygonize` does with
//! 4-connectivity.
//!
//! Every side between a mask cell and a non-mask cell becomes a directed edge with the mask on
//! its left; edges are chained into rings (at a vertex where two mask cells touch only by a
//! corner, the chain turns left, so diagonal neighbours become separate polygons), collinear
//! vertices are dropped, counter-clockwise rings become exteriors and clockwise rings holes of
//! the smallest exterior that contains them.
//!
//! The result burned back with the cell-centre rule gives exactly the mask (tested).

use std::collections::HashMap;

use geo::{Coord, LineString, MultiPolygon, Polygon};

use crate::grid::Grid;
use crate::raster::Sparse;

/// Polygons covering the cells where `mask(index)` is true.
///
/// # Complexity
/// O(cells) to find the boundary plus O(E) (hashing) to chain its E edges, plus
/// O(holes × exteriors × ring length) to nest holes.
pub fn polygonize(grid: &Grid, mask: impl Fn(usize) -> bool) -> MultiPolygon<f64> {
    let (rows, cols) = (grid.rows(), grid.cols());
    let inside = |r: isize, c: isize| {
        r >= 0
            && c >= 0
            && (r as usize) < rows
            && (c as usize) < cols
            && mask(r as usize * cols + c as usize)
    };
    // Vertices are (row, col) corners; edges keep the mask on their left in map coordinates
    // (y up), i.e. exteriors run counter-clockwise.
    let mut out_edges: HashMap<(u32, u32), Vec<(u32, u32)>> = HashMap::new();
    let mut starts: Vec<(u32, u32)> = Vec::new();
    for r in 0..rows as isize {
        for c in 0..cols as isize {
            if !inside(r, c) {
                continue;
            }
            let (r0, c0, r1, c1) = (r as u32, c as u32, r as u32 + 1, c as u32 + 1);
            let mut add = |a: (u32, u32), b: (u32, u32)| {
                out_edges.entry(a).or_default().push(b);
                starts.push(a);
            };
            if !inside(r, c - 1) {
                add((r0, c0), (r1, c0)); // left side, downwards
            }
            if !inside(r + 1, c) {
                add((r1, c0), (r1, c1)); // bottom, rightwards
            }
            if !inside(r, c + 1) {
                add((r1, c1), (r0, c1)); // right side, upwards
            }
            if !inside(r - 1, c) {
                add((r0, c1), (r0, c0)); // top, leftwards
            }
        }
    }
    let mut rings: Vec<Vec<(u32, u32)>> = Vec::new();
    for &start in &starts {
        let Some(first) = out_edges.get_mut(&start).and_then(|v| v.pop()) else {
            continue;
        };
        let mut ring = vec![start];
        let (mut prev, mut cur) = (start, first);
        while cur != start {
            ring.push(cur);
            let outs = out_edges
                .get_mut(&cur)
                .expect("every boundary vertex has an outgoing edge");
            let next = if outs.len() == 1 {
                outs.pop().expect("non-empty")
            } else {
                // A pinch vertex: take the left turn relative to the incoming direction.
                let din = (cur.0 as i64 - prev.0 as i64, cur.1 as i64 - prev.1 as i64);
                let pos = outs
                    .iter()
                    .position(|&n| {
                        let dout = (n.0 as i64 - cur.0 as i64, n.1 as i64 - cur.1 as i64);
                        // In (row, col) with rows growing down, a left turn in map terms has
                        // cross(din, dout) < 0 in (row, col) components.
                        din.0 * dout.1 - din.1 * dout.0 > 0
                    })
                    .unwrap_or(0);
                outs.swap_remove(pos)
            };
            prev = cur;
            cur = next;
        }
        rings.push(simplify(ring));
    }
    // Map coordinates and orientation.
    let (x0, y0, cs) = (grid.origin_x(), grid.origin_y(), grid.cell_size_m());
    let to_ls = |ring: &[(u32, u32)]| -> LineString<f64> {
        let mut pts: Vec<Coord<f64>> = ring
            .iter()
            .map(|&(r, c)| Coord {
                x: x0 + c as f64 * cs,
                y: y0 - r as f64 * cs,
            })
            .collect();
        pts.push(pts[0]);
        LineString::new(pts)
    };
    let signed_area = |ring: &[(u32, u32)]| -> f64 {
        // Shoelace in map orientation (x = col, y = -row).
        let n = ring.len();
        (0..n)
            .map(|i| {
                let (a, b) = (ring[i], ring[(i + 1) % n]);
                (a.1 as f64) * (-(b.0 as f64)) - (b.1 as f64) * (-(a.0 as f64))
            })
            .sum::<f64>()
            / 2.0
    };
    let mut exteriors: Vec<Exterior> = Vec::new();
    let mut holes: Vec<Vec<(u32, u32)>> = Vec::new();
    for ring in rings {
        let a = signed_area(&ring);
        if a > 0.0 {
            exteriors.push((a, ring, Vec::new()));
        } else {
            holes.push(ring);
        }
    }
    for hole in holes {
        // Probe a point a quarter cell to the left of the hole's first edge: that is a mask
        // cell bordering the hole, which lies inside the hole's owner and inside no island
        // nested in the hole, so the smallest exterior containing it is the owner.
        let (a, b) = (hole[0], hole[1]);
        let (mr, mc) = ((a.0 + b.0) as f64 / 2.0, (a.1 + b.1) as f64 / 2.0);
        let (dr, dc) = (b.0 as f64 - a.0 as f64, b.1 as f64 - a.1 as f64);
        let len = (dr * dr + dc * dc).sqrt();
        let probe = (mr - dc / len * 0.25, mc + dr / len * 0.25);
        let owner = exteriors
            .iter()
            .enumerate()
            .filter(|(_, (_, ext, _))| ring_contains(ext, probe))
            .min_by(|x, y| x.1 .0.total_cmp(&y.1 .0))
            .map(|(i, _)| i);
        if let Some(i) = owner {
            exteriors[i].2.push(to_ls(&hole));
        }
    }
    let polys: Vec<Polygon<f64>> = exteriors
        .into_iter()
        .map(|(_, ext, hs)| Polygon::new(to_ls(&ext), hs))
        .collect();
    MultiPolygon::new(polys)
}

/// An exterior ring: its area (cell units), vertices and the holes assigned to it.
type Exterior = (f64, Vec<(u32, u32)>, Vec<LineString<f64>>);

/// Drops vertices where the ring goes straight on.
fn simplify(ring: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    let n = ring.len();
    let dir = |a: (u32, u32), b: (u32, u32)| {
        (
            (b.0 as i64 - a.0 as i64).signum(),
            (b.1 as i64 - a.1 as i64).signum(),
        )
    };
    (0..n)
        .filter(|&i| dir(ring[(i + n - 1) % n], ring[i]) != dir(ring[i], ring[(i + 1) % n]))
        .map(|i| ring[i])
        .collect()
}

/// Even-odd point-in-ring test in (row, col) space.
fn ring_contains(ring: &[(u32, u32)], p: (f64, f64)) -> bool {
    let n = ring.len();
    let mut inside = false;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        let (ar, ac, br, bc) = (a.0 as f64, a.1 as f64, b.0 as f64, b.1 as f64);
        if (ar > p.0) != (br > p.0) {
            let c = ac + (p.0 - ar) * (bc - ac) / (br - ar);
            if p.1 < c {
                inside = !inside;
            }
        }
    }
    inside
}

/// Polygons of every region of an id layer held on its cells (`ids` in `1..=n` on the cells
/// of a region): entry `k` covers the cells with id `k + 1`. Each region is polygonized
/// within its bounding box from a mask of that box, so the cost is one pass over the held
/// cells plus the regions' boxes, and nothing the size of the grid is made.
pub fn regions(grid: &Grid, ids: &Sparse<u32>, n: usize) -> Vec<MultiPolygon<f64>> {
    let cols = grid.cols();
    // (min row, max row, min col, max col) per id.
    let mut bbox = vec![(usize::MAX, 0usize, usize::MAX, 0usize); n];
    for (i, id) in ids.entries() {
        if id == 0 || id as usize > n {
            continue;
        }
        let b = &mut bbox[id as usize - 1];
        let (r, c) = (i / cols, i % cols);
        b.0 = b.0.min(r);
        b.1 = b.1.max(r);
        b.2 = b.2.min(c);
        b.3 = b.3.max(c);
    }
    // One mask buffer for every region's box.
    let mut mask: Vec<bool> = Vec::new();
    bbox.iter()
        .enumerate()
        .map(|(k, &(r0, r1, c0, c1))| {
            if r0 == usize::MAX {
                return MultiPolygon(Vec::new());
            }
            let cs = grid.cell_size_m();
            let sub = Grid::new(
                (r1 - r0 + 1) as u64,
                (c1 - c0 + 1) as u64,
                cs,
                grid.origin_x() + c0 as f64 * cs,
                grid.origin_y() - r0 as f64 * cs,
                grid.crs().clone(),
            )
            .expect("a sub-grid of a valid grid is valid");
            let w = c1 - c0 + 1;
            mask.clear();
            mask.resize(sub.len(), false);
            for r in r0..=r1 {
                let row = r * cols;
                for (i, id) in ids.entries_in(row + c0..row + c1 + 1) {
                    mask[(r - r0) * w + i - row - c0] = id == k as u32 + 1;
                }
            }
            polygonize(&sub, |j| mask[j])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Crs;
    use crate::io::vector::burn_polygons;
    use proptest::prelude::*;

    fn grid(rows: u64, cols: u64) -> Grid {
        Grid::new(
            rows,
            cols,
            30.0,
            500000.0,
            4000000.0,
            Crs::projected_epsg(4545),
        )
        .unwrap()
    }

    fn round_trip(g: &Grid, mask: &[bool]) -> Vec<bool> {
        let mp = polygonize(g, |i| mask[i]);
        let mut out = vec![false; g.len()];
        burn_polygons(g, &mp, |i| {
            assert!(!out[i], "cell {i} burned twice: polygons overlap");
            out[i] = true
        });
        out
    }

    #[test]
    fn a_ring_of_cells_becomes_one_polygon_with_one_hole() {
        let g = grid(5, 5);
        let mask: Vec<bool> = (0..25)
            .map(|i| {
                let (r, c) = (i / 5, i % 5);
                (1..=3).contains(&r) && (1..=3).contains(&c) && !(r == 2 && c == 2)
            })
            .collect();
        let mp = polygonize(&g, |i| mask[i]);
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].interiors().len(), 1);
        assert_eq!(
            mp.0[0].exterior().0.len(),
            5,
            "a square ring keeps only its 4 corners (+ closing point)"
        );
        use geo::Area;
        assert!((mp.unsigned_area() - 8.0 * 900.0).abs() < 1e-6);
        assert_eq!(round_trip(&g, &mask), mask);
    }

    #[test]
    fn diagonal_neighbours_become_separate_polygons() {
        let g = grid(2, 2);
        let mask = vec![true, false, false, true];
        assert_eq!(polygonize(&g, |i| mask[i]).0.len(), 2);
        assert_eq!(round_trip(&g, &mask), mask);
    }

    proptest! {
        #[test]
        fn burning_the_polygons_gives_back_the_mask(bits in proptest::collection::vec(proptest::bool::weighted(0.55), 1..=144), cols in 1usize..12) {
            let rows = bits.len().div_ceil(cols);
            let g = grid(rows as u64, cols as u64);
            let mut mask = bits.clone();
            mask.resize(g.len(), false);
            prop_assert_eq!(round_trip(&g, &mask), mask);
        }

        /// Each region polygonized in its box burns back to exactly its cells on the full grid.
        #[test]
        fn regions_burn_back_to_their_ids(ids in proptest::collection::vec(0u32..4, 1..=120), cols in 1usize..12) {
            let rows = ids.len().div_ceil(cols);
            let g = grid(rows as u64, cols as u64);
            let mut ids = ids.clone();
            ids.resize(g.len(), 0);
            let held = Sparse::from_dense_where(&ids, |v| v != 0);
            let polys = regions(&g, &held, 3);
            prop_assert_eq!(polys.len(), 3);
            for (k, mp) in polys.iter().enumerate() {
                let mut out = vec![false; g.len()];
                burn_polygons(&g, mp, |i| out[i] = true);
                let want: Vec<bool> = ids.iter().map(|&v| v == k as u32 + 1).collect();
                prop_assert_eq!(out, want);
            }
        }
    }
}
