//! Connectivity of the ecological network: landscape indices and the importance of every
//! patch and corridor.
//!
//! # Input
//! Nodes with an attribute `a_i` (patch area in ha, or another weight), undirected links with
//! their least-cost distance (resistance × m), the landscape area `A_L` (ha) and the median
//! dispersal distance `d50` (cost units).
//!
//! # Output
//! [`Indices`] (IIC, PC, ECA) and per node and per link the percentage loss when it is removed
//! (dIIC, dPC with PC's intra / flux / connector fractions), shortest-path betweenness on the
//! LCD graph and, per link, the gravity model.
//!
//! # Method
//! Conefor's definitions (Pascual-Hortal & Saura 2006; Saura & Pascual-Hortal 2007; Saura &
//! Rubio 2010):
//! - `IIC = Σ_i Σ_j a_i a_j / (1 + nl_ij) / A_L²`, `nl_ij` the number of links on the
//!   topological shortest path (pairs in different components contribute 0);
//! - `PC = Σ_i Σ_j a_i a_j p*_ij / A_L²`, `p_ij = exp(-k · LCD_ij)` with `k = ln 2 / d50`
//!   (p = 0.5 at d50), `p*_ij` the maximum product of probabilities over all paths, found as
//!   the shortest path with link weights `k · LCD`; `p*_ii = 1`;
//! - `ECA = sqrt(PC · A_L²)` (ha);
//! - `dX_k = 100 (X − X_without_k) / X`; removing a node removes its attribute and links;
//!   `dPC_k = intra + flux + connector` with `intra = 100 a_k² / PCnum`,
//!   `flux = 100 · 2 Σ_{j≠k} a_k a_j p*_kj / PCnum` and `connector` the rest;
//! - gravity `G_ij = N_i N_j / (LCD_ij / LCD_max)²`, `N_i = ln(S_i) / P_i` with `S_i` the patch
//!   area in m² and `P_i` its mean resistance (Kong et al. 2010).
//!
//! Removals are exact and cheap: removing node k changes only the distance rows of sources
//! whose shortest-path tree passes through k (removing a link: whose tree uses it), so only
//! those rows are recomputed, in parallel over removals.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rayon::prelude::*;

/// The patch graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Attribute per node (ha).
    pub attr: Vec<f64>,
    /// Links (node, node, LCD); node indices into `attr`.
    pub links: Vec<(usize, usize, f64)>,
}

/// Landscape-level indices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Indices {
    /// Integral index of connectivity.
    pub iic: f64,
    /// Probability of connectivity.
    pub pc: f64,
    /// Equivalent connected area, ha.
    pub eca_ha: f64,
    /// `Σ Σ a_i a_j p*_ij` (ha²).
    pub pc_num: f64,
    /// `Σ Σ a_i a_j / (1 + nl_ij)` (ha²).
    pub iic_num: f64,
}

/// Importance of a node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeImportance {
    /// dIIC, %.
    pub d_iic: f64,
    /// dPC, %.
    pub d_pc: f64,
    /// dPC intra fraction, %.
    pub d_pc_intra: f64,
    /// dPC flux fraction, %.
    pub d_pc_flux: f64,
    /// dPC connector fraction, %.
    pub d_pc_connector: f64,
    /// Shortest-path betweenness on the LCD graph (ordered pairs of other nodes whose
    /// shortest paths pass through the node, shared among equal paths).
    pub betweenness: f64,
}

/// Importance of a link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkImportance {
    /// dIIC, %.
    pub d_iic: f64,
    /// dPC, % (all of it is connector fraction).
    pub d_pc: f64,
}

/// Why the network cannot be analysed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NetworkError {
    /// Bad input, with the fix.
    #[error("{0}")]
    Input(String),
}

/// Checks the graph and parameters.
pub fn check(g: &Graph, landscape_area_ha: f64, d50: f64) -> Result<(), NetworkError> {
    let e = |m: String| Err(NetworkError::Input(m));
    if g.attr.is_empty() {
        return e("the network has no patch".into());
    }
    if !(d50.is_finite() && d50 > 0.0) {
        return e(format!("d50 = {d50}: the median dispersal distance must be a cost distance > 0 (resistance x m)"));
    }
    if let Some((i, a)) = g
        .attr
        .iter()
        .enumerate()
        .find(|(_, a)| !(a.is_finite() && **a >= 0.0))
    {
        return e(format!(
            "patch {} has attribute {a}; areas must be finite and >= 0 ha",
            i + 1
        ));
    }
    let total: f64 = g.attr.iter().sum();
    if !(landscape_area_ha.is_finite() && landscape_area_ha >= total && landscape_area_ha > 0.0) {
        return e(format!("landscape area {landscape_area_ha} ha is smaller than the patches' total {total:.2} ha; give the whole study area (A_L)"));
    }
    for &(a, b, d) in &g.links {
        if a >= g.attr.len() || b >= g.attr.len() {
            return e(format!(
                "a link names patch {} which is not in the patch list",
                a.max(b) + 1
            ));
        }
        if !(d.is_finite() && d > 0.0) {
            return e(format!("the link between patches {} and {} has distance {d}; distances must be finite and > 0", a + 1, b + 1));
        }
        if a == b {
            return e(format!("patch {} is linked to itself", a + 1));
        }
    }
    Ok(())
}

struct Adjacency {
    /// (neighbour, weight, link index) per node.
    adj: Vec<Vec<(usize, f64, usize)>>,
}

impl Adjacency {
    fn new(g: &Graph, weight: impl Fn(f64) -> f64) -> Adjacency {
        let mut adj = vec![Vec::new(); g.attr.len()];
        for (l, &(a, b, d)) in g.links.iter().enumerate() {
            adj[a].push((b, weight(d), l));
            adj[b].push((a, weight(d), l));
        }
        for v in &mut adj {
            v.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)).then(x.2.cmp(&y.2)));
        }
        Adjacency { adj }
    }
}

