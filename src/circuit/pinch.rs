//! Pinch points and centrality of a corridor network (Linkage Mapper's Pinchpoint and
//! Centrality Mappers, with Circuitscape's conventions of [`super`]).
//!
//! - **Pinch points**: for each corridor, 1 A between its two patches through its corridor
//!   zone only (cells with NLCC <= width, plus the two patches, each shorted): where the
//!   current is high, the corridor's movement is funnelled through few cells. Per cell the
//!   largest current over corridors (A, i.e. the share of that corridor's flow through the
//!   cell), and the same divided by its corridor's largest current (0-1, the corridor's own
//!   worst pinch = 1). Each corridor also gets its zone's effective resistance.
//! - **Current-flow centrality** of each link of the patch network: the current it carries,
//!   summed over every pair of patches with 1 A between them, links being resistors of their
//!   least-cost distance (Linkage Mapper's default link weight).
//!
//! # Work and memory
//! One linear system per corridor, over its zone's cells (the patches are one node each),
//! solved as [`Method::Auto`] chooses: zones up to
//! [`crate::linsolve::AUTO_DIRECT_NODES`] cells by a sparse
//! factor (sequential), several corridors at once; larger zones by AMG-preconditioned
//! conjugate gradients, one zone at a time with every thread on it (so one large zone's
//! solver, at most ~110 bytes per zone cell plus ~70 per cell of the zone's bounding box
//! ([`crate::linsolve::AMG_BYTES`]), is held at a time). Corridors go in groups, each group's
//! results merged by a maximum (exact, so the result does not depend on the order or the
//! thread count). Per corridor, the bounding box of its zone and patches is held as 20 bytes
//! per cell while it is solved.

use rayon::prelude::*;

use super::{pairwise, CircuitError, CircuitOptions, Network};
use crate::corridors::Corridor;
use crate::linsolve::{Cholesky, Method};
use crate::raster::SparseF32;

/// Pinch points of a corridor network.
#[derive(Debug, Clone, PartialEq)]
pub struct PinchPoints {
    /// Per corridor (in the network's order): the effective resistance of its zone between
    /// its two patches (`+inf` when the zone does not join them).
    pub resistance: Vec<f64>,
    /// Per cell: the largest current over corridors, A (NaN outside every corridor zone and
    /// on the patches). Held for the zone cells only (8 bytes each), as are the normalized
    /// currents: the zones cover a small part of a landscape (8.1% of the city cluster), and
    /// the two grids, 8 bytes per cell, lived from this stage to the outputs.
    pub current: SparseF32,
    /// Per cell: the largest current divided by its corridor's largest current, 0-1.
    pub normalized: SparseF32,
    /// Nodes solved in all (zone cells, patches counted once per corridor).
    pub nodes: usize,
    /// Corridor zones solved by AMG-preconditioned conjugate gradients (the others by a sparse
    /// factor).
    pub iterative: usize,
}

/// Cells of each patch id (row-major, ascending), from the patch id raster.
fn patch_cells(ids: &[u32]) -> std::collections::BTreeMap<u32, Vec<u32>> {
    let mut out: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for (i, &id) in ids.iter().enumerate() {
        if id != 0 {
            out.entry(id).or_default().push(i as u32);
        }
    }
    out
}

/// One corridor's zone circuit: its effective resistance, its current per zone cell, the
/// number of nodes and whether AMG solved it.
type ZoneCircuit = (f64, Vec<(u32, f32)>, usize, bool);

