//! Unit tests of the report tables: the summary row, its JSON round trip, the batch
//! comparison, the sweep table, the indices row and the Chinese column names.

use super::*;

fn sample(plan: bool) -> Summary {
    Summary {
        scenario: "s".into(),
        patches: 3,
        corridors: 2,
        candidate_sites: 10,
        candidate_connectors: 1,
        budget_yuan: plan.then_some(1e6),
        status: if plan {
            PlanStatus::Solved(crate::optimize::Status::Optimal)
        } else {
            PlanStatus::NoBudget
        },
        plan: plan.then_some(PlanFigures {
            spent_yuan: 999_000.0,
            sites_selected: 4,
            footbridges_selected: 0,
            area_restored_ha: 12.5,
            connectors_selected: 1,
            carbon_gain_tco2e: 321.0,
            objective: 0.5,
            bound: 0.5,
            gap: 0.0,
        }),
        now: Connectivity {
            iic: 0.01,
            pc: 0.02,
            eca_ha: 200.0,
        },
        with_plan: plan.then_some(Connectivity {
            iic: 0.01,
            pc: 0.025,
            eca_ha: 250.0,
        }),
        greedy_objective: plan.then_some(0.25),
        access_now: plan.then_some(AccessFigures {
            population: 1000.0,
            covered: 640.0,
            covered_pct: 64.0,
            threshold_min: 10.0,
        }),
        gap_tolerance: plan.then_some(1e-3),
        persons_gained_model: None,
        access_plan: plan.then_some(AccessFigures {
            population: 1000.0,
            covered: 655.0,
            covered_pct: 65.5,
            threshold_min: 10.0,
        }),
    }
}

#[test]
fn the_summary_row_has_every_column_and_the_derived_figures() {
    let s = sample(true);
    let t = s.table();
    assert_eq!(t.header.len(), t.rows[0].len());
    let get = |name: &str| t.rows[0][t.header.iter().position(|h| h == name).unwrap()].clone();
    assert_eq!(get("eca_gain_ha"), "50.0000");
    assert_eq!(get("eca_gain_pct"), "25.0000");
    assert_eq!(get("milp_greedy_ratio"), "2.0000");
    assert_eq!(get("status"), "optimal");
    assert_eq!(get("pc_plan"), "2.500000e-2");
    let none = sample(false).table();
    let get =
        |name: &str| none.rows[0][none.header.iter().position(|h| h == name).unwrap()].clone();
    assert_eq!(get("status"), "no budget given");
    assert_eq!(get("eca_plan_ha"), "");
    assert_eq!(get("eca_now_ha"), "200.0000");
}

#[test]
fn the_summary_survives_json_as_batch_reads_it() {
    for plan in [true, false] {
        let s = sample(plan);
        let text = serde_json::to_string(&s).unwrap();
        let back: Summary = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
    }
}

/// Every column of `t` has a Chinese name.
fn all_translated(t: &Table) {
    let zh = to_chinese(t);
    for (en, z) in t.header.iter().zip(&zh.header) {
        assert_ne!(en, z, "column `{en}` has no Chinese name in ZH_COLUMNS");
    }
    assert_eq!(zh.rows, t.rows);
}

fn network_result(iic: f64, pc: f64, eca_ha: f64) -> crate::network::NetworkResult {
    crate::network::NetworkResult {
        indices: crate::network::Indices {
            iic,
            pc,
            eca_ha,
            pc_num: eca_ha * eca_ha,
            iic_num: 0.0,
        },
        nodes: Vec::new(),
        links: Vec::new(),
        gravity: None,
    }
}

#[test]
fn the_indices_row_carries_its_parameters() {
    let t = indices(
        &network_result(0.0401, 0.0625, 1234.56789),
        5000.0,
        750.0,
        3,
        2,
    );
    assert_eq!(
        t.header,
        [
            "iic",
            "pc",
            "eca_ha",
            "landscape_area_ha",
            "d50",
            "patches",
            "links"
        ]
    );
    assert_eq!(
        t.rows,
        [[
            "4.010000e-2",
            "6.250000e-2",
            "1234.5679",
            "5000.0000",
            "750.000",
            "3",
            "2"
        ]]
    );
    all_translated(&t);
}

fn plan(sites: Vec<bool>, spent_yuan: f64) -> Plan {
    Plan {
        status: crate::optimize::Status::Optimal,
        objective: 1.5,
        bound: 1.5,
        gap: 0.0,
        sites,
        connectors: vec![true],
        spent_yuan,
        carbon_tco2e: 10.0,
        benefit: 0.5,
        access_persons: 0.0,
    }
}

