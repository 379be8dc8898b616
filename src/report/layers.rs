//! The report's files: tables (CSV, in the run's language) and layers (GeoTIFF, GeoJSON), each
//! written atomically through `io`, with the error naming the file.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::candidates::Candidates;
use crate::corridors::CorridorNetwork;
use crate::grid::Grid;
use crate::io::geojson_out::{write_lines, write_polygons};
use crate::io::geotiff::{write_geotiff, write_geotiff_with};
use crate::io::table::{write_csv, Table};
use crate::landscape::Landscape;
use crate::map::Lang;
use crate::optimize::{Plan, Problem};
use crate::raster::SparseF32;
use crate::resistance::Resistance;
use crate::sources::Sources;

/// Nodata of the f32 layers (resistance, cost distance, corridors, carbon): barriers and
/// cells outside the study area.
pub const NODATA_F32: f32 = -9999.0;

/// A CSV table `dir/name` (with a UTF-8 byte-order mark when `bom`, for Excel).
///
/// # Errors
/// The file cannot be written (named in the message).
pub fn write_table(dir: &Path, name: &str, table: &Table, bom: bool) -> Result<()> {
    let path = dir.join(name);
    write_csv(&path, table, bom).with_context(|| format!("cannot write `{}`", path.display()))
}

/// A CSV table with its column names in `lang` (Chinese names as listed in the README).
///
/// # Errors
/// The file cannot be written.
pub fn write_table_in(lang: Lang, dir: &Path, name: &str, t: &Table, bom: bool) -> Result<()> {
    match lang {
        Lang::En => write_table(dir, name, t, bom),
        Lang::Zh => write_table(dir, name, &super::to_chinese(t), bom),
    }
}

/// An f32 GeoTIFF `dir/name` with non-finite values as nodata.
fn write_f32(dir: &Path, name: &str, grid: &Grid, values: &[f32]) -> Result<()> {
    write_f32_at(&dir.join(name), grid, values)
}

/// An f32 GeoTIFF at `path` of `values` (`f32` or `f64`, written as `f32`) with non-finite
/// values as nodata ([`NODATA_F32`]), converted strip by strip: no copy of the grid.
///
/// # Errors
/// The file cannot be written (named in the message).
pub fn write_f32_at<V: Copy + Into<f64> + Sync>(
    path: &Path,
    grid: &Grid,
    values: &[V],
) -> Result<()> {
    write_f32_with_at(path, grid, |start, strip| {
        for (o, &x) in strip.iter_mut().zip(&values[start..]) {
            let x = x.into() as f32;
            *o = if x.is_finite() { x } else { NODATA_F32 };
        }
    })
}

/// An f32 GeoTIFF `dir/name` of values made strip by strip (`fill` as for
/// [`write_geotiff_with`]; it writes non-finite values as [`NODATA_F32`]).
fn write_f32_with(
    dir: &Path,
    name: &str,
    grid: &Grid,
    fill: impl Fn(usize, &mut [f32]) + Sync,
) -> Result<()> {
    write_f32_with_at(&dir.join(name), grid, fill)
}

fn write_f32_with_at(
    path: &Path,
    grid: &Grid,
    fill: impl Fn(usize, &mut [f32]) + Sync,
) -> Result<()> {
    write_geotiff_with(path, grid, Some(NODATA_F32 as f64), fill)
        .with_context(|| format!("cannot write `{}`", path.display()))
}

/// [`write_f32`] of a layer held on a few cells, strip by strip from its entries.
fn write_sparse_f32(dir: &Path, name: &str, grid: &Grid, values: &SparseF32) -> Result<()> {
    write_f32_with(dir, name, grid, |start, strip| {
        strip.fill(NODATA_F32);
        for (c, v) in values.entries_in(start..start + strip.len()) {
            if v.is_finite() {
                strip[c - start] = v;
            }
        }
    })
}

/// `walk_minutes.tif`: walking time to the nearest qualifying park, min; cells outside the
/// study area and cells no park can be reached from are nodata.
///
/// # Errors
/// The file cannot be written.
pub fn write_walk_minutes(dir: &Path, grid: &Grid, minutes: &[f32]) -> Result<()> {
    write_f32(dir, "walk_minutes.tif", grid, minutes)
}

/// `resistance.tif`: barriers and outside cells are nodata.
///
/// # Errors
/// The file cannot be written.
pub fn write_resistance(dir: &Path, grid: &Grid, res: &Resistance) -> Result<()> {
    write_f32(dir, "resistance.tif", grid, res.values())
}

/// `carbon.tif`: carbon stock per cell, t C (nodata outside the study area).
///
/// # Errors
/// The file cannot be written.
pub fn write_carbon(dir: &Path, land: &Landscape) -> Result<()> {
    let per_class = crate::carbon::stock_per_class(land);
    write_f32_with(dir, "carbon.tif", &land.grid, |start, strip| {
        for (o, &c) in strip.iter_mut().zip(&land.landcover[start..]) {
            let v = per_class[c as usize];
            *o = if v.is_finite() { v } else { NODATA_F32 };
        }
    })
}

/// `sources.tif`: patch id per cell (0 = not a source).
///
/// # Errors
/// The file cannot be written.
pub fn write_sources(dir: &Path, grid: &Grid, src: &Sources) -> Result<()> {
    let path = dir.join("sources.tif");
    write_geotiff(&path, grid, &src.ids, Some(0.0))
        .with_context(|| format!("cannot write `{}`", path.display()))
}

