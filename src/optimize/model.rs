//! The MILP as a plain linear program: binaries, rows and the connected-network flow.

use super::*;

/// A constraint's sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sense {
    /// `<=`.
    Le,
    /// `>=`.
    Ge,
    /// `=`.
    Eq,
}

/// One constraint row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Name (for LP/MPS files).
    pub name: String,
    /// (variable, coefficient).
    pub terms: Vec<(usize, f64)>,
    /// Sense.
    pub sense: Sense,
    /// Right-hand side.
    pub rhs: f64,
}

/// The MILP as plain data: variables `x<i>` (sites), `y<j>` (connectors), both binary, then
/// continuous flows `f<k>` in `[lower, upper]`; the objective is maximised.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    /// Variable names.
    pub names: Vec<String>,
    /// Whether each variable is binary (else continuous in `[lower, upper]`).
    pub binary: Vec<bool>,
    /// Lower bounds of continuous variables (0 but for exact mode's constant `pc_now`).
    pub lower: Vec<f64>,
    /// Upper bounds of continuous variables.
    pub upper: Vec<f64>,
    /// Objective coefficients.
    pub objective: Vec<f64>,
    /// Constraints.
    pub rows: Vec<Row>,
    /// Comments naming what the variables stand for.
    pub comments: Vec<String>,
    /// Flow edges of the connected-network constraint: (variable of the flow a -> b, a, b,
    /// connector); the flow b -> a is the next variable.
    pub flows: Vec<(usize, u32, u32, Option<usize>)>,
}

/// Builds the model of a problem (no checks; see [`solve`]).
pub fn linear_model(p: &Problem) -> LinearModel {
    let (gn, bn) = norms(p);
    let (ns, nc) = (p.sites.len(), p.connectors.len());
    let mut m = LinearModel {
        names: (0..ns)
            .map(|i| format!("x{}", i + 1))
            .chain((0..nc).map(|j| format!("y{}", j + 1)))
            .collect(),
        binary: vec![true; ns + nc],
        lower: vec![0.0; ns + nc],
        upper: vec![1.0; ns + nc],
        objective: p
            .sites
            .iter()
            .map(|s| (s.carbon_tco2e, s.benefit))
            .chain(p.connectors.iter().map(|c| (c.carbon_tco2e, c.benefit)))
            .map(|(g, b)| {
                // Exact mode: the connectivity term is the flow block's, not the benefits.
                let b = if p.exact.is_some() { 0.0 } else { b };
                p.w_carbon * g / gn + p.w_benefit * b / bn
            })
            .collect(),
        rows: Vec::new(),
        flows: Vec::new(),
        comments: p
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| format!("x{} = site {}", i + 1, s.id))
            .chain(
                p.connectors
                    .iter()
                    .enumerate()
                    .map(|(j, c)| format!("y{} = connector {}", j + 1, c.id)),
            )
            .collect(),
    };
    let x = |i: usize| i;
    let y = |j: usize| ns + j;
    // Every site and connector with a coefficient each.
    let all = |fs: &dyn Fn(&Site) -> f64, fc: &dyn Fn(&Connector) -> f64| -> Vec<(usize, f64)> {
        let sites = p.sites.iter().enumerate().map(|(i, s)| (x(i), fs(s)));
        sites
            .chain(p.connectors.iter().enumerate().map(|(j, c)| (y(j), fc(c))))
            .collect()
    };
    m.rows.push(Row {
        name: "budget".into(),
        terms: all(&|s| s.cost_yuan, &|c| c.cost_yuan),
        sense: Sense::Le,
        rhs: p.budget_yuan,
    });
    for (j, c) in p.connectors.iter().enumerate() {
        let gaps: BTreeSet<usize> = c.gap_sites.iter().copied().collect();
        for g in gaps {
            m.rows.push(Row {
                name: format!("gap_y{}_x{}", j + 1, g + 1),
                terms: vec![(y(j), 1.0), (x(g), -1.0)],
                sense: Sense::Le,
                rhs: 0.0,
            });
        }
    }
    for (i, s) in p.sites.iter().enumerate() {
        let fix = if forbidden(p, s) {
            Some(0.0)
        } else if s.lock == Lock::In {
            Some(1.0)
        } else {
            None
        };
        if let Some(v) = fix {
            m.rows.push(Row {
                name: format!("fixed_x{}", i + 1),
                terms: vec![(x(i), 1.0)],
                sense: Sense::Eq,
                rhs: v,
            });
        }
    }
    add_caps(p, &mut m);
    if let Some(min) = p.carbon_min {
        m.rows.push(Row {
            name: "carbon_min".into(),
            terms: all(&|s| s.carbon_tco2e, &|c| c.carbon_tco2e),
            sense: Sense::Ge,
            rhs: min,
        });
    }
    let pairs: BTreeSet<(usize, usize)> = p
        .exclusive
        .iter()
        .map(|&(a, b)| (a.min(b), a.max(b)))
        .collect();
    for (a, b) in pairs {
        m.rows.push(Row {
            name: format!("exclusive_x{}_x{}", a + 1, b + 1),
            terms: vec![(x(a), 1.0), (x(b), 1.0)],
            sense: Sense::Le,
            rhs: 1.0,
        });
    }
    if let Some(c) = &p.connect {
        add_flow(p, c, &mut m);
    }
    if let Some(e) = &p.exact {
        add_exact_pc(p, e, &mut m);
    }
    if let Some(c) = &p.coverage {
        add_coverage(c, &mut m);
    }
    m
}

