//! Deterministic neutral landscapes for demos, tests and benchmarks (`ecocorridor synth`).
//!
//! A seeded fractal terrain (fractional Brownian motion of value noise) is turned into a land
//! cover by rules a planner would recognise: forested hills with shrub, young forest, summit
//! grassland, mines and bare land; rivers along contour lines of a second noise field, with
//! swamps and inland flats beside them; paddy fields near rivers and dry farmland on the
//! plains; cities with industry, parks and street grids inside an urban development boundary;
//! highways, a railway and villages; and an irregular study-area outline (nodata outside).
//! Features have fixed sizes in metres, so larger grids hold more hills, rivers and cities
//! rather than bigger ones.
//!
//! Every cell is a pure function of (seed, row, col): the result is identical whatever the
//! thread count. Zone layers (ecological protection redline, permanent basic farmland,
//! districts) are polygonized from blocks of cells, the urban development boundary is a
//! smooth polygon around each city.
//!
//! Codes are those of `models/landcover_classes.csv` (三调 codes without the leading zero).

use geo::{Coord, LineString, MultiPolygon, Polygon};
use rayon::prelude::*;

use crate::grid::{Crs, Grid};
use crate::polygonize::polygonize;

/// Land-cover codes used by the generator.
pub mod code {
    /// 0101 水田 paddy field.
    pub const PADDY: u16 = 101;
    /// 0102 水浇地 irrigated land.
    pub const IRRIGATED: u16 = 102;
    /// 0103 旱地 dry land.
    pub const DRY: u16 = 103;
    /// 0201 果园 orchard.
    pub const ORCHARD: u16 = 201;
    /// 0301 乔木林地 forest.
    pub const FOREST: u16 = 301;
    /// 0305 灌木林地 shrubland.
    pub const SHRUB: u16 = 305;
    /// 0307 其他林地 other (young, sparse) forest.
    pub const OTHER_FOREST: u16 = 307;
    /// 0401 天然牧草地 natural grassland.
    pub const GRASS: u16 = 401;
    /// 0404 其他草地 other grassland.
    pub const OTHER_GRASS: u16 = 404;
    /// 05H1 商业服务业设施用地 commercial.
    pub const COMMERCIAL: u16 = 501;
    /// 0601 工业用地 industrial.
    pub const INDUSTRIAL: u16 = 601;
    /// 0602 采矿用地 mining.
    pub const MINING: u16 = 602;
    /// 0701 城镇住宅用地 urban residential.
    pub const URBAN: u16 = 701;
    /// 0702 农村宅基地 rural homestead.
    pub const VILLAGE: u16 = 702;
    /// 0810 公园与绿地 park.
    pub const PARK: u16 = 810;
    /// 1001 铁路用地 railway.
    pub const RAILWAY: u16 = 1001;
    /// 1003 公路用地 highway.
    pub const HIGHWAY: u16 = 1003;
    /// 1004 城镇村道路用地 street.
    pub const STREET: u16 = 1004;
    /// 1101 河流水面 river.
    pub const RIVER: u16 = 1101;
    /// 1104 坑塘水面 pond.
    pub const POND: u16 = 1104;
    /// 1106 内陆滩涂 inland flat.
    pub const FLAT: u16 = 1106;
    /// 1108 沼泽地 swamp.
    pub const SWAMP: u16 = 1108;
    /// 1206 裸土地 bare soil.
    pub const BARE: u16 = 1206;
    /// 1207 裸岩石砾地 bare rock.
    pub const ROCK: u16 = 1207;
    /// Nodata (outside the study area).
    pub const NODATA: u16 = 0;
}

/// Options of the generator.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub cols: u32,
    /// Seed.
    pub seed: u64,
    /// Cell size, m.
    pub cell_size_m: f64,
    /// EPSG code of the (projected, metre) CRS.
    pub epsg: u32,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            rows: 600,
            cols: 600,
            seed: 42,
            cell_size_m: 30.0,
            epsg: 4545,
        }
    }
}

/// A named polygon for a zone layer.
#[derive(Debug, Clone)]
pub struct NamedPolygon {
    /// Name property.
    pub name: String,
    /// Geometry.
    pub geometry: MultiPolygon<f64>,
}

