//! Reading patch and link tables for `ecocorridor network`: CSV with a header
//! (`patch_id, area_ha[, mean_resistance]` and `from_patch, to_patch, lcd`), or Conefor's own
//! whitespace-separated node (`id attribute`) and distance (`id1 id2 distance`) files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::table_error::{RowProblem, TableError};
use crate::classes::decode_text;

/// A patch row.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRow {
    /// Patch id.
    pub id: u32,
    /// Attribute (area, ha).
    pub area_ha: f64,
    /// Mean resistance (for the gravity model), when given.
    pub mean_resistance: Option<f64>,
}

/// A table's header names (when it has a header) and its rows as (1-based line, fields).
type Rows = (Option<Vec<String>>, Vec<(u64, Vec<String>)>);

/// Reads a table's rows.
fn rows(path: &Path) -> Result<Rows, TableError> {
    let bytes = std::fs::read(path).map_err(|source| TableError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = decode_text(&bytes);
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .peekable();
    let split = |l: &str| -> Vec<String> {
        if l.contains(',') {
            l.split(',')
                .map(|f| f.trim().trim_matches('"').to_string())
                .collect()
        } else {
            l.split_whitespace().map(str::to_string).collect()
        }
    };
    let header = match lines.peek() {
        Some((_, l)) if split(l).first().is_some_and(|f| f.parse::<f64>().is_err()) => Some(
            split(l)
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        ),
        _ => None,
    };
    if header.is_some() {
        lines.next();
    }
    Ok((
        header,
        lines.map(|(i, l)| (i as u64 + 1, split(l))).collect(),
    ))
}

/// The index of the column named by one of `names` (the first is the documented name), or
/// `default` in a table without a header.
fn column(
    header: &Option<Vec<String>>,
    names: &[&str],
    default: usize,
    path: &Path,
) -> Result<usize, TableError> {
    match header {
        None => Ok(default),
        Some(h) => h
            .iter()
            .position(|c| names.contains(&c.as_str()))
            .ok_or_else(|| TableError::MissingColumns {
                path: path.to_path_buf(),
                missing: vec![names[0].to_string()],
                found: h.clone(),
            }),
    }
}

/// One row of a table: its file, line and fields.
struct Row<'a> {
    path: &'a Path,
    line: u64,
    fields: &'a [String],
}

impl Row<'_> {
    fn error(&self, problem: RowProblem) -> TableError {
        TableError::row(self.path, self.line, problem)
    }

    fn text(&self, i: usize, field: &str) -> Result<&str, TableError> {
        self.fields
            .get(i)
            .map(String::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                self.error(RowProblem::Missing {
                    field: field.into(),
                })
            })
    }

    fn number(&self, i: usize, field: &str) -> Result<f64, TableError> {
        let t = self.text(i, field)?;
        t.parse::<f64>().map_err(|_| {
            self.error(RowProblem::NotANumber {
                field: field.into(),
                text: t.into(),
            })
        })
    }

    fn id(&self, i: usize, field: &str) -> Result<u32, TableError> {
        let t = self.text(i, field)?;
        match t.parse::<f64>() {
            Ok(v) if v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 => Ok(v as u32),
            _ => Err(self.error(RowProblem::NotAnId {
                field: field.into(),
                text: t.into(),
            })),
        }
    }
}

/// Reads patches; ids must be unique, areas finite and >= 0.
///
/// # Errors
/// The file cannot be read, lacks a column, or a row has a bad value ([`TableError`]).
pub fn read_patches(path: &Path) -> Result<Vec<PatchRow>, TableError> {
    let (header, rows) = rows(path)?;
    let ci = column(&header, &["patch_id", "id", "node"], 0, path)?;
    let ca = column(&header, &["area_ha", "area", "attribute"], 1, path)?;
    let cr = header
        .as_ref()
        .and_then(|h| h.iter().position(|c| c == "mean_resistance"));
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for (line, fields) in &rows {
        let row = Row {
            path,
            line: *line,
            fields,
        };
        let pid = row.id(ci, "patch_id")?;
        let area = row.number(ca, "area_ha")?;
        if !(area.is_finite() && area >= 0.0) {
            return Err(row.error(RowProblem::OutOfRange {
                field: "area_ha".into(),
                value: area,
                rule: "areas must be finite and >= 0 ha",
            }));
        }
        if let Some(prev) = seen.insert(pid, *line) {
            return Err(row.error(RowProblem::Duplicate {
                what: "patch",
                id: pid.to_string(),
                first_line: prev,
            }));
        }
        let mean_resistance = match cr {
            Some(c) => Some(row.number(c, "mean_resistance")?),
            None => None,
        };
        out.push(PatchRow {
            id: pid,
            area_ha: area,
            mean_resistance,
        });
    }
    if out.is_empty() {
        return Err(TableError::Empty {
            path: path.to_path_buf(),
            what: "patch",
        });
    }
    Ok(out)
}

