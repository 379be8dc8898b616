//! GeoTIFF reading and writing (pure Rust on the `tiff` crate; GDAL not needed).
//!
//! Reading: stripped or tiled, uncompressed, LZW, Deflate, PackBits or ZSTD, predictors 1-3,
//! classic TIFF or BigTIFF, one band of u8/i8/u16/i16/u32/i32/f32/f64. Georeferencing from
//! ModelPixelScale + ModelTiepoint (PixelIsPoint shifted by half a cell, as GDAL does) or from
//! a ModelTransformation without rotation; the CRS from the GeoKeyDirectory (EPSG code,
//! projected or geographic, linear unit); nodata from the GDAL_NODATA tag.
//!
//! Writing: one band of u8/u16/u32/f32, Deflate with a horizontal predictor for integers,
//! strips of about 256 KiB, BigTIFF past 3.5 GiB, with ModelPixelScale, ModelTiepoint, a
//! GeoKeyDirectory (GeoTIFF 1.1, PixelIsArea, EPSG code) and GDAL_NODATA, so GDAL reads back the
//! CRS, transform and nodata exactly. The file is written under a temporary name and renamed.

use std::fs::File;
use std::io::{BufReader, Seek, Write};
use std::path::{Path, PathBuf};

use tiff::decoder::{ifd::Value, ChunkType, Decoder, DecodingResult, Limits};
use tiff::encoder::{colortype, compression::DeflateLevel, TiffEncoder, TiffKind};
use tiff::tags::{Predictor, Tag};

use crate::grid::{epsg_kind, Crs, CrsKind, Grid};

use super::raster::{value_error, RasterError, RasterHeader, SampleType};

// GeoKey ids (GeoTIFF 1.1, OGC 19-008r4).
const GT_MODEL_TYPE: u16 = 1024;
const GT_RASTER_TYPE: u16 = 1025;
const GEOGRAPHIC_TYPE: u16 = 2048;
const PROJECTED_CS_TYPE: u16 = 3072;
const PROJ_LINEAR_UNITS: u16 = 3076;
const GT_CITATION: u16 = 1026;
const USER_DEFINED: u16 = 32767;
const LINEAR_METER: u16 = 9001;

/// A GeoTIFF whose header has been read and checked.
pub struct GeoTiffReader {
    header: RasterHeader,
    decoder: Decoder<BufReader<File>>,
    compression: u16,
    predictor: u16,
}

fn tiff_err(path: &Path) -> impl Fn(tiff::TiffError) -> RasterError + '_ {
    move |source| RasterError::Tiff {
        path: path.to_path_buf(),
        source,
    }
}

fn unsupported(path: &Path, what: impl Into<String>, hint: impl Into<String>) -> RasterError {
    RasterError::Unsupported {
        path: path.to_path_buf(),
        what: what.into(),
        hint: hint.into(),
    }
}

fn georef(path: &Path, what: impl Into<String>, hint: impl Into<String>) -> RasterError {
    RasterError::Georef {
        path: path.to_path_buf(),
        what: what.into(),
        hint: hint.into(),
    }
}

fn value_to_f64s(v: Value) -> Option<Vec<f64>> {
    match v {
        Value::List(items) => items
            .into_iter()
            .map(|i| value_to_f64s(i).and_then(|x| x.first().copied()))
            .collect(),
        Value::Double(d) => Some(vec![d]),
        Value::Float(f) => Some(vec![f as f64]),
        Value::Short(s) => Some(vec![s as f64]),
        Value::Unsigned(u) => Some(vec![u as f64]),
        Value::UnsignedBig(u) => Some(vec![u as f64]),
        Value::Signed(s) => Some(vec![s as f64]),
        Value::SignedBig(s) => Some(vec![s as f64]),
        Value::Byte(b) => Some(vec![b as f64]),
        _ => None,
    }
}

fn value_to_string(v: Value) -> Option<String> {
    match v {
        Value::Ascii(s) => Some(s),
        Value::List(items) => {
            let bytes: Option<Vec<u8>> = items
                .into_iter()
                .map(|i| match i {
                    Value::Byte(b) => Some(b),
                    Value::Ascii(s) => s.bytes().next(),
                    _ => None,
                })
                .collect();
            bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
        }
        _ => None,
    }
}

/// The largest decoded/encoded size ratio a chunk can have: raw 1; PackBits 64 (two bytes
/// give 128); Deflate 1032 (its format limit); LZW 4096 bytes per 9-bit code at best; ZSTD
/// unbounded in practice.
fn max_ratio(compression: u16) -> f64 {
    match compression {
        1 => 1.0,
        32773 => 64.0,
        8 | 32946 => 1032.0,
        5 => 4096.0 * 8.0 / 9.0,
        _ => f64::INFINITY,
    }
}

/// Refuses, before anything is allocated, a header whose chunks cannot hold the raster it
/// claims: chunks past the end of the file, or fewer bytes than the compression could expand
/// to the claimed size (a tiny file declaring a huge raster).
fn check_chunk_sizes<R: std::io::Read + std::io::Seek>(
    decoder: &mut Decoder<R>,
    path: &Path,
    compression: u16,
    sample_bytes: usize,
    width: u32,
    height: u32,
) -> Result<(), RasterError> {
    let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(u64::MAX);
    let tiled = decoder.get_chunk_type() == ChunkType::Tile;
    let (offsets_tag, counts_tag) = if tiled {
        (Tag::TileOffsets, Tag::TileByteCounts)
    } else {
        (Tag::StripOffsets, Tag::StripByteCounts)
    };
    let offsets = decoder
        .get_tag_u64_vec(offsets_tag)
        .map_err(tiff_err(path))?;
    let counts = decoder
        .get_tag_u64_vec(counts_tag)
        .map_err(tiff_err(path))?;
    let (cw, ch) = decoder.chunk_dimensions();
    let (cw, ch) = (cw.max(1) as u64, ch.max(1) as u64);
    let across = if tiled {
        (width as u64).div_ceil(cw)
    } else {
        1
    };
    let down = (height as u64).div_ceil(ch);
    let chunk_w = if tiled { cw } else { width as u64 };
    let expected = across * down;
    let bad = |what: String| {
        Err(unsupported(
            path,
            what,
            "the file is truncated or its header is damaged: copy it again, or check it with `gdalinfo -checksum`",
        ))
    };
    if (offsets.len() as u64) < expected || (counts.len() as u64) < expected {
        return bad(format!(
            "claims {width} x {height} cells in {expected} chunks but lists {} chunks",
            offsets.len().min(counts.len())
        ));
    }
    let ratio = max_ratio(compression);
    for (k, (&o, &n)) in offsets
        .iter()
        .zip(&counts)
        .take(expected as usize)
        .enumerate()
    {
        // Tiles are always whole; the last strip may be short.
        let rows = if tiled {
            ch
        } else {
            ch.min(height as u64 - (k as u64 * ch).min(height as u64))
        };
        let chunk_bytes = (chunk_w * rows) as f64 * sample_bytes as f64;
        if o.saturating_add(n) > file_len {
            return bad(format!(
                "has chunk {k} at bytes {o}..{} but the file has only {file_len} bytes",
                o.saturating_add(n)
            ));
        }
        if (n as f64) * ratio < chunk_bytes {
            return bad(format!(
                "claims {width} x {height} cells, but chunk {k} holds {n} bytes, which cannot decode to the {chunk_bytes:.0} bytes it must hold"
            ));
        }
    }
    Ok(())
}

