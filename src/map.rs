//! `map.png` and `pareto.png`: pictures for a bureau's report, drawn into an RGB buffer with
//! two small bundled fonts (DejaVu Sans for Latin, Droid Sans Fallback for Chinese; subsets
//! made by `scripts/font_subset.py`), so they render the same on a bare machine with no
//! system fonts.
//!
//! The map shows land cover in conventional colours (三调 groups), the corridor zones, the
//! ecological sources, the least-cost paths (width and colour by the corridor's dPC rank), the
//! selected restoration sites and park connectors, the ecological redline outline, a legend, a
//! scale bar and a north arrow. The chart shows each sweep plan's cost against its carbon gain
//! with the Pareto frontier joined.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

use crate::classes::{ClassTable, OUTSIDE};
use crate::grid::Grid;

/// Report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English (default).
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

const LATIN: &[u8] = include_bytes!("../assets/fonts/latin.ttf");
const CJK: &[u8] = include_bytes!("../assets/fonts/cjk.ttf");

/// An RGB picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    /// Width, px.
    pub width: usize,
    /// Height, px.
    pub height: usize,
    /// Row-major pixels.
    pub pixels: Vec<[u8; 3]>,
}

type Rgb = [u8; 3];

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const GREY: Rgb = [110, 110, 110];

struct Fonts {
    latin: FontRef<'static>,
    cjk: FontRef<'static>,
}

impl Fonts {
    fn load() -> Fonts {
        Fonts {
            latin: FontRef::try_from_slice(LATIN).expect("the bundled Latin font parses"),
            cjk: FontRef::try_from_slice(CJK).expect("the bundled CJK font parses"),
        }
    }

    /// The font that has `c` (Latin first), if any.
    fn pick(&self, c: char) -> Option<&FontRef<'static>> {
        [&self.latin, &self.cjk]
            .into_iter()
            .find(|f| f.glyph_id(c).0 != 0)
    }
}

/// Whether the bundled fonts draw every character of `text` (spaces aside).
pub fn fonts_cover(text: &str) -> bool {
    let f = Fonts::load();
    text.chars()
        .all(|c| c.is_whitespace() || f.pick(c).is_some())
}

impl Canvas {
    /// A canvas filled with one colour.
    pub fn new(width: usize, height: usize, fill: Rgb) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![fill; width * height],
        }
    }

    fn blend(&mut self, x: i64, y: i64, c: Rgb, alpha: f32) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let a = alpha.clamp(0.0, 1.0);
        let p = &mut self.pixels[y as usize * self.width + x as usize];
        for k in 0..3 {
            p[k] = (p[k] as f32 * (1.0 - a) + c[k] as f32 * a).round() as u8;
        }
    }

    fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.blend(x, y, c, 1.0);
            }
        }
    }

    fn frame(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: Rgb) {
        for x in x0..x1 {
            self.blend(x, y0, c, 1.0);
            self.blend(x, y1 - 1, c, 1.0);
        }
        for y in y0..y1 {
            self.blend(x0, y, c, 1.0);
            self.blend(x1 - 1, y, c, 1.0);
        }
    }

    /// A line of the given width (round caps), by stamping discs along it.
    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), width: f64, c: Rgb) {
        let len = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
        let steps = (len * 2.0).ceil().max(1.0) as usize;
        let r = width / 2.0;
        for k in 0..=steps {
            let t = k as f64 / steps as f64;
            let (cx, cy) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            let ri = r.ceil() as i64;
            for dy in -ri..=ri {
                for dx in -ri..=ri {
                    let d = ((dx * dx + dy * dy) as f64).sqrt();
                    if d <= r + 0.5 {
                        let a = (r + 0.5 - d).min(1.0) as f32;
                        self.blend(cx.round() as i64 + dx, cy.round() as i64 + dy, c, a);
                    }
                }
            }
        }
    }

    /// Draws `text` with its baseline at `y`; returns the advance width. Characters neither
    /// font has are skipped.
    fn text(&mut self, fonts: &Fonts, x: f64, y: f64, size: f32, text: &str, c: Rgb) -> f64 {
        let mut pen = x as f32;
        for ch in text.chars() {
            let Some(font) = fonts.pick(ch) else { continue };
            let scaled = font.as_scaled(PxScale::from(size));
            let id = font.glyph_id(ch);
            let glyph = id.with_scale_and_position(size, ab_glyph::point(pen, y as f32));
            if let Some(outlined) = font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                outlined.draw(|gx, gy, cov| {
                    self.blend(
                        b.min.x as i64 + gx as i64,
                        b.min.y as i64 + gy as i64,
                        c,
                        cov,
                    )
                });
            }
            pen += scaled.h_advance(id);
        }
        (pen as f64) - x
    }
}

