//! `ecocorridor init`: a first scenario for a bureau's own data, with paths relative to it,
//! a copy of the bundled class table and a comment on every choice made for the user.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use crate::landscape::ZoneKind;

/// What `init` is given.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The folder to write the scenario into (created).
    pub dir: PathBuf,
    /// The land cover: a raster of class codes or a polygon layer (then `code_field`).
    pub landcover: PathBuf,
    /// Field of a polygon land cover with the land-use codes (DLTB: DLBM).
    pub code_field: Option<String>,
    /// Cell size for a polygon land cover, m.
    pub cell_size_m: Option<f64>,
    /// Zone layers; each kind is guessed from the file name (see [`guess_zone_kind`]).
    pub zones: Vec<PathBuf>,
    /// District layer.
    pub districts: Option<PathBuf>,
    /// Field with the district names.
    pub name_field: Option<String>,
    /// Replace an existing scenario.toml.
    pub force: bool,
}

/// The zone kind a file name suggests: 红线 / redline / STBHHX, 永久基本农田 / farmland /
/// YJJBNT, 城镇开发边界 / urban / CZKFBJ, 自然保护地 / protected / ZRBHD; else `other`.
pub fn guess_zone_kind(path: &Path) -> ZoneKind {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let has = |keys: &[&str]| keys.iter().any(|k| name.contains(k));
    if has(&["红线", "redline", "stbhhx", "red_line"]) {
        ZoneKind::EcologicalRedline
    } else if has(&["农田", "farmland", "jbnt"]) {
        ZoneKind::PermanentFarmland
    } else if has(&["城镇开发边界", "开发边界", "urban", "czkfbj"]) {
        ZoneKind::UrbanBoundary
    } else if has(&["保护地", "保护区", "protected", "zrbhd", "reserve"]) {
        ZoneKind::ProtectedArea
    } else {
        ZoneKind::Other
    }
}

/// `target` relative to the folder `base` (both made absolute first), with `/` separators.
pub fn relative_path(target: &Path, base: &Path) -> PathBuf {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (t, b) = (abs(target), abs(base));
    let tc: Vec<Component> = t.components().collect();
    let bc: Vec<Component> = b.components().collect();
    let common = tc.iter().zip(&bc).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return t;
    }
    let mut out = PathBuf::new();
    for _ in common..bc.len() {
        out.push("..");
    }
    for c in &tc[common..] {
        out.push(c.as_os_str());
    }
    out
}

fn toml_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    toml_string(&s)
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The study area in ha, from the land cover's header (raster) or extent (polygon layer).
fn study_area_ha(landcover: &Path) -> Option<f64> {
    if crate::io::vector::is_vector_layer(landcover) {
        let layer = crate::io::vector::read_layer(landcover, &Default::default()).ok()?;
        let (x0, x1, y0, y1) = layer.extent()?;
        Some((x1 - x0) * (y1 - y0) / 10_000.0)
    } else {
        let r = crate::io::raster::open_raster(landcover).ok()?;
        let g = &r.header().grid;
        Some(g.len() as f64 * g.cell_area_ha())
    }
}

/// Writes `scenario.toml` and `landcover_classes.csv` into `opts.dir`; returns the scenario's
/// path.
///
/// # Errors
/// An input that does not exist, a polygon land cover without `code_field`, an existing
/// scenario without `force`, or a file that cannot be written.
pub fn init(opts: &InitOptions) -> Result<PathBuf> {
    let mut missing = Vec::new();
    for p in std::iter::once(&opts.landcover)
        .chain(&opts.zones)
        .chain(opts.districts.as_ref())
    {
        if !p.exists() {
            missing.push(format!("  `{}`", p.display()));
        }
    }
    if !missing.is_empty() {
        bail!(
            "{} input(s) do not exist:\n{}",
            missing.len(),
            missing.join("\n")
        );
    }
    let vector = crate::io::vector::is_vector_layer(&opts.landcover);
    if vector && opts.code_field.is_none() {
        bail!(
            "`{}` is a polygon layer: give --code-field, the field with the land-use codes (the land survey's DLTB: --code-field DLBM)",
            opts.landcover.display()
        );
    }
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("cannot create folder `{}`", opts.dir.display()))?;
    let scenario = opts.dir.join("scenario.toml");
    if scenario.exists() && !opts.force {
        bail!(
            "`{}` exists; use --force to replace it (or choose another folder)",
            scenario.display()
        );
    }
    let text = scenario_text(opts, vector);
    let table = opts.dir.join("landcover_classes.csv");
    if !table.exists() || opts.force {
        crate::io::atomic::write_text(&table, crate::synth::CLASS_TABLE)?;
    }
    crate::io::atomic::write_text(&scenario, &text)?;
    Ok(scenario)
}

