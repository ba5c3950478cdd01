//! Command-line interface of the `armsim` binary (clap): `run` (also what
//! `armsim` alone does), `validate`, `params`, `bench`, `merge` and
//! `calibrate`. Turns
//! arguments into library calls, shows progress on a terminal, turns SIGINT
//! and SIGTERM into a clean stop, and prints results; it holds no model or
//! study-lifecycle logic (that is [`armsim::runner`]).

use std::fmt;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use signal_hook::consts::{SIGINT, SIGTERM};

use armsim::executor::max_threads;
use armsim::model::{Param, Target};
use armsim::output::{self, RunsFormat};
use armsim::runner::{self, Finished, Merge, Notice, Runner, Shard};
use armsim::scenario::{self, Loaded};
use armsim::study::Study;
use armsim::summary::Summary;

/// Prints a line on standard output. A closed pipe (`armsim params | head
/// -1`) ends the program quietly instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => { $crate::cli::emit(format_args!($($arg)*)) };
}

pub(crate) fn emit(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

mod evaluate;
mod experiment;

#[derive(Parser)]
#[command(
    name = "armsim",
    version,
    about = "Monte Carlo simulator of arms-market influence",
    long_about = "Monte Carlo simulator of arms-market influence.\n\n\
        Supplier states compete to sell arms to a buyer that values diversification \
        and unconditional political support; suppliers adapt their stances and prices \
        while unrest, sanctions and a possible UN arms embargo shape the market. The \
        baseline is Myanmar after the 2021 coup, with Russia, China, India and Others.\n\n\
        Without a command, armsim runs the built-in baseline, as `armsim run` does.",
    after_help = "Start here:\n  \
        armsim                      run the baseline; writes output/myanmar_2021/\n  \
        armsim params               every parameter, its value, range and meaning\n  \
        armsim run --set suppliers.Russia.support=0.2\n  \
        \x20                           what if Russia kept its distance?\n  \
        armsim compare --set-b suppliers.Russia.support=0 --set-b suppliers.Russia.hold_support=true\n  \
        \x20                           the same question, run for run against the baseline\n  \
        armsim sensitivity          which parameters matter most\n  \
        armsim serve --open         a page with sliders, for students\n\n\
        Run `armsim help COMMAND` for every option of a command."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
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
    /// Combine shard results (from `run`, `sweep` or `sensitivity --shard`) into one
    Merge(MergeArgs),
    /// Compare two scenarios run for run with common random numbers: paired differences
    Compare(experiment::CompareArgs),
    /// Sweep parameters over a grid or a Latin hypercube: an outcome table and plots
    Sweep(experiment::SweepArgs),
    /// Rank parameters by global sensitivity (Sobol indices or Morris screening)
    Sensitivity(experiment::SensitivityArgs),
    /// List the outcomes experiments can measure, with their grammar
    Outcomes(ScenarioArgs),
    /// Read SIPRI's import series: the installed base and delivery shares a scenario starts from
    #[command(subcommand)]
    Data(experiment::DataCommand),
    /// Serve a local web page for students: sliders, fan charts, the baseline beside the change
    #[cfg(feature = "serve")]
    Serve(crate::serve::ServeArgs),
    /// Fit a scenario's [calibration] parameters to SIPRI's record (ABC-SMC)
    #[command(long_about = CALIBRATE_ABOUT, after_help = CALIBRATE_EXAMPLES)]
    Calibrate(CalibrateArgs),
    /// Score the forecasts on past coups and embargoes against naive baselines
    #[command(long_about = EVALUATE_ABOUT)]
    Evaluate(evaluate::EvaluateArgs),
}

const EVALUATE_ABOUT: &str = "Score armsim's forecasts on a library of past shocks (coups, \
embargoes, patron switches: scenarios/cases/) against what SIPRI recorded after them, and \
against naive baselines: persistence (the five years before carried forward), the last year \
before the shock, and the installed base. Scores are the CRPS of each supplier group's share \
and the error of its median over the five years after the shock year and the five from its \
third; skill is 1 - model / baseline. Without --loo each case runs at its scenario's values; \
with --loo each case is forecast from the buyer's preferences fitted on all the other cases \
(leave one case out, ABC-SMC), which is the honest, out-of-sample test. Writes scores.csv, \
cases.csv, skill.csv, summary.txt, a picture per case and skill overviews. \
docs/validation.md reads the results.";

#[derive(Args)]
struct ScenarioArgs {
    /// Scenario file (TOML). Without one, the built-in baseline
    /// (scenarios/myanmar_2021.toml) is used.
    scenario: Option<PathBuf>,

    /// Change one value for this run, checked like the file. Repeatable.
    /// Paths: run.KEY, world.KEY, buyer.KEY, suppliers.NAME.KEY (or
    /// suppliers.INDEX.KEY), events.INDEX.KEY;
    /// e.g. --set suppliers.Russia.support=0.2 --set buyer.budget=80
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,

    /// Number of Monte Carlo runs, 1 or more (overrides run.runs)
    #[arg(long, value_name = "N", value_parser = parse_runs)]
    runs: Option<u64>,

    /// Master seed, 0 to 2^63-1 (overrides run.seed); same scenario and seed, same bits
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    seed: Option<u64>,
}

/// Formats of `--keep-runs-format`.
#[derive(Clone, Copy, ValueEnum)]
enum KeepFormat {
    /// runs.csv, long: run,quarter,label,entity,metric,value
    Csv,
    /// runs.arrow, Arrow IPC / Feather v2, wide: a column per metric (about a quarter of the CSV size)
    Arrow,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,

