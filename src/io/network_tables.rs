//! Reading patch and link tables for `ecocorridor network`: CSV with a header
//! (`patch_id, area_ha[, mean_resistance]` and `from_patch, to_patch, lcd`), or Conefor's own
//! whitespace-separated node (`id attribute`) and distance (`id1 id2 distance`) files.

use std::collections::BTreeMap;
use std::path::Path;

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
type Rows = (Option<Vec<String>>, Vec<(usize, Vec<String>)>);

/// Reads a table's rows.
fn rows(path: &Path) -> Result<Rows, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
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
    Ok((header, lines.map(|(i, l)| (i + 1, split(l))).collect()))
}

fn column(
    header: &Option<Vec<String>>,
    names: &[&str],
    default: usize,
    path: &Path,
) -> Result<usize, String> {
    match header {
        None => Ok(default),
        Some(h) => h
            .iter()
            .position(|c| names.contains(&c.as_str()))
            .ok_or_else(|| {
                format!(
                    "`{}` has no `{}` column (columns found: {})\n  hint: name the columns {}",
                    path.display(),
                    names[0],
                    h.join(", "),
                    names[0]
                )
            }),
    }
}

fn number(
    fields: &[String],
    i: usize,
    what: &str,
    path: &Path,
    line: usize,
) -> Result<f64, String> {
    let f = fields
        .get(i)
        .ok_or_else(|| format!("`{}`, line {line}: missing {what}", path.display()))?;
    f.parse::<f64>().map_err(|_| {
        format!(
            "`{}`, line {line}: {what} `{f}` is not a number",
            path.display()
        )
    })
}

fn id(fields: &[String], i: usize, what: &str, path: &Path, line: usize) -> Result<u32, String> {
    let v = number(fields, i, what, path, line)?;
    if v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 {
        Ok(v as u32)
    } else {
        Err(format!(
            "`{}`, line {line}: {what} {v} is not a whole number >= 0",
            path.display()
        ))
    }
}

/// Reads patches; ids must be unique, areas finite and >= 0.
pub fn read_patches(path: &Path) -> Result<Vec<PatchRow>, String> {
    let (header, rows) = rows(path)?;
    let ci = column(&header, &["patch_id", "id", "node"], 0, path)?;
    let ca = column(&header, &["area_ha", "area", "attribute"], 1, path)?;
    let cr = header
        .as_ref()
        .and_then(|h| h.iter().position(|c| c == "mean_resistance"));
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for (line, f) in rows {
        let pid = id(&f, ci, "patch id", path, line)?;
        let area = number(&f, ca, "area", path, line)?;
        if !(area.is_finite() && area >= 0.0) {
            return Err(format!(
                "`{}`, line {line}: patch {pid} has area {area}; areas must be finite and >= 0 ha",
                path.display()
            ));
        }
        if let Some(prev) = seen.insert(pid, line) {
            return Err(format!(
                "`{}`, line {line}: patch {pid} is listed twice (first on line {prev})",
                path.display()
            ));
        }
        let mean_resistance = match cr {
            Some(c) => Some(number(&f, c, "mean resistance", path, line)?),
            None => None,
        };
        out.push(PatchRow {
            id: pid,
            area_ha: area,
            mean_resistance,
        });
    }
    if out.is_empty() {
        return Err(format!("`{}` lists no patch", path.display()));
    }
    Ok(out)
}

/// Reads links (from, to, distance); a pair listed in both directions is one link (the
/// smaller distance). Distances must be finite and > 0; ids must be in `patches`.
pub fn read_links(path: &Path, patches: &[PatchRow]) -> Result<Vec<(u32, u32, f64)>, String> {
    let (header, rows) = rows(path)?;
    let cf = column(&header, &["from_patch", "from", "id1"], 0, path)?;
    let ct = column(&header, &["to_patch", "to", "id2"], 1, path)?;
    let cd = column(&header, &["lcd", "distance", "cwd"], 2, path)?;
    let known: std::collections::BTreeSet<u32> = patches.iter().map(|p| p.id).collect();
    let mut links: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    for (line, f) in rows {
        let (a, b) = (
            id(&f, cf, "from patch", path, line)?,
            id(&f, ct, "to patch", path, line)?,
        );
        let d = number(&f, cd, "distance", path, line)?;
        for p in [a, b] {
            if !known.contains(&p) {
                return Err(format!(
                    "`{}`, line {line}: the link names patch {p}, which is not in the patch table",
                    path.display()
                ));
            }
        }
        if a == b {
            return Err(format!(
                "`{}`, line {line}: patch {a} is linked to itself",
                path.display()
            ));
        }
        if !(d.is_finite() && d > 0.0) {
            return Err(format!("`{}`, line {line}: the link {a}-{b} has distance {d}; distances must be finite and > 0", path.display()));
        }
        let e = links.entry((a.min(b), a.max(b))).or_insert(d);
        *e = e.min(d);
    }
    Ok(links.into_iter().map(|((a, b), d)| (a, b, d)).collect())
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

    #[test]
    fn unknown_patches_and_bad_distances_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let pc = dir.path().join("p.csv");
        std::fs::write(&pc, "patch_id,area_ha\n1,10\n2,20\n").unwrap();
        let p = read_patches(&pc).unwrap();
        let l = dir.path().join("l.csv");
        std::fs::write(&l, "from_patch,to_patch,lcd\n1,2,5\n1,7,5\n").unwrap();
        assert!(read_links(&l, &p)
            .unwrap_err()
            .contains("line 3: the link names patch 7"));
        std::fs::write(&l, "from_patch,to_patch,lcd\n1,2,-5\n").unwrap();
        assert!(read_links(&l, &p).unwrap_err().contains("distance -5"));
        std::fs::write(&pc, "patch_id,area_ha\n1,10\n1,20\n").unwrap();
        assert!(read_patches(&pc)
            .unwrap_err()
            .contains("patch 1 is listed twice"));
        std::fs::write(&pc, "id,size\n1,10\n").unwrap();
        assert!(read_patches(&pc)
            .unwrap_err()
            .contains("no `area_ha` column"));
    }
}
