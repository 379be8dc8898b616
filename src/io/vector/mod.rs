//! Polygon layers in the formats planners hold (GeoJSON, ESRI Shapefile, GeoPackage) and
//! burning them onto the run's grid.
//!
//! [`read_layer`] chooses the reader by the file's **content**, not its name: a Shapefile's
//! main file starts with the file code 9994, a GeoPackage is an SQLite database, GeoJSON is
//! JSON text. A File Geodatabase (a `.gdb` folder) is refused with the `ogr2ogr` command that
//! converts it (no maintained pure-Rust reader exists; GDAL would be a system library).
//!
//! Every layer comes back as a [`PolygonLayer`] of MultiPolygons with JSON-like attributes, in
//! its own CRS; [`PolygonLayer::onto`] reprojects it onto the grid's CRS when they differ
//! ([`reproject`], pure Rust) and checks that it overlaps the grid. How each layer was read
//! (its encoding, a reprojection) is kept in [`PolygonLayer::notes`] so runs can say so.
//!
//! Attribute text of Shapefiles is decoded by, in order: the scenario's `encoding` for the
//! layer, the `.cpg` file, the `.dbf` language-driver byte, and otherwise by content (UTF-8
//! when the bytes are valid UTF-8, else GBK, the code page of Chinese Windows); see [`shp`].
//!
//! The rasterization rule is in [`burn`].

use std::path::{Path, PathBuf};

use ::geojson::JsonObject;
use geo::{BoundingRect, MultiPolygon};

use crate::grid::{Crs, CrsKind, Grid};

pub mod burn;
pub mod geojson;
pub mod gpkg;
pub mod landcover;
pub mod reproject;
pub mod shp;

pub use burn::burn_polygons;
pub use geojson::{parse_geojson, read_geojson};

/// The vector formats ecocorridor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GeoJSON text.
    GeoJson,
    /// ESRI Shapefile (.shp with .shx, .dbf, .prj, optional .cpg).
    Shapefile,
    /// OGC GeoPackage (SQLite).
    GeoPackage,
}

impl Format {
    /// The format's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Format::GeoJson => "GeoJSON",
            Format::Shapefile => "ESRI Shapefile",
            Format::GeoPackage => "GeoPackage",
        }
    }
}

/// One polygon feature: its geometry and properties.
#[derive(Debug, Clone)]
pub struct PolygonFeature {
    /// The geometry (a Polygon is stored as a one-part MultiPolygon).
    pub geometry: MultiPolygon<f64>,
    /// The feature's properties (empty when absent). Shapefile and GeoPackage attributes are
    /// converted: text to strings, whole numbers to integers, other numbers to floats, dates
    /// to `YYYY-MM-DD` text, empty fields to null.
    pub properties: JsonObject,
}

/// A polygon layer read from a file.
#[derive(Debug, Clone)]
pub struct PolygonLayer {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// The CRS the file declares (GeoJSON `crs` member, Shapefile `.prj`, GeoPackage
    /// `srs_id`), if any.
    pub crs: Option<Crs>,
    /// Its features, in file order.
    pub features: Vec<PolygonFeature>,
    /// How it was read, for the run's messages (encoding used, reprojection).
    pub notes: Vec<String>,
}

/// How to read a layer: the options a scenario may give per layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// Attribute encoding (e.g. `gbk`, `utf-8`, `936`), overriding `.cpg` and detection.
    pub encoding: Option<String>,
    /// Which layer of a GeoPackage holding several.
    pub layer: Option<String>,
}

