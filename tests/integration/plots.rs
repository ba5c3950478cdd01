//! The plotting toolkit: every primitive draws a valid PNG and SVG, bands
//! come before medians, markers and legends appear, awkward names make
//! valid SVG, output is deterministic; and a gallery of every primitive
//! with realistic made-up data is written to `target/tmp/plot-gallery/`
//! for people to look at.

use std::path::PathBuf;

use armsim::output::plot::{
    Axis, Band, Bar, BarGroup, Caption, FanChart, Figure, Format, HeatMap, Marker, ObservedCell,
    ObservedChart, ObservedSeries, PairPlot, PlotError, PlotMeta, Quantiles, RankedBars, Series,
    SweepChart, difference_chart, fan_chart, heat_map, observed_vs_simulated, pair_plot,
    ranked_bars, sweep_chart, titled,
};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

use super::*;

const SUPPLIERS: [&str; 4] = ["Russia", "China", "India", "Others"];

fn caption() -> Caption {
    Caption {
        seed: Some(20210201),
        runs: Some(100_000),
        overrides: vec!["suppliers.Russia.support=0.2".into()],
        note: None,
    }
}

fn meta(title: &str) -> PlotMeta {
    PlotMeta::new(title)
        .subtitle("median with the middle 50% and 90% of 100,000 Monte Carlo runs")
        .caption(caption())
}

/// Quarterly decimal years 2021.0 ..= 2030.75.
fn years() -> impl Iterator<Item = f64> {
    (0..40).map(|q| 2021.0 + q as f64 / 4.0)
}

/// A share trajectory moving from `from` towards `to` (logistic in time),
/// with a spread that opens over the decade: shaped like the baseline's.
fn trajectory(from: f64, to: f64, speed: f64, spread: f64) -> Vec<Band> {
    years()
        .map(|y| {
            let t = y - 2021.0;
            let s = 1.0 / (1.0 + (-(t - 2.5) * speed).exp());
            let m = from + (to - from) * s;
            let d = spread * (0.15 + 0.85 * (t / 10.0).min(1.0));
            let c = |v: f64| v.clamp(0.0, 1.0);
            Band::new(
                y,
                [
                    c(m - 1.8 * d),
                    c(m - 0.7 * d),
                    c(m),
                    c(m + 0.7 * d),
                    c(m + 1.6 * d),
                ],
            )
        })
        .collect()
}

fn shares() -> Vec<Series> {
    vec![
        Series::new("Russia", 0, trajectory(0.15, 0.72, 1.2, 0.12)),
        Series::new("China", 1, trajectory(0.48, 0.16, 1.0, 0.10)),
        Series::new("India", 2, trajectory(0.16, 0.08, 0.8, 0.07)),
        Series::new("Others", 3, trajectory(0.21, 0.0, 1.5, 0.02)),
    ]
}

fn events() -> Vec<Marker> {
    vec![
        Marker::new(2021.0, "coup"),
        Marker::new(2021.0, "sanctions"),
        Marker::new(2021.5, "UN arms embargo"),
        Marker::new(2024.25, "election"),
        Marker::new(2024.5, "ceasefire talks"),
    ]
}

fn share_axis() -> Axis {
    Axis::new("share of imports over the last 20 quarters").format(Format::Percent)
}