fn text_width(fonts: &Fonts, size: f32, text: &str) -> f64 {
    text.chars()
        .filter_map(|ch| fonts.pick(ch).map(|f| (f, ch)))
        .map(|(f, ch)| f.as_scaled(PxScale::from(size)).h_advance(f.glyph_id(ch)) as f64)
        .sum()
}

/// The map colour of a class: the table's `colour`; else, for classes with a survey code
/// (`dlbm`), the colour of their 三调 group ([`class_colour`]); else a colour from the English
/// name's land-use words ([`colour_from_name`]), so that a CORINE-style table draws arable land
/// yellow and water blue; else a stable muted colour from the code.
pub fn colour_of(cl: &crate::classes::LandClass) -> Rgb {
    if let Some(c) = cl.colour {
        return c;
    }
    if !cl.dlbm.trim().is_empty() {
        return class_colour(cl.code);
    }
    colour_from_name(&cl.name).unwrap_or_else(|| hashed_colour(cl.code))
}

/// A colour from land-use words in a class name (English), first match wins.
pub fn colour_from_name(name: &str) -> Option<Rgb> {
    let n = name.to_ascii_lowercase();
    // Order matters: "green urban" before "urban", "sport" before "port", "fruit trees"
    // before "tree", "woodland-shrub" before "wood".
    let table: [(&[&str], Rgb); 12] = [
        (
            &[
                "water",
                "river",
                "lake",
                "reservoir",
                "sea",
                "ocean",
                "estuar",
                "lagoon",
                "canal",
            ],
            [41, 182, 246],
        ),
        (
            &[
                "marsh",
                "wetland",
                "bog",
                "swamp",
                "peat",
                "intertidal",
                "flat",
            ],
            [128, 203, 196],
        ),
        (
            &["green urban", "park", "sport", "leisure"],
            [129, 199, 132],
        ),
        (
            &["road", "rail", "highway", "street", "airport", "port"],
            [158, 158, 158],
        ),
        (
            &[
                "urban",
                "built",
                "residential",
                "industrial",
                "commercial",
                "settlement",
                "construction",
                "dump",
                "mine",
                "mining",
                "extraction",
            ],
            [229, 115, 115],
        ),
        (
            &[
                "orchard",
                "vineyard",
                "olive",
                "fruit",
                "plantation",
                "garden",
            ],
            [242, 181, 107],
        ),
        (
            &["shrub", "scrub", "sclerophyllous", "moor", "heath"],
            [124, 179, 66],
        ),
        (
            &[
                "broad-leaved",
                "broadleaf",
                "coniferous",
                "forest",
                "wood",
                "tree",
            ],
            [46, 125, 50],
        ),
        (&["grass", "pasture", "meadow", "steppe"], [197, 225, 165]),
        (&["rice", "paddy"], [205, 214, 96]),
        (
            &[
                "arable",
                "crop",
                "cultivat",
                "agricultur",
                "farm",
                "irrigated",
                "field",
            ],
            [240, 214, 84],
        ),
        (
            &[
                "bare", "rock", "sand", "beach", "dune", "burnt", "glacier", "snow", "sparsely",
            ],
            [215, 204, 200],
        ),
    ];
    table
        .iter()
        .find(|(words, _)| words.iter().any(|w| n.contains(w)))
        .map(|(_, c)| *c)
}

fn hashed_colour(code: u32) -> Rgb {
    let h = code.wrapping_mul(2_654_435_761);
    [
        120 + (h >> 24) as u8 % 100,
        120 + (h >> 16) as u8 % 100,
        120 + (h >> 8) as u8 % 100,
    ]
}

/// Conventional colour of a land-cover class (三调 groups: farmland yellow, gardens orange,
/// forest greens, grassland light green, built-up reds, transport greys, water blues, other
/// land tans).
pub fn class_colour(code: u32) -> Rgb {
    match code {
        101 => [205, 214, 96],
        102 => [240, 214, 84],
        103 => [250, 238, 170],
        201..=299 => [242, 181, 107],
        301 => [46, 125, 50],
        302 => [76, 175, 80],
        303 | 304 => [27, 94, 32],
        305 | 306 => [124, 179, 66],
        307 => [156, 204, 101],
        401..=499 => [197, 225, 165],
        501..=599 => [229, 115, 115],
        601 | 603 | 604 => [176, 128, 106],
        602 => [141, 110, 99],
        701 => [239, 83, 80],
        702 => [242, 139, 130],
        810 => [129, 199, 132],
        801..=899 => [244, 143, 177],
        901..=999 => [186, 104, 200],
        1006 => [189, 189, 189],
        1001..=1099 => [158, 158, 158],
        1101..=1103 => [41, 182, 246],
        1104 => [129, 212, 250],
        1105 | 1106 => [179, 229, 252],
        1107 => [77, 208, 225],
        1108 => [128, 203, 196],
        1109 => [144, 164, 174],
        1110 => [236, 239, 241],
        1205 => [245, 222, 179],
        1206 => [210, 180, 140],
        1207 => [161, 136, 127],
        1201..=1299 => [215, 204, 200],
        // Any other code: a stable muted colour from the code.
        _ => hashed_colour(code),
    }
}