/// Why a vector layer could not be used.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// File unreadable.
    #[error("cannot read layer `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid GeoJSON.
    #[error("layer `{path}` is not valid GeoJSON: {what}\n  hint: check it with `ogrinfo -al -so {path}` or export it again from your GIS as GeoJSON")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        what: String,
    },
    /// The file is not a usable layer (format, missing companion file, encoding...).
    #[error("layer `{path}` {what}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the fix.
        what: String,
    },
    /// A feature that is not a polygon.
    #[error("layer `{path}`, feature {index}: {what}")]
    Feature {
        /// The file.
        path: PathBuf,
        /// 0-based feature index.
        index: usize,
        /// What is wrong.
        what: String,
    },
    /// CRS conflicts with the grid and cannot be converted.
    #[error("layer `{path}` is in {layer_crs} but the rasters are in {grid_crs}{why}\n  hint: reproject it, e.g. `ogr2ogr -t_srs {target} out.gpkg {path}`")]
    Crs {
        /// The file.
        path: PathBuf,
        /// Layer CRS.
        layer_crs: String,
        /// Grid CRS.
        grid_crs: String,
        /// Why it was not reprojected here.
        why: String,
        /// What to pass to ogr2ogr.
        target: String,
    },
    /// The layer does not overlap the grid at all (usually a wrong CRS).
    #[error("none of the {n} polygons of layer `{path}` overlaps the study area\n  layer extent: x {lx0:.1} .. {lx1:.1}, y {ly0:.1} .. {ly1:.1}\n  grid extent:  x {gx0:.1} .. {gx1:.1}, y {gy0:.1} .. {gy1:.1}\n  hint: {hint}")]
    NoOverlap {
        /// The file.
        path: PathBuf,
        /// Feature count.
        n: usize,
        /// Layer extent.
        lx0: f64,
        /// Layer extent.
        lx1: f64,
        /// Layer extent.
        ly0: f64,
        /// Layer extent.
        ly1: f64,
        /// Grid extent.
        gx0: f64,
        /// Grid extent.
        gx1: f64,
        /// Grid extent.
        gy0: f64,
        /// Grid extent.
        gy1: f64,
        /// The likely fix.
        hint: String,
    },
}

/// Finds the encoding named by a scenario or a `.cpg` file: a WHATWG label (`gbk`, `gb2312`,
/// `gb18030`, `utf-8`, `big5`, `windows-1252`...) or a Windows code page number, bare or as
/// `cp936` / `windows-936` / `ansi 936`.
pub fn encoding_for(name: &str) -> Option<&'static encoding_rs::Encoding> {
    let t = name.trim();
    if let Some(e) = encoding_rs::Encoding::for_label(t.as_bytes()) {
        return Some(e);
    }
    let lower = t.to_ascii_lowercase();
    let digits = lower
        .trim_start_matches("ansi")
        .trim_start_matches("windows")
        .trim_start_matches("cp")
        .trim_start_matches(['-', '_', ' ']);
    digits.parse::<u16>().ok().and_then(codepage::to_encoding)
}

/// Reads a polygon layer, choosing the reader by the file's content (see the module docs).
///
/// # Errors
/// [`VectorError`] naming the file: unreadable, a format not read here (with the conversion
/// command), a missing companion file, an unknown encoding, or a feature that is not a
/// polygon. A layer without features is read (callers decide; see [`PolygonLayer::require`]).
pub fn read_layer(path: &Path, opts: &ReadOptions) -> Result<PolygonLayer, VectorError> {
    let invalid = |what: String| VectorError::Invalid {
        path: path.to_path_buf(),
        what,
    };
    let encoding = match &opts.encoding {
        None => None,
        Some(name) => Some(encoding_for(name).ok_or_else(|| {
            invalid(format!(
                "has `encoding = \"{name}\"`, which is not an encoding ecocorridor knows\n  hint: use `gbk` (also for GB2312/CP936 data), `gb18030`, `utf-8`, `big5`, or a Windows code page number such as `936`"
            ))
        })?),
    };
    if path.is_dir() {
        return Err(invalid(directory_message(path, opts.layer.as_deref())));
    }
    let mut head = [0u8; 100];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|source| VectorError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(VectorError::Io {
                        path: path.to_path_buf(),
                        source,
                    })
                }
            }
        }
        n
    };
    let layer = match sniff(&head[..n]) {
        Some(Format::Shapefile) => shp::read(path, encoding)?,
        Some(Format::GeoPackage) => gpkg::read(path, opts.layer.as_deref())?,
        Some(Format::GeoJson) => geojson::read(path, encoding)?,
        None => return Err(invalid(unknown_format_message(path, &head[..n]))),
    };
    Ok(layer)
}

/// Whether `path` is a polygon layer (by content, as [`read_layer`] decides) rather than a
/// raster: a Shapefile, GeoPackage or GeoJSON file, or a folder (a File Geodatabase, which
/// [`read_layer`] then refuses with the conversion command).
pub fn is_vector_layer(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let mut head = [0u8; 100];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    sniff(&head[..n]).is_some()
}

/// The format of a file by its first bytes.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.len() >= 4 && head[..4] == [0x00, 0x00, 0x27, 0x0A] {
        return Some(Format::Shapefile);
    }
    if head.starts_with(b"SQLite format 3\0") {
        return Some(Format::GeoPackage);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Some(Format::GeoJson),
        _ => None,
    }
}