/// A generated landscape.
#[derive(Debug, Clone)]
pub struct SynthLandscape {
    /// Grid.
    pub grid: Grid,
    /// Land-cover codes (0 = nodata).
    pub landcover: Vec<u16>,
    /// Slope, degrees (NaN outside the study area).
    pub slope_deg: Vec<f32>,
    /// Ecological protection redline polygons.
    pub redline: Vec<NamedPolygon>,
    /// Permanent basic farmland polygons.
    pub farmland: Vec<NamedPolygon>,
    /// Urban development boundary polygons (one per city).
    pub urban_boundary: Vec<NamedPolygon>,
    /// District polygons (partition of the grid).
    pub districts: Vec<NamedPolygon>,
    /// Residents per cell (persons, 0.01 precision): the bundled table's `persons_per_ha`
    /// of the cell's class times the cell area, times a smooth factor 0.4-1.6 (denser
    /// cores, sparser edges), like a gridded census.
    pub population: Vec<f32>,
}

// ---- noise ---------------------------------------------------------------------------------

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform [0, 1) from a seed and two integers.
fn hash01(seed: u64, x: i64, y: i64) -> f64 {
    let h = splitmix(seed ^ splitmix((x as u64).wrapping_mul(0x1656_67B1) ^ splitmix(y as u64)));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Smooth value noise in [0, 1] at (x, y) in lattice units.
fn value_noise(seed: u64, x: f64, y: f64) -> f64 {
    let (xf, yf) = (x.floor(), y.floor());
    let (xi, yi) = (xf as i64, yf as i64);
    let (tx, ty) = (x - xf, y - yf);
    let s = |t: f64| t * t * (3.0 - 2.0 * t);
    let (sx, sy) = (s(tx), s(ty));
    let a = hash01(seed, xi, yi);
    let b = hash01(seed, xi + 1, yi);
    let c = hash01(seed, xi, yi + 1);
    let d = hash01(seed, xi + 1, yi + 1);
    let top = a + (b - a) * sx;
    let bottom = c + (d - c) * sx;
    top + (bottom - top) * sy
}

/// Fractional Brownian motion: octaves of value noise, normalised to [0, 1].
fn fbm(seed: u64, x: f64, y: f64, octaves: u32) -> f64 {
    let (mut sum, mut amp, mut norm, mut f) = (0.0, 1.0, 0.0, 1.0);
    for o in 0..octaves {
        sum += amp * value_noise(seed.wrapping_add(o as u64 * 7919), x * f, y * f);
        norm += amp;
        amp *= 0.5;
        f *= 2.0;
    }
    sum / norm
}

// ---- the generator ---------------------------------------------------------------------------

struct City {
    x: f64,
    y: f64,
    radius: f64,
    road_angles: Vec<f64>,
}

struct Fields {
    seed: u64,
    cities: Vec<City>,
    /// City lattice: cell size (m) and, per lattice cell, the index of its city.
    lattice: (f64, f64, usize, usize),
    city_at: Vec<Option<usize>>,
}

/// Roads run this far from their city (m); with a 45 km city lattice, a cell only ever needs
/// the cities of its own and the 8 surrounding lattice cells.
const ROAD_LENGTH_M: f64 = 40_000.0;

impl Fields {
    fn elevation(&self, x: f64, y: f64) -> f64 {
        let hills = fbm(self.seed, x / 3000.0, y / 3000.0, 5);
        let region = fbm(self.seed.wrapping_add(1), x / 24000.0, y / 24000.0, 2);
        (0.75 * hills + 0.25 * region - 0.5) * 1.9 + 0.5
    }

    fn river_field(&self, x: f64, y: f64) -> f64 {
        fbm(self.seed.wrapping_add(2), x / 11000.0, y / 11000.0, 3)
    }

    /// Distance (m) to the river line (the 0.5 contour of the river field), from the field's
    /// value and numerical gradient.
    fn river_distance(&self, x: f64, y: f64) -> f64 {
        let h = 15.0;
        let v = self.river_field(x, y);
        let gx = (self.river_field(x + h, y) - self.river_field(x - h, y)) / (2.0 * h);
        let gy = (self.river_field(x, y + h) - self.river_field(x, y - h)) / (2.0 * h);
        let level = (v - 0.38).abs().min((v - 0.62).abs());
        level / (gx * gx + gy * gy).sqrt().max(1e-9)
    }

    fn spot(&self, k: u64, x: f64, y: f64, scale: f64) -> f64 {
        fbm(self.seed.wrapping_add(100 + k), x / scale, y / scale, 2)
    }

    /// Indices of the cities in the 3 x 3 lattice cells around (x, y), ascending.
    fn nearby_cities(&self, x: f64, y: f64) -> impl Iterator<Item = usize> + '_ {
        let (cw, ch, nx, ny) = self.lattice;
        let (li, lj) = ((x / cw).floor() as i64, (y / ch).floor() as i64);
        let mut out: Vec<usize> = (-1..=1i64)
            .flat_map(|dj| (-1..=1i64).map(move |di| (li + di, lj + dj)))
            .filter(|&(i, j)| i >= 0 && j >= 0 && (i as usize) < nx && (j as usize) < ny)
            .filter_map(|(i, j)| self.city_at[j as usize * nx + i as usize])
            .collect();
        out.sort_unstable();
        out.into_iter()
    }

    /// Urban intensity of the nearest city (> 0.5 is built-up) and that city's index.
    fn urban(&self, x: f64, y: f64) -> (f64, usize) {
        let mut best = (f64::NEG_INFINITY, 0);
        let texture = 0.45 * (self.spot(1, x, y, 700.0) - 0.5);
        for i in self.nearby_cities(x, y) {
            let c = &self.cities[i];
            let d = (sq(x - c.x) + sq(y - c.y)).sqrt();
            let u = 1.0 - d / c.radius + texture;
            if u > best.0 {
                best = (u, i);
            }
        }
        best
    }

    /// Distance (m) to the nearest highway and railway of the nearby cities; exact below
    /// 100 m, and some value of at least 100 m beyond (all the classification needs).
    fn road_distance(&self, x: f64, y: f64) -> (f64, f64) {
        let (mut road, mut rail) = (f64::INFINITY, f64::INFINITY);
        for ci in self.nearby_cities(x, y) {
            let c = &self.cities[ci];
            for (k, &a) in c.road_angles.iter().enumerate() {
                let (dx, dy) = (a.cos(), a.sin());
                let (px, py) = (x - c.x, y - c.y);
                let t = px * dx + py * dy;
                if !(0.0..=ROAD_LENGTH_M).contains(&t) {
                    continue;
                }
                // The wiggle moves the road by at most 200 m: far cells skip the noise.
                let straight = (px * -dy + py * dx).abs();
                if straight > 300.0 {
                    let far = straight - 200.0;
                    if k == 0 {
                        rail = rail.min(far);
                    } else {
                        road = road.min(far);
                    }
                    continue;
                }
                let wiggle = 400.0
                    * (value_noise(
                        self.seed.wrapping_add(300 + (ci * 16 + k) as u64),
                        t / 4000.0,
                        0.5,
                    ) - 0.5);
                let perp = (px * -dy + py * dx - wiggle).abs();
                if k == 0 {
                    rail = rail.min(perp);
                } else {
                    road = road.min(perp);
                }
            }
        }
        (road, rail)
    }
}

