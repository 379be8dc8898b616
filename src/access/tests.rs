use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::*;
use crate::classes::ClassTable;
use crate::grid::{Crs, Grid};
use crate::landscape::Districts;

/// Classes: `P` park (walk 1), `s` street (1; 111.1 residents/ha: 10 per cell of 30 m),
/// `f` field (3), `H` highway (barrier), `w` water (barrier), ` ` outside.
fn land(pic: &[&str]) -> Landscape {
    let table = ClassTable::parse(
        std::path::Path::new("t.csv"),
        "code,name,resistance,habitat,c_above,c_below,c_soil,c_dead,park,walk_factor,persons_per_ha\n\
         810,park,60,0,1,1,1,1,1,1,0\n\
         1004,street,500,0,0,0,0,0,0,1,111.11111111111111\n\
         103,field,100,0,1,1,1,1,0,3,0\n\
         1003,highway,900,0,0,0,0,0,0,barrier,0\n\
         1101,water,1000,0,0,0,0,0,0,barrier,0\n",
    )
    .unwrap();
    let (rows, cols) = (pic.len(), pic[0].len());
    let landcover = pic
        .concat()
        .bytes()
        .map(|b| match b {
            b'P' => 0,
            b's' => 1,
            b'f' => 2,
            b'H' => 3,
            b'w' => 4,
            _ => OUTSIDE,
        })
        .collect();
    let grid = Grid::new(
        rows as u64,
        cols as u64,
        30.0,
        0.0,
        rows as f64 * 30.0,
        Crs::projected_epsg(4545),
    )
    .unwrap();
    Landscape {
        grid,
        classes: table,
        landcover,
        zones: vec![],
        zone_bits: vec![0; rows * cols],
        districts: None,
        factors: vec![],
        access: None,
    }
}

fn opts(min_park_ha: f64) -> AccessOptions {
    AccessOptions {
        min_park_ha,
        ..AccessOptions::default()
    }
}

#[test]
fn a_strip_town_by_hand() {
    // A park cell at the west end of a 40-cell street; 4.8 km/h = 80 m/min, so each 30 m step
    // takes 0.375 min and the house k cells away walks 0.375 k min: houses 1..=26 are within
    // 10 min (26 x 0.375 = 9.75), 27 (10.125) is not.
    let pic = format!("P{}", "s".repeat(40));
    let l = land(&[pic.as_str()]);
    let pop = population_from_classes(&l);
    assert!(
        (pop.get(1) - 10.0).abs() < 1e-4,
        "111.1/ha x 0.09 ha = 10 persons: {}",
        pop.get(1)
    );
    let a = measure(&l, &pop, None, &opts(0.0)).unwrap();
    for k in 1..=40 {
        assert!(
            (a.minutes[k] as f64 - 0.375 * k as f64).abs() < 1e-4,
            "house {k}: {}",
            a.minutes[k]
        );
    }
    let t = a.total();
    assert_eq!(t.population.round(), 400.0);
    assert!((t.covered - 260.0).abs() < 1e-3, "{t:?}");
    assert!((t.covered_pct - 65.0).abs() < 1e-3);
    assert!((t.park_area_ha - 0.09).abs() < 1e-9);
    assert!((t.park_m2_per_person - 900.0 / 400.0).abs() < 1e-3);
    // Mean of 0.375 k over k = 1..40: 0.375 x 20.5.
    assert!((t.mean_walk_min - 0.375 * 20.5).abs() < 1e-4);
    assert_eq!(t.unreached, 0.0);
}

#[test]
fn streets_cross_narrow_barriers_and_not_wide_ones() {
    // A two-cell highway (60 m) across the street is crossed; a three-cell river (90 m) is not.
    let l = land(&["PsHHs", "PswwwsH"[..5].as_ref()]);
    let w = walk_impedance(&l, &l.landcover, 4.8);
    let street = (60.0 / 4800.0) as f32;
    assert_eq!((w[2], w[3]), (street, street), "the highway is crossed");
    let l = land(&["PswwwsP"]);
    let w = walk_impedance(&l, &l.landcover, 4.8);
    assert!(w[2..5].iter().all(|v| *v == f32::INFINITY), "{w:?}");
    // A highway beside the street (no street on its far side) stays a barrier.
    let l = land(&["sHH"]);
    assert!(walk_impedance(&l, &l.landcover, 4.8)[1..]
        .iter()
        .all(|v| v.is_infinite()));
}