/// One figure of every primitive (and the awkward cases), with the legend
/// texts each must show.
fn gallery() -> Vec<(&'static str, Figure, Vec<&'static str>)> {
    let bands = vec![
        "line: median",
        "dark band: middle 50% of runs",
        "light band: middle 90% of runs",
    ];
    let mut out = Vec::new();

    let mut fan = FanChart::new(shares(), share_axis());
    fan.markers = events();
    out.push((
        "fan",
        fan_chart(
            &meta(&titled(
                "Myanmar after the 2021 coup, UN embargo from 2021Q3, Russia's support lowered and India's discount raised:",
                "Five-year rolling share of arms imports",
            )),
            &fan,
        )
        .unwrap(),
        [bands.clone(), vec!["Russia", "Others", "coup · sanctions", "dashed: events"]].concat(),
    ));

    // A counterfactual over its greyed baseline.
    let mut cf = FanChart::new(
        vec![Series::new(
            "Russia, support 0.2",
            0,
            trajectory(0.15, 0.35, 0.9, 0.12),
        )],
        share_axis(),
    );
    cf.reference = vec![Series::new("Russia", 0, trajectory(0.15, 0.72, 1.2, 0.12))];
    cf.reference_label = "baseline (support 0.9)".into();
    cf.markers = vec![Marker::new(2021.0, "coup")];
    out.push((
        "fan_reference",
        fan_chart(&meta("Russia's share if it condemned the coup"), &cf).unwrap(),
        [
            bands.clone(),
            vec![
                "grey, dashed: baseline (support 0.9)",
                "Russia, support 0.2",
                "Russia",
            ],
        ]
        .concat(),
    ));

    // B - A: the counterfactual minus the baseline, per supplier.
    let diff = |series: Vec<Band>, shift: f64| -> Vec<Band> {
        series
            .into_iter()
            .map(|b| {
                let t = (b.x - 2021.0) / 10.0;
                let m = shift * (t * 3.0).min(1.0);
                let d = 0.04 + 0.1 * t;
                Band::new(b.x, [m - 1.6 * d, m - 0.6 * d, m, m + 0.6 * d, m + 1.6 * d])
            })
            .collect()
    };
    let mut d = FanChart::new(
        vec![
            Series::new("Russia", 0, diff(trajectory(0.0, 0.0, 1.0, 0.0), -0.3)),
            Series::new("China", 1, diff(trajectory(0.0, 0.0, 1.0, 0.0), 0.18)),
            Series::new("India", 2, diff(trajectory(0.0, 0.0, 1.0, 0.0), 0.1)),
        ],
        Axis::new("change in share, counterfactual − baseline (percentage points)")
            .format(Format::Percent),
    );
    d.markers = vec![Marker::new(2021.0, "coup")];
    out.push((
        "difference",
        difference_chart(
            &meta("Effect of Russia condemning the coup on rolling shares"),
            &d,
        )
        .unwrap(),
        [bands.clone(), vec!["zero: no difference"]].concat(),
    ));

    // A sweep of Russia's stance.
    let sweep_points = |f: &dyn Fn(f64) -> f64, spread: f64| -> Vec<Band> {
        (0..=10)
            .map(|i| {
                let x = i as f64 / 10.0;
                let m = f(x);
                let c = |v: f64| v.clamp(0.0, 1.0);
                Band::new(
                    x,
                    [
                        c(m - 2.0 * spread),
                        c(m - 0.8 * spread),
                        m,
                        c(m + 0.8 * spread),
                        c(m + 1.9 * spread),
                    ],
                )
            })
            .collect()
    };
    let mut sweep = SweepChart::new(
        vec![
            Series::new("Russia", 0, sweep_points(&|x| 0.1 + 0.62 * x * x, 0.08)),
            Series::new("China", 1, sweep_points(&|x| 0.45 - 0.3 * x, 0.06)),
        ],
        Axis::new("Russia's stance: 0 = condemns, 1 = unconditional support"),
        Axis::new("rolling share at 2030Q4").format(Format::Percent),
    );
    sweep.markers = vec![Marker::new(0.9, "baseline 0.9")];
    out.push((
        "sweep",
        sweep_chart(&meta("Russia's 2030 share against its stance"), &sweep).unwrap(),
        [
            bands.clone(),
            vec!["dots: values simulated", "baseline 0.9"],
        ]
        .concat(),
    ));

    // A yes/no outcome against a parameter: its probability in its interval.
    let probability_points = |p: &dyn Fn(f64) -> f64| {
        (0..=8)
            .map(|i| {
                let x = i as f64 * 0.5;
                let n = 2000;
                let interval = armsim::output::plot::wilson_interval(p(x), n, 0.9).unwrap();
                Band::probability(x, p(x), interval)
            })
            .collect::<Vec<_>>()
    };
    let mut embargo = SweepChart::new(
        vec![Series::new(
            "world",
            0,
            probability_points(&|x| 0.007 + 0.0035 * x),
        )],
        Axis::new("buyer.support_weight"),
        Axis::new("max:embargo:world@2021Q1..2030Q4").format(Format::Percent),
    );
    embargo.probability = Some("90% interval (Wilson)".into());
    out.push((
        "sweep_probability",
        sweep_chart(&meta("An embargo ever in force"), &embargo).unwrap(),
        vec![
            "line: probability (share of runs where it holds)",
            "band: 90% interval (Wilson)",
            "dots: values simulated",
        ],
    ));

    // A heat map over two parameters.
    let xs: Vec<f64> = (0..=12).map(|i| i as f64 * 0.25).collect();
    let ys: Vec<f64> = (0..=6).map(|j| j as f64 * 0.05).collect();
    let z: Vec<f64> = ys
        .iter()
        .flat_map(|&dsc| {
            xs.iter()
                .map(move |&w| 0.1 + 0.7 * (1.0 - (-(0.6 * w + 4.0 * dsc)).exp()))
        })
        .collect();
    out.push((
        "heatmap",
        heat_map(
            &meta(
                "Russia's median 2030 share by the buyer's taste for support and Russia's discount",
            ),
            &HeatMap {
                x: Axis::new("buyer's weight on support (support_weight)"),
                y: Axis::new("Russia's discount (0-1)"),
                x_values: xs,
                y_values: ys,
                z,
                z_axis: Axis::new("median rolling share at 2030Q4").format(Format::Percent),
                highlight: Some((1.5, 0.1, "ring: baseline".into())),
            },
        )
        .unwrap(),
        vec!["ring: baseline", "median rolling share at 2030Q4"],
    ));

    // Sobol indices, ranked.
    let sobol = [
        ("buyer.support_weight", 0.41, 0.52),
        ("suppliers.Russia.support", 0.22, 0.31),
        ("world.unrest_mean", 0.08, 0.17),
        ("suppliers.China.availability", 0.06, 0.09),
        ("buyer.diversification_weight", 0.03, 0.11),
        ("world.pressure_decay", 0.01, 0.02),
        ("suppliers.India.discount", 0.0, 0.03),
        (
            "suppliers.Democratic People's Republic of Korea.availability_after_sanctions",
            -0.005,
            0.01,
        ),
    ];
    let groups = sobol
        .iter()
        .map(|&(name, s1, st)| BarGroup {
            name: name.into(),
            bars: vec![
                Bar::new(s1, s1 - 0.03, s1 + 0.035),
                Bar::new(st, st - 0.025, st + 0.04),
            ],
        })
        .collect();
    out.push((
        "sobol",
        ranked_bars(
            &meta("What drives Russia's 2030 share: Sobol indices"),
            &RankedBars {
                measures: vec![
                    "S1: first-order index".into(),
                    "ST: total-order index".into(),
                ],
                groups,
                rank_by: 1,
                x: Axis::new("share of the variance of Russia's 2030 share"),
                interval_label: "95% bootstrap confidence interval".into(),
            },
        )
        .unwrap(),
        vec![
            "S1: first-order index",
            "ranked by ST: total-order index, largest first",
        ],
    ));

    // Weighted posterior samples of four parameters.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let normal = Normal::new(0.0, 1.0).unwrap();
    let samples: Vec<Vec<f64>> = (0..3000)
        .map(|_| {
            let a: f64 = normal.sample(&mut rng);
            let b: f64 = normal.sample(&mut rng);
            let c: f64 = normal.sample(&mut rng);
            let e: f64 = normal.sample(&mut rng);
            vec![
                (0.85 + 0.05 * a).clamp(0.0, 1.0),
                (1.5 + 0.4 * (0.7 * a + 0.7 * b)).max(0.0),
                (0.2 + 0.05 * c).clamp(0.0, 1.0),
                (50.0 + 8.0 * (-0.5 * b + 0.8 * e)).max(0.0),
            ]
        })
        .collect();
    let weights: Vec<f64> = samples
        .iter()
        .map(|s| (-(s[0] - 0.9).powi(2) / 0.005).exp())
        .collect();
    out.push((
        "pairs",
        pair_plot(
            &meta("Posterior of four parameters given SIPRI shares, 2016-20 (ABC-SMC)"),
            &PairPlot {
                names: vec![
                    "Russia's support".into(),
                    "support_weight".into(),
                    "unrest_mean".into(),
                    "budget (TIV millions a quarter)".into(),
                ],
                samples,
                weights,
                ranges: vec![Some((0.6, 1.0)), None, None, None],
                reference: Some(vec![0.9, 1.5, 0.2, 50.0]),
                reference_label: "baseline".into(),
                colour: 1,
            },
        )
        .unwrap(),
        vec!["diagonal: weighted histogram", "line and ring: baseline"],
    ));

    // SIPRI five-year windows against the model's predictive bands.
    let observed = [
        [0.625, 0.278, 0.0, 0.097],
        [0.666, 0.096, 0.03, 0.208],
        [0.374, 0.578, 0.02, 0.028],
        [0.216, 0.435, 0.149, 0.2],
    ];
    let series = SUPPLIERS
        .iter()
        .enumerate()
        .map(|(s, name)| ObservedSeries {
            name: (*name).into(),
            colour: s,
            cells: observed
                .iter()
                .enumerate()
                .map(|(w, row)| {
                    let m = (row[s] * (0.8 + 0.1 * w as f64) + 0.03).min(0.95);
                    let c = |v: f64| v.clamp(0.0, 1.0);
                    ObservedCell {
                        simulated: Some(Quantiles::new([
                            c(m - 0.2),
                            c(m - 0.08),
                            m,
                            c(m + 0.08),
                            c(m + 0.2),
                        ])),
                        observed: Some(row[s]),
                        reference: (w > 0).then(|| observed[0][s]),
                    }
                })
                .collect(),
        })
        .collect();
    out.push((
        "observed",
        observed_vs_simulated(
            &meta("SIPRI shares of Myanmar's arms imports against the model, by five-year window"),
            &ObservedChart {
                categories: vec![
                    "2001-05".into(),
                    "2006-10".into(),
                    "2011-15".into(),
                    "2016-20".into(),
                ],
                series,
                x_label: "five-year window".into(),
                y: Axis::new("share of arms imports in the window").format(Format::Percent),
                observed_label: "diamond: observed (SIPRI TIV)".into(),
                across: "runs".into(),
                reference_label: Some("bar: persistence (2001-05 carried forward)".into()),
            },
        )
        .unwrap(),
        vec![
            "diamond: observed (SIPRI TIV)",
            "light box: middle 90% of runs",
        ],
    ));

    // Names with markup characters, quotes, non-ASCII and a control character.
    let awkward = vec![
        Series::new("A<B & \"C\" 'D'", 0, trajectory(0.2, 0.5, 1.0, 0.1)),
        Series::new(
            "Société d'Armement Générale — a supplier whose name is far too long for any legend",
            1,
            trajectory(0.5, 0.3, 1.0, 0.1),
        ),
        Series::new("Россия\u{7}", 2, trajectory(0.3, 0.2, 1.0, 0.1)),
    ];
    let mut fan = FanChart::new(awkward, share_axis());
    fan.markers = vec![Marker::new(2023.0, "<embargo> & \"sanctions\"")];
    out.push((
        "awkward_names",
        fan_chart(&meta("Names with <markup> & \"quotes\": ünïcödé"), &fan).unwrap(),
        vec!["A<B & \"C\" 'D'", "Россия ", "<embargo> & \"sanctions\""],
    ));
    out
}