impl GeoTiffReader {
    /// Opens a GeoTIFF and reads and checks its header.
    pub fn open(path: &Path) -> Result<GeoTiffReader, RasterError> {
        let file = File::open(path).map_err(|source| RasterError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut decoder =
            Decoder::new(BufReader::with_capacity(1 << 16, file)).map_err(tiff_err(path))?;
        let (width, height) = decoder.dimensions().map_err(tiff_err(path))?;

        let spp: u16 = decoder
            .find_tag_unsigned(Tag::SamplesPerPixel)
            .map_err(tiff_err(path))?
            .unwrap_or(1);
        if spp != 1 {
            return Err(unsupported(
                path,
                format!("has {spp} bands; ecocorridor reads single-band rasters"),
                format!(
                    "extract the band you need: `gdal_translate -b 1 {} band1.tif`",
                    path.display()
                ),
            ));
        }
        let compression: u16 = decoder
            .find_tag_unsigned(Tag::Compression)
            .map_err(tiff_err(path))?
            .unwrap_or(1);
        let recompress = format!(
            "`gdal_translate -co COMPRESS=DEFLATE {} out.tif`",
            path.display()
        );
        match compression {
            1 | 5 | 8 | 32946 | 32773 | 50000 => {}
            6 | 7 => {
                return Err(unsupported(
                    path,
                    "is JPEG-compressed: JPEG is lossy and would corrupt class codes and resistance values",
                    format!("rewrite it losslessly: {recompress}"),
                ))
            }
            34887 => return Err(unsupported(path, "uses LERC compression, which ecocorridor does not decode", format!("rewrite it: {recompress}"))),
            34925 => return Err(unsupported(path, "uses LZMA compression, which ecocorridor does not decode", format!("rewrite it: {recompress}"))),
            other => return Err(unsupported(path, format!("uses TIFF compression code {other}, which ecocorridor does not decode"), format!("rewrite it: {recompress}"))),
        }
        let bits: u16 = decoder
            .find_tag_unsigned(Tag::BitsPerSample)
            .map_err(tiff_err(path))?
            .unwrap_or(1);
        let format: u16 = decoder
            .find_tag_unsigned(Tag::SampleFormat)
            .map_err(tiff_err(path))?
            .unwrap_or(1);
        let sample = match (format, bits) {
            (1, 8) => SampleType::U8,
            (2, 8) => SampleType::I8,
            (1, 16) => SampleType::U16,
            (2, 16) => SampleType::I16,
            (1, 32) => SampleType::U32,
            (2, 32) => SampleType::I32,
            (3, 32) => SampleType::F32,
            (3, 64) => SampleType::F64,
            (f, b) => {
                let kind = match f {
                    1 => "unsigned integer",
                    2 => "signed integer",
                    3 => "float",
                    _ => "unknown",
                };
                return Err(unsupported(
                    path,
                    format!("stores {b}-bit {kind} samples; ecocorridor reads 8/16/32-bit integers and 32/64-bit floats"),
                    format!("convert it: `gdal_translate -ot Float32 {} out.tif` (or -ot UInt16 for class codes)", path.display()),
                ));
            }
        };

        let crs = read_crs(&mut decoder, path)?;
        let pixel_is_point = read_geokeys(&mut decoder, path)?
            .iter()
            .any(|&(k, v)| k == GT_RASTER_TYPE && v == 2);
        let (sx, sy, x0, y0) = read_transform(&mut decoder, path, pixel_is_point)?;
        if ((sx - sy) / sx).abs() > 1e-6 {
            return Err(georef(
                path,
                format!("has rectangular cells ({sx} x {sy}); ecocorridor needs square cells"),
                format!(
                    "resample it: `gdalwarp -tr {sx} {sx} -tap -r near {} square.tif`",
                    path.display()
                ),
            ));
        }
        let nodata = match decoder.find_tag(Tag::GdalNodata).map_err(tiff_err(path))? {
            None => None,
            Some(v) => {
                let text = value_to_string(v).unwrap_or_default();
                let t = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
                match t.to_ascii_lowercase().as_str() {
                    "nan" | "-nan" => Some(f64::NAN),
                    _ => Some(t.parse::<f64>().map_err(|_| {
                        georef(
                            path,
                            format!("has a GDAL_NODATA tag {t:?} that is not a number"),
                            "set it again: `gdal_edit.py -a_nodata <value> FILE`",
                        )
                    })?),
                }
            }
        };
        let grid = Grid::new(height as u64, width as u64, sx, x0, y0, crs).map_err(|source| {
            RasterError::Grid {
                path: path.to_path_buf(),
                source,
            }
        })?;

        check_chunk_sizes(
            &mut decoder,
            path,
            compression,
            sample.bytes(),
            width,
            height,
        )?;
        // Chunks are bounded by the whole image, which Grid::new has already bounded.
        let mut limits = Limits::default();
        let image_bytes = grid.len().saturating_mul(sample.bytes());
        limits.decoding_buffer_size = limits.decoding_buffer_size.max(image_bytes);
        limits.intermediate_buffer_size = limits
            .intermediate_buffer_size
            .max(image_bytes.saturating_mul(2));
        limits.ifd_value_size = limits.ifd_value_size.max(64 << 20);
        let predictor: u16 = decoder
            .find_tag_unsigned(Tag::Predictor)
            .map_err(tiff_err(path))?
            .unwrap_or(1);
        let decoder = decoder.with_limits(limits);
        Ok(GeoTiffReader {
            header: RasterHeader {
                path: path.to_path_buf(),
                grid,
                nodata,
                sample,
            },
            decoder,
            compression,
            predictor,
        })
    }

    /// The checked header.
    pub fn header(&self) -> &RasterHeader {
        &self.header
    }

    /// Decodes all chunks into a row-major vector through `convert`.
    pub fn read_with<T, E, F>(mut self, mut convert: F) -> Result<Vec<T>, RasterError>
    where
        T: Copy + Default,
        F: FnMut(f64, usize) -> Result<T, E>,
        E: std::fmt::Display,
    {
        let path = self.header.path.clone();
        let grid = self.header.grid.clone();
        let cols = grid.cols();
        let mut out = vec![T::default(); grid.len()];
        let (chunk_w, chunk_h) = self.decoder.chunk_dimensions();
        let (chunk_w, chunk_h) = (chunk_w as usize, chunk_h as usize);
        let (n_chunks, across) = match self.decoder.get_chunk_type() {
            ChunkType::Strip => (
                self.decoder.strip_count().map_err(tiff_err(&path))? as usize,
                1,
            ),
            ChunkType::Tile => (
                self.decoder.tile_count().map_err(tiff_err(&path))? as usize,
                cols.div_ceil(chunk_w.max(1)),
            ),
        };
        for chunk in 0..n_chunks {
            let (row0, col0) = (chunk / across * chunk_h, chunk % across * chunk_w);
            let (w, h) = self
                .decoder
                .image_chunk_data_dims(chunk as u32)
                .map_err(tiff_err(&path))?;
            let decoded = match self.decoder.read_chunk(chunk as u32) {
                Ok(d) => d,
                // tiff 0.11 fails on some valid LZW tiles (image-rs/image-tiff#395); decode
                // those the way libtiff does.
                Err(_) if self.compression == 5 => {
                    DecodingResult::F64(self.decode_lzw_chunk(chunk, w, h)?)
                }
                Err(e) => return Err(tiff_err(&path)(e)),
            };
            macro_rules! copy {
                ($v:expr) => {{
                    let v = $v;
                    if v.len() < w * h {
                        return Err(unsupported(
                            &path,
                            format!(
                                "has a chunk of {} values where {} were expected",
                                v.len(),
                                w * h
                            ),
                            "rewrite it with `gdal_translate`",
                        ));
                    }
                    for r in 0..h {
                        let src = &v[r * w..(r + 1) * w];
                        let base = (row0 + r) * cols + col0;
                        for (c, &x) in src.iter().enumerate() {
                            let idx = base + c;
                            out[idx] = convert(x as f64, idx)
                                .map_err(|what| value_error(&path, &grid, idx, what.to_string()))?;
                        }
                    }
                }};
            }
            match decoded {
                DecodingResult::U8(v) => copy!(v),
                DecodingResult::I8(v) => copy!(v),
                DecodingResult::U16(v) => copy!(v),
                DecodingResult::I16(v) => copy!(v),
                DecodingResult::U32(v) => copy!(v),
                DecodingResult::I32(v) => copy!(v),
                DecodingResult::F32(v) => copy!(v),
                DecodingResult::F64(v) => copy!(v),
                _ => {
                    return Err(unsupported(
                        &path,
                        "has a sample type ecocorridor does not read",
                        "convert it: `gdal_translate -ot Float32 FILE out.tif`",
                    ))
                }
            }
        }
        Ok(out)
    }
}

impl GeoTiffReader {
    /// Decodes one LZW chunk from its raw bytes, stopping once the chunk's samples are
    /// complete (libtiff's behaviour: a missing end code or trailing bytes are tolerated), then
    /// undoes the predictor and returns the `w x h` data samples as `f64`.
    fn decode_lzw_chunk(
        &mut self,
        chunk: usize,
        w: usize,
        h: usize,
    ) -> Result<Vec<f64>, RasterError> {
        let path = self.header.path.clone();
        let bad = |what: String| {
            unsupported(
                &path,
                what,
                "rewrite it with `gdal_translate -co COMPRESS=DEFLATE FILE out.tif`",
            )
        };
        let tiled = self.decoder.get_chunk_type() == ChunkType::Tile;
        let (offsets_tag, counts_tag) = if tiled {
            (Tag::TileOffsets, Tag::TileByteCounts)
        } else {
            (Tag::StripOffsets, Tag::StripByteCounts)
        };
        let offsets = self
            .decoder
            .get_tag_u64_vec(offsets_tag)
            .map_err(tiff_err(&path))?;
        let counts = self
            .decoder
            .get_tag_u64_vec(counts_tag)
            .map_err(tiff_err(&path))?;
        let (&offset, &count) = offsets
            .get(chunk)
            .zip(counts.get(chunk))
            .ok_or_else(|| bad(format!("has no offset for chunk {chunk}")))?;
        let stored_w = if tiled {
            self.decoder.chunk_dimensions().0 as usize
        } else {
            w
        };
        let bps = self.header.sample.bytes();
        let need = stored_w * h * bps;
        let mut raw = vec![
            0u8;
            usize::try_from(count)
                .map_err(|_| bad("has an impossible chunk size".into()))?
        ];
        {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = File::open(&path).map_err(|source| RasterError::Io {
                path: path.clone(),
                source,
            })?;
            f.seek(SeekFrom::Start(offset))
                .and_then(|_| f.read_exact(&mut raw))
                .map_err(|source| RasterError::Io {
                    path: path.clone(),
                    source,
                })?;
        }
        let mut out = vec![0u8; need];
        let mut dec =
            weezl::decode::Configuration::with_tiff_size_switch(weezl::BitOrder::Msb, 8).build();
        let (mut inp, mut produced) = (0usize, 0usize);
        while produced < need {
            let r = dec.decode_bytes(&raw[inp..], &mut out[produced..]);
            inp += r.consumed_in;
            produced += r.consumed_out;
            match r.status {
                Ok(weezl::LzwStatus::Ok) => {}
                Ok(_) => break,
                Err(e) => return Err(bad(format!("has a corrupt LZW chunk {chunk}: {e}"))),
            }
        }
        if produced < need {
            return Err(bad(format!(
                "has an LZW chunk {chunk} with {produced} of its {need} bytes"
            )));
        }
        let big_endian = matches!(self.decoder.byte_order(), tiff::tags::ByteOrder::BigEndian);
        Ok(unpredict(
            &out,
            &ChunkLayout {
                stored_w,
                w,
                h,
                bps,
                sample: self.header.sample,
                predictor: self.predictor,
                big_endian,
            },
        ))
    }
}

/// Turns decompressed chunk bytes into sample values: undoes the horizontal (2) or
/// floating-point (3) predictor of TIFF Technical Note 3 and crops rows to `w` samples.
/// How a decompressed chunk is laid out.
struct ChunkLayout {
    /// Samples per stored row (tile width, or image width for strips).
    stored_w: usize,
    /// Data samples per row to keep.
    w: usize,
    /// Rows.
    h: usize,
    /// Bytes per sample.
    bps: usize,
    /// Sample type.
    sample: SampleType,
    /// TIFF predictor (1 none, 2 horizontal, 3 floating point).
    predictor: u16,
    /// File byte order.
    big_endian: bool,
}

fn unpredict(bytes: &[u8], l: &ChunkLayout) -> Vec<f64> {
    let ChunkLayout {
        stored_w,
        w,
        h,
        bps,
        sample,
        predictor,
        big_endian,
    } = *l;
    let row_bytes = stored_w * bps;
    let mut out = Vec::with_capacity(w * h);
    let mut row = vec![0u8; row_bytes];
    let mut bits = vec![0u64; stored_w];
    let mask = if bps == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * bps)) - 1
    };
    for r in 0..h {
        row.copy_from_slice(&bytes[r * row_bytes..(r + 1) * row_bytes]);
        if predictor == 3 {
            for i in 1..row_bytes {
                row[i] = row[i].wrapping_add(row[i - 1]);
            }
            // Bytes are stored most significant first, grouped by byte significance.
            for (j, b) in bits.iter_mut().enumerate() {
                *b = (0..bps).fold(0u64, |acc, k| (acc << 8) | row[k * stored_w + j] as u64);
            }
        } else {
            for (j, b) in bits.iter_mut().enumerate() {
                let s = &row[j * bps..(j + 1) * bps];
                *b = if big_endian {
                    s.iter().fold(0u64, |a, &x| (a << 8) | x as u64)
                } else {
                    s.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64)
                };
            }
            if predictor == 2 {
                for j in 1..stored_w {
                    bits[j] = bits[j].wrapping_add(bits[j - 1]) & mask;
                }
            }
        }
        out.extend(bits[..w].iter().map(|&b| match sample {
            SampleType::U8 | SampleType::U16 | SampleType::U32 => b as f64,
            SampleType::I8 => b as u8 as i8 as f64,
            SampleType::I16 => b as u16 as i16 as f64,
            SampleType::I32 => b as u32 as i32 as f64,
            SampleType::F32 => f32::from_bits(b as u32) as f64,
            SampleType::F64 => f64::from_bits(b),
        }));
    }
    out
}