/// Single-source shortest paths skipping a removed node or link; returns distances and, per
/// node, the link by which the shortest-path tree reaches it (usize::MAX for none).
fn sssp(
    adj: &Adjacency,
    s: usize,
    skip_node: Option<usize>,
    skip_link: Option<usize>,
) -> (Vec<f64>, Vec<usize>) {
    let n = adj.adj.len();
    let mut dist = vec![f64::INFINITY; n];
    let mut via = vec![usize::MAX; n];
    if Some(s) == skip_node {
        return (dist, via);
    }
    dist[s] = 0.0;
    let mut heap = BinaryHeap::new();
    heap.push(Reverse((0u64, s)));
    while let Some(Reverse((bits, u))) = heap.pop() {
        let d = f64::from_bits(bits);
        if d > dist[u] {
            continue;
        }
        for &(v, w, l) in &adj.adj[u] {
            if Some(v) == skip_node || Some(l) == skip_link {
                continue;
            }
            let nd = d + w;
            if nd < dist[v] {
                dist[v] = nd;
                via[v] = l;
                heap.push(Reverse((nd.to_bits(), v)));
            }
        }
    }
    (dist, via)
}

/// Everything the network stage computes.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkResult {
    /// Landscape indices.
    pub indices: Indices,
    /// Per node, in the graph's order.
    pub nodes: Vec<NodeImportance>,
    /// Per link, in the graph's order.
    pub links: Vec<LinkImportance>,
    /// Gravity per link (needs mean resistance and area per node; None when not given).
    pub gravity: Option<Vec<f64>>,
}

/// The landscape indices only (IIC, PC, ECA), without the removals: O(n · m log n).
///
/// # Errors
/// As [`analyse`].
pub fn indices(g: &Graph, landscape_area_ha: f64, d50: f64) -> Result<Indices, NetworkError> {
    check(g, landscape_area_ha, d50)?;
    let n = g.attr.len();
    let k = std::f64::consts::LN_2 / d50;
    let adj = Adjacency::new(g, |d| k * d);
    let unit = Adjacency::new(g, |_| 1.0);
    let (pc_num, iic_num) = (0..n)
        .into_par_iter()
        .map(|s| {
            let (tp, ti) = (Tree::build(&adj, s), Tree::build(&unit, s));
            (0..n).fold((0.0, 0.0), |(p, i), t| {
                let a = g.attr[s] * g.attr[t];
                let h = ti.dist[t];
                (
                    p + a * (-tp.dist[t]).exp(),
                    i + if h.is_finite() { a / (1.0 + h) } else { 0.0 },
                )
            })
        })
        .collect::<Vec<(f64, f64)>>()
        .into_iter()
        .fold((0.0, 0.0), |(a, b), (c, d)| (a + c, b + d));
    let al2 = landscape_area_ha * landscape_area_ha;
    Ok(Indices {
        iic: iic_num / al2,
        pc: pc_num / al2,
        eca_ha: pc_num.sqrt(),
        pc_num,
        iic_num,
    })
}

/// Computes indices and importances.
///
/// `mean_resistance` (per node) enables the gravity model.
///
/// # Errors
/// [`NetworkError`] for unknown patches in links, distances <= 0, d50 <= 0, a landscape area
/// smaller than the patches.
///
/// # Complexity
/// O(n · m log n) for the base rows and betweenness, plus per removal O(r · m log n) with r the
/// number of sources whose shortest-path tree uses the removed element.
pub fn analyse(
    g: &Graph,
    landscape_area_ha: f64,
    d50: f64,
    mean_resistance: Option<&[f64]>,
) -> Result<NetworkResult, NetworkError> {
    check(g, landscape_area_ha, d50)?;
    let n = g.attr.len();
    let k = std::f64::consts::LN_2 / d50;
    let adj = Adjacency::new(g, |d| k * d);
    // Per source: the weighted shortest-path tree (PC) and the BFS tree (IIC).
    let unit = Adjacency::new(g, |_| 1.0);
    let trees: Vec<(Tree, Tree)> = (0..n)
        .into_par_iter()
        .map(|s| (Tree::build(&adj, s), Tree::build(&unit, s)))
        .collect();
    let value_pc = |d: f64| (-d).exp();
    let value_iic = |h: f64| if h.is_finite() { 1.0 / (1.0 + h) } else { 0.0 };
    let row = |s: usize, tree: &Tree, value: &dyn Fn(f64) -> f64| -> f64 {
        (0..n)
            .map(|t| g.attr[s] * g.attr[t] * value(tree.dist[t]))
            .sum()
    };
    let rows_pc: Vec<f64> = (0..n).map(|s| row(s, &trees[s].0, &value_pc)).collect();
    let rows_iic: Vec<f64> = (0..n).map(|s| row(s, &trees[s].1, &value_iic)).collect();
    let pc_num: f64 = rows_pc.iter().sum();
    let iic_num: f64 = rows_iic.iter().sum();
    let al2 = landscape_area_ha * landscape_area_ha;
    let indices = Indices {
        iic: iic_num / al2,
        pc: pc_num / al2,
        eca_ha: pc_num.sqrt(),
        pc_num,
        iic_num,
    };
    let pct = |x: f64, without: f64| {
        if x > 0.0 {
            100.0 * (x - without) / x
        } else {
            0.0
        }
    };
    let removed = removals(
        g,
        (&adj, &unit),
        &trees,
        (&rows_pc, &rows_iic),
        value_pc,
        value_iic,
    );
    let nodes: Vec<NodeImportance> = (0..n)
        .into_par_iter()
        .map(|v| {
            let [pc2, iic2] = removed.nodes[v];
            let d_pc = pct(pc_num, pc2);
            // With every attribute 0 there is no connectivity to lose: all fractions are 0.
            let share = |x: f64| {
                if pc_num > 0.0 {
                    100.0 * x / pc_num
                } else {
                    0.0
                }
            };
            let intra = share(g.attr[v] * g.attr[v]);
            let flux = share(
                2.0 * (0..n)
                    .filter(|&j| j != v)
                    .map(|j| g.attr[v] * g.attr[j] * value_pc(trees[v].0.dist[j]))
                    .sum::<f64>(),
            );
            NodeImportance {
                d_iic: pct(iic_num, iic2),
                d_pc,
                d_pc_intra: intra,
                d_pc_flux: flux,
                d_pc_connector: d_pc - intra - flux,
                betweenness: 0.0,
            }
        })
        .collect();
    let links: Vec<LinkImportance> = removed
        .links
        .iter()
        .map(|&[pc2, iic2]| LinkImportance {
            d_iic: pct(iic_num, iic2),
            d_pc: pct(pc_num, pc2),
        })
        .collect();
    let mut nodes = nodes;
    for (v, b) in betweenness(g).into_iter().enumerate() {
        nodes[v].betweenness = b;
    }
    let gravity = mean_resistance.map(|p| {
        let lmax = g.links.iter().map(|l| l.2).fold(0.0, f64::max);
        let nv = |i: usize| (g.attr[i] * 10_000.0).max(1.0).ln() / p[i].max(f64::MIN_POSITIVE);
        g.links
            .iter()
            .map(|&(a, b, d)| nv(a) * nv(b) / (d / lmax).powi(2))
            .collect()
    });
    Ok(NetworkResult {
        indices,
        nodes,
        links,
        gravity,
    })
}