    /// Worker threads, at most 4 per core (and 1024); results do not depend
    /// on it [default: all cores]
    #[arg(long, value_name = "T", default_value_t = 0, hide_default_value = true, value_parser = parse_threads)]
    threads: usize,

    /// Write into DIR instead of output/<study>/. DIR may be new, empty, or an
    /// earlier armsim study (which is replaced); anything else is refused
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Also keep every metric of the first N runs, quarter by quarter
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true,
        conflicts_with = "shard"
    )]
    keep_runs: u64,

    /// File format of --keep-runs
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "csv")]
    keep_runs_format: KeepFormat,

    /// Write a --keep-runs file estimated above 5 GB (refused otherwise)
    #[arg(long)]
    allow_large_runs: bool,

    /// Skip the plots (summary.csv and manifest.json only)
    #[arg(long)]
    no_plots: bool,

    /// Run only shard I of N (0-based) and write its state for `armsim merge`
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<Shard>,

    #[command(flatten)]
    checkpoints: CheckpointArgs,

    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,

    /// Worker threads, at most 4 per core (and 1024) [default: all cores]
    #[arg(long, value_name = "T", default_value_t = 0, hide_default_value = true, value_parser = parse_threads)]
    threads: usize,

    /// Repeat the measurement K times (1 or more) and report the median
    #[arg(long, value_name = "K", default_value = "1", value_parser = parse_repeat)]
    repeat: usize,

    /// Print one JSON object (for scripts) instead of text
    #[arg(long)]
    json: bool,
}

const CALIBRATE_ABOUT: &str = "Fit a scenario's [calibration] parameters to SIPRI's record \
    by approximate Bayesian computation (ABC-SMC), and forecast across the posterior.\n\n\
    The scenario's [calibration] section names the parameters and their priors, the SIPRI \
    extract and the observed targets (five-year delivery shares, year-to-year lumpiness, \
    totals). armsim then: rules out implausible values (an optional history-matching wave); \
    scales each statistic (a pilot of prior draws); runs ABC-SMC, whose generation 0 is the \
    rejection baseline, shrinking the tolerance until the simulation budget, the generation \
    limit or the acceptance floor stops it; checks the fit (the band the posterior puts \
    around each observed statistic); and runs the forecast scenario at particles drawn from \
    the posterior.\n\n\
    A parameter whose posterior is narrower than 0.8 of its prior's spread takes its \
    posterior median; the others keep the scenario's value, and the calibrated scenario \
    files say which is which.\n\n\
    It writes, into output/<scenario>_calibration/ or --out: summary.txt (everything in \
    words), posterior.csv, posterior_summary.csv, fit.csv, forecast.csv, the pair plot, fit \
    and forecast charts, calibrated.toml (the forecast scenario with the calibrated values, \
    ready for `armsim run`) and manifest.json.\n\n\
    The same scenario and seed give the same bits whatever --threads. Each complete \
    generation is checkpointed in .<DIR>.checkpoint beside the output directory; Ctrl-C \
    keeps them (nothing is written to DIR) and the same command with --resume continues. \
    docs/calibration.md explains every setting, output and result.\n\n\
    Given a directory of case scenarios (scenarios/cases) instead, it fits the parameters \
    the cases share (the buyer's preferences, or --fit paths such as \
    profile.China.quality) to every case's post-shock supplier shares at once, with the \
    same ABC-SMC, and writes posterior.csv, posterior_summary.csv and summary.txt; \
    `armsim evaluate --loo` runs the same fit leaving one case out at a time.";

const CALIBRATE_EXAMPLES: &str = "Examples:\n  \
    armsim calibrate scenarios/myanmar_history.toml            about a minute on 2 cores\n  \
    armsim calibrate scenarios/myanmar_history.toml --resume   continue after Ctrl-C\n  \
    armsim calibrate scenarios/thailand_history.toml --out cal/thailand\n  \
    armsim calibrate scenarios/cases                           the case library, jointly\n  \
    armsim run output/myanmar_history_calibration/calibrated.toml";

#[derive(Args)]
struct CalibrateArgs {
    /// Scenario file with a [calibration] section, such as
    /// scenarios/myanmar_history.toml; or a directory of case scenarios
    /// (scenarios/cases), whose shared parameters are fitted on every case
    /// at once
    scenario: PathBuf,

    /// With a directory of cases: a shared parameter to fit (buyer.KEY,
    /// world.KEY or profile.NAME.KEY), uniform over its documented range.
    /// Repeatable [default: the parameters `armsim evaluate --loo` fits]
    #[arg(long = "fit", value_name = "PATH")]
    fit: Vec<String>,

    /// Change one value of the scenario, checked like the file. Repeatable
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,

    /// Worker threads; results do not depend on it [default: all cores]
    #[arg(long, value_name = "T", default_value_t = 0, hide_default_value = true, value_parser = parse_threads)]
    threads: usize,

    /// Write into DIR instead of output/<scenario>_calibration/. DIR may be
    /// new, empty, or an earlier armsim directory; anything else is refused
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Continue an interrupted calibration from its last complete generation
    #[arg(long)]
    resume: bool,

    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct MergeArgs {
    /// Shard directories written by `armsim run --shard I/N`
    #[arg(required = true, value_name = "SHARD_DIR")]
    shards: Vec<PathBuf>,

    /// Write the merged study into DIR [default: output/<study>/]. DIR may be
    /// new, empty, or an earlier armsim study; anything else is refused
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Skip the plots
    #[arg(long)]
    no_plots: bool,

    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
}

fn whole_number(s: &str, least: u64) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= least => Ok(n),
        _ => Err(format!(
            "expected a whole number {least} or greater, found {s:?}"
        )),
    }
}

fn parse_runs(s: &str) -> Result<u64, String> {
    whole_number(s, 1)
}

