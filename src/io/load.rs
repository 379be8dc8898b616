//! Loading a scenario's inputs onto one grid ([`load`]): land cover (as dense class
//! indices), factor rasters, zone layers and districts, and the optional sources and parcels
//! layers. Every later stage may assume the layers line up.
//!
//! [`load`] checks everything it can and collects every problem instead of stopping at the
//! first, so `ecocorridor validate` can list them all. A [`Problem`] is fatal when the run
//! cannot go on.

use std::collections::BTreeMap;
use std::fmt;

use crate::classes::{ClassIdx, ClassTable, OUTSIDE};
use crate::grid::{CrsKind, Grid};
use crate::io::raster::{open_raster, read_f32};
use crate::io::vector::{burn_polygons, read_layer, PolygonLayer, ReadOptions, VectorError};
use crate::landscape::{Districts, Landscape, Zone};
use crate::scenario::Scenario;

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The run cannot go on.
    Fatal,
    /// Worth a look; the run goes on.
    Warning,
    /// How an input was read (its encoding, a reprojection); for the record.
    Note,
}

/// One problem found while loading.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Fatal or warning.
    pub severity: Severity,
    /// What is wrong, with the file, the value and the fix.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.severity {
            Severity::Fatal => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        write!(f, "{tag}: {}", self.message)
    }
}

/// What [`load`] produced: the landscape when nothing fatal was found, and all problems.
#[derive(Debug)]
pub struct LoadReport {
    /// The landscape, unless a fatal problem prevented it.
    pub landscape: Option<Landscape>,
    /// Every problem found.
    pub problems: Vec<Problem>,
}

impl LoadReport {
    /// Whether any problem is fatal.
    pub fn has_fatal(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Fatal)
    }
}

fn fatal(message: impl Into<String>) -> Problem {
    Problem {
        severity: Severity::Fatal,
        message: message.into(),
    }
}

fn note(message: impl Into<String>) -> Problem {
    Problem {
        severity: Severity::Note,
        message: message.into(),
    }
}

/// Reads a polygon layer in any supported format and brings it onto `grid` (reprojected when
/// its CRS differs; see [`PolygonLayer::onto`]).
///
/// # Errors
/// [`VectorError`] naming the file and the fix.
pub fn read_polygons(
    path: &std::path::Path,
    encoding: Option<&str>,
    layer: Option<&str>,
    grid: &Grid,
) -> Result<PolygonLayer, VectorError> {
    let opts = ReadOptions {
        encoding: encoding.map(str::to_string),
        layer: layer.map(str::to_string),
    };
    read_layer(path, &opts)?.onto(grid)
}

/// [`read_polygons`] with the layer's notes added to `problems`; an empty layer is fatal
/// unless `may_be_empty` (zones), where it is a warning.
fn read_polygons_noted(
    path: &std::path::Path,
    (encoding, layer): (Option<&String>, Option<&String>),
    grid: &Grid,
    may_be_empty: bool,
    problems: &mut Vec<Problem>,
) -> Option<PolygonLayer> {
    let read = read_polygons(
        path,
        encoding.map(|s| s.as_str()),
        layer.map(|s| s.as_str()),
        grid,
    );
    match read.and_then(|l| if may_be_empty { Ok(l) } else { l.require() }) {
        Ok(l) => {
            problems.extend(l.notes.iter().map(note));
            Some(l)
        }
        Err(e) => {
            problems.push(fatal(e.to_string()));
            None
        }
    }
}

fn warning(message: impl Into<String>) -> Problem {
    Problem {
        severity: Severity::Warning,
        message: message.into(),
    }
}

/// The error text for two rasters on different grids (both grids and the gdalwarp fix).
pub fn grid_mismatch_message(
    a: &std::path::Path,
    ga: &Grid,
    b: &std::path::Path,
    gb: &Grid,
) -> String {
    format!(
        "raster `{}` does not line up with `{}`\n  {}: {}\n  {}: {}\n  hint: resample it onto the same grid first, e.g.\n    gdalwarp {} -r near {} aligned.tif",
        b.display(),
        a.display(),
        a.file_name().map(|s| s.to_string_lossy()).unwrap_or_default(),
        ga,
        b.file_name().map(|s| s.to_string_lossy()).unwrap_or_default(),
        gb,
        ga.gdalwarp_args(),
        b.display()
    )
}