/// The labels of the pictures in both languages.
fn label(lang: Lang, key: &str) -> &'static str {
    let (en, zh) = match key {
        "legend" => ("Legend", "图例"),
        "sources" => ("Ecological sources", "生态源地"),
        "zone" => ("Corridor zone", "生态廊道范围"),
        "paths" => ("Least-cost paths (width: dPC)", "最小成本路径（线宽：dPC）"),
        "sites" => ("Selected restoration sites", "入选生态修复地块"),
        "connectors" => ("Selected park connectors", "入选公园连接通道"),
        "redline" => ("Ecological protection redline", "生态保护红线"),
        "pinch" => (
            "Pinch points (current >= half the corridor's peak)",
            "夹点（电流）",
        ),
        "landcover" => ("Land cover", "土地覆盖"),
        "parks" => ("Parks (>= min_park_ha)", "公园（不小于最小面积）"),
        "walk" => ("Within the walk of a park", "公园步行可达范围"),
        "beyond" => ("Residents beyond the walk", "步行范围外的居民"),
        "north" => ("N", "北"),
        "cost" => ("Cost (million yuan)", "投资（百万元）"),
        "carbon" => ("Carbon gain (t CO2e)", "碳汇增量（t CO2e）"),
        "frontier" => ("Cost-carbon frontier", "投资-碳汇前沿"),
        "plans" => (
            "Plans (colour: carbon weight; large: Pareto)",
            "方案（颜色：碳汇权重；大点：帕累托最优）",
        ),
        _ => ("?", "?"),
    };
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

/// The park-access layers of the map.
#[derive(Debug, Clone, Copy)]
pub struct AccessLayer<'a> {
    /// Park id of each park cell.
    pub parks: &'a crate::raster::Sparse<u32>,
    /// Walking minutes to the nearest park per cell (`+∞` unreached, NaN outside).
    pub minutes: &'a [f32],
    /// The walk that counts, min.
    pub threshold_min: f64,
    /// Residents beyond the walk per cell, persons ([`crate::access::Access::beyond`]).
    pub beyond: &'a crate::raster::SparseF32,
}

