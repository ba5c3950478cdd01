//! The calibration lifecycle: reproducible whatever the threads, resumable
//! to the same bits, and right on known truth.

use std::path::{Path, PathBuf};

use super::*;
use crate::calibrate::prior::Prior;
use crate::model::{BuyerParam, Param as _};
use crate::scenario::{load_shipped, load_str};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// The Myanmar history scenario with a small calibration section: two
/// parameters, the three share windows and one lumpiness window, and small
/// settings, so a whole calibration takes well under a second.
fn small(extra: &str) -> Loaded {
    let text = include_str!("../../../scenarios/myanmar_history.toml");
    let model = &text[..text
        .find("\n[calibration]\n")
        .expect("a calibration section")];
    let section = format!(
        r#"
[calibration]
data = "../data/myanmar_imports_sipri_tiv.csv"
others = "Others"
forecast = "myanmar_2021.toml"
population = 100
initial_draws = 400
pilot_draws = 100
max_generations = 4
min_acceptance_rate = 0.05
predictive_particles = 10
predictive_runs = 2
forecast_particles = 3
forecast_runs = 4
forecast_outcomes = ["rolling_share:Russia@end", "support:China@end"]
{extra}

[calibration.groups]
Russia = ["Russia", "Soviet Union"]
China = ["China"]
India = ["India"]

[[calibration.params]]
path = "buyer.support_weight"

[[calibration.params]]
path = "buyer.dependence_weight"

[[calibration.targets]]
kind = "shares"
years = "2006..2010"
scale = 0.05

[[calibration.targets]]
kind = "shares"
years = "2011..2015"
scale = 0.05

[[calibration.targets]]
kind = "shares"
years = "2016..2020"
scale = 0.05

[[calibration.targets]]
kind = "lumpiness"
years = "2016..2020"
"#
    );
    load_str(
        &format!("{model}{section}"),
        "small",
        "scenarios/small.toml",
        &[],
    )
    .unwrap()
}

fn particles(fit: &Fit) -> Vec<u64> {
    fit.smc
        .population
        .particles()
        .iter()
        .chain(fit.smc.population.weights())
        .map(|x| x.to_bits())
        .collect()
}

#[test]
fn a_calibration_is_the_same_bits_whatever_the_threads() {
    let loaded = small("");
    let one = Calibration::new(&loaded, &scenarios_dir())
        .unwrap()
        .threads(1)
        .run()
        .unwrap();
    let two = Calibration::new(&loaded, &scenarios_dir())
        .unwrap()
        .threads(2)
        .run()
        .unwrap();
    assert_eq!(particles(&one), particles(&two));
    assert_eq!(one.scales, two.scales);
    assert_eq!(one.calibrated_forecast, two.calibrated_forecast);
    assert_eq!(one.forecast.pooled, two.forecast.pooled);
    assert_eq!(one.forecast.summary, two.forecast.summary);
    assert_eq!(one.bands, two.bands);
    assert_eq!(one.threads, 1);
    // Generation 0 is the rejection baseline, with equal weights.
    assert_eq!(one.rejection.generation(), 0);
    assert!(one.rejection.weights().iter().all(|&w| w == 0.01));
    assert!(one.smc.population.generation() >= 1);
    // The observed statistics are SIPRI's: Russia's 2006-10 share is
    // 353 of 530 TIV.
    assert!((one.observed[0] - 353.0 / 530.0).abs() < 1e-12);
    // The forecast ran 3 particles x 4 runs of the 40-quarter baseline.
    assert_eq!(one.forecast.summary.runs(), 12);
    assert_eq!(one.forecast.pooled[0].n, 12);
}

#[test]
fn a_resumed_calibration_ends_with_the_same_bits() {
    let loaded = small("");
    let dir = tempfile::tempdir().unwrap();
    let whole = Calibration::new(&loaded, &scenarios_dir())
        .unwrap()
        .run()
        .unwrap();
    // Stop after two generations, checkpointing them...
    let part = Calibration::new(&loaded, &scenarios_dir())
        .unwrap()
        .settings(|s| s.max_generations = 2)
        .checkpoints(dir.path())
        .run()
        .unwrap();
    assert_eq!(part.smc.population.generation(), 1);
    assert!(dir.path().join(generation_file(1)).exists());
    // ...and continue from the latest to the full four.
    let resumed = Calibration::new(&loaded, &scenarios_dir())
        .unwrap()
        .checkpoints(dir.path())
        .resume(true)
        .run()
        .unwrap();
    assert_eq!(resumed.resumed_from, Some(1));
    assert_eq!(particles(&resumed), particles(&whole));
    assert_eq!(resumed.rejection, whole.rejection);
    assert_eq!(resumed.calibrated_forecast, whole.calibrated_forecast);
    // Another seed's checkpoints are refused, not silently continued.
    let other = small("seed = 7");
    let err = Calibration::new(&other, &scenarios_dir())
        .unwrap()
        .checkpoints(dir.path())
        .resume(true)
        .run()
        .unwrap_err();
    assert!(
        matches!(err, CalibrationError::Abc(AbcError::ResumeMismatch { .. })),
        "{err}"
    );
}