/// `cost_distance.tif`, `corridors.tif`, `sources.tif` and `corridors.geojson`.
///
/// # Errors
/// A file cannot be written.
pub fn write_corridor_layers(
    dir: &Path,
    land: &Landscape,
    src: &Sources,
    net: &CorridorNetwork,
) -> Result<()> {
    write_f32(dir, "cost_distance.tif", &land.grid, &net.cost)?;
    write_sparse_f32(dir, "corridors.tif", &land.grid, &net.nlcc)?;
    write_sources(dir, &land.grid, src)?;
    let lines = net.corridors.iter().map(|c| {
        let mut p = serde_json::Map::new();
        p.insert("corridor_id".into(), c.id.into());
        p.insert("from_patch".into(), c.from.into());
        p.insert("to_patch".into(), c.to.into());
        p.insert("lcd".into(), rounded(c.lcd, 1000.0));
        p.insert("path_length_m".into(), rounded(c.path_length_m, 100.0));
        p.insert("euclid_m".into(), rounded(c.euclid_m, 100.0));
        p.insert("crosses_patch".into(), c.crosses_patch.into());
        (super::path_polyline(&land.grid, &c.path), p)
    });
    let gj = dir.join("corridors.geojson");
    write_lines(&gj, land.grid.crs(), lines)
        .with_context(|| format!("cannot write `{}`", gj.display()))
}

/// `pinchpoints.tif` (per cell the largest current over corridor zones, A) and
/// `pinchpoints_normalized.tif` (the same divided by its corridor's largest current, 0-1);
/// nodata outside every zone and on the patches.
///
/// # Errors
/// A file cannot be written.
pub fn write_pinch_points(dir: &Path, grid: &Grid, p: &crate::circuit::PinchPoints) -> Result<()> {
    write_sparse_f32(dir, "pinchpoints.tif", grid, &p.current)?;
    write_sparse_f32(dir, "pinchpoints_normalized.tif", grid, &p.normalized)
}

/// `x` rounded to `1/scale` as a JSON number.
fn rounded(x: f64, scale: f64) -> serde_json::Value {
    serde_json::json!((x * scale).round() / scale)
}

/// `sites.geojson` (one polygon per candidate site, with `selected`) and `sites.tif`.
///
/// # Errors
/// A file cannot be written.
pub fn write_sites_layer(
    dir: &Path,
    grid: &Grid,
    cands: &Candidates,
    p: &Problem,
    plan: &Plan,
) -> Result<()> {
    let polys = crate::polygonize::regions(grid, &cands.site_ids, cands.sites.len());
    let features = cands
        .sites
        .iter()
        .zip(&p.sites)
        .zip(polys)
        .zip(&plan.sites)
        .map(|(((c, q), poly), &x)| {
            let mut props = serde_json::Map::new();
            props.insert("site_id".into(), c.name.clone().into());
            props.insert("area_ha".into(), c.area_ha.into());
            props.insert("cost_yuan".into(), c.cost_yuan.into());
            props.insert("carbon_tco2e".into(), c.carbon_tco2e.into());
            props.insert("from_class".into(), c.from_code.into());
            props.insert("to_class".into(), c.to_code.into());
            props.insert("park".into(), u8::from(c.park).into());
            props.insert("footbridge".into(), u8::from(c.footbridge).into());
            props.insert("zones".into(), q.zones.join(";").into());
            props.insert("lcd_drop".into(), c.lcd_drop.into());
            props.insert("benefit".into(), c.benefit.into());
            props.insert("selected".into(), u8::from(x).into());
            (poly, props)
        });
    let path = dir.join("sites.geojson");
    write_polygons(&path, grid.crs(), features)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    let path = dir.join("sites.tif");
    write_geotiff_with(&path, grid, Some(0.0), |start, strip: &mut [u32]| {
        cands.site_ids.fill_range(start, strip, 0)
    })
    .with_context(|| format!("cannot write `{}`", path.display()))
}

/// `connectors.geojson`: the least-cost path of every candidate connector, with `selected`
/// for the corridor ids in `chosen`.
///
/// # Errors
/// The file cannot be written.
pub fn write_connector_lines(
    dir: &Path,
    grid: &Grid,
    cands: &Candidates,
    net: &CorridorNetwork,
    chosen: &BTreeSet<u32>,
) -> Result<()> {
    let lines = cands.connectors.iter().map(|k| {
        let c = &net.corridors[k.id as usize - 1];
        let mut props = serde_json::Map::new();
        props.insert("connector_id".into(), k.id.into());
        props.insert("from_patch".into(), k.from.into());
        props.insert("to_patch".into(), k.to.into());
        props.insert("crossing_m".into(), rounded(k.crossing_m, 100.0));
        props.insert("cost_yuan".into(), rounded(k.cost_yuan, 100.0));
        props.insert("selected".into(), u8::from(chosen.contains(&k.id)).into());
        (super::path_polyline(grid, &c.path), props)
    });
    let path = dir.join("connectors.geojson");
    write_lines(&path, grid.crs(), lines)
        .with_context(|| format!("cannot write `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A layer held on a few cells is written to the same bytes as its whole grid.
    #[test]
    fn a_sparse_layer_writes_the_same_file_as_its_grid() {
        let (rows, cols) = (37, 53);
        let grid = Grid::new(
            rows as u64,
            cols as u64,
            30.0,
            500_000.0,
            3_000_000.0,
            crate::grid::Crs::projected_epsg(4545),
        )
        .unwrap();
        let dense: Vec<f32> = (0..rows * cols)
            .map(|i| match i % 7 {
                0 => i as f32 * 0.25,
                1 => f32::INFINITY,
                2 => 0.0,
                _ => f32::NAN,
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        write_f32(dir.path(), "dense.tif", &grid, &dense).unwrap();
        let sparse = SparseF32::from_dense(&dense);
        write_sparse_f32(dir.path(), "sparse.tif", &grid, &sparse).unwrap();
        let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
        assert_eq!(read("dense.tif"), read("sparse.tif"));
    }
}