/// One city per 45 km lattice cell, at the lowest of 16 candidate spots (cities grow on
/// plains). Returns the cities, the lattice (cell width, height, columns, rows) and the city
/// index of each lattice cell.
type CityLattice = (Vec<City>, (f64, f64, usize, usize), Vec<Option<usize>>);

fn place_cities(terrain: &Fields, seed: u64, width_m: f64, height_m: f64) -> CityLattice {
    let spacing = 45_000.0_f64;
    let mut cities = Vec::new();
    let (cw, ch) = (spacing.min(width_m), spacing.min(height_m));
    let nx = (width_m / cw).ceil() as i64;
    let ny = (height_m / ch).ceil() as i64;
    let mut city_at = vec![None; (nx * ny) as usize];
    for j in 0..ny {
        for i in 0..nx {
            let best = (0..16)
                .map(|k| {
                    let x = (i as f64 + 0.2 + 0.6 * hash01(seed ^ 0xC17, i * 16 + k, j)) * cw;
                    let y = (j as f64 + 0.2 + 0.6 * hash01(seed ^ 0xC18, i * 16 + k, j)) * ch;
                    (terrain.elevation(x, y), x, y)
                })
                .filter(|&(_, x, y)| x < width_m && y < height_m)
                .min_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((_, x, y)) = best {
                cities.push((x, y, hash01(seed ^ 0xC19, i, j)));
                city_at[j as usize * nx as usize + i as usize] = Some(cities.len() - 1);
            }
        }
    }
    let list = cities
        .into_iter()
        .enumerate()
        .map(|(k, (x, y, h))| {
            let radius = (2800.0 + 2200.0 * h).min(0.22 * width_m.min(height_m).max(6000.0));
            let a0 = hash01(seed ^ 0xA7, k as i64, 0) * std::f64::consts::TAU;
            let road_angles = (0..5)
                .map(|r| {
                    a0 + r as f64 * std::f64::consts::TAU / 5.0
                        + 0.3 * (hash01(seed ^ 0xA8, k as i64, r) - 0.5)
                })
                .collect();
            City {
                x,
                y,
                radius,
                road_angles,
            }
        })
        .collect();
    (list, (cw, ch, nx as usize, ny as usize), city_at)
}