/// The zone area and district budget caps: one row per cap over the sites it concerns
/// (skipped when none is).
fn add_caps(p: &Problem, m: &mut LinearModel) {
    // A cap row over the sites that `member` picks (skipped when none is).
    let mut cap_row = |name: String,
                       what: String,
                       member: &dyn Fn(&Site) -> bool,
                       coef: &dyn Fn(&Site) -> f64,
                       cap: f64| {
        let terms: Vec<(usize, f64)> = p
            .sites
            .iter()
            .enumerate()
            .filter(|(_, s)| member(s))
            .map(|(i, s)| (i, coef(s)))
            .collect();
        if !terms.is_empty() {
            m.comments.push(format!("{name} = {what}"));
            m.rows.push(Row {
                name,
                terms,
                sense: Sense::Le,
                rhs: cap,
            });
        }
    };
    for (k, (z, &cap)) in p.zone_area_caps.iter().enumerate() {
        cap_row(
            format!("zone_cap_{}", k + 1),
            format!("zone {z}"),
            &|s| s.zones.contains(z),
            &|s| s.area_ha,
            cap,
        );
    }
    for (k, (d, &cap)) in p.district_budget_caps.iter().enumerate() {
        cap_row(
            format!("district_cap_{}", k + 1),
            format!("district {d}"),
            &|s| s.district.as_deref() == Some(d.as_str()),
            &|s| s.cost_yuan,
            cap,
        );
    }
}

/// The maximal-covering rows of park access (see [`Coverage`]).
fn add_coverage(c: &Coverage, m: &mut LinearModel) {
    let norm = c.norm();
    let mut persons: Vec<(usize, f64)> = Vec::new();
    for (g, (n, by)) in c.groups.iter().enumerate() {
        let z = m.names.len();
        m.names.push(format!("z{}", g + 1));
        m.binary.push(false);
        m.lower.push(0.0);
        m.upper.push(1.0);
        m.objective.push(c.weight * n / norm);
        let mut terms = vec![(z, 1.0)];
        terms.extend(by.iter().map(|&s| (s, -1.0)));
        m.rows.push(Row {
            name: format!("cover_z{}", g + 1),
            terms,
            sense: Sense::Le,
            rhs: 0.0,
        });
        persons.push((z, *n));
    }
    if let Some(min) = c.min_persons {
        m.rows.push(Row {
            name: "min_access".into(),
            terms: persons,
            sense: Sense::Ge,
            rhs: min,
        });
    }
    m.comments.push(format!(
        "z<g> = residents of group g brought within the walk of a park (1 when a site covering them is chosen); objective adds w_a persons_g z_g / {norm}"
    ));
}

