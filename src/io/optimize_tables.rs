//! Candidate tables for `ecocorridor optimize`: sites (`site_id, cost_yuan, area_ha,
//! carbon_tco2e` and optional `benefit, zone, district, locked`) and connectors
//! (`connector_id, cost_yuan, carbon_tco2e, benefit, gap_sites` with site ids separated by `;`,
//! optional `from_patch, to_patch`). Sites may name the sites they exclude (`excludes`).

use std::collections::HashMap;
use std::path::Path;

use super::table_error::{RowProblem, TableError};
use crate::classes::decode_text;
use crate::optimize::{Connector, Lock, Site};

/// A table's lower-cased header and its records with their line numbers.
type Records = (Vec<String>, Vec<(u64, csv::StringRecord)>);

fn records(path: &Path, required: &[&str]) -> Result<Records, TableError> {
    let bytes = std::fs::read(path).map_err(|source| TableError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let malformed = |e: csv::Error| TableError::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let text = decode_text(&bytes);
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(malformed)?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let missing: Vec<String> = required
        .iter()
        .filter(|c| !header.iter().any(|h| h == *c))
        .map(|c| c.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(TableError::MissingColumns {
            path: path.to_path_buf(),
            missing,
            found: header,
        });
    }
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(malformed)?;
        out.push((rec.position().map_or(0, |p| p.line()), rec));
    }
    Ok((header, out))
}

fn field<'a>(header: &[String], rec: &'a csv::StringRecord, name: &str) -> &'a str {
    header
        .iter()
        .position(|h| h == name)
        .and_then(|i| rec.get(i))
        .unwrap_or("")
}

fn number(
    path: &Path,
    line: u64,
    name: &str,
    text: &str,
    default: Option<f64>,
) -> Result<f64, TableError> {
    if text.is_empty() {
        return default.ok_or_else(|| {
            TableError::row(path, line, RowProblem::Missing { field: name.into() })
        });
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(TableError::row(
            path,
            line,
            RowProblem::NotANumber {
                field: name.into(),
                text: text.into(),
            },
        )),
    }
}

/// Sites and the pairs of sites (indices) that exclude each other.
pub type SiteTable = (Vec<Site>, Vec<(usize, usize)>);

/// Reads the sites table: the sites and the pairs of sites (indices, smaller first) that
/// exclude each other (optional column `excludes`: site ids separated by `;`).
///
/// # Errors
/// The file cannot be read, lacks a column, or a row has a bad value ([`TableError`]).
pub fn read_sites(path: &Path) -> Result<SiteTable, TableError> {
    let (h, recs) = records(path, &["site_id", "cost_yuan", "area_ha", "carbon_tco2e"])?;
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    let mut excludes = Vec::new();
    for (line, rec) in recs {
        let id = field(&h, &rec, "site_id").to_string();
        if let Some(prev) = seen.insert(id.clone(), line) {
            return Err(TableError::row(
                path,
                line,
                RowProblem::Duplicate {
                    what: "site",
                    id,
                    first_line: prev,
                },
            ));
        }
        let lock = match field(&h, &rec, "locked").to_ascii_lowercase().as_str() {
            "" | "0" | "free" | "no" => Lock::Free,
            "in" | "1" => Lock::In,
            "out" | "-1" => Lock::Out,
            other => {
                return Err(TableError::row(
                    path,
                    line,
                    RowProblem::NotAWord {
                        field: "locked".into(),
                        text: other.into(),
                        expected: "write in, out or leave it empty",
                    },
                ))
            }
        };
        let zone = field(&h, &rec, "zone");
        let district = field(&h, &rec, "district");
        let excl: Vec<String> = field(&h, &rec, "excludes")
            .split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect();
        if !excl.is_empty() {
            excludes.push((line, out.len(), excl));
        }
        let num = |name: &str, default| number(path, line, name, field(&h, &rec, name), default);
        out.push(Site {
            cost_yuan: num("cost_yuan", None)?,
            area_ha: num("area_ha", None)?,
            carbon_tco2e: num("carbon_tco2e", None)?,
            benefit: num("benefit", Some(0.0))?,
            zones: zone
                .split(';')
                .map(str::trim)
                .filter(|z| !z.is_empty())
                .map(str::to_string)
                .collect(),
            district: (!district.is_empty()).then(|| district.to_string()),
            lock,
            id,
        });
    }
    let index: HashMap<&str, usize> = out
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut pairs = std::collections::BTreeSet::new();
    for (line, i, ids) in excludes {
        for e in ids {
            let j = *index.get(e.as_str()).ok_or_else(|| {
                TableError::row(
                    path,
                    line,
                    RowProblem::Unknown {
                        who: format!("the exclusions of site `{}`", out[i].id),
                        what: "site",
                        id: e.clone(),
                        table: "sites table",
                    },
                )
            })?;
            if j == i {
                return Err(TableError::row(
                    path,
                    line,
                    RowProblem::SelfReference {
                        who: format!("the exclusion of site `{e}`"),
                    },
                ));
            }
            pairs.insert((i.min(j), i.max(j)));
        }
    }
    Ok((out, pairs.into_iter().collect()))
}

/// Optional `from_patch` and `to_patch` columns: both or neither.
fn ends(
    path: &Path,
    line: u64,
    h: &[String],
    rec: &csv::StringRecord,
) -> Result<Option<(u32, u32)>, TableError> {
    let (a, b) = (field(h, rec, "from_patch"), field(h, rec, "to_patch"));
    if a.is_empty() && b.is_empty() {
        return Ok(None);
    }
    let parse = |t: &str, name: &str| {
        t.parse::<u32>().map_err(|_| {
            TableError::row(
                path,
                line,
                RowProblem::NotAnId {
                    field: name.into(),
                    text: t.into(),
                },
            )
        })
    };
    Ok(Some((parse(a, "from_patch")?, parse(b, "to_patch")?)))
}