#[test]
fn a_cancelled_calibration_says_so() {
    let loaded = small("");
    let flag = AtomicBool::new(true);
    let err = Calibration::new(&loaded, &scenarios_dir())
        .unwrap()
        .cancel(&flag)
        .run()
        .unwrap_err();
    assert!(matches!(err, CalibrationError::Cancelled), "{err}");
}

/// Simulation-based calibration (Cook, Gelman & Rubin 2006; Talts et al.
/// 2018): draw the truth from the prior, simulate one record from it, fit
/// it. A correct posterior's 90% interval holds the truth in 90% of such
/// trials, over the prior; ABC at a finite tolerance is if anything wider.
/// Twelve trials with a fixed seed: the truth must be inside the interval in
/// at least nine for each parameter (under correct 90% coverage, fewer than
/// nine happen with probability 2.6%), and the posterior must be narrower
/// than the prior for the parameter the record identifies, so that a
/// calibration that returned its prior would fail.
#[test]
fn posteriors_cover_known_truth() {
    let loaded = small("");
    let calibration = || Calibration::new(&loaded, &scenarios_dir()).unwrap();
    let params: Vec<Prior> = calibration()
        .spec()
        .params
        .iter()
        .map(|p| p.prior)
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let trials = 12;
    let mut covered = [0; 2];
    let mut ratio = [0.0; 2];
    for trial in 0..trials {
        let truth: Vec<f64> = params.iter().map(|p| p.sample(&mut rng)).collect();
        let c = calibration();
        let data = c.synthetic(&truth, 1000 + trial).unwrap();
        let fit = c
            .observed(data)
            .unwrap()
            .settings(|s| s.seed = trial)
            .run()
            .unwrap();
        let post = &fit.posterior;
        for k in 0..2 {
            if (post.q05[k]..=post.q95[k]).contains(&truth[k]) {
                covered[k] += 1;
            }
            ratio[k] += fit.sd_ratio()[k] / trials as f64;
        }
    }
    for (k, name) in ["support_weight", "dependence_weight"].iter().enumerate() {
        assert!(
            covered[k] >= 9,
            "{name}: the truth was in the 90% interval in {} of {trials} trials",
            covered[k]
        );
    }
    assert!(
        ratio[0] < 0.8,
        "support_weight: posterior sd {:.2} of the prior's on average",
        ratio[0]
    );
}

#[test]
fn the_calibrated_file_loads_tags_its_values_and_rewrites_itself() {
    let loaded = small("");
    let fit = Calibration::new(&loaded, &scenarios_dir())
        .unwrap()
        .settings(|s| s.max_generations = 2)
        .run()
        .unwrap();
    // Pretend the data identify support_weight and not dependence_weight.
    let identified = [true, false];
    let values = [0.6173, 8.0];
    let source = report::Provenance {
        scenario: "scenarios/small.toml".into(),
        seed: 1,
        population: 100,
        generations: 2,
        epsilon: 1.5,
        simulations: 900,
    };
    let baseline = load_shipped("myanmar_2021", &[]).unwrap().unwrap();
    let text = report::calibrated_text(
        &baseline.text,
        &fit.spec.params,
        &values,
        &identified,
        &fit.priors,
        &fit.posterior,
        &source,
    )
    .unwrap();
    let again = load_str(&text, "calibrated", "calibrated.toml", &[]).unwrap();
    let s = &again.scenario;
    assert_eq!(s.buyer()[BuyerParam::SupportWeight], 0.6173);
    assert_eq!(s.buyer()[BuyerParam::DependenceWeight], 8.0);
    // Everything else is the baseline's.
    let mut expected = baseline.scenario.clone();
    expected
        .set_param(Target::Buyer(BuyerParam::SupportWeight), 0.6173)
        .unwrap();
    assert_eq!(again.scenario.buyer(), expected.buyer());
    assert_eq!(again.scenario.suppliers(), expected.suppliers());
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap()
            .to_string()
    };
    let support = line("support_weight");
    assert!(
        support.starts_with("support_weight = 0.6173     # beta_support: the junta values"),
        "{support}"
    );
    assert!(
        support.contains("[A, C]; posterior median, 90% interval ["),
        "{support}"
    );
    let dependence = line("dependence_weight");
    assert!(
        dependence.contains("[A, J]; not identified by calibration"),
        "{dependence}"
    );
    assert!(text.starts_with("# Calibrated: the [C] values are posterior medians"));
    // Calibrating the calibrated file again replaces its notes.
    let twice = report::calibrated_text(
        &text,
        &fit.spec.params,
        &values,
        &identified,
        &fit.priors,
        &fit.posterior,
        &source,
    )
    .unwrap();
    assert_eq!(twice, text);
    assert_eq!(twice.matches("# Calibrated:").count(), 1);
}