#[test]
fn parks_below_the_minimum_do_not_count_and_none_at_all_is_an_error() {
    // Two parks: 2 cells (0.18 ha) and 5 cells (0.45 ha); min 0.4 ha keeps the second.
    let l = land(&["PPsssPPPPP"]);
    let p = parks(&l, &l.landcover, None, 0.4).unwrap();
    assert_eq!(p.areas_ha.len(), 1);
    let ids: Vec<(usize, u32)> = p.ids.entries().collect();
    assert_eq!(ids, vec![(5, 1), (6, 1), (7, 1), (8, 1), (9, 1)]);
    assert_eq!(p.ids.len(), 10);
    let e = parks(&l, &l.landcover, None, 1.0).unwrap_err().to_string();
    assert!(
        e.contains("min_park_ha = 1") && e.contains("0.45 ha"),
        "{e}"
    );
    let none = land(&["sss"]);
    assert_eq!(
        parks(&none, &none.landcover, None, 0.0),
        Err(AccessError::NoPark)
    );
    // A park layer adds parks.
    let extra = [false, true, false];
    assert_eq!(
        parks(&none, &none.landcover, Some(&extra), 0.0)
            .unwrap()
            .ids
            .entries()
            .collect::<Vec<_>>(),
        vec![(1, 1)]
    );
    let e = check(&AccessOptions {
        threshold_min: 0.0,
        ..AccessOptions::default()
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("threshold_min = 0"), "{e}");
}

#[test]
fn population_is_conserved_across_districts_and_unreached_people_count() {
    // Water down column 3 cuts off column 4 (fields: no street, so no crossing).
    let mut l = land(&["Psswf", "ssfwf", "ssswf"]);
    // Districts: west (cols 0-2), east (cols 3-4).
    l.districts = Some(Districts {
        names: vec!["西区".into(), "东区".into()],
        ids: (0..15).map(|i| if i % 5 < 3 { 1 } else { 2 }).collect(),
    });
    let pop: Vec<f32> = (0..15).map(|i| i as f32 * 1.5).collect();
    let held = crate::raster::SparseF32::from_dense_where(&pop, |v| v > 0.0);
    let a = measure(&l, &held, None, &opts(0.0)).unwrap();
    let sum: f64 = a.rows[..2].iter().map(|r| r.population).sum();
    let raster: f64 = pop.iter().map(|&p| p as f64).sum();
    assert!((sum - raster).abs() < 1e-9 && (a.total().population - raster).abs() < 1e-9);
    // Cells 4, 9 and 14 (east of the water) cannot be reached: 6 + 13.5 + 21 persons; nor
    // can the people a raster puts on the water (cells 3, 8, 13: 4.5 + 12 + 19.5).
    assert!([3, 4, 8, 9, 13, 14]
        .iter()
        .all(|&i| a.minutes[i].is_infinite()));
    assert!((a.total().unreached - (6.0 + 13.5 + 21.0 + 4.5 + 12.0 + 19.5)).abs() < 1e-9);
    assert_eq!(a.rows[1].area, "东区");
}

/// An independent Dijkstra on the walking impedance: f64, a plain binary heap, the
/// 8-neighbour move rule with diagonals d x sqrt 2 and corner cutting allowed.
fn dijkstra(rows: usize, cols: usize, cs: f64, w: &[f32], seeds: &[usize]) -> Vec<f64> {
    let mut dist = vec![f64::INFINITY; w.len()];
    let mut heap = BinaryHeap::new();
    for &s in seeds {
        if w[s].is_finite() {
            dist[s] = 0.0;
            heap.push(Reverse((0u64, s)));
        }
    }
    let key = |d: f64| (d * 1e9) as u64;
    while let Some(Reverse((_, c))) = heap.pop() {
        let (r, col) = ((c / cols) as i64, (c % cols) as i64);
        for dr in -1..=1i64 {
            for dc in -1..=1i64 {
                if dr == 0 && dc == 0 {
                    continue;
                }
                let (nr, nc) = (r + dr, col + dc);
                if nr < 0 || nc < 0 || nr >= rows as i64 || nc >= cols as i64 {
                    continue;
                }
                let n = nr as usize * cols + nc as usize;
                if !w[n].is_finite() {
                    continue;
                }
                let d = if dr != 0 && dc != 0 {
                    cs * 2f64.sqrt()
                } else {
                    cs
                };
                let nd = dist[c] + d * (w[c] as f64 + w[n] as f64) / 2.0;
                if nd < dist[n] {
                    dist[n] = nd;
                    heap.push(Reverse((key(nd), n)));
                }
            }
        }
    }
    dist
}

#[test]
fn walking_time_equals_an_independent_dijkstra_on_random_grids() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    let mut checked = 0;
    for case in 0..30 {
        let (rows, cols) = (3 + next(12) as usize, 3 + next(12) as usize);
        let pic: Vec<String> = (0..rows)
            .map(|_| {
                (0..cols)
                    .map(|_| match next(20) {
                        0 => 'P',
                        1..=9 => 's',
                        10..=14 => 'f',
                        15..=16 => 'H',
                        17..=18 => 'w',
                        _ => ' ',
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<&str> = pic.iter().map(String::as_str).collect();
        let l = land(&refs);
        let Ok(p) = parks(&l, &l.landcover, None, 0.0) else {
            continue;
        };
        let w = walk_impedance(&l, &l.landcover, 4.8);
        let seeds: Vec<usize> = p.ids.entries().map(|(i, _)| i).collect();
        let expect = dijkstra(rows, cols, 30.0, &w, &seeds);
        let got = walk_minutes(&l, w.clone(), &p).unwrap();
        checked += 1;
        for i in 0..w.len() {
            if w[i].is_nan() {
                assert!(got[i].is_nan(), "case {case} cell {i}: outside");
            } else if expect[i].is_infinite() {
                assert!(got[i].is_infinite(), "case {case} cell {i}: {}", got[i]);
            } else {
                assert!(
                    (got[i] as f64 - expect[i]).abs() <= 1e-5 * expect[i].max(1.0),
                    "case {case} cell {i}: {} vs {}\n{}",
                    got[i],
                    expect[i],
                    pic.join("\n")
                );
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} of 30 random grids had a park"
    );
}

#[test]
fn an_impedance_that_is_not_a_resistance_is_an_error_not_a_panic() {
    let l = land(&["Pss"]);
    let p = parks(&l, &l.landcover, None, 0.0).unwrap();
    let e = walk_minutes(&l, vec![0.0125, 0.0, 0.0125], &p).unwrap_err();
    assert_eq!(
        e,
        AccessError::Impedance {
            cell: 1,
            value: 0.0
        }
    );
    assert!(e.to_string().contains("walk_factor"), "{e}");
}

#[test]
fn coverage_groups_of_a_strip_town_by_hand() {
    // The strip town: houses 27..=40 (10 persons each) are beyond the 10-minute walk (26
    // cells). Blocks of 90 m = 3 cells: 27-29, 30-32, 33-35, 36-38, 39-40.
    let pic = format!("P{}", "s".repeat(40));
    let l = land(&[pic.as_str()]);
    let pop = population_from_classes(&l);
    let o = AccessOptions {
        block_m: 90.0,
        ..opts(0.0)
    };
    let now = measure(&l, &pop, None, &o).unwrap();
    // Sites (one cell each) at 40 and 20 reach every house beyond; at 1 only house 27 (a
    // third of its block: not covered); at 3 houses up to 29 (the whole first block).
    let sites: [&[u32]; 4] = [&[40], &[20], &[1], &[3]];
    let groups = coverage_groups(&l, &now.beyond(&pop), &sites, &o).unwrap();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(groups[0].1, vec![0, 1]);
    assert!((groups[0].0 - 110.0).abs() < 1e-3, "{groups:?}");
    assert_eq!(groups[1].1, vec![0, 1, 3]);
    assert!((groups[1].0 - 30.0).abs() < 1e-3, "{groups:?}");
    // The residents of the groups are those beyond the walk (140 of 400).
    let beyond: f64 = groups.iter().map(|g| g.0).sum();
    assert!((beyond - (now.total().population - now.total().covered)).abs() < 1e-3);
}

#[test]
fn a_footbridge_over_a_river_brings_the_far_bank_within_the_walk() {
    // Park at column 0, street to column 10, a 4-cell river (120 m: wider than a street
    // crosses), street from column 15 to 45. Walking 0.375 min per 30-m cell.
    let pic = format!("P{}{}{}", "s".repeat(10), "w".repeat(4), "s".repeat(31));
    // The same strip as a column, for the column scan.
    let column: Vec<String> = pic.chars().map(|c| c.to_string()).collect();
    let column: Vec<&str> = column.iter().map(String::as_str).collect();
    for (l, step) in [(land(&[pic.as_str()]), 1usize), (land(&column), 1)] {
        let pop = population_from_classes(&l);
        let o = AccessOptions {
            block_m: 30.0,
            ..opts(0.0)
        };
        let now = measure(&l, &pop, None, &o).unwrap();
        let bridges = footbridges(&l, &now.minutes, &o, 150.0);
        assert_eq!(bridges.len(), 1, "{bridges:?}");
        let b = &bridges[0];
        let at = |c: usize| (c * step) as u32;
        assert_eq!(b.cells, vec![at(11), at(12), at(13), at(14)]);
        assert_eq!(b.ends, (at(10), at(15)));
        assert!((b.length_m - 120.0).abs() < 1e-9);
        // 10 cells to the near landing, then 5 steps over the bridge to the far one.
        assert!(
            (b.far_minutes - 15.0 * 0.375).abs() < 1e-5,
            "{}",
            b.far_minutes
        );
        assert!(
            footbridges(&l, &now.minutes, &o, 90.0).is_empty(),
            "a 120-m river, 90-m bridges"
        );
        // Reach from the far landing: columns 15 to 26 (26 x 0.375 = 9.75 min), 10 residents
        // each.
        let r = reach(&l, &now.beyond(&pop), &[(&[b.ends.1], b.far_minutes)], &o).unwrap();
        assert!((r.persons(0) - 120.0).abs() < 1e-3, "{}", r.persons(0));
        // Measured with the bridge built (its cells made street): the same 120 residents.
        let mut built = l.landcover.clone();
        for &c in &b.cells {
            built[c as usize] = 1;
        }
        let after = measure_on(&l, &built, &pop, None, &o).unwrap();
        // The same on a land cover handed over (released before the walking run).
        let owned = measure_with(&l, built.clone(), &pop, None, &[], &o).unwrap();
        assert_eq!(format!("{owned:?}"), format!("{after:?}"));
        let gained = after.total().covered - now.total().covered;
        assert!((gained - r.persons(0)).abs() < 1e-3, "{gained}");
        assert!((after.minutes[b.ends.1 as usize] as f64 - b.far_minutes).abs() < 1e-4);
    }
    // A bridge that would not bring its far landing within the walk is no candidate: the
    // river 25 cells from the park (9.375 min), the far landing at 30 x 0.375 = 11.25 min.
    let far = format!("P{}{}{}", "s".repeat(25), "w".repeat(4), "s".repeat(10));
    let l = land(&[far.as_str()]);
    let pop = population_from_classes(&l);
    let now = measure(&l, &pop, None, &opts(0.0)).unwrap();
    assert!(footbridges(&l, &now.minutes, &opts(0.0), 150.0).is_empty());
}

#[test]
fn reach_from_a_later_start_is_the_rest_of_the_walk() {
    // Starting late from house 40 of the strip town leaves the rest of the ten minutes.
    let pic = format!("P{}", "s".repeat(40));
    let l = land(&[pic.as_str()]);
    let pop = population_from_classes(&l);
    let o = AccessOptions {
        block_m: 30.0,
        ..opts(0.0)
    };
    let now = measure(&l, &pop, None, &o).unwrap();
    // Beyond the walk now: houses 27..=40. Starting 3 min late leaves 7 min: back to house 22
    // (18 x 0.375 = 6.75 min), so all 14; 6 min late leaves 4: back to house 30 (10 cells).
    let late = reach(&l, &now.beyond(&pop), &[(&[40], 3.0), (&[40], 6.0)], &o).unwrap();
    assert_eq!(late.covered[0], (27..=40).collect::<Vec<usize>>());
    assert!(
        (late.persons(0) - 140.0).abs() < 1e-3,
        "{}",
        late.persons(0)
    );
    assert_eq!(late.covered[1], (30..=40).collect::<Vec<usize>>());
    assert!(
        (late.persons(1) - 110.0).abs() < 1e-3,
        "{}",
        late.persons(1)
    );
    assert!(reach(&l, &now.beyond(&pop), &[(&[40], 10.5)], &o)
        .unwrap()
        .covered[0]
        .is_empty());
}

#[test]
fn footbridges_are_measured_as_an_independent_dijkstra_over_the_built_bridge() {
    // Random towns split by a river band 3-5 cells wide (wider than a street crosses), parks
    // on the left bank: every footbridge candidate, built, gives the walking times of an
    // independent Dijkstra over the impedance with its cells at street speed, and its far
    // landing no later than the candidate says.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    let mut bridges_checked = 0;
    for case in 0..25 {
        let (rows, cols) = (4 + next(8) as usize, 14 + next(10) as usize);
        let (r0, width) = (3 + next(4) as usize, 3 + next(3) as usize);
        let pic: Vec<String> = (0..rows)
            .map(|_| {
                (0..cols)
                    .map(|c| match c {
                        0 => 'P',
                        c if c >= r0 && c < r0 + width => 'w',
                        _ => match next(10) {
                            0..=6 => 's',
                            7 => 'f',
                            8 => 'H',
                            _ => 's',
                        },
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<&str> = pic.iter().map(String::as_str).collect();
        let l = land(&refs);
        let pop = population_from_classes(&l);
        let o = opts(0.0);
        let now = measure(&l, &pop, None, &o).unwrap();
        let street = (60.0 / 4800.0) as f32;
        for b in footbridges(&l, &now.minutes, &o, 150.0) {
            let built = measure_with(&l, &l.landcover, &pop, None, &b.cells, &o).unwrap();
            let mut w = walk_impedance(&l, &l.landcover, 4.8);
            for &c in &b.cells {
                w[c as usize] = street;
            }
            let seeds: Vec<usize> = now.parks.ids.entries().map(|(i, _)| i).collect();
            let expect = dijkstra(rows, cols, 30.0, &w, &seeds);
            for (i, &want) in expect.iter().enumerate() {
                let got = built.minutes[i] as f64;
                if want.is_infinite() {
                    assert!(got.is_infinite(), "case {case} cell {i}: {got}");
                } else {
                    assert!(
                        (got - want).abs() <= 1e-5 * want.max(1.0),
                        "case {case} cell {i}: {got} vs {want}\n{}",
                        pic.join("\n")
                    );
                }
            }
            let far = built.minutes[b.ends.1 as usize] as f64;
            assert!(
                far <= b.far_minutes + 1e-4,
                "case {case}: {far} > {}",
                b.far_minutes
            );
            assert!(built.total().covered >= now.total().covered);
            bridges_checked += 1;
        }
    }
    assert!(bridges_checked >= 20, "only {bridges_checked} footbridges");
}
