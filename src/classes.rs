//! The land-cover class table: what each land-cover code means for resistance, habitat, carbon
//! and restoration (`models/landcover_classes.csv`; sources of the values in `models/README.md`).
//!
//! Codes are the integers stored in the land-cover raster. ecocorridor's bundled table uses the
//! Third National Land Survey (三调, GB/T 21010-2017 and its 2020 working classification)
//! codes without the leading zero (`0301` 乔木林地 is stored as 301), so a bureau's survey
//! raster maps one to one.
//!
//! Internally each code gets a dense class index (`u8`, at most 255 classes), so per-cell
//! land cover takes one byte and per-class lookups are array reads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Index of a class in its [`ClassTable`]; [`OUTSIDE`] marks cells outside the study area.
pub type ClassIdx = u8;

/// The class index of nodata land cover (outside the study area).
pub const OUTSIDE: ClassIdx = u8::MAX;

/// Resistance of a class: a finite positive cost per metre, or impassable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClassResistance {
    /// Cost per metre of crossing (> 0, finite).
    Finite(f64),
    /// Impassable (written `barrier` in the table).
    Barrier,
}

/// One land-cover class (one row of the table).
#[derive(Debug, Clone, PartialEq)]
pub struct LandClass {
    /// Integer code in the raster.
    pub code: u32,
    /// The survey's code as text (三调 地类编码, e.g. "0301"), when given.
    pub dlbm: String,
    /// English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// Base resistance.
    pub resistance: ClassResistance,
    /// Whether the class is habitat (ecological source candidate).
    pub habitat: bool,
    /// Above-ground biomass carbon, t C/ha.
    pub c_above: f64,
    /// Below-ground biomass carbon, t C/ha.
    pub c_below: f64,
    /// Soil organic carbon, t C/ha.
    pub c_soil: f64,
    /// Dead organic matter carbon, t C/ha.
    pub c_dead: f64,
    /// Annual emission as a carbon source (built-up land, cropland), t C/ha/yr.
    pub emission: f64,
    /// Annual sequestration once established (restoration targets), t C/ha/yr.
    pub seq_rate: f64,
    /// Class code it can be restored to.
    pub restorable_to: Option<u32>,
    /// Restoration cost to that target, yuan/ha.
    pub cost_yuan_per_ha: f64,
    /// Map colour (`colour` column, `#RRGGBB`), when given.
    pub colour: Option<[u8; 3]>,
    /// A park or green space people walk to (`park` column, 0/1; default 0).
    pub park: bool,
    /// Walking impedance relative to a street (`walk_factor` column: >= 1, or `barrier`
    /// written as `+inf`; default 1).
    pub walk_factor: f64,
    /// Residents per hectare when no population raster is given (`persons_per_ha`; default 0).
    pub persons_per_ha: f64,
    /// Park class a cell of this class becomes when made a park (`park_to`): inside the urban
    /// development boundary of a scenario with `[access]`, such cells are candidate park sites
    /// instead of restoration sites.
    pub park_to: Option<u32>,
    /// Cost of making a park of it, yuan/ha (`park_cost_yuan_per_ha`; needed with `park_to`).
    pub park_cost_yuan_per_ha: f64,
}

impl LandClass {
    /// Total carbon stock, t C/ha (InVEST's four pools).
    pub fn stock_tc_per_ha(&self) -> f64 {
        self.c_above + self.c_below + self.c_soil + self.c_dead
    }
}

/// A checked class table: unique codes, valid values, restoration targets that exist.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassTable {
    classes: Vec<LandClass>,
    by_code: HashMap<u32, ClassIdx>,
}

/// Why a class table is unusable. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ClassTableError {
    /// Unreadable file.
    #[error("cannot read class table `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// CSV syntax error.
    #[error("class table `{path}`: {what}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        what: String,
    },
    /// Required columns missing.
    #[error("class table `{path}` lacks the column(s) {missing}\n  columns found: {found}\n  hint: the header must name at least: {required}")]
    MissingColumns {
        /// The file.
        path: PathBuf,
        /// Missing names.
        missing: String,
        /// Names present.
        found: String,
        /// All required names.
        required: String,
    },
    /// Bad values; one line per problem.
    #[error("class table `{path}` has {} problem(s):\n  {}", problems.len(), problems.join("\n  "))]
    Values {
        /// The file.
        path: PathBuf,
        /// One message per bad value.
        problems: Vec<String>,
    },
}