/// Every input file the scenario names that does not exist, each with its key, the path as
/// written and as resolved.
pub fn missing_inputs(scenario: &Scenario) -> Vec<Problem> {
    let folder = scenario
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
    scenario
        .inputs
        .iter()
        .filter(|i| !i.resolved.exists())
        .map(|i| {
            let looked = std::path::absolute(&i.resolved).unwrap_or_else(|_| i.resolved.clone());
            let how = if i.given.is_relative() {
                format!(
                    "\n  hint: relative paths are taken from the scenario's folder `{}`",
                    folder.display()
                )
            } else {
                String::new()
            };
            fatal(format!(
                "{} = \"{}\" in `{}`: no such file `{}`{how}",
                i.key,
                i.given.display(),
                scenario.path.display(),
                looked.display()
            ))
        })
        .collect()
}

/// Loads and checks every input of a scenario. Missing files are listed first, all of them
/// (see [`missing_inputs`]); when any is missing nothing is read.
pub fn load(scenario: &Scenario) -> LoadReport {
    let missing = missing_inputs(scenario);
    if !missing.is_empty() {
        return LoadReport {
            landscape: None,
            problems: missing,
        };
    }
    let mut problems = Vec::new();
    let spec = &scenario.file;

    let classes = match ClassTable::read(&spec.landscape.classes) {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(fatal(e.to_string()));
            None
        }
    };
    let (grid, landcover) = read_landcover(scenario, classes.as_ref(), &mut problems);
    if let Some(table) = &classes {
        if !table.classes().iter().any(|c| c.habitat) {
            problems.push(warning(format!("class table `{}` marks no class as habitat (habitat = 1); sources must then come from polygons or a patch raster", spec.landscape.classes.display())));
        }
    }
    let factors = read_factors(
        scenario,
        (grid.as_ref(), landcover.as_deref()),
        &mut problems,
    );
    let (zones, zone_bits) = read_zones(scenario, grid.as_ref(), &mut problems);
    let districts = read_districts(scenario, grid.as_ref(), &mut problems);
    if let Some(g) = &grid {
        check_other_layers(scenario, g, &mut problems);
    }
    let access = read_access_layers(
        scenario,
        (grid.as_ref(), landcover.as_deref()),
        &mut problems,
    );

    let fatal_found = problems.iter().any(|p| p.severity == Severity::Fatal);
    let landscape = match (fatal_found, grid, classes, landcover, zone_bits) {
        (false, Some(grid), Some(classes), Some(landcover), Some(zone_bits)) => Some(Landscape {
            grid,
            classes,
            landcover,
            zones,
            zone_bits,
            districts,
            factors,
            access,
        }),
        _ => None,
    };
    LoadReport {
        landscape,
        problems,
    }
}

/// A land cover on its own: grid, class table and each cell's class index.
pub type LoadedLandcover = (Grid, ClassTable, Vec<ClassIdx>);

/// The land cover alone, as [`load`] reads it (for `rasterize`): its grid, class table and
/// cells, or the problems (missing `[landscape]` files first).
pub fn load_landcover(scenario: &Scenario) -> (Option<LoadedLandcover>, Vec<Problem>) {
    let mut problems: Vec<Problem> = missing_inputs(scenario);
    problems.retain(|p| p.message.starts_with("[landscape]"));
    if !problems.is_empty() {
        return (None, problems);
    }
    let classes = match ClassTable::read(&scenario.file.landscape.classes) {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(fatal(e.to_string()));
            None
        }
    };
    let (grid, cells) = read_landcover(scenario, classes.as_ref(), &mut problems);
    match (grid, classes, cells) {
        (Some(g), Some(t), Some(c)) if !problems.iter().any(|p| p.severity == Severity::Fatal) => {
            (Some((g, t, c)), problems)
        }
        _ => (None, problems),
    }
}

