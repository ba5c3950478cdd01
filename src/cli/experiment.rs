//! The experiment commands: `compare`, `sweep`, `sensitivity`, `outcomes`
//! and `data`. Each parses its arguments, calls the library
//! ([`armsim::experiment`], [`armsim::experiment::report`], [`armsim::data`])
//! and prints what came out. A campaign's lifecycle (directories,
//! checkpoints, shards) is the library's, as a comparison's is
//! ([`armsim::experiment::comparing`]).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};

use armsim::experiment::campaign::{
    Campaign, CampaignFinished, CampaignKind, CampaignRunner, CampaignSpec, CampaignWritten,
};
use armsim::experiment::comparing::{CompareDone, CompareFinished, CompareRunner};
use armsim::experiment::config;
use armsim::experiment::outcome::Outcome;
use armsim::experiment::sensitivity::{MorrisIndices, SobolIndices};
use armsim::experiment::sweep::{Indices, Layout};
use armsim::metrics::{MetricId, Scope};
use armsim::output;
use armsim::runner::Shard;
use armsim::scenario::{self, Loaded};

use super::{
    CheckpointArgs, Interrupts, ScenarioArgs, command_line, load, parse_shard, parse_threads,
    plural, progress_bar,
};

#[derive(Args)]
pub(super) struct CompareArgs {
    /// Scenario A (TOML); without one, the built-in baseline
    a: Option<PathBuf>,

    /// Scenario B; without one, B is A with the --set-b changes
    b: Option<PathBuf>,

    /// Change a value of A, and of B when B is A with changes. Repeatable
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,

    /// Change a value of B only, checked like --set. Repeatable;
    /// e.g. --set-b suppliers.Russia.support=0 --set-b suppliers.Russia.hold_support=true
    #[arg(long = "set-b", value_name = "PATH=VALUE")]
    set_b: Vec<String>,

    /// Pairs of runs (overrides A's run.runs)
    #[arg(long, value_name = "N", value_parser = super::parse_runs)]
    runs: Option<u64>,

    /// Master seed both draw from (overrides A's run.seed)
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    seed: Option<u64>,

    /// An outcome to compare at the horizon (repeatable; `armsim outcomes`
    /// lists them) [default: the scenario's [experiment] outcomes, or each
    /// supplier's rolling share and support at the end, the embargo and
    /// the compared pairs' first crossing]
    #[arg(long = "outcome", value_name = "OUTCOME")]
    outcomes: Vec<String>,

    /// Confidence level of the outcome table's intervals
    #[arg(long, value_name = "L", default_value = "0.9", value_parser = parse_level)]
    level: f64,

    /// Worker threads [default: all cores]
    #[arg(long, value_name = "T", default_value_t = 0, hide_default_value = true, value_parser = parse_threads)]
    threads: usize,

    /// Write into DIR [default: output/compare-A-vs-B/]; new, empty, or an earlier armsim output
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    #[command(flatten)]
    checkpoints: CheckpointArgs,

    /// Skip the plots
    #[arg(long)]
    no_plots: bool,

    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum SweepDesign {
    /// Every combination of each --vary's steps
    Grid,
    /// A Latin hypercube of --samples points over the --vary ranges
    Lhs,
}

#[derive(Args)]
pub(super) struct CampaignArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,

    /// Monte Carlo runs per design point (the points share their random
    /// numbers: run k of every point uses stream k)
    #[arg(long = "runs-per-point", value_name = "N", value_parser = super::parse_runs)]
    runs_per_point: Option<u64>,

    /// An outcome to measure (repeatable; `armsim outcomes` lists them)
    #[arg(long = "outcome", value_name = "OUTCOME")]
    outcomes: Vec<String>,

    /// Seed of the design (Latin hypercube, Sobol, Morris) [default: the run seed]
    #[arg(long, value_name = "S")]
    design_seed: Option<u64>,

    /// Worker threads [default: all cores]
    #[arg(long, value_name = "T", default_value_t = 0, hide_default_value = true, value_parser = parse_threads)]
    threads: usize,

    /// Write into DIR [default: output/<study>.<kind>-<parameters>/]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Run only shard I of N of the design points, for `armsim merge`
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<Shard>,

    #[command(flatten)]
    checkpoints: CheckpointArgs,