/// Columns every class table must have.
pub const REQUIRED_COLUMNS: [&str; 8] = [
    "code",
    "name",
    "resistance",
    "habitat",
    "c_above",
    "c_below",
    "c_soil",
    "c_dead",
];

/// Columns a class table may have (read when present).
pub const OPTIONAL_COLUMNS: [&str; 12] = [
    "dlbm",
    "colour",
    "park",
    "park_to",
    "park_cost_yuan_per_ha",
    "walk_factor",
    "persons_per_ha",
    "name_zh",
    "emission",
    "seq_rate",
    "restorable_to",
    "cost_yuan_per_ha",
];

/// Decodes table bytes: UTF-8 (with or without BOM), else GBK (Excel on Chinese Windows).
pub fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GBK.decode(bytes).0.into_owned(),
    }
}

impl ClassTable {
    /// Reads and checks a class table CSV.
    ///
    /// # Errors
    /// [`ClassTableError`]: unreadable file, missing columns (all named), or every bad value
    /// (duplicate codes, negative, zero or NaN resistance, negative carbon, unknown restoration
    /// targets...) listed with its line.
    pub fn read(path: &Path) -> Result<ClassTable, ClassTableError> {
        let bytes = std::fs::read(path).map_err(|source| ClassTableError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ClassTable::parse(path, &decode_text(&bytes))
    }

    /// Parses CSV text (see [`ClassTable::read`]); `path` is used in messages only.
    pub fn parse(path: &Path, text: &str) -> Result<ClassTable, ClassTableError> {
        let csv_err = |e: csv::Error| ClassTableError::Csv {
            path: path.to_path_buf(),
            what: e.to_string(),
        };
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            // A row may leave off trailing optional columns (they are then empty).
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = rdr
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let missing: Vec<&str> = REQUIRED_COLUMNS
            .iter()
            .copied()
            .filter(|c| !headers.iter().any(|h| h == c))
            .collect();
        if !missing.is_empty() {
            return Err(ClassTableError::MissingColumns {
                path: path.to_path_buf(),
                missing: missing.join(", "),
                found: headers.join(", "),
                required: REQUIRED_COLUMNS.join(", "),
            });
        }
        let col = |name: &str| headers.iter().position(|h| h == name);
        let mut problems = Vec::new();
        let mut classes: Vec<LandClass> = Vec::new();
        let mut by_code: HashMap<u32, ClassIdx> = HashMap::new();
        let mut first_line: HashMap<u32, u64> = HashMap::new();
        for rec in rdr.records() {
            let rec = rec.map_err(csv_err)?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let get = |name: &str| col(name).and_then(|i| rec.get(i)).unwrap_or("").to_string();
            let code_text = get("code");
            let code = match code_text.parse::<u32>() {
                Ok(c) if c <= 65535 => c,
                _ => {
                    problems.push(format!("line {line}: code `{code_text}` is not a whole number from 0 to 65535 (land-cover rasters store integer codes; write 三调 code 0301 as 301)"));
                    continue;
                }
            };
            let resistance = parse_resistance(&get("resistance"), code, line, &mut problems);
            let habitat = match get("habitat").to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "y" => true,
                "0" | "false" | "no" | "n" | "" => false,
                other => {
                    problems.push(format!(
                        "line {line}: class {code} has habitat `{other}`; write 1 or 0"
                    ));
                    false
                }
            };
            let mut num = |name: &str, default: Option<f64>| {
                parse_amount(&get(name), name, line, default, &mut problems)
            };
            let c_above = num("c_above", None);
            let c_below = num("c_below", None);
            let c_soil = num("c_soil", None);
            let c_dead = num("c_dead", None);
            let emission = num("emission", Some(0.0));
            let seq_rate = num("seq_rate", Some(0.0));
            let cost_yuan_per_ha = num("cost_yuan_per_ha", Some(0.0));
            let park_cost_yuan_per_ha = num("park_cost_yuan_per_ha", Some(0.0));
            let mut code_column = |key: &str| {
                let text = get(key);
                if text.is_empty() {
                    return None;
                }
                text.parse::<u32>().map_or_else(
                    |_| {
                        problems.push(format!(
                            "line {line}: class {code} has {key} `{text}`, not a class code"
                        ));
                        None
                    },
                    Some,
                )
            };
            let restorable_to = code_column("restorable_to");
            let park_to = code_column("park_to");
            let (colour, park, walk_factor, persons_per_ha) =
                map_and_people_columns(&get, code, line, &mut problems);
            if let Some(prev) = first_line.get(&code) {
                problems.push(format!("line {line}: code {code} is listed twice (first on line {prev}); each code needs exactly one row"));
                continue;
            }
            first_line.insert(code, line);
            if classes.len() >= OUTSIDE as usize {
                problems.push(format!("line {line}: more than {} classes; ecocorridor supports at most {} land-cover classes", OUTSIDE, OUTSIDE));
                break;
            }
            by_code.insert(code, classes.len() as ClassIdx);
            classes.push(LandClass {
                code,
                dlbm: get("dlbm"),
                name: get("name"),
                name_zh: get("name_zh"),
                resistance,
                habitat,
                c_above,
                c_below,
                c_soil,
                c_dead,
                emission,
                seq_rate,
                restorable_to,
                cost_yuan_per_ha,
                colour,
                park,
                walk_factor,
                persons_per_ha,
                park_to,
                park_cost_yuan_per_ha,
            });
        }
        if classes.is_empty() && problems.is_empty() {
            problems.push("the table has no class rows".to_string());
        }
        check_targets(&classes, &by_code, &mut problems);
        if !problems.is_empty() {
            return Err(ClassTableError::Values {
                path: path.to_path_buf(),
                problems,
            });
        }
        Ok(ClassTable { classes, by_code })
    }

