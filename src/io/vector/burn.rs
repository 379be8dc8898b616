//! Burning polygons onto the run's grid.
//!
//! # Rasterization rule
//! A cell belongs to a polygon when its **centre** lies inside the polygon: inside the exterior
//! ring and outside every hole (even-odd rule per polygon; the parts of a MultiPolygon are
//! burned one by one, so they unite). A centre exactly on an edge counts as inside when the
//! polygon lies to its right (half-open intervals `[x_in, x_out)` along each row), so two
//! polygons sharing an edge never both claim a cell. This is the rule of `gdal_rasterize`
//! without `-at`. The burn is a scanline fill: every edge contributes one crossing per cell
//! row it spans, so the cost is linear in edges + crossings + burned cells.

use geo::MultiPolygon;

use crate::grid::Grid;

/// Calls `burn(cell_index)` for every cell of `grid` whose centre lies inside `geometry`
/// (see the module's rasterization rule). Each cell is visited at most once per polygon part.
///
/// # Complexity
/// O(E + C log C + B) for E edges, C row crossings and B burned cells.
pub fn burn_polygons(grid: &Grid, geometry: &MultiPolygon<f64>, mut burn: impl FnMut(usize)) {
    let (rows, cols) = (grid.rows() as i64, grid.cols() as i64);
    let (x0, y0, cs) = (grid.origin_x(), grid.origin_y(), grid.cell_size_m());
    let mut crossings: Vec<(u32, f64)> = Vec::new();
    for poly in geometry {
        crossings.clear();
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for line in ring.lines() {
                let (a, b) = (line.start, line.end);
                if a.y == b.y {
                    continue;
                }
                let (ylo, yhi) = if a.y < b.y { (a.y, b.y) } else { (b.y, a.y) };
                // Rows whose centre y_r satisfies ylo <= y_r < yhi, found approximately then tested exactly.
                // Clamped in f64 before the cast: far-away coordinates must not overflow.
                let r_first = ((y0 - yhi) / cs - 0.5).floor().max(0.0).min(rows as f64) as i64;
                let r_last = (((y0 - ylo) / cs - 0.5).floor() + 1.0)
                    .min((rows - 1) as f64)
                    .max(-1.0) as i64;
                for r in r_first..=r_last {
                    let yr = y0 - (r as f64 + 0.5) * cs;
                    if ylo <= yr && yr < yhi {
                        let x = a.x + (yr - a.y) * (b.x - a.x) / (b.y - a.y);
                        crossings.push((r as u32, x));
                    }
                }
            }
        }
        crossings.sort_unstable_by(|p, q| p.0.cmp(&q.0).then(p.1.total_cmp(&q.1)));
        for pair in crossings.chunks_exact(2) {
            let (r, xa) = pair[0];
            let (r2, xb) = pair[1];
            debug_assert_eq!(r, r2, "closed rings cross each row an even number of times");
            if r != r2 {
                continue;
            }
            // Centres x_c = x0 + (c + 0.5) cs with xa <= x_c < xb.
            let c_first = ((xa - x0) / cs - 0.5).ceil().max(0.0).min(cols as f64) as i64;
            let c_end = ((xb - x0) / cs - 0.5).ceil().min(cols as f64).max(0.0) as i64;
            let base = r as usize * cols as usize;
            for c in c_first..c_end {
                burn(base + c as usize);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Crs;
    use geo::{polygon, Contains, Point, Polygon};
    use proptest::prelude::*;

    fn grid(rows: u64, cols: u64) -> Grid {
        Grid::new(rows, cols, 10.0, 1000.0, 2000.0, Crs::projected_epsg(4545)).unwrap()
    }

    fn burned(grid: &Grid, mp: &MultiPolygon<f64>) -> Vec<u8> {
        let mut out = vec![0u8; grid.len()];
        burn_polygons(grid, mp, |i| out[i] += 1);
        out
    }

    #[test]
    fn a_vertex_far_outside_the_grid_still_burns_the_cells_inside() {
        // Found by fuzzing: y = -2.2e22 overflowed the row range (i64) and the polygon burned
        // nothing. A triangle reaching far south still covers the grid's left column band.
        let g = grid(6, 6);
        let p = polygon!(
            exterior: [(x: 1000.0, y: 2000.0), (x: 1030.0, y: 2000.0), (x: 1030.0, y: -2.2e22), (x: 1000.0, y: -2.2e22)],
            interiors: [],
        );
        let out = burned(&g, &MultiPolygon::new(vec![p]));
        for r in 0..6 {
            assert_eq!(&out[r * 6..r * 6 + 6], &[1, 1, 1, 0, 0, 0], "row {r}");
        }
    }

    #[test]
    fn a_square_with_a_hole_burns_the_ring_of_cells_around_it() {
        let g = grid(6, 6);
        // Outer: cells 1..5 in both directions; hole: cells 2..4.
        let p = polygon!(
            exterior: [(x: 1010.0, y: 1990.0), (x: 1050.0, y: 1990.0), (x: 1050.0, y: 1950.0), (x: 1010.0, y: 1950.0)],
            interiors: [[(x: 1020.0, y: 1980.0), (x: 1040.0, y: 1980.0), (x: 1040.0, y: 1960.0), (x: 1020.0, y: 1960.0)]],
        );
        let out = burned(&g, &MultiPolygon::new(vec![p]));
        let expect: Vec<u8> = ["000000", "011110", "010010", "010010", "011110", "000000"]
            .concat()
            .bytes()
            .map(|b| b - b'0')
            .collect();
        assert_eq!(out, expect);
    }

    #[test]
    fn polygons_sharing_an_edge_never_both_claim_a_cell() {
        let g = grid(4, 4);
        let left = polygon![(x: 1000.0, y: 2000.0), (x: 1020.0, y: 2000.0), (x: 1020.0, y: 1960.0), (x: 1000.0, y: 1960.0)];
        // The shared edge x = 1015 passes through cell centres of column 1.
        let l2 = polygon![(x: 1000.0, y: 2000.0), (x: 1015.0, y: 2000.0), (x: 1015.0, y: 1960.0), (x: 1000.0, y: 1960.0)];
        let r2 = polygon![(x: 1015.0, y: 2000.0), (x: 1040.0, y: 2000.0), (x: 1040.0, y: 1960.0), (x: 1015.0, y: 1960.0)];
        let mut count = vec![0u8; g.len()];
        burn_polygons(&g, &MultiPolygon::new(vec![l2]), |i| count[i] += 1);
        burn_polygons(&g, &MultiPolygon::new(vec![r2]), |i| count[i] += 1);
        assert!(count.iter().all(|&c| c == 1), "{count:?}");
        assert_eq!(
            burned(&g, &MultiPolygon::new(vec![left]))
                .iter()
                .filter(|&&v| v == 1)
                .count(),
            8
        );
    }

    #[test]
    fn polygons_beyond_the_grid_are_clipped() {
        let g = grid(3, 3);
        let p = polygon![(x: 900.0, y: 2100.0), (x: 2000.0, y: 2100.0), (x: 2000.0, y: 1000.0), (x: 900.0, y: 1000.0)];
        assert_eq!(burned(&g, &MultiPolygon::new(vec![p])), vec![1; 9]);
    }

    proptest! {
        #[test]
        fn burning_matches_point_in_polygon_at_every_cell_centre(
            n in 6usize..14,
            radii in proptest::collection::vec(40.0f64..95.0, 14),
            jitter in proptest::collection::vec(-0.4f64..0.4, 14),
            centre in (1080.0f64..1120.0, 1880.0f64..1920.0),
            hole in proptest::option::of(3.0f64..12.0),
        ) {
            let g = grid(20, 20);
            // A star-shaped ring with evenly spread angles contains the disk of half its smallest
            // radius, so a hole of half-side < 0.35 x 40 m around the centre is inside it.
            let step = std::f64::consts::TAU / n as f64;
            let ext: Vec<(f64, f64)> = (0..n)
                .map(|k| {
                    let a = (k as f64 + jitter[k]) * step;
                    (centre.0 + radii[k] * a.cos(), centre.1 + radii[k] * a.sin())
                })
                .collect();
            let holes = match hole {
                Some(r) => vec![geo::LineString::from(vec![
                    (centre.0 - r, centre.1 - r), (centre.0 + r, centre.1 - r),
                    (centre.0 + r, centre.1 + r), (centre.0 - r, centre.1 + r),
                ])],
                None => vec![],
            };
            let poly = Polygon::new(geo::LineString::from(ext), holes);
            let out = burned(&g, &MultiPolygon::new(vec![poly.clone()]));
            for r in 0..g.rows() {
                for c in 0..g.cols() {
                    let (x, y) = g.cell_center(r, c);
                    let inside = poly.contains(&Point::new(x, y));
                    prop_assert_eq!(out[r * g.cols() + c] == 1, inside, "cell ({}, {})", r, c);
                }
            }
        }
    }
}
