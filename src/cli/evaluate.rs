//! `armsim evaluate`: score the model's forecasts on the case library
//! against naive baselines. Parses arguments, finds the cases, runs
//! [`armsim::evaluate`] and prints its summary; the library does the work.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use armsim::calibrate::population::Population;
use armsim::evaluate::case::Case;
use armsim::evaluate::fit::FitSettings;
use armsim::evaluate::report::summary_text;
use armsim::evaluate::run::{EvaluateFinished, Evaluator, JointCalibrator, JointFinished};
use armsim::evaluate::zero_years::CONTRACTS_PATH;
use armsim::evaluate::{self, Mode, Timeline};

use super::{Interrupts, command_line, parse_threads};

/// Where the case library lives, from the repository's root.
const LIBRARY: &str = "scenarios/cases";

#[derive(Args)]
pub(super) struct EvaluateArgs {
    /// Case scenarios (TOML files with a [case] section), or directories of
    /// them [default: scenarios/cases]
    cases: Vec<PathBuf>,

    /// Leave one case out: forecast each case from the buyer's preferences
    /// fitted on every other case (ABC-SMC), not from its scenario's values
    #[arg(long)]
    loo: bool,

    /// With --loo, a small fit (40 particles, 2 generations): minutes become
    /// seconds, for a first look and for tests
    #[arg(long, requires = "loo")]
    quick_fit: bool,

    /// A shared parameter to fit with --loo (buyer.KEY, world.KEY or
    /// profile.NAME.KEY), uniform over its documented range. Repeatable
    /// [default: the buyer's support, lock-in, dependence and quality
    /// weights; for v3 cases also the carryover]. Unless named here, the
    /// contracts a quarter is fitted per fold to the other cases' years
    /// without deliveries
    #[arg(long = "fit", value_name = "PATH", requires = "loo")]
    fit: Vec<String>,

    /// Forecast from what was known at the shock: drop each case's events
    /// after its shock's quarter (a sanction's lifting, a later war), rather
    /// than forecasting the market's answer to the whole sourced timeline
    #[arg(long)]
    ex_ante: bool,

    /// Run every case under this model version (v2 or v3) rather than the
    /// one its file names: two versions scored on the same cases. The
    /// output directory's default name ends in the version
    #[arg(long, value_name = "VERSION", value_parser = ["v2", "v3"])]
    model: Option<String>,

    /// Change one value in every case, checked like the files (after
    /// --model). Repeatable; e.g. --set buyer.contracts_per_quarter=1.0.
    /// With --loo, a parameter the folds fit is refused
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,

    /// Monte Carlo runs per case, 1 to 100,000
    #[arg(long, value_name = "N", default_value_t = 1000)]
    runs: u64,

    /// Seed of the leave-one-case-out fits (each case's runs use its own
    /// scenario's seed)
    #[arg(long, value_name = "S", default_value_t = 20_260_101)]
    seed: u64,

    /// Output directory [default: output/evaluate-defaults, or
    /// output/evaluate-loo with --loo; -ex-ante added with --ex-ante]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Continue an interrupted --loo evaluation from its saved folds
    #[arg(long, requires = "loo")]
    resume: bool,

    /// Worker threads [default: all cores]
    #[arg(long, value_name = "T", default_value_t = 0, hide_default_value = true, value_parser = parse_threads)]
    threads: usize,

    /// Write the tables only, no pictures
    #[arg(long)]
    no_plots: bool,

    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
}

/// The case files named by `paths` (directories: their `*.toml` but
/// `profiles.toml`, by name).
fn case_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let default = [PathBuf::from(LIBRARY)];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| {
                    f.extension().is_some_and(|x| x == "toml")
                        && f.file_name()
                            .is_some_and(|n| n != armsim::scenario::profiles::PROFILES_FILE)
                })
                .collect();
            found.sort();
            if found.is_empty() {
                bail!("{}: no case scenarios (*.toml) in it", p.display());
            }
            files.extend(found);
        } else if p.exists() {
            files.push(p.clone());
        } else if paths == default {
            bail!(
                "no case library at {LIBRARY}: run armsim evaluate from the repository's root, or \
                 name the case files or their directory"
            );
        } else {
            bail!("{}: no such file or directory", p.display());
        }
    }
    Ok(files)
}