    /// All classes, in table order (their index is their [`ClassIdx`]).
    pub fn classes(&self) -> &[LandClass] {
        &self.classes
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Whether the table has no class (never true for a checked table).
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// Class index of a code.
    pub fn index_of(&self, code: u32) -> Option<ClassIdx> {
        self.by_code.get(&code).copied()
    }

    /// The class at an index.
    pub fn get(&self, idx: ClassIdx) -> &LandClass {
        &self.classes[idx as usize]
    }

    /// A 65,536-entry lookup from raster code to class index ([`OUTSIDE`] where unknown), for
    /// the per-cell conversion of land-cover rasters.
    pub fn code_lookup(&self) -> Vec<ClassIdx> {
        let mut lut = vec![OUTSIDE; 65536];
        for (i, c) in self.classes.iter().enumerate() {
            lut[c.code as usize] = i as ClassIdx;
        }
        lut
    }
}

/// The `resistance` column: a finite number > 0, or `barrier` (also `inf`, `infinity`).
fn parse_resistance(
    resistance_text: &str,
    code: u32,
    line: u64,
    problems: &mut Vec<String>,
) -> ClassResistance {
    match resistance_text.to_ascii_lowercase().as_str() {
        "barrier" | "inf" | "infinity" => ClassResistance::Barrier,
        s => match s.parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => ClassResistance::Finite(r),
            Ok(r) => {
                problems.push(format!("line {line}: class {code} has resistance {r}; resistance must be a finite number > 0 (cost per metre), or `barrier` for impassable classes"));
                ClassResistance::Barrier
            }
            Err(_) => {
                problems.push(format!("line {line}: class {code} has resistance `{resistance_text}`, not a number (write `barrier` for impassable classes)"));
                ClassResistance::Barrier
            }
        },
    }
}

/// The optional `colour`, `park`, `walk_factor` and `persons_per_ha` columns of one row
/// (defaults: none, 0, 1, 0); bad values are added to `problems`.
fn map_and_people_columns(
    get: &dyn Fn(&str) -> String,
    code: u32,
    line: u64,
    problems: &mut Vec<String>,
) -> (Option<[u8; 3]>, bool, f64, f64) {
    let colour_text = match get("colour") {
        t if t.is_empty() => get("color"),
        t => t,
    };
    let colour = if colour_text.is_empty() {
        None
    } else {
        match parse_hex_colour(&colour_text) {
            Some(c) => Some(c),
            None => {
                problems.push(format!("line {line}: class {code} has colour `{colour_text}`; write it as #RRGGBB (e.g. #2E7D32), or leave it empty"));
                None
            }
        }
    };
    let park = match get("park").to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" => true,
        "0" | "false" | "no" | "n" | "" => false,
        other => {
            problems.push(format!(
                "line {line}: class {code} has park `{other}`; write 1 or 0"
            ));
            false
        }
    };
    let walk_text = get("walk_factor");
    let walk_factor = match walk_text.to_ascii_lowercase().as_str() {
        "" => 1.0,
        "barrier" | "inf" | "infinity" => f64::INFINITY,
        t => match t.parse::<f64>() {
            Ok(w) if w.is_finite() && w >= 1.0 => w,
            _ => {
                problems.push(format!("line {line}: class {code} has walk_factor `{walk_text}`; write a number >= 1 (1 = a street; 3 = three times slower) or `barrier`"));
                1.0
            }
        },
    };
    let persons_per_ha = parse_amount(
        &get("persons_per_ha"),
        "persons_per_ha",
        line,
        Some(0.0),
        problems,
    );
    (colour, park, walk_factor, persons_per_ha)
}