/// Generates a landscape.
///
/// # Complexity
/// O(cells), parallel over rows; about 30 noise evaluations per cell.
pub fn generate(opts: &SynthOptions) -> SynthLandscape {
    let (rows, cols, cs) = (opts.rows as usize, opts.cols as usize, opts.cell_size_m);
    let width_m = cols as f64 * cs;
    let height_m = rows as f64 * cs;
    // Upper-left corner: centred on the CRS's false easting, at about 29.8°N.
    let origin_x = (500_000.0 - width_m / 2.0).round();
    let origin_y = 3_300_000.0 + (height_m / 2.0).round();
    let grid = Grid::new(
        rows as u64,
        cols as u64,
        cs,
        origin_x,
        origin_y,
        Crs::projected_epsg(opts.epsg),
    )
    .expect("synth grid is valid");
    let mut f = Fields {
        seed: opts.seed,
        cities: Vec::new(),
        lattice: (1.0, 1.0, 0, 0),
        city_at: Vec::new(),
    };
    let (cities, lattice, city_at) = place_cities(&f, opts.seed, width_m, height_m);
    (f.cities, f.lattice, f.city_at) = (cities, lattice, city_at);
    let (landcover, slope_deg) = rasters(&f, &grid);
    let urban_boundary = urban_boundaries(&f, &grid);
    let (redline, farmland, districts) = zone_layers(&f, &grid, &landcover);
    let population = population(opts.seed, &grid, &landcover);
    SynthLandscape {
        grid,
        landcover,
        slope_deg,
        redline,
        farmland,
        urban_boundary,
        districts,
        population,
    }
}

/// Residents per cell (see [`SynthLandscape::population`]).
fn population(seed: u64, grid: &Grid, landcover: &[u16]) -> Vec<f32> {
    let table = crate::classes::ClassTable::parse(
        std::path::Path::new("landcover_classes.csv"),
        CLASS_TABLE,
    )
    .expect("the bundled class table is valid");
    let (cols, cell_ha) = (grid.cols(), grid.cell_area_ha());
    // Smooth variation on a ~600 m lattice.
    let lattice = 600.0 / grid.cell_size_m();
    landcover
        .par_iter()
        .enumerate()
        .map(|(i, &code)| {
            let per_ha = table
                .index_of(code as u32)
                .map_or(0.0, |k| table.get(k).persons_per_ha);
            if per_ha == 0.0 {
                return 0.0;
            }
            let (r, c) = ((i / cols) as f64, (i % cols) as f64);
            let factor = 0.4 + 1.2 * value_noise(seed ^ 0x90B, c / lattice, r / lattice);
            ((per_ha * cell_ha * factor * 100.0).round() / 100.0) as f32
        })
        .collect()
}

/// Land-cover codes and slope (degrees; NaN outside the study area) of every cell.
fn rasters(f: &Fields, grid: &Grid) -> (Vec<u16>, Vec<f32>) {
    let (rows, cols, cs) = (grid.rows(), grid.cols(), grid.cell_size_m());
    let (width_m, height_m) = (cols as f64 * cs, rows as f64 * cs);
    // Elevation (m) at cell centres, with a one-cell border for the slope stencil.
    let relief = 700.0;
    let elev =
        |r: isize, c: isize| f.elevation((c as f64 + 0.5) * cs, (r as f64 + 0.5) * cs) * relief;
    let mut slope_deg = vec![0f32; rows * cols];
    slope_deg
        .par_chunks_mut(cols)
        .enumerate()
        .for_each(|(r, row)| {
            let r = r as isize;
            for (c, s) in row.iter_mut().enumerate() {
                let c = c as isize;
                let dzdx = (elev(r, c + 1) - elev(r, c - 1)) / (2.0 * cs);
                let dzdy = (elev(r + 1, c) - elev(r - 1, c)) / (2.0 * cs);
                *s = (dzdx * dzdx + dzdy * dzdy).sqrt().atan().to_degrees() as f32;
            }
        });

    let mut landcover = vec![0u16; rows * cols];
    landcover
        .par_chunks_mut(cols)
        .enumerate()
        .for_each(|(r, row)| {
            for (c, out) in row.iter_mut().enumerate() {
                let (x, y) = ((c as f64 + 0.5) * cs, (r as f64 + 0.5) * cs);
                let slope = slope_deg[r * cols + c] as f64;
                *out = classify(f, x, y, slope);
            }
        });
    // Study-area outline: an irregular margin inside the rectangle.
    let min_side = width_m.min(height_m);
    landcover
        .par_chunks_mut(cols)
        .enumerate()
        .for_each(|(r, row)| {
            for (c, out) in row.iter_mut().enumerate() {
                let (x, y) = ((c as f64 + 0.5) * cs, (r as f64 + 0.5) * cs);
                let d_edge = x.min(y).min(width_m - x).min(height_m - y);
                let margin = 0.09 * min_side.min(30_000.0) * sq(f.spot(9, x, y, 6000.0));
                if d_edge < margin {
                    *out = code::NODATA;
                }
            }
        });
    for (s, &lc) in slope_deg.iter_mut().zip(&landcover) {
        if lc == code::NODATA {
            *s = f32::NAN;
        }
    }

    (landcover, slope_deg)
}

