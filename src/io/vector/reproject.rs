//! Reprojecting vector layers onto the grid's CRS with `proj4rs` (pure Rust, a port of
//! proj4js) and the EPSG definitions of `crs-definitions`.
//!
//! Both CRSs must carry an EPSG code (a GeoJSON `crs` member, an `AUTHORITY` in the `.prj`, a
//! CGCS2000 Gauss-Kruger name that maps to its code, or a GeoPackage `srs_id` of the EPSG
//! organisation). Covered: geographic CRSs (CGCS2000 EPSG:4490, WGS 84 EPSG:4326...),
//! transverse Mercator / Gauss-Kruger (CGCS2000 EPSG:4491-4554, Beijing 1954, Xian 1980),
//! UTM and the other projections of the PROJ.4 catalogue. CGCS2000 and WGS 84 are treated as
//! the same datum (they differ by centimetres, far below a cell); datum shifts given as
//! `+towgs84` in the definitions (e.g. Beijing 1954) are applied; grid-shift files are not
//! available. Rasters are never reprojected here.

use geo::MultiPolygon;
use proj4rs::Proj;

use super::PolygonLayer;
use crate::grid::{Crs, CrsKind};

/// A conversion from one CRS to another.
pub struct Transformer {
    from: Proj,
    to: Proj,
    from_code: u32,
    to_code: u32,
    from_degrees: bool,
    to_degrees: bool,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Transformer(EPSG:{} -> EPSG:{})",
            self.from_code, self.to_code
        )
    }
}

fn proj_for(crs: &Crs, role: &str) -> Result<(Proj, u32), String> {
    let code = crs.epsg.ok_or_else(|| {
        format!("the {role} CRS ({crs}) has no EPSG code, so it cannot be converted here")
    })?;
    let small = u16::try_from(code).map_err(|_| format!("EPSG:{code} is not in the catalogue"))?;
    let proj = Proj::from_epsg_code(small).map_err(|e| {
        format!("EPSG:{code} is not in the catalogue of projections known here ({e})")
    })?;
    Ok((proj, code))
}

impl Transformer {
    /// The conversion from `from` to `to`.
    ///
    /// # Errors
    /// Why not: a CRS without an EPSG code, or a code outside the catalogue.
    pub fn between(from: &Crs, to: &Crs) -> Result<Transformer, String> {
        let (f, from_code) = proj_for(from, "layer's")?;
        let (t, to_code) = proj_for(to, "rasters'")?;
        Ok(Transformer {
            from_degrees: f.is_latlong() || from.kind == CrsKind::Geographic,
            to_degrees: t.is_latlong() || to.kind == CrsKind::Geographic,
            from: f,
            to: t,
            from_code,
            to_code,
        })
    }

    /// What the conversion is, for notes.
    pub fn method(&self) -> String {
        format!(
            "proj4rs: EPSG:{} {} -> EPSG:{} {}",
            self.from_code,
            self.from.projname(),
            self.to_code,
            self.to.projname()
        )
    }

    /// Converts one point (x, y in the source CRS: easting/northing in metres or
    /// longitude/latitude in degrees).
    ///
    /// # Errors
    /// The projection library's message (e.g. a point outside the projection's domain).
    pub fn point(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        let mut p = Xyz(x, y, 0.0);
        if self.from_degrees {
            p.0 = p.0.to_radians();
            p.1 = p.1.to_radians();
        }
        proj4rs::transform::transform(&self.from, &self.to, &mut p).map_err(|e| e.to_string())?;
        if self.to_degrees {
            p.0 = p.0.to_degrees();
            p.1 = p.1.to_degrees();
        }
        if p.0.is_finite() && p.1.is_finite() {
            Ok((p.0, p.1))
        } else {
            Err(format!("({x}, {y}) has no image in EPSG:{}", self.to_code))
        }
    }

    /// Converts every coordinate of a geometry in place.
    ///
    /// # Errors
    /// The first point that cannot be converted.
    pub fn geometry(&self, g: &mut MultiPolygon<f64>) -> Result<(), String> {
        use geo::MapCoordsInPlace;
        let err = std::cell::RefCell::new(None);
        let first_error = &err;
        g.map_coords_in_place(|c| match self.point(c.x, c.y) {
            Ok((x, y)) => geo::Coord { x, y },
            Err(e) => {
                first_error.borrow_mut().get_or_insert(e);
                c
            }
        });
        err.into_inner().map_or(Ok(()), Err)
    }

    /// Converts every feature of a layer.
    ///
    /// # Errors
    /// The first feature with a point that cannot be converted.
    pub fn apply(&self, layer: &mut PolygonLayer) -> Result<(), String> {
        for (k, f) in layer.features.iter_mut().enumerate() {
            self.geometry(&mut f.geometry)
                .map_err(|e| format!("feature {k}: {e}"))?;
        }
        Ok(())
    }
}

/// One point for proj4rs.
struct Xyz(f64, f64, f64);

impl proj4rs::transform::Transform for Xyz {
    fn transform_coordinates<F: proj4rs::transform::TransformClosure>(
        &mut self,
        f: &mut F,
    ) -> proj4rs::errors::Result<()> {
        let (x, y, z) = f(self.0, self.1, self.2)?;
        *self = Xyz(x, y, z);
        Ok(())
    }
}
