//! One test per malformed case of a `[calibration]` section, and the
//! observed statistics of a valid one checked by hand.

use super::*;
use crate::model::BuyerParam;
use crate::scenario::load_str;

const FIXTURE: &str = include_str!("../../../tests/fixtures/minimal_v2.toml");

/// Deliveries 2015-2020 of a made-up buyer: Alpha from `Alphaland`, Beta
/// from `Betaland` and, as the catch-all, `Gammaland`.
const DATA: &str = "year,supplier,tiv_millions
2015,Alphaland,10
2015,Betaland,30
2016,Alphaland,20
2017,Gammaland,10
2018,Alphaland,40
2018,Betaland,20
2019,Betaland,20
2020,Alphaland,5
";

const VALID: &str = r#"
[calibration]
data = "imports.csv"
others = "Beta"
population = 50
initial_draws = 200

[calibration.groups]
Alpha = ["Alphaland"]

[[calibration.params]]
path = "buyer.support_weight"
prior = "uniform"
lo = 0.0
hi = 3.0

[[calibration.params]]
path = "buyer.contracts_per_quarter"
prior = "log_uniform"

[[calibration.targets]]
kind = "shares"
years = "2016..2018"

[[calibration.targets]]
kind = "lumpiness"
years = "2015..2019"
scale = 0.2

[[calibration.targets]]
kind = "total"
years = "2020"
"#;

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("imports.csv"), DATA).unwrap();
        Case { dir }
    }

    fn read(&self, section: &str) -> Result<Spec, SpecError> {
        let text = format!("{FIXTURE}\n{section}");
        let overrides = ["run.start=2015Q1".to_string(), "run.quarters=24".into()];
        let loaded = load_str(&text, "case", "case.toml", &overrides).unwrap();
        Spec::read(&loaded, self.dir.path())
    }

    /// Reads `VALID` with `from` replaced by `to` and expects one issue of
    /// kind `problem` whose field is `field` and whose text mentions `says`.
    fn refuses(&self, from: &str, to: &str, problem: SpecProblem, field: &str, says: &str) {
        assert!(VALID.contains(from), "{from}");
        let err = self.read(&VALID.replacen(from, to, 1)).unwrap_err();
        let issue = err
            .issues
            .iter()
            .find(|i| i.problem == problem)
            .unwrap_or_else(|| panic!("no {problem:?} in {err}"));
        assert_eq!(issue.diagnostic.field, field, "{err}");
        let text = issue.diagnostic.to_string();
        assert!(text.contains(says), "{text} does not say {says}");
        assert!(text.starts_with("case.toml:"), "{text}");
    }
}

#[test]
fn a_valid_section_gives_the_statistics_and_their_observed_values() {
    let case = Case::new();
    let spec = case.read(VALID).unwrap();
    assert_eq!(spec.params.len(), 2);
    assert_eq!(spec.params[0].path, "buyer.support_weight");
    assert_eq!(
        spec.params[0].target,
        Target::Buyer(BuyerParam::SupportWeight)
    );
    assert_eq!(spec.params[0].prior.support(), (0.0, 3.0));
    // No bounds: the documented range, 0.5 to 4 contracts a quarter.
    assert_eq!(spec.params[1].prior.support(), (0.5, 4.0));
    assert_eq!(spec.settings.population, 50);
    assert_eq!(spec.settings.initial_draws, 200);
    assert_eq!(spec.settings.runs_per_simulation, 1);
    assert_eq!(spec.settings.seed, 1, "the scenario's seed by default");
    assert_eq!(spec.targets[0].scale, Scale::Mad);
    assert_eq!(spec.targets[1].scale, Scale::Fixed(0.2));
    let loaded = load_str(
        FIXTURE,
        "x",
        "x",
        &["run.start=2015Q1".into(), "run.quarters=24".into()],
    )
    .unwrap();
    let stats = spec.statistics(&loaded.scenario);
    let names: Vec<&str> = stats.iter().map(|s| s.outcome.as_str()).collect();
    assert_eq!(
        names,
        [
            "share:deliveries:Alpha@2016..2018",
            "share:deliveries:Beta@2016..2018",
            "cv:imports:buyer@2015..2019",
            "sum:imports:buyer@2020..2020"
        ]
    );
    // By hand: 2016-18 Alpha 20 + 40 = 60, Beta (Betaland and Gammaland)
    // 10 + 20 = 30. Annual totals 2015-19: 40, 20, 10, 60, 20 (mean 30,
    // squared deviations 100 + 100 + 400 + 900 + 100 = 1600, variance 320).
    let observed = spec.observed(&loaded.scenario);
    assert_eq!(observed[..2], [60.0 / 90.0, 30.0 / 90.0]);
    assert!((observed[2] - 320f64.sqrt() / 30.0).abs() < 1e-12);
    assert_eq!(observed[3], 5.0);
}

