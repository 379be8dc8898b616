//! Writing CSV tables for bureaus: UTF-8 with a byte-order mark by default (so Excel on a
//! Chinese Windows desktop opens them correctly), comma separated, one header row with units
//! in the column names, numbers with a fixed number of decimals (identical on every machine).

use std::io::Write;
use std::path::Path;

/// A table: header and rows of text cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Column names (with units).
    pub header: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names and no rows.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }
}

/// Formats a number with `decimals` decimals; NaN as an empty cell, -0 as 0.
pub fn num(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        return String::new();
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// A number with `digits` significant digits in scientific notation (`1.23457e-6`; `0` for
/// zero, empty for NaN): for values whose scale varies by orders of magnitude (PC units).
pub fn sig(v: f64, digits: usize) -> String {
    if v.is_nan() {
        String::new()
    } else if v == 0.0 {
        "0".into()
    } else {
        format!("{v:.prec$e}", prec = digits.max(1) - 1)
    }
}

/// Writes a table as CSV, atomically.
pub fn write_csv(path: &Path, table: &Table, bom: bool) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&table.header)
        .map_err(std::io::Error::other)?;
    for row in &table.rows {
        w.write_record(row).map_err(std::io::Error::other)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    super::atomic::write_atomic(path, |f| {
        if bom {
            f.write_all(b"\xEF\xBB\xBF")?;
        }
        f.write_all(&bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_fixed_decimals_and_no_negative_zero() {
        assert_eq!(num(1.0 / 3.0, 4), "0.3333");
        assert_eq!(sig(1.0 / 3.0 * 1e-6, 4), "3.333e-7");
        assert_eq!((sig(0.0, 4), sig(f64::NAN, 4)), ("0".into(), String::new()));
        assert_eq!(num(-0.00001, 2), "0.00");
        assert_eq!(num(f64::NAN, 2), "");
        assert_eq!(num(-2.5, 1), "-2.5");
    }

    #[test]
    fn csv_starts_with_a_bom_and_quotes_commas() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        let mut t = Table::new(&["name", "area_ha"]);
        t.rows.push(vec!["乔木林地, 天然".into(), num(12.0, 2)]);
        write_csv(&p, &t, true).unwrap();
        let b = std::fs::read(&p).unwrap();
        assert_eq!(&b[..3], b"\xEF\xBB\xBF");
        assert_eq!(
            std::str::from_utf8(&b[3..]).unwrap(),
            "name,area_ha\n\"乔木林地, 天然\",12.00\n"
        );
    }
}
