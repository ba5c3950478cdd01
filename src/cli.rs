//! Command-line interface of the `armsim` binary (clap): `run`, `validate`,
//! `bench` and `merge`. Turns arguments into library calls, shows progress on
//! a terminal, handles Ctrl-C and prints results; it holds no model logic.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use armsim::model::{Param, Target};
use armsim::output::{self, StudyReport};
use armsim::scenario::{self, Loaded};
use armsim::state::{self, MergeError, StudyState};
use armsim::study::{Study, shard_range};
use armsim::summary::Summary;

/// Exit status of a study stopped by Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

#[derive(Parser)]
#[command(
    name = "armsim",
    version,
    about = "Monte Carlo simulator of arms-market influence",
    long_about = "Monte Carlo simulator of arms-market influence.\n\n\
        Supplier states compete to sell arms to a buyer that values diversification \
        and unconditional political support; suppliers adapt their stances and prices \
        while unrest, sanctions and a possible UN arms embargo shape the market. The \
        baseline is Myanmar after the 2021 coup, with Russia, China, India and Others.",
    after_help = "Start here:\n  \
        armsim run                                    run the built-in baseline, write output/myanmar_2021/\n  \
        armsim run --set suppliers.Russia.support=0.2  what if Russia kept its distance?\n  \
        armsim params                                 every parameter, its value and meaning\n  \
        armsim validate scenarios/myanmar_2021_un_embargo.toml\n\n\
        Run `armsim help run` for every option."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Monte Carlo study: write summary.csv, manifest.json and plots
    Run(RunArgs),
    /// Check a scenario file and print what it would run
    Validate(ScenarioArgs),
    /// List every parameter you can change with --set: its value, range and meaning
    Params(ScenarioArgs),
    /// Measure throughput: runs/s, quarter-steps/s and peak memory (writes nothing)
    Bench(BenchArgs),
    /// Combine shard results (from `run --shard`) into one study
    Merge(MergeArgs),
    /// Serve a local web page for students: sliders, fan charts, the baseline beside the change
    #[cfg(feature = "serve")]
    Serve(crate::serve::ServeArgs),
}

#[derive(Args)]
struct ScenarioArgs {
    /// Scenario file (TOML). Without one, the built-in baseline
    /// (scenarios/myanmar_2021.toml) is used.
    scenario: Option<PathBuf>,

    /// Change one value for this run, checked like the file. Repeatable.
    /// Paths: run.KEY, world.KEY, buyer.KEY, suppliers.NAME.KEY, events.INDEX.KEY;
    /// e.g. --set suppliers.Russia.support=0.2 --set buyer.budget=80
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,

    /// Number of Monte Carlo runs (overrides run.runs)
    #[arg(long, value_name = "N")]
    runs: Option<u64>,

    /// Master seed, 0 to 2^63-1 (overrides run.seed); same scenario and seed, same bits
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    seed: Option<u64>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,

    /// Worker threads; results do not depend on it [default: all cores]
    #[arg(long, value_name = "T", default_value_t = 0, hide_default_value = true)]
    threads: usize,

    /// Write into DIR instead of output/<scenario id>/ (replaced if it exists)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Also write runs.csv with the full trajectories of the first N runs
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true,
        conflicts_with = "shard"
    )]
    keep_runs: u64,

    /// Skip the plots (summary.csv and manifest.json only)
    #[arg(long)]
    no_plots: bool,

    /// Run only shard I of N (0-based) and write its state for `armsim merge`
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(u64, u64)>,

    /// Continue an interrupted study from its last checkpoint
    #[arg(long)]
    resume: bool,

    /// Seconds between checkpoints of a long study
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    checkpoint_every: f64,

    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,

    /// Worker threads [default: all cores]
    #[arg(long, value_name = "T", default_value_t = 0, hide_default_value = true)]
    threads: usize,

    /// Repeat the measurement K times and report the median
    #[arg(long, value_name = "K", default_value_t = 1)]
    repeat: usize,
}

#[derive(Args)]
struct MergeArgs {
    /// Shard directories written by `armsim run --shard I/N`
    #[arg(required = true, value_name = "SHARD_DIR")]
    shards: Vec<PathBuf>,