#[test]
fn no_section() {
    let err = Case::new().read("").unwrap_err();
    assert_eq!(err.issues.len(), 1);
    assert!(err.has(SpecProblem::NoSection), "{err}");
}

#[test]
fn unknown_field_with_a_suggestion_and_its_line() {
    let case = Case::new();
    case.refuses(
        "population = 50",
        "populaton = 50",
        SpecProblem::UnknownField,
        "calibration.populaton",
        "did you mean `population`?",
    );
    let err = case
        .read(&VALID.replacen("population = 50", "populaton = 50", 1))
        .unwrap_err();
    let d = &err.issues[0].diagnostic;
    // The fixture, a blank line, then the section, whose fifth line is
    // `populaton = 50`: the diagnostic points at its value.
    let line = FIXTURE.lines().count() + 1 + 5;
    assert_eq!((d.line, d.column), (Some(line), Some(13)), "{d}");
}

#[test]
fn missing_data() {
    Case::new().refuses(
        "data = \"imports.csv\"\n",
        "",
        SpecProblem::Missing,
        "calibration",
        "data = \"PATH\"",
    );
}

#[test]
fn unreadable_data() {
    Case::new().refuses(
        "imports.csv",
        "nowhere.csv",
        SpecProblem::Data,
        "calibration.data",
        "nowhere.csv",
    );
}

#[test]
fn a_group_that_is_no_supplier() {
    Case::new().refuses(
        "Alpha = [",
        "Alpah = [",
        SpecProblem::Grouping,
        "calibration.groups.Alpah",
        "did you mean `Alpha`?",
    );
}

#[test]
fn a_supplier_without_a_group() {
    Case::new().refuses(
        "others = \"Beta\"\n",
        "",
        SpecProblem::Grouping,
        "calibration.groups",
        "no group for Beta",
    );
}

#[test]
fn a_sipri_supplier_in_two_groups() {
    Case::new().refuses(
        "others = \"Beta\"\n",
        "",
        SpecProblem::Grouping,
        "calibration.groups",
        "no group for Beta",
    );
    Case::new().refuses(
        "Alpha = [\"Alphaland\"]",
        "Alpha = [\"Alphaland\"]\nBeta = [\"Alphaland\"]",
        SpecProblem::Grouping,
        "calibration.groups.Beta",
        "also `others`",
    );
    let case = Case::new();
    let section = VALID.replacen("others = \"Beta\"\n", "", 1).replacen(
        "Alpha = [\"Alphaland\"]",
        "Alpha = [\"Alphaland\"]\nBeta = [\"Betaland\", \"Alphaland\"]",
        1,
    );
    let err = case.read(&section).unwrap_err();
    assert!(err.has(SpecProblem::Grouping), "{err}");
    assert!(
        err.to_string().contains("`Alphaland` is listed in both"),
        "{err}"
    );
}

#[test]
fn a_parameter_path_that_names_nothing() {
    Case::new().refuses(
        "buyer.support_weight",
        "buyer.suport_weight",
        SpecProblem::Parameter,
        "calibration.params[0].path",
        "a parameter path",
    );
}

