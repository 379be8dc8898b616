//! The patch network the connected-network constraint speaks about, as a petgraph graph:
//! patches are nodes (weighted by their id), existing links and candidate connectors are
//! edges (weighted by what they are). The feasibility check, the greedy's Steiner seeding and
//! the constraint's test all read it.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::visit::{Dfs, EdgeFiltered, EdgeRef};

use super::{Connect, Connector};

/// What joins two patches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// A link that works today.
    Existing,
    /// Candidate connector `l` (index into the problem's connectors).
    Connector(usize),
}

/// Patches and the links between them.
pub(crate) struct PatchLinks {
    graph: UnGraph<u32, Via>,
    node: BTreeMap<u32, NodeIndex>,
}

impl PatchLinks {
    /// The existing links of `c` and every connector with known ends that `usable` accepts.
    pub(crate) fn new(
        c: &Connect,
        connectors: &[Connector],
        usable: &dyn Fn(usize) -> bool,
    ) -> PatchLinks {
        let mut g = PatchLinks {
            graph: UnGraph::default(),
            node: BTreeMap::new(),
        };
        for &p in &c.patches {
            g.add_node(p);
        }
        for &(a, b) in &c.existing {
            g.add_edge(a, b, Via::Existing);
        }
        for (l, k) in connectors.iter().enumerate() {
            if let (Some((a, b)), true) = (k.ends, usable(l)) {
                g.add_edge(a, b, Via::Connector(l));
            }
        }
        g
    }

    fn add_node(&mut self, id: u32) -> NodeIndex {
        *self
            .node
            .entry(id)
            .or_insert_with(|| self.graph.add_node(id))
    }

    fn add_edge(&mut self, a: u32, b: u32, via: Via) {
        let (na, nb) = (self.add_node(a), self.add_node(b));
        self.graph.add_edge(na, nb, via);
    }

    /// The patches joined to `root` through links that `open` accepts (`root` included).
    pub(crate) fn joined(&self, root: u32, open: impl Fn(Via) -> bool) -> BTreeSet<u32> {
        let Some(&start) = self.node.get(&root) else {
            return BTreeSet::from([root]);
        };
        let filtered = EdgeFiltered::from_fn(&self.graph, |e| open(*e.weight()));
        let mut dfs = Dfs::new(&filtered, start);
        let mut out = BTreeSet::new();
        while let Some(n) = dfs.next(&filtered) {
            out.insert(self.graph[n]);
        }
        out
    }

    /// The links at patch `id`: (patch at the other end, what joins them), in the order they
    /// were given (existing links, then connectors by index), so searches over them break ties
    /// the same way every run.
    pub(crate) fn links_of(&self, id: u32) -> Vec<(u32, Via)> {
        let Some(&n) = self.node.get(&id) else {
            return Vec::new();
        };
        let mut out: Vec<(usize, u32, Via)> = self
            .graph
            .edges(n)
            .map(|e| {
                let other = if e.source() == n {
                    e.target()
                } else {
                    e.source()
                };
                (e.id().index(), self.graph[other], *e.weight())
            })
            .collect();
        out.sort_by_key(|&(k, ..)| k);
        out.into_iter().map(|(_, w, via)| (w, via)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(ends: (u32, u32)) -> Connector {
        Connector {
            id: format!("{}-{}", ends.0, ends.1),
            cost_yuan: 1.0,
            carbon_tco2e: 0.0,
            benefit: 0.0,
            gap_sites: Vec::new(),
            ends: Some(ends),
        }
    }

    #[test]
    fn joined_follows_only_open_links() {
        // 1 - 2 exists; 2 - 3 and 3 - 4 are connectors 0 and 1; 5 is alone.
        let c = Connect {
            patches: vec![1, 4, 5],
            existing: vec![(1, 2)],
        };
        let k = [connector((2, 3)), connector((3, 4))];
        let g = PatchLinks::new(&c, &k, &|_| true);
        assert_eq!(g.joined(1, |v| v == Via::Existing), BTreeSet::from([1, 2]));
        assert_eq!(g.joined(1, |_| true), BTreeSet::from([1, 2, 3, 4]));
        assert_eq!(
            g.joined(1, |v| v != Via::Connector(1)),
            BTreeSet::from([1, 2, 3])
        );
        assert_eq!(g.joined(5, |_| true), BTreeSet::from([5]));
        assert_eq!(g.joined(9, |_| true), BTreeSet::from([9]));
        // Unusable connectors are not in the graph.
        let g = PatchLinks::new(&c, &k, &|l| l == 0);
        assert_eq!(g.joined(1, |_| true), BTreeSet::from([1, 2, 3]));
        assert_eq!(
            g.links_of(2),
            vec![(1, Via::Existing), (3, Via::Connector(0))]
        );
    }
}
