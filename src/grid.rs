//! The raster grid every layer of a run shares.
//!
//! A [`Grid`] is the georeferencing of a north-up raster with square cells: its size in rows and
//! columns, the cell size in metres, the map coordinates of the upper-left corner and the
//! coordinate reference system. Two rasters line up when their grids are equal within a tenth
//! of a millimetre; ecocorridor never resamples silently (see `DESIGN.md`, "The grid").
//!
//! Cells are numbered row-major from the upper-left corner: `index = row × cols + col`.

use std::fmt;

/// Largest number of cells a grid may have: cell indices are `u32` in every stage.
pub const MAX_CELLS: u64 = u32::MAX as u64;

/// What kind of coordinate reference system a raster or layer declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrsKind {
    /// Projected coordinates in metres (what distance work needs).
    ProjectedMetres,
    /// Projected coordinates in another linear unit (feet...), carrying the unit's name.
    ProjectedOther,
    /// Geographic coordinates in degrees.
    Geographic,
    /// The file does not say.
    Unknown,
}

/// A coordinate reference system as far as ecocorridor needs it: the EPSG code when the file
/// gives one, and whether coordinates are projected metres.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crs {
    /// EPSG code, when known.
    pub epsg: Option<u32>,
    /// Kind of coordinates.
    pub kind: CrsKind,
    /// A name for messages (e.g. "EPSG:4545" or the WKT name).
    pub name: String,
}

impl Crs {
    /// A CRS of unknown kind (the file said nothing).
    pub fn unknown() -> Crs {
        Crs {
            epsg: None,
            kind: CrsKind::Unknown,
            name: "unknown CRS".into(),
        }
    }

    /// A projected CRS in metres given by its EPSG code.
    pub fn projected_epsg(epsg: u32) -> Crs {
        Crs {
            epsg: Some(epsg),
            kind: CrsKind::ProjectedMetres,
            name: format!("EPSG:{epsg}"),
        }
    }

    /// A geographic CRS given by its EPSG code.
    pub fn geographic_epsg(epsg: u32) -> Crs {
        Crs {
            epsg: Some(epsg),
            kind: CrsKind::Geographic,
            name: format!("EPSG:{epsg}"),
        }
    }

    /// Whether two CRSs are known to differ. Unknown CRSs and a missing code on either side are
    /// not a conflict (the grids' coordinates are still compared).
    pub fn conflicts_with(&self, other: &Crs) -> bool {
        match (self.epsg, other.epsg) {
            (Some(a), Some(b)) => a != b,
            _ => {
                self.kind != CrsKind::Unknown
                    && other.kind != CrsKind::Unknown
                    && self.kind != other.kind
            }
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Whether an EPSG code is one of the CGCS2000 Gauss-Kruger or UTM systems known to be in
/// metres, a geographic one, or unknown to this table.
pub fn epsg_kind(epsg: u32) -> CrsKind {
    match epsg {
        // CGCS2000 geographic, WGS 84, NAD83, Beijing 1954, Xian 1980
        4490 | 4326 | 4269 | 4214 | 4610 | 4283 | 4258 => CrsKind::Geographic,
        // CGCS2000 Gauss-Kruger (6-degree and 3-degree zones, with/without zone prefix)
        4491..=4554 => CrsKind::ProjectedMetres,
        // Beijing 1954 and Xian 1980 Gauss-Kruger
        2401..=2442 | 2327..=2390 | 21413..=21423 | 21453..=21463 => CrsKind::ProjectedMetres,
        // WGS 84 / UTM, NAD83 / UTM, Web Mercator, ETRS89 / LAEA
        32601..=32660 | 32701..=32760 | 26901..=26923 | 3857 | 3035 | 5070 => {
            CrsKind::ProjectedMetres
        }
        _ => CrsKind::Unknown,
    }
}

/// Georeferencing of a north-up raster with square cells.
///
/// Fields are private so that a grid is always valid: at least one row and column, at most
/// [`MAX_CELLS`] cells, a finite positive cell size and a finite origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    rows: u32,
    cols: u32,
    cell_size_m: f64,
    origin_x: f64,
    origin_y: f64,
    crs: Crs,
}

/// Why a grid description is not a usable grid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GridError {
    /// No rows or no columns.
    #[error("the grid is empty ({rows} rows x {cols} columns)")]
    Empty {
        /// Rows given.
        rows: u64,
        /// Columns given.
        cols: u64,
    },
    /// More cells than ecocorridor can index.
    #[error(
        "the grid declares {rows} rows x {cols} columns = {cells} cells, more than the {max} \
         cells ecocorridor can address (4.29e9); split the study area into tiles or use a coarser \
         cell size"
    )]
    TooLarge {
        /// Rows given.
        rows: u64,
        /// Columns given.
        cols: u64,
        /// Their product.
        cells: u128,
        /// The limit.
        max: u64,
    },
    /// Cell size zero, negative or not finite.
    #[error("the cell size {0} is not a positive finite number")]
    CellSize(f64),
    /// Origin not finite.
    #[error("the origin ({0}, {1}) is not finite")]
    Origin(f64, f64),
}