#[test]
fn resampling_seeds_and_rounding() {
    // Systematic resampling: weights 0.5, 0.25, 0.25 over 4 draws give each
    // particle 2, 1 and 1 copies whatever the offset.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..20 {
        let mut picked = resample(&[0.5, 0.25, 0.25], 4, &mut rng);
        picked.sort();
        assert_eq!(picked, [0, 0, 1, 2]);
    }
    assert!(resample(&[0.0, 0.0], 3, &mut rng).is_empty());
    assert_eq!(significant(0.713_649, 4), 0.7136);
    assert_eq!(significant(14.348, 3), 14.3);
    assert_eq!(significant(-1.2999, 2), -1.3);
    assert_eq!(significant(0.0, 4), 0.0);
    let a = derived_seed(1, "pilot");
    assert_ne!(a, derived_seed(1, "forecast"));
    assert_ne!(a, derived_seed(2, "pilot"));
    assert!(a <= i64::MAX as u64);
    assert_eq!(a, derived_seed(1, "pilot"));
    let _ = BuyerParam::SupportWeight.name();
}

#[test]
fn the_outputs_are_listed_in_the_manifest_and_replace_only_armsims() {
    let loaded = small("");
    let fit = Calibration::new(&loaded, &scenarios_dir())
        .unwrap()
        .settings(|s| s.max_generations = 2)
        .run()
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("out");
    let files = report::write(&dir, &fit, &["armsim".into(), "calibrate".into()]).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["written_by"], "armsim");
    assert_eq!(manifest["kind"], "calibration");
    let listed: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(present, sorted, "every file is listed, and only those");
    assert_eq!(
        files.len(),
        listed.len(),
        "the files returned are those listed"
    );
    for name in [
        "posterior.csv",
        "posterior_summary.csv",
        "fit.csv",
        "forecast.csv",
        "calibrated.toml",
        "calibrated_history.toml",
        "pairs.png",
        "fit_shares.svg",
        "fit_lumpiness.png",
        "forecast_shares.png",
        "generation-000.abcpop",
        "summary.txt",
    ] {
        assert!(listed.iter().any(|f| f == name), "{name}");
    }
    // posterior.csv: a header and one row per particle.
    let csv = std::fs::read_to_string(dir.join("posterior.csv")).unwrap();
    assert!(csv.starts_with(
        "particle,weight,distance,buyer.support_weight,buyer.dependence_weight,\
         share:deliveries:Russia@2006..2010"
    ));
    assert_eq!(csv.lines().count(), 101);
    // The calibrated file runs.
    load_str(
        &std::fs::read_to_string(dir.join("calibrated.toml")).unwrap(),
        "c",
        "c",
        &[],
    )
    .unwrap();
    // A second write replaces the first; a directory of someone else's
    // files is refused and left alone.
    report::write(&dir, &fit, &[]).unwrap();
    let theirs = root.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "mine").unwrap();
    assert!(report::write(&theirs, &fit, &[]).is_err());
    assert_eq!(
        std::fs::read_to_string(theirs.join("notes.txt")).unwrap(),
        "mine"
    );
    // Checkpoint clean-up removes populations only, whatever the names.
    let ckpt = root.path().join(".out.calibration");
    std::fs::create_dir(&ckpt).unwrap();
    fit.rejection.save(&ckpt.join(generation_file(0))).unwrap();
    std::fs::write(ckpt.join("generation-001.abcpop"), "not a population").unwrap();
    remove_checkpoints(&ckpt).unwrap();
    assert!(!ckpt.join(generation_file(0)).exists());
    assert_eq!(
        std::fs::read_to_string(ckpt.join("generation-001.abcpop")).unwrap(),
        "not a population"
    );
    std::fs::remove_file(ckpt.join("generation-001.abcpop")).unwrap();
    fit.rejection.save(&ckpt.join(generation_file(0))).unwrap();
    remove_checkpoints(&ckpt).unwrap();
    assert!(!ckpt.exists());
}