/// All text of an SVG's `<text>` elements, as parsed by an XML parser.
fn svg_texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

/// Width and height from a PNG's IHDR, after checking the signature.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

fn gallery_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plot-gallery")
}

#[test]
fn every_primitive_draws_valid_png_and_svg_with_its_title_legend_and_caption() {
    let dir = gallery_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (stem, figure, legend) in gallery() {
        let [svg_path, png_path] = figure.write(&dir, stem).unwrap();
        let png = std::fs::read(&png_path).unwrap();
        assert_eq!(png_size(&png), (1280, 720), "{stem}");
        let svg = std::fs::read_to_string(&svg_path).unwrap();
        let texts = svg_texts(&svg);
        let all = texts.join(" ");
        for needle in legend {
            assert!(all.contains(needle), "{stem}: {needle:?} not in {all}");
        }
        assert!(
            all.contains("seed 20210201 · 100,000 runs · armsim ")
                && all.contains("overrides: suppliers.Russia.support=0.2"),
            "{stem}: caption missing in {all}"
        );
        // The title is there, wrapped or not: its first line starts the text.
        assert!(!texts[0].is_empty(), "{stem}");
    }
}

#[test]
fn long_titles_wrap_and_never_double_a_colon() {
    let (_, figure, _) = gallery().into_iter().next().unwrap();
    let texts = svg_texts(figure.svg());
    assert!(texts[0].starts_with("Myanmar after the 2021 coup"));
    // The long title took two lines, and the join of name and topic kept a
    // single colon.
    assert!(texts[1].contains("Five-year") || texts[0].contains("Five-year"));
    assert!(!texts.join(" ").contains("::"));
}