fn parse_repeat(s: &str) -> Result<usize, String> {
    let n = whole_number(s, 1)?;
    usize::try_from(n).map_err(|_| format!("{n} repeats is too many"))
}

fn parse_threads(s: &str) -> Result<usize, String> {
    let most = max_threads();
    match s.trim().parse::<u64>() {
        Ok(n) if n <= most as u64 => Ok(n as usize),
        Ok(n) => Err(format!(
            "{n} threads is too many: at most {most} on this machine (4 per core, never more \
             than {}); 0 uses every core",
            armsim::executor::MAX_THREADS
        )),
        Err(_) => Err(format!("expected a whole number of threads, found {s:?}")),
    }
}

/// Checkpoints and `--resume`: the same two options, with the same rules,
/// for every command whose lifecycle keeps a checkpoint (`run`, `compare`,
/// `sweep`, `sensitivity`).
#[derive(Args, Debug, Clone)]
pub(crate) struct CheckpointArgs {
    /// Continue from the checkpoint an interrupted run of the same command
    /// kept beside its output directory
    #[arg(long)]
    pub resume: bool,

    /// Seconds between checkpoints of a long run (0: after every round)
    #[arg(
        long = "checkpoint-every",
        value_name = "SECS",
        default_value = "60",
        value_parser = parse_seconds,
        allow_hyphen_values = true
    )]
    pub every: Duration,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if (0.0..=1e9).contains(&x) => Ok(Duration::from_secs_f64(x)),
        _ => Err(format!(
            "expected a number of seconds, 0 or more (such as 60 or 0.5), found {s:?}"
        )),
    }
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, such as 0/4")?;
    let (i, n): (u64, u64) = (
        i.trim()
            .parse()
            .map_err(|_| format!("{i:?} is not a shard index"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("{n:?} is not a shard count"))?,
    );
    Shard::new(i, n).ok_or_else(|| format!("shard {i} of {n}: expected 0 <= I < N"))
}

/// Parses the command line and runs the command.
pub fn main() -> Result<ExitCode> {
    // No command: the quick start, exactly `armsim run`.
    let command = match Cli::parse().command {
        Some(command) => command,
        None => match Cli::parse_from(["armsim", "run"]).command {
            Some(command) => command,
            None => unreachable!("`run` parses as the run command"),
        },
    };
    match command {
        Command::Run(args) => run(args),
        Command::Validate(args) => validate(args),
        Command::Params(args) => params(args),
        Command::Bench(args) => bench(args),
        Command::Merge(args) => merge(args),
        Command::Compare(args) => experiment::compare(args),
        Command::Sweep(args) => experiment::sweep(args),
        Command::Sensitivity(args) => experiment::sensitivity(args),
        Command::Outcomes(args) => experiment::outcomes(args),
        Command::Data(command) => experiment::data(command),
        #[cfg(feature = "serve")]
        Command::Serve(args) => crate::serve::main(args),
        Command::Calibrate(args) => calibrate(args),
        Command::Evaluate(args) => evaluate::evaluate(args),
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
    let loaded = match &args.scenario {
        Some(path) => scenario::load_file(path, &overrides)?,
        None => scenario::load_baseline(&overrides)?,
    };
    say_left_out_events(&loaded);
    Ok(loaded)
}

/// The command line as given, for manifests.
fn command_line() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
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

/// How long after a first SIGINT or SIGTERM further ones are absorbed (a
/// terminal or GNU `timeout` may send two in a row); a signal after that
/// stops the program at once, keeping the last checkpoint saved.
const SIGNAL_GRACE: Duration = Duration::from_secs(1);

/// The first stopping signal received (0 if none) and the flag it sets.
struct Interrupts {
    flag: Arc<AtomicBool>,
    signal: Arc<AtomicI32>,
}

impl Interrupts {
    /// Listens for SIGINT and SIGTERM on a thread of its own: the first sets
    /// the flag (the study stops at the end of its round and saves a
    /// checkpoint), repeats within [`SIGNAL_GRACE`] are ignored, a later one
    /// exits at once.
    fn listen(quiet: bool) -> Interrupts {
        let flag = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicI32::new(0));
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            let (flag, signal) = (flag.clone(), signal.clone());
            std::thread::spawn(move || {
                let mut first: Option<Instant> = None;
                for received in signals.forever() {
                    match first {
                        None => {
                            first = Some(Instant::now());
                            signal.store(received, Ordering::SeqCst);
                            flag.store(true, Ordering::SeqCst);
                            if !quiet {
                                eprintln!(
                                    "\n{}: finishing the current round of runs and saving \
                                     them...",
                                    signal_name(received)
                                );
                            }
                        }
                        Some(at) if at.elapsed() < SIGNAL_GRACE => {}
                        Some(_) => {
                            eprintln!("stopped at once; the last checkpoint saved is kept");
                            std::process::exit(exit_status(signal.load(Ordering::SeqCst)).into());
                        }
                    }
                }
            });
        }
        Interrupts { flag, signal }
    }

    fn exit_code(&self) -> ExitCode {
        ExitCode::from(exit_status(self.signal.load(Ordering::SeqCst)))
    }
}

/// How far an interrupted command got: what every command says when
/// SIGINT or SIGTERM stops it ([`say_interrupted`]).
pub(crate) struct Interruption<'a> {
    /// What was finished, such as "412 of 60,000 runs", where counted.
    pub done: Option<String>,
    /// What is kept for `--resume` ("them", "the finished folds") and
    /// where; `None` for a command that keeps no checkpoint.
    pub kept: Option<(&'a str, &'a std::path::Path)>,
    /// The output directory, where nothing was written.
    pub out: Option<&'a std::path::Path>,
}