/// The generalized-flow rows of exact mode, per target patch after preprocessing (see
/// [`ExactPc`] and `exact`'s module docs).
fn add_exact_pc(p: &Problem, e: &ExactPc, m: &mut LinearModel) {
    let ns = p.sites.len();
    let flows = e.target_flows();
    let new_var = |m: &mut LinearModel, name: String, upper: f64, objective: f64| {
        let v = m.names.len();
        m.names.push(name);
        m.binary.push(false);
        m.lower.push(0.0);
        m.upper.push(upper);
        m.objective.push(objective);
        v
    };
    // The flows count the whole PC_num, the objective only its gain: a variable fixed at 1
    // carries PC_num now, so the model's objective is the plan's (and HiGHS' relative gap
    // is on the gain, the figure the gap is reported for).
    m.names.push("pc_now".into());
    m.binary.push(false);
    m.lower.push(1.0);
    m.upper.push(1.0);
    m.objective.push(-p.w_benefit * e.base / e.scale);
    let (mut arcs, mut contracted) = (0, 0);
    for tf in &flows {
        let t = tf.target;
        arcs += tf.arcs.len();
        contracted += tf.contracted;
        // Balance terms per patch: (variable, coefficient).
        let mut balance: Vec<Vec<(usize, f64)>> = vec![Vec::new(); e.attr.len()];
        let f = new_var(
            m,
            format!("pc_f{}", t + 1),
            tf.bound[t],
            p.w_benefit * e.attr[t] / e.scale,
        );
        balance[t].push((f, 1.0));
        for (j, a) in tf.arcs.iter().enumerate() {
            let v = new_var(m, format!("pc_t{}_a{}", t + 1, j + 1), tf.arc_bound[j], 0.0);
            balance[a.from].push((v, 1.0));
            balance[a.to].push((v, -a.prob));
            if let Some(k) = a.connector {
                m.rows.push(Row {
                    name: format!("pc_t{}_a{}_needs_y{}", t + 1, j + 1, k + 1),
                    terms: vec![(v, 1.0), (ns + k, -tf.arc_bound[j])],
                    sense: Sense::Le,
                    rhs: 0.0,
                });
            }
        }
        for &u in &tf.rows {
            m.rows.push(Row {
                name: format!("pc_t{}_patch{}", t + 1, u + 1),
                terms: std::mem::take(&mut balance[u]),
                sense: Sense::Le,
                rhs: tf.supply[u],
            });
        }
    }
    m.comments.push(
        "pc_now = 1: its objective coefficient takes PC_num now off the flows' PC_num".into(),
    );
    m.comments.push(format!(
        "pc_* = exact PC: per target patch t, a generalized flow (arcs multiply by their probability) absorbed as pc_f<t>; objective adds w_k a_t pc_f<t> / {}",
        e.scale
    ));
    m.comments.push(format!(
        "pc_t<t>_a<j> = flow on arc j of target t's network after preprocessing: {arcs} arcs over {} targets (of {} without it), {contracted} patches contracted",
        flows.len(),
        flows.len() * 2 * (e.links.len() + e.improved.iter().flatten().count()),
    ));
}

/// The single-commodity flow rows of the connected-network constraint.
fn add_flow(p: &Problem, c: &Connect, m: &mut LinearModel) {
    if c.patches.len() < 2 {
        return;
    }
    let k = (c.patches.len() - 1) as f64;
    let ns = p.sites.len();
    // Edges: (a, b, connector index or None for existing).
    let mut edges: Vec<(u32, u32, Option<usize>)> =
        c.existing.iter().map(|&(a, b)| (a, b, None)).collect();
    for (l, con) in p.connectors.iter().enumerate() {
        if let Some((a, b)) = con.ends {
            edges.push((a, b, Some(l)));
        }
    }
    // A loop joins nothing.
    edges.retain(|&(a, b, _)| a != b);
    let mut nodes: BTreeSet<u32> = c.patches.iter().copied().collect();
    for &(a, b, _) in &edges {
        nodes.insert(a);
        nodes.insert(b);
    }
    let mut balance: BTreeMap<u32, Vec<(usize, f64)>> =
        nodes.iter().map(|&v| (v, Vec::new())).collect();
    for (e, &(a, b, l)) in edges.iter().enumerate() {
        let fwd = m.names.len();
        m.flows.push((fwd, a, b, l));
        for (dir, (from, to)) in [(a, b), (b, a)].into_iter().enumerate() {
            let v = fwd + dir;
            m.names
                .push(format!("f{}", v - ns - p.connectors.len() + 1));
            m.binary.push(false);
            m.lower.push(0.0);
            m.upper.push(k);
            m.objective.push(0.0);
            m.comments.push(format!(
                "f{} = flow from patch {from} to patch {to} over {}",
                v - ns - p.connectors.len() + 1,
                match l {
                    Some(l) => format!("connector {}", p.connectors[l].id),
                    None => format!("existing link {e}"),
                }
            ));
            balance.get_mut(&to).expect("node").push((v, 1.0));
            balance.get_mut(&from).expect("node").push((v, -1.0));
        }
        if let Some(l) = l {
            m.rows.push(Row {
                name: format!("flow_needs_y{}_{}", l + 1, e + 1),
                terms: vec![(fwd, 1.0), (fwd + 1, 1.0), (ns + l, -k)],
                sense: Sense::Le,
                rhs: 0.0,
            });
        }
    }
    let root = c.patches[0];
    let required: BTreeSet<u32> = c.patches[1..].iter().copied().collect();
    for (v, terms) in balance {
        let rhs = if v == root {
            -k
        } else if required.contains(&v) {
            1.0
        } else {
            0.0
        };
        m.rows.push(Row {
            name: format!("flow_patch_{v}"),
            terms,
            sense: Sense::Eq,
            rhs,
        });
    }
}