#[test]
fn every_band_is_drawn_before_any_median_line() {
    for (stem, figure, _) in gallery()
        .into_iter()
        .filter(|(s, _, _)| ["fan", "fan_reference", "difference", "sweep"].contains(s))
    {
        let svg = figure.svg();
        let last_band = svg.rfind("<polygon").expect("bands are polygons");
        let medians: Vec<usize> = svg
            .match_indices("<polyline")
            .filter(|(i, _)| {
                svg[*i..]
                    .split_once("/>")
                    .unwrap()
                    .0
                    .contains("stroke-width=\"3\"")
            })
            .map(|(i, _)| i)
            .collect();
        assert!(!medians.is_empty(), "{stem}: medians are 3-pixel polylines");
        assert!(
            last_band < medians[0],
            "{stem}: a band is drawn after a median line"
        );
        // One light and one dark band per series (and reference).
        let polygons = svg.matches("<polygon").count();
        let expected = match stem {
            "fan" => 8,
            "fan_reference" => 4,
            "difference" => 6,
            _ => 4,
        };
        assert_eq!(polygons, expected, "{stem}");
    }
}

#[test]
fn a_probability_is_one_line_in_one_band_and_never_a_median() {
    let (_, figure, _) = gallery()
        .into_iter()
        .find(|(s, _, _)| *s == "sweep_probability")
        .unwrap();
    let svg = figure.svg();
    assert_eq!(svg.matches("<polygon").count(), 1, "one band: the interval");
    let texts = svg_texts(svg).join(" ");
    assert!(!texts.contains("line: median"), "{texts}");
    // The axis spans the probabilities (about 1-2%), in percent, up to just
    // above the highest interval: not 0-100%, not 0-10%.
    assert!(texts.contains('%'), "{texts}");
    assert!(!texts.contains("10%") && !texts.contains("100%"), "{texts}");
}