trait ChunkDims {
    fn image_chunk_data_dims(&mut self, chunk: u32) -> Result<(usize, usize), tiff::TiffError>;
}

impl ChunkDims for Decoder<BufReader<File>> {
    /// Data dimensions of a chunk (edge chunks are cropped), checked against the chunk count so
    /// a corrupt offset table gives an error instead of a panic.
    fn image_chunk_data_dims(&mut self, chunk: u32) -> Result<(usize, usize), tiff::TiffError> {
        let count = match self.get_chunk_type() {
            ChunkType::Strip => self.strip_count()?,
            ChunkType::Tile => self.tile_count()?,
        };
        if chunk >= count {
            return Err(tiff::TiffError::FormatError(
                tiff::TiffFormatError::InconsistentSizesEncountered,
            ));
        }
        let (w, h) = self.chunk_data_dimensions(chunk);
        Ok((w as usize, h as usize))
    }
}

fn read_geokeys(
    decoder: &mut Decoder<BufReader<File>>,
    path: &Path,
) -> Result<Vec<(u16, u16)>, RasterError> {
    let Some(v) = decoder
        .find_tag(Tag::GeoKeyDirectoryTag)
        .map_err(tiff_err(path))?
    else {
        return Ok(Vec::new());
    };
    let raw: Vec<u16> = value_to_f64s(v)
        .unwrap_or_default()
        .into_iter()
        .map(|x| x as u16)
        .collect();
    if raw.len() < 4 {
        return Ok(Vec::new());
    }
    let n = raw[3] as usize;
    let mut keys = Vec::with_capacity(n);
    for k in 0..n {
        let Some(entry) = raw.get(4 + 4 * k..8 + 4 * k) else {
            break;
        };
        // Only keys stored inline (location 0) are short values we need.
        if entry[1] == 0 {
            keys.push((entry[0], entry[3]));
        } else {
            keys.push((entry[0], u16::MAX));
        }
    }
    Ok(keys)
}

