//! Reading rasters whatever their format: GeoTIFF (sniffed by its magic bytes), ESRI ASCII grids
//! (`ncols`...) and GRASS ASCII grids (`north:`...).
//!
//! Reading is two-step so that large rasters are decoded straight into their final compact
//! type: [`open_raster`] reads the header (grid, sample type, nodata) and checks it; then
//! [`RasterReader::read_with`] decodes chunk by chunk, handing each value (as `f64`, exact for
//! every supported sample type) to a conversion closure that writes the target array. Peak
//! memory is the target array plus one TIFF strip or tile.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::grid::{Grid, GridError};
use crate::raster::Raster;

use super::{ascii, geotiff};

/// Sample types ecocorridor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleType {
    /// Unsigned 8-bit.
    U8,
    /// Signed 8-bit.
    I8,
    /// Unsigned 16-bit.
    U16,
    /// Signed 16-bit.
    I16,
    /// Unsigned 32-bit.
    U32,
    /// Signed 32-bit.
    I32,
    /// 32-bit float.
    F32,
    /// 64-bit float (also ASCII grids, whose values are text).
    F64,
}

impl SampleType {
    /// Whether the type holds integers only.
    pub fn is_integer(self) -> bool {
        !matches!(self, SampleType::F32 | SampleType::F64)
    }

    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            SampleType::U8 | SampleType::I8 => 1,
            SampleType::U16 | SampleType::I16 => 2,
            SampleType::U32 | SampleType::I32 | SampleType::F32 => 4,
            SampleType::F64 => 8,
        }
    }
}

/// What a raster file declares before its cells are read.
#[derive(Debug, Clone, PartialEq)]
pub struct RasterHeader {
    /// The file.
    pub path: PathBuf,
    /// Its grid.
    pub grid: Grid,
    /// The nodata value (GDAL_NODATA tag or NODATA_value line), if any.
    pub nodata: Option<f64>,
    /// Sample type of the stored values.
    pub sample: SampleType,
}

impl RasterHeader {
    /// Whether `v` is this raster's nodata (NaN always is).
    pub fn is_nodata(&self, v: f64) -> bool {
        v.is_nan()
            || self
                .nodata
                .is_some_and(|nd| v == nd || (nd.is_nan() && v.is_nan()))
    }
}

