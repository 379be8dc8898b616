//! Connected-component labelling of a cell mask (4- or 8-connectivity).
//!
//! # Method
//! Two-pass union-find (Rosenfeld & Pfaltz 1966, with path halving): the first pass gives each
//! mask cell the smallest provisional label of its already-visited neighbours and records
//! equivalences; the second replaces provisional labels by final ones. Final labels are
//! 1..=n in the row-major order of each component's first cell, so they do not depend on
//! anything but the mask.
//!
//! # Memory
//! 4 bytes per cell for the labels plus 4 bytes per provisional label.

/// Labels per cell (0 outside the mask) and the number of components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// Component per cell, 1-based; 0 where the mask is false.
    pub ids: Vec<u32>,
    /// Number of components.
    pub count: u32,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

fn union(parent: &mut [u32], a: u32, b: u32) -> u32 {
    let (ra, rb) = (find(parent, a), find(parent, b));
    let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
    parent[hi as usize] = lo;
    lo
}

/// Labels the connected components of `mask` on a `rows × cols` grid.
///
/// # Complexity
/// O(cells · α(cells)).
pub fn label(rows: usize, cols: usize, mask: impl Fn(usize) -> bool, eight: bool) -> Labels {
    label_keyed(rows, cols, |i| mask(i).then_some(0), eight)
}

/// Labels the connected components of the cells with a key, where neighbours join only when
/// their keys are equal (`None` = not in any component). Used to split components by a tiling
/// or by zone membership.
///
/// # Complexity
/// O(cells · α(cells)) plus up to 5 key evaluations per cell.
pub fn label_keyed(
    rows: usize,
    cols: usize,
    key: impl Fn(usize) -> Option<u64>,
    eight: bool,
) -> Labels {
    let mut ids = vec![0u32; rows * cols];
    let mut parent: Vec<u32> = vec![0]; // provisional label 0 unused
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            let Some(k) = key(i) else {
                continue;
            };
            let same = |j: usize| ids[j] != 0 && key(j) == Some(k);
            let mut neigh = [0u32; 4];
            let mut n = 0;
            if c > 0 && same(i - 1) {
                neigh[n] = ids[i - 1];
                n += 1;
            }
            if r > 0 {
                let up = i - cols;
                if same(up) {
                    neigh[n] = ids[up];
                    n += 1;
                }
                if eight {
                    if c > 0 && same(up - 1) {
                        neigh[n] = ids[up - 1];
                        n += 1;
                    }
                    if c + 1 < cols && same(up + 1) {
                        neigh[n] = ids[up + 1];
                        n += 1;
                    }
                }
            }
            if n == 0 {
                let l = parent.len() as u32;
                parent.push(l);
                ids[i] = l;
            } else {
                let mut root = neigh[0];
                for &m in &neigh[1..n] {
                    root = union(&mut parent, root, m);
                }
                ids[i] = find(&mut parent, root);
            }
        }
    }
    // Provisional roots are the smallest label of their set, hence met first in scan order.
    let mut final_id = vec![0u32; parent.len()];
    let mut count = 0u32;
    for p in 1..parent.len() as u32 {
        let root = find(&mut parent, p);
        if root == p {
            count += 1;
            final_id[p as usize] = count;
        } else {
            final_id[p as usize] = final_id[root as usize];
        }
    }
    for id in ids.iter_mut() {
        *id = final_id[*id as usize];
    }
    Labels { ids, count }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn grid(s: &[&str]) -> (usize, usize, Vec<bool>) {
        (
            s.len(),
            s[0].len(),
            s.concat().bytes().map(|b| b == b'#').collect(),
        )
    }

    #[test]
    fn diagonal_cells_join_with_eight_but_not_four_neighbours() {
        let (r, c, m) = grid(&["#..", ".#.", "..#"]);
        assert_eq!(label(r, c, |i| m[i], true).count, 1);
        assert_eq!(label(r, c, |i| m[i], false).count, 3);
    }

    #[test]
    fn a_u_shape_merges_into_one_component_numbered_in_scan_order() {
        let (r, c, m) = grid(&["#.#.#", "#.#.#", "###.#"]);
        let l = label(r, c, |i| m[i], false);
        assert_eq!(l.count, 2);
        assert_eq!(l.ids[0], 1);
        assert_eq!(l.ids[4], 2);
        assert_eq!(l.ids[2], 1);
    }

    #[test]
    fn a_ring_with_a_hole_is_one_component() {
        let (r, c, m) = grid(&["###", "#.#", "###"]);
        let l = label(r, c, |i| m[i], false);
        assert_eq!(l.count, 1);
        assert_eq!(l.ids[4], 0);
    }

    /// Brute force: flood fill from each unlabelled mask cell in scan order.
    fn flood(rows: usize, cols: usize, m: &[bool], eight: bool) -> Vec<u32> {
        let mut ids = vec![0u32; m.len()];
        let mut next = 0;
        for s in 0..m.len() {
            if !m[s] || ids[s] != 0 {
                continue;
            }
            next += 1;
            let mut stack = vec![s];
            ids[s] = next;
            while let Some(i) = stack.pop() {
                let (r, c) = ((i / cols) as i64, (i % cols) as i64);
                for dr in -1..=1i64 {
                    for dc in -1..=1i64 {
                        if (dr, dc) == (0, 0) || (!eight && dr != 0 && dc != 0) {
                            continue;
                        }
                        let (nr, nc) = (r + dr, c + dc);
                        if nr < 0 || nc < 0 || nr >= rows as i64 || nc >= cols as i64 {
                            continue;
                        }
                        let j = nr as usize * cols + nc as usize;
                        if m[j] && ids[j] == 0 {
                            ids[j] = next;
                            stack.push(j);
                        }
                    }
                }
            }
        }
        ids
    }

    proptest! {
        #[test]
        fn labels_match_a_flood_fill(bits in proptest::collection::vec(proptest::bool::weighted(0.55), 1..=400), cols in 1usize..25, eight: bool) {
            let rows = bits.len().div_ceil(cols);
            let mut m = bits.clone();
            m.resize(rows * cols, false);
            let l = label(rows, cols, |i| m[i], eight);
            let f = flood(rows, cols, &m, eight);
            prop_assert_eq!(l.count, f.iter().copied().max().unwrap_or(0));
            prop_assert_eq!(l.ids, f);
        }
    }
}