/// The land cover's grid (checked: a metre-based CRS) and its cells as class indices, codes
/// mapped while decoding; codes missing from the class table are counted and named.
fn read_landcover(
    scenario: &Scenario,
    classes: Option<&ClassTable>,
    problems: &mut Vec<Problem>,
) -> (Option<Grid>, Option<Vec<ClassIdx>>) {
    let spec = &scenario.file;
    let lc_path = &spec.landscape.landcover;
    if crate::io::vector::is_vector_layer(lc_path) {
        return read_vector_landcover(scenario, classes, problems);
    }
    let mut grid = None;
    let mut landcover = None;
    match open_raster(lc_path) {
        Err(e) => problems.push(fatal(e.to_string())),
        Ok(reader) => {
            let header = reader.header().clone();
            let g = header.grid.clone();
            match g.crs().kind {
                CrsKind::Geographic => {
                    // One problem only: the other layers are checked once the land cover is
                    // projected (hints to warp them onto a grid in degrees would mislead).
                    problems.push(fatal(geographic_landcover_message(lc_path, &g)));
                    return (None, None);
                }
                CrsKind::ProjectedOther => {
                    // One problem only, as for degrees: other layers are checked after.
                    problems.push(fatal(format!(
                        "land cover `{}` is in {} whose unit is not the metre; ecocorridor reports m, ha and resistance x m\n  hint: reproject it onto an aligned grid in a metre-based CRS, e.g. `gdalwarp -t_srs EPSG:4545 -tr 30 30 -tap -r near {} metres.tif`, and every factor raster onto the same grid (the same -t_srs, -tr and -tap)",
                        lc_path.display(), g.crs(), lc_path.display()
                    )));
                    return (None, None);
                }
                CrsKind::Unknown => problems.push(warning(format!(
                    "land cover `{}` declares no CRS; coordinates are taken as metres\n  hint: assign it: `gdal_edit.py -a_srs EPSG:4545 {}`",
                    lc_path.display(), lc_path.display()
                ))),
                CrsKind::ProjectedMetres => {}
            }
            if !header.sample.is_integer() {
                problems.push(warning(format!(
                    "land cover `{}` stores floating-point values; each must be a whole class code",
                    lc_path.display()
                )));
            }
            if let Some(table) = classes {
                let lut = table.code_lookup();
                let mut unknown: BTreeMap<i64, u64> = BTreeMap::new();
                let result = reader.read_with(|v, _| {
                    if header.is_nodata(v) {
                        return Ok(OUTSIDE);
                    }
                    if v.fract() != 0.0 || !(0.0..=65535.0).contains(&v) {
                        return Err(format!("land-cover value {v} is not a class code (whole number 0-65535)\n  hint: land cover must hold integer codes; set nodata with `gdal_edit.py -a_nodata <value>` if {v} marks missing data"));
                    }
                    let idx = lut[v as usize];
                    if idx == OUTSIDE {
                        *unknown.entry(v as i64).or_default() += 1;
                    }
                    Ok(idx)
                });
                match result {
                    Err(e) => problems.push(fatal(e.to_string())),
                    Ok(data) => {
                        if !unknown.is_empty() {
                            let list: Vec<String> = unknown
                                .iter()
                                .map(|(c, n)| {
                                    format!(
                                        "{c} ({n} cells, {:.1} ha)",
                                        *n as f64 * g.cell_area_ha()
                                    )
                                })
                                .collect();
                            problems.push(fatal(format!(
                                "land cover `{}` has {} code(s) missing from the class table `{}`: {}\n  hint: add a row for each code to the class table, or set the raster's nodata if they mark missing data",
                                lc_path.display(), unknown.len(), spec.landscape.classes.display(), list.join(", ")
                            )));
                        } else if data.iter().all(|&c| c == OUTSIDE) {
                            problems.push(fatal(format!(
                                "land cover `{}` has no data cell: the whole grid is nodata",
                                lc_path.display()
                            )));
                        }
                        landcover = Some(data);
                    }
                }
            }
            grid = Some(g);
        }
    }
    (grid, landcover)
}