#[test]
fn a_reference_has_its_own_colour_dashed_and_is_labelled() {
    let (_, figure, texts) = gallery()
        .into_iter()
        .find(|(s, _, _)| *s == "fan_reference")
        .unwrap();
    let svg = figure.svg().to_lowercase();
    // Russia's colour (Okabe-Ito vermillion): its change's median is one
    // polyline; the baseline's dashed median is many short segments.
    let (r, g, b) = armsim::output::plot::PALETTE[0];
    let russia = format!("stroke=\"#{r:02x}{g:02x}{b:02x}\"");
    assert!(
        svg.matches(&russia).count() > 20,
        "{russia}: dashes expected"
    );
    // The legend names the reference's supplier beside its dashed key.
    let legend = svg_texts(figure.svg());
    assert!(legend.iter().any(|t| t == "Russia"), "{legend:?}");
    assert!(texts.contains(&"grey, dashed: baseline (support 0.9)"));
}

#[test]
fn event_markers_are_drawn_and_labelled() {
    let (_, figure, _) = gallery().into_iter().next().unwrap();
    let texts = svg_texts(figure.svg());
    // Two events at the same quarter share one marker and one label.
    assert!(texts.iter().any(|t| t == "coup · sanctions"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "UN arms embargo"));
    assert!(texts.iter().any(|t| t == "election"));
    assert!(texts.iter().any(|t| t == "ceasefire talks"));
    // Dashed lines are drawn as many short grey segments.
    let dashes = figure.svg().matches("stroke=\"#787878\"").count();
    assert!(dashes > 40, "{dashes} grey dash segments");
}

#[test]
fn awkward_names_make_valid_svg_and_render() {
    let (_, figure, _) = gallery().into_iter().last().unwrap();
    let texts = svg_texts(figure.svg());
    assert!(texts.iter().any(|t| t == "A<B & \"C\" 'D'"), "{texts:?}");
    // Ellipsised, not clipped, in the legend.
    let start = texts
        .iter()
        .position(|t| t.starts_with("Société d'Armement"))
        .unwrap();
    assert!(texts[start + 1].ends_with('…'), "{texts:?}");
    assert!(!figure.svg().contains('\u{7}'));
    assert_eq!(png_size(&figure.png().unwrap()), (1280, 720));
}

#[test]
fn same_data_give_the_same_bytes() {
    let a = gallery();
    let b = gallery();
    for ((stem, fa, _), (_, fb, _)) in a.iter().zip(&b) {
        assert_eq!(fa.svg(), fb.svg(), "{stem}: SVG differs");
    }
    // PNG too (one figure: rasterising is the slow part).
    assert_eq!(a[0].1.png().unwrap(), b[0].1.png().unwrap());
}