/// One corridor's zone circuit (see [`ZoneCircuit`]).
fn corridor_circuit(
    cols: usize,
    res: &[f32],
    patches: &std::collections::BTreeMap<u32, Vec<u32>>,
    c: &Corridor,
    opts: CircuitOptions,
) -> Result<ZoneCircuit, CircuitError> {
    let empty = Vec::new();
    let (pa, pb) = (
        patches.get(&c.from).unwrap_or(&empty),
        patches.get(&c.to).unwrap_or(&empty),
    );
    let all = c
        .zone
        .iter()
        .map(|z| z.cell)
        .chain(pa.iter().copied())
        .chain(pb.iter().copied());
    let (mut r0, mut r1, mut c0, mut c1) = (usize::MAX, 0, usize::MAX, 0);
    for cell in all {
        let (r, cc) = (cell as usize / cols, cell as usize % cols);
        (r0, r1, c0, c1) = (r0.min(r), r1.max(r), c0.min(cc), c1.max(cc));
    }
    if r0 > r1 {
        return Ok((f64::INFINITY, Vec::new(), 0, false));
    }
    let (h, w) = (r1 - r0 + 1, c1 - c0 + 1);
    let local = |cell: u32| {
        let (r, cc) = (cell as usize / cols, cell as usize % cols);
        (r - r0) * w + (cc - c0)
    };
    let mut lres = vec![f32::NAN; h * w];
    let mut lreg = vec![0u32; h * w];
    for z in &c.zone {
        lres[local(z.cell)] = res[z.cell as usize];
    }
    for (id, cells) in [(1u32, pa), (2, pb)] {
        for &cell in cells {
            lres[local(cell)] = res[cell as usize];
            lreg[local(cell)] = id;
        }
    }
    let net = match Network::new((h, w), &lres, &lreg, opts) {
        Ok(n) => n,
        // A patch without a usable cell carries no current.
        Err(CircuitError::RegionOnNodata(_)) => return Ok((f64::INFINITY, Vec::new(), 0, false)),
        Err(e) => return Err(e),
    };
    if net.region_ids().len() < 2 {
        return Ok((f64::INFINITY, Vec::new(), net.nodes(), false));
    }
    let p = pairwise(&net, &[(1, 2)], true)?;
    let mut out = Vec::with_capacity(c.zone.len());
    for z in &c.zone {
        let v = p.current[local(z.cell)];
        if v.is_finite() {
            out.push((z.cell, v as f32));
        }
    }
    Ok((
        p.pairs[0].resistance,
        out,
        net.nodes(),
        p.method == Method::Amg,
    ))
}