/// The message for a land cover in degrees: the CGCS2000 3-degree Gauss-Kruger zone of its
/// centre, a cell size near its own in metres, and a gdalwarp command whose grid is aligned
/// (`-tap`), to be used for every other raster too.
fn geographic_landcover_message(path: &std::path::Path, g: &Grid) -> String {
    let lon = (g.origin_x() + g.max_x()) / 2.0;
    let lat = (g.origin_y() + g.min_y()) / 2.0;
    let cm = ((lon / 3.0).round() * 3.0).clamp(75.0, 135.0);
    let epsg = 4534 + ((cm - 75.0) / 3.0) as u32;
    // Metres per degree of latitude ~ 111,320; the cell's north-south size, rounded to a
    // "nice" size.
    let metres = g.cell_size_m() * 111_320.0;
    let nice = [
        1.0, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 50.0, 100.0, 250.0, 500.0, 1000.0,
    ]
    .into_iter()
    .min_by(|a, b| (a - metres).abs().total_cmp(&(b - metres).abs()))
    .unwrap_or(30.0);
    format!(
        "land cover `{}` is in a geographic CRS ({}) with cells of {:.6} degrees (about {metres:.0} m north-south at latitude {lat:.1}); distances and areas need a projected CRS in metres\n  hint: reproject it onto an aligned grid in CGCS2000 / 3-degree Gauss-Kruger CM {cm:.0}E (EPSG:{epsg}), the zone of its centre:\n    gdalwarp -t_srs EPSG:{epsg} -tr {nice} {nice} -tap -r near {} landcover_{epsg}.tif\n  then warp every factor raster onto that same grid (`gdalwarp -t_srs EPSG:{epsg} -tr {nice} {nice} -tap -r bilinear factor.tif factor_{epsg}.tif`, or `-te` with the new land cover's extent); vector layers in EPSG:4490 are reprojected on reading",
        path.display(),
        g.crs(),
        g.cell_size_m(),
        path.display()
    )
}

/// A polygon land cover ([`crate::io::vector::landcover`]): read, gridded, reprojected onto
/// the grid when needed, and burned through the class table's `dlbm` column.
fn read_vector_landcover(
    scenario: &Scenario,
    classes: Option<&ClassTable>,
    problems: &mut Vec<Problem>,
) -> (Option<Grid>, Option<Vec<ClassIdx>>) {
    use crate::io::vector::landcover::{burn_landcover, landcover_grid};
    let ls = &scenario.file.landscape;
    let path = &ls.landcover;
    let Some(field) = &ls.code_field else {
        problems.push(fatal(format!(
            "land cover `{}` is a polygon layer; say which field holds the land-use codes with `code_field` in [landscape] (the land survey's DLTB: `code_field = \"DLBM\"`), and give `cell_size_m` or `grid_like`",
            path.display()
        )));
        return (None, None);
    };
    let opts = ReadOptions {
        encoding: ls.encoding.clone(),
        layer: ls.layer.clone(),
    };
    let layer = match read_layer(path, &opts).and_then(PolygonLayer::require) {
        Ok(l) => l,
        Err(e) => {
            problems.push(fatal(e.to_string()));
            return (None, None);
        }
    };
    let grid_like = match &ls.grid_like {
        None => None,
        Some(p) => match open_raster(p) {
            Ok(r) => Some(r.header().grid.clone()),
            Err(e) => {
                problems.push(fatal(e.to_string()));
                return (None, None);
            }
        },
    };
    let grid = match landcover_grid(&layer, ls.cell_size_m, grid_like.as_ref()) {
        Ok(g) => g,
        Err(e) => {
            problems.push(fatal(e.to_string()));
            return (None, None);
        }
    };
    let layer = match layer.onto(&grid) {
        Ok(l) => l,
        Err(e) => {
            problems.push(fatal(e.to_string()));
            return (None, None);
        }
    };
    problems.extend(layer.notes.iter().map(note));
    problems.push(note(format!(
        "land cover `{}`: {} polygons burned by cell centre onto {grid}",
        path.display(),
        layer.features.len()
    )));
    let Some(table) = classes else {
        return (Some(grid), None);
    };
    let table_name = ls.classes.display().to_string();
    match burn_landcover(&layer, field, table, &table_name, &grid) {
        Ok(cells) if cells.iter().all(|&c| c == OUTSIDE) => {
            problems.push(fatal(format!(
                "land cover `{}`: no polygon covers a cell centre of the grid {grid}",
                path.display()
            )));
            (Some(grid), None)
        }
        Ok(cells) => (Some(grid), Some(cells)),
        Err(e) => {
            problems.push(fatal(e.to_string()));
            (Some(grid), None)
        }
    }
}