fn read_crs(decoder: &mut Decoder<BufReader<File>>, path: &Path) -> Result<Crs, RasterError> {
    let keys = read_geokeys(decoder, path)?;
    let get = |id: u16| keys.iter().find(|(k, _)| *k == id).map(|(_, v)| *v);
    let citation = match decoder
        .find_tag(Tag::GeoAsciiParamsTag)
        .map_err(tiff_err(path))?
    {
        Some(v) => value_to_string(v)
            .unwrap_or_default()
            .split('|')
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
        None => String::new(),
    };
    let _ = get(GT_CITATION);
    let model = get(GT_MODEL_TYPE);
    let linear_ok = get(PROJ_LINEAR_UNITS).is_none_or(|u| u == LINEAR_METER);
    let crs = match model {
        Some(1) => match get(PROJECTED_CS_TYPE) {
            Some(code) if code != USER_DEFINED && code != u16::MAX => {
                let mut c = Crs::projected_epsg(code as u32);
                if !linear_ok {
                    c.kind = CrsKind::ProjectedOther;
                }
                c
            }
            _ => Crs {
                epsg: None,
                kind: if linear_ok {
                    CrsKind::ProjectedMetres
                } else {
                    CrsKind::ProjectedOther
                },
                name: if citation.is_empty() {
                    "user-defined projected CRS".into()
                } else {
                    citation
                },
            },
        },
        Some(2) => match get(GEOGRAPHIC_TYPE) {
            Some(code) if code != USER_DEFINED && code != u16::MAX => {
                Crs::geographic_epsg(code as u32)
            }
            _ => Crs {
                epsg: None,
                kind: CrsKind::Geographic,
                name: "user-defined geographic CRS".into(),
            },
        },
        _ => match get(PROJECTED_CS_TYPE) {
            Some(code) if code != USER_DEFINED && code != u16::MAX => {
                let mut c = Crs::projected_epsg(code as u32);
                c.kind = epsg_kind(code as u32);
                if c.kind == CrsKind::Unknown {
                    c.kind = CrsKind::ProjectedMetres;
                }
                c
            }
            _ => Crs::unknown(),
        },
    };
    Ok(crs)
}

