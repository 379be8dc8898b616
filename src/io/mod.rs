//! Everything that touches files: rasters (GeoTIFF, ESRI/GRASS ASCII grids), vector layers
//! (GeoJSON), tables (CSV) and atomic output writing. Stages never read files themselves.

pub mod ascii;
pub mod atomic;
pub mod geojson_out;
pub mod geotiff;
pub mod load;
pub mod network_tables;
pub mod optimize_tables;
pub mod png_out;
pub mod prj;
pub mod raster;
pub mod table;
pub mod table_error;
pub mod vector;

pub use raster::{open_raster, read_f32, RasterError, RasterHeader, RasterReader, SampleType};
pub use table_error::{RowProblem, TableError};