#[test]
fn bad_shapes_and_tiny_canvases_are_errors_not_panics() {
    let err = heat_map(
        &meta("x"),
        &HeatMap {
            x: Axis::new("a"),
            y: Axis::new("b"),
            x_values: vec![0.0, 1.0],
            y_values: vec![0.0, 1.0],
            z: vec![1.0; 3],
            z_axis: Axis::new("z"),
            highlight: None,
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            PlotError::Shape {
                expected: 4,
                found: 3,
                ..
            }
        ),
        "{err}"
    );
    let err = pair_plot(
        &meta("x"),
        &PairPlot {
            names: vec!["a".into(), "b".into()],
            samples: vec![vec![1.0, 2.0], vec![1.0]],
            weights: vec![],
            ranges: vec![],
            reference: None,
            reference_label: String::new(),
            colour: 0,
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            PlotError::Shape {
                expected: 2,
                found: 1,
                ..
            }
        ),
        "{err}"
    );
    let err = fan_chart(
        &meta("x").size(100, 100),
        &FanChart::new(shares(), share_axis()),
    )
    .unwrap_err();
    assert!(matches!(err, PlotError::TooSmall { .. }));
    let mut huge = meta("x").size(9000, 5000);
    huge.png_scale = 2;
    let err = fan_chart(&huge, &FanChart::new(shares(), share_axis())).unwrap_err();
    assert!(
        matches!(
            err,
            PlotError::TooLarge {
                width: 18000,
                height: 10000
            }
        ),
        "{err}"
    );
    // Unusable fixed ranges fall back to the data's.
    for (lo, hi) in [
        (f64::NAN, 1.0),
        (1.0, 0.0),
        (0.5, 0.5),
        (0.0, f64::INFINITY),
    ] {
        let chart = FanChart::new(shares(), share_axis().range(lo, hi));
        svg_texts(fan_chart(&meta("x"), &chart).unwrap().svg());
        svg_texts(difference_chart(&meta("x"), &chart).unwrap().svg());
    }
}

#[test]
fn empty_and_non_finite_data_still_draw() {
    let nan = Band::new(2021.0, [f64::NAN; 5]);
    let charts = [
        FanChart::new(vec![], share_axis()),
        FanChart::new(vec![Series::new("x", 0, vec![nan])], Axis::new("y")),
        FanChart::new(
            vec![Series::new(
                "inf",
                0,
                vec![
                    Band::new(f64::INFINITY, [1.0; 5]),
                    Band::new(2022.0, [0.5; 5]),
                ],
            )],
            Axis::new("y"),
        ),
    ];
    for chart in &charts {
        let figure = fan_chart(&meta("empty"), chart).unwrap();
        svg_texts(figure.svg());
        let figure = difference_chart(&meta("empty"), chart).unwrap();
        svg_texts(figure.svg());
    }
}

#[test]
fn study_plots_carry_the_fixed_labels_caption_and_events() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("study");
    ok(armsim(
        tmp.path(),
        &[
            "run",
            "--runs",
            "300",
            "--threads",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    for stem in ["shares", "support", "influence"] {
        let png = std::fs::read(out.join(format!("{stem}.png"))).unwrap();
        assert_eq!(png_size(&png), (1280, 720));
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
        let all = svg_texts(&svg).join(" ");
        assert!(all.contains("Myanmar after the 2021 coup: "), "{all}");
        assert!(all.contains("seed 20210201 · 300 runs · armsim "), "{all}");
        assert!(
            all.contains("coup · condemnation · Western sanctions"),
            "{all}"
        );
        assert!(
            !all.contains("overrides"),
            "--runs is a run setting, not an override: {all}"
        );
        assert!(all.contains("light band: middle 90% of runs"), "{all}");
        assert!(!all.contains("::") && !all.contains(" x "), "{all}");
    }
    let support = std::fs::read_to_string(out.join("support.svg")).unwrap();
    assert!(support.contains("stance: 0 = condemns, 1 = unconditional support"));
    let influence = std::fs::read_to_string(out.join("influence.svg")).unwrap();
    assert!(influence.contains("installed share × support, 0-1"));
}

#[test]
fn png_scale_multiplies_the_png_not_the_layout() {
    let mut meta = meta("Scaled").size(800, 450);
    meta.png_scale = 2;
    let figure = fan_chart(&meta, &FanChart::new(shares(), share_axis())).unwrap();
    assert_eq!(figure.size(), (800, 450));
    assert!(figure.svg().contains("width=\"800\" height=\"450\""));
    assert_eq!(png_size(&figure.png().unwrap()), (1600, 900));
}
