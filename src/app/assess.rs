//! `assess`: two land covers of the same grid compared, the bureau's yearly check: class
//! transitions, carbon, and connectivity (the after year measured on the before year's
//! network when both have the same patches, as a plan is measured).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _, Result};

use super::pipeline::{load_landscape, patch_graph, run_to_corridors};
use super::Context;
use crate::classes::{ClassIdx, OUTSIDE};
use crate::io::load;
use crate::resistance::Resistance;
use crate::scenario::Scenario;
use crate::sources::Sources;
use crate::{carbon, corridors, landscape, network, settings};

/// One year of an assessment: its landscape, carbon totals and network indices (when sources
/// could be made).
pub struct Year {
    /// The year's landscape.
    pub land: landscape::Landscape,
    /// Carbon per class, zone, district and the study area.
    pub carbon: Vec<carbon::CarbonRow>,
    /// IIC, PC and ECA (None when no network could be made).
    pub indices: Option<network::Indices>,
    /// The year's network (resistance, sources, corridors with zone cells, patch graph,
    /// A_L, d50), when one could be made.
    pub network: Option<YearNetwork>,
}

/// A year's network.
pub struct YearNetwork {
    /// Resistance surface.
    pub res: Resistance,
    /// Sources.
    pub src: Sources,
    /// Corridors, zone cells kept.
    pub net: corridors::CorridorNetwork,
    /// Patch graph.
    pub graph: network::Graph,
    /// Landscape area, ha.
    pub al: f64,
    /// d50, cost units.
    pub d50: f64,
}

/// One year: its landscape (the scenario with `landcover` instead of its own), carbon and
/// network (a warning and no indices when no network can be made).
///
/// # Errors
/// A land cover that cannot be loaded.
pub fn year(scenario: &Scenario, landcover: &Path, ctx: &Context) -> Result<Year> {
    let mut sc = scenario.clone();
    sc.file.landscape.landcover = landcover.to_path_buf();
    let land = load_landscape(&sc, ctx)?;
    let carbon = carbon::summarize(&land);
    let built = (|| -> Result<(network::Indices, YearNetwork)> {
        let (res, src, net) = run_to_corridors(&sc, &land, &Context::silent(), true)?;
        let graph = patch_graph(&src, &net);
        let al = sc
            .file
            .network
            .landscape_area_ha
            .unwrap_or(land.study_cells() as f64 * land.grid.cell_area_ha());
        let d50 = sc.file.network.d50.ok_or_else(|| anyhow::anyhow!("[network] d50 is needed to compare indices between years (the default, the median corridor LCD, differs from year to year)"))?;
        let indices = network::analyse(&graph, al, d50, None)?.indices;
        Ok((
            indices,
            YearNetwork {
                res,
                src,
                net,
                graph,
                al,
                d50,
            },
        ))
    })();
    let (indices, network) = match built {
        Ok((i, n)) => (Some(i), Some(n)),
        Err(e) => {
            ctx.say(format_args!(
                "warning: no connectivity indices for `{}`: {e:#}",
                landcover.display()
            ));
            (None, None)
        }
    };
    Ok(Year {
        land,
        carbon,
        indices,
        network,
    })
}

/// The after year's indices measured on the before year's network when both years have the
/// same patches (given sources): the same pairs, LCDs re-measured on the after surface, as a
/// plan is measured (`crate::measure`). None when the patches differ.
fn after_on_before_network(
    scenario: &Scenario,
    y0: &Year,
    y1: &Year,
) -> Result<Option<network::Indices>> {
    let (Some(a), Some(b)) = (&y0.network, &y1.network) else {
        return Ok(None);
    };
    if a.src.ids != b.src.ids || a.al != b.al {
        return Ok(None);
    }
    let (r0, r1) = (a.res.values(), b.res.values());
    let mut changes = crate::measure::Changes::default();
    for (i, (&x, &y)) in r0.iter().zip(r1).enumerate() {
        if x.to_bits() != y.to_bits() && !(x.is_nan() && y.is_nan()) {
            changes.cells.push(i as u32);
            changes.now.push(x);
            changes.plan.push(y);
        }
    }
    let opts = crate::measure::MeasureOptions {
        corridors: settings::corridor_options(scenario),
        d50: a.d50,
        landscape_area_ha: a.al,
        full: false,
    };
    // Measured on a copy of the before surface (the years are borrowed).
    let m = crate::measure::measure(
        &y0.land.grid,
        &mut a.res.clone(),
        &changes,
        &a.src,
        &a.net,
        &a.graph,
        &opts,
    )
    .with_context(|| {
        format!(
            "scenario `{}`: measuring the after year",
            scenario.path.display()
        )
    })?;
    Ok(Some(m.indices))
}

/// Two years compared.
pub struct Assessment {
    /// The before year.
    pub before: Year,
    /// The after year (its indices measured on the before year's network when the patches
    /// are the same).
    pub after: Year,
    /// Cells per (before class, after class), both inside the study area.
    pub transitions: BTreeMap<(ClassIdx, ClassIdx), u64>,
    /// Cells inside the study area in one year only.
    pub edge_changed: u64,
}

/// Compares two land covers of the same grid under a scenario.
///
/// # Errors
/// A land cover that cannot be loaded, two grids that differ, a failed measurement.
pub fn assess(
    scenario: &Scenario,
    before: &Path,
    after: &Path,
    ctx: &Context,
) -> Result<Assessment> {
    let y0 = ctx.stage("before", || year(scenario, before, ctx))?;
    let mut y1 = ctx.stage("after", || year(scenario, after, ctx))?;
    if !y0.land.grid.aligned_with(&y1.land.grid) {
        bail!(
            "{}",
            load::grid_mismatch_message(before, &y0.land.grid, after, &y1.land.grid)
        );
    }
    // Same patches in both years: the after year is measured on the before year's network,
    // as `run` measures a plan, so the two agree.
    if let Some(i) = after_on_before_network(scenario, &y0, &y1)? {
        y1.indices = Some(i);
    }
    let mut transitions: BTreeMap<(ClassIdx, ClassIdx), u64> = BTreeMap::new();
    let mut edge_changed = 0u64;
    for (&a, &b) in y0.land.landcover.iter().zip(&y1.land.landcover) {
        match (a == OUTSIDE, b == OUTSIDE) {
            (false, false) => *transitions.entry((a, b)).or_default() += 1,
            (true, true) => {}
            _ => edge_changed += 1,
        }
    }
    Ok(Assessment {
        before: y0,
        after: y1,
        transitions,
        edge_changed,
    })
}