/// Factor rasters: same grid, breaks ascending, one more score than breaks.
fn read_factors(
    scenario: &Scenario,
    (grid, landcover): (Option<&Grid>, Option<&[ClassIdx]>),
    problems: &mut Vec<Problem>,
) -> Vec<crate::landscape::Factor> {
    let lc_path = &scenario.file.landscape.landcover;
    let mut factors = Vec::new();
    for f in &scenario.file.factors {
        if f.breaks
            .windows(2)
            .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
            || f.breaks.iter().any(|b| !b.is_finite())
        {
            problems.push(fatal(format!("factor `{}`: breaks {:?} must be finite and strictly ascending (no gaps or overlaps between classes)", f.name, f.breaks)));
        }
        if f.breaks.len() > crate::landscape::MAX_FACTOR_BREAKS {
            problems.push(fatal(format!(
                "factor `{}`: {} breaks; at most {} are supported (merge classes)",
                f.name,
                f.breaks.len(),
                crate::landscape::MAX_FACTOR_BREAKS
            )));
        }
        if f.scores.len() != f.breaks.len() + 1 {
            problems.push(fatal(format!(
                "factor `{}`: {} breaks make {} classes, but {} scores are given",
                f.name,
                f.breaks.len(),
                f.breaks.len() + 1,
                f.scores.len()
            )));
        }
        if !(f.weight.is_finite() && f.weight >= 0.0)
            || f.scores.iter().any(|s| !s.is_finite() || *s < 0.0)
        {
            problems.push(fatal(format!("factor `{}`: weight and scores must be finite numbers >= 0 (weight {}, scores {:?})", f.name, f.weight, f.scores)));
        }
        match read_f32(&f.path) {
            Err(e) => problems.push(fatal(e.to_string())),
            Ok(r) => {
                if let Some(g) = grid {
                    if !g.aligned_with(r.grid()) {
                        problems.push(fatal(grid_mismatch_message(lc_path, g, &f.path, r.grid())));
                        continue;
                    }
                    if let Some(lc) = landcover {
                        let holes = r
                            .data()
                            .iter()
                            .zip(lc)
                            .filter(|(v, &c)| v.is_nan() && c != OUTSIDE)
                            .count();
                        if holes > 0 {
                            problems.push(warning(format!("factor `{}` (`{}`) is nodata on {holes} cells inside the study area; they get the lowest score", f.name, f.path.display())));
                        }
                    }
                }
                // Held as the class of its breaks (1 byte per cell); the scores compare
                // values with the breaks as f32, as the resistance formula does.
                let breaks: Vec<f32> = f.breaks.iter().map(|&b| b as f32).collect();
                if breaks.len() <= crate::landscape::MAX_FACTOR_BREAKS {
                    factors.push(crate::landscape::Factor::classify(
                        &f.name,
                        r.data(),
                        &breaks,
                    ));
                }
            }
        }
    }

    factors
}