/// One wavy urban development boundary around each city.
fn urban_boundaries(f: &Fields, grid: &Grid) -> Vec<NamedPolygon> {
    let (origin_x, origin_y) = (grid.origin_x(), grid.origin_y());
    f.cities
        .iter()
        .enumerate()
        .map(|(k, city)| {
            let n = 48;
            let ring: Vec<Coord<f64>> = (0..=n)
                .map(|i| {
                    let a = (i % n) as f64 / n as f64 * std::f64::consts::TAU;
                    let rr = city.radius
                        * (1.05
                            + 0.25
                                * (value_noise(
                                    f.seed ^ 0xB0 ^ k as u64,
                                    a.cos() * 2.0 + 5.0,
                                    a.sin() * 2.0 + 5.0,
                                ) - 0.5));
                    Coord {
                        x: origin_x + city.x + rr * a.cos(),
                        y: origin_y - (city.y + rr * a.sin()),
                    }
                })
                .collect();
            NamedPolygon {
                name: format!("城镇开发边界 {}", k + 1),
                geometry: MultiPolygon::new(vec![Polygon::new(LineString::new(ring), vec![])]),
            }
        })
        .collect()
}

/// The redline (blocks of 10 x 10 cells at least 70 % ecological land outside the cities),
/// the permanent farmland (at least 60 % farmland) and the districts.
fn zone_layers(
    f: &Fields,
    grid: &Grid,
    landcover: &[u16],
) -> (Vec<NamedPolygon>, Vec<NamedPolygon>, Vec<NamedPolygon>) {
    let (rows, cols, cs) = (grid.rows(), grid.cols(), grid.cell_size_m());
    let (origin_x, origin_y) = (grid.origin_x(), grid.origin_y());
    // Zone layers from blocks of cells.
    let is_eco = |v: u16| {
        matches!(
            v,
            code::FOREST
                | code::SHRUB
                | code::OTHER_FOREST
                | code::GRASS
                | code::SWAMP
                | code::FLAT
                | code::RIVER
        )
    };
    let is_farm = |v: u16| matches!(v, code::PADDY | code::IRRIGATED | code::DRY);
    let block = 10usize;
    let (brows, bcols) = (rows / block, cols / block);
    let bgrid = Grid::new(
        brows.max(1) as u64,
        bcols.max(1) as u64,
        cs * block as f64,
        origin_x,
        origin_y,
        grid.crs().clone(),
    )
    .expect("block grid");
    let mut urban_block = vec![false; brows * bcols];
    let fraction = |pred: &dyn Fn(u16) -> bool| -> Vec<f64> {
        let mut out = vec![0.0; brows * bcols];
        for (b, o) in out.iter_mut().enumerate() {
            let (br, bc) = (b / bcols, b % bcols);
            let mut n = 0;
            for r in br * block..(br + 1) * block {
                for c in bc * block..(bc + 1) * block {
                    n += usize::from(pred(landcover[r * cols + c]));
                }
            }
            *o = n as f64 / (block * block) as f64;
        }
        out
    };
    for (b, u) in urban_block.iter_mut().enumerate() {
        let (br, bc) = (b / bcols, b % bcols);
        let (x, y) = (
            (bc as f64 + 0.5) * block as f64 * cs,
            (br as f64 + 0.5) * block as f64 * cs,
        );
        *u = f.nearby_cities(x, y).any(|i| {
            let c = &f.cities[i];
            (sq(x - c.x) + sq(y - c.y)).sqrt() < c.radius * 1.35
        });
    }
    let eco = fraction(&is_eco);
    let farm = fraction(&is_farm);
    let eco_mask: Vec<bool> = (0..brows * bcols)
        .map(|b| eco[b] >= 0.7 && !urban_block[b])
        .collect();
    let farm_mask: Vec<bool> = (0..brows * bcols)
        .map(|b| farm[b] >= 0.6 && !urban_block[b])
        .collect();
    let redline = components_to_polygons(&bgrid, &eco_mask, 12, "生态保护红线");
    let farmland = components_to_polygons(&bgrid, &farm_mask, 6, "永久基本农田");
    let districts = district_polygons(&bgrid, f.seed);

    (redline, farmland, districts)
}