/// Pinch points of `corridors` (built with their zone cells) on the resistance surface `res`
/// with patch ids `patch_ids` (0 = none), both row-major on a rows x cols grid.
///
/// # Errors
/// The solver's errors.
pub fn pinch_points(
    (rows, cols): (usize, usize),
    res: &[f32],
    patch_ids: &[u32],
    corridors: &[Corridor],
    opts: CircuitOptions,
) -> Result<PinchPoints, CircuitError> {
    let patches = patch_cells(patch_ids);
    let mut current = vec![f32::NAN; rows * cols];
    let mut normalized = vec![f32::NAN; rows * cols];
    let mut resistance = Vec::with_capacity(corridors.len());
    let mut nodes = 0;
    // Zones the solver choice may send to AMG (internally parallel) run one at a time; a
    // zone's system has at most its cells + 1 unknowns (two shorted patches, one grounded).
    let large = |c: &Corridor| opts.solver.resolve(c.zone.len() + 1) == Method::Amg;
    let mut iterative = 0;
    // Groups of corridors; a group's currents are merged (in corridor order) before the next
    // starts.
    let group = rayon::current_num_threads().max(1) * 4;
    for chunk in corridors.chunks(group) {
        let mut results: Vec<Option<ZoneCircuit>> = chunk
            .par_iter()
            .map(|c| {
                (!large(c))
                    .then(|| corridor_circuit(cols, res, &patches, c, opts))
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        for (slot, c) in results.iter_mut().zip(chunk) {
            if large(c) {
                *slot = Some(corridor_circuit(cols, res, &patches, c, opts)?);
            }
        }
        let results = results.into_iter().flatten();
        for (r, cells, n, amg) in results {
            resistance.push(r);
            nodes += n;
            iterative += usize::from(amg);
            let top = cells.iter().fold(0f32, |m, &(_, v)| m.max(v));
            for (cell, v) in cells {
                let i = cell as usize;
                if current[i].is_nan() || current[i] < v {
                    current[i] = v;
                }
                let q = if top > 0.0 { v / top } else { 0.0 };
                if normalized[i].is_nan() || normalized[i] < q {
                    normalized[i] = q;
                }
            }
        }
    }
    for (i, &id) in patch_ids.iter().enumerate() {
        if id != 0 {
            current[i] = f32::NAN;
            normalized[i] = f32::NAN;
        }
    }
    let current = SparseF32::from_dense(&std::mem::take(&mut current));
    let normalized = SparseF32::from_dense(&std::mem::take(&mut normalized));
    Ok(PinchPoints {
        resistance,
        current,
        normalized,
        nodes,
        iterative,
    })
}

/// Current-flow centrality of each link of a graph of `n` nodes: the current it carries
/// (A), summed over every unordered pair of nodes in one connected part with 1 A between
/// them; `links` are (node, node, resistance > 0). O(n^2) memory (the grounded Laplacian's
/// inverse) and O(m n log n) time.
///
/// # Errors
/// The solver's errors (a resistance that is not a positive finite number).
pub fn link_centrality(n: usize, links: &[(usize, usize, f64)]) -> Result<Vec<f64>, CircuitError> {
    // Connected parts; each grounded at its first node.
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for &(a, b, _) in links {
        let (x, y) = (find(&mut parent, a), find(&mut parent, b));
        if x != y {
            parent[x.max(y)] = x.min(y);
        }
    }
    let part: Vec<usize> = (0..n).map(|v| find(&mut parent, v)).collect();
    let mut row = vec![usize::MAX; n];
    let mut m = 0;
    for v in 0..n {
        if part[v] != v {
            row[v] = m;
            m += 1;
        }
    }
    let mut diag = vec![0.0; m];
    let mut entries = Vec::new();
    for &(a, b, r) in links {
        if a == b {
            continue;
        }
        let g = 1.0 / r;
        let (ra, rb) = (row[a], row[b]);
        if ra != usize::MAX {
            diag[ra] += g;
        }
        if rb != usize::MAX {
            diag[rb] += g;
        }
        if ra != usize::MAX && rb != usize::MAX {
            entries.push((ra.max(rb) as u32, ra.min(rb) as u32, -g));
        }
    }
    entries.extend(
        diag.iter()
            .enumerate()
            .map(|(k, &d)| (k as u32, k as u32, d)),
    );
    let chol = Cholesky::factor(m, &entries)?;
    // G = inverse of the grounded Laplacian, column by column (grounds are 0).
    let mut inv = vec![0.0; m * m];
    for k in 0..m {
        inv[k * m + k] = 1.0;
    }
    chol.solve(&mut inv, m);
    let g_at = |s: usize, v: usize| -> f64 {
        match (row[s], row[v]) {
            (rs, rv) if rs != usize::MAX && rv != usize::MAX => inv[rs * m + rv],
            _ => 0.0,
        }
    };
    // For a link (a, b) and 1 A from s to t, its current is |w_s - w_t| / r with
    // w_s = G_sa - G_sb; summed over the pairs of a part by sorting w (no pair loop).
    let members: std::collections::BTreeMap<usize, Vec<usize>> =
        (0..n).fold(Default::default(), |mut acc, v| {
            acc.entry(part[v]).or_insert_with(Vec::new).push(v);
            acc
        });
    let out = links
        .par_iter()
        .map(|&(a, b, r)| {
            if a == b {
                return 0.0;
            }
            let mut w: Vec<f64> = members[&part[a]]
                .iter()
                .map(|&s| g_at(s, a) - g_at(s, b))
                .collect();
            w.sort_by(f64::total_cmp);
            let len = w.len() as f64;
            let sum: f64 = w
                .iter()
                .enumerate()
                .map(|(k, &x)| x * (2.0 * k as f64 - (len - 1.0)))
                .sum();
            sum / r
        })
        .collect();
    Ok(out)
}