/// The zone layers (at most 8) burned into one bit each of a per-cell mask.
fn read_zones(
    scenario: &Scenario,
    grid: Option<&Grid>,
    problems: &mut Vec<Problem>,
) -> (Vec<Zone>, Option<Vec<u8>>) {
    let spec = &scenario.file;
    let mut zones = Vec::new();
    let mut zone_bits = grid.map(|g| vec![0u8; g.len()]);
    if spec.zones.len() > 8 {
        problems.push(fatal(format!("{} zone layers are given; ecocorridor supports at most 8 (merge layers of the same kind)", spec.zones.len())));
    }
    for (k, z) in spec.zones.iter().enumerate().take(8) {
        let name = z
            .name
            .clone()
            .unwrap_or_else(|| z.kind.as_str().to_string());
        let (Some(g), Some(bits)) = (grid, zone_bits.as_mut()) else {
            continue;
        };
        let Some(layer) = read_polygons_noted(
            &z.path,
            (z.encoding.as_ref(), z.layer.as_ref()),
            g,
            true,
            problems,
        ) else {
            continue;
        };
        if layer.features.is_empty() {
            problems.push(warning(format!(
                "zone layer `{}` ({name}) has no polygon",
                z.path.display()
            )));
        }
        let bit = 1u8 << k;
        for f in &layer.features {
            burn_polygons(g, &f.geometry, |i| bits[i] |= bit);
        }
        zones.push(Zone {
            name,
            kind: z.kind,
            bit: k as u8,
            path: z.path.clone(),
        });
    }
    (zones, zone_bits)
}

/// The `[access]` layers: the population raster (same grid; persons per cell, nodata = 0;
/// negative, infinite values refused) and the parks layer burned onto the grid.
fn read_access_layers(
    scenario: &Scenario,
    (grid, landcover): (Option<&Grid>, Option<&[ClassIdx]>),
    problems: &mut Vec<Problem>,
) -> Option<crate::landscape::AccessLayers> {
    let a = scenario.file.access.as_ref()?;
    let g = grid?;
    let population = a.population.as_ref().and_then(|path| {
        let reader = match open_raster(path) {
            Ok(r) => r,
            Err(e) => {
                problems.push(fatal(e.to_string()));
                return None;
            }
        };
        let header = reader.header().clone();
        if !g.aligned_with(&header.grid) {
            problems.push(fatal(grid_mismatch_message(
                &scenario.file.landscape.landcover,
                g,
                path,
                &header.grid,
            )));
            return None;
        }
        let mut bad: Option<(usize, f64)> = None;
        let mut n_bad = 0u64;
        let values = reader.read_with(|v, i| {
            if header.is_nodata(v) {
                return Ok::<f32, String>(0.0);
            }
            if !(v.is_finite() && v >= 0.0) {
                n_bad += 1;
                if bad.is_none_or(|(j, _)| i < j) {
                    bad = Some((i, v));
                }
                return Ok(0.0);
            }
            Ok(v as f32)
        });
        match values {
            Err(e) => {
                problems.push(fatal(e.to_string()));
                None
            }
            Ok(_) if n_bad > 0 => {
                let (i, v) = bad.unwrap_or((0, 0.0));
                problems.push(fatal(format!(
                    "population raster `{}` has {n_bad} cell(s) that are not a number of persons >= 0 (the first, row {} column {}, is {v})\n  hint: set them to 0, or mark them as nodata (`gdal_edit.py -a_nodata <value> {}`)",
                    path.display(),
                    i / g.cols(),
                    i % g.cols(),
                    path.display()
                )));
                None
            }
            Ok(values) => {
                if let Some(lc) = landcover {
                    let outside: f64 = values
                        .iter()
                        .zip(lc)
                        .filter(|(_, &c)| c == OUTSIDE)
                        .map(|(&p, _)| p as f64)
                        .sum();
                    if outside > 0.0 {
                        problems.push(warning(format!(
                            "population raster `{}` puts {outside:.0} persons on cells outside the study area (land-cover nodata); they are left out",
                            path.display()
                        )));
                    }
                }
                Some(crate::raster::SparseF32::from_dense_where(&values, |v| v > 0.0))
            }
        }
    });
    let park_cells = a.parks.as_ref().and_then(|path| {
        let layer = read_polygons_noted(path, (None, None), g, false, problems)?;
        let mut cells = vec![false; g.len()];
        for f in &layer.features {
            burn_polygons(g, &f.geometry, |i| cells[i] = true);
        }
        Some(cells)
    });
    Some(crate::landscape::AccessLayers {
        population,
        park_cells,
    })
}