fn classify(f: &Fields, x: f64, y: f64, slope: f64) -> u16 {
    use code::*;
    let e = f.elevation(x, y);
    let (road, rail) = f.road_distance(x, y);
    let (u, _) = f.urban(x, y);
    let river_d = f.river_distance(x, y);
    let lowland = e < 0.66;
    if rail < 18.0 {
        return RAILWAY;
    }
    if road < 25.0 && slope < 25.0 {
        return HIGHWAY;
    }
    if river_d < 40.0 && lowland {
        return RIVER;
    }
    if u > 0.5 {
        let street = (x % 600.0) < 30.0 || (y % 600.0) < 30.0;
        if street {
            return STREET;
        }
        if f.spot(2, x, y, 900.0) > 0.66 {
            return PARK;
        }
        if u > 0.95 {
            return COMMERCIAL;
        }
        if u < 0.75 && f.spot(3, x, y, 2500.0) > 0.6 {
            return INDUSTRIAL;
        }
        return URBAN;
    }
    if river_d < 350.0 && lowland && slope < 4.0 {
        return if f.spot(4, x, y, 600.0) > 0.45 {
            SWAMP
        } else {
            FLAT
        };
    }
    if e > 0.64 || slope > 18.0 {
        let n = f.spot(5, x, y, 1200.0);
        if slope > 34.0 {
            return ROCK;
        }
        if f.spot(6, x, y, 500.0) > 0.78 && e < 0.85 {
            return MINING;
        }
        if f.spot(7, x, y, 700.0) > 0.79 {
            return BARE;
        }
        if e > 0.9 {
            return GRASS;
        }
        return match n {
            n if n < 0.3 => SHRUB,
            n if n < 0.42 => OTHER_FOREST,
            n if n > 0.8 => OTHER_GRASS,
            _ => FOREST,
        };
    }
    // Villages on a jittered lattice, 1.5 km apart.
    let sp = 1500.0;
    let (gi, gj) = ((x / sp).floor() as i64, (y / sp).floor() as i64);
    let vx = (gi as f64 + 0.2 + 0.6 * hash01(f.seed ^ 0x51, gi, gj)) * sp;
    let vy = (gj as f64 + 0.2 + 0.6 * hash01(f.seed ^ 0x52, gi, gj)) * sp;
    let vr = 60.0 + 110.0 * hash01(f.seed ^ 0x53, gi, gj);
    if (sq(x - vx) + sq(y - vy)).sqrt() < vr {
        return VILLAGE;
    }
    if e > 0.56 {
        let n = f.spot(8, x, y, 900.0);
        return match n {
            n if n > 0.62 => ORCHARD,
            n if n < 0.3 => OTHER_FOREST,
            n if n < 0.36 => OTHER_GRASS,
            _ => DRY,
        };
    }
    if f.spot(10, x, y, 300.0) > 0.8 {
        return POND;
    }
    if river_d < 1500.0 && f.spot(11, x, y, 1500.0) > 0.3 {
        return PADDY;
    }
    if f.spot(12, x, y, 2000.0) > 0.6 {
        return IRRIGATED;
    }
    if f.spot(13, x, y, 800.0) > 0.83 {
        return BARE;
    }
    DRY
}