/// The target columns of a parsed table: `restorable_to` names another class of the table,
/// `park_to` a park class of it with a `park_cost_yuan_per_ha`.
fn check_targets(
    classes: &[LandClass],
    by_code: &HashMap<u32, ClassIdx>,
    problems: &mut Vec<String>,
) {
    for c in classes {
        if let Some(t) = c.park_to {
            match by_code.get(&t).map(|&i| &classes[i as usize]) {
                None => problems.push(format!(
                    "class {} ({}) has park_to {t}, which is not a code in the table",
                    c.code, c.name
                )),
                Some(p) if !p.park => problems.push(format!(
                    "class {} ({}) has park_to {t} ({}), which is not a park class; set park = 1 for class {t} or name a park class",
                    c.code, c.name, p.name
                )),
                Some(_) if c.park_cost_yuan_per_ha <= 0.0 || c.park_cost_yuan_per_ha.is_nan() => problems.push(format!(
                    "class {} ({}) has park_to {t} but no park_cost_yuan_per_ha; give the cost of making it a park, yuan/ha (e.g. 1500000)",
                    c.code, c.name
                )),
                Some(_) => {}
            }
        }
        if let Some(t) = c.restorable_to {
            if !by_code.contains_key(&t) {
                problems.push(format!(
                    "class {} ({}) is restorable_to {t}, which is not a code in the table",
                    c.code, c.name
                ));
            } else if t == c.code {
                problems.push(format!(
                    "class {} ({}) is restorable_to itself",
                    c.code, c.name
                ));
            }
        }
    }
}

