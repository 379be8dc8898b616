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
use ecocorridor::app::run::read_summary;
use ecocorridor::app::Context;
use ecocorridor::report::{comparison, BatchRow as Row, PlanStatus};
use ecocorridor::scenario::Scenario;
use rayon::prelude::*;

use ecocorridor::map::Lang;
use ecocorridor::report::layers::write_table_in;

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
    /// Language of every run's column names and picture labels: en or zh (comparison.csv
    /// keeps the English names of the summary's columns).
    #[arg(long, value_enum, default_value = "en")]
    lang: super::run_cmd::LangArg,
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
    let keys: Vec<_> = chosen.iter().map(|(_, sc, _)| sc.stage_key()).collect();
    for k in 0..chosen.len() {
        match groups.iter_mut().find(|g| keys[g[0]] == keys[k]) {
            Some(g) => g.push(k),
            None => groups.push(vec![k]),
        }
    }
    // A scenario whose folder already holds results is refused on its own (without
    // --force); the others of its group still run.
    let refused = if a.force {
        Vec::new()
    } else {
        refuse_occupied(&chosen, &mut groups)
    };
    let mut rows: Vec<(usize, Row)> = pool.install(|| {
        groups
            .par_iter()
            .flat_map_iter(|g| {
                let members: Vec<(&Path, &Scenario, &Path)> = g
                    .iter()
                    .map(|&k| (chosen[k].0.as_path(), &chosen[k].1, chosen[k].2.as_path()))
                    .collect();
                let rows = run_group(&exe, &members, (a.force, a.lang), per_run);
                if let Some(pb) = &bar {
                    pb.inc(rows.len() as u64);
                }
                g.iter().copied().zip(rows).collect::<Vec<_>>()
            })
            .collect()
    });
    rows.extend(refused);
    rows.sort_by_key(|(k, _)| *k);
    let rows: Vec<Row> = rows.into_iter().map(|(_, r)| r).collect();
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    let root = a.out.clone().unwrap_or_else(|| PathBuf::from("outputs"));
    let name = if n == 1 {
        "comparison.csv".to_string()
    } else {
        format!("comparison-{i}-of-{n}.csv")
    };
    // Written (atomically) only when something ran: a batch refused as a whole keeps the
    // comparison of the runs that made the folders.
    let ran = rows.iter().any(|r| r.ran);
    if ran {
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create `{}`", root.display()))?;
        write_table_in(Lang::from(a.lang), &root, &name, &comparison(&rows), true)?;
    }
    let failed = rows.iter().filter(|r| r.exit == 2).count();
    let infeasible = rows.iter().filter(|r| r.exit == 1).count();
    if !ctx.quiet {
        let wrote = if ran {
            format!("wrote `{}`", root.join(&name).display())
        } else {
            format!(
                "nothing ran, `{}` left as it was",
                root.join(&name).display()
            )
        };
        say!(
            "{} scenario(s): {} done, {} without a feasible plan, {} failed; {wrote}",
            rows.len(),
            rows.len() - failed - infeasible,
            infeasible,
            failed,
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

/// Takes the scenarios whose output folder already holds results out of their groups (empty
/// groups dropped) and returns a row for each: refused, naming its own folder, with the
/// figures its earlier run left there.
fn refuse_occupied(
    chosen: &[(PathBuf, Scenario, PathBuf)],
    groups: &mut Vec<Vec<usize>>,
) -> Vec<(usize, Row)> {
    let mut refused = Vec::new();
    for g in groups.iter_mut() {
        g.retain(|&k| {
            let (path, sc, dir) = &chosen[k];
            let occupied = dir
                .read_dir()
                .map(|mut d| d.next().is_some())
                .unwrap_or(false);
            if occupied {
                refused.push((
                    k,
                    Row {
                        name: sc.name.clone(),
                        path: path.clone(),
                        exit: 2,
                        message: format!(
                            "output folder `{}` already holds results (kept; its figures are shown); pass --force to replace them once the new run succeeds",
                            dir.display()
                        ),
                        summary: read_summary(&dir.join("run.json")),
                        ran: false,
                    },
                ));
            }
            !occupied
        });
    }
    groups.retain(|g| !g.is_empty());
    refused
}

/// One `ecocorridor run` process for scenarios sharing their stages; a row per scenario.
fn run_group(
    exe: &Path,
    members: &[(&Path, &Scenario, &Path)],
    (force, lang): (bool, super::run_cmd::LangArg),
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
    if lang == super::run_cmd::LangArg::Zh {
        cmd.arg("--lang").arg("zh");
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
                .then(|| read_summary(&dir.join("run.json")))
                .flatten();
            let (exit, message) = match &summary {
                _ if exit == 2 => (2, message.clone()),
                None => (
                    2,
                    format!(
                        "`{}` is missing or has no summary; the run did not finish (run the scenario alone to see why)",
                        dir.join("run.json").display()
                    ),
                ),
                Some(s) if s.status == PlanStatus::Infeasible => {
                    (1, "no feasible plan".to_string())
                }
                Some(_) => (0, String::new()),
            };
            Row {
                name: sc.name.clone(),
                path: path.to_path_buf(),
                exit,
                message,
                summary,
                ran: true,
            }
        })
        .collect()
}