/// The rise in PC when single links get shorter, each on its own (the others as they are).
///
/// For one link `(a, b)` whose LCD drops to `x`, the new maximum-product distances are
/// exactly `d'(s, t) = min(d(s, t), d(s, a) + k x + d(b, t), d(s, b) + k x + d(a, t))` (a
/// shortest path uses the link at most once, and its two other parts avoid it), with `d` the
/// distances in `k · LCD` of the graph as it is. So one all-pairs computation serves every
/// link: O(n · m log n) once, then per query O(n) to find the sources and targets the
/// shorter link can serve and O(|S₁|·|T₁| + |S₂|·|T₂|) for their pairs (below), pairs that
/// cannot improve skipped before any `exp`.
///
/// Which pairs can improve: going `a → b` over the link helps `(s, t)` only if it helps
/// both ends, `d(s, a) + kx < d(s, b)` (s in S₁) and `kx + d(b, t) < d(a, t)` (t in T₁), by
/// the triangle inequality of `d` through `b` and through `a`; `b → a` likewise (S₂, T₂).
/// The sets are taken with a margin of `1e-9 · (1 + largest finite distance)`, far above
/// the rounding of the sums (relative `n · 2⁻⁵³`), so no improving pair is missed; each
/// source's targets are visited in ascending order and a source without one adds nothing:
/// the same terms in the same order as the loop over every pair, so the same result bit for
/// bit (tested against that loop). On the city cluster (1,768 patches, 3,379 links) the
/// loop over every pair was 18% of the connectivity values' time (perf).
#[derive(Debug, Clone)]
pub struct LinkGains {
    n: usize,
    k: f64,
    /// Row-major `d(s, t)` in `k · LCD` units (`+∞` between components).
    dist: Vec<f64>,
    attr: Vec<f64>,
    links: Vec<(usize, usize, f64)>,
    al2: f64,
    /// Margin of the S and T tests (see the type's docs).
    margin: f64,
}

impl LinkGains {
    /// Prepares the distances of `g`.
    ///
    /// # Errors
    /// As [`indices`].
    pub fn new(g: &Graph, landscape_area_ha: f64, d50: f64) -> Result<LinkGains, NetworkError> {
        check(g, landscape_area_ha, d50)?;
        let n = g.attr.len();
        let k = std::f64::consts::LN_2 / d50;
        let adj = Adjacency::new(g, |d| k * d);
        let rows: Vec<Vec<f64>> = (0..n)
            .into_par_iter()
            .map(|s| sssp(&adj, s, None, None).0)
            .collect();
        let dist = rows.concat();
        let largest = dist
            .iter()
            .copied()
            .filter(|d| d.is_finite())
            .fold(0.0f64, f64::max);
        Ok(LinkGains {
            n,
            k,
            dist,
            attr: g.attr.clone(),
            links: g.links.clone(),
            al2: landscape_area_ha * landscape_area_ha,
            margin: 1e-9 * (1.0 + largest),
        })
    }

    /// The rise in PC (dimensionless, as [`Indices::pc`]) when link `l` alone takes the
    /// least-cost distance `lcd` (cost units); 0 when `lcd` is not below its own.
    pub fn gain(&self, l: usize, lcd: f64) -> f64 {
        let (a, b, old) = self.links[l];
        // (Also 0 for a NaN length.)
        if lcd.partial_cmp(&old) != Some(std::cmp::Ordering::Less) {
            return 0.0;
        }
        let w = self.k * lcd.max(0.0);
        let n = self.n;
        let d = |s: usize, t: usize| self.dist[s * n + t];
        let m = self.margin;
        // Whether x is below y + m (also where y is +∞ and x finite: the link joins them).
        let helps = |x: f64, y: f64| x.partial_cmp(&(y + m)).is_none_or(|o| o.is_lt());
        // T₁ (a → b serves t), T₂ (b → a), and their union, ascending.
        let (mut t1, mut t2, mut both) = (Vec::new(), Vec::new(), Vec::new());
        for t in 0..n {
            let (at, bt) = (d(a, t), d(b, t));
            let (one, two) = (helps(w + bt, at), helps(w + at, bt));
            if one {
                t1.push(t);
            }
            if two {
                t2.push(t);
            }
            if one || two {
                both.push(t);
            }
        }
        let mut sum = 0.0;
        for s in 0..n {
            let (sa, sb) = (d(s, a) + w, d(s, b) + w);
            if !(sa.is_finite() || sb.is_finite()) {
                continue;
            }
            let targets = match (helps(sa, d(s, b)), helps(sb, d(s, a))) {
                (true, true) => &both,
                (true, false) => &t1,
                (false, true) => &t2,
                (false, false) => continue,
            };
            let mut row = 0.0;
            for &t in targets {
                let now = d(s, t);
                let via = (sa + d(b, t)).min(sb + d(a, t));
                if via < now {
                    row += self.attr[t] * ((-via).exp() - (-now).exp());
                }
            }
            sum += self.attr[s] * row;
        }
        sum / self.al2
    }