fn directory_message(path: &Path, layer: Option<&str>) -> String {
    let is_gdb = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gdb"));
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "layer".into());
    if is_gdb {
        let name = layer.unwrap_or("<layer>");
        format!(
            "is an Esri File Geodatabase, which ecocorridor does not read\n  hint: convert the layer to a GeoPackage with GDAL and point the scenario at it:\n    ogr2ogr -f GPKG {stem}_{name}.gpkg {} {name}\n  (`ogrinfo {}` lists the layers, e.g. DLTB for the land survey's parcels)",
            path.display(),
            path.display()
        )
    } else {
        format!(
            "is a folder; give the layer file itself (a .shp, .gpkg or .geojson inside it)\n  hint: `ls {}`",
            path.display()
        )
    }
}

fn unknown_format_message(path: &Path, head: &[u8]) -> String {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let shp = path.with_extension("shp");
    let what = if head.is_empty() {
        "is empty (0 bytes)".to_string()
    } else if head.starts_with(b"PK\x03\x04") {
        "is a zip archive".to_string()
    } else if ext == "dbf" || ext == "shx" || ext == "prj" || ext == "cpg" {
        return format!(
            "is the .{ext} part of a Shapefile; give the .shp file (`{}`)",
            shp.display()
        );
    } else if head.starts_with(b"<") || head.starts_with(b"\xEF\xBB\xBF<") {
        "is XML (KML or GML?)".to_string()
    } else {
        "is not in a format ecocorridor reads".to_string()
    };
    format!(
        "{what}; polygon layers are read from ESRI Shapefile (.shp with .shx, .dbf, .prj), GeoPackage (.gpkg) and GeoJSON\n  hint: convert it with GDAL, e.g. `ogr2ogr -f GPKG layer.gpkg {}`{}",
        path.display(),
        if head.starts_with(b"PK\x03\x04") {
            " after unpacking it"
        } else {
            ""
        }
    )
}

impl PolygonLayer {
    /// The layer in the grid's CRS, checked against the grid: a layer in another CRS with an
    /// EPSG code is reprojected (see [`reproject`]; a note says so); a Shapefile without a
    /// `.prj`, or a CRS that cannot be converted, is an error with the fix; and the polygons
    /// must overlap the grid (a layer in degrees over a metre grid without a declared CRS
    /// does not). Layers without a declared CRS (GeoJSON without `crs`) are taken to be in
    /// the grid's CRS.
    ///
    /// # Errors
    /// [`VectorError`] naming the file, both CRSs and the `ogr2ogr` command that would fix it.
    pub fn onto(mut self, grid: &Grid) -> Result<PolygonLayer, VectorError> {
        let target = grid
            .crs()
            .epsg
            .map(|e| format!("EPSG:{e}"))
            .unwrap_or_else(|| "<the rasters' CRS>".into());
        if self.format == Format::Shapefile && self.crs.is_none() {
            let prj =
                shp::sibling(&self.path, "prj").unwrap_or_else(|| self.path.with_extension("prj"));
            return Err(VectorError::Invalid {
                path: self.path.clone(),
                what: format!(
                    "has no `{}`, so its coordinate system is unknown\n  hint: copy the .prj that came with the layer, or, if the layer is in the rasters' CRS ({}), write one: `gdalsrsinfo -o wkt1_esri {target} > {}`",
                    prj.display(),
                    grid.crs(),
                    prj.display()
                ),
            });
        }
        let mut reprojected_from = None;
        if let Some(crs) = self.crs.clone() {
            let differs = crs.conflicts_with(grid.crs())
                || (crs.kind == CrsKind::Geographic && grid.crs().kind == CrsKind::ProjectedMetres);
            if differs {
                match reproject::Transformer::between(&crs, grid.crs()) {
                    Ok(t) => {
                        t.apply(&mut self).map_err(|what| VectorError::Crs {
                            path: self.path.clone(),
                            layer_crs: crs.to_string(),
                            grid_crs: grid.crs().to_string(),
                            why: format!(" and reprojecting it failed: {what}"),
                            target: target.clone(),
                        })?;
                        self.notes.push(format!(
                            "layer `{}` reprojected from {} to {} on reading ({})",
                            self.path.display(),
                            crs,
                            grid.crs(),
                            t.method()
                        ));
                        self.crs = Some(grid.crs().clone());
                        reprojected_from = Some(crs);
                    }
                    Err(why) => {
                        return Err(VectorError::Crs {
                            path: self.path.clone(),
                            layer_crs: crs.to_string(),
                            grid_crs: grid.crs().to_string(),
                            why: format!(" ({why})"),
                            target,
                        })
                    }
                }
            }
        }
        self.check_overlap(grid, &target, reprojected_from.as_ref())?;
        Ok(self)
    }