/// Says on stderr, in one form for every command, that it was interrupted,
/// what it had done, what it kept and that it wrote nothing.
pub(crate) fn say_interrupted(i: Interruption<'_>) {
    eprintln!("{}", interrupted_text(&i));
}

fn interrupted_text(i: &Interruption<'_>) -> String {
    let after = i
        .done
        .as_ref()
        .map(|d| format!(" after {d}"))
        .unwrap_or_default();
    let to = i
        .out
        .map(|o| format!(" to {}", o.display()))
        .unwrap_or_default();
    match i.kept {
        Some((what, at)) => format!(
            "interrupted{after}; kept {what} in {} and wrote nothing{to}.\n\
             Continue with the same command and --resume.",
            at.display()
        ),
        None => format!(
            "interrupted{after}; wrote nothing{to}, and kept nothing: this command keeps no \
             checkpoint, so running it again starts afresh."
        ),
    }
}

fn signal_name(signal: i32) -> &'static str {
    if signal == SIGTERM {
        "terminated (SIGTERM)"
    } else {
        "interrupted (SIGINT)"
    }
}

/// Says, on stderr, which events a replay under another model leaves out
/// (`--set run.model=v2` on a file that writes v3's holds): every command
/// that loads a scenario says it, `--quiet` or not.
pub(crate) fn say_left_out_events(loaded: &armsim::scenario::Loaded) {
    for event in &loaded.left_out_events {
        eprintln!(
            "note: {}: {event} is left out: model {} does not read it",
            loaded.origin,
            loaded.scenario.model().name()
        );
    }
}

/// 128 + the signal: 130 after SIGINT, 143 after SIGTERM.
fn exit_status(signal: i32) -> u8 {
    if signal == SIGTERM { 143 } else { 130 }
}

/// Says a lifecycle's [`Notice`]s on stderr (all but warnings only without
/// `--quiet`), for a study, a comparison or a campaign (`what`, counted in
/// `units`).
pub(crate) fn notice_printer(
    quiet: bool,
    what: &'static str,
    units: &'static str,
) -> impl FnMut(Notice<'_>) {
    let mut failures: Vec<String> = Vec::new();
    move |n: Notice<'_>| match n {
        Notice::Resuming {
            checkpoint,
            done,
            total,
        } if !quiet => eprintln!(
            "resuming from {}: {} of {} {units} already done",
            checkpoint.display(),
            output::thousands(done),
            output::thousands(total)
        ),
        Notice::NoCheckpoint { checkpoint } if !quiet => eprintln!(
            "no checkpoint at {}: starting from the beginning",
            checkpoint.display()
        ),
        Notice::ReplacingCheckpoint { checkpoint } if !quiet => eprintln!(
            "note: {} holds an interrupted {what}; this run starts afresh and replaces it \
             (--resume would continue it)",
            checkpoint.display()
        ),
        Notice::CheckpointFailed { error, .. } => {
            // Once per distinct failure: a full disk fails every round.
            let message = error.to_string();
            if !failures.contains(&message) {
                eprintln!(
                    "warning: cannot save a checkpoint ({}); carrying on without one",
                    armsim_error_text(error)
                );
                failures.push(message);
            }
        }
        Notice::LargeRuns { file, estimated } if !quiet => eprintln!(
            "note: {file} will be about {}",
            runner::human_bytes(estimated)
        ),
        Notice::StaleCheckpoint { error, .. } => {
            eprintln!("warning: {}", armsim_error_text(error));
        }
        Notice::Placed { placement } if !quiet => say_placement(placement),
        _ => {}
    }
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let loaded = load(&args.scenario)?;
    if loaded.model_defaulted && !args.quiet {
        eprintln!(
            "note: {} has no [run] model key, so it runs model v1 as it always did; \
             add model = \"v3\" to run the current model",
            loaded.origin
        );
    }
    let interrupts = Interrupts::listen(args.quiet);
    let quiet = args.quiet;
    let mut notice = notice_printer(quiet, "study", "runs");
    let mut runner = Runner::new(&loaded)
        .threads(args.threads)
        .resume(args.checkpoints.resume)
        .checkpoint_every(args.checkpoints.every)
        .cancel(&interrupts.flag)
        .keep_runs(
            args.keep_runs,
            match args.keep_runs_format {
                KeepFormat::Csv => RunsFormat::Csv,
                KeepFormat::Arrow => RunsFormat::Arrow,
            },
        )
        .runs_size_limit((!args.allow_large_runs).then_some(runner::RUNS_LIMIT_BYTES))
        .plots(!args.no_plots)
        .command_line(command_line());
    if let Some(dir) = &args.out {
        runner = runner.out(dir);
    }
    if let Some(shard) = args.shard {
        runner = runner.shard(shard);
    }
    let plan = runner.plan();
    let total = plan.range.end - plan.range.start;
    let bar = progress_bar(total, args.quiet);
    let mut on_progress = |done: u64| {
        // The first report of a resumed study: start the bar there, so the
        // rate and time left count only new runs.
        if bar.position() == 0 && done > 0 {
            bar.reset_eta();
        }
        bar.set_position(done);
    };
    let finished = runner
        .on_progress(&mut on_progress)
        .on_notice(&mut notice)
        .run();
    bar.finish_and_clear();
    let finished = finished?;
    if let Finished::Interrupted(i) = &finished {
        say_interrupted(Interruption {
            done: Some(format!(
                "{} of {} runs",
                output::thousands(i.done),
                output::thousands(i.total)
            )),
            kept: Some(("them", &i.checkpoint)),
            out: Some(&i.dir),
        });
        return Ok(interrupts.exit_code());
    }
    if !args.quiet {
        say_finished_study(&loaded, args.shard, &finished);
    }
    Ok(ExitCode::SUCCESS)
}