    /// [`gain`](Self::gain) over every pair, as defined (the reference of its tests).
    #[cfg(test)]
    fn gain_every_pair(&self, l: usize, lcd: f64) -> f64 {
        let (a, b, old) = self.links[l];
        if lcd.partial_cmp(&old) != Some(std::cmp::Ordering::Less) {
            return 0.0;
        }
        let w = self.k * lcd.max(0.0);
        let n = self.n;
        let d = |s: usize, t: usize| self.dist[s * n + t];
        let mut sum = 0.0;
        for s in 0..n {
            let (sa, sb) = (d(s, a) + w, d(s, b) + w);
            if !(sa.is_finite() || sb.is_finite()) {
                continue;
            }
            let mut row = 0.0;
            for t in 0..n {
                let now = d(s, t);
                let via = (sa + d(b, t)).min(sb + d(a, t));
                if via < now {
                    row += self.attr[t] * ((-via).exp() - (-now).exp());
                }
            }
            sum += self.attr[s] * row;
        }
        sum / self.al2
    }
}

/// `PC_num` and `IIC_num` of the graph without each node and without each link, in that order.
struct Removed {
    nodes: Vec<PcIic>,
    links: Vec<PcIic>,
}

/// A [PC, IIC] pair of sums or terms.
type PcIic = [f64; 2];

/// One index (PC or IIC) in [`removals`]: its tree, graph (LCD-weighted or in steps), value
/// of a distance and rows of its numerator.
type Index<'a> = (&'a Tree, &'a Adjacency, &'a dyn Fn(f64) -> f64, &'a [f64]);

/// Sources per block of [`removals`]: each block's terms wait in a table of (block × nodes)
/// and (block × links) before they are added in source order.
const REMOVAL_BLOCK: usize = 64;

/// Every node's and every link's removal, source by source: removing node `v` changes source
/// `s`'s distances only below `v` in `s`'s tree, and removing link `l` only in the subtree
/// hanging from it, if the tree uses it (see [`Scratch::regrow`]). One source's removals are
/// computed together (its trees stay in cache), in parallel over the sources of a block, and
/// each removal's total is summed in source order, term by term as one removal over every
/// source would: the same floating-point sums whatever the threads and the block.
fn removals(
    g: &Graph,
    (adj, unit): (&Adjacency, &Adjacency),
    trees: &[(Tree, Tree)],
    (rows_pc, rows_iic): (&[f64], &[f64]),
    value_pc: impl Fn(f64) -> f64 + Sync,
    value_iic: impl Fn(f64) -> f64 + Sync,
) -> Removed {
    let n = g.attr.len();
    let m = g.links.len();
    let mut nodes = vec![[0.0; 2]; n];
    let mut links = vec![[rows_pc.iter().sum::<f64>(), rows_iic.iter().sum::<f64>()]; m];
    let sources: Vec<usize> = (0..n).collect();
    for block in sources.chunks(REMOVAL_BLOCK) {
        // Per source: each node's term and each link's (0 where its tree does not use the
        // link: adding 0 leaves a positive sum as it is).
        let terms: Vec<(Vec<PcIic>, Vec<PcIic>)> = block
            .par_iter()
            .map_init(
                || Scratch::new(n),
                |scratch, &s| {
                    let (tp, ti) = &trees[s];
                    let kinds: [Index; 2] = [
                        (tp, adj, &value_pc, rows_pc),
                        (ti, unit, &value_iic, rows_iic),
                    ];
                    let mut node_terms = vec![[0.0; 2]; n];
                    let mut link_terms = vec![[0.0; 2]; m];
                    for (k, &(tree, adjacency, value, rows)) in kinds.iter().enumerate() {
                        for (v, term) in node_terms.iter_mut().enumerate().filter(|e| e.0 != s) {
                            let below = tree.below(v);
                            term[k] = rows[s] - g.attr[s] * g.attr[v] * value(tree.dist[v])
                                + scratch.regrow(
                                    adjacency,
                                    g,
                                    tree,
                                    s,
                                    below,
                                    Some(v),
                                    None,
                                    value,
                                );
                        }
                        for c in 0..n {
                            let l = tree.parent_link[c];
                            if l != usize::MAX {
                                let members = tree.subtree(c);
                                link_terms[l][k] = scratch.regrow(
                                    adjacency,
                                    g,
                                    tree,
                                    s,
                                    members,
                                    None,
                                    Some(l),
                                    value,
                                );
                            }
                        }
                    }
                    (node_terms, link_terms)
                },
            )
            .collect();
        for (&s, (node_terms, link_terms)) in block.iter().zip(terms) {
            let node_sums = nodes.iter_mut().zip(node_terms).enumerate();
            for (_, (sum, t)) in node_sums.filter(|e| e.0 != s) {
                sum[0] += t[0];
                sum[1] += t[1];
            }
            for (sum, t) in links.iter_mut().zip(link_terms) {
                sum[0] += t[0];
                sum[1] += t[1];
            }
        }
    }
    Removed { nodes, links }
}

/// A shortest-path tree from one source: distances, parent links, and the nodes in depth-first
/// order so that every subtree is one contiguous run of [`Tree::order`].
///
/// The order is the one a stack gives (a node, then its children's subtrees, the last child's
/// first), so a removal's nodes are read as one slice instead of by walking child lists
/// scattered over the heap: the walk was about 40% of the network stage on the city
/// cluster's 1,768 patches (perf: 21% loading the child lists, missing the cache as every
/// removal read all 1,768 trees, and 20% copying them). 12 bytes per node for the order.
struct Tree {
    dist: Vec<f64>,
    parent_link: Vec<usize>,
    /// Reached nodes, depth first from the source.
    order: Vec<u32>,
    /// Per node, its position in `order` (unreached nodes: 0, with `size` 0).
    pre: Vec<u32>,
    /// Per node, the number of nodes in its subtree, itself included (0 when unreached).
    size: Vec<u32>,
}