/// Reads links (from, to, distance); a pair listed in both directions is one link (the
/// smaller distance). Distances must be finite and > 0; ids must be in `patches`.
///
/// # Errors
/// The file cannot be read, lacks a column, or a row has a bad value ([`TableError`]).
pub fn read_links(path: &Path, patches: &[PatchRow]) -> Result<Vec<(u32, u32, f64)>, TableError> {
    let (header, rows) = rows(path)?;
    let cf = column(&header, &["from_patch", "from", "id1"], 0, path)?;
    let ct = column(&header, &["to_patch", "to", "id2"], 1, path)?;
    let cd = column(&header, &["lcd", "distance", "cwd"], 2, path)?;
    let known: BTreeSet<u32> = patches.iter().map(|p| p.id).collect();
    let mut links: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    for (line, fields) in &rows {
        let row = Row {
            path,
            line: *line,
            fields,
        };
        let (a, b) = (row.id(cf, "from_patch")?, row.id(ct, "to_patch")?);
        let d = row.number(cd, "lcd")?;
        if let Some(p) = [a, b].into_iter().find(|p| !known.contains(p)) {
            return Err(row.error(RowProblem::Unknown {
                who: "the link".into(),
                what: "patch",
                id: p.to_string(),
                table: "patch table",
            }));
        }
        if a == b {
            return Err(row.error(RowProblem::SelfReference {
                who: format!("the link of patch {a}"),
            }));
        }
        if !(d.is_finite() && d > 0.0) {
            return Err(row.error(RowProblem::OutOfRange {
                field: "lcd".into(),
                value: d,
                rule: "distances must be finite and > 0",
            }));
        }
        let e = links.entry((a.min(b), a.max(b))).or_insert(d);
        *e = e.min(d);
    }
    Ok(links.into_iter().map(|((a, b), d)| (a, b, d)).collect())
}

/// Pairs of focal regions to compute, as listed in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairList {
    /// The listed pairs are the ones to leave out (Circuitscape's `mode exclude`).
    pub exclude: bool,
    /// The pairs, each (smaller id, larger id), in file order without repeats.
    pub pairs: Vec<(u32, u32)>,
}