#[test]
fn the_sweep_table_fills_failed_points_and_adds_the_measured_eca() {
    let points = [
        SweepPoint {
            budget_yuan: 1e6,
            w_carbon: 1.0,
            w_benefit: 0.0,
            carbon_min: None,
        },
        SweepPoint {
            budget_yuan: 1e6,
            w_carbon: 0.0,
            w_benefit: 1.0,
            carbon_min: Some(5.0),
        },
    ];
    let results = vec![
        Ok(plan(vec![true, false], 5e5)),
        Err(crate::optimize::OptimizeError::Infeasible(
            "too little money".into(),
        )),
    ];
    let t = pareto(
        &points,
        &results,
        (Some(&[Some(321.5), None]), Some(&[Some(64.25), None])),
    );
    assert_eq!(t.header.last().map(String::as_str), Some("access_plan_pct"));
    for row in &t.rows {
        assert_eq!(row.len(), t.header.len());
    }
    let col = |name: &str| t.header.iter().position(|h| h == name).unwrap();
    assert_eq!(t.rows[0][col("status")], "optimal");
    assert_eq!(t.rows[0][col("sites_selected")], "1");
    assert_eq!(t.rows[0][col("pareto")], "1");
    assert_eq!(t.rows[0][col("eca_plan_ha")], "321.5000");
    assert_eq!(t.rows[0][col("access_plan_pct")], "64.25");
    assert_eq!(t.rows[1][col("status")], "infeasible");
    assert_eq!(t.rows[1][col("carbon_min_tco2e")], "5.000");
    assert_eq!(t.rows[1][col("spent_yuan")], "");
    assert_eq!(t.rows[1][col("eca_plan_ha")], "");
    all_translated(&t);
    // Without measurements the column is absent, not empty.
    let t = pareto(&points, &results, (None, None));
    assert!(!t
        .header
        .iter()
        .any(|h| h == "eca_plan_ha" || h == "access_plan_pct"));
    assert!(t.rows.iter().all(|r| r.len() == t.header.len()));
}

#[test]
fn the_comparison_pads_scenarios_without_a_summary() {
    let rows = [
        BatchRow {
            name: "refused".into(),
            path: "a.toml".into(),
            exit: 2,
            message: "output folder holds results".into(),
            summary: None,
            ran: false,
        },
        BatchRow {
            name: "s".into(),
            path: "b.toml".into(),
            exit: 0,
            message: String::new(),
            summary: Some(sample(true)),
            ran: true,
        },
    ];
    let t = comparison(&rows);
    let summary = sample(true).table();
    assert_eq!(t.header[..3], ["scenario_file", "exit_code", "message"]);
    assert_eq!(t.header[3..], summary.header[..]);
    assert_eq!(
        t.rows[0][..4],
        ["a.toml", "2", "output folder holds results", "refused"]
    );
    assert!(t.rows[0][4..].iter().all(String::is_empty));
    assert_eq!(t.rows[1][3..], summary.rows[0][..]);
    all_translated(&t);
    // Nothing ran at all: the scenario name is the only summary column.
    let t = comparison(&rows[..1]);
    assert_eq!(
        t.header,
        ["scenario_file", "exit_code", "message", "scenario"]
    );
}

#[test]
fn every_summary_column_has_a_chinese_name() {
    all_translated(&sample(true).table());
    all_translated(&sample(false).table());
}

#[test]
fn the_access_table_has_a_row_per_district_then_the_study_area_all_translated() {
    let row = |area: &str, pop: f64, cov: f64| crate::access::AccessRow {
        area: area.into(),
        population: pop,
        covered: cov,
        covered_pct: 100.0 * cov / pop,
        park_area_ha: 1.5,
        park_m2_per_person: 15_000.0 / pop,
        mean_walk_min: 7.25,
        unreached: 0.0,
    };
    let a = crate::access::Access {
        minutes: vec![],
        parks: crate::access::Parks {
            ids: crate::raster::Sparse::default(),
            areas_ha: vec![1.5],
        },
        rows: vec![row("西区", 100.0, 64.0), row("study area", 100.0, 64.0)],
        threshold_min: 10.0,
    };
    let t = access_table(&a.table(), None);
    assert_eq!(t.rows.len(), 2);
    assert_eq!(
        t.rows[0],
        ["西区", "100.0", "64.0", "64.00", "1.5000", "150.00", "7.25", "0.0"]
    );
    all_translated(&t);
    let mut plan = a.clone();
    plan.rows[0] = row("西区", 100.0, 70.0);
    let t = access_table(&a.table(), Some(&plan.into_rows()));
    assert_eq!(&t.rows[0][8..], ["70.0", "70.00", "7.25"]);
    assert_eq!(t.rows[1].len(), t.header.len());
    all_translated(&t);
    let s = sample(true).table();
    let col = |name: &str| s.header.iter().position(|h| h == name).unwrap();
    assert_eq!(s.rows[0][col("access_now_pct")], "64.00");
    assert_eq!(s.rows[0][col("gap_tolerance")], "0.001000");
    assert_eq!(s.rows[0][col("access_plan_pct")], "65.50");
    assert_eq!(s.rows[0][col("persons_gained")], "15.0");
}