impl Tree {
    fn build(adj: &Adjacency, s: usize) -> Tree {
        let (dist, parent_link) = sssp(adj, s, None, None);
        let n = dist.len();
        // Parent node per node, then the children of each node in one flat array (in node
        // order, as the stack below wants them).
        let parent: Vec<usize> = (0..n)
            .map(|t| match parent_link[t] {
                usize::MAX => usize::MAX,
                pl => adj.adj[t]
                    .iter()
                    .find(|e| e.2 == pl)
                    .map(|e| e.0)
                    .expect("parent link is adjacent"),
            })
            .collect();
        let mut first = vec![0usize; n + 1];
        for &p in parent.iter().filter(|&&p| p != usize::MAX) {
            first[p + 1] += 1;
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut children = vec![0usize; first[n]];
        let mut next = first.clone();
        for (t, &p) in parent.iter().enumerate().filter(|e| *e.1 != usize::MAX) {
            children[next[p]] = t;
            next[p] += 1;
        }
        let (mut order, mut pre, mut size) = (Vec::new(), vec![0u32; n], vec![0u32; n]);
        if dist[s].is_finite() {
            let mut stack = vec![s];
            while let Some(t) = stack.pop() {
                pre[t] = order.len() as u32;
                order.push(t as u32);
                stack.extend_from_slice(&children[first[t]..first[t + 1]]);
            }
        }
        // Children come after their parent in the order: sizes from the end.
        for &t in order.iter().rev() {
            let t = t as usize;
            size[t] += 1;
            if parent[t] != usize::MAX {
                size[parent[t]] += size[t];
            }
        }
        Tree {
            dist,
            parent_link,
            order,
            pre,
            size,
        }
    }

    /// The subtree of `v` (itself first), or nothing when `v` is unreached.
    fn subtree(&self, v: usize) -> &[u32] {
        let at = self.pre[v] as usize;
        &self.order[at..at + self.size[v] as usize]
    }

    /// The nodes below `v`: its subtree without itself.
    fn below(&self, v: usize) -> &[u32] {
        self.subtree(v).get(1..).unwrap_or(&[])
    }
}

/// Per-thread work space for [`Scratch::regrow`].
struct Scratch {
    stamp: Vec<u32>,
    round: u32,
    new_dist: Vec<f64>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
}

impl Scratch {
    fn new(n: usize) -> Scratch {
        Scratch {
            stamp: vec![0; n],
            round: 0,
            new_dist: vec![f64::INFINITY; n],
            heap: BinaryHeap::new(),
        }
    }

    /// After removing `skip_node` or `skip_link`, only the nodes of `members` (a subtree of
    /// `tree`, or a node's subtree without it) can change distance. Recomputes them with a
    /// Dijkstra restricted to them, seeded from their unchanged neighbours, and returns
    /// `Σ a_s a_t (value(new) - value(old))` over them, in their order.
    #[allow(clippy::too_many_arguments)]
    fn regrow(
        &mut self,
        adj: &Adjacency,
        g: &Graph,
        tree: &Tree,
        s: usize,
        members: &[u32],
        skip_node: Option<usize>,
        skip_link: Option<usize>,
        value: &dyn Fn(f64) -> f64,
    ) -> f64 {
        if members.is_empty() {
            return 0.0;
        }
        self.round += 1;
        let round = self.round;
        for &t in members {
            self.stamp[t as usize] = round;
        }
        self.heap.clear();
        for &t in members {
            let t = t as usize;
            let mut best = f64::INFINITY;
            for &(u, w, l) in &adj.adj[t] {
                if self.stamp[u] == round || Some(u) == skip_node || Some(l) == skip_link {
                    continue;
                }
                best = best.min(tree.dist[u] + w);
            }
            self.new_dist[t] = best;
            if best.is_finite() {
                self.heap.push(Reverse((best.to_bits(), t)));
            }
        }
        while let Some(Reverse((bits, t))) = self.heap.pop() {
            let d = f64::from_bits(bits);
            if d > self.new_dist[t] {
                continue;
            }
            for &(u, w, l) in &adj.adj[t] {
                if self.stamp[u] != round || Some(l) == skip_link {
                    continue;
                }
                let nd = d + w;
                if nd < self.new_dist[u] {
                    self.new_dist[u] = nd;
                    self.heap.push(Reverse((nd.to_bits(), u)));
                }
            }
        }
        members
            .iter()
            .map(|&t| {
                let t = t as usize;
                g.attr[s] * g.attr[t] * (value(self.new_dist[t]) - value(tree.dist[t]))
            })
            .sum()
    }
}

/// Brandes' betweenness on the LCD-weighted graph (ordered pairs, equal paths share credit).
fn betweenness(g: &Graph) -> Vec<f64> {
    let n = g.attr.len();
    let adj = Adjacency::new(g, |d| d);
    let per_source: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|s| {
            let mut dist = vec![f64::INFINITY; n];
            let mut sigma = vec![0f64; n];
            let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
            let mut order = Vec::with_capacity(n);
            dist[s] = 0.0;
            sigma[s] = 1.0;
            let mut heap = BinaryHeap::new();
            heap.push(Reverse((0u64, s)));
            let mut settled = vec![false; n];
            while let Some(Reverse((bits, u))) = heap.pop() {
                if settled[u] || f64::from_bits(bits) > dist[u] {
                    continue;
                }
                settled[u] = true;
                order.push(u);
                for &(v, w, _) in &adj.adj[u] {
                    let nd = dist[u] + w;
                    if nd < dist[v] {
                        dist[v] = nd;
                        sigma[v] = sigma[u];
                        preds[v] = vec![u];
                        heap.push(Reverse((nd.to_bits(), v)));
                    } else if nd == dist[v] && !settled[v] {
                        sigma[v] += sigma[u];
                        preds[v].push(u);
                    }
                }
            }
            let mut delta = vec![0f64; n];
            let mut out = vec![0f64; n];
            for &w in order.iter().rev() {
                for &p in &preds[w] {
                    delta[p] += sigma[p] / sigma[w] * (1.0 + delta[w]);
                }
                if w != s {
                    out[w] = delta[w];
                }
            }
            out
        })
        .collect();
    (0..n)
        .map(|v| per_source.iter().map(|r| r[v]).sum())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const D50: f64 = 1000.0;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn two_patches_by_hand() {
        // a = 10, 20 ha; LCD = d50 so p = 0.5; A_L = 100 ha.
        let g = Graph {
            attr: vec![10.0, 20.0],
            links: vec![(0, 1, D50)],
        };
        let r = analyse(&g, 100.0, D50, None).unwrap();
        // PCnum = 100 + 400 + 2 * 200 * 0.5 = 700; IICnum = 100 + 400 + 2 * 200 / 2 = 700.
        assert!(close(r.indices.pc_num, 700.0) && close(r.indices.pc, 0.07));
        assert!(close(r.indices.iic, 0.07));
        assert!(close(r.indices.eca_ha, 700f64.sqrt()));
        // Removing patch 1 leaves 400: dPC = 42.857 = intra 14.286 + flux 28.571 + connector 0.
        let n = r.nodes[0];
        assert!(
            close(n.d_pc, 300.0 / 7.0)
                && close(n.d_pc_intra, 100.0 / 7.0)
                && close(n.d_pc_flux, 200.0 / 7.0)
        );
        assert!(n.d_pc_connector.abs() < 1e-9);
        assert!(close(r.links[0].d_pc, 200.0 / 7.0));
    }