/// The cases at `paths` (the library by default), under `model` if given
/// and with `set` applied to each,
/// every one that cannot be read named at once.
fn load_cases(paths: &[PathBuf], model: Option<&str>, set: &[String]) -> Result<Vec<Case>> {
    let files = case_files(paths)?;
    let overrides: Vec<String> = model
        .iter()
        .map(|m| format!("run.model={m}"))
        .chain(set.iter().cloned())
        .collect();
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for f in &files {
        match Case::load_with(f, &overrides) {
            Ok(c) => {
                super::say_left_out_events(&c.loaded);
                cases.push(c)
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(cases)
}

/// Refuses a `--set` that would be silently undone: the model (set with
/// `--model`, which names the output) or, with `--loo`, a parameter the
/// folds fit.
fn check_set(args: &EvaluateArgs) -> Result<()> {
    let fitted: Vec<String> = if !args.loo {
        Vec::new()
    } else if args.fit.is_empty() {
        armsim::evaluate::fit::default_shared(armsim::model::ModelVersion::V3)
    } else {
        args.fit.clone()
    };
    for set in &args.set {
        let path = set.split_once('=').map_or(set.as_str(), |(p, _)| p).trim();
        if path == "run.model" {
            bail!("--set {set}: use --model to run the cases under another model version");
        }
        if fitted.iter().any(|f| f == path) || (args.loo && path == CONTRACTS_PATH) {
            bail!(
                "--set {set}: with --loo each fold fits {path} (from the other cases' {}), so \
                 a value set here would be ignored; leave --loo out to evaluate every case at \
                 this value",
                if path == CONTRACTS_PATH && !fitted.iter().any(|f| f == path) {
                    "zero years"
                } else {
                    "shares"
                }
            );
        }
    }
    Ok(())
}

/// An evaluation's default directory name: `evaluate-defaults` or
/// `evaluate-loo`, then `-ex-ante` and the model where given.
fn default_name(args: &EvaluateArgs) -> String {
    format!(
        "evaluate-{}{}{}",
        if args.loo { "loo" } else { "defaults" },
        if args.ex_ante { "-ex-ante" } else { "" },
        args.model
            .as_deref()
            .map(|m| format!("-{m}"))
            .unwrap_or_default()
    )
}

pub(super) fn evaluate(args: EvaluateArgs) -> Result<ExitCode> {
    evaluate::check_runs(args.runs)?;
    check_set(&args)?;
    let cases = load_cases(&args.cases, args.model.as_deref(), &args.set)?;
    let mode = if args.loo {
        Mode::LeaveOneOut
    } else {
        Mode::Defaults
    };
    let timeline = if args.ex_ante {
        Timeline::AtShock
    } else {
        Timeline::Full
    };
    let settings = if args.quick_fit {
        FitSettings::quick(args.seed)
    } else {
        FitSettings::standard(args.seed)
    };
    let interrupts = Interrupts::listen(args.quiet);
    let quiet = args.quiet;
    let n = cases.len();
    let mut progress = |k: usize, id: &str, p: &Population| {
        if !quiet {
            eprintln!(
                "fold {}/{n} ({id}): generation {} done, tolerance {:.3}, {} simulations",
                k + 1,
                p.generation(),
                p.epsilon(),
                p.total_simulations()
            );
        }
    };
    let mut notices = super::notice_printer(quiet, "evaluation", "folds");
    let mut evaluator = Evaluator::new(&cases, mode)
        .timeline(timeline)
        .runs(args.runs)
        .fit_settings(settings)
        .name(default_name(&args))
        .resume(args.resume)
        .threads(args.threads)
        .plots(!args.no_plots)
        .cancel(&interrupts.flag)
        .on_generation(&mut progress)
        .on_notice(&mut notices)
        .command_line(command_line());
    if !args.fit.is_empty() {
        evaluator = evaluator.fit(args.fit.clone());
    }
    if let Some(out) = &args.out {
        evaluator = evaluator.out(out);
    }
    let finished = evaluator.run_placed(&mut |placement| {
        if !quiet {
            super::say_placement(placement);
        }
    })?;
    let done = match finished {
        EvaluateFinished::Done(done) => done,
        EvaluateFinished::Interrupted(stopped) => {
            super::say_interrupted(super::Interruption {
                done: None,
                kept: stopped.kept.as_deref().map(|k| ("the finished folds", k)),
                out: Some(&stopped.dir),
            });
            return Ok(interrupts.exit_code());
        }
        other => bail!("an evaluation ended in an unknown way: {other:?}"),
    };
    if !args.quiet {
        say!("{}", summary_text(&done.evaluation));
        say!(
            "wrote {} files to {} in {:.1} s",
            done.files.len(),
            done.dir.display(),
            done.elapsed_seconds
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `armsim calibrate DIR`: the shared parameters fitted on every case of a
/// directory at once, written to `out` (default
/// `output/<dir>_calibration/`).
pub(super) fn calibrate_cases(
    dir: &Path,
    fit_paths: &[String],
    threads: usize,
    out: Option<&Path>,
    quiet: bool,
) -> Result<ExitCode> {
    let files = case_files(&[dir.to_path_buf()])?;
    let cases = files
        .iter()
        .map(|f| Case::load(f))
        .collect::<Result<Vec<_>, _>>()?;
    let name = dir
        .file_name()
        .map_or_else(|| "cases".into(), |n| n.to_string_lossy().into_owned());
    let interrupts = Interrupts::listen(quiet);
    let mut progress = |p: &Population| {
        if !quiet {
            eprintln!(
                "generation {} done, tolerance {:.3}, {} simulations",
                p.generation(),
                p.epsilon(),
                p.total_simulations()
            );
        }
    };
    let mut calibrator = JointCalibrator::new(&cases, &name)
        .threads(threads)
        .cancel(&interrupts.flag)
        .on_generation(&mut progress)
        .command_line(command_line());
    if !fit_paths.is_empty() {
        calibrator = calibrator.fit(fit_paths.to_vec());
    }
    if let Some(out) = out {
        calibrator = calibrator.out(out);
    }
    let finished = calibrator.run_placed(&mut |placement| {
        if !quiet {
            super::say_placement(placement);
        }
    })?;
    match finished {
        JointFinished::Done(done) => {
            if !quiet {
                say!("{}", done.text);
                say!("wrote {}", done.dir.display());
            }
        }
        JointFinished::Interrupted(stopped) => {
            super::say_interrupted(super::Interruption {
                done: None,
                kept: None,
                out: Some(&stopped.dir),
            });
            return Ok(interrupts.exit_code());
        }
        other => bail!("a calibration ended in an unknown way: {other:?}"),
    }
    Ok(ExitCode::SUCCESS)
}
