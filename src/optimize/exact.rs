//! Exact mode's patch network and the preprocessing that makes its MILP small.
//!
//! # The formulation (Hamonic, Albert, Couëtoux, Vaxès 2021, arXiv 2109.06622)
//! `PC_num = Σ_s Σ_t a_s a_t p*_st`, with `p*` the maximum-product path probabilities. For
//! every target patch t, a generalized flow in which every patch u supplies `a_u`, an arc
//! multiplies the flow it carries by its probability and t absorbs `f_t`:
//! `Σ_out x − Σ_in p x + [u = t] f_t ≤ a_u` at every patch u. The flow reaching t from s is at
//! most `a_s p*_st`, so `max Σ_t a_t f_t = PC_num`. A connector adds a parallel arc pair with
//! its improved probability, usable only when chosen (`x ≤ M_u y`, `M_u` the most flow that
//! can ever be at u).
//!
//! # Preprocessing (the same paper, section "preprocessing")
//! Per target t, before the model is written (a "scenario" is any choice of connectors):
//! - an arc u→v is **useless** for t when, even with every connector built, the best path from
//!   u that starts with u→v is strictly worse than the best path from u that avoids it with no
//!   connector built; no optimal path to t then uses it in any scenario, and it is left out
//!   (with its connectors' parallel arcs). Arcs leaving t are useless for t.
//! - an arc u→v without connectors is **strong** for t when, with no connector built, the best
//!   path from u that starts with it is strictly better than every path from u avoiding it with
//!   every connector built; every optimal path from u to t then starts with u→v, so u is
//!   contracted into v: u's supply moves to v times `p_uv`, arcs into u now end at v with their
//!   probability times `p_uv`.
//! - arcs that cannot reach t or be reached from a supplying patch are dropped, and `M_u` is
//!   computed on what is left (every connector built).
//!
//! Both tests are one "competing" Dijkstra per arc (two searches in one queue, each patch
//! taken by the search that reaches it first, ties to the side that keeps the arc, and a
//! margin of 1e-9 in `−ln p` against rounding). Every optimal path of every scenario survives,
//! so the MILP's optimum is unchanged (the exhaustive-enumeration tests hold it to that); the
//! LP relaxation only gets tighter. Work: 2 searches per arc and one search per supplying
//! patch per target, O(n · A log n) for n patches and A arcs.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use rayon::prelude::*;

/// The patch network for exact mode: the connectivity term is
/// `(PC_num(improved) − PC_num(now)) / scale`, with `PC_num = Σ_s Σ_t a_s a_t p*_st` over the
/// network where each chosen connector's link has its improved probability. The MILP rows are
/// written per target patch after preprocessing (module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExactPc {
    /// Patch attribute (area, ha) per node.
    pub attr: Vec<f64>,
    /// Links (node, node, probability now, in (0, 1]).
    pub links: Vec<(usize, usize, f64)>,
    /// Per connector: its link's ends and its improved probability (None: no effect).
    pub improved: Vec<Option<(usize, usize, f64)>>,
    /// `PC_num` now (ha²).
    pub base: f64,
    /// Normaliser (ha²): the gain with every connector built (1 when none).
    pub scale: f64,
}

impl ExactPc {
    /// `PC_num` of the network with the chosen connectors improved (by the network stage's
    /// own PC, `network::indices`, on link lengths `−ln p` with `k = 1`).
    pub fn pc_num(&self, connectors: &[bool]) -> f64 {
        let chosen = self
            .improved
            .iter()
            .enumerate()
            .filter(|(k, _)| connectors.get(*k).copied().unwrap_or(false))
            .filter_map(|(_, imp)| *imp);
        let links: Vec<(usize, usize, f64)> = self
            .links
            .iter()
            .copied()
            .chain(chosen)
            .filter(|&(a, b, _)| a != b)
            // A probability that rounds to 1 is a link of length 0, which the network
            // stage refuses: the smallest positive length is the same number.
            .map(|(a, b, p)| (a, b, (-p.ln()).max(f64::MIN_POSITIVE)))
            .collect();
        let total: f64 = self.attr.iter().sum();
        let graph = crate::network::Graph {
            attr: self.attr.clone(),
            links,
        };
        // k = ln 2 / d50 = 1.
        crate::network::indices(&graph, total.max(1.0), std::f64::consts::LN_2)
            .map(|i| i.pc_num)
            .expect("an exact-mode network has areas >= 0 and probabilities in (0, 1]")
    }