    #[test]
    fn the_middle_of_a_chain_is_a_connector() {
        let g = Graph {
            attr: vec![1.0; 3],
            links: vec![(0, 1, D50), (1, 2, D50)],
        };
        let r = analyse(&g, 10.0, D50, None).unwrap();
        // PCnum = 3 + 2 (0.5 + 0.5 + 0.25) = 5.5; without the middle: 2.
        assert!(close(r.indices.pc_num, 5.5));
        let m = r.nodes[1];
        assert!(close(m.d_pc, 100.0 * 3.5 / 5.5));
        assert!(
            close(m.d_pc_connector, 100.0 * 0.5 / 5.5),
            "{}",
            m.d_pc_connector
        );
        assert!(close(m.betweenness, 2.0) && close(r.nodes[0].betweenness, 0.0));
        // IIC: nl(1,3) = 2 -> IICnum = 3 + 2 (1/2 + 1/2 + 1/3).
        assert!(close(r.indices.iic_num, 3.0 + 2.0 * (1.0 + 1.0 / 3.0)));
    }

    #[test]
    fn a_bridge_matters_more_than_a_redundant_link() {
        // Triangle 0-1-2 and a pendant 3 on 2: link 2-3 is a bridge, 0-1 is redundant.
        let g = Graph {
            attr: vec![5.0, 5.0, 5.0, 5.0],
            links: vec![(0, 1, D50), (1, 2, D50), (0, 2, D50), (2, 3, D50)],
        };
        let r = analyse(&g, 100.0, D50, None).unwrap();
        assert!(r.links[3].d_pc > r.links[0].d_pc && r.links[0].d_pc > 0.0);
        assert!(r.links[3].d_iic > r.links[0].d_iic && r.links[0].d_iic > 0.0);
    }

    #[test]
    fn a_star_by_hand() {
        // Centre 0 (a = 2) with three leaves (a = 1) at LCD = d50: p = 0.5 to the centre, 0.25
        // between leaves. PCnum = 4 + 3 + 2 (3 * 2 * 0.5 + 3 * 0.25) = 7 + 2 * 3.75 = 14.5.
        let g = Graph {
            attr: vec![2.0, 1.0, 1.0, 1.0],
            links: vec![(0, 1, D50), (0, 2, D50), (0, 3, D50)],
        };
        let r = analyse(&g, 10.0, D50, None).unwrap();
        assert!(close(r.indices.pc_num, 14.5));
        // Without the centre only the leaves remain: 3. Connector = the leaf-leaf pairs, 2 * 0.75.
        let c = r.nodes[0];
        assert!(close(c.d_pc, 100.0 * 11.5 / 14.5));
        assert!(close(c.d_pc_intra, 100.0 * 4.0 / 14.5) && close(c.d_pc_flux, 100.0 * 6.0 / 14.5));
        assert!(close(c.d_pc_connector, 100.0 * 1.5 / 14.5));
        // Every leaf-to-leaf shortest path crosses the centre: 3 * 2 ordered pairs.
        assert!(close(c.betweenness, 6.0) && close(r.nodes[1].betweenness, 0.0));
        // IIC: nl = 1 to the centre, 2 between leaves: 4 + 3 + 2 (3 * 2 / 2 + 3 / 3) = 15.
        assert!(close(r.indices.iic_num, 15.0));
    }

    #[test]
    fn zero_attributes_give_zeros_not_nan() {
        let r = analyse(
            &Graph {
                attr: vec![0.0, 0.0],
                links: vec![(0, 1, D50)],
            },
            10.0,
            D50,
            None,
        )
        .unwrap();
        for n in &r.nodes {
            assert!(
                [n.d_pc, n.d_pc_intra, n.d_pc_flux, n.d_pc_connector, n.d_iic]
                    .iter()
                    .all(|v| *v == 0.0),
                "{n:?}"
            );
        }
        assert_eq!(r.indices.pc, 0.0);
    }