    /// The layer itself, or an error when it holds no polygon (a district, sources or parcels
    /// layer must have some; an empty zone layer only means no cell is in the zone).
    ///
    /// # Errors
    /// [`VectorError::Invalid`] naming the file and how to check it.
    pub fn require(self) -> Result<PolygonLayer, VectorError> {
        if self.features.is_empty() {
            return Err(VectorError::Invalid {
                what: format!(
                    "({}) holds no polygon\n  hint: check that the file is the right one and was exported with its features (`ogrinfo -al -so {}` shows the feature count)",
                    self.format.name(),
                    self.path.display()
                ),
                path: self.path,
            });
        }
        Ok(self)
    }

    fn check_overlap(
        &self,
        grid: &Grid,
        target: &str,
        reprojected_from: Option<&Crs>,
    ) -> Result<(), VectorError> {
        let Some((lx0, lx1, ly0, ly1)) = self.extent() else {
            return Ok(());
        };
        let (gx0, gx1, gy0, gy1) = (grid.origin_x(), grid.max_x(), grid.min_y(), grid.origin_y());
        if lx1 < gx0 || lx0 > gx1 || ly1 < gy0 || ly0 > gy1 {
            let degrees = lx0 >= -180.0 && lx1 <= 180.0 && ly0 >= -90.0 && ly1 <= 90.0;
            let hint = if let Some(from) = reprojected_from {
                format!("the layer declares {from} and was reprojected to {} (the extent above is after reprojection); check that {from} is really its CRS", grid.crs())
            } else if degrees {
                format!("the coordinates look like longitude/latitude; declare the layer's CRS (e.g. a .prj for EPSG:4490) so it is reprojected, or reproject it: `ogr2ogr -s_srs EPSG:4490 -t_srs {target} out.gpkg {}`", self.path.display())
            } else {
                format!("check that the layer is in the CRS it declares (or, without one, the rasters' CRS {}) and covers the study area", grid.crs())
            };
            return Err(VectorError::NoOverlap {
                path: self.path.clone(),
                n: self.features.len(),
                lx0,
                lx1,
                ly0,
                ly1,
                gx0,
                gx1,
                gy0,
                gy1,
                hint,
            });
        }
        Ok(())
    }

    /// Bounding box (xmin, xmax, ymin, ymax) of all features.
    pub fn extent(&self) -> Option<(f64, f64, f64, f64)> {
        let mut ext: Option<(f64, f64, f64, f64)> = None;
        for f in &self.features {
            if let Some(r) = f.geometry.bounding_rect() {
                let e = ext.get_or_insert((r.min().x, r.max().x, r.min().y, r.max().y));
                e.0 = e.0.min(r.min().x);
                e.1 = e.1.max(r.max().x);
                e.2 = e.2.min(r.min().y);
                e.3 = e.3.max(r.max().y);
            }
        }
        ext
    }
}

/// Checks every coordinate of a geometry is finite (shared by the readers).
pub(crate) fn check_finite(geometry: &MultiPolygon<f64>) -> Result<(), String> {
    for p in geometry {
        for c in p
            .exterior()
            .coords()
            .chain(p.interiors().iter().flat_map(|r| r.coords()))
        {
            if !(c.x.is_finite() && c.y.is_finite()) {
                return Err(format!("has a non-finite coordinate ({}, {})", c.x, c.y));
            }
        }
    }
    Ok(())
}

/// The hint for a feature that is a line or point where polygons are expected.
pub(crate) fn not_polygon_message(type_name: &str) -> String {
    format!(
        "is a {type_name} where Polygon or MultiPolygon is expected\n  hint: buffer lines and points into polygons first (e.g. `ogr2ogr -dialect sqlite -sql \"SELECT ST_Buffer(geometry, 15) FROM layer\"`)"
    )
}

#[cfg(test)]
mod tests;