    /// An exact-mode network with its base and scale computed.
    pub fn new(
        attr: Vec<f64>,
        links: Vec<(usize, usize, f64)>,
        improved: Vec<Option<(usize, usize, f64)>>,
    ) -> ExactPc {
        let mut e = ExactPc {
            attr,
            links,
            improved,
            base: 0.0,
            scale: 1.0,
        };
        e.base = e.pc_num(&[]);
        let all = e.pc_num(&vec![true; e.improved.len()]) - e.base;
        e.scale = if all > 0.0 { all } else { 1.0 };
        e
    }

    /// The generalized-flow network of every target patch, preprocessed (module docs).
    pub(crate) fn target_flows(&self) -> Vec<TargetFlow> {
        let pairs = self.pair_arcs();
        let n = self.attr.len();
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, a) in pairs.iter().enumerate() {
            out[a.from].push(i);
        }
        // Per arc, the targets it is useless for and (arcs without connectors) strong for.
        let tests: Vec<(Vec<bool>, Vec<bool>)> = (0..pairs.len())
            .into_par_iter()
            .map(|i| {
                let a = &pairs[i];
                let mut useless = blue_wins(&pairs, &out, i, (a.from, MARGIN), (a.to, a.imp_len));
                useless[a.from] = true;
                let strong = if a.options.is_empty() && a.base_len.is_finite() {
                    blue_wins(&pairs, &out, i, (a.to, a.base_len + MARGIN), (a.from, 0.0))
                } else {
                    vec![false; n]
                };
                (useless, strong)
            })
            .collect();
        (0..n)
            .into_par_iter()
            .map(|t| self.target_flow(t, &pairs, &tests))
            .collect()
    }

    /// Directed arcs by ordered patch pair: the best link now and the connectors that beat it.
    fn pair_arcs(&self) -> Vec<PairArc> {
        let mut by: BTreeMap<(usize, usize), PairArc> = BTreeMap::new();
        // Links now (connector None), then the connectors' improved links.
        let links = self.links.iter().map(|&(a, b, p)| (a, b, p, None));
        let improved = self
            .improved
            .iter()
            .enumerate()
            .filter_map(|(k, imp)| imp.map(|(a, b, p)| (a, b, p, Some(k))));
        for (a, b, p, connector) in links.chain(improved) {
            if a == b || p <= 0.0 {
                continue;
            }
            for (from, to) in [(a, b), (b, a)] {
                let e = by
                    .entry((from, to))
                    .or_insert_with(|| PairArc::empty(from, to));
                match connector {
                    None => e.base = e.base.max(p),
                    Some(k) => e.options.push((k, p)),
                }
            }
        }
        by.into_values()
            .map(|mut a| {
                // A connector no better than the link now never carries an optimal path.
                let base = a.base;
                a.options.retain(|&(_, p)| p > base);
                a.base_len = if a.base > 0.0 {
                    -a.base.ln()
                } else {
                    f64::INFINITY
                };
                a.imp_len = a
                    .options
                    .iter()
                    .map(|&(_, p)| -p.ln())
                    .fold(a.base_len, f64::min);
                a
            })
            .filter(|a| a.imp_len.is_finite())
            .collect()
    }

    /// Target `t`'s flow network: useless arcs left out, strong arcs contracted, dead ends
    /// dropped, bounds computed.
    fn target_flow(
        &self,
        t: usize,
        pairs: &[PairArc],
        tests: &[(Vec<bool>, Vec<bool>)],
    ) -> TargetFlow {
        let n = self.attr.len();
        let mut supply = self.attr.clone();
        let mut arcs: Vec<FlowArc> = Vec::new();
        let mut base_arc: Vec<Option<usize>> = vec![None; pairs.len()];
        for (i, a) in pairs.iter().enumerate() {
            if tests[i].0[t] {
                continue;
            }
            if a.base > 0.0 {
                base_arc[i] = Some(arcs.len());
                arcs.push(FlowArc {
                    from: a.from,
                    to: a.to,
                    prob: a.base,
                    connector: None,
                });
            }
            for &(k, p) in &a.options {
                arcs.push(FlowArc {
                    from: a.from,
                    to: a.to,
                    prob: p,
                    connector: Some(k),
                });
            }
        }
        let mut removed = vec![false; arcs.len()];
        let mut contracted = 0;
        for (i, _) in pairs.iter().enumerate().filter(|(i, _)| tests[*i].1[t]) {
            let Some(r) = base_arc[i] else { continue };
            let FlowArc {
                from: u,
                to: v,
                prob,
                ..
            } = arcs[r];
            if removed[r] || u == v || u == t {
                continue;
            }
            for (j, a) in arcs.iter_mut().enumerate() {
                if a.from == u {
                    removed[j] = true;
                } else if a.to == u {
                    a.to = v;
                    a.prob *= prob;
                }
            }
            supply[v] += prob * supply[u];
            supply[u] = 0.0;
            contracted += 1;
        }
        let mut arcs: Vec<FlowArc> = arcs
            .into_iter()
            .zip(removed)
            .filter(|(a, gone)| !gone && a.from != a.to)
            .map(|(a, _)| a)
            .collect();
        // Dead ends: arcs into patches that cannot reach t, out of patches no supply reaches.
        let to_t = reached(n, &arcs, &[t], true);
        arcs.retain(|a| to_t[a.to]);
        let suppliers: Vec<usize> = (0..n).filter(|&u| supply[u] > 0.0).collect();
        let from_supply = reached(n, &arcs, &suppliers, false);
        arcs.retain(|a| from_supply[a.from]);
        let (bound, arc_bound) = flow_bounds(n, t, &arcs, &supply);
        // An arc no optimal path can use carries nothing.
        let (arcs, arc_bound): (Vec<FlowArc>, Vec<f64>) = arcs
            .into_iter()
            .zip(arc_bound)
            .filter(|&(_, b)| b > 0.0)
            .unzip();
        let mut touched = vec![false; n];
        touched[t] = true;
        for a in &arcs {
            touched[a.from] = true;
            touched[a.to] = true;
        }
        TargetFlow {
            target: t,
            rows: (0..n).filter(|&u| touched[u]).collect(),
            supply,
            arcs,
            bound,
            arc_bound,
            contracted,
        }
    }
}