/// Returns (cell width, cell height, x of left edge, y of top edge).
fn read_transform(
    decoder: &mut Decoder<BufReader<File>>,
    path: &Path,
    pixel_is_point: bool,
) -> Result<(f64, f64, f64, f64), RasterError> {
    let shift = if pixel_is_point { 0.5 } else { 0.0 };
    let fix = format!(
        "assign it, e.g. `gdal_translate -a_srs EPSG:4545 -a_ullr <ulx> <uly> <lrx> <lry> {} out.tif`",
        path.display()
    );
    if let Some(v) = decoder
        .find_tag(Tag::ModelTransformationTag)
        .map_err(tiff_err(path))?
    {
        let m = value_to_f64s(v).unwrap_or_default();
        if m.len() < 16 {
            return Err(georef(path, "has a malformed ModelTransformation tag", fix));
        }
        if m[1] != 0.0 || m[4] != 0.0 {
            return Err(georef(
                path,
                format!("is rotated (ModelTransformation terms {} and {}); ecocorridor needs north-up rasters", m[1], m[4]),
                format!("warp it north-up first: `gdalwarp -tr <cell size> <cell size> -tap -r near {} northup.tif`", path.display()),
            ));
        }
        let (sx, sy) = (m[0], -m[5]);
        if !(sx > 0.0 && sy > 0.0) {
            return Err(georef(
                path,
                format!("has cell size {sx} x {} (not north-up)", m[5]),
                format!(
                    "warp it north-up first: `gdalwarp -tr <cell size> <cell size> -tap -r near {} northup.tif`",
                    path.display()
                ),
            ));
        }
        return Ok((sx, sy, m[3] - shift * sx, m[7] + shift * sy));
    }
    let scale = decoder
        .find_tag(Tag::ModelPixelScaleTag)
        .map_err(tiff_err(path))?
        .and_then(value_to_f64s);
    let tie = decoder
        .find_tag(Tag::ModelTiepointTag)
        .map_err(tiff_err(path))?
        .and_then(value_to_f64s);
    match (scale, tie) {
        (Some(s), Some(t)) if s.len() >= 2 && t.len() >= 6 => {
            if t.len() > 6 {
                return Err(georef(
                    path,
                    format!(
                        "has {} tie points (ground control points) instead of one transform",
                        t.len() / 6
                    ),
                    format!(
                        "rectify it first: `gdalwarp -tr <cell size> <cell size> -tap -r near {} rectified.tif`",
                        path.display()
                    ),
                ));
            }
            let (sx, sy) = (s[0], s[1]);
            if !(sx > 0.0 && sy > 0.0) {
                return Err(georef(
                    path,
                    format!("has cell size {sx} x {sy} (not north-up)"),
                    format!(
                        "warp it north-up first: `gdalwarp -tr <cell size> <cell size> -tap -r near {} northup.tif`",
                        path.display()
                    ),
                ));
            }
            let (i, j, x, y) = (t[0], t[1], t[3], t[4]);
            Ok((sx, sy, x - i * sx - shift * sx, y + j * sy + shift * sy))
        }
        _ => Err(georef(
            path,
            "has no georeferencing (no ModelPixelScale/ModelTiepoint or ModelTransformation tags)",
            fix,
        )),
    }
}

/// Cell types ecocorridor writes to GeoTIFF.
pub trait WriteSample: Copy + Default + Send + Sync + 'static {
    /// The `tiff` colour type.
    type Color: colortype::ColorType<Inner = Self>;
    /// Whether to use the horizontal predictor (integers only).
    const PREDICT: bool;
    /// A strip's bytes as stored before compression (rows of `cols` samples): native-endian,
    /// integers as differences from the previous sample of the row (wrapping).
    fn strip_bytes(strip: &[Self], cols: usize) -> Vec<u8>;
}

macro_rules! predicted_strip {
    ($t:ty) => {
        fn strip_bytes(strip: &[$t], cols: usize) -> Vec<u8> {
            let mut out = Vec::with_capacity(std::mem::size_of_val(strip));
            for row in strip.chunks(cols.max(1)) {
                let mut prev: $t = 0;
                for (i, &v) in row.iter().enumerate() {
                    let d = if i == 0 { v } else { v.wrapping_sub(prev) };
                    out.extend_from_slice(&d.to_ne_bytes());
                    prev = v;
                }
            }
            out
        }
    };
}

impl WriteSample for u8 {
    type Color = colortype::Gray8;
    const PREDICT: bool = true;
    predicted_strip!(u8);
}
impl WriteSample for u16 {
    type Color = colortype::Gray16;
    const PREDICT: bool = true;
    predicted_strip!(u16);
}
impl WriteSample for u32 {
    type Color = colortype::Gray32;
    const PREDICT: bool = true;
    predicted_strip!(u32);
}
impl WriteSample for f32 {
    type Color = colortype::Gray32Float;
    const PREDICT: bool = false;
    fn strip_bytes(strip: &[f32], _cols: usize) -> Vec<u8> {
        strip.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }
}

/// Formats a nodata value as GDAL writes it in GDAL_NODATA.
fn nodata_text(nd: f64) -> String {
    if nd.is_nan() {
        "nan".into()
    } else if nd.fract() == 0.0 && nd.abs() < 1e15 {
        format!("{}", nd as i64)
    } else {
        format!("{nd:e}").replace('e', "e+").replace("e+-", "e-")
    }
}