/// `#RRGGBB` or `RRGGBB` as three bytes.
pub fn parse_hex_colour(text: &str) -> Option<[u8; 3]> {
    let h = text.trim().trim_start_matches('#');
    if h.len() != 6 || !h.is_ascii() {
        return None;
    }
    let byte = |k: usize| u8::from_str_radix(&h[k..k + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// Parses a non-negative finite amount; an empty cell takes `default` (or is a problem).
fn parse_amount(
    s: &str,
    name: &str,
    line: u64,
    default: Option<f64>,
    problems: &mut Vec<String>,
) -> f64 {
    if s.is_empty() {
        if let Some(d) = default {
            return d;
        }
        problems.push(format!("line {line}: `{name}` is empty"));
        return 0.0;
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => v,
        Ok(v) => {
            problems.push(format!(
                "line {line}: `{name}` is {v}; it must be a finite number >= 0"
            ));
            0.0
        }
        Err(_) => {
            problems.push(format!("line {line}: `{name}` is `{s}`, not a number"));
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "code,name,resistance,habitat,c_above,c_below,c_soil,c_dead,restorable_to,cost_yuan_per_ha\n";

    fn parse(rows: &str) -> Result<ClassTable, ClassTableError> {
        ClassTable::parse(Path::new("classes.csv"), &format!("{HEADER}{rows}"))
    }

    #[test]
    fn colours_are_read_as_hex_and_bad_ones_named() {
        let text = "code,name,resistance,habitat,c_above,c_below,c_soil,c_dead,colour\n301,forest,1,1,1,1,1,1,#2e7d32\n103,dry,1,0,1,1,1,1,\n701,urban,1,0,1,1,1,1,red\n";
        let err = ClassTable::parse(Path::new("c.csv"), text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("class 701 has colour `red`") && err.contains("#RRGGBB"),
            "{err}"
        );
        let t = ClassTable::parse(Path::new("c.csv"), &text.replace("red", "F00080")).unwrap();
        assert_eq!(t.get(0).colour, Some([0x2E, 0x7D, 0x32]));
        assert_eq!(t.get(1).colour, None);
        assert_eq!(t.get(2).colour, Some([0xF0, 0x00, 0x80]));
        assert_eq!(parse_hex_colour("#12345"), None);
        assert_eq!(parse_hex_colour("#12345G"), None);
    }

    #[test]
    fn a_valid_table_maps_codes_to_dense_indices() {
        let t =
            parse("301,forest,1,1,84.6,20.3,88,13,,\n103,dry land,100,0,5,0,60.7,0,301,30000\n")
                .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.index_of(103), Some(1));
        assert_eq!(t.get(1).restorable_to, Some(301));
        assert!((t.get(0).stock_tc_per_ha() - 205.9).abs() < 1e-9);
        let lut = t.code_lookup();
        assert_eq!((lut[301], lut[103], lut[0]), (0, 1, OUTSIDE));
    }

    #[test]
    fn duplicate_codes_and_bad_resistance_are_all_reported() {
        let err = parse("301,forest,1,1,1,1,1,1,,\n301,again,1,1,1,1,1,1,,\n701,urban,-5,0,0,0,0,0,,\n702,village,NaN,0,0,0,0,0,,\n").unwrap_err().to_string();
        assert!(
            err.contains("code 301 is listed twice (first on line 2)"),
            "{err}"
        );
        assert!(err.contains("class 701 has resistance -5"), "{err}");
        assert!(err.contains("class 702 has resistance NaN"), "{err}");
        assert!(err.contains("3 problem(s)"), "{err}");
    }

    #[test]
    fn zero_resistance_is_refused_but_barrier_is_allowed() {
        assert!(parse("301,forest,0,1,1,1,1,1,,\n").is_err());
        let t = parse("1001,railway,barrier,0,0,0,0,0,,\n").unwrap();
        assert_eq!(t.get(0).resistance, ClassResistance::Barrier);
    }

    #[test]
    fn missing_columns_are_named() {
        let err = ClassTable::parse(Path::new("c.csv"), "code,name,resistance\n1,a,1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lacks the column(s) habitat, c_above, c_below, c_soil, c_dead"),
            "{err}"
        );
    }

    #[test]
    fn park_targets_must_be_park_classes_with_a_cost() {
        let table = |rows: &str| {
            ClassTable::parse(
                Path::new("classes.csv"),
                &format!("code,name,resistance,habitat,c_above,c_below,c_soil,c_dead,park,park_to,park_cost_yuan_per_ha\n{rows}"),
            )
        };
        let ok =
            table("1201,vacant,200,0,0,0,44,0,0,810,1500000\n810,park,60,0,1,1,1,1,1,,\n").unwrap();
        assert_eq!(ok.get(0).park_to, Some(810));
        assert_eq!(ok.get(0).park_cost_yuan_per_ha, 1_500_000.0);
        let not_park =
            table("1201,vacant,200,0,0,0,44,0,0,301,1500000\n301,forest,60,1,1,1,1,1,0,,\n")
                .unwrap_err()
                .to_string();
        assert!(
            not_park.contains("park_to 301 (forest), which is not a park class"),
            "{not_park}"
        );
        let no_cost = table("1201,vacant,200,0,0,0,44,0,0,810,\n810,park,60,0,1,1,1,1,1,,\n")
            .unwrap_err()
            .to_string();
        assert!(no_cost.contains("no park_cost_yuan_per_ha"), "{no_cost}");
        let unknown = table("1201,vacant,200,0,0,0,44,0,0,999,5\n")
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("park_to 999, which is not a code"),
            "{unknown}"
        );
    }

    #[test]
    fn unknown_restoration_targets_are_refused() {
        let err = parse("103,dry land,100,0,5,0,60,0,999,30000\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("restorable_to 999, which is not a code"),
            "{err}"
        );
    }

    #[test]
    fn gbk_tables_from_excel_are_decoded() {
        let (bytes, _, _) = encoding_rs::GBK.encode("code,name,name_zh\n301,forest,乔木林地\n");
        assert!(decode_text(&bytes).contains("乔木林地"));
        assert_eq!(decode_text(b"\xEF\xBB\xBFcode"), "code");
    }
}