impl Grid {
    /// Builds a grid, checking its size, cell size and origin.
    ///
    /// # Units
    /// `cell_size_m` in CRS units (metres for a projected CRS in metres), origin = map
    /// coordinates of the upper-left corner of the upper-left cell.
    pub fn new(
        rows: u64,
        cols: u64,
        cell_size_m: f64,
        origin_x: f64,
        origin_y: f64,
        crs: Crs,
    ) -> Result<Grid, GridError> {
        if rows == 0 || cols == 0 {
            return Err(GridError::Empty { rows, cols });
        }
        let cells = rows as u128 * cols as u128;
        if cells > MAX_CELLS as u128 || rows > u32::MAX as u64 || cols > u32::MAX as u64 {
            return Err(GridError::TooLarge {
                rows,
                cols,
                cells,
                max: MAX_CELLS,
            });
        }
        if !(cell_size_m.is_finite() && cell_size_m > 0.0) {
            return Err(GridError::CellSize(cell_size_m));
        }
        if !(origin_x.is_finite() && origin_y.is_finite()) {
            return Err(GridError::Origin(origin_x, origin_y));
        }
        Ok(Grid {
            rows: rows as u32,
            cols: cols as u32,
            cell_size_m,
            origin_x,
            origin_y,
            crs,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows as usize
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols as usize
    }

    /// Number of cells (`rows × cols`).
    pub fn len(&self) -> usize {
        self.rows as usize * self.cols as usize
    }

    /// Always false: a grid has at least one cell.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Cell size in metres (CRS units).
    pub fn cell_size_m(&self) -> f64 {
        self.cell_size_m
    }

    /// Area of one cell in hectares.
    pub fn cell_area_ha(&self) -> f64 {
        self.cell_size_m * self.cell_size_m / 10_000.0
    }

    /// X of the left edge.
    pub fn origin_x(&self) -> f64 {
        self.origin_x
    }

    /// Y of the top edge.
    pub fn origin_y(&self) -> f64 {
        self.origin_y
    }

    /// X of the right edge.
    pub fn max_x(&self) -> f64 {
        self.origin_x + self.cols as f64 * self.cell_size_m
    }

    /// Y of the bottom edge.
    pub fn min_y(&self) -> f64 {
        self.origin_y - self.rows as f64 * self.cell_size_m
    }

    /// The coordinate reference system.
    pub fn crs(&self) -> &Crs {
        &self.crs
    }

    /// The same grid with another CRS.
    pub fn with_crs(mut self, crs: Crs) -> Grid {
        self.crs = crs;
        self
    }

    /// Map coordinates of the centre of cell (row, col).
    pub fn cell_center(&self, row: usize, col: usize) -> (f64, f64) {
        (
            self.origin_x + (col as f64 + 0.5) * self.cell_size_m,
            self.origin_y - (row as f64 + 0.5) * self.cell_size_m,
        )
    }

    /// Whether `other` describes the same cells: same size, and cell size and origin equal
    /// within 1e-4 m (GeoTIFF and ASCII grids round-trip coordinates through text and
    /// doubles), and no conflicting CRS.
    pub fn aligned_with(&self, other: &Grid) -> bool {
        const TOL: f64 = 1e-4;
        self.rows == other.rows
            && self.cols == other.cols
            && (self.cell_size_m - other.cell_size_m).abs() <= TOL * 1e-3
            && (self.origin_x - other.origin_x).abs() <= TOL
            && (self.origin_y - other.origin_y).abs() <= TOL
            && !self.crs.conflicts_with(&other.crs)
    }

    /// The `gdalwarp` arguments that put a raster onto this grid (for error hints).
    pub fn gdalwarp_args(&self) -> String {
        let epsg = self
            .crs
            .epsg
            .map(|e| format!(" -t_srs EPSG:{e}"))
            .unwrap_or_default();
        format!(
            "-te {} {} {} {} -tr {} {}{epsg}",
            fmt_coord(self.origin_x),
            fmt_coord(self.min_y()),
            fmt_coord(self.max_x()),
            fmt_coord(self.origin_y),
            fmt_coord(self.cell_size_m),
            fmt_coord(self.cell_size_m)
        )
    }
}

/// Formats a coordinate without needless digits (`512340`, `30`, `512340.25`).
pub fn fmt_coord(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

impl fmt::Display for Grid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.crs.kind == CrsKind::Geographic {
            " degrees"
        } else {
            " m"
        };
        write!(
            f,
            "{} x {} cells (cols x rows), {}{unit}, origin ({}, {}), {}",
            self.cols,
            self.rows,
            fmt_coord(self.cell_size_m),
            fmt_coord(self.origin_x),
            fmt_coord(self.origin_y),
            self.crs
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(rows: u64, cols: u64) -> Grid {
        Grid::new(
            rows,
            cols,
            30.0,
            500000.0,
            4000000.0,
            Crs::projected_epsg(4545),
        )
        .unwrap()
    }

    #[test]
    fn cell_centres_are_half_a_cell_inside_the_corner() {
        let grid = g(10, 20);
        assert_eq!(grid.cell_center(0, 0), (500015.0, 3999985.0));
        assert_eq!(
            grid.cell_center(9, 19),
            (500000.0 + 19.5 * 30.0, 4000000.0 - 9.5 * 30.0)
        );
        assert_eq!(grid.max_x(), 500600.0);
        assert_eq!(grid.min_y(), 3999700.0);
        assert!((grid.cell_area_ha() - 0.09).abs() < 1e-12);
    }

    #[test]
    fn a_header_claiming_a_trillion_cells_is_refused() {
        let err = Grid::new(1_000_000, 1_000_000, 30.0, 0.0, 0.0, Crs::unknown()).unwrap_err();
        assert!(matches!(err, GridError::TooLarge { .. }));
        assert!(err.to_string().contains("1000000000000 cells"));
    }

    #[test]
    fn empty_and_degenerate_grids_are_refused() {
        assert!(Grid::new(0, 5, 30.0, 0.0, 0.0, Crs::unknown()).is_err());
        assert!(Grid::new(5, 5, 0.0, 0.0, 0.0, Crs::unknown()).is_err());
        assert!(Grid::new(5, 5, f64::NAN, 0.0, 0.0, Crs::unknown()).is_err());
        assert!(Grid::new(5, 5, 30.0, f64::INFINITY, 0.0, Crs::unknown()).is_err());
    }

    #[test]
    fn alignment_tolerates_text_rounding_but_not_a_shifted_origin() {
        let a = g(10, 10);
        let b = Grid::new(10, 10, 30.0, 500000.00001, 4000000.0, Crs::unknown()).unwrap();
        assert!(a.aligned_with(&b));
        let c = Grid::new(10, 10, 30.0, 500030.0, 4000000.0, Crs::projected_epsg(4545)).unwrap();
        assert!(!a.aligned_with(&c));
        let d = Grid::new(10, 10, 30.0, 500000.0, 4000000.0, Crs::projected_epsg(4546)).unwrap();
        assert!(!a.aligned_with(&d));
        assert!(!a.aligned_with(&g(10, 11)));
    }

    #[test]
    fn gdalwarp_hint_names_the_extent_and_resolution() {
        assert_eq!(
            g(10, 20).gdalwarp_args(),
            "-te 500000 3999700 500600 4000000 -tr 30 30 -t_srs EPSG:4545"
        );
    }

    #[test]
    fn cgcs2000_gauss_kruger_codes_are_projected_metres() {
        assert_eq!(epsg_kind(4545), CrsKind::ProjectedMetres);
        assert_eq!(epsg_kind(4490), CrsKind::Geographic);
        assert_eq!(epsg_kind(32650), CrsKind::ProjectedMetres);
        assert_eq!(epsg_kind(9999), CrsKind::Unknown);
    }
}