#[test]
fn an_initial_flag_or_whole_parameter_cannot_be_fitted() {
    let case = Case::new();
    for (path, says) in [
        ("suppliers.Alpha.stock", "initial state"),
        ("suppliers.Alpha.veto", "yes/no or whole"),
        ("suppliers.Beta.delivery_start", "yes/no or whole"),
        (
            "buyer.diversification_weight",
            "not a parameter of model v2",
        ),
    ] {
        case.refuses(
            "path = \"buyer.support_weight\"\nprior = \"uniform\"\nlo = 0.0\nhi = 3.0",
            &format!("path = \"{path}\"\nlo = 0\nhi = 1"),
            SpecProblem::Parameter,
            "calibration.params[0].path",
            says,
        );
    }
}

#[test]
fn a_parameter_listed_twice() {
    Case::new().refuses(
        "buyer.contracts_per_quarter",
        "buyer.support_weight",
        SpecProblem::DuplicateParameter,
        "calibration.params[1].path",
        "each parameter listed once",
    );
}

#[test]
fn bounds_outside_the_domain() {
    Case::new().refuses(
        "lo = 0.0",
        "lo = -200.0",
        SpecProblem::OutOfRange,
        "calibration.params[0].lo",
        "a number from -100 to 100",
    );
}

#[test]
fn an_unknown_prior() {
    Case::new().refuses(
        "prior = \"uniform\"",
        "prior = \"unifrom\"",
        SpecProblem::Prior,
        "calibration.params[0].prior",
        "did you mean `uniform`?",
    );
}

#[test]
fn a_normal_prior_without_its_sd() {
    Case::new().refuses(
        "prior = \"uniform\"",
        "prior = \"normal\"\nmean = 1.0",
        SpecProblem::Missing,
        "calibration.params[0]",
        "mean and sd",
    );
}

#[test]
fn an_improper_prior() {
    Case::new().refuses(
        "prior = \"uniform\"\nlo = 0.0",
        "prior = \"log_uniform\"\nlo = 0.0",
        SpecProblem::Prior,
        "calibration.params[0]",
        "positive lower bound",
    );
    Case::new().refuses(
        "lo = 0.0\nhi = 3.0",
        "lo = 3.0\nhi = 1.0",
        SpecProblem::Prior,
        "calibration.params[0]",
        "is empty",
    );
}

#[test]
fn an_unknown_target_kind() {
    Case::new().refuses(
        "kind = \"shares\"",
        "kind = \"share\"",
        SpecProblem::Target,
        "calibration.targets[0].kind",
        "did you mean `shares`?",
    );
}

#[test]
fn years_outside_the_run_or_malformed() {
    let case = Case::new();
    case.refuses(
        "years = \"2016..2018\"",
        "years = \"2014..2018\"",
        SpecProblem::Target,
        "calibration.targets[0].years",
        "whole years 2015 to 2020",
    );
    case.refuses(
        "years = \"2016..2018\"",
        "years = \"2016-2018\"",
        SpecProblem::Target,
        "calibration.targets[0].years",
        "years such as",
    );
    case.refuses(
        "years = \"2016..2018\"",
        "years = \"2018..2016\"",
        SpecProblem::Target,
        "calibration.targets[0].years",
        "ends before it starts",
    );
    case.refuses(
        "years = \"2016..2018\"",
        "years = 2016",
        SpecProblem::WrongType,
        "calibration.targets[0].years",
        "found 2016",
    );
}