/// Margin (in `−ln p`) by which a search must win to remove or contract an arc.
const MARGIN: f64 = 1e-9;

/// A directed arc between two patches: its probability now (0: none) and the connectors
/// that improve it (connector, probability).
#[derive(Debug, Clone)]
struct PairArc {
    from: usize,
    to: usize,
    base: f64,
    options: Vec<(usize, f64)>,
    /// `−ln base` (infinite without a link now).
    base_len: f64,
    /// `−ln` of the best probability with every connector built.
    imp_len: f64,
}

impl PairArc {
    fn empty(from: usize, to: usize) -> PairArc {
        PairArc {
            from,
            to,
            base: 0.0,
            options: Vec::new(),
            base_len: f64::INFINITY,
            imp_len: f64::INFINITY,
        }
    }
}

/// A directed arc of one target's flow network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FlowArc {
    pub from: usize,
    pub to: usize,
    /// Probability (a product of probabilities after contraction).
    pub prob: f64,
    /// The connector that must be chosen for the arc to carry flow.
    pub connector: Option<usize>,
}

/// One target's generalized-flow network after preprocessing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TargetFlow {
    pub target: usize,
    /// Supply per patch (ha): its area plus what patches contracted into it send; 0 for a
    /// contracted patch.
    pub supply: Vec<f64>,
    pub arcs: Vec<FlowArc>,
    /// Per patch, the most flow that can be at it with every connector built.
    pub bound: Vec<f64>,
    /// Per arc, the most flow it carries in an optimal flow (see [`flow_bounds`]).
    pub arc_bound: Vec<f64>,
    /// Patches with a balance row: the target and every end of an arc.
    pub rows: Vec<usize>,
    /// Patches contracted into another.
    pub contracted: usize,
}