    /// Skip the plots
    #[arg(long)]
    no_plots: bool,

    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
pub(super) struct SweepArgs {
    /// A parameter and its range: PATH=FROM:TO:STEPS, PATH=FROM:TO (5 steps)
    /// or PATH (its documented range). Repeatable: a grid crosses them all
    #[arg(long = "vary", value_name = "PATH=FROM:TO:STEPS", required = true)]
    vary: Vec<String>,

    /// Points on a full grid, or a Latin hypercube
    #[arg(long, value_enum, default_value = "grid")]
    design: SweepDesign,

    /// Points of a Latin hypercube
    #[arg(long, value_name = "N", default_value_t = 50)]
    samples: usize,

    #[command(flatten)]
    campaign: CampaignArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Method {
    /// Variance-based first-order and total indices (Saltelli design)
    Sobol,
    /// Elementary effects for screening (Morris trajectories)
    Morris,
}

#[derive(Args)]
pub(super) struct SensitivityArgs {
    /// Sobol indices or Morris screening [default: the scenario's
    /// [sensitivity] method, or sobol]
    #[arg(long, value_enum)]
    method: Option<Method>,

    /// A parameter to rank, PATH or PATH=FROM:TO (repeatable) [default:
    /// the scenario's [sensitivity] parameters]
    #[arg(long = "param", value_name = "PATH[=FROM:TO]")]
    params: Vec<String>,

    /// Sobol base samples N (the design has N (parameters + 2) points); a power of two
    #[arg(long, value_name = "N")]
    samples: Option<usize>,

    /// Morris trajectories
    #[arg(long, value_name = "R")]
    trajectories: Option<usize>,

    /// Morris grid levels (even)
    #[arg(long, value_name = "P")]
    levels: Option<usize>,

    /// Bootstrap resamples of the indices' intervals
    #[arg(long, value_name = "B", default_value_t = 1000)]
    bootstrap: usize,

    /// Confidence level of the intervals
    #[arg(long, value_name = "L", default_value = "0.95", value_parser = parse_level)]
    level: f64,

    #[command(flatten)]
    campaign: CampaignArgs,
}

#[derive(Subcommand)]
pub(super) enum DataCommand {
    /// The installed base at the end of a year and the recent delivery rate,
    /// from SIPRI deliveries: the values a v2 scenario starts from
    InstalledBase(DataArgs),
    /// Each supplier group's share of deliveries over a window of years
    Shares(DataArgs),
}

#[derive(Args)]
pub(super) struct DataArgs {
    /// A SIPRI import series (data/*.csv)
    file: PathBuf,

    /// The recipient, for files with several (e.g. Thailand)
    #[arg(long)]
    recipient: Option<String>,

    /// A supplier group: NAME=SIPRI name[,SIPRI name...] (repeatable)
    /// [default: Russia=Russia,Soviet Union; China; India]
    #[arg(long = "group", value_name = "NAME=SUPPLIERS")]
    groups: Vec<String>,

    /// The group of every other supplier
    #[arg(long, default_value = "Others")]
    others: String,

    /// First year of deliveries counted (installed-base) or of the window (shares)
    #[arg(long, value_name = "YEAR", default_value_t = 1990)]
    from: i32,

    /// Last year, inclusive
    #[arg(long, value_name = "YEAR", default_value_t = 2020)]
    until: i32,

    /// Quarterly depreciation of installed stock (installed-base)
    #[arg(long, value_name = "DELTA", default_value_t = 0.0125)]
    depreciation: f64,

