//! `ecocorridor batch SCENARIO...`: many scenarios and one `comparison.csv` of their
//! summaries. Scenarios whose stages up to the candidates are the same (same inputs and
//! options before `[optimize]`: typically budget or weight variants) run in one
//! `ecocorridor run` process that computes those stages once; other groups run in separate
//! processes, `--jobs` at a time, so every scenario's outputs are exactly what a single run
//! gives. `--shard i/n` takes every n-th scenario starting at the i-th, for cluster array
//! jobs.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context as _, Result};
use clap::Args;
use ecocorridor::app::Context;
use ecocorridor::io::table::Table;
use ecocorridor::scenario::Scenario;
use rayon::prelude::*;

use super::write_table;

#[derive(Args)]
pub(crate) struct BatchArgs {
    /// Scenario files (TOML), e.g. models/*.toml.
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
    /// Scenarios run at the same time (each gets an equal share of the threads). Default 1.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Run only slice i of n (1-based): scenarios i, i + n, i + 2n, ... of the list. For
    /// Slurm job arrays: --shard $((SLURM_ARRAY_TASK_ID + 1))/$SLURM_ARRAY_TASK_COUNT.
    #[arg(long)]
    shard: Option<String>,
    /// Root folder: each scenario writes to OUT/<name>/ and the comparison to
    /// OUT/comparison.csv. Default: each scenario's own output folder and outputs/.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace existing output folders (each only once its new run succeeded).
    #[arg(long)]
    force: bool,
}