/// Two searches in one queue over `pairs` without arc `skip`: "blue" from `blue` on the
/// lengths now, "red" from `red` on the lengths with every connector built; each patch is
/// taken by the first to reach it (red on ties) and only its taker searches on from it.
/// Returns the patches blue took.
fn blue_wins(
    pairs: &[PairArc],
    out: &[Vec<usize>],
    skip: usize,
    blue: (usize, f64),
    red: (usize, f64),
) -> Vec<bool> {
    // Colour 0 = red pops before 1 = blue at equal distance.
    let mut taken: Vec<u8> = vec![u8::MAX; out.len()];
    let mut heap = BinaryHeap::new();
    heap.push(Reverse((red.1.to_bits(), 0u8, red.0)));
    heap.push(Reverse((blue.1.to_bits(), 1u8, blue.0)));
    while let Some(Reverse((bits, colour, u))) = heap.pop() {
        if taken[u] != u8::MAX {
            continue;
        }
        taken[u] = colour;
        let d = f64::from_bits(bits);
        for &i in &out[u] {
            let a = &pairs[i];
            let len = if colour == 1 { a.base_len } else { a.imp_len };
            if i == skip || !len.is_finite() || taken[a.to] != u8::MAX {
                continue;
            }
            heap.push(Reverse(((d + len).to_bits(), colour, a.to)));
        }
    }
    taken.into_iter().map(|c| c == 1).collect()
}

/// Patches reached from `starts` along the arcs (`backward`: against them).
fn reached(n: usize, arcs: &[FlowArc], starts: &[usize], backward: bool) -> Vec<bool> {
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for a in arcs {
        let (u, v) = if backward {
            (a.to, a.from)
        } else {
            (a.from, a.to)
        };
        adj[u].push(v);
    }
    let mut seen = vec![false; n];
    let mut stack: Vec<usize> = starts.to_vec();
    for &s in starts {
        seen[s] = true;
    }
    while let Some(u) = stack.pop() {
        for &v in &adj[u] {
            if !seen[v] {
                seen[v] = true;
                stack.push(v);
            }
        }
    }
    seen
}

/// Shortest distances from `s` over `adj` (lengths `−ln p`: maximum-product paths).
fn distances(adj: &[Vec<(usize, f64)>], s: usize) -> Vec<f64> {
    let mut dist = vec![f64::INFINITY; adj.len()];
    dist[s] = 0.0;
    let mut heap = BinaryHeap::new();
    heap.push(Reverse((0u64, s)));
    while let Some(Reverse((bits, u))) = heap.pop() {
        let d = f64::from_bits(bits);
        if d > dist[u] {
            continue;
        }
        for &(v, w) in &adj[u] {
            let nd = d + w;
            if nd < dist[v] {
                dist[v] = nd;
                heap.push(Reverse((nd.to_bits(), v)));
            }
        }
    }
    dist
}