/// What a finished `armsim run` prints: a shard's runs and state file, or
/// a study's headline table, rate and files.
fn say_finished_study(loaded: &scenario::Loaded, shard: Option<Shard>, finished: &Finished) {
    match finished {
        Finished::Shard(s) => {
            let shard = shard.expect("a shard run");
            say!(
                "shard {}/{} of {}: runs {}..{} in {:.2} s ({})\nwrote {}",
                shard.index,
                shard.count,
                loaded.title(),
                s.range.start,
                s.range.end,
                s.elapsed_seconds,
                plural(s.threads as u64, "thread"),
                s.state_file.display()
            );
        }
        Finished::Study(done) => {
            print_result(loaded, &done.summary, &done.files);
            say!(
                "{} runs in {:.2} s ({} runs/s, {}), seed {}",
                output::thousands(done.summary.runs()),
                done.elapsed_seconds,
                output::thousands(rate(done.summary.runs(), done.elapsed_seconds)),
                plural(done.threads as u64, "thread"),
                loaded.scenario.seed()
            );
            print_files(&done.files);
        }
        _ => {}
    }
}

/// Says where the output rule put a result, when it matters: beside
/// earlier results of other settings (kept), or over one in the directory
/// the user named. Silent when nothing earlier was there or the earlier
/// result had the same settings (the same bits).
pub(crate) fn say_placement(placement: &armsim::files::Placement) {
    if let Some(first) = placement.kept.first() {
        let others = match placement.kept.len() {
            1 => String::new(),
            n => format!(" (as do {} numbered beside it)", n - 1),
        };
        eprintln!(
            "note: {} holds an earlier result of other settings{others}; keeping it, and \
             writing this one to {}",
            first.display(),
            placement.dir.display()
        );
    } else if placement.replaced_other() {
        eprintln!(
            "note: {} holds an earlier result of other settings; replacing it, as --out names it",
            placement.dir.display()
        );
    }
}