#[test]
fn a_window_without_deliveries() {
    Case::new().refuses(
        "years = \"2015..2019\"",
        "years = \"2021..2021\"",
        SpecProblem::Target,
        "calibration.targets[1].years",
        "whole years 2015 to 2020",
    );
    // Inside the run but past the data's last year (2020): a year the
    // record does not cover is unknown, not a year without deliveries, so
    // the window is refused even where it overlaps the data (it used to be
    // accepted, its missing years read as zeros).
    for window in ["2021", "2019..2021"] {
        let case = Case::new();
        let text = format!(
            "{FIXTURE}\n{}",
            VALID.replacen(
                "years = \"2015..2019\"",
                &format!("years = \"{window}\""),
                1
            )
        );
        let overrides = ["run.start=2015Q1".to_string(), "run.quarters=28".into()];
        let loaded = load_str(&text, "case", "case.toml", &overrides).unwrap();
        let err = Spec::read(&loaded, case.dir.path()).unwrap_err();
        let issue = err
            .issues
            .iter()
            .find(|i| i.problem == SpecProblem::Data)
            .unwrap_or_else(|| panic!("{window}: {err}"));
        assert_eq!(issue.diagnostic.field, "calibration.targets[1].years");
        assert!(
            issue
                .diagnostic
                .to_string()
                .contains("a window within the data's years, 2015..2020"),
            "{err}"
        );
    }
}

#[test]
fn an_empty_group() {
    // An empty group observes no deliveries in any year: its supplier's
    // share would be fitted to zero without a word.
    Case::new().refuses(
        "Alpha = [\"Alphaland\"]",
        "Alpha = []",
        SpecProblem::Grouping,
        "calibration.groups.Alpha",
        "an empty list",
    );
    assert!(matches!(
        crate::data::Grouping::new([("Alpha", Vec::<&str>::new())], Some("Beta")),
        Err(crate::data::DataError::EmptyGroup { .. })
    ));
}

#[test]
fn a_target_listed_twice() {
    Case::new().refuses(
        "kind = \"lumpiness\"\nyears = \"2015..2019\"",
        "kind = \"shares\"\nyears = \"2016..2018\"",
        SpecProblem::Target,
        "calibration.targets[1]",
        "each target listed once",
    );
}

#[test]
fn a_scale_that_is_not_positive() {
    Case::new().refuses(
        "scale = 0.2",
        "scale = -1.0",
        SpecProblem::OutOfRange,
        "calibration.targets[1].scale",
        "\"mad\" or a positive number",
    );
}

#[test]
fn settings_of_the_wrong_type_or_out_of_range() {
    let case = Case::new();
    case.refuses(
        "population = 50",
        "population = \"many\"",
        SpecProblem::WrongType,
        "calibration.population",
        "a whole number from 10",
    );
    case.refuses(
        "population = 50",
        "population = 5",
        SpecProblem::OutOfRange,
        "calibration.population",
        "a whole number from 10",
    );
    case.refuses(
        "initial_draws = 200",
        "initial_draws = 20",
        SpecProblem::OutOfRange,
        "calibration.initial_draws",
        "a whole number from 50",
    );
    case.refuses(
        "population = 50",
        "population = 50\nalpha = 1.0",
        SpecProblem::OutOfRange,
        "calibration.alpha",
        "strictly between 0 and 1",
    );
    case.refuses(
        "population = 50",
        "population = 50\nhistory_matching = 3",
        SpecProblem::WrongType,
        "calibration.history_matching",
        "a table with points",
    );
    case.refuses(
        "population = 50",
        "population = 50\n[calibration.history_matching]\nreplicates = 1",
        SpecProblem::OutOfRange,
        "calibration.history_matching.replicates",
        "from 2 to 1000",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let section = VALID
        .replacen("population = 50", "population = 5", 1)
        .replacen("kind = \"shares\"", "kind = \"share\"", 1)
        .replacen("buyer.support_weight", "buyer.nothing", 1);
    let err = Case::new().read(&section).unwrap_err();
    for p in [
        SpecProblem::OutOfRange,
        SpecProblem::Target,
        SpecProblem::Parameter,
    ] {
        assert!(err.has(p), "{p:?}: {err}");
    }
    assert_eq!(err.issues.len(), 3, "{err}");
}