/// Flow bounds of target `t`'s network: per patch u, `Σ_s supply_s p̂*_su` (the most flow
/// that can be at u, `p̂*` with every connector built); per arc u→v, the same sum over only
/// the suppliers s for which a path through the arc can be optimal in some scenario
/// (`p̂*_su p_uv p̂*_vt ≥ p*_st` with no connector built, 1e-9 margin in `−ln p`). In a
/// flow that sends every supply along an optimal path, no arc carries more, so the bounds keep
/// the optimum; they are the `M` of the connectors' rows.
fn flow_bounds(n: usize, t: usize, arcs: &[FlowArc], supply: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let len = |a: &FlowArc| (-a.prob.ln()).max(0.0);
    let mut fwd: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut back: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut back_now: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for a in arcs {
        fwd[a.from].push((a.to, len(a)));
        back[a.to].push((a.from, len(a)));
        if a.connector.is_none() {
            back_now[a.to].push((a.from, len(a)));
        }
    }
    let to_t_best = distances(&back, t);
    let to_t_now = distances(&back_now, t);
    let mut node = vec![0.0; n];
    let mut arc = vec![0.0; arcs.len()];
    for s in (0..n).filter(|&s| supply[s] > 0.0) {
        let from_s = distances(&fwd, s);
        for (u, b) in node.iter_mut().enumerate() {
            *b += supply[s] * (-from_s[u]).exp();
        }
        for (a, b) in arcs.iter().zip(arc.iter_mut()) {
            if from_s[a.from] + len(a) + to_t_best[a.to] <= to_t_now[s] + MARGIN {
                *b += supply[s] * (-from_s[a.from]).exp();
            }
        }
    }
    (node, arc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `Σ_s supply_s p*_st` over `arcs` (maximum-product paths to t).
    fn delivered(n: usize, t: usize, arcs: &[FlowArc], supply: &[f64]) -> f64 {
        let mut back: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        for a in arcs {
            back[a.to].push((a.from, (-a.prob.ln()).max(0.0)));
        }
        let d = distances(&back, t);
        (0..n).map(|s| supply[s] * (-d[s]).exp()).sum()
    }

    #[test]
    fn a_chain_is_contracted_and_the_weak_shortcut_dropped() {
        // 0 -0.9- 1 -0.9- 2 and a direct 0 -0.1- 2; no connectors.
        let e = ExactPc::new(
            vec![1.0, 2.0, 4.0],
            vec![(0, 1, 0.9), (1, 2, 0.9), (0, 2, 0.1)],
            vec![],
        );
        let flows = e.target_flows();
        let t2 = &flows[2];
        // Into 2: both 0 and 1 are contracted along the chain, nothing is left to route.
        assert!(t2.arcs.is_empty(), "{:?}", t2.arcs);
        assert_eq!(t2.contracted, 2);
        assert!((t2.supply[2] - (4.0 + 0.9 * (2.0 + 0.9 * 1.0))).abs() < 1e-12);
        assert_eq!(t2.rows, vec![2]);
        // Every target's flow is PC_num's share: Σ_t a_t Σ_s a_s p*_st.
        let pc: f64 = flows
            .iter()
            .map(|tf| e.attr[tf.target] * delivered(3, tf.target, &tf.arcs, &tf.supply))
            .sum();
        assert!((pc - e.base).abs() < 1e-9 * e.base, "{pc} vs {}", e.base);
    }

    #[test]
    fn a_connector_is_kept_where_it_could_matter_and_a_detour_contracted() {
        // 0 -0.2- 1 with a connector to 0.95, and 0 -0.5- 2 -0.5- 1.
        let e = ExactPc::new(
            vec![1.0, 1.0, 1.0],
            vec![(0, 1, 0.2), (0, 2, 0.5), (2, 1, 0.5)],
            vec![Some((0, 1, 0.95))],
        );
        let t1 = &e.target_flows()[1];
        // From 2 the direct link (0.5) beats going round by 0 even with the connector
        // (0.5 x 0.95): 2 is contracted into 1 and 0 -> 2 becomes 0 -> 1 at 0.25.
        assert_eq!(t1.contracted, 1);
        assert_eq!(t1.supply[1], 1.5);
        let arc = |prob: f64, connector: Option<usize>| {
            t1.arcs.iter().any(|a| {
                (a.from, a.to) == (0, 1)
                    && (a.prob - prob).abs() < 1e-12
                    && a.connector == connector
            })
        };
        assert!(arc(0.25, None), "{:?}", t1.arcs);
        // The connector beats the detour only when built, so it stays; the link now (0.2)
        // is worse than the detour in every scenario and carries nothing.
        assert!(arc(0.95, Some(0)), "{:?}", t1.arcs);
        assert!(!arc(0.2, None), "{:?}", t1.arcs);
        assert_eq!(t1.arcs.len(), 2);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// In every scenario (every subset of connectors built) and for every target, the
        /// preprocessed network delivers exactly what the whole network does, and no arc of
        /// a flow along optimal paths exceeds its bound.
        #[test]
        fn preprocessing_keeps_every_scenario_and_its_bounds(
            attr in proptest::collection::vec(0.0f64..30.0, 2..8),
            raw_links in proptest::collection::vec((0usize..8, 0usize..8, 0.02f64..1.0), 1..14),
            raw_conn in proptest::collection::vec((0usize..8, 0usize..8, 0.05f64..1.0), 0..6),
        ) {
            let n = attr.len();
            let links: Vec<(usize, usize, f64)> =
                raw_links.iter().map(|&(a, b, p)| (a % n, b % n, p)).collect();
            let improved: Vec<Option<(usize, usize, f64)>> = raw_conn
                .iter()
                .map(|&(a, b, p)| (a % n != b % n).then_some((a % n, b % n, p)))
                .collect();
            let e = ExactPc::new(attr.clone(), links.clone(), improved.clone());
            let flows = e.target_flows();
            let nc = improved.len();
            for mask in 0u32..(1 << nc) {
                let built = |k: usize| mask >> k & 1 == 1;
                let mut full: Vec<FlowArc> = Vec::new();
                for &(a, b, p) in links.iter().chain(
                    improved.iter().enumerate().filter(|(k, _)| built(*k)).filter_map(|(_, i)| i.as_ref()),
                ) {
                    if a != b {
                        full.push(FlowArc { from: a, to: b, prob: p, connector: None });
                        full.push(FlowArc { from: b, to: a, prob: p, connector: None });
                    }
                }
                for tf in &flows {
                    let t = tf.target;
                    let kept: Vec<FlowArc> = tf
                        .arcs
                        .iter()
                        .copied()
                        .filter(|a| a.connector.is_none_or(built))
                        .collect();
                    let want = delivered(n, t, &full, &attr);
                    let got = delivered(n, t, &kept, &tf.supply);
                    prop_assert!((want - got).abs() <= 1e-9 * want.max(1.0), "target {t} mask {mask}: {got} vs {want}");
                    // Route every supply along one optimal path of the kept network.
                    let mut fwd: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
                    for a in &kept {
                        fwd[a.from].push((a.to, (-a.prob.ln()).max(0.0)));
                    }
                    let mut back: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
                    for a in &kept {
                        back[a.to].push((a.from, (-a.prob.ln()).max(0.0)));
                    }
                    let to_t = distances(&back, t);
                    let mut on_arc = vec![0.0; tf.arcs.len()];
                    for s in (0..n).filter(|&s| tf.supply[s] > 0.0 && to_t[s].is_finite()) {
                        let (mut u, mut carried) = (s, tf.supply[s]);
                        while u != t {
                            // The next arc of an optimal path to t.
                            let (j, a) = tf
                                .arcs
                                .iter()
                                .enumerate()
                                .filter(|(_, a)| a.from == u && a.connector.is_none_or(built))
                                .min_by(|x, y| {
                                    let l = |a: &FlowArc| (-a.prob.ln()).max(0.0) + to_t[a.to];
                                    l(x.1).total_cmp(&l(y.1))
                                })
                                .expect("a patch that reaches t has an arc towards it");
                            on_arc[j] += carried;
                            carried *= a.prob;
                            u = a.to;
                        }
                    }
                    for (j, (&f, &b)) in on_arc.iter().zip(&tf.arc_bound).enumerate() {
                        prop_assert!(f <= b * (1.0 + 1e-9) + 1e-12, "target {t} mask {mask} arc {j}: flow {f} above its bound {b}");
                    }
                }
            }
        }
    }
}