    #[test]
    fn isolated_patches_only_count_themselves() {
        let g = Graph {
            attr: vec![3.0, 4.0],
            links: vec![],
        };
        let r = analyse(&g, 50.0, D50, None).unwrap();
        assert!(close(r.indices.pc_num, 25.0));
        assert!(close(r.nodes[1].d_pc, 64.0) && close(r.nodes[1].d_pc_intra, 64.0));
        let one = analyse(
            &Graph {
                attr: vec![3.0],
                links: vec![],
            },
            50.0,
            D50,
            None,
        )
        .unwrap();
        assert!(close(one.nodes[0].d_pc, 100.0) && one.nodes[0].betweenness == 0.0);
    }

    #[test]
    fn bad_networks_are_refused_with_the_reason() {
        let g = |links| Graph {
            attr: vec![1.0, 1.0],
            links,
        };
        assert!(analyse(&g(vec![(0, 5, 1.0)]), 10.0, D50, None)
            .unwrap_err()
            .to_string()
            .contains("patch 6"));
        assert!(analyse(&g(vec![(0, 1, 0.0)]), 10.0, D50, None)
            .unwrap_err()
            .to_string()
            .contains("> 0"));
        assert!(analyse(&g(vec![]), 10.0, 0.0, None)
            .unwrap_err()
            .to_string()
            .contains("d50"));
        assert!(analyse(&g(vec![]), 1.0, D50, None)
            .unwrap_err()
            .to_string()
            .contains("smaller than the patches"));
    }

    #[test]
    fn gravity_follows_the_formula() {
        let g = Graph {
            attr: vec![10.0, 20.0, 5.0],
            links: vec![(0, 1, 100.0), (1, 2, 400.0)],
        };
        let p = [2.0, 4.0, 1.0];
        let r = analyse(&g, 100.0, D50, Some(&p)).unwrap();
        let n = |i: usize| (g.attr[i] * 10_000.0).ln() / p[i];
        let gr = r.gravity.unwrap();
        assert!(close(gr[0], n(0) * n(1) / (100.0f64 / 400.0).powi(2)));
        assert!(close(gr[1], n(1) * n(2)));
    }