/// The message of a library error, with its causes but no repeats.
fn armsim_error_text(error: &(dyn std::error::Error + 'static)) -> String {
    crate::error_text(error)
}

fn plural(n: u64, word: &str) -> String {
    format!(
        "{} {word}{}",
        output::thousands(n),
        if n == 1 { "" } else { "s" }
    )
}

fn rate(runs: u64, seconds: f64) -> u64 {
    (runs as f64 / seconds.max(1e-9)) as u64
}

fn print_result(loaded: &Loaded, summary: &Summary, _files: &[PathBuf]) {
    say!(
        "{}",
        output::headline(&loaded.title(), &loaded.scenario, summary)
    );
}

fn print_files(files: &[PathBuf]) {
    if let Some(dir) = files.first().and_then(|f| f.parent()) {
        let names: Vec<String> = files
            .iter()
            .filter_map(|f| f.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        say!("wrote {}/: {}", dir.display(), names.join(", "));
    }
}

fn validate(args: ScenarioArgs) -> Result<ExitCode> {
    let loaded = load(&args)?;
    let s = &loaded.scenario;
    say!("{}: valid", loaded.origin);
    say!(
        "  \"{}\": model {}, {} runs x {} quarters ({} to {}), seed {}, {} procurement",
        loaded.title(),
        s.model(),
        s.runs(),
        s.quarters(),
        s.start(),
        s.label(s.quarters() - 1),
        s.seed(),
        s.procurement().name()
    );
    if loaded.model_defaulted {
        say!(
            "  note: the file has no [run] model key, so it runs model v1 as it always did; \
             add model = \"v3\" for the current model"
        );
    }
    say!("  buyer: {}", s.buyer_name());
    say_suppliers(s);
    say_backlog_and_timeline(s);
    for &(a, b) in s.compare() {
        say!(
            "  compares: {} vs {}",
            s.suppliers()[a].name(),
            s.suppliers()[b].name()
        );
    }
    say!(
        "  would write: {}/ (scenario hash {})",
        runner::default_dir(std::path::Path::new(runner::OUTPUT_ROOT), &loaded, None).display(),
        &loaded.hash[..12]
    );
    Ok(ExitCode::SUCCESS)
}

/// `armsim validate`'s suppliers, in adaptation order, with their starting
/// state and stance.
fn say_suppliers(s: &armsim::model::Scenario) {
    use armsim::model::SupplierParam as S;
    say!("  suppliers (in adaptation order):");
    for sup in s.suppliers() {
        let p = sup.params();
        let base = match s.model() {
            armsim::model::ModelVersion::V1 => format!("share {:<6}", p[S::Share]),
            armsim::model::ModelVersion::V2 | armsim::model::ModelVersion::V3 => format!(
                "stock {:<7} recent {:<6}",
                p[S::Stock],
                p[S::RecentDeliveries]
            ),
        };
        say!(
            "    {:<12} {base} support {:<5} price {:<5} veto {}",
            sup.name(),
            p[S::Support],
            p[S::Price],
            if p.is_set(S::Veto) { "yes" } else { "no" }
        );
    }
}

/// `armsim validate`'s known orders and timeline of events.
fn say_backlog_and_timeline(s: &armsim::model::Scenario) {
    if !s.backlog().is_empty() {
        say!("  known orders (backlog):");
        for b in s.backlog() {
            say!(
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
        say!("  timeline (INDEX as --set events.INDEX.KEY counts):");
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
            say!(
                "    events.{:<3} {}  {entity}.{param} {} {}{note}",
                e.index,
                s.label(e.quarter),
                e.op.name(),
                e.value
            );
        }
    }
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
    use armsim::model::{BuyerParam, SupplierParam, WorldParam};
    let loaded = load(&args)?;
    let s = &loaded.scenario;
    let model = s.model();
    say!(
        "Parameters of {} (model {model}); change any with --set PATH=VALUE.\n\
         Each is listed in words, with its symbol in docs/model.md, then its path, value,\n\
         role, allowed values and the documented range that `--vary PATH` and `--param PATH`\n\
         sweep when given no range (the page's sliders span it too). Roles: \"start\" is a\n\
         starting value the model then changes (hold a stance or discount with\n\
         hold_support / hold_discount = true); \"fixed\" stays as set unless an event\n\
         changes it; \"initial\" only sets up the start.\n",
        loaded.origin
    );
    say_run_keys(s);
    param_table::<WorldParam>("world", s.world(), model);
    param_table::<BuyerParam>("buyer", s.buyer(), model);
    let names: Vec<&str> = s.suppliers().iter().map(|x| x.name()).collect();
    say!(
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
            .map(|x| format!("{} {}", x.name(), param_value(x.params()[p], p)))
            .collect();
        param_entry(p, format!("suppliers.NAME.{}", p.name()), values.join(", "));
    }
    say!(
        "\nEvents change world, buyer and supplier parameters at a quarter: see the [[events]] of the file\n\
         (`armsim validate FILE` lists them with the INDEX that --set events.INDEX.KEY uses)."
    );
    Ok(ExitCode::SUCCESS)
}

/// `armsim params`' run settings: each key, what it means and its value.
fn say_run_keys(s: &armsim::model::Scenario) {
    say!("run");
    for (key, meaning) in RUN_KEYS {
        let value = match key {
            "name" => format!("{:?}", s.name()),
            "model" => format!("{:?}", s.model().name()),
            "start" => s.start().to_string(),
            "quarters" => s.quarters().to_string(),
            "runs" => s.runs().to_string(),
            "seed" => s.seed().to_string(),
            "procurement" => format!("{:?}", s.procurement().name()),
            _ => format!("{} pairs", s.compare().len()),
        };
        say!("  {meaning}\n      run.{key} = {value}");
    }
}

/// One parameter in `armsim params`: its label and symbol, path and
/// value, role, allowed values and documented range, and meaning. The
/// allowed values bound what --set accepts; the documented range is what
/// `--vary PATH` and `--param PATH` explore when given no range, and the
/// page's slider: much narrower.
fn param_entry<P: Param>(p: P, path: String, value: String) {
    let (lo, hi) = p.range();
    let sweep = if p.domain().is_flag() {
        String::new()
    } else {
        format!("; sweeps {lo} to {hi}")
    };
    say!(
        "  {} ({})\n      {path} = {value}   [{}; allowed {}{sweep}]\n      {}",
        p.label(),
        p.symbol(),
        p.role().word(),
        p.domain().notation(),
        p.description()
    );
}

/// A section's parameters (those of the scenario's model) in `armsim
/// params`.
fn param_table<P: Param>(
    section: &str,
    values: &armsim::model::Params<P>,
    model: armsim::model::ModelVersion,
) {
    say!("\n{section}");
    for &p in P::ALL.iter().filter(|p| p.models().includes(model)) {
        param_entry(
            p,
            format!("{section}.{}", p.name()),
            param_value(values[p], p),
        );
    }
}

/// A parameter's value as `--set` takes it: `true`/`false` for a flag.
fn param_value<P: Param>(x: f64, p: P) -> String {
    if p.domain().is_flag() {
        (x == 1.0).to_string()
    } else {
        x.to_string()
    }
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
    let threads = armsim::executor::resolve_threads(args.threads);
    if !args.json {
        say!(
            "{}: {} runs x {} quarters, {} suppliers, {} procurement, {}",
            s.id(),
            output::thousands(s.runs()),
            s.quarters(),
            s.suppliers().len(),
            s.procurement().name(),
            plural(threads as u64, "thread")
        );
    }
    let mut rates = Vec::new();
    for i in 0..args.repeat {
        let outcome = Study::new(s).threads(args.threads).run()?;
        let secs = outcome.elapsed.as_secs_f64();
        let rate = s.runs() as f64 / secs.max(1e-9);
        if !args.json {
            say!(
                "run {}: {} runs in {:.3} s: {} runs/s, {:.3e} quarter-steps/s",
                i + 1,
                output::thousands(s.runs()),
                secs,
                output::thousands(rate as u64),
                rate * s.quarters() as f64
            );
        }
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let peak = peak_memory();
    if args.json {
        let json = serde_json::json!({
            "scenario_id": s.id(),
            "runs": s.runs(),
            "quarters": s.quarters(),
            "suppliers": s.suppliers().len(),
            "procurement": s.procurement().name(),
            "threads": threads,
            "repeat": args.repeat,
            "runs_per_second": rates,
            "median_runs_per_second": median,
            "median_quarter_steps_per_second": median * s.quarters() as f64,
            "peak_memory_bytes": peak,
            "armsim_version": env!("CARGO_PKG_VERSION"),
            "build": armsim::manifest::build(),
        });
        say!("{json}");
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "median: {} runs/s, {:.3e} quarter-steps/s",
        output::thousands(median as u64),
        median * s.quarters() as f64
    );
    match peak {
        Some(bytes) => say!("peak memory: {:.1} MB", bytes as f64 / 1e6),
        None => say!("peak memory: unknown on this platform"),
    }
    Ok(ExitCode::SUCCESS)
}

fn merge(args: MergeArgs) -> Result<ExitCode> {
    use armsim::experiment::campaign;
    // Shards of a sweep or sensitivity analysis carry a campaign's state.
    if args.shards.iter().all(|p| campaign::is_campaign_shard(p)) {
        let states = args
            .shards
            .iter()
            .map(|p| campaign::load_shard(p))
            .collect::<Result<Vec<_>, _>>()?;
        let quiet = args.quiet;
        let written = campaign::merge_placed(
            &states,
            args.out.clone(),
            !args.no_plots,
            &command_line(),
            &mut |p| {
                if !quiet {
                    say_placement(p);
                }
            },
        )?;
        if !args.quiet {
            let campaign = states[0].campaign()?;
            say!("merged {} shards of a campaign\n", states.len());
            experiment::print_campaign(&campaign, &written);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut merge = Merge::new(&args.shards)
        .plots(!args.no_plots)
        .command_line(command_line());
    if let Some(dir) = &args.out {
        merge = merge.out(dir);
    }
    let quiet = args.quiet;
    let merged = merge.run_placed(&mut |p| {
        if !quiet {
            say_placement(p);
        }
    })?;
    if !args.quiet {
        let longest = merged
            .shards
            .iter()
            .map(|s| s.elapsed_seconds)
            .fold(0.0, f64::max);
        say!(
            "merged {} shards ({} runs): {:.2} s of shard time in all, the longest shard \
             {:.2} s, {} in all\n",
            merged.shards.len(),
            output::thousands(merged.summary.runs()),
            merged.elapsed_seconds,
            longest,
            plural(merged.threads, "thread")
        );
        print_result(&merged.loaded, &merged.summary, &merged.files);
        say!(
            "{} runs, seed {}",
            output::thousands(merged.summary.runs()),
            merged.loaded.scenario.seed()
        );
        print_files(&merged.files);
    }
    Ok(ExitCode::SUCCESS)
}

fn calibrate(args: CalibrateArgs) -> Result<ExitCode> {
    use armsim::calibrate::run::{self as cal, Calibration, CalibrationError, CalibrationProgress};
    if args.scenario.is_dir() {
        return evaluate::calibrate_cases(
            &args.scenario,
            &args.fit,
            args.threads,
            args.out.as_deref(),
            args.quiet,
        );
    }
    if !args.fit.is_empty() {
        anyhow::bail!(
            "--fit is for a directory of case scenarios; a scenario's [calibration] section \
             names the parameters it fits"
        );
    }
    let loaded = calibration_scenario(&args)?;
    let base = match args.scenario.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let calibration = match Calibration::new(&loaded, &base) {
        Err(CalibrationError::Spec(e)) => {
            for issue in &e.issues {
                eprintln!("error: {}", issue.diagnostic);
            }
            eprintln!("error: the [calibration] section is invalid; nothing was run or written");
            return Ok(ExitCode::from(1));
        }
        other => other?,
    };
    let placement = calibration.placement(
        args.out.as_deref(),
        std::path::Path::new(runner::OUTPUT_ROOT),
    )?;
    if !args.quiet {
        say_placement(&placement);
    }
    let dir = placement.dir;
    let interrupts = Interrupts::listen(args.quiet);
    let bar = if args.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    let quiet = args.quiet;
    let mut printer = notice_printer(quiet, "calibration", "generations");
    // Said with the spinner out of the way.
    let mut notices = |n: Notice<'_>| bar.suspend(|| printer(n));
    let mut on_progress = |p: &CalibrationProgress| bar.set_message(calibration_progress(p));
    let started = Instant::now();
    let result = calibration
        .threads(args.threads)
        .resume(args.resume)
        .cancel(&interrupts.flag)
        .progress(&mut on_progress)
        .on_notice(&mut notices)
        .run_into(&dir, &command_line());
    bar.finish_and_clear();
    let written = match result {
        Err(CalibrationError::Cancelled) => {
            say_interrupted(Interruption {
                done: None,
                kept: Some(("the complete generations", &cal::checkpoint_dir(&dir))),
                out: Some(&dir),
            });
            return Ok(interrupts.exit_code());
        }
        other => other?,
    };
    if !args.quiet {
        say_calibrated(&written, started.elapsed());
    }
    Ok(ExitCode::SUCCESS)
}

/// The scenario `armsim calibrate` fits, with `--set` applied.
fn calibration_scenario(args: &CalibrateArgs) -> Result<scenario::Loaded> {
    let loaded = scenario::load_file(&args.scenario, &args.set)?;
    if !loaded.left_out_events.is_empty() {
        // Its calibrated file would name a model that cannot read them.
        anyhow::bail!(
            "{}: model {} does not read {}; calibrate a scenario under the model it names",
            loaded.origin,
            loaded.scenario.model().name(),
            loaded.left_out_events.join(", ")
        );
    }
    Ok(loaded)
}

/// The spinner's message for a calibration's progress.
fn calibration_progress(p: &armsim::calibrate::run::CalibrationProgress) -> String {
    use armsim::calibrate::run::CalibrationProgress;
    match p {
        CalibrationProgress::Start { stage, .. } => stage.name().to_string(),
        CalibrationProgress::Abc { stage, progress } => format!(
            "{}: generation {}, tolerance {:.4}, {}/{} accepted, {} simulations",
            stage.name(),
            progress.generation,
            progress.epsilon,
            output::thousands(progress.accepted as u64),
            output::thousands(progress.population as u64),
            output::thousands(progress.total_simulations)
        ),
        CalibrationProgress::Runs { stage, done, total } => format!(
            "{}: {} of {} runs",
            stage.name(),
            output::thousands(*done),
            output::thousands(*total)
        ),
    }
}

/// What a finished calibration prints: its summary, its time and its files.
fn say_calibrated(written: &armsim::calibrate::run::CalibrationWritten, elapsed: Duration) {
    say!("{}", armsim::calibrate::report::summary_text(&written.fit));
    say!(
        "calibrated in {:.1} s ({} simulations, {})",
        elapsed.as_secs_f64(),
        output::thousands(written.fit.abc_simulations()),
        plural(written.fit.threads as u64, "thread")
    );
    let names: Vec<String> = written
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    say!("wrote {}/: {}", written.dir.display(), names.join(", "));
}

#[cfg(test)]
mod tests {
    //! The README and the pages in `docs/` are tests: every `armsim` command
    //! they show in a shell block must parse with this command line (the
    //! integration tests run the quick start and the experiments for real).

    use super::{Cli, Interruption, interrupted_text};
    use clap::Parser;
    use std::path::Path;

    #[test]
    fn every_command_s_options_of_the_same_name_have_the_same_short_form() {
        // A newcomer who learnt `-q` on `run` can use it on every command
        // that can be quiet; likewise `-o`-style habits for any shared name.
        use clap::CommandFactory;
        let cli = Cli::command();
        let mut shorts: std::collections::BTreeMap<String, Vec<(String, Option<char>)>> =
            Default::default();
        for command in cli.get_subcommands() {
            for arg in command.get_arguments() {
                if let Some(long) = arg.get_long() {
                    shorts
                        .entry(long.to_string())
                        .or_default()
                        .push((command.get_name().to_string(), arg.get_short()));
                }
            }
        }
        for (long, uses) in &shorts {
            let first = uses[0].1;
            for (command, short) in uses {
                assert_eq!(
                    *short, first,
                    "--{long} is -{first:?} on {} but -{short:?} on {command}",
                    uses[0].0
                );
            }
        }
        assert_eq!(shorts["quiet"].len(), 8, "{:?}", shorts["quiet"]);
    }

    #[test]
    fn every_command_reports_an_interruption_in_one_form() {
        let kept = interrupted_text(&Interruption {
            done: Some("412 of 60,000 runs".into()),
            kept: Some(("them", Path::new(".out.checkpoint"))),
            out: Some(Path::new("out")),
        });
        assert_eq!(
            kept,
            "interrupted after 412 of 60,000 runs; kept them in .out.checkpoint and wrote \
             nothing to out.\nContinue with the same command and --resume."
        );
        let none = interrupted_text(&Interruption {
            done: Some("5 of 10 pairs of runs".into()),
            kept: None,
            out: Some(Path::new("cmp")),
        });
        assert!(
            none.starts_with("interrupted after 5 of 10 pairs of runs; wrote nothing to cmp")
                && none.contains("keeps no checkpoint"),
            "{none}"
        );
    }

    /// Splits a shell line into words: whitespace, single and double quotes,
    /// and a `#` comment outside quotes. Enough for the docs' commands.
    fn words(line: &str) -> Vec<String> {
        let (mut out, mut word, mut quote, mut in_word) = (Vec::new(), String::new(), None, false);
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    in_word = true
                }
                (None, '#') if !in_word => break,
                (None, c) if c.is_whitespace() => {
                    if in_word {
                        out.push(std::mem::take(&mut word));
                        in_word = false
                    }
                }
                (None, c) => {
                    word.push(c);
                    in_word = true
                }
            }
        }
        if in_word {
            out.push(word);
        }
        out
    }

    /// Every armsim command line in the shell blocks of a Markdown text:
    /// `armsim ARGS` or `cargo run --release -- ARGS`, continuation lines
    /// joined.
    fn commands(markdown: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        let mut in_shell = false;
        let mut pending = String::new();
        for line in markdown.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("```") {
                in_shell = !in_shell && matches!(trimmed, "```sh" | "```bash" | "```console");
                continue;
            }
            if !in_shell {
                continue;
            }
            pending.push_str(trimmed.trim_end_matches('\\'));
            pending.push(' ');
            if trimmed.ends_with('\\') {
                continue;
            }
            let line = words(&std::mem::take(&mut pending));
            let args = match line.iter().position(|w| w == "--") {
                Some(dash) if line.starts_with(&["cargo".into(), "run".into()]) => {
                    &line[dash + 1..]
                }
                _ if line.first().is_some_and(|w| w == "armsim") => &line[1..],
                _ => continue,
            };
            let mut argv = vec!["armsim".to_string()];
            argv.extend(args.iter().cloned());
            out.push(argv);
        }
        out
    }

    #[test]
    fn the_tokenizer_keeps_quotes_and_drops_comments() {
        assert_eq!(
            words(r#"armsim run --set 'run.name="a b"' # a comment"#),
            ["armsim", "run", "--set", r#"run.name="a b""#]
        );
        let md = "```sh\narmsim sweep --vary a \\\n  --vary b\ncargo run --release -- serve --open\ncargo test\n```\narmsim not-in-a-block\n";
        assert_eq!(
            commands(md),
            [
                vec!["armsim", "sweep", "--vary", "a", "--vary", "b"],
                vec!["armsim", "serve", "--open"]
            ]
        );
    }

    #[test]
    fn every_command_the_readme_and_docs_show_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut pages = vec![root.join("README.md")];
        for entry in std::fs::read_dir(root.join("docs")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
        let mut checked = 0;
        for page in &pages {
            let text = std::fs::read_to_string(page).unwrap();
            for argv in commands(&text) {
                if let Err(e) = Cli::try_parse_from(&argv) {
                    panic!(
                        "{}: `{}` does not parse:\n{e}",
                        page.display(),
                        argv.join(" ")
                    );
                }
                checked += 1;
            }
        }
        // The README alone shows more than twenty commands: finding none
        // would mean the extraction broke, not that the docs are right.
        assert!(checked > 20, "only {checked} commands found");
    }
}