fn parse_shard(text: &str) -> Result<(usize, usize)> {
    let bad = || anyhow::anyhow!("--shard `{text}`: write i/n with 1 <= i <= n, e.g. --shard 2/8");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// One scenario's result row for `comparison.csv`.
struct Row {
    name: String,
    path: PathBuf,
    exit: i32,
    message: String,
    summary: Option<Table>,
}

pub(crate) fn run(a: &BatchArgs, threads: Option<usize>, ctx: &Context) -> Result<ExitCode> {
    if a.jobs == 0 {
        bail!("--jobs 0: give at least 1");
    }
    let (i, n) = match &a.shard {
        Some(s) => parse_shard(s)?,
        None => (1, 1),
    };
    // Read every scenario first: a typo fails the batch before any work, and two scenarios
    // writing to one folder are caught.
    let mut chosen: Vec<(PathBuf, Scenario, PathBuf)> = Vec::new();
    for (k, path) in a.scenarios.iter().enumerate() {
        let sc = Scenario::read(path)?;
        if k % n != i - 1 {
            continue;
        }
        let dir = match &a.out {
            Some(root) => root.join(&sc.name),
            None => sc.output_dir(None),
        };
        if let Some((other, _, _)) = chosen.iter().find(|(_, _, d)| *d == dir) {
            bail!(
                "scenarios `{}` and `{}` would both write to `{}`\n  hint: give them different `name`s",
                other.display(),
                path.display(),
                dir.display()
            );
        }
        chosen.push((path.clone(), sc, dir));
    }
    let total = threads.unwrap_or_else(rayon::current_num_threads).max(1);
    let per_run = (total / a.jobs).max(1);
    let exe = std::env::current_exe().context("cannot find the ecocorridor executable")?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.jobs)
        .build()
        .context("cannot set up the batch's worker pool")?;
    let bar = (!ctx.quiet).then(|| {
        let pb = indicatif::ProgressBar::new(chosen.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("batch [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template"),
        );
        pb
    });
    // Scenarios that differ only after the candidates (budget, weights, sweeps, output) share
    // one process that computes their stages once.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let keys: Vec<String> = chosen.iter().map(|(_, sc, _)| sc.stage_key()).collect();
    for k in 0..chosen.len() {
        match groups.iter_mut().find(|g| keys[g[0]] == keys[k]) {
            Some(g) => g.push(k),
            None => groups.push(vec![k]),
        }
    }
    let mut rows: Vec<(usize, Row)> = pool.install(|| {
        groups
            .par_iter()
            .flat_map_iter(|g| {
                let members: Vec<(&Path, &Scenario, &Path)> = g
                    .iter()
                    .map(|&k| (chosen[k].0.as_path(), &chosen[k].1, chosen[k].2.as_path()))
                    .collect();
                let rows = run_group(&exe, &members, a.force, per_run);
                if let Some(pb) = &bar {
                    pb.inc(rows.len() as u64);
                }
                g.iter().copied().zip(rows).collect::<Vec<_>>()
            })
            .collect()
    });
    rows.sort_by_key(|(k, _)| *k);
    let rows: Vec<Row> = rows.into_iter().map(|(_, r)| r).collect();
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    let table = comparison(&rows);
    let root = a.out.clone().unwrap_or_else(|| PathBuf::from("outputs"));
    std::fs::create_dir_all(&root)
        .with_context(|| format!("cannot create `{}`", root.display()))?;
    let name = if n == 1 {
        "comparison.csv".to_string()
    } else {
        format!("comparison-{i}-of-{n}.csv")
    };
    write_table(&root, &name, &table, true)?;
    let failed = rows.iter().filter(|r| r.exit == 2).count();
    let infeasible = rows.iter().filter(|r| r.exit == 1).count();
    if !ctx.quiet {
        say!(
            "{} scenario(s) run: {} done, {} without a feasible plan, {} failed; wrote `{}`",
            rows.len(),
            rows.len() - failed - infeasible,
            infeasible,
            failed,
            root.join(&name).display()
        );
        for r in rows.iter().filter(|r| r.exit == 2) {
            say!("failed: {} ({}): {}", r.name, r.path.display(), r.message);
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else if infeasible > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One `ecocorridor run` process for scenarios sharing their stages; a row per scenario.
fn run_group(
    exe: &Path,
    members: &[(&Path, &Scenario, &Path)],
    force: bool,
    threads: usize,
) -> Vec<Row> {
    let (path, _, dir) = members[0];
    let mut cmd = Command::new(exe);
    cmd.arg("run")
        .arg(path)
        .arg("--out")
        .arg(dir)
        .arg("--quiet")
        .arg("--threads")
        .arg(threads.to_string());
    for (p, _, d) in &members[1..] {
        cmd.arg("--also").arg(p).arg("--also-out").arg(d);
    }
    if force {
        cmd.arg("--force");
    }
    let (exit, message) = match cmd.output() {
        Ok(o) => (
            o.status.code().unwrap_or(2),
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
        ),
        Err(e) => (2, format!("cannot start ecocorridor: {e}")),
    };
    members
        .iter()
        .map(|(path, sc, dir)| {
            let summary = (exit != 2)
                .then(|| read_summary(&dir.join("summary.csv")))
                .flatten();
            let (exit, message) = match &summary {
                _ if exit == 2 => (2, message.clone()),
                None => (2, "no summary.csv was written".to_string()),
                Some(t) if status_of(t) == "infeasible" => (1, "no feasible plan".to_string()),
                Some(_) => (0, String::new()),
            };
            Row {
                name: sc.name.clone(),
                path: path.to_path_buf(),
                exit,
                message,
                summary,
            }
        })
        .collect()
}

fn status_of(t: &Table) -> &str {
    t.header
        .iter()
        .position(|h| h == "status")
        .and_then(|k| t.rows.first().map(|r| r[k].as_str()))
        .unwrap_or("")
}

fn read_summary(path: &Path) -> Option<Table> {
    let bytes = std::fs::read(path).ok()?;
    let text = ecocorridor::classes::decode_text(&bytes);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().ok()?.iter().map(str::to_string).collect();
    let rows = r
        .records()
        .filter_map(|x| x.ok())
        .map(|x| x.iter().map(str::to_string).collect())
        .collect();
    Some(Table { header, rows })
}

/// One row per scenario: file, exit code, message, then the summary's columns.
fn comparison(rows: &[Row]) -> Table {
    let header: Vec<String> = rows
        .iter()
        .find_map(|r| r.summary.as_ref().map(|t| t.header.clone()))
        .unwrap_or_else(|| vec!["scenario".into()]);
    let mut cols = vec![
        "scenario_file".to_string(),
        "exit_code".into(),
        "message".into(),
    ];
    cols.extend(header.iter().cloned());
    let mut t = Table {
        header: cols,
        rows: Vec::new(),
    };
    for r in rows {
        let mut row = vec![
            r.path.display().to_string(),
            r.exit.to_string(),
            r.message.clone(),
        ];
        match r
            .summary
            .as_ref()
            .and_then(|s| s.rows.first().map(|x| (s, x)))
        {
            Some((s, values)) => row.extend(header.iter().map(|h| {
                s.header
                    .iter()
                    .position(|x| x == h)
                    .map_or(String::new(), |k| values[k].clone())
            })),
            None => {
                row.push(r.name.clone());
                row.extend((1..header.len()).map(|_| String::new()));
            }
        }
        t.rows.push(row);
    }
    t
}