/// Why a raster could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    /// The file could not be opened or read.
    #[error("cannot read raster `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Neither TIFF nor a known ASCII grid.
    #[error(
        "`{path}` is not a raster ecocorridor reads: it is neither a GeoTIFF nor an ESRI/GRASS \
         ASCII grid (it starts with {start:?})\n  hint: convert it with \
         `gdal_translate -of GTiff -co COMPRESS=DEFLATE {path} out.tif`"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Its first bytes, for the message.
        start: String,
    },
    /// The TIFF decoder failed (truncated file, corrupt data...).
    #[error("raster `{path}` is damaged or truncated: {source}\n  hint: check the file with `gdalinfo -checksum {path}`, or export it again")]
    Tiff {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: tiff::TiffError,
    },
    /// A feature the reader does not support, with the way around it.
    #[error("raster `{path}`: {what}\n  hint: {hint}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is unsupported.
        what: String,
        /// How to convert the file.
        hint: String,
    },
    /// Georeferencing missing or unusable.
    #[error("raster `{path}` {what}\n  hint: {hint}")]
    Georef {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
        /// The fix.
        hint: String,
    },
    /// The header describes an impossible or too large grid.
    #[error("raster `{path}`: {source}")]
    Grid {
        /// The file.
        path: PathBuf,
        /// The grid problem.
        source: GridError,
    },
    /// An ASCII grid that does not parse.
    #[error("ASCII grid `{path}`, line {line}: {what}")]
    Ascii {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// A cell value the caller cannot accept (reported by the conversion closure).
    #[error("raster `{path}`, row {row}, column {col}: {what}")]
    Value {
        /// The file.
        path: PathBuf,
        /// 0-based row.
        row: usize,
        /// 0-based column.
        col: usize,
        /// What is wrong with the value, and the fix.
        what: String,
    },
    /// Writing failed.
    #[error("cannot write raster `{path}`: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A raster file whose header has been read and checked, ready to decode.
pub enum RasterReader {
    /// A GeoTIFF.
    GeoTiff(Box<geotiff::GeoTiffReader>),
    /// An ESRI or GRASS ASCII grid.
    Ascii(ascii::AsciiReader),
}

/// Opens a raster by sniffing its first bytes and reads its header.
///
/// # Errors
/// [`RasterError`] naming the file: unreadable, unknown format, unsupported compression or
/// layout, missing or rotated georeferencing, impossible size.
pub fn open_raster(path: &Path) -> Result<RasterReader, RasterError> {
    let mut magic = [0u8; 8];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .map_err(|source| RasterError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let magic = &magic[..n];
    if magic.starts_with(b"II*\0")
        || magic.starts_with(b"MM\0*")
        || magic.starts_with(b"II+\0")
        || magic.starts_with(b"MM\0+")
    {
        return geotiff::GeoTiffReader::open(path).map(|r| RasterReader::GeoTiff(Box::new(r)));
    }
    let text = String::from_utf8_lossy(magic).to_ascii_lowercase();
    let t = text.trim_start();
    if t.starts_with("ncols")
        || t.starts_with("nrows")
        || t.starts_with("xll")
        || t.starts_with("yll")
        || t.starts_with("cellsi")
    {
        return ascii::AsciiReader::open(path).map(RasterReader::Ascii);
    }
    if [
        "north", "south", "east", "west", "rows", "cols", "proj", "zone",
    ]
    .iter()
    .any(|k| t.starts_with(k))
    {
        return ascii::AsciiReader::open(path).map(RasterReader::Ascii);
    }
    Err(RasterError::UnknownFormat {
        path: path.to_path_buf(),
        start: String::from_utf8_lossy(magic).into_owned(),
    })
}

impl RasterReader {
    /// The checked header.
    pub fn header(&self) -> &RasterHeader {
        match self {
            RasterReader::GeoTiff(r) => r.header(),
            RasterReader::Ascii(r) => r.header(),
        }
    }

    /// Decodes every cell, row-major, through `convert(value, cell_index)`; a conversion error
    /// message becomes [`RasterError::Value`] at that cell.
    ///
    /// # Memory
    /// The returned vector (`cells × size_of::<T>()`) plus one strip or tile.
    pub fn read_with<T, E, F>(self, convert: F) -> Result<Vec<T>, RasterError>
    where
        T: Copy + Default,
        F: FnMut(f64, usize) -> Result<T, E>,
        E: std::fmt::Display,
    {
        match self {
            RasterReader::GeoTiff(r) => r.read_with(convert),
            RasterReader::Ascii(r) => r.read_with(convert),
        }
    }
}

/// Reads a raster as `f32`, with nodata cells as NaN (resistance, factors, cost distance).
///
/// # Errors
/// As [`open_raster`]; also a finite value outside the `f32` range.
pub fn read_f32(path: &Path) -> Result<Raster<f32>, RasterError> {
    let reader = open_raster(path)?;
    let header = reader.header().clone();
    let data = reader.read_with(|v, _| {
        if header.is_nodata(v) {
            Ok(f32::NAN)
        } else if v.is_finite() && v.abs() > f32::MAX as f64 {
            Err(format!("value {v} does not fit a 32-bit float"))
        } else {
            Ok(v as f32)
        }
    })?;
    Ok(Raster::new(header.grid, data).expect("reader returns one value per cell"))
}

/// Turns a conversion error at a flat cell index into [`RasterError::Value`].
pub(crate) fn value_error(path: &Path, grid: &Grid, index: usize, what: String) -> RasterError {
    RasterError::Value {
        path: path.to_path_buf(),
        row: index / grid.cols(),
        col: index % grid.cols(),
        what,
    }
}
