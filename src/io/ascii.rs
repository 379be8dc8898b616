//! ESRI ASCII grids (`.asc`, as used by Circuitscape, ArcGIS and GDAL's AAIGrid) and GRASS
//! ASCII grids (`r.out.ascii`), read as a stream of whitespace-separated values; the CRS comes
//! from a `.prj` file beside the grid when there is one.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::grid::{fmt_coord, Crs, Grid};

use super::prj::parse_prj;
use super::raster::{value_error, RasterError, RasterHeader, SampleType};

/// An ASCII grid whose header has been read.
pub struct AsciiReader {
    header: RasterHeader,
    reader: BufReader<File>,
    /// Line number of the first data line (1-based), for messages.
    line: usize,
    /// Data already read past the header (the first data line).
    pending: String,
}

fn ascii_err(path: &Path, line: usize, what: impl Into<String>) -> RasterError {
    RasterError::Ascii {
        path: path.to_path_buf(),
        line,
        what: what.into(),
    }
}

impl AsciiReader {
    /// Opens an ASCII grid and parses its header.
    pub fn open(path: &Path) -> Result<AsciiReader, RasterError> {
        let io_err = |source| RasterError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut reader = BufReader::new(File::open(path).map_err(io_err)?);
        let mut keys: Vec<(String, f64, usize)> = Vec::new();
        let mut line_no = 0usize;
        let mut pending = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).map_err(io_err)? == 0 {
                break;
            }
            line_no += 1;
            let t = line.trim();
            if t.is_empty() {
                continue;
            }
            let first = t
                .split(|c: char| c.is_whitespace() || c == ':')
                .next()
                .unwrap_or("");
            if first.parse::<f64>().is_ok()
                || first.starts_with('*')
                || first.eq_ignore_ascii_case("nan")
            {
                pending = line;
                break;
            }
            let key = first.to_ascii_lowercase();
            let rest = t[first.len()..].trim_start_matches(':').trim();
            if matches!(key.as_str(), "type" | "proj" | "zone") {
                continue;
            }
            let value: f64 = rest
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| {
                    ascii_err(
                        path,
                        line_no,
                        format!("header key `{key}` has no numeric value ({rest:?})"),
                    )
                })?;
            keys.push((key, value, line_no));
        }
        let get = |names: &[&str]| {
            keys.iter()
                .find(|(k, _, _)| names.contains(&k.as_str()))
                .map(|&(_, v, _)| v)
        };
        let missing =
            |what: &str| ascii_err(path, line_no, format!("the header has no `{what}` line"));
        let (rows, cols, cell, x0, y0, nodata);
        if let Some(north) = get(&["north"]) {
            // GRASS ASCII.
            let south = get(&["south"]).ok_or_else(|| missing("south:"))?;
            let east = get(&["east"]).ok_or_else(|| missing("east:"))?;
            let west = get(&["west"]).ok_or_else(|| missing("west:"))?;
            rows = get(&["rows"]).ok_or_else(|| missing("rows:"))?;
            cols = get(&["cols"]).ok_or_else(|| missing("cols:"))?;
            let (ew, ns) = ((east - west) / cols, (north - south) / rows);
            if ((ew - ns) / ew).abs() > 1e-6 {
                return Err(ascii_err(
                    path,
                    1,
                    format!("cells are not square ({ew} x {ns})"),
                ));
            }
            cell = ew;
            x0 = west;
            y0 = north;
            nodata = get(&["null"]);
        } else {
            cols = get(&["ncols"]).ok_or_else(|| missing("ncols"))?;
            rows = get(&["nrows"]).ok_or_else(|| missing("nrows"))?;
            cell = match get(&["cellsize"]) {
                Some(c) => c,
                None => {
                    let dx = get(&["dx"]).ok_or_else(|| missing("cellsize"))?;
                    let dy = get(&["dy"]).ok_or_else(|| missing("cellsize"))?;
                    if ((dx - dy) / dx).abs() > 1e-6 {
                        return Err(ascii_err(
                            path,
                            1,
                            format!("cells are not square (dx {dx}, dy {dy})"),
                        ));
                    }
                    dx
                }
            };
            let (xc, yc) = (get(&["xllcenter"]).is_some(), get(&["yllcenter"]).is_some());
            let xll = get(&["xllcorner", "xllcenter"]).ok_or_else(|| missing("xllcorner"))?;
            let yll = get(&["yllcorner", "yllcenter"]).ok_or_else(|| missing("yllcorner"))?;
            x0 = if xc { xll - cell / 2.0 } else { xll };
            let ybottom = if yc { yll - cell / 2.0 } else { yll };
            y0 = ybottom + rows * cell;
            nodata = get(&["nodata_value"]);
        }
        if rows.fract() != 0.0 || cols.fract() != 0.0 || rows < 0.0 || cols < 0.0 {
            return Err(ascii_err(
                path,
                1,
                format!("rows and columns must be whole numbers (got {rows} x {cols})"),
            ));
        }
        let prj = path.with_extension("prj");
        let crs = match std::fs::read_to_string(&prj) {
            Ok(text) => parse_prj(&text),
            Err(_) => Crs::unknown(),
        };
        let grid = Grid::new(rows as u64, cols as u64, cell, x0, y0, crs).map_err(|source| {
            RasterError::Grid {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let header = RasterHeader {
            path: path.to_path_buf(),
            grid,
            nodata,
            sample: SampleType::F64,
        };
        Ok(AsciiReader {
            header,
            reader,
            line: line_no,
            pending,
        })
    }

    /// The parsed header.
    pub fn header(&self) -> &RasterHeader {
        &self.header
    }

    /// Reads all values through `convert`; `*` (GRASS null) reads as NaN.
    pub fn read_with<T, E, F>(mut self, mut convert: F) -> Result<Vec<T>, RasterError>
    where
        T: Copy + Default,
        F: FnMut(f64, usize) -> Result<T, E>,
        E: std::fmt::Display,
    {
        let path = self.header.path.clone();
        let grid = self.header.grid.clone();
        let n = grid.len();
        let mut out = Vec::with_capacity(n);
        let mut line = std::mem::take(&mut self.pending);
        let mut line_no = self.line;
        loop {
            for tok in line.split_whitespace() {
                let v = if tok == "*" {
                    f64::NAN
                } else {
                    tok.parse::<f64>().map_err(|_| {
                        ascii_err(&path, line_no, format!("`{tok}` is not a number"))
                    })?
                };
                if out.len() == n {
                    return Err(ascii_err(
                        &path,
                        line_no,
                        format!(
                            "more values than the {} x {} cells the header declares",
                            grid.cols(),
                            grid.rows()
                        ),
                    ));
                }
                let idx = out.len();
                out.push(
                    convert(v, idx)
                        .map_err(|what| value_error(&path, &grid, idx, what.to_string()))?,
                );
            }
            line.clear();
            line_no += 1;
            if self
                .reader
                .read_line(&mut line)
                .map_err(|source| RasterError::Io {
                    path: path.clone(),
                    source,
                })?
                == 0
            {
                break;
            }
        }
        if out.len() != n {
            return Err(ascii_err(&path, line_no, format!("only {} values for the {} x {} = {n} cells the header declares (truncated file?)", out.len(), grid.cols(), grid.rows())));
        }
        Ok(out)
    }
}

/// Writes an ESRI ASCII grid, atomically; NaN cells are written as `nodata`.
///
/// # Errors
/// [`RasterError::Write`] naming the file.
pub fn write_ascii(path: &Path, grid: &Grid, data: &[f32], nodata: f64) -> Result<(), RasterError> {
    assert_eq!(
        data.len(),
        grid.len(),
        "write_ascii: data does not match the grid"
    );
    super::atomic::write_atomic(path, |w| {
        writeln!(w, "ncols {}", grid.cols())?;
        writeln!(w, "nrows {}", grid.rows())?;
        writeln!(w, "xllcorner {}", fmt_coord(grid.origin_x()))?;
        writeln!(w, "yllcorner {}", fmt_coord(grid.min_y()))?;
        writeln!(w, "cellsize {}", fmt_coord(grid.cell_size_m()))?;
        writeln!(w, "NODATA_value {nodata}")?;
        let mut buf = String::new();
        for row in data.chunks(grid.cols()) {
            buf.clear();
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    buf.push(' ');
                }
                if v.is_nan() {
                    buf.push_str(&nodata.to_string());
                } else {
                    buf.push_str(&v.to_string());
                }
            }
            buf.push('\n');
            w.write_all(buf.as_bytes())?;
        }
        Ok(())
    })
    .map_err(|source| RasterError::Write {
        path: PathBuf::from(path),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::raster::{open_raster, read_f32};

    #[test]
    fn esri_grid_round_trips_with_nodata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.asc");
        let g = Grid::new(
            3,
            4,
            30.0,
            616786.15983008,
            3390338.6673589 + 90.0,
            Crs::unknown(),
        )
        .unwrap();
        let data = vec![
            1.0,
            2.5,
            f32::NAN,
            4.0,
            5.0,
            6.0,
            7.0,
            8.0,
            9.0,
            10.0,
            11.0,
            1e-7,
        ];
        write_ascii(&path, &g, &data, -9999.0).unwrap();
        let r = read_f32(&path).unwrap();
        assert!(r.grid().aligned_with(&g));
        assert!(r.data()[2].is_nan());
        assert_eq!(r.data()[11], 1e-7);
        assert_eq!(r.data()[1], 2.5);
    }

    #[test]
    fn grass_ascii_from_the_r_cost_manual_is_read() {
        let p = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/rcost_doc_example_input.grassascii"
        ));
        let r = read_f32(p).unwrap();
        assert_eq!((r.grid().rows(), r.grid().cols()), (6, 7));
        assert_eq!(r.grid().cell_size_m(), 1.0);
        assert_eq!(r.grid().origin_y(), 6.0);
        assert_eq!(r.data()[..7], [2.0, 2.0, 1.0, 1.0, 5.0, 5.0, 5.0]);
        assert_eq!(*r.get(5, 6), 9.0);
    }

    #[test]
    fn a_short_grid_is_reported_with_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.asc");
        std::fs::write(
            &path,
            "ncols 3\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 10\n1 2 3\n4 5\n",
        )
        .unwrap();
        let err = open_raster(&path)
            .unwrap()
            .read_with(|v, _| Ok::<_, std::convert::Infallible>(v))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("only 5 values for the 3 x 2 = 6 cells"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_token_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.asc");
        std::fs::write(
            &path,
            "ncols 2\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 10\n1 2\n4 x5\n",
        )
        .unwrap();
        let err = open_raster(&path)
            .unwrap()
            .read_with(|v, _| Ok::<_, std::convert::Infallible>(v))
            .unwrap_err();
        assert!(
            err.to_string().contains("line 7: `x5` is not a number"),
            "{err}"
        );
    }

    #[test]
    fn xllcenter_is_shifted_to_the_corner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.asc");
        std::fs::write(
            &path,
            "ncols 1\nnrows 1\nxllcenter 15\nyllcenter 15\ncellsize 30\n7\n",
        )
        .unwrap();
        let r = read_f32(&path).unwrap();
        assert_eq!((r.grid().origin_x(), r.grid().origin_y()), (0.0, 30.0));
    }
}