/// The sources (polygons method) and parcels layers, read once here so that every problem
/// with them is listed with the others and their notes (encoding, reprojection) are shown;
/// the stages read them again.
fn check_other_layers(scenario: &Scenario, grid: &Grid, problems: &mut Vec<Problem>) {
    let s = &scenario.file.sources;
    if let (crate::scenario::SourceKind::Polygons, Some(path)) = (s.method, &s.path) {
        read_polygons_noted(
            path,
            (s.encoding.as_ref(), s.layer.as_ref()),
            grid,
            false,
            problems,
        );
    }
    let c = &scenario.file.candidates;
    if let Some(path) = &c.parcels {
        read_polygons_noted(
            path,
            (c.parcels_encoding.as_ref(), c.parcels_layer.as_ref()),
            grid,
            false,
            problems,
        );
    }
}

/// The district layer burned into a per-cell district id (1-based; 0 = none), with names.
fn read_districts(
    scenario: &Scenario,
    grid: Option<&Grid>,
    problems: &mut Vec<Problem>,
) -> Option<Districts> {
    let mut districts = None;
    if let Some(d) = &scenario.file.districts {
        let g = grid?;
        let layer = read_polygons_noted(
            &d.path,
            (d.encoding.as_ref(), d.layer.as_ref()),
            g,
            false,
            problems,
        )?;
        if layer.features.len() > u16::MAX as usize - 1 {
            problems.push(fatal(format!(
                "district layer `{}` has {} polygons; at most 65534 are supported",
                d.path.display(),
                layer.features.len()
            )));
            return None;
        }
        let mut ids = vec![0u16; g.len()];
        let mut names = Vec::new();
        for (k, f) in layer.features.iter().enumerate() {
            let name = match f.properties.get(&d.name_field) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) if !v.is_null() => v.to_string(),
                _ => {
                    let fields: Vec<&String> = f.properties.keys().collect();
                    problems.push(fatal(format!(
                        "district layer `{}`, feature {k}: no `{}` property\n  hint: set `name_field` in [districts] to one of: {}",
                        d.path.display(), d.name_field, fields.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    )));
                    format!("district {}", k + 1)
                }
            };
            names.push(name);
            let id = (k + 1) as u16;
            burn_polygons(g, &f.geometry, |i| ids[i] = id);
        }
        districts = Some(Districts { names, ids });
    }

    districts
}