/// Reads the connectors table; gap sites are resolved against `sites`.
///
/// # Errors
/// The file cannot be read, lacks a column, or a row has a bad value ([`TableError`]).
pub fn read_connectors(path: &Path, sites: &[Site]) -> Result<Vec<Connector>, TableError> {
    let (h, recs) = records(
        path,
        &[
            "connector_id",
            "cost_yuan",
            "carbon_tco2e",
            "benefit",
            "gap_sites",
        ],
    )?;
    let index: HashMap<&str, usize> = sites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut out = Vec::new();
    for (line, rec) in recs {
        let id = field(&h, &rec, "connector_id").to_string();
        let mut gap_sites = Vec::new();
        for g in field(&h, &rec, "gap_sites")
            .split(';')
            .map(str::trim)
            .filter(|g| !g.is_empty())
        {
            gap_sites.push(*index.get(g).ok_or_else(|| {
                TableError::row(
                    path,
                    line,
                    RowProblem::Unknown {
                        who: format!("connector `{id}`"),
                        what: "site",
                        id: g.into(),
                        table: "sites table",
                    },
                )
            })?);
        }
        let num = |name: &str, default| number(path, line, name, field(&h, &rec, name), default);
        out.push(Connector {
            cost_yuan: num("cost_yuan", None)?,
            carbon_tco2e: num("carbon_tco2e", None)?,
            benefit: num("benefit", Some(0.0))?,
            gap_sites,
            ends: ends(path, line, &h, &rec)?,
            id,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn sites_and_connectors_read_with_locks_exclusions_and_gap_sites() {
        let dir = tempfile::tempdir().unwrap();
        let s = file(
            dir.path(),
            "s.csv",
            "\u{feff}Site_ID,cost_yuan,area_ha,carbon_tco2e,benefit,zone,district,locked,excludes\n\
             a,100,1.5,10,0.5,redline,East,in,b\n\
             b,200,2,20,,,,out,\n\
             c,50,1,5,1,,,,\n",
        );
        let (sites, excl) = read_sites(&s).unwrap();
        assert_eq!(sites.len(), 3);
        assert_eq!(
            (sites[0].lock, sites[1].lock, sites[2].lock),
            (Lock::In, Lock::Out, Lock::Free)
        );
        assert_eq!(sites[0].zones, vec!["redline".to_string()]);
        assert_eq!(sites[0].district.as_deref(), Some("East"));
        assert_eq!(sites[1].benefit, 0.0);
        assert_eq!(excl, vec![(0, 1)]);
        let c = file(
            dir.path(),
            "c.csv",
            "connector_id,cost_yuan,carbon_tco2e,benefit,gap_sites,from_patch,to_patch\nk,5,0,2,a;c,1,2\n",
        );
        let conns = read_connectors(&c, &sites).unwrap();
        assert_eq!(conns[0].gap_sites, vec![0, 2]);
        assert_eq!(conns[0].ends, Some((1, 2)));
    }

    #[test]
    fn bad_tables_are_refused_naming_the_file_line_and_value() {
        let dir = tempfile::tempdir().unwrap();
        let missing = file(dir.path(), "m.csv", "site_id,cost_yuan\na,1\n");
        let e = read_sites(&missing).unwrap_err().to_string();
        assert!(
            e.contains("lacks the column(s) area_ha, carbon_tco2e") && e.contains("m.csv"),
            "{e}"
        );
        let twice = file(
            dir.path(),
            "t.csv",
            "site_id,cost_yuan,area_ha,carbon_tco2e\na,1,1,1\na,2,2,2\n",
        );
        match read_sites(&twice).unwrap_err() {
            TableError::Row { line, problem, .. } => assert_eq!(
                (line, problem),
                (
                    3,
                    RowProblem::Duplicate {
                        what: "site",
                        id: "a".into(),
                        first_line: 2
                    }
                )
            ),
            other => panic!("{other}"),
        }
        let nan = file(
            dir.path(),
            "n.csv",
            "site_id,cost_yuan,area_ha,carbon_tco2e\na,lots,1,1\n",
        );
        let e = read_sites(&nan).unwrap_err().to_string();
        assert!(
            e.contains("line 2: `cost_yuan` is `lots`, not a number"),
            "{e}"
        );
        let lock = file(
            dir.path(),
            "l.csv",
            "site_id,cost_yuan,area_ha,carbon_tco2e,locked\na,1,1,1,maybe\n",
        );
        let e = read_sites(&lock).unwrap_err().to_string();
        assert!(e.contains("`locked` is `maybe`; write in, out"), "{e}");
        let sites = read_sites(&file(
            dir.path(),
            "ok.csv",
            "site_id,cost_yuan,area_ha,carbon_tco2e\na,1,1,1\n",
        ))
        .unwrap()
        .0;
        let unknown = file(
            dir.path(),
            "c.csv",
            "connector_id,cost_yuan,carbon_tco2e,benefit,gap_sites\nk,5,0,2,zz\n",
        );
        let e = read_connectors(&unknown, &sites).unwrap_err().to_string();
        assert!(
            e.contains("connector `k` names site `zz`, which is not in the sites table"),
            "{e}"
        );
    }
}
