//! `ecocorridor batch SCENARIO...`: many scenarios, each a separate `ecocorridor run` process
//! (so every run is exactly what a single run gives, with its own `run.json`), `--jobs` at a
//! time, and one `comparison.csv` of their summaries. `--shard i/n` takes every n-th scenario
//! starting at the i-th, for cluster array jobs.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use clap::Args;
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

pub(crate) fn run(a: &BatchArgs, threads: Option<usize>, quiet: bool) -> Result<ExitCode> {
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
    let bar = (!quiet).then(|| {
        let pb = indicatif::ProgressBar::new(chosen.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("batch [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template"),
        );
        pb
    });
    let rows: Vec<Row> = pool.install(|| {
        chosen
            .par_iter()
            .map(|(path, sc, dir)| {
                let row = run_one(&exe, path, sc, dir, a.force, per_run);
                if let Some(pb) = &bar {
                    pb.set_message(format!("{} (exit {})", sc.name, row.exit));
                    pb.inc(1);
                }
                row
            })
            .collect()
    });
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
    if !quiet {
        eprintln!(
            "{} scenario(s) run: {} done, {} without a feasible plan, {} failed; wrote `{}`",
            rows.len(),
            rows.len() - failed - infeasible,
            infeasible,
            failed,
            root.join(&name).display()
        );
        for r in rows.iter().filter(|r| r.exit == 2) {
            eprintln!("failed: {} ({}): {}", r.name, r.path.display(), r.message);
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

fn run_one(exe: &Path, path: &Path, sc: &Scenario, dir: &Path, force: bool, threads: usize) -> Row {
    let mut cmd = Command::new(exe);
    cmd.arg("run")
        .arg(path)
        .arg("--out")
        .arg(dir)
        .arg("--quiet")
        .arg("--threads")
        .arg(threads.to_string());
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
    let summary = (exit != 2)
        .then(|| read_summary(&dir.join("summary.csv")))
        .flatten();
    Row {
        name: sc.name.clone(),
        path: path.to_path_buf(),
        exit,
        message,
        summary,
    }
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
