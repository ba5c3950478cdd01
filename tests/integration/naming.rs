//! A study with overrides is its own study: it goes to its own default
//! directory and its headline and manifest name the overrides, while run
//! settings (--runs, --seed, --threads) keep the scenario's directory.

use super::*;

#[test]
fn a_counterfactual_does_not_replace_or_claim_to_be_the_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    ok(armsim(
        tmp.path(),
        &[
            "run",
            "--runs",
            "100",
            "--seed",
            "4",
            "--threads",
            "1",
            "--no-plots",
        ],
    ));
    let baseline = tmp.path().join("output/myanmar_2021");
    let before = std::fs::read(baseline.join("summary.csv")).unwrap();

    let out = ok(armsim(
        tmp.path(),
        &[
            "run",
            "--runs",
            "100",
            "--set",
            "suppliers.Russia.support=.2",
            "--no-plots",
        ],
    ));
    let (stdout, _) = text(&out);
    assert!(
        stdout.starts_with(
            "Myanmar after the 2021 coup, with suppliers.Russia.support=0.2 (100 runs, model v3)"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("(baseline)"), "{stdout}");
    let dir = tmp
        .path()
        .join("output/myanmar_2021+suppliers.Russia.support=0.2");
    assert!(
        stdout.contains("wrote output/myanmar_2021+suppliers.Russia.support=0.2/"),
        "{stdout}"
    );
    assert_eq!(
        manifest(&dir)["title"],
        "Myanmar after the 2021 coup, with suppliers.Russia.support=0.2"
    );
    assert_eq!(std::fs::read(baseline.join("summary.csv")).unwrap(), before);
    assert_eq!(
        names(&tmp.path().join("output")),
        ["myanmar_2021", "myanmar_2021+suppliers.Russia.support=0.2"]
    );

    // The same override by index is the same study, in the same place.
    ok(armsim(
        tmp.path(),
        &[
            "run",
            "--runs",
            "100",
            "--set",
            "suppliers.0.support=0.2",
            "--no-plots",
        ],
    ));
    assert_eq!(names(&tmp.path().join("output")).len(), 2);
    // validate says where a study would go.
    let (stdout, _) = text(&ok(armsim(
        tmp.path(),
        &["validate", "--set", "buyer.budget=80"],
    )));
    assert!(
        stdout.contains("would write: output/myanmar_2021+buyer.budget=80/"),
        "{stdout}"
    );
    // Shards of a counterfactual merge into the counterfactual's directory.
    for i in 0..2 {
        let s = format!("{i}/2");
        ok(armsim(
            tmp.path(),
            &[
                "run",
                "--runs",
                "100",
                "--set",
                "buyer.budget=80",
                "--shard",
                &s,
            ],
        ));
    }
    ok(armsim(
        tmp.path(),
        &[
            "merge",
            "output/myanmar_2021+buyer.budget=80.shard-0-of-2",
            "output/myanmar_2021+buyer.budget=80.shard-1-of-2",
            "--no-plots",
        ],
    ));
    assert_eq!(
        manifest(&tmp.path().join("output/myanmar_2021+buyer.budget=80"))["title"],
        "Myanmar after the 2021 coup, with buyer.budget=80"
    );
}