    /// Years of the recent delivery rate, FIRST..LAST (installed-base)
    #[arg(long, value_name = "FIRST..LAST", default_value = "2016..2020")]
    recent: String,
}

fn parse_level(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x > 0.0 && x < 1.0 => Ok(x),
        _ => Err(format!(
            "expected a level strictly between 0 and 1, such as 0.9, found {s:?}"
        )),
    }
}

fn scenario_at(path: &Option<PathBuf>, overrides: &[String]) -> Result<Loaded> {
    let loaded = match path {
        Some(p) => scenario::load_file(p, overrides)?,
        None => scenario::load_baseline(overrides)?,
    };
    super::say_left_out_events(&loaded);
    Ok(loaded)
}

fn outcomes_of(loaded: &Loaded, given: &[String]) -> Result<Vec<Outcome>> {
    let texts = if given.is_empty() {
        config::experiment_section(loaded)?.outcomes
    } else {
        given.to_vec()
    };
    if texts.is_empty() {
        return Ok(Outcome::defaults(&loaded.scenario));
    }
    texts
        .iter()
        .map(|t| Outcome::parse(t, &loaded.scenario).map_err(|e| anyhow!(e)))
        .collect()
}

fn percent_or_value(outcome: &Outcome, x: Option<f64>) -> String {
    match x {
        None => "n/a".into(),
        Some(x) if outcome.is_share() => format!("{:.1}%", 100.0 * x),
        Some(x) => format!("{x:.3}"),
    }
}

pub(super) fn compare(args: CompareArgs) -> Result<ExitCode> {
    let mut common = args.set.clone();
    if let Some(runs) = args.runs {
        common.push(format!("run.runs={runs}"));
    }
    if let Some(seed) = args.seed {
        common.push(format!("run.seed={seed}"));
    }
    let a = scenario_at(&args.a, &common)?;
    let b = match &args.b {
        Some(path) => scenario_at(
            &Some(path.clone()),
            &[args.set_b.clone(), run_settings(&common)].concat(),
        )?,
        None => {
            if args.set_b.is_empty() {
                bail!(
                    "nothing to compare: give scenario B, or --set-b changes that make B from A \
                     (e.g. --set-b suppliers.Russia.support=0 --set-b suppliers.Russia.hold_support=true)"
                );
            }
            scenario_at(&args.a, &[common.clone(), args.set_b.clone()].concat())?
        }
    };
    let outcomes = outcomes_of(&a, &args.outcomes)?;
    let interrupts = Interrupts::listen(args.quiet);
    let runs = a.scenario.runs();
    let bar = progress_bar(runs, args.quiet);
    let mut progress = |pairs: u64| {
        // A resumed comparison's first report: start the bar there, so the
        // rate and time left count only new pairs.
        if bar.position() == 0 && pairs > 0 {
            bar.reset_eta();
        }
        bar.set_position(pairs);
    };
    let mut notice = super::notice_printer(args.quiet, "comparison", "pairs of runs");
    let mut runner = CompareRunner::new(&a, &b)
        .outcomes(outcomes)
        .level(args.level)
        .plots(!args.no_plots)
        .threads(args.threads)
        .resume(args.checkpoints.resume)
        .checkpoint_every(args.checkpoints.every)
        .cancel(&interrupts.flag)
        .on_progress(&mut progress)
        .on_notice(&mut notice)
        .command_line(command_line());
    if let Some(out) = &args.out {
        runner = runner.out(out);
    }
    let quiet = args.quiet;
    let finished = runner.run_placed(&mut |placement| {
        if !quiet {
            super::say_placement(placement);
        }
    })?;
    bar.finish_and_clear();
    let done = match finished {
        CompareFinished::Done(done) => done,
        CompareFinished::Interrupted(stopped) => {
            super::say_interrupted(super::Interruption {
                done: Some(format!(
                    "{} of {} pairs of runs",
                    output::thousands(stopped.done),
                    output::thousands(stopped.total)
                )),
                kept: stopped.checkpoint.as_deref().map(|at| ("them", at)),
                out: Some(&stopped.dir),
            });
            return Ok(interrupts.exit_code());
        }
        other => bail!("a comparison ended in an unknown way: {other:?}"),
    };
    if !args.quiet {
        print_comparison(&a, &b, &done, args.level);
        super::print_files(&done.files);
    }
    Ok(ExitCode::SUCCESS)
}

/// The comparison's table: each outcome in A and B, B - A with its paired
/// interval, and how much wider independent runs' interval would be.
fn print_comparison(a: &Loaded, b: &Loaded, done: &CompareDone, level: f64) {
    say!(
        "A: {}\nB: {}\n{} pairs of runs with common random numbers (run k of A and of B share \
         stream k), seed {}\n",
        a.title(),
        b.title(),
        output::thousands(done.paired.runs),
        a.scenario.seed()
    );
    let pct = format!("{:.0}%", 100.0 * level);
    say!(
        "{:<36} {:>9} {:>9} {:>10}  {:<22} {}",
        "outcome",
        "A",
        "B",
        "B - A",
        format!("{pct} CI (paired)"),
        "independent runs' CI would be"
    );
    for m in &done.paired.outcomes {
        let c = m.compare(level);
        let o = &m.outcome;
        let scale = if o.is_share() { 100.0 } else { 1.0 };
        let unit = if o.is_share() { " pts" } else { "" };
        // Points of a percentage to 2 decimals; a 0-1 stance or index, as
        // the scenario writes it, to 3 (2 would round most intervals shut).
        let places = if o.is_share() || o.is_quarter() { 2 } else { 3 };
        let diff = c
            .difference
            .map_or("n/a".into(), |d| format!("{:+.places$}{unit}", scale * d));
        let ci = match (c.difference, c.paired_half_width) {
            (Some(d), Some(h)) => format!(
                "[{:+.places$}, {:+.places$}]",
                scale * (d - h),
                scale * (d + h)
            ),
            _ => "n/a".into(),
        };
        let ratio = match (c.paired_half_width, c.independent_half_width) {
            (Some(p), Some(i)) if p > 0.0 => format!("{:.1}x as wide", i / p),
            (Some(_), Some(_)) => "(paired width 0)".into(),
            _ => String::new(),
        };
        say!(
            "{:<36} {:>9} {:>9} {:>10}  {:<22} {}",
            o.to_string(),
            percent_or_value(o, c.a),
            percent_or_value(o, c.b),
            diff,
            ci,
            ratio
        );
    }
    say!(
        "\n{} in {:.2} s ({})",
        plural(done.paired.runs * 2, "run"),
        done.elapsed_seconds,
        plural(done.threads as u64, "thread")
    );
}

/// The run settings among `overrides` (`run.runs`, `run.seed`), which a
/// comparison applies to both scenarios.
fn run_settings(overrides: &[String]) -> Vec<String> {
    overrides
        .iter()
        .filter(|o| o.starts_with("run.runs=") || o.starts_with("run.seed="))
        .cloned()
        .collect()
}

fn campaign_loaded(args: &CampaignArgs) -> Result<Loaded> {
    let mut scenario = ScenarioArgs {
        scenario: args.scenario.scenario.clone(),
        set: args.scenario.set.clone(),
        runs: None,
        seed: args.scenario.seed,
    };
    if args.scenario.runs.is_some() {
        bail!(
            "--runs is the runs of one study; a sweep or sensitivity analysis takes --runs-per-point"
        );
    }
    scenario.runs = None;
    load(&scenario)
}

fn run_campaign(args: CampaignArgs, loaded: Loaded, spec: CampaignSpec) -> Result<ExitCode> {
    let campaign = Campaign::new(loaded, spec)?;
    let interrupts = Interrupts::listen(args.quiet);
    let points = campaign.points();
    if !args.quiet {
        eprintln!(
            "{} design points x {} runs = {} runs, outcomes: {}",
            output::thousands(points as u64),
            output::thousands(campaign.spec().runs),
            output::thousands(campaign.total_runs()),
            campaign.spec().outcomes.len()
        );
    }
    let bar = progress_bar(points as u64, args.quiet);
    let mut progress = |done: usize, _total: usize| bar.set_position(done as u64);
    let mut notice = super::notice_printer(args.quiet, "campaign", "design points");
    let runner = CampaignRunner::new(&campaign)
        .out(args.out.clone())
        .shard(args.shard)
        .resume(args.checkpoints.resume)
        .checkpoint_every(args.checkpoints.every)
        .threads(args.threads)
        .cancel(&interrupts.flag)
        .plots(!args.no_plots)
        .command_line(command_line());
    if !args.quiet {
        super::say_placement(&runner.placement()?);
    }
    let finished = runner
        .on_progress(&mut progress)
        .on_notice(&mut notice)
        .run();
    bar.finish_and_clear();
    match finished? {
        CampaignFinished::Interrupted {
            done,
            total,
            checkpoint,
        } => {
            super::say_interrupted(super::Interruption {
                done: Some(format!("{done} of {total} design points")),
                kept: Some(("them", &checkpoint)),
                out: None,
            });
            Ok(interrupts.exit_code())
        }
        CampaignFinished::Shard {
            dir,
            range,
            elapsed_seconds,
        } => {
            if !args.quiet {
                say!(
                    "shard: design points {}..{} in {elapsed_seconds:.2} s\nwrote {}",
                    range.start,
                    range.end,
                    dir.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        CampaignFinished::Written(w) => {
            if !args.quiet {
                print_campaign(&campaign, &w);
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// What a written campaign says on the terminal: for a sensitivity analysis
/// the ranking of each outcome; for a sweep the first outcome at each point
/// (the rest are in sweep.csv).
pub(super) fn print_campaign(campaign: &Campaign, w: &CampaignWritten) {
    say!("{}", campaign.loaded().title());
    match campaign.spec().kind {
        CampaignKind::Sensitivity => {
            for (outcome, result) in campaign.outcomes().iter().zip(&w.indices) {
                match result {
                    Err(reason) => say!("\n{outcome}: no indices ({reason})"),
                    Ok(Indices::Sobol(s)) => print_sobol(outcome, s),
                    Ok(Indices::Morris(m)) => print_morris(outcome, m),
                }
            }
        }
        CampaignKind::Sweep => print_sweep(campaign, w),
    }
    say!(
        "\n{} design points x {} runs in {:.2} s ({})",
        output::thousands(campaign.points() as u64),
        output::thousands(campaign.spec().runs),
        w.elapsed_seconds,
        plural(w.threads as u64, "thread")
    );
    super::print_files(&w.files);
}

/// An outcome's Sobol indices, ranked by total, with their intervals.
fn print_sobol(outcome: &Outcome, s: &SobolIndices) {
    say!(
        "\n{outcome}: Sobol indices, ranked by total [{:.0}% interval]",
        100.0 * s.bootstrap.level
    );
    say!(
        "  {:<40} {:>22} {:>22}",
        "parameter",
        "first order S1",
        "total ST"
    );
    for p in s.ranked_by_total() {
        say!(
            "  {:<40} {:>6.3} [{:>6.3},{:>6.3}] {:>6.3} [{:>6.3},{:>6.3}]",
            p.name,
            p.first.value,
            p.first.low,
            p.first.high,
            p.total.value,
            p.total.low,
            p.total.high
        );
    }
}

/// An outcome's Morris elementary effects, ranked by mu*.
fn print_morris(outcome: &Outcome, m: &MorrisIndices) {
    say!("\n{outcome}: Morris elementary effects, ranked by mu* (effect over each whole range)");
    say!(
        "  {:<40} {:>26} {:>10} {:>10}",
        "parameter",
        "mu* [interval]",
        "mu",
        "sigma"
    );
    for p in m.ranked_by_mu_star() {
        say!(
            "  {:<40} {:>8.4} [{:>7.4},{:>7.4}] {:>10.4} {:>10.4}",
            p.name,
            p.mu_star.value,
            p.mu_star.low,
            p.mu_star.high,
            p.mu,
            p.sigma
        );
    }
}

/// A sweep's first outcome at its first 40 points: a probability with its
/// interval, or a median with its 90% band.
fn print_sweep(campaign: &Campaign, w: &CampaignWritten) {
    let first = &campaign.outcomes()[0];
    let names: Vec<&str> = campaign
        .plan()
        .vary()
        .iter()
        .map(|v| v.path.as_str())
        .collect();
    let level = campaign.spec().level;
    let reading = if first.is_probability() {
        format!("probability [{:.0}% interval]", 100.0 * level)
    } else {
        "median [90% band]".into()
    };
    say!("\n{}   {first}: {reading}", names.join("  "));
    for r in w.results.iter().take(40) {
        let values = campaign.plan().design().point(r.point).unwrap_or_default();
        let xs: Vec<String> = values.iter().map(|x| format!("{x:.4}")).collect();
        let stat = &r.outcomes[0];
        // A yes/no outcome's median is 0 or 1: say its probability.
        let interval = stat
            .mean
            .and_then(|p| Some((p, output::plot::wilson_interval(p, stat.n, level)?)));
        let band = match (stat.percentiles, interval) {
            (_, Some((p, (lo, hi)))) if first.is_probability() => format!(
                "{} [{}, {}]",
                percent_or_value(first, Some(p)),
                percent_or_value(first, Some(lo)),
                percent_or_value(first, Some(hi))
            ),
            (Some(p), _) => format!(
                "{} [{}, {}]",
                percent_or_value(first, Some(p[2])),
                percent_or_value(first, Some(p[0])),
                percent_or_value(first, Some(p[4]))
            ),
            (None, _) => "n/a".into(),
        };
        say!("{}   {band}", xs.join("  "));
    }
    if w.results.len() > 40 {
        say!("... {} more points in sweep.csv", w.results.len() - 40);
    }
}

pub(super) fn sweep(args: SweepArgs) -> Result<ExitCode> {
    let loaded = campaign_loaded(&args.campaign)?;
    let outcomes = outcomes_of(&loaded, &args.campaign.outcomes)?;
    let spec = CampaignSpec {
        kind: CampaignKind::Sweep,
        vary: args.vary.clone(),
        layout: match args.design {
            SweepDesign::Grid => Layout::Grid,
            SweepDesign::Lhs => Layout::Lhs {
                samples: args.samples,
            },
        },
        design_seed: args.campaign.design_seed.unwrap_or(loaded.scenario.seed()),
        runs: args.campaign.runs_per_point.unwrap_or(200),
        seed: loaded.scenario.seed(),
        outcomes: outcomes.iter().map(|o| o.to_string()).collect(),
        resamples: 1000,
        level: 0.95,
    };
    run_campaign(args.campaign, loaded, spec)
}

pub(super) fn sensitivity(args: SensitivityArgs) -> Result<ExitCode> {
    let loaded = campaign_loaded(&args.campaign)?;
    let section = config::sensitivity_section(&loaded)?.unwrap_or_default();
    let params = if args.params.is_empty() {
        section.parameters.clone()
    } else {
        args.params.clone()
    };
    if params.is_empty() {
        bail!(
            "no parameters to rank: give --param PATH[=FROM:TO] (repeatable), or list them in the \
             scenario's [sensitivity] parameters"
        );
    }
    let method = match (args.method, section.method.as_deref()) {
        (Some(m), _) => m,
        (None, Some("morris")) => Method::Morris,
        _ => Method::Sobol,
    };
    let outcomes = if args.campaign.outcomes.is_empty() && !section.outcomes.is_empty() {
        outcomes_of(&loaded, &section.outcomes)?
    } else {
        outcomes_of(&loaded, &args.campaign.outcomes)?
    };
    let spec = CampaignSpec {
        kind: CampaignKind::Sensitivity,
        vary: params,
        layout: match method {
            Method::Sobol => Layout::Sobol {
                samples: args.samples.or(section.samples).unwrap_or(512),
            },
            Method::Morris => Layout::Morris {
                trajectories: args.trajectories.or(section.trajectories).unwrap_or(20),
                levels: args.levels.or(section.levels).unwrap_or(4),
            },
        },
        design_seed: args.campaign.design_seed.unwrap_or(loaded.scenario.seed()),
        runs: args.campaign.runs_per_point.or(section.runs).unwrap_or(200),
        seed: loaded.scenario.seed(),
        outcomes: outcomes.iter().map(|o| o.to_string()).collect(),
        resamples: args.bootstrap,
        level: args.level,
    };
    run_campaign(args.campaign, loaded, spec)
}

pub(super) fn outcomes(args: ScenarioArgs) -> Result<ExitCode> {
    let loaded = load(&args)?;
    let s = &loaded.scenario;
    say!(
        "Outcomes: scalar summaries of one run, for compare, sweep, sensitivity and calibrate \
         (--outcome, or [experiment] outcomes in a scenario file).\n\n\
         [AGGREGATE:]METRIC:ENTITY@WHEN     a metric of the catalogue\n\
         first_ahead:A>B                   the first quarter (0-based) A's rolling share passes B's\n\n\
         WHEN: a quarter (2030Q4), a span (2026Q1..2030Q4), a year (2022), years (2021..2022),\n\
         \u{20}     start or end (first or last quarter of the run: {} or {})\n\
         AGGREGATE over a span: mean (default), sum (flows), max, min, share (a supplier's part\n\
         \u{20}     of all suppliers' total: SIPRI's five-year share), cv (year-to-year variation)\n",
        s.start(),
        s.label(s.quarters() - 1)
    );
    let names: Vec<&str> = s.suppliers().iter().map(|x| x.name()).collect();
    let pairs: Vec<String> = s
        .compare()
        .iter()
        .map(|&(a, b)| format!("{}>{}", names[a], names[b]))
        .collect();
    say!("METRIC and its ENTITY:");
    for &m in MetricId::ALL {
        let entity = match m.scope() {
            Scope::World => "world".to_string(),
            Scope::Buyer => "buyer".to_string(),
            Scope::Supplier => names.join("|"),
            Scope::Pair => pairs.join("|"),
        };
        say!(
            "  {:<14} {:<26} [{}] {}",
            m.name(),
            entity,
            m.unit(),
            m.description()
        );
    }
    say!("\nExamples:");
    for e in [
        "rolling_share:Russia@2030Q4".to_string(),
        "mean:rolling_share:China@2026..2030".to_string(),
        "share:deliveries:Russia@2021..2022".to_string(),
        "sum:imports:buyer@2022..2030".to_string(),
        "max:embargo:world@start..end".to_string(),
        format!("first_ahead:{}", pairs.first().cloned().unwrap_or_default()),
    ] {
        if Outcome::parse(&e, s).is_ok() {
            say!("  {e}");
        }
    }
    say!("\nDefaults when none is given:");
    for o in Outcome::defaults(s) {
        say!("  {o}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn data(command: DataCommand) -> Result<ExitCode> {
    use armsim::data::{Grouping, Imports, Years};
    let (args, installed) = match command {
        DataCommand::InstalledBase(a) => (a, true),
        DataCommand::Shares(a) => (a, false),
    };
    let imports = Imports::load(&args.file, args.recipient.as_deref())?;
    let grouping = Grouping::new(data_groups(&args.groups)?, Some(args.others.as_str()))?;
    let grouped = imports.group(&grouping);
    let years = Years::new(args.from, args.until)?;
    if installed {
        print_installed_base(&args, &grouped, years)?;
    } else {
        let shares = grouped.shares(years)?;
        say!(
            "{}: shares of deliveries in {}-{} ({:.0} TIV millions in all)\n",
            args.file.display(),
            args.from,
            args.until,
            shares.total
        );
        for (g, name) in grouped.names().iter().enumerate() {
            say!(
                "{:<12} {:>8.1} TIV {:>7.1}%",
                name,
                shares.tiv[g],
                100.0 * shares.shares[g]
            );
        }
    }
    if !grouped.unlisted().is_empty() {
        let names: Vec<&str> = grouped
            .unlisted()
            .iter()
            .map(|u| u.supplier.as_str())
            .collect();
        say!("\nnot in any group (left out): {}", names.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// The supplier groups of `--group NAME=SUPPLIER[,SUPPLIER...]`; by default
/// Russia (with the Soviet Union), China and India.
fn data_groups(given: &[String]) -> Result<Vec<(String, Vec<String>)>> {
    if given.is_empty() {
        return Ok(vec![
            (
                "Russia".into(),
                vec!["Russia".into(), "Soviet Union".into()],
            ),
            ("China".into(), vec!["China".into()]),
            ("India".into(), vec!["India".into()]),
        ]);
    }
    given
        .iter()
        .map(|g| {
            let (name, members) = g
                .split_once('=')
                .ok_or_else(|| anyhow!("--group {g}: expected NAME=SUPPLIER[,SUPPLIER...]"))?;
            Ok((
                name.trim().to_string(),
                members.split(',').map(|m| m.trim().to_string()).collect(),
            ))
        })
        .collect()
}

/// `armsim data installed-base`: each group's stock at the end of the
/// years, its share, and its recent deliveries a quarter.
fn print_installed_base(
    args: &DataArgs,
    grouped: &armsim::data::Grouped,
    years: armsim::data::Years,
) -> Result<()> {
    use armsim::data::Years;
    if !(args.depreciation > 0.0 && args.depreciation <= 1.0) {
        bail!(
            "--depreciation {}: expected a number in (0, 1]",
            args.depreciation
        );
    }
    let (first, last) = args
        .recent
        .split_once("..")
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
        .ok_or_else(|| {
            anyhow!(
                "--recent {}: expected FIRST..LAST, such as 2016..2020",
                args.recent
            )
        })?;
    let base = grouped.installed_base(years, args.depreciation)?;
    let recent = grouped.quarterly_rate(Years::new(first, last)?);
    say!(
        "{}: installed base at the end of {} (deliveries from {}, each year spread over its \
         quarters, depreciated at {} a quarter) and deliveries per quarter in {}-{}\n",
        args.file.display(),
        args.until,
        args.from,
        args.depreciation,
        first,
        last
    );
    say!(
        "{:<12} {:>10} {:>8} {:>18}",
        "supplier",
        "stock",
        "share",
        "recent_deliveries"
    );
    for (g, name) in grouped.names().iter().enumerate() {
        say!(
            "{:<12} {:>10.1} {:>7.1}% {:>18.2}",
            name,
            base.stock[g],
            100.0 * base.shares[g],
            recent.rate[g]
        );
    }
    Ok(())
}