    /// Write the merged study into DIR [default: output/<scenario id>/]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Skip the plots
    #[arg(long)]
    no_plots: bool,

    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, such as 0/4")?;
    let (i, n): (u64, u64) = (
        i.trim()
            .parse()
            .map_err(|_| format!("{i:?} is not a shard index"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("{n:?} is not a shard count"))?,
    );
    if n == 0 || i >= n {
        return Err(format!("shard {i} of {n}: expected 0 <= I < N"));
    }
    Ok((i, n))
}

/// Parses the command line and runs the command.
pub fn main() -> Result<ExitCode> {
    match Cli::parse().command {
        Command::Run(args) => run(args),
        Command::Validate(args) => validate(args),
        Command::Params(args) => params(args),
        Command::Bench(args) => bench(args),
        Command::Merge(args) => merge(args),
        #[cfg(feature = "serve")]
        Command::Serve(args) => crate::serve::main(args),
    }
}

fn load(args: &ScenarioArgs) -> Result<Loaded> {
    let mut overrides = args.set.clone();
    if let Some(runs) = args.runs {
        overrides.push(format!("run.runs={runs}"));
    }
    if let Some(seed) = args.seed {
        overrides.push(format!("run.seed={seed}"));
    }
    Ok(match &args.scenario {
        Some(path) => scenario::load_file(path, &overrides)?,
        None => scenario::load_baseline(&overrides)?,
    })
}

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40.cyan/blue} {human_pos}/{human_len} runs  {rate}  {elapsed} elapsed, {eta} left",
        )
        .expect("valid template")
        .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{} runs/s", output::thousands(state.per_sec() as u64));
        }),
    );
    bar
}

/// A flag set by the first Ctrl-C; a second one exits at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    let _ = ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_INTERRUPTED as i32);
        }
        eprintln!("\ninterrupted: finishing the current round of runs and saving what was done...");
    });
    flag
}