/// Writes one band as a Deflate-compressed GeoTIFF, atomically.
///
/// # Errors
/// [`RasterError::Write`] naming the file.
pub fn write_geotiff<T: WriteSample>(
    path: &Path,
    grid: &Grid,
    data: &[T],
    nodata: Option<f64>,
) -> Result<(), RasterError>
where
    [T]: tiff::encoder::TiffValue,
{
    assert_eq!(
        data.len(),
        grid.len(),
        "write_geotiff: data does not match the grid"
    );
    write_geotiff_with(path, grid, nodata, |start, strip: &mut [T]| {
        strip.copy_from_slice(&data[start..start + strip.len()]);
    })
}

/// [`write_geotiff`] of a grid made strip by strip: `fill(start, strip)` writes the samples
/// of the cells `start..start + strip.len()` (row-major; whole rows, about 256 KiB). Only a
/// batch of strips is held, never a grid: for layers computed per cell or held on a few
/// cells. The file is the same as [`write_geotiff`] of the filled grid.
///
/// # Errors
/// As [`write_geotiff`].
pub fn write_geotiff_with<T: WriteSample>(
    path: &Path,
    grid: &Grid,
    nodata: Option<f64>,
    fill: impl Fn(usize, &mut [T]) + Sync,
) -> Result<(), RasterError>
where
    [T]: tiff::encoder::TiffValue,
{
    let big = grid.len() as u64 * std::mem::size_of::<T>() as u64 > 3_500_000_000;
    super::atomic::write_atomic(path, |w| {
        let r = if big {
            encode::<T, _, tiff::encoder::TiffKindBig>(
                TiffEncoder::new_big(w).map_err(to_io)?,
                grid,
                &fill,
                nodata,
            )
        } else {
            encode::<T, _, tiff::encoder::TiffKindStandard>(
                TiffEncoder::new(w).map_err(to_io)?,
                grid,
                &fill,
                nodata,
            )
        };
        r.map_err(to_io)
    })
    .map_err(|source| RasterError::Write {
        path: PathBuf::from(path),
        source,
    })
}