    /// Removals over more sources than one block of [`removals`] (90 nodes, 2 blocks) equal
    /// recomputation from scratch, and the results are the same bits on 1 and 2 threads.
    #[test]
    fn removals_over_several_blocks_equal_recomputation_on_any_threads() {
        let mut rng = crate::testutil::XorShift::new(19);
        let mut unit = || (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        let n = 90;
        assert!(n > REMOVAL_BLOCK);
        // Areas within the landscape of 1,000 ha that `naive` uses.
        let attr: Vec<f64> = (0..n).map(|_| 0.5 + 10.0 * unit()).collect();
        // A ring (so every node is joined) and chords, lengths around d50.
        let mut links: Vec<(usize, usize, f64)> = (0..n)
            .map(|i| (i, (i + 1) % n, 300.0 + 2000.0 * unit()))
            .collect();
        for _ in 0..2 * n {
            let (a, b) = ((unit() * n as f64) as usize, (unit() * n as f64) as usize);
            if a != b
                && !links
                    .iter()
                    .any(|l| (l.0, l.1) == (a, b) || (l.0, l.1) == (b, a))
            {
                links.push((a, b, 300.0 + 3000.0 * unit()));
            }
        }
        let g = Graph { attr, links };
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| analyse(&g, 1000.0, D50, None).unwrap())
        };
        let (one, two) = (on(1), on(2));
        assert_eq!(one, two);
        let r = one;
        // dPC and dIIC of one removal against the indices recomputed without it.
        let check = |what: String, (d_pc, d_iic): (f64, f64), (pc2, iic2): (f64, f64)| {
            let want = 100.0 * (r.indices.pc_num - pc2) / r.indices.pc_num;
            assert!(close(d_pc, want), "{what} dPC: {d_pc} vs {want}");
            let want = 100.0 * (r.indices.iic_num - iic2) / r.indices.iic_num;
            assert!(close(d_iic, want), "{what} dIIC: {d_iic} vs {want}");
        };
        for v in 0..n {
            let got = (r.nodes[v].d_pc, r.nodes[v].d_iic);
            check(format!("node {v}"), got, naive(&g, Some(v), None));
        }
        for l in (0..g.links.len()).step_by(3) {
            let got = (r.links[l].d_pc, r.links[l].d_iic);
            check(format!("link {l}"), got, naive(&g, None, Some(l)));
        }
    }

    /// Indices of the graph without node `skip` or link `skip_link`, from scratch.
    fn naive(g: &Graph, skip: Option<usize>, skip_link: Option<usize>) -> (f64, f64) {
        let attr: Vec<f64> = g
            .attr
            .iter()
            .enumerate()
            .map(|(i, &a)| if Some(i) == skip { 0.0 } else { a })
            .collect();
        let links: Vec<(usize, usize, f64)> = g
            .links
            .iter()
            .enumerate()
            .filter(|(l, &(a, b, _))| Some(*l) != skip_link && Some(a) != skip && Some(b) != skip)
            .map(|(_, &x)| x)
            .collect();
        let r = analyse(&Graph { attr, links }, 1000.0, D50, None).unwrap();
        (r.indices.pc_num, r.indices.iic_num)
    }

    /// PC from its definition: maximum-product probabilities by Floyd-Warshall over
    /// `k · LCD` (independent of the Dijkstra code), `p*_ii = 1`.
    #[allow(clippy::needless_range_loop)]
    fn pc_floyd(g: &Graph, al: f64, d50: f64) -> f64 {
        let n = g.attr.len();
        let k = std::f64::consts::LN_2 / d50;
        let mut d = vec![vec![f64::INFINITY; n]; n];
        for (i, row) in d.iter_mut().enumerate() {
            row[i] = 0.0;
        }
        for &(a, b, x) in &g.links {
            d[a][b] = d[a][b].min(k * x);
            d[b][a] = d[b][a].min(k * x);
        }
        for m in 0..n {
            for i in 0..n {
                for j in 0..n {
                    let v = d[i][m] + d[m][j];
                    if v < d[i][j] {
                        d[i][j] = v;
                    }
                }
            }
        }
        let mut num = 0.0;
        for i in 0..n {
            for j in 0..n {
                num += g.attr[i] * g.attr[j] * (-d[i][j]).exp();
            }
        }
        num / (al * al)
    }

    proptest! {
        /// The single-link gain equals PC recomputed from its definition with that link
        /// shortened, for every link and several new lengths.
        #[test]
        fn single_link_gains_equal_pc_recomputed(
            attr in proptest::collection::vec(0.5f64..50.0, 1..9),
            raw_links in proptest::collection::vec((0usize..9, 0usize..9, 100.0f64..3000.0), 0..16),
            shares in proptest::collection::vec(0.0f64..1.2, 4),
        ) {
            let n = attr.len();
            let mut links: Vec<(usize, usize, f64)> = raw_links.into_iter().map(|(a, b, d)| (a % n, b % n, d)).filter(|(a, b, _)| a != b).collect();
            links.sort_by_key(|x| (x.0.min(x.1), x.0.max(x.1)));
            links.dedup_by(|x, y| (x.0.min(x.1), x.0.max(x.1)) == (y.0.min(y.1), y.0.max(y.1)));
            let g = Graph { attr, links };
            let gains = LinkGains::new(&g, 1000.0, D50).unwrap();
            let base = pc_floyd(&g, 1000.0, D50);
            for l in 0..g.links.len() {
                for &f in &shares {
                    let x = g.links[l].2 * f;
                    let mut h = g.clone();
                    h.links[l].2 = h.links[l].2.min(x);
                    let want = pc_floyd(&h, 1000.0, D50) - base;
                    let got = gains.gain(l, x);
                    prop_assert!((got - want).abs() <= 1e-12 + 1e-9 * want.abs(), "link {} to {}: {} vs {}", l, x, got, want);
                    prop_assert!(got >= 0.0);
                    // The pairs it skips add nothing: the loop over every pair, bit for bit.
                    prop_assert_eq!(got.to_bits(), gains.gain_every_pair(l, x).to_bits());
                }
            }
        }
    }

    proptest! {
        /// On larger networks (where most pairs are skipped) the gain is still the loop over
        /// every pair, bit for bit, and some link does gain (the test is not vacuous).
        #[test]
        fn skipping_pairs_keeps_every_bit(
            attr in proptest::collection::vec(0.5f64..50.0, 20..60),
            chain in proptest::collection::vec(100.0f64..3000.0, 60),
            chords in proptest::collection::vec((0usize..60, 0usize..60, 100.0f64..3000.0), 0..80),
        ) {
            let n = attr.len();
            // A chain (one component) plus random chords.
            let mut links: Vec<(usize, usize, f64)> = (1..n).map(|v| (v - 1, v, chain[v])).collect();
            for (a, b, d) in chords {
                let (a, b) = (a % n, b % n);
                if a != b {
                    links.push((a.min(b), a.max(b), d));
                }
            }
            links.sort_by_key(|x| (x.0, x.1));
            links.dedup_by_key(|x| (x.0, x.1));
            let g = Graph { attr, links };
            let gains = LinkGains::new(&g, 10_000.0, D50).unwrap();
            let mut gained = false;
            for l in 0..g.links.len() {
                for f in [0.0, 0.3, 0.9, 0.999] {
                    let x = g.links[l].2 * f;
                    let got = gains.gain(l, x);
                    prop_assert_eq!(got.to_bits(), gains.gain_every_pair(l, x).to_bits(), "link {} to {}", l, x);
                    gained |= got > 0.0;
                }
            }
            prop_assert!(gained);
        }
    }

    proptest! {
        #[test]
        fn removals_equal_recomputation_from_scratch(
            attr in proptest::collection::vec(0.5f64..50.0, 1..8),
            raw_links in proptest::collection::vec((0usize..8, 0usize..8, 100.0f64..3000.0), 0..14),
        ) {
            let n = attr.len();
            let mut links: Vec<(usize, usize, f64)> = raw_links.into_iter().map(|(a, b, d)| (a % n, b % n, d)).filter(|(a, b, _)| a != b).collect();
            links.sort_by_key(|x| (x.0.min(x.1), x.0.max(x.1)));
            links.dedup_by(|x, y| (x.0.min(x.1), x.0.max(x.1)) == (y.0.min(y.1), y.0.max(y.1)));
            let g = Graph { attr, links };
            let r = analyse(&g, 1000.0, D50, None).unwrap();
            let only = indices(&g, 1000.0, D50).unwrap();
            prop_assert!((only.pc_num - r.indices.pc_num).abs() <= 1e-9 * r.indices.pc_num.max(1.0));
            prop_assert!((only.iic_num - r.indices.iic_num).abs() <= 1e-9 * r.indices.iic_num.max(1.0));
            for v in 0..n {
                let (pc2, iic2) = naive(&g, Some(v), None);
                prop_assert!(close(r.nodes[v].d_pc, 100.0 * (r.indices.pc_num - pc2) / r.indices.pc_num), "node {} dPC {} vs {}", v, r.nodes[v].d_pc, 100.0 * (r.indices.pc_num - pc2) / r.indices.pc_num);
                prop_assert!(close(r.nodes[v].d_iic, 100.0 * (r.indices.iic_num - iic2) / r.indices.iic_num));
                let nd = r.nodes[v];
                prop_assert!(close(nd.d_pc_intra + nd.d_pc_flux + nd.d_pc_connector, nd.d_pc));
                prop_assert!(nd.d_pc_connector >= -1e-9, "connector {}", nd.d_pc_connector);
            }
            for l in 0..g.links.len() {
                let (pc2, iic2) = naive(&g, None, Some(l));
                prop_assert!(close(r.links[l].d_pc, 100.0 * (r.indices.pc_num - pc2) / r.indices.pc_num));
                prop_assert!(close(r.links[l].d_iic, 100.0 * (r.indices.iic_num - iic2) / r.indices.iic_num));
            }
        }
    }
}