/// Where a study directory's checkpoint lives: hidden, beside it.
fn checkpoint_path(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "study".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!(".{name}.checkpoint"))
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let loaded = load(&args.scenario)?;
    let scenario = &loaded.scenario;
    if loaded.model_defaulted && !args.quiet {
        eprintln!(
            "note: {} has no [run] model key, so it runs model v1 as it always did; \
             add model = \"v2\" to run the current model",
            loaded.origin
        );
    }
    let (range, default_dir) = match args.shard {
        Some((i, n)) => (
            shard_range(scenario.runs(), i, n),
            format!("{}.shard-{i}-of-{n}", scenario.id()),
        ),
        None => (0..scenario.runs(), scenario.id().to_string()),
    };
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(default_dir));
    let checkpoint = checkpoint_path(&dir);

    let mut study = Study::new(scenario)
        .threads(args.threads)
        .runs(range.clone());
    let mut resumed_seconds = 0.0;
    let mut already_done = 0;
    if args.resume {
        if checkpoint.exists() {
            let state = StudyState::load(&checkpoint)?;
            if !state.belongs_to(&loaded, &range) {
                bail!(
                    "{} is a checkpoint of another study (scenario, seed or runs differ); \
                     remove it or run without --resume",
                    checkpoint.display()
                );
            }
            if !args.quiet {
                eprintln!(
                    "resuming from {}: {} of {} runs already done",
                    checkpoint.display(),
                    output::thousands(state.done - range.start),
                    output::thousands(range.end - range.start)
                );
            }
            resumed_seconds = state.elapsed_seconds;
            already_done = state.done - range.start;
            study = study.resume(state.summary, state.done);
        } else if !args.quiet {
            eprintln!(
                "no checkpoint at {}: starting from the beginning",
                checkpoint.display()
            );
        }
    } else if checkpoint.exists() && !args.quiet {
        eprintln!(
            "note: {} holds an interrupted study; this run starts afresh and replaces it \
             (--resume would continue it)",
            checkpoint.display()
        );
    }

    let cancel = interrupt_flag();
    let bar = progress_bar(range.end - range.start, args.quiet);
    // Start at the resumed runs, so the rate and time left count only new ones.
    bar.set_position(already_done);
    bar.reset_eta();
    let mut on_progress = |done: u64| bar.set_position(done);
    let started = Instant::now();
    let mut save = |summary: &Summary, done: u64| -> std::io::Result<()> {
        let elapsed = resumed_seconds + started.elapsed().as_secs_f64();
        StudyState::new(&loaded, range.clone(), done, elapsed, summary.clone())
            .save(&checkpoint)
            .map_err(std::io::Error::other)
    };
    let every = Duration::from_secs_f64(args.checkpoint_every.max(0.0));
    let outcome = study
        .on_progress(&mut on_progress)
        .cancel_flag(&cancel)
        .checkpoint(every, &mut save)
        .run()?;
    bar.finish_and_clear();
    let elapsed = resumed_seconds + outcome.elapsed.as_secs_f64();

    if outcome.interrupted {
        let done = outcome.completed.end;
        StudyState::new(&loaded, range.clone(), done, elapsed, outcome.summary)
            .save(&checkpoint)?;
        eprintln!(
            "interrupted after {} of {} runs; kept them in {} and wrote nothing to {}.\n\
             Continue with the same command and --resume.",
            output::thousands(done - range.start),
            output::thousands(range.end - range.start),
            checkpoint.display(),
            dir.display()
        );
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }

    if let Some((index, count)) = args.shard {
        let state = StudyState::new(
            &loaded,
            range.clone(),
            outcome.completed.end,
            elapsed,
            outcome.summary,
        );
        output::write_atomically(&dir, |tmp| {
            state
                .save(&tmp.join(SHARD_STATE))
                .map_err(|e| output::OutputError::Io {
                    path: tmp.join(SHARD_STATE),
                    source: std::io::Error::other(e),
                })
        })?;
        remove_checkpoint(&checkpoint)?;
        if !args.quiet {
            println!(
                "shard {index}/{count} of {}: runs {}..{} in {:.2} s ({} threads)\nwrote {}",
                scenario.id(),
                range.start,
                range.end,
                elapsed,
                outcome.threads,
                dir.join(SHARD_STATE).display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }

    let report = StudyReport {
        loaded: &loaded,
        summary: &outcome.summary,
        run_range: range.clone(),
        threads: outcome.threads,
        elapsed_seconds: elapsed,
        keep_runs: args.keep_runs,
        plots: !args.no_plots,
    };
    let files = output::write_study(&dir, &report)?;
    remove_checkpoint(&checkpoint)?;
    if !args.quiet {
        print_result(&loaded, &outcome.summary, elapsed, outcome.threads, &files);
    }
    Ok(ExitCode::SUCCESS)
}

/// The file a shard directory holds its state in.
const SHARD_STATE: &str = "state.armsim";

fn remove_checkpoint(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn print_result(
    loaded: &Loaded,
    summary: &Summary,
    elapsed: f64,
    threads: usize,
    files: &[PathBuf],
) {
    println!("{}", output::headline(&loaded.scenario, summary));
    println!(
        "{} runs in {:.2} s ({} runs/s, {} thread{}), seed {}",
        output::thousands(summary.runs()),
        elapsed,
        output::thousands((summary.runs() as f64 / elapsed.max(1e-9)) as u64),
        threads,
        if threads == 1 { "" } else { "s" },
        loaded.scenario.seed()
    );
    if let Some(dir) = files.first().and_then(|f| f.parent()) {
        let names: Vec<String> = files
            .iter()
            .filter_map(|f| f.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        println!("wrote {}/: {}", dir.display(), names.join(", "));
    }
}

fn validate(args: ScenarioArgs) -> Result<ExitCode> {
    use armsim::model::SupplierParam as S;
    let loaded = load(&args)?;
    let s = &loaded.scenario;
    println!("{}: valid", loaded.origin);
    println!(
        "  \"{}\": model {}, {} runs x {} quarters ({} to {}), seed {}, {} procurement",
        s.name(),
        s.model(),
        s.runs(),
        s.quarters(),
        s.start(),
        s.label(s.quarters() - 1),
        s.seed(),
        s.procurement().name()
    );
    if loaded.model_defaulted {
        println!(
            "  note: the file has no [run] model key, so it runs model v1 as it always did; \
             add model = \"v2\" for the current model"
        );
    }
    println!("  buyer: {}", s.buyer_name());
    println!("  suppliers (in adaptation order):");
    for sup in s.suppliers() {
        let p = sup.params();
        let base = match s.model() {
            armsim::model::ModelVersion::V1 => format!("share {:<6}", p[S::Share]),
            armsim::model::ModelVersion::V2 => format!(
                "stock {:<7} recent {:<6}",
                p[S::Stock],
                p[S::RecentDeliveries]
            ),
        };
        println!(
            "    {:<12} {base} support {:<5} price {:<5} veto {}",
            sup.name(),
            p[S::Support],
            p[S::Price],
            if p.is_set(S::Veto) { "yes" } else { "no" }
        );
    }
    if !s.backlog().is_empty() {
        println!("  known orders (backlog):");
        for b in s.backlog() {
            println!(
                "    {:<12} {:>7} TIV, {} to {}  {}",
                s.suppliers()[b.supplier].name(),
                b.value,
                s.label(b.first),
                s.label(b.last),
                b.note
            );
        }
    }
    if !s.events().is_empty() {
        println!("  timeline (INDEX as --set events.INDEX.KEY counts):");
        for e in s.events() {
            let (entity, param) = match e.target {
                Target::World(p) => ("world".to_string(), p.name()),
                Target::Buyer(p) => ("buyer".to_string(), p.name()),
                Target::Supplier(i, p) => (s.suppliers()[i].name().to_string(), p.name()),
            };
            let note = if e.note.is_empty() {
                String::new()
            } else {
                format!("  ({})", e.note)
            };
            println!(
                "    [{}] {}  {entity}.{param} {} {}{note}",
                e.index,
                s.label(e.quarter),
                e.op.name(),
                e.value
            );
        }
    }
    for &(a, b) in s.compare() {
        println!(
            "  compares: {} vs {}",
            s.suppliers()[a].name(),
            s.suppliers()[b].name()
        );
    }
    println!(
        "  would write: output/{}/ (scenario hash {})",
        s.id(),
        &loaded.hash[..12]
    );
    Ok(ExitCode::SUCCESS)
}

/// Keys of `[run]` and what they mean.
const RUN_KEYS: [(&str, &str); 8] = [
    ("name", "name of the study, used in titles"),
    (
        "model",
        "model version: \"v2\" (current) or \"v1\" (kept for replay; the default of files without the key)",
    ),
    ("start", "first quarter, such as 2021Q1"),
    ("quarters", "quarters each run simulates"),
    ("runs", "Monte Carlo runs (also --runs)"),
    ("seed", "master seed, 0 to 2^63-1 (also --seed)"),
    (
        "procurement",
        "\"contracts\" (lumpy deals) or \"expected\" (smooth budget split)",
    ),
    (
        "compare",
        "supplier pairs whose rolling shares are compared, [[\"A\", \"B\"], ...]",
    ),
];

fn params(args: ScenarioArgs) -> Result<ExitCode> {
    use armsim::model::{BuyerParam, Params, SupplierParam, WorldParam};
    let loaded = load(&args)?;
    let s = &loaded.scenario;
    let model = s.model();
    println!(
        "Parameters of {} (model {model}); change any with --set PATH=VALUE.\n\
         Each is listed in words, with its symbol in docs/model.md, then its path, value,\n\
         role and allowed values. Roles: \"start\" is a starting value the model then\n\
         changes (hold a stance or discount with hold_support / hold_discount = true);\n\
         \"fixed\" stays as set unless an event changes it; \"initial\" only sets up the start.\n",
        loaded.origin
    );
    println!("run");
    for (key, meaning) in RUN_KEYS {
        let value = match key {
            "name" => format!("{:?}", s.name()),
            "model" => format!("{:?}", model.name()),
            "start" => s.start().to_string(),
            "quarters" => s.quarters().to_string(),
            "runs" => s.runs().to_string(),
            "seed" => s.seed().to_string(),
            "procurement" => format!("{:?}", s.procurement().name()),
            _ => format!("{} pairs", s.compare().len()),
        };
        println!("  {meaning}\n      run.{key} = {value}");
    }
    fn entry<P: Param>(p: P, path: String, value: String) {
        println!(
            "  {} ({})\n      {path} = {value}   [{}; {}]\n      {}",
            p.label(),
            p.symbol(),
            p.role().word(),
            p.domain().notation(),
            p.description()
        );
    }
    fn table<P: Param>(section: &str, values: &Params<P>, model: armsim::model::ModelVersion) {
        println!("\n{section}");
        for &p in P::ALL.iter().filter(|p| p.models().includes(model)) {
            entry(p, format!("{section}.{}", p.name()), number(values[p], p));
        }
    }
    fn number<P: Param>(x: f64, p: P) -> String {
        if p.domain().is_flag() {
            (x == 1.0).to_string()
        } else {
            x.to_string()
        }
    }
    table::<WorldParam>("world", s.world(), model);
    table::<BuyerParam>("buyer", s.buyer(), model);
    let names: Vec<&str> = s.suppliers().iter().map(|x| x.name()).collect();
    println!(
        "\nsuppliers (NAME is one of {}; values listed in that order)",
        names.join(", ")
    );
    for &p in SupplierParam::ALL
        .iter()
        .filter(|p| p.models().includes(model))
    {
        let values: Vec<String> = s
            .suppliers()
            .iter()
            .map(|x| format!("{} {}", x.name(), number(x.params()[p], p)))
            .collect();
        entry(p, format!("suppliers.NAME.{}", p.name()), values.join(", "));
    }
    println!(
        "\nEvents change world, buyer and supplier parameters at a quarter: see the [[events]] of the file\n\
         (`armsim validate FILE` lists them with the INDEX that --set events.INDEX.KEY uses)."
    );
    Ok(ExitCode::SUCCESS)
}

/// Peak resident memory of this process in bytes (Linux), if known.
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn bench(args: BenchArgs) -> Result<ExitCode> {
    let loaded = load(&args.scenario)?;
    let s = &loaded.scenario;
    let mut rates = Vec::new();
    let mut threads = 0;
    for i in 0..args.repeat.max(1) {
        let outcome = Study::new(s).threads(args.threads).run()?;
        threads = outcome.threads;
        let secs = outcome.elapsed.as_secs_f64();
        let rate = s.runs() as f64 / secs;
        println!(
            "run {}: {} runs in {:.3} s: {:.0} runs/s, {:.3e} quarter-steps/s",
            i + 1,
            s.runs(),
            secs,
            rate,
            rate * s.quarters() as f64
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "{}: {} suppliers, {} quarters, {} procurement, {} threads",
        s.id(),
        s.suppliers().len(),
        s.quarters(),
        s.procurement().name(),
        threads
    );
    println!(
        "median: {median:.0} runs/s, {:.3e} quarter-steps/s",
        median * s.quarters() as f64
    );
    match peak_memory() {
        Some(bytes) => println!("peak memory: {:.1} MB", bytes as f64 / 1e6),
        None => println!("peak memory: unknown on this platform"),
    }
    Ok(ExitCode::SUCCESS)
}

fn merge(args: MergeArgs) -> Result<ExitCode> {
    let mut states = Vec::new();
    for dir in &args.shards {
        let path = if dir.is_dir() {
            dir.join(SHARD_STATE)
        } else {
            dir.clone()
        };
        states.push(StudyState::load(&path)?);
    }
    // Name shards by their directories, not their positions.
    let merged = state::merge(&states).map_err(|e| {
        let dir = |i: usize| args.shards[i].display().to_string();
        match e {
            MergeError::OtherStudy { index } => {
                anyhow::anyhow!("{} is a shard of another study than {}", dir(index), dir(0))
            }
            MergeError::Incomplete {
                index,
                done,
                start,
                end,
            } => {
                anyhow::anyhow!(
                    "{} is incomplete ({done} of runs {start}..{end} done)",
                    dir(index)
                )
            }
            MergeError::Shape { index } => anyhow::anyhow!("{}: {e}", dir(index)),
            other => anyhow::anyhow!(
                "the shards do not cover runs 0..{} exactly once: {other}",
                states[0].total_runs
            ),
        }
    })?;
    let first = &merged;
    let loaded = scenario::load_str(
        &first.scenario_toml,
        &first.scenario_id,
        "merged shards",
        &[],
    )?;
    if !Summary::new(&loaded.scenario).same_shape(&merged.summary) {
        bail!("the shards' summaries do not fit their scenario");
    }
    let summary = &merged.summary;
    let elapsed = merged.elapsed_seconds;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(&first.scenario_id));
    let report = StudyReport {
        loaded: &loaded,
        summary,
        run_range: 0..first.total_runs,
        threads: 1,
        elapsed_seconds: elapsed,
        keep_runs: 0,
        plots: !args.no_plots,
    };
    let files = output::write_study(&dir, &report)?;
    if !args.quiet {
        println!("merged {} shards ({} runs)\n", states.len(), summary.runs());
        print_result(&loaded, summary, elapsed, 1, &files);
    }
    Ok(ExitCode::SUCCESS)
}