/// 4-connected components of a block mask with at least `min_blocks` blocks, polygonized.
fn components_to_polygons(
    bgrid: &Grid,
    mask: &[bool],
    min_blocks: usize,
    name: &str,
) -> Vec<NamedPolygon> {
    let (rows, cols) = (bgrid.rows(), bgrid.cols());
    let mut label = vec![0u32; mask.len()];
    let mut sizes = vec![0usize];
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || label[start] != 0 {
            continue;
        }
        let id = sizes.len() as u32;
        sizes.push(0);
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            sizes[id as usize] += 1;
            let (r, c) = (i / cols, i % cols);
            let mut visit = |j: usize| {
                if mask[j] && label[j] == 0 {
                    label[j] = id;
                    stack.push(j);
                }
            };
            if r > 0 {
                visit(i - cols);
            }
            if r + 1 < rows {
                visit(i + cols);
            }
            if c > 0 {
                visit(i - 1);
            }
            if c + 1 < cols {
                visit(i + 1);
            }
        }
    }
    let geometry = polygonize(bgrid, |i| {
        label[i] != 0 && sizes[label[i] as usize] >= min_blocks
    });
    geometry
        .0
        .into_iter()
        .enumerate()
        .map(|(k, p)| NamedPolygon {
            name: format!("{name} {}", k + 1),
            geometry: MultiPolygon::new(vec![p]),
        })
        .collect()
}

const DISTRICT_NAMES: [&str; 12] = [
    "青山区",
    "河西区",
    "城关区",
    "南湖区",
    "东岭区",
    "西坝区",
    "北塘区",
    "松林区",
    "白石区",
    "清溪区",
    "龙泉区",
    "梅岭区",
];

/// Districts: noisy Voronoi cells of jittered seeds about 12 km apart, on the block grid.
fn district_polygons(bgrid: &Grid, seed: u64) -> Vec<NamedPolygon> {
    let (rows, cols, cs) = (bgrid.rows(), bgrid.cols(), bgrid.cell_size_m());
    let (w, h) = (cols as f64 * cs, rows as f64 * cs);
    let spacing = (w.min(h) / 2.0).clamp(3000.0, 12_000.0);
    let (nx, ny) = (
        (w / spacing).round().max(1.0) as i64,
        (h / spacing).round().max(1.0) as i64,
    );
    let (sx, sy) = (w / nx as f64, h / ny as f64);
    let seeds: Vec<(f64, f64)> = (0..ny)
        .flat_map(|j| (0..nx).map(move |i| (i, j)))
        .map(|(i, j)| {
            (
                (i as f64 + 0.25 + 0.5 * hash01(seed ^ 0xD1, i, j)) * sx,
                (j as f64 + 0.25 + 0.5 * hash01(seed ^ 0xD2, i, j)) * sy,
            )
        })
        .collect();
    let label: Vec<u32> = (0..rows * cols)
        .into_par_iter()
        .map(|b| {
            let (x, y) = (
                ((b % cols) as f64 + 0.5) * cs,
                ((b / cols) as f64 + 0.5) * cs,
            );
            let wob = 0.18 * spacing * (fbm(seed ^ 0xD3, x / 4000.0, y / 4000.0, 3) - 0.5);
            seeds
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    (
                        (sq(x - s.0) + sq(y - s.1)).sqrt() + wob * (k as f64 % 3.0 - 1.0),
                        k,
                    )
                })
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, k)| k as u32)
                .unwrap_or(0)
        })
        .collect();
    (0..seeds.len() as u32)
        .filter_map(|k| {
            let g = polygonize(bgrid, |i| label[i] == k);
            if g.0.is_empty() {
                return None;
            }
            let name = DISTRICT_NAMES
                .get(k as usize)
                .map(|s| s.to_string())
                .unwrap_or_else(|| format!("第{}区", k + 1));
            Some(NamedPolygon { name, geometry: g })
        })
        .collect()
}

/// `v²` by one multiplication: `powi` is lowered differently by optimisation level, which
/// would make debug and release builds disagree in the last bit.
fn sq(v: f64) -> f64 {
    v * v
}

/// The bundled class table (`models/landcover_classes.csv`), written beside the rasters.
pub const CLASS_TABLE: &str = include_str!("../models/landcover_classes.csv");

/// A source size that suits a synthetic landscape: 0.2 % of its area, rounded down to a
/// round number of hectares between 1 and 100.
pub fn min_area_ha(o: &SynthOptions) -> f64 {
    let area_ha = o.rows as f64 * o.cols as f64 * o.cell_size_m * o.cell_size_m / 10_000.0;
    min_area_for(area_ha)
}

/// 0.2 % of a study area of `area_ha`, rounded down to 1, 2, 5, 10, 20, 50 or 100 ha (at
/// least 1): a first source size for a new scenario.
pub fn min_area_for(area_ha: f64) -> f64 {
    [100.0, 50.0, 20.0, 10.0, 5.0, 2.0, 1.0]
        .into_iter()
        .find(|&a| a <= area_ha * 0.002)
        .unwrap_or(1.0)
}