/// Reads the patch ids of `[sources] method = "polygons"` or `"raster"` onto the grid
/// (None for the habitat method).
///
/// # Errors
/// A message naming the file: unreadable, on another grid, in another CRS, a non-integer or
/// negative id, an id field missing or not a positive integer.
pub fn read_given_sources(
    scenario: &Scenario,
    grid: &Grid,
) -> Result<Option<(Vec<u32>, String)>, String> {
    use crate::scenario::SourceKind;
    let s = &scenario.file.sources;
    let path = match (s.method, &s.path) {
        (SourceKind::Habitat, _) => return Ok(None),
        (_, Some(p)) => p,
        (m, None) => {
            return Err(format!(
                "[sources] method = \"{}\" needs `path`, the file of the sources",
                format!("{m:?}").to_lowercase()
            ))
        }
    };
    let origin = path.display().to_string();
    match s.method {
        SourceKind::Raster => {
            let reader = open_raster(path).map_err(|e| e.to_string())?;
            let header = reader.header().clone();
            if !grid.aligned_with(&header.grid) {
                return Err(grid_mismatch_message(
                    &scenario.file.landscape.landcover,
                    grid,
                    path,
                    &header.grid,
                ));
            }
            let ids = reader
                .read_with(|v, _| {
                    if header.is_nodata(v) {
                        Ok(0u32)
                    } else if v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 {
                        Ok(v as u32)
                    } else {
                        Err(format!(
                            "patch id {v} is not a whole number >= 0 (0 = no patch)"
                        ))
                    }
                })
                .map_err(|e| e.to_string())?;
            Ok(Some((ids, origin)))
        }
        SourceKind::Polygons => {
            let layer = read_polygons(path, s.encoding.as_deref(), s.layer.as_deref(), grid)
                .map_err(|e| e.to_string())?;
            let mut ids = vec![0u32; grid.len()];
            for (k, f) in layer.features.iter().enumerate() {
                let id = match &s.id_field {
                    None => (k + 1) as u32,
                    Some(field) => match f.properties.get(field).and_then(|v| v.as_u64()) {
                        Some(v) if v >= 1 && v <= u32::MAX as u64 => v as u32,
                        _ => {
                            return Err(format!(
                                "sources layer `{}`, feature {k}: `{field}` is {} where a whole number >= 1 is expected\n  hint: set `id_field` in [sources] to a field of positive integer ids, or leave it out to number features 1, 2, ...",
                                path.display(),
                                f.properties.get(field).map(|v| v.to_string()).unwrap_or_else(|| "missing".into())
                            ))
                        }
                    },
                };
                burn_polygons(grid, &f.geometry, |i| ids[i] = id);
            }
            Ok(Some((ids, origin)))
        }
        SourceKind::Habitat => Ok(None),
    }
}

/// The planner's own candidate parcels (`[candidates] parcels`), burned by cell centre onto
/// the study area; None when not given.
///
/// # Errors
/// A message naming the file and the feature: unreadable, other CRS or extent, an id or cost
/// that is missing or not a number, duplicate ids.
pub fn read_given_parcels(
    scenario: &Scenario,
    land: &Landscape,
) -> Result<Option<Vec<crate::candidates::GivenParcel>>, String> {
    let c = &scenario.file.candidates;
    let Some(path) = &c.parcels else {
        return Ok(None);
    };
    let layer = read_polygons(
        path,
        c.parcels_encoding.as_deref(),
        c.parcels_layer.as_deref(),
        &land.grid,
    )
    .map_err(|e| e.to_string())?;
    let mut seen = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (k, f) in layer.features.iter().enumerate() {
        let name = match &c.parcel_id_field {
            None => (k + 1).to_string(),
            Some(field) => match f.properties.get(field) {
                Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                other => {
                    return Err(format!(
                        "parcels `{}`, feature {k}: `{field}` is {} where an id is expected\n  hint: set `parcel_id_field` in [candidates] to a property every parcel has, or leave it out to number them 1, 2, ...",
                        path.display(),
                        other.map_or("missing".to_string(), |v| v.to_string())
                    ))
                }
            },
        };
        if let Some(prev) = seen.insert(name.clone(), k) {
            return Err(format!(
                "parcels `{}`: id `{name}` is used by features {prev} and {k}; ids must be unique",
                path.display()
            ));
        }
        let cost_yuan = match &c.parcel_cost_field {
            None => None,
            Some(field) => match f.properties.get(field).and_then(|v| v.as_f64()) {
                Some(v) if v.is_finite() && v >= 0.0 => Some(v),
                _ => {
                    return Err(format!(
                        "parcels `{}`, feature {k} (`{name}`): `{field}` is {} where a cost in yuan >= 0 is expected",
                        path.display(),
                        f.properties
                            .get(field)
                            .map_or("missing".to_string(), |v| v.to_string())
                    ))
                }
            },
        };
        let mut cells = Vec::new();
        burn_polygons(&land.grid, &f.geometry, |i| {
            if land.landcover[i] != OUTSIDE {
                cells.push(i as u32)
            }
        });
        cells.sort_unstable();
        cells.dedup();
        out.push(crate::candidates::GivenParcel {
            name,
            cells,
            cost_yuan,
        });
    }
    Ok(Some(out))
}
