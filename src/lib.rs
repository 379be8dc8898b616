//! ecocorridor: ecological sources, resistance, least-cost corridors, connectivity, carbon
//! accounting and restoration optimization on land-cover rasters.
//!
//! # Layers
//! Each module imports only from its own layer or below, and no two modules import each
//! other through any chain (`tests/layers.rs` keeps it so):
//!
//! 5. **application**: [`app`] (the pipeline as a library: stage order, memory estimate,
//!    plan measurement, a whole run with its outputs swapped into place (`app::run`), the
//!    stand-alone tools (`app::tools`); progress and timing through a [`app::Context`]
//!    passed in);
//! 4. **reports and files**: [`report`] (tables from typed results; `report::layers` writes
//!    them and every GeoTIFF/GeoJSON layer), [`map`] (pictures),
//!    [`io`] (every file read and written; `io::load` turns a scenario into a landscape);
//! 3. **configuration**: [`scenario`] (the TOML file), [`settings`] and [`plan`] (a scenario's
//!    sections as stage options and as the optimization problem);
//! 2. **stages**, pure (typed values in, typed values out): [`resistance`], [`sources`],
//!    [`corridors`], [`network`], [`carbon`], [`candidates`], [`optimize`], [`measure`],
//!    [`circuit`], [`synth`];
//! 1. **engines**: [`costdist`], [`label`], [`edt`], [`polygonize`], [`linsolve`];
//! 0. **model types**: [`grid`], [`classes`], [`landscape`], [`raster`], [`surface`] (and,
//!    for the unit tests only, `testutil`); [`pages`], giving freed memory back to the system.
//!
//! The binary's `cli` sits on top: it parses arguments, calls [`app`] and prints.
#![warn(missing_docs)]

pub mod access;
pub mod app;
pub mod candidates;
pub mod carbon;
pub mod circuit;
pub mod classes;
pub mod corridors;
pub mod costdist;
pub mod edt;
pub mod grid;
pub mod io;
pub mod label;
pub mod landscape;
pub mod linsolve;
pub mod map;
pub mod measure;
pub mod network;
pub mod optimize;
pub mod pages;
pub mod plan;
pub mod polygonize;
pub mod raster;
pub mod report;
pub mod resistance;
pub mod scenario;
pub mod settings;
pub mod sources;
pub mod surface;
pub mod synth;
#[cfg(test)]
mod testutil;

pub use grid::{Crs, CrsKind, Grid};
pub use raster::Raster;