/// What the map shows.
pub struct MapLayers<'a> {
    /// The grid.
    pub grid: &'a Grid,
    /// Class table.
    pub classes: &'a ClassTable,
    /// Class index per cell.
    pub landcover: &'a [u8],
    /// Patch id per cell (0 none).
    pub sources: &'a [u32],
    /// Corridor raster (held on the corridor zones' cells).
    pub nlcc: &'a crate::raster::SparseF32,
    /// Least-cost paths with their importance (e.g. dPC).
    pub paths: Vec<(&'a [usize], f64)>,
    /// Site id per cell and whether each site (id - 1) was selected.
    pub sites: Option<(&'a crate::raster::Sparse<u32>, &'a [bool])>,
    /// Paths of the selected connectors.
    pub connectors: Vec<&'a [usize]>,
    /// Zone membership bits per cell and the bits to outline as the redline.
    pub redline: Option<(&'a [u8], u8)>,
    /// Pinch points: per cell the current divided by its corridor's largest (0-1, NaN
    /// outside the zones); cells at 0.5 and above are drawn, stronger where higher.
    pub pinch: Option<&'a crate::raster::SparseF32>,
    /// Park access, when measured.
    pub access: Option<AccessLayer<'a>>,
    /// Title.
    pub title: String,
    /// Subtitle (the scenario's description; empty for none).
    pub subtitle: String,
}

/// Colour of pinch points (cyan blue: apart from the paths' reds and the sites' magenta).
const PINCH: Rgb = [0, 145, 234];
/// Corridor zones (hatch).
const ZONE: Rgb = [0, 121, 107];
/// Park outlines.
const PARK: Rgb = [27, 94, 32];
/// The edge of the walk to a park.
const WALK: Rgb = [255, 111, 0];
/// Residents beyond the walk (dots).
const BEYOND: Rgb = [74, 20, 140];

/// Draws the map: at most 1,400 px on the long side of the map, plus the legend panel.
pub fn render_map(m: &MapLayers, lang: Lang) -> Canvas {
    let fonts = Fonts::load();
    let (rows, cols) = (m.grid.rows(), m.grid.cols());
    let fit = 1_400.0 / rows.max(cols) as f64;
    let scale = if fit >= 1.0 { fit.floor() } else { fit };
    let f = Frame {
        rows,
        cols,
        scale,
        mw: (cols as f64 * scale).round() as usize,
        mh: (rows as f64 * scale).round() as usize,
        margin: 20,
        top: if m.subtitle.trim().is_empty() { 60 } else { 84 },
    };
    let panel = 420usize;
    let width = f.margin + f.mw + f.margin + panel;
    let height = (f.top + f.mh + f.margin).max(f.top + 700);
    let mut cv = Canvas::new(width, height, WHITE);
    draw_cells(&mut cv, &f, m);
    // Outlines: sources dark green, redline red.
    draw_outline(&mut cv, &f, &|i| m.sources[i] != 0, [0, 68, 27]);
    if let Some((bits, mask)) = m.redline {
        draw_outline(&mut cv, &f, &|i| bits[i] & mask != 0, [213, 0, 0]);
    }
    if let Some(a) = m.access {
        let t = a.threshold_min as f32;
        // Unreached cells are +inf and outside cells NaN: neither is within the walk.
        let within = |i: usize| a.minutes[i] <= t;
        // The walk's edge, then residents beyond it as dots, then the parks' outlines.
        draw_outline(&mut cv, &f, &within, WALK);
        draw_beyond(&mut cv, &f, &|i| a.beyond.find(i).is_some());
        draw_outline(&mut cv, &f, &|i| a.parks.find(i).is_some(), PARK);
    }
    draw_paths(&mut cv, &f, m);
    cv.frame(
        f.margin as i64 - 1,
        f.top as i64 - 1,
        (f.margin + f.mw) as i64 + 1,
        (f.top + f.mh) as i64 + 1,
        GREY,
    );
    cv.text(&fonts, f.margin as f64, 40.0, 26.0, &m.title, BLACK);
    if !m.subtitle.trim().is_empty() {
        cv.text(&fonts, f.margin as f64, 66.0, 16.0, m.subtitle.trim(), GREY);
    }
    draw_north_and_scale(&mut cv, &f, &fonts, (m.grid.cell_size_m(), lang));
    draw_legend(&mut cv, &f, &fonts, (m, lang), height);
    cv
}

/// Where the map sits on the picture: `scale` pixels per cell, `mw` x `mh` pixels, its top
/// left corner at (`margin`, `top`).
struct Frame {
    rows: usize,
    cols: usize,
    scale: f64,
    mw: usize,
    mh: usize,
    margin: usize,
    top: usize,
}

impl Frame {
    /// The cell under map pixel (px, py).
    fn cell_at(&self, px: usize, py: usize) -> usize {
        let r = ((py as f64 + 0.5) / self.scale) as usize;
        let c = ((px as f64 + 0.5) / self.scale) as usize;
        r.min(self.rows - 1) * self.cols + c.min(self.cols - 1)
    }

    /// The picture coordinates of a cell's centre.
    fn centre(&self, i: usize) -> (f64, f64) {
        (
            self.margin as f64 + ((i % self.cols) as f64 + 0.5) * self.scale,
            self.top as f64 + ((i / self.cols) as f64 + 0.5) * self.scale,
        )
    }
}

/// Land cover, lightened so the overlays stand out; corridor zones, sources and selected
/// sites tinted.
fn draw_cells(cv: &mut Canvas, f: &Frame, m: &MapLayers) {
    let colours: Vec<Rgb> = m.classes.classes().iter().map(colour_of).collect();
    let (margin, top) = (f.margin, f.top);
    for py in 0..f.mh {
        for px in 0..f.mw {
            let i = f.cell_at(px, py);
            let cls = m.landcover[i];
            let (x, y) = ((margin + px) as i64, (top + py) as i64);
            if cls == OUTSIDE {
                continue;
            }
            cv.blend(x, y, colours[cls as usize], 0.75);
            // Corridor zone: a diagonal teal hatch, so it reads as an overlay, not as a class.
            if m.nlcc.get(i).is_finite() && (x + y).rem_euclid(6) < 2 {
                cv.blend(x, y, ZONE, 0.8);
            }
            if m.sources[i] != 0 {
                cv.blend(x, y, [0, 68, 27], 0.35);
            }
            if let Some(p) = m.pinch {
                let v = p.get(i);
                if v >= 0.5 {
                    cv.blend(x, y, PINCH, 0.3 + 0.7 * ((v - 0.5) * 2.0).min(1.0));
                }
            }
            if let Some((ids, sel)) = m.sites {
                let s = ids.find(i).unwrap_or(0);
                if s != 0 && sel.get(s as usize - 1).copied().unwrap_or(false) {
                    cv.blend(x, y, [216, 27, 96], 0.9);
                }
            }
        }
    }
}

/// Pixel edges where membership changes, drawn in `c`.
fn draw_outline(cv: &mut Canvas, f: &Frame, inside: &dyn Fn(usize) -> bool, c: Rgb) {
    let (mw, mh) = (f.mw, f.mh);
    for py in 0..mh {
        for px in 0..mw {
            if !inside(f.cell_at(px, py)) {
                continue;
            }
            let edge = [(0i64, 1i64), (1, 0), (0, -1), (-1, 0)]
                .iter()
                .any(|&(dx, dy)| {
                    let (nx, ny) = (px as i64 + dx, py as i64 + dy);
                    nx < 0
                        || ny < 0
                        || nx as usize >= mw
                        || ny as usize >= mh
                        || !inside(f.cell_at(nx as usize, ny as usize))
                });
            if edge {
                cv.blend((f.margin + px) as i64, (f.top + py) as i64, c, 1.0);
            }
        }
    }
}

/// Residents beyond the walk: a sparse dot pattern (every third pixel on every third row) so
/// the land cover stays readable under it.
fn draw_beyond(cv: &mut Canvas, f: &Frame, beyond: &dyn Fn(usize) -> bool) {
    for py in (0..f.mh).step_by(3) {
        for px in (0..f.mw).step_by(3) {
            if beyond(f.cell_at(px, py)) {
                cv.blend((f.margin + px) as i64, (f.top + py) as i64, BEYOND, 1.0);
            }
        }
    }
}

/// Least-cost paths, widest and darkest for the most important; chosen connectors on top.
fn draw_paths(cv: &mut Canvas, f: &Frame, m: &MapLayers) {
    let centre = |i: usize| f.centre(i);
    let mut order: Vec<usize> = (0..m.paths.len()).collect();
    order.sort_by(|&a, &b| m.paths[a].1.total_cmp(&m.paths[b].1).then(a.cmp(&b)));
    let n = order.len().max(1) as f64;
    for (rank, &k) in order.iter().enumerate() {
        let q = (rank as f64 + 1.0) / n;
        // Charcoal to black (the redline is red, connectors purple, sites magenta).
        let grey = (70.0 - 70.0 * q) as u8;
        let colour = [grey, grey, grey];
        let w = 1.5 + 3.0 * q;
        for seg in m.paths[k].0.windows(2) {
            cv.line(centre(seg[0]), centre(seg[1]), w, colour);
        }
    }
    for path in &m.connectors {
        for seg in path.windows(2) {
            cv.line(centre(seg[0]), centre(seg[1]), 5.0, [106, 27, 154]);
        }
    }
}

/// North arrow (top right of the map) and scale bar (bottom left).
fn draw_north_and_scale(
    cv: &mut Canvas,
    f: &Frame,
    fonts: &Fonts,
    (cell_size_m, lang): (f64, Lang),
) {
    let (margin, top, mw, mh, scale) = (f.margin, f.top, f.mw, f.mh, f.scale);
    let (ax, ay) = ((margin + mw) as f64 - 40.0, top as f64 + 20.0);
    for k in 0..40 {
        let half = k as f64 * 0.35;
        cv.line(
            (ax - half, ay + k as f64),
            (ax + half, ay + k as f64),
            1.0,
            BLACK,
        );
    }
    let nw = text_width(fonts, 20.0, label(lang, "north"));
    cv.text(
        fonts,
        ax - nw / 2.0,
        ay + 62.0,
        20.0,
        label(lang, "north"),
        BLACK,
    );
    let m_per_px = cell_size_m / scale;
    let target = 180.0 * m_per_px;
    let pow = 10f64.powf(target.log10().floor());
    let len_m = [5.0, 2.0, 1.0]
        .iter()
        .map(|f| f * pow)
        .find(|&l| l <= target)
        .unwrap_or(pow);
    let len_px = len_m / m_per_px;
    let (sx, sy) = (margin as f64 + 20.0, (top + mh) as f64 - 30.0);
    cv.rect(
        sx as i64 - 6,
        sy as i64 - 24,
        (sx + len_px) as i64 + 60,
        sy as i64 + 14,
        WHITE,
    );
    cv.rect(
        sx as i64,
        sy as i64,
        (sx + len_px / 2.0) as i64,
        sy as i64 + 6,
        BLACK,
    );
    cv.frame(
        sx as i64,
        sy as i64,
        (sx + len_px) as i64,
        sy as i64 + 6,
        BLACK,
    );
    let unit = |v: f64| {
        if len_m >= 1000.0 {
            format!("{} km", v / 1000.0)
        } else {
            format!("{v} m")
        }
    };
    cv.text(fonts, sx - 3.0, sy - 6.0, 14.0, "0", BLACK);
    cv.text(
        fonts,
        sx + len_px - 6.0,
        sy - 6.0,
        14.0,
        &unit(len_m),
        BLACK,
    );
}

/// The legend: the overlays, then the land-cover classes present, largest first.
fn draw_legend(
    cv: &mut Canvas,
    f: &Frame,
    fonts: &Fonts,
    (m, lang): (&MapLayers, Lang),
    height: usize,
) {
    let (margin, top, mw) = (f.margin, f.top, f.mw);
    let classes = m.classes.classes();
    let lx = (margin + mw + margin + 10) as f64;
    let mut ly = top as f64 + 10.0;
    cv.text(fonts, lx, ly + 16.0, 22.0, label(lang, "legend"), BLACK);
    ly += 36.0;
    let swatch = |cv: &mut Canvas, y: f64, c: Rgb| {
        cv.rect(lx as i64, y as i64, lx as i64 + 28, y as i64 + 16, c);
        cv.frame(lx as i64, y as i64, lx as i64 + 28, y as i64 + 16, GREY);
    };
    let entries: [(&str, Rgb, bool); 10] = [
        ("sources", [60, 120, 70], false),
        ("zone", ZONE, false),
        ("paths", [10, 10, 10], true),
        ("sites", [216, 27, 96], false),
        ("connectors", [106, 27, 154], true),
        ("redline", [213, 0, 0], true),
        ("pinch", PINCH, false),
        ("parks", PARK, true),
        ("walk", WALK, true),
        ("beyond", BEYOND, false),
    ];
    for (key, c, is_line) in entries {
        if key == "redline" && m.redline.is_none()
            || key == "sites" && m.sites.is_none()
            || key == "pinch" && m.pinch.is_none()
            || matches!(key, "parks" | "walk" | "beyond") && m.access.is_none()
        {
            continue;
        }
        if is_line {
            cv.line((lx, ly + 8.0), (lx + 28.0, ly + 8.0), 4.0, c);
        } else {
            swatch(cv, ly, c);
        }
        cv.text(fonts, lx + 38.0, ly + 14.0, 16.0, label(lang, key), BLACK);
        ly += 26.0;
    }
    ly += 10.0;
    cv.text(fonts, lx, ly + 14.0, 18.0, label(lang, "landcover"), BLACK);
    ly += 28.0;
    let mut area = vec![0u64; classes.len()];
    for &c in m.landcover {
        if c != OUTSIDE {
            area[c as usize] += 1;
        }
    }
    let mut present: Vec<usize> = (0..classes.len()).filter(|&k| area[k] > 0).collect();
    present.sort_by(|&a, &b| area[b].cmp(&area[a]).then(a.cmp(&b)));
    // Every class present: rows shrink (down to 11 px) to fit the panel.
    let row = ((height as f64 - ly - 20.0) / present.len().max(1) as f64).clamp(11.0, 22.0);
    let font = (row * 0.64).max(9.0) as f32;
    for &k in &present {
        let cl = &classes[k];
        let mut c = colour_of(cl);
        for v in c.iter_mut() {
            *v = (*v as f32 * 0.75 + 255.0 * 0.25) as u8;
        }
        cv.rect(
            lx as i64,
            ly as i64,
            lx as i64 + 28,
            ly as i64 + (row - 6.0) as i64,
            c,
        );
        let name = match lang {
            Lang::Zh if fonts_cover(&cl.name_zh) && !cl.name_zh.is_empty() => &cl.name_zh,
            _ => &cl.name,
        };
        cv.text(
            fonts,
            lx + 38.0,
            ly + row * 0.55,
            font,
            &format!("{} {}", cl.code, name),
            BLACK,
        );
        ly += row;
    }
}

/// One plan of a sweep for the trade-off chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoPoint {
    /// Spent, yuan.
    pub cost_yuan: f64,
    /// Carbon gain, t CO2e.
    pub carbon_tco2e: f64,
    /// Carbon weight of the run (colour).
    pub w_carbon: f64,
    /// On the Pareto frontier.
    pub frontier: bool,
}

fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / 5.0;
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|f| f * pow)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * pow);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + 1e-9 * span {
        out.push(t);
        t += step;
    }
    out
}

/// Cost against carbon gain for the plans of a sweep, frontier joined.
pub fn render_pareto(points: &[ParetoPoint], title: &str, lang: Lang) -> Canvas {
    let fonts = Fonts::load();
    let (w, h) = (900usize, 640usize);
    let mut cv = Canvas::new(w, h, WHITE);
    let (x0, y0, x1, y1) = (100.0, 70.0, 860.0, 560.0);
    cv.text(&fonts, 20.0, 40.0, 24.0, title, BLACK);
    let xs: Vec<f64> = points.iter().map(|p| p.cost_yuan / 1e6).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.carbon_tco2e).collect();
    let (xmax, ymax) = (
        xs.iter().copied().fold(0.0, f64::max) * 1.05 + 1e-9,
        ys.iter().copied().fold(0.0, f64::max) * 1.05 + 1e-9,
    );
    let (xmin, ymin) = (0.0, ys.iter().copied().fold(0.0, f64::min).min(0.0));
    let px = |x: f64| x0 + (x - xmin) / (xmax - xmin) * (x1 - x0);
    let py = |y: f64| y1 - (y - ymin) / (ymax - ymin) * (y1 - y0);
    cv.line((x0, y1), (x1, y1), 1.5, BLACK);
    cv.line((x0, y0), (x0, y1), 1.5, BLACK);
    for t in nice_ticks(xmin, xmax) {
        cv.line((px(t), y1), (px(t), y1 + 6.0), 1.0, BLACK);
        let s = format!("{t}");
        let tw = text_width(&fonts, 14.0, &s);
        cv.text(&fonts, px(t) - tw / 2.0, y1 + 24.0, 14.0, &s, BLACK);
    }
    for t in nice_ticks(ymin, ymax) {
        cv.line((x0 - 6.0, py(t)), (x0, py(t)), 1.0, BLACK);
        let s = format!("{t}");
        let tw = text_width(&fonts, 14.0, &s);
        cv.text(&fonts, x0 - 10.0 - tw, py(t) + 5.0, 14.0, &s, BLACK);
    }
    let xl = label(lang, "cost");
    let tw = text_width(&fonts, 16.0, xl);
    cv.text(
        &fonts,
        (x0 + x1) / 2.0 - tw / 2.0,
        y1 + 52.0,
        16.0,
        xl,
        BLACK,
    );
    cv.text(&fonts, x0, y0 - 14.0, 16.0, label(lang, "carbon"), BLACK);
    // The cost-carbon frontier: by cost, each plan that gains more carbon than every cheaper
    // one (the plans' own Pareto flag also counts connectivity, so it is drawn as the dot size).
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]).then(ys[b].total_cmp(&ys[a])));
    let mut front = Vec::new();
    let mut best = f64::NEG_INFINITY;
    for k in order {
        if ys[k] > best {
            best = ys[k];
            front.push(k);
        }
    }
    for pair in front.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        cv.line(
            (px(xs[a]), py(ys[a])),
            (px(xs[b]), py(ys[b])),
            2.0,
            [120, 120, 120],
        );
    }
    for (k, p) in points.iter().enumerate() {
        let w = p.w_carbon.clamp(0.0, 1.0);
        let c = [
            (30.0 + 20.0 * w) as u8,
            (90.0 + 110.0 * w) as u8,
            (200.0 - 150.0 * w) as u8,
        ];
        let r = if p.frontier { 7.0 } else { 5.0 };
        cv.line((px(xs[k]), py(ys[k])), (px(xs[k]), py(ys[k])), 2.0 * r, c);
    }
    let (lx, ly) = (x1 - 340.0, y0 + 10.0);
    cv.line((lx, ly), (lx + 24.0, ly), 2.0, [120, 120, 120]);
    cv.text(
        &fonts,
        lx + 32.0,
        ly + 5.0,
        14.0,
        label(lang, "frontier"),
        BLACK,
    );
    cv.line(
        (lx + 12.0, ly + 24.0),
        (lx + 12.0, ly + 24.0),
        12.0,
        [40, 150, 120],
    );
    cv.text(
        &fonts,
        lx + 32.0,
        ly + 29.0,
        14.0,
        label(lang, "plans"),
        BLACK,
    );
    cv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn park_access_draws_parks_the_walk_and_the_residents_beyond_it() {
        let table = ClassTable::parse(
            std::path::Path::new("t.csv"),
            "code,name,resistance,habitat,c_above,c_below,c_soil,c_dead\n1004,street,1,0,0,0,0,0\n",
        )
        .unwrap();
        let n = 40usize;
        let grid = Grid::new(
            n as u64,
            n as u64,
            30.0,
            0.0,
            n as f64 * 30.0,
            crate::grid::Crs::projected_epsg(4545),
        )
        .unwrap();
        let landcover = vec![0u8; n * n];
        let sources = vec![0u32; n * n];
        let nlcc = crate::raster::SparseF32::from_finite(&vec![f32::NAN; n * n]);
        // A 4 x 4 park in the north-west corner; minutes = cells from it; everyone lives here.
        let parks: Vec<u32> = (0..n * n)
            .map(|i| u32::from(i / n < 4 && i % n < 4))
            .collect();
        let parks = crate::raster::Sparse::from_dense_where(&parks, |id| id != 0);
        let minutes: Vec<f32> = (0..n * n)
            .map(|i| ((i / n).max(i % n)) as f32 * 0.5)
            .collect();
        // Everyone beyond the 10 minutes (20 cells) is beyond the walk.
        let beyond = crate::raster::Sparse::from_dense_where(
            &minutes
                .iter()
                .map(|&t| if t > 10.0 { 1.0f32 } else { 0.0 })
                .collect::<Vec<_>>(),
            |p| p > 0.0,
        );
        let colours = |access| {
            let m = MapLayers {
                grid: &grid,
                classes: &table,
                landcover: &landcover,
                sources: &sources,
                nlcc: &nlcc,
                paths: vec![],
                sites: None,
                connectors: vec![],
                redline: None,
                pinch: None,
                access,
                title: "t".into(),
                subtitle: String::new(),
            };
            let cv = render_map(&m, Lang::En);
            cv.pixels
                .into_iter()
                .collect::<std::collections::BTreeSet<Rgb>>()
        };
        let with = colours(Some(AccessLayer {
            parks: &parks,
            minutes: &minutes,
            threshold_min: 10.0,
            beyond: &beyond,
        }));
        for c in [PARK, WALK, BEYOND] {
            assert!(with.contains(&c), "{c:?} missing");
        }
        let without = colours(None);
        for c in [PARK, WALK, BEYOND] {
            assert!(!without.contains(&c), "{c:?} drawn without [access]");
        }
    }

    #[test]
    fn tables_without_colours_get_colours_from_their_class_names() {
        // CORINE Land Cover level-3 names (no survey codes, no colour column).
        let yellow = [240, 214, 84];
        let cases: [(&str, Rgb); 9] = [
            ("Non-irrigated arable land", yellow),
            ("Permanently irrigated land", yellow),
            ("Water bodies", [41, 182, 246]),
            ("Green urban areas", [129, 199, 132]),
            ("Sport and leisure facilities", [129, 199, 132]),
            ("Continuous urban fabric", [229, 115, 115]),
            ("Fruit trees and berry plantations", [242, 181, 107]),
            ("Transitional woodland-shrub", [124, 179, 66]),
            ("Coniferous forest", [46, 125, 50]),
        ];
        for (name, c) in cases {
            assert_eq!(colour_from_name(name), Some(c), "{name}");
        }
        let table = ClassTable::parse(
            std::path::Path::new("clc.csv"),
            "code,name,resistance,habitat,c_above,c_below,c_soil,c_dead\n211,Non-irrigated arable land,100,0,5,0,60,0\n512,Water bodies,1000,0,0,0,0,0\n",
        )
        .unwrap();
        // 211 would be an orchard (三调 201-299) by code; by name it is arable land.
        assert_eq!(colour_of(table.get(0)), yellow);
        assert_eq!(colour_of(table.get(1)), [41, 182, 246]);
    }

    #[test]
    fn the_bundled_table_colours_every_class_and_keeps_farmland_apart() {
        let t = ClassTable::parse(
            std::path::Path::new("landcover_classes.csv"),
            crate::synth::CLASS_TABLE,
        )
        .unwrap();
        assert!(t.classes().iter().all(|c| c.colour.is_some()));
        let c = |code: u32| colour_of(t.get(t.index_of(code).unwrap()));
        let dist = |a: Rgb, b: Rgb| {
            a.iter()
                .zip(&b)
                .map(|(x, y)| (*x as i32 - *y as i32).abs())
                .sum::<i32>()
        };
        assert!(
            dist(c(101), c(102)) >= 40 && dist(c(102), c(103)) >= 40 && dist(c(101), c(103)) >= 40
        );
    }

    #[test]
    fn the_bundled_fonts_draw_every_label_and_class_name() {
        for key in [
            "legend",
            "sources",
            "zone",
            "paths",
            "sites",
            "connectors",
            "redline",
            "pinch",
            "parks",
            "walk",
            "beyond",
            "landcover",
            "north",
            "cost",
            "carbon",
            "frontier",
            "plans",
        ] {
            for lang in [Lang::En, Lang::Zh] {
                let l = label(lang, key);
                assert!(
                    fonts_cover(l),
                    "{l:?} has characters the bundled fonts lack"
                );
            }
        }
        let table = ClassTable::parse(
            std::path::Path::new("models/landcover_classes.csv"),
            include_str!("../models/landcover_classes.csv"),
        )
        .unwrap();
        for c in table.classes() {
            assert!(
                fonts_cover(&c.name_zh) && fonts_cover(&c.name),
                "class {}: run scripts/font_subset.py",
                c.code
            );
        }
        assert!(fonts_cover("0123456789 km m .,()%-"));
    }

    #[test]
    fn text_and_lines_put_ink_where_expected() {
        let fonts = Fonts::load();
        let mut cv = Canvas::new(200, 60, WHITE);
        let w = cv.text(&fonts, 10.0, 40.0, 24.0, "生态 N", BLACK);
        assert!(w > 30.0, "advance {w}");
        let ink = |cv: &Canvas, x0: usize, x1: usize| {
            (0..cv.height)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|&(x, y)| cv.pixels[y * cv.width + x][0] < 128)
                .count()
        };
        assert!(ink(&cv, 10, 10 + w as usize) > 50);
        assert_eq!(ink(&cv, 150, 200), 0);
        let mut cv = Canvas::new(50, 50, WHITE);
        cv.line((5.0, 25.0), (45.0, 25.0), 3.0, BLACK);
        assert_eq!(cv.pixels[25 * 50 + 25], BLACK);
        assert_eq!(cv.pixels[10 * 50 + 25], WHITE);
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = nice_ticks(0.0, 237_507.0);
        assert_eq!(t[1] - t[0], 50_000.0);
    }
}