fn scenario_text(opts: &InitOptions, vector: bool) -> String {
    let rel = |p: &Path| toml_path(&relative_path(p, &opts.dir));
    let name = opts
        .dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let mut t = format!(
        "# Scenario written by `ecocorridor init`. Paths are relative to this file.\n\
         # Check it with `ecocorridor validate {0}`, run it with `ecocorridor run {0}`.\n\
         # Every option is explained in models/demo.toml of the ecocorridor sources.\n\
         name = {1}\n\
         description = \"\"\n\n\
         [landscape]\n\
         landcover = {2}\n\
         # The bundled class table (三调 working classification): check resistances, carbon pools\n\
         # and restoration costs against local values.\n\
         classes = \"landcover_classes.csv\"\n",
        "scenario.toml",
        toml_string(&name),
        rel(&opts.landcover)
    );
    if vector {
        let field = opts.code_field.as_deref().unwrap_or("DLBM");
        t.push_str(&format!(
            "# The land cover is a polygon layer: codes in this field, matched as text to the table's dlbm.\ncode_field = {}\n",
            toml_string(field)
        ));
        match opts.cell_size_m {
            Some(s) => t.push_str(&format!("# Cells of this size over the layer's extent, m.\ncell_size_m = {s}\n")),
            None => t.push_str("# Cells of this size over the layer's extent, m (or grid_like = \"a raster.tif\").\ncell_size_m = 30\n"),
        }
    }
    for z in &opts.zones {
        let kind = guess_zone_kind(z);
        let comment = if kind == ZoneKind::Other {
            "# Kind not recognised from the file name: set it (ecological_redline, permanent_farmland,\n# urban_boundary, protected_area or other).\n"
        } else {
            "# Kind guessed from the file name: check it.\n"
        };
        let stem = z
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        t.push_str(&format!(
            "\n[[zones]]\n{comment}name = {}\nkind = \"{}\"\npath = {}\n",
            toml_string(&stem),
            kind.as_str(),
            rel(z)
        ));
    }
    if let Some(d) = &opts.districts {
        t.push_str(&format!(
            "\n[districts]\npath = {}\n# The field with each district's name.\nname_field = {}\n",
            rel(d),
            toml_string(opts.name_field.as_deref().unwrap_or("name"))
        ));
    }
    let min_area = study_area_ha(&opts.landcover)
        .map(crate::synth::min_area_for)
        .unwrap_or(100.0);
    t.push_str(&format!(
        "\n[sources]\n# Habitat patches (classes with habitat = 1) of at least this area, ha: 0.2 % of the\n# study area as a start; raise it to keep only the large sources.\nmin_area_ha = {min_area}\n\n\
         [optimize]\n# The restoration budget, yuan.\nbudget_yuan = 50000000\n"
    ));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_kinds_are_guessed_from_chinese_and_english_names() {
        assert_eq!(
            guess_zone_kind(Path::new("生态保护红线.shp")),
            ZoneKind::EcologicalRedline
        );
        assert_eq!(
            guess_zone_kind(Path::new("YJJBNT_2023.shp")),
            ZoneKind::PermanentFarmland
        );
        assert_eq!(
            guess_zone_kind(Path::new("urban_boundary.geojson")),
            ZoneKind::UrbanBoundary
        );
        assert_eq!(
            guess_zone_kind(Path::new("自然保护地.gpkg")),
            ZoneKind::ProtectedArea
        );
        assert_eq!(guess_zone_kind(Path::new("roads.shp")), ZoneKind::Other);
    }

    #[test]
    fn paths_are_made_relative_to_the_scenario_folder() {
        assert_eq!(
            relative_path(Path::new("/data/a/lc.tif"), Path::new("/data/b/run")),
            PathBuf::from("../../a/lc.tif")
        );
        assert_eq!(
            relative_path(Path::new("/data/b/run/x.shp"), Path::new("/data/b/run")),
            PathBuf::from("x.shp")
        );
    }
}
