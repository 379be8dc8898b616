//! Candidate tables for `ecocorridor optimize`: sites (`site_id, cost_yuan, area_ha,
//! carbon_tco2e` and optional `benefit, zone, district, locked`) and connectors
//! (`connector_id, cost_yuan, carbon_tco2e, benefit, gap_sites` with site ids separated by `;`).

use std::collections::HashMap;
use std::path::Path;

use crate::classes::decode_text;
use crate::optimize::{Connector, Lock, Site};

/// A table's lower-cased header and its records with their line numbers.
type Records = (Vec<String>, Vec<(u64, csv::StringRecord)>);

fn records(path: &Path, required: &[&str]) -> Result<Records, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let text = decode_text(&bytes);
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| format!("`{}`: {e}", path.display()))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "`{}` lacks the column(s) {}\n  columns found: {}",
            path.display(),
            missing.join(", "),
            header.join(", ")
        ));
    }
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| format!("`{}`: {e}", path.display()))?;
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
) -> Result<f64, String> {
    if text.is_empty() {
        return default
            .ok_or_else(|| format!("`{}`, line {line}: `{name}` is empty", path.display()));
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!(
            "`{}`, line {line}: `{name}` is `{text}`, not a finite number",
            path.display()
        )),
    }
}

/// Reads the sites table.
pub fn read_sites(path: &Path) -> Result<Vec<Site>, String> {
    let (h, recs) = records(path, &["site_id", "cost_yuan", "area_ha", "carbon_tco2e"])?;
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for (line, rec) in recs {
        let id = field(&h, &rec, "site_id").to_string();
        if let Some(prev) = seen.insert(id.clone(), line) {
            return Err(format!(
                "`{}`, line {line}: site `{id}` is listed twice (first on line {prev})",
                path.display()
            ));
        }
        let lock = match field(&h, &rec, "locked").to_ascii_lowercase().as_str() {
            "" | "0" | "free" | "no" => Lock::Free,
            "in" | "1" => Lock::In,
            "out" | "-1" => Lock::Out,
            other => {
                return Err(format!(
                    "`{}`, line {line}: locked is `{other}`; write in, out or leave it empty",
                    path.display()
                ))
            }
        };
        let zone = field(&h, &rec, "zone");
        let district = field(&h, &rec, "district");
        out.push(Site {
            cost_yuan: number(path, line, "cost_yuan", field(&h, &rec, "cost_yuan"), None)?,
            area_ha: number(path, line, "area_ha", field(&h, &rec, "area_ha"), None)?,
            carbon_tco2e: number(
                path,
                line,
                "carbon_tco2e",
                field(&h, &rec, "carbon_tco2e"),
                None,
            )?,
            benefit: number(path, line, "benefit", field(&h, &rec, "benefit"), Some(0.0))?,
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
    Ok(out)
}

/// Reads the connectors table; gap sites are resolved against `sites`.
pub fn read_connectors(path: &Path, sites: &[Site]) -> Result<Vec<Connector>, String> {
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
            gap_sites.push(*index.get(g).ok_or_else(|| format!("`{}`, line {line}: connector `{id}` needs site `{g}`, which is not in the sites table", path.display()))?);
        }
        out.push(Connector {
            cost_yuan: number(path, line, "cost_yuan", field(&h, &rec, "cost_yuan"), None)?,
            carbon_tco2e: number(
                path,
                line,
                "carbon_tco2e",
                field(&h, &rec, "carbon_tco2e"),
                None,
            )?,
            benefit: number(path, line, "benefit", field(&h, &rec, "benefit"), Some(0.0))?,
            gap_sites,
            id,
        });
    }
    Ok(out)
}
