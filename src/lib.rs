//! ecocorridor: ecological sources, resistance, least-cost corridors, connectivity, carbon
//! accounting and restoration optimization on land-cover rasters.
//!
//! The library is organised as the pipeline in `DESIGN.md`: `io` reads and writes files;
//! every other module is a pure stage (typed values in, typed values out).
#![warn(missing_docs)]

pub mod app;
pub mod candidates;
pub mod carbon;
pub mod classes;
pub mod corridors;
pub mod costdist;
pub mod edt;
pub mod grid;
pub mod io;
pub mod label;
pub mod landscape;
pub mod map;
pub mod measure;
pub mod network;
pub mod optimize;
pub mod plan;
pub mod polygonize;
pub mod raster;
pub mod report;
pub mod resistance;
pub mod scenario;
pub mod settings;
pub mod sources;
pub mod synth;

pub use grid::{Crs, CrsKind, Grid};
pub use raster::Raster;