fn to_io(e: tiff::TiffError) -> std::io::Error {
    match e {
        tiff::TiffError::IoError(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

/// Strips compressed side by side per batch: a batch's compressed strips are held until
/// written (at most this many strips of 256 KiB before compression).
const STRIPS_PER_BATCH: usize = 64;

/// Writes the image as `tiff`'s `ImageEncoder::write_data` does (the same tags in the same
/// order, one zlib stream per strip at Deflate's fast level, the horizontal predictor for
/// integers), byte for byte (tested against it), but with the strips compressed on every
/// thread: compression is most of a GeoTIFF's write time, and the crate does it on one.
fn encode<T: WriteSample, W: Write + Seek, K: TiffKind>(
    mut enc: TiffEncoder<W, K>,
    grid: &Grid,
    fill: &(impl Fn(usize, &mut [T]) + Sync),
    nodata: Option<f64>,
) -> Result<(), tiff::TiffError>
where
    [T]: tiff::encoder::TiffValue,
{
    use rayon::prelude::*;
    use tiff::encoder::colortype::ColorType;
    use tiff::encoder::Rational;
    use tiff::tags::{CompressionMethod, ResolutionUnit};

    let (cols, rows) = (grid.cols(), grid.rows());
    let width = u32::try_from(cols).map_err(|_| too_large())?;
    let height = u32::try_from(rows).map_err(|_| too_large())?;
    if width == 0 || height == 0 {
        return Err(tiff::TiffError::FormatError(
            tiff::TiffFormatError::InvalidDimensions(width, height),
        ));
    }
    let row_bytes = cols * std::mem::size_of::<T>();
    let rows_per_strip = (256 * 1024 / row_bytes.max(1)).clamp(1, rows);
    let mut dir = enc.image_directory()?;
    // The tags `ImageEncoder::new` writes, in its order (values longer than an entry go to
    // the file as they are written, so the order fixes the bytes).
    dir.write_tag(Tag::ImageWidth, width)?;
    dir.write_tag(Tag::ImageLength, height)?;
    dir.write_tag(Tag::Compression, CompressionMethod::Deflate.to_u16())?;
    let predictor = if T::PREDICT {
        Predictor::Horizontal
    } else {
        Predictor::None
    };
    dir.write_tag(Tag::Predictor, predictor.to_u16())?;
    dir.write_tag(
        Tag::PhotometricInterpretation,
        <T::Color as ColorType>::TIFF_VALUE.to_u16(),
    )?;
    dir.write_tag(Tag::SamplesPerPixel, 1u16)?;
    dir.write_tag(Tag::XResolution, Rational { n: 1, d: 1 })?;
    dir.write_tag(Tag::YResolution, Rational { n: 1, d: 1 })?;
    dir.write_tag(Tag::ResolutionUnit, ResolutionUnit::None)?;
    dir.write_tag(Tag::RowsPerStrip, rows_per_strip as u32)?;
    write_geo_tags(&mut dir, grid, nodata)?;
    let strip_len = rows_per_strip * cols;
    let mut offsets: Vec<K::OffsetType> = Vec::new();
    let mut counts: Vec<K::OffsetType> = Vec::new();
    let n = rows * cols;
    for batch in (0..n).step_by(strip_len * STRIPS_PER_BATCH) {
        let end = (batch + strip_len * STRIPS_PER_BATCH).min(n);
        let packed: Vec<Vec<u8>> = (batch..end)
            .step_by(strip_len)
            .collect::<Vec<usize>>()
            .into_par_iter()
            .map(|start| {
                let mut strip = vec![T::default(); strip_len.min(n - start)];
                fill(start, &mut strip);
                deflate_strip::<T>(&strip, cols)
            })
            .collect::<std::io::Result<_>>()?;
        for z in &packed {
            let offset = dir.write_data(&z[..])?;
            offsets.push(K::convert_offset(offset)?);
            counts.push(K::convert_offset(z.len() as u64)?);
        }
    }
    // What `ImageEncoder::finish` adds.
    dir.write_tag(Tag::BitsPerSample, <T::Color as ColorType>::BITS_PER_SAMPLE)?;
    let formats: Vec<u16> = <T::Color as ColorType>::SAMPLE_FORMAT
        .iter()
        .map(|f| f.to_u16())
        .collect();
    dir.write_tag(Tag::SampleFormat, &formats[..])?;
    dir.write_tag(Tag::StripOffsets, K::convert_slice(&offsets))?;
    dir.write_tag(Tag::StripByteCounts, K::convert_slice(&counts))?;
    dir.finish()
}

fn too_large() -> tiff::TiffError {
    tiff::TiffError::LimitsExceeded
}

/// One strip as `tiff` stores it: native-endian samples (integers as horizontal
/// differences along each row), one zlib stream at level 1 (Deflate's fast level).
fn deflate_strip<T: WriteSample>(strip: &[T], cols: usize) -> std::io::Result<Vec<u8>> {
    let raw = T::strip_bytes(strip, cols);
    let mut z = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(raw.len() / 2),
        flate2::Compression::new(DeflateLevel::Fast as u32),
    );
    z.write_all(&raw)?;
    z.finish()
}

/// The georeferencing tags (GeoTIFF pixel scale, tie point, key directory; GDAL's nodata).
fn write_geo_tags<W: Write + Seek, K: TiffKind>(
    dir: &mut tiff::encoder::DirectoryEncoder<'_, W, K>,
    grid: &Grid,
    nodata: Option<f64>,
) -> Result<(), tiff::TiffError> {
    dir.write_tag(
        Tag::ModelPixelScaleTag,
        &[grid.cell_size_m(), grid.cell_size_m(), 0.0][..],
    )?;
    dir.write_tag(
        Tag::ModelTiepointTag,
        &[0.0, 0.0, 0.0, grid.origin_x(), grid.origin_y(), 0.0][..],
    )?;
    let crs = grid.crs();
    let mut keys: Vec<u16> = vec![1, 1, 0, 0];
    let mut push = |id: u16, v: u16| keys.extend_from_slice(&[id, 0, 1, v]);
    match (crs.kind, crs.epsg) {
        (CrsKind::Geographic, Some(e)) if e <= u16::MAX as u32 => {
            push(GT_MODEL_TYPE, 2);
            push(GT_RASTER_TYPE, 1);
            push(GEOGRAPHIC_TYPE, e as u16);
        }
        (_, Some(e)) if e <= u16::MAX as u32 => {
            push(GT_MODEL_TYPE, 1);
            push(GT_RASTER_TYPE, 1);
            push(PROJECTED_CS_TYPE, e as u16);
        }
        _ => push(GT_RASTER_TYPE, 1),
    }
    keys[3] = ((keys.len() - 4) / 4) as u16;
    dir.write_tag(Tag::GeoKeyDirectoryTag, &keys[..])?;
    if let Some(nd) = nodata {
        dir.write_tag(Tag::GdalNodata, nodata_text(nd).as_str())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::raster::{open_raster, read_f32};
    use tiff::encoder::Compression;

    /// The writer before strips were compressed in parallel: `tiff`'s own `ImageEncoder`.
    fn encode_with_the_crate<T: WriteSample>(
        grid: &Grid,
        data: &[T],
        nodata: Option<f64>,
    ) -> Vec<u8>
    where
        [T]: tiff::encoder::TiffValue,
    {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut enc = TiffEncoder::new(&mut buf)
            .unwrap()
            .with_compression(Compression::Deflate(DeflateLevel::Fast));
        if T::PREDICT {
            enc = enc.with_predictor(Predictor::Horizontal);
        }
        let cols = grid.cols();
        let mut image = enc
            .new_image::<T::Color>(cols as u32, grid.rows() as u32)
            .unwrap();
        let row_bytes = cols * std::mem::size_of::<T>();
        let rows_per_strip = (256 * 1024 / row_bytes.max(1)).clamp(1, grid.rows());
        image.rows_per_strip(rows_per_strip as u32).unwrap();
        write_geo_tags(image.encoder(), grid, nodata).unwrap();
        image.write_data(data).unwrap();
        buf.into_inner()
    }

    fn encode_ours<T: WriteSample>(grid: &Grid, data: &[T], nodata: Option<f64>) -> Vec<u8>
    where
        [T]: tiff::encoder::TiffValue,
    {
        let mut buf = std::io::Cursor::new(Vec::new());
        encode::<T, _, tiff::encoder::TiffKindStandard>(
            TiffEncoder::new(&mut buf).unwrap(),
            grid,
            &|start: usize, strip: &mut [T]| {
                strip.copy_from_slice(&data[start..start + strip.len()])
            },
            nodata,
        )
        .unwrap();
        buf.into_inner()
    }

    /// The parallel writer gives the crate's file byte for byte: every sample type, one
    /// strip, several, a last short strip, and more strips than one batch (4,096 x 1,100
    /// f32: 16 rows per strip, 69 strips).
    #[test]
    fn parallel_strips_write_the_crates_bytes() {
        for (rows, cols) in [(1u64, 1u64), (37, 53), (300, 17), (1100, 4096)] {
            let g = grid(rows, cols);
            let n = g.len();
            let f: Vec<f32> = (0..n)
                .map(|i| {
                    if i % 11 == 0 {
                        -9999.0
                    } else {
                        (i % 977) as f32 * 0.25
                    }
                })
                .collect();
            assert_eq!(
                encode_ours(&g, &f, Some(-9999.0)),
                encode_with_the_crate(&g, &f, Some(-9999.0)),
                "f32 {rows} x {cols}"
            );
            if n > 1_000_000 {
                continue;
            }
            let b: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
            assert_eq!(
                encode_ours(&g, &b, Some(0.0)),
                encode_with_the_crate(&g, &b, Some(0.0)),
                "u8 {rows} x {cols}"
            );
            let h: Vec<u16> = (0..n).map(|i| (i * 7919 % 65521) as u16).collect();
            assert_eq!(
                encode_ours(&g, &h, None),
                encode_with_the_crate(&g, &h, None),
                "u16 {rows} x {cols}"
            );
            let w: Vec<u32> = (0..n)
                .map(|i| (i as u32).wrapping_mul(2654435761))
                .collect();
            assert_eq!(
                encode_ours(&g, &w, Some(0.0)),
                encode_with_the_crate(&g, &w, Some(0.0)),
                "u32 {rows} x {cols}"
            );
        }
    }

    fn grid(rows: u64, cols: u64) -> Grid {
        Grid::new(
            rows,
            cols,
            30.0,
            512340.0,
            4201260.0,
            Crs::projected_epsg(4545),
        )
        .unwrap()
    }

    #[test]
    fn f32_raster_round_trips_with_grid_and_nodata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.tif");
        let g = grid(37, 53);
        let data: Vec<f32> = (0..g.len())
            .map(|i| if i % 7 == 0 { -9999.0 } else { i as f32 * 0.5 })
            .collect();
        write_geotiff(&path, &g, &data, Some(-9999.0)).unwrap();
        let r = open_raster(&path).unwrap();
        assert_eq!(r.header().grid, g);
        assert_eq!(r.header().nodata, Some(-9999.0));
        assert_eq!(r.header().sample, SampleType::F32);
        let back = read_f32(&path).unwrap();
        for (i, (&a, &b)) in data.iter().zip(back.data()).enumerate() {
            if i % 7 == 0 {
                assert!(b.is_nan());
            } else {
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn integer_rasters_round_trip_through_the_predictor() {
        let dir = tempfile::tempdir().unwrap();
        let g = grid(300, 17);
        let d8: Vec<u8> = (0..g.len()).map(|i| (i * 31 % 251) as u8).collect();
        let d16: Vec<u16> = (0..g.len()).map(|i| (i * 7919 % 65521) as u16).collect();
        let d32: Vec<u32> = (0..g.len())
            .map(|i| (i as u32).wrapping_mul(2654435761))
            .collect();
        let p8 = dir.path().join("a.tif");
        let p16 = dir.path().join("b.tif");
        let p32 = dir.path().join("c.tif");
        write_geotiff(&p8, &g, &d8, Some(255.0)).unwrap();
        write_geotiff(&p16, &g, &d16, None).unwrap();
        write_geotiff(&p32, &g, &d32, Some(0.0)).unwrap();
        let back8: Vec<u8> = open_raster(&p8)
            .unwrap()
            .read_with(|v, _| Ok::<_, std::convert::Infallible>(v as u8))
            .unwrap();
        let back16: Vec<u16> = open_raster(&p16)
            .unwrap()
            .read_with(|v, _| Ok::<_, std::convert::Infallible>(v as u16))
            .unwrap();
        let back32: Vec<u32> = open_raster(&p32)
            .unwrap()
            .read_with(|v, _| Ok::<_, std::convert::Infallible>(v as u32))
            .unwrap();
        assert_eq!(back8, d8);
        assert_eq!(back16, d16);
        assert_eq!(back32, d32);
        assert_eq!(open_raster(&p16).unwrap().header().nodata, None);
    }

    #[test]
    fn a_truncated_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.tif");
        let g = grid(200, 200);
        let data: Vec<f32> = (0..g.len()).map(|i| (i % 97) as f32).collect();
        write_geotiff(&path, &g, &data, None).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // Keep the header but cut the image data short.
        std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
        let err = match open_raster(&path) {
            Err(e) => e,
            Ok(r) => r
                .read_with(|v, _| Ok::<_, std::convert::Infallible>(v as f32))
                .unwrap_err(),
        };
        assert!(err.to_string().contains("r.tif"), "{err}");
    }

    #[test]
    fn a_conversion_error_names_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.tif");
        let g = grid(4, 5);
        let mut data = vec![1u16; 20];
        data[13] = 999;
        write_geotiff(&path, &g, &data, None).unwrap();
        let err = open_raster(&path)
            .unwrap()
            .read_with(|v, _| {
                if v == 999.0 {
                    Err("code 999 is unknown".to_string())
                } else {
                    Ok(v as u16)
                }
            })
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "raster `{}`, row 2, column 3: code 999 is unknown",
                path.display()
            )
        );
    }

    #[test]
    fn floating_point_predictor_is_undone() {
        // Encode a row as TIFF Technical Note 3 does: bytes grouped by significance (most
        // significant first), then byte-wise differenced.
        let vals = [1.5f32, -2.25, 1e-7, 3.4e38, 0.0];
        let w = vals.len();
        let mut shuffled = vec![0u8; w * 4];
        for (j, v) in vals.iter().enumerate() {
            for (k, b) in v.to_bits().to_be_bytes().iter().enumerate() {
                shuffled[k * w + j] = *b;
            }
        }
        let mut diff = shuffled.clone();
        for i in (1..diff.len()).rev() {
            diff[i] = diff[i].wrapping_sub(diff[i - 1]);
        }
        let back = unpredict(
            &diff,
            &ChunkLayout {
                stored_w: w,
                w: 3,
                h: 1,
                bps: 4,
                sample: SampleType::F32,
                predictor: 3,
                big_endian: false,
            },
        );
        assert_eq!(back, vec![1.5, -2.25, 1e-7f32 as f64]);
    }

    #[test]
    fn horizontal_predictor_wraps_in_the_sample_width() {
        // Little-endian u16 samples 65535, 1 (stored as +2 wrapping), 3 (+2).
        let bytes = [0xFF, 0xFF, 0x02, 0x00, 0x02, 0x00];
        assert_eq!(
            unpredict(
                &bytes,
                &ChunkLayout {
                    stored_w: 3,
                    w: 3,
                    h: 1,
                    bps: 2,
                    sample: SampleType::U16,
                    predictor: 2,
                    big_endian: false
                }
            ),
            vec![65535.0, 1.0, 3.0]
        );
        let be = [0xFF, 0xFE, 0x00, 0x03];
        assert_eq!(
            unpredict(
                &be,
                &ChunkLayout {
                    stored_w: 2,
                    w: 2,
                    h: 1,
                    bps: 2,
                    sample: SampleType::I16,
                    predictor: 2,
                    big_endian: true
                }
            ),
            vec![-2.0, 1.0]
        );
    }

    #[test]
    fn nodata_text_matches_gdal_spelling() {
        assert_eq!(nodata_text(-9999.0), "-9999");
        assert_eq!(nodata_text(f64::NAN), "nan");
        assert_eq!(
            nodata_text(-3.4028234663852886e38),
            "-3.4028234663852886e+38"
        );
    }
}
