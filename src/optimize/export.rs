//! The linear program as CPLEX LP and free MPS text, for any other solver.

use super::*;

fn fmt_num(v: f64) -> String {
    // Shortest text that reads back to the same f64.
    format!("{v}")
}

impl LinearModel {
    fn term(&self, coef: f64, v: usize) -> String {
        format!(
            "{} {} {}",
            if coef < 0.0 { "-" } else { "+" },
            fmt_num(coef.abs()),
            self.names[v]
        )
    }

    /// CPLEX LP text (readable by HiGHS, CPLEX, Gurobi, SCIP, GLPK).
    pub fn to_lp(&self) -> String {
        let mut out = String::from("\\ ecocorridor restoration plan\n");
        for c in &self.comments {
            out.push_str(&format!("\\ {c}\n"));
        }
        let obj: Vec<String> = self
            .objective
            .iter()
            .enumerate()
            .map(|(v, &c)| self.term(c, v))
            .collect();
        out.push_str(&format!("Maximize\n obj: {}\nSubject To\n", obj.join(" ")));
        for r in &self.rows {
            let t: Vec<String> = r.terms.iter().map(|&(v, c)| self.term(c, v)).collect();
            let sense = match r.sense {
                Sense::Le => "<=",
                Sense::Ge => ">=",
                Sense::Eq => "=",
            };
            out.push_str(&format!(
                " {}: {} {sense} {}\n",
                r.name,
                t.join(" "),
                fmt_num(r.rhs)
            ));
        }
        let cont: Vec<usize> = (0..self.names.len()).filter(|&v| !self.binary[v]).collect();
        if !cont.is_empty() {
            out.push_str("Bounds\n");
            for v in cont {
                out.push_str(&format!(
                    " {} <= {} <= {}\n",
                    fmt_num(self.lower[v]),
                    self.names[v],
                    fmt_num(self.upper[v])
                ));
            }
        }
        let bins: Vec<&str> = (0..self.names.len())
            .filter(|&v| self.binary[v])
            .map(|v| self.names[v].as_str())
            .collect();
        out.push_str(&format!("Binaries\n {}\nEnd\n", bins.join(" ")));
        out
    }

    /// Free MPS text with an `OBJSENSE MAX` section (HiGHS, CPLEX, Gurobi, SCIP read it).
    pub fn to_mps(&self) -> String {
        let mut out = String::from("NAME ecocorridor\nOBJSENSE\n    MAX\nROWS\n N obj\n");
        for r in &self.rows {
            let s = match r.sense {
                Sense::Le => "L",
                Sense::Ge => "G",
                Sense::Eq => "E",
            };
            out.push_str(&format!(" {s} {}\n", r.name));
        }
        // Column-wise coefficients.
        let mut cols: Vec<Vec<(usize, f64)>> = vec![Vec::new(); self.names.len()];
        for (k, r) in self.rows.iter().enumerate() {
            for &(v, c) in &r.terms {
                cols[v].push((k, c));
            }
        }
        out.push_str("COLUMNS\n");
        let mut in_int = false;
        for (v, entries) in cols.iter().enumerate() {
            if self.binary[v] != in_int {
                out.push_str(if self.binary[v] {
                    "    MARKER 'MARKER' 'INTORG'\n"
                } else {
                    "    MARKER 'MARKER' 'INTEND'\n"
                });
                in_int = self.binary[v];
            }
            out.push_str(&format!(
                "    {} obj {}\n",
                self.names[v],
                fmt_num(self.objective[v])
            ));
            for &(k, c) in entries {
                out.push_str(&format!(
                    "    {} {} {}\n",
                    self.names[v],
                    self.rows[k].name,
                    fmt_num(c)
                ));
            }
        }
        if in_int {
            out.push_str("    MARKER 'MARKER' 'INTEND'\n");
        }
        out.push_str("RHS\n");
        for r in &self.rows {
            if r.rhs != 0.0 {
                out.push_str(&format!("    RHS {} {}\n", r.name, fmt_num(r.rhs)));
            }
        }
        out.push_str("BOUNDS\n");
        for v in 0..self.names.len() {
            if self.binary[v] {
                out.push_str(&format!(" BV BND {}\n", self.names[v]));
            } else {
                if self.lower[v] != 0.0 {
                    out.push_str(&format!(
                        " LO BND {} {}\n",
                        self.names[v],
                        fmt_num(self.lower[v])
                    ));
                }
                out.push_str(&format!(
                    " UP BND {} {}\n",
                    self.names[v],
                    fmt_num(self.upper[v])
                ));
            }
        }
        out.push_str("ENDATA\n");
        out
    }
}

/// The model in CPLEX LP format (see [`LinearModel::to_lp`]).
pub fn to_lp(p: &Problem) -> String {
    linear_model(p).to_lp()
}

/// The model in free MPS format (see [`LinearModel::to_mps`]).
pub fn to_mps(p: &Problem) -> String {
    linear_model(p).to_mps()
}
