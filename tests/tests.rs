//! Integration tests: the `ecocorridor` binary run on fixtures made in temporary folders.
//! One module per concern.

mod util;

/// `synth` output is accepted by `validate`, and is deterministic.
mod synth_validate;

/// Our GeoTIFFs as GDAL reads them, and GDAL's GeoTIFFs as we read them.
mod gdal;

/// The stage commands: values, tables and determinism.
mod stages;

/// Known answers of GRASS r.cost and other reference tools.
mod known_answers;

/// Every bad input gets one clear message and exit code 2.
mod bad_input;

/// `run` and `batch`: every output, atomic replacement, comparisons and shards.
mod run;

/// The library's layers: imports only from below, no module cycles.
mod layers;

/// Polygon layers as Shapefile (GBK, UTF-8), GeoPackage and GeoJSON, in any CRS with a code.
mod vector_formats;