/// Reads a pairs file: two region ids per line (comma or whitespace separated; a header line
/// and `#` comments allowed), optionally Circuitscape's first line `mode include` or
/// `mode exclude`.
///
/// # Errors
/// The file cannot be read, a line does not hold two ids, or an id is paired with itself.
pub fn read_pairs(path: &Path) -> Result<PairList, TableError> {
    let bytes = std::fs::read(path).map_err(|source| TableError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = decode_text(&bytes);
    let mut exclude = false;
    let mut seen = BTreeSet::new();
    let mut pairs = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let fields: Vec<String> = l
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .map(|f| f.trim_matches('"').to_string())
            .collect();
        if fields[0].eq_ignore_ascii_case("mode") {
            match fields.get(1).map(|m| m.to_ascii_lowercase()).as_deref() {
                Some("include") => exclude = false,
                Some("exclude") => exclude = true,
                other => {
                    return Err(TableError::row(
                        path,
                        k as u64 + 1,
                        RowProblem::NotAWord {
                            field: "mode".into(),
                            text: other.unwrap_or("").into(),
                            expected: "write mode include or mode exclude",
                        },
                    ))
                }
            }
            continue;
        }
        if pairs.is_empty() && fields[0].parse::<f64>().is_err() {
            continue; // a header
        }
        let row = Row {
            path,
            line: k as u64 + 1,
            fields: &fields,
        };
        let (a, b) = (row.id(0, "from_patch")?, row.id(1, "to_patch")?);
        if a == b {
            return Err(row.error(RowProblem::SelfReference {
                who: format!("the pair of region {a}"),
            }));
        }
        if seen.insert((a.min(b), a.max(b))) {
            pairs.push((a.min(b), a.max(b)));
        }
    }
    Ok(PairList { exclude, pairs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conefor_text_files_and_csv_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (pc, pt) = (dir.path().join("p.csv"), dir.path().join("nodes.txt"));
        std::fs::write(&pc, "patch_id,area_ha\n1,10\n2,20.5\n").unwrap();
        std::fs::write(&pt, "1 10\n2\t20.5\n").unwrap();
        assert_eq!(read_patches(&pc).unwrap(), read_patches(&pt).unwrap());
        let (lc, lt) = (dir.path().join("l.csv"), dir.path().join("distances.txt"));
        std::fs::write(&lc, "from_patch,to_patch,lcd\n2,1,500\n").unwrap();
        std::fs::write(&lt, "1 2 600\n2 1 500\n").unwrap();
        let p = read_patches(&pc).unwrap();
        assert_eq!(read_links(&lc, &p).unwrap(), vec![(1, 2, 500.0)]);
        assert_eq!(read_links(&lt, &p).unwrap(), vec![(1, 2, 500.0)]);
    }

    /// The problem of a row error (panics on any other error).
    fn problem(e: TableError) -> (u64, RowProblem) {
        match e {
            TableError::Row { line, problem, .. } => (line, problem),
            other => panic!("not a row error: {other}"),
        }
    }

    #[test]
    fn unknown_patches_bad_values_and_duplicates_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let pc = dir.path().join("p.csv");
        std::fs::write(&pc, "patch_id,area_ha\n1,10\n2,20\n").unwrap();
        let p = read_patches(&pc).unwrap();
        let l = dir.path().join("l.csv");
        let links = |text: &str| {
            std::fs::write(&l, text).unwrap();
            read_links(&l, &p)
        };
        let e = links("from_patch,to_patch,lcd\n1,2,5\n1,7,5\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("line 3: the link names patch `7`, which is not in the patch table"),
            "{e}"
        );
        assert!(e.to_string().contains("l.csv"), "{e}");
        let (line, pr) = problem(links("from_patch,to_patch,lcd\n1,2,-5\n").unwrap_err());
        assert_eq!(line, 2);
        assert!(matches!(pr, RowProblem::OutOfRange { value, .. } if value == -5.0));
        let (_, pr) = problem(links("from_patch,to_patch,lcd\n2,2,5\n").unwrap_err());
        assert!(matches!(pr, RowProblem::SelfReference { .. }));
        let (_, pr) = problem(links("from_patch,to_patch,lcd\n1.5,2,5\n").unwrap_err());
        assert_eq!(
            pr,
            RowProblem::NotAnId {
                field: "from_patch".into(),
                text: "1.5".into()
            }
        );
        let (_, pr) = problem(links("from_patch,to_patch,lcd\n1,2,far\n").unwrap_err());
        assert_eq!(
            pr,
            RowProblem::NotANumber {
                field: "lcd".into(),
                text: "far".into()
            }
        );
        let (_, pr) = problem(links("from_patch,to_patch,lcd\n1,2\n").unwrap_err());
        assert_eq!(
            pr,
            RowProblem::Missing {
                field: "lcd".into()
            }
        );

        std::fs::write(&pc, "patch_id,area_ha\n1,10\n1,20\n").unwrap();
        let (line, pr) = problem(read_patches(&pc).unwrap_err());
        assert_eq!(
            (line, pr),
            (
                3,
                RowProblem::Duplicate {
                    what: "patch",
                    id: "1".into(),
                    first_line: 2
                }
            )
        );
        std::fs::write(&pc, "patch_id,area_ha\n1,-2\n").unwrap();
        let (_, pr) = problem(read_patches(&pc).unwrap_err());
        assert!(matches!(pr, RowProblem::OutOfRange { value, .. } if value == -2.0));
        std::fs::write(&pc, "id,size\n1,10\n").unwrap();
        match read_patches(&pc).unwrap_err() {
            TableError::MissingColumns { missing, found, .. } => {
                assert_eq!(missing, ["area_ha"]);
                assert_eq!(found, ["id", "size"]);
            }
            other => panic!("{other}"),
        }
        std::fs::write(&pc, "patch_id,area_ha\n").unwrap();
        assert!(matches!(
            read_patches(&pc).unwrap_err(),
            TableError::Empty { what: "patch", .. }
        ));
        let gone = dir.path().join("gone.csv");
        assert!(matches!(
            read_patches(&gone).unwrap_err(),
            TableError::Read { .. }
        ));
    }
}