/// The `scenario.toml` written beside a synthetic landscape: every layer `synth` writes, with a
/// source size suited to its area ([`min_area_ha`]).
///
/// The `[access]` section is written when the landscape has a park of at least 0.4 ha
/// (`with_access`, see [`SynthLandscape::largest_park_ha`]); small landscapes without a town
/// have none, and the section would only make the run fail.
pub fn scenario_toml(o: &SynthOptions, with_access: bool) -> String {
    let access = if with_access {
        "[access]\n# Park access: residents per cell, the ten-minute walk to a park of at least 0.4 ha.\npopulation = \"population.tif\"\nthreshold_min = 10\n"
    } else {
        "# No [access] section: this landscape has no park of 0.4 ha (class 810) to walk to.\n"
    };
    format!(
        r#"# Synthetic landscape written by `ecocorridor synth --rows {rows} --cols {cols} --seed {seed}`.
# Paths are relative to this file. See models/demo.toml for every option.
name = "synth_{rows}x{cols}_s{seed}"
description = "Synthetic neutral landscape, {cols} x {rows} cells of {cs} m, seed {seed}"

[landscape]
landcover = "landcover.tif"
classes = "landcover_classes.csv"

[[factors]]
name = "slope"
path = "slope.tif"
breaks = [8.0, 15.0, 25.0]
scores = [1.0, 10.0, 30.0, 60.0]
weight = 0.3

[[zones]]
name = "ecological_redline"
kind = "ecological_redline"
path = "ecological_redline.geojson"

[[zones]]
name = "permanent_farmland"
kind = "permanent_farmland"
path = "permanent_farmland.geojson"

[[zones]]
name = "urban_boundary"
kind = "urban_boundary"
path = "urban_boundary.geojson"

[districts]
path = "districts.geojson"
name_field = "name"

{access}
[sources]
# Scaled to the landscape: 0.2 % of its area, rounded down to 1, 2, 5, 10, 20, 50 or 100 ha.
min_area_ha = {min_area}
"#,
        rows = o.rows,
        cols = o.cols,
        seed = o.seed,
        cs = o.cell_size_m,
        min_area = min_area_ha(o)
    )
}

impl SynthLandscape {
    /// Area of the largest 8-connected patch of park cells (class 810), ha.
    pub fn largest_park_ha(&self) -> f64 {
        let g = &self.grid;
        let labels = crate::label::label(g.rows(), g.cols(), |i| self.landcover[i] == 810, true);
        let mut cells = vec![0u64; labels.count as usize + 1];
        for &id in &labels.ids {
            cells[id as usize] += 1;
        }
        cells[1..].iter().copied().max().unwrap_or(0) as f64 * g.cell_area_ha()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_landscape_and_another_seed_another() {
        let o = SynthOptions {
            rows: 120,
            cols: 90,
            ..Default::default()
        };
        let a = generate(&o);
        let b = generate(&o);
        assert_eq!(a.landcover, b.landcover);
        let c = generate(&SynthOptions { seed: 7, ..o });
        assert_ne!(a.landcover, c.landcover);
    }

    #[test]
    fn the_demo_size_has_the_landscape_a_planner_expects() {
        let s = generate(&SynthOptions::default());
        let n = s.landcover.len() as f64;
        let share =
            |codes: &[u16]| s.landcover.iter().filter(|v| codes.contains(v)).count() as f64 / n;
        use code::*;
        assert!(
            share(&[FOREST, SHRUB, OTHER_FOREST]) > 0.15,
            "forest {}",
            share(&[FOREST, SHRUB, OTHER_FOREST])
        );
        assert!(
            share(&[PADDY, IRRIGATED, DRY]) > 0.15,
            "farmland {}",
            share(&[PADDY, IRRIGATED, DRY])
        );
        assert!(share(&[URBAN, COMMERCIAL, INDUSTRIAL, STREET, PARK]) > 0.02);
        assert!(share(&[RIVER]) > 0.002);
        assert!(share(&[SWAMP, FLAT]) > 0.002);
        assert!(share(&[HIGHWAY, RAILWAY]) > 0.005);
        assert!(share(&[VILLAGE]) > 0.002);
        assert!(share(&[MINING, BARE]) > 0.002);
        assert!(share(&[NODATA]) > 0.01 && share(&[NODATA]) < 0.3);
        assert!(!s.redline.is_empty() && !s.farmland.is_empty());
        assert_eq!(s.urban_boundary.len(), 1);
        assert!(
            (3..=6).contains(&s.districts.len()),
            "{} districts",
            s.districts.len()
        );
    }
}
