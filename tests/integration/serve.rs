//! `armsim serve` over HTTP: the scenario list and parameter metadata, a
//! study streamed to its end with a headline checked against the CLI's own
//! runs, validation errors worded as the CLI words them, the limits
//! (runs, sizes, hosts), cancelling (by request, by a new run from the same
//! page, by the page going away), two pages at once, and the downloads
//! checked against `armsim validate` and `armsim run`.

#[path = "../support/server.rs"]
mod server;

use std::collections::HashMap;
use std::path::Path;
use std::thread;

use serde_json::{Value, json};

use super::{armsim, ok, root, text};
use server::{Events, Server};

fn start() -> Server {
    Server::start_with(
        env!("CARGO_BIN_EXE_armsim"),
        &["--quiet", "--max-runs", "5000"],
    )
}

const CHANGES: [(&str, &str); 2] = [
    ("suppliers.Russia.support", "0"),
    ("suppliers.Russia.hold_support", "true"),
];

fn study(page: &str, runs: u64) -> Value {
    json!({
        "page": page,
        "scenario": "myanmar_2021",
        "runs": runs,
        "changes": [
            {"path": "suppliers.Russia.support", "value": 0},
            {"path": "suppliers.Russia.hold_support", "value": true},
        ],
    })
}

/// The nearest-rank percentile of `values` (the `ceil(p n)`-th smallest),
/// the definition summary.csv documents.
fn percentile(values: &mut [f64], p: u32) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((p as usize * values.len()).div_ceil(100)).max(1);
    values[rank - 1]
}

/// Per run, `entity`'s `metric` at quarter `label`, from a runs.csv.
fn run_values(runs_csv: &Path, entity: &str, metric: &str, label: &str) -> Vec<f64> {
    let mut reader = csv::Reader::from_path(runs_csv).unwrap();
    let mut values: Vec<(u64, f64)> = reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[2] == label && &r[3] == entity && &r[4] == metric)
        .map(|r| (r[0].parse().unwrap(), r[5].parse().unwrap()))
        .collect();
    values.sort_by_key(|(run, _)| *run);
    values.into_iter().map(|(_, v)| v).collect()
}

#[test]
fn lists_the_shipped_scenarios_and_describes_their_parameters_as_armsim_params_does() {
    let server = start();
    let list = server.get_json("api/scenarios");
    let ids: Vec<&str> = list["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let shipped: Vec<&str> = armsim::scenario::SHIPPED
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(ids, shipped);

    let desc = server.get_json("api/scenarios/myanmar_2021");
    assert_eq!(desc["labels"][39], "2030Q4");
    assert_eq!(desc["runs"], 5000, "capped by --max-runs");
    let params = text(&ok(armsim(&root(), &["params"]))).0;
    let baseline = armsim::scenario::load_baseline(&[]).unwrap().scenario;
    let mut seen = 0;
    for group in desc["groups"].as_array().unwrap() {
        for c in group["controls"].as_array().unwrap() {
            let path = c["path"].as_str().unwrap();
            if path.starts_with("events.") {
                continue;
            }
            // Same words as `armsim params`, and the scenario's value.
            for key in ["label", "description", "symbol"] {
                let words = c[key].as_str().unwrap();
                assert!(
                    params.contains(words),
                    "{path}: {key} {words:?} not in armsim params"
                );
            }
            let target = baseline.target(path).unwrap();
            let value = baseline.param(target);
            match &c["value"] {
                Value::Bool(b) => assert_eq!(*b, value == 1.0, "{path}"),
                Value::String(s) => assert_eq!(s, "-inf", "{path}"),
                v => assert_eq!(v.as_f64().unwrap(), value, "{path}"),
            }
            seen += 1;
        }
    }
    assert!(seen > 100, "{seen} parameters");
    // The featured ones come first and include what issue 10 names.
    let featured: Vec<&str> = desc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["featured"] == true)
        .flat_map(|g| g["controls"].as_array().unwrap())
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    for path in [
        "buyer.support_weight",
        "buyer.dependence_weight",
        "suppliers.Russia.support",
        "suppliers.China.stance_speed",
        "world.unrest_mean",
        "world.pressure",
        "world.embargo",
        "events.0.set",
    ] {
        assert!(
            featured.contains(&path),
            "{path} not featured: {featured:?}"
        );
    }

    let (status, body) = server.get("api/scenarios/nowhere");
    assert_eq!(status, 404);
    assert!(body.contains("myanmar_2021"), "{body}");
    let (status, page) = server.get("");
    assert_eq!(status, 200);
    assert!(page.contains("<script src=\"/app.js\""));
    assert!(
        !page.contains("https://"),
        "the page loads nothing from the network"
    );
    let (status, js) = server.get("app.js");
    assert_eq!(status, 200);
    // Nothing from the network: the SVG namespace is a name, not a fetch.
    let js = js.replace("\"http://www.w3.org/2000/svg\"", "");
    assert!(!js.contains("http://") && !js.contains("https://"));
}

#[test]
fn a_study_streams_to_its_end_and_its_headline_matches_the_clis_runs() {
    let server = start();
    let runs = 300;
    let events = server.run(&study("headline", runs)).unwrap().collect();
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names.first(), Some(&"start"), "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    assert!(names.contains(&"progress"), "rounds stream: {names:?}");
    let start = &events[0].1;
    assert_eq!(start["changes"][0]["from"], "0.9");
    assert_eq!(start["changes"][0]["to"], "0");
    let done = &events.last().unwrap().1;
    assert_eq!(done["runs"], runs);
    // Progress only grows.
    let counts: Vec<u64> = events[1..]
        .iter()
        .map(|(_, d)| d["runs"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");

    // The same study with the CLI, keeping every run's trajectory.
    let dir = tempfile::tempdir().unwrap();
    let runs_arg = runs.to_string();
    let mut args_b = vec![
        "run",
        "--runs",
        &runs_arg,
        "--keep-runs",
        &runs_arg,
        "--no-plots",
        "--quiet",
    ];
    let sets: Vec<String> = CHANGES.iter().map(|(p, v)| format!("{p}={v}")).collect();
    for s in &sets {
        args_b.extend(["--set", s]);
    }
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let (a_out, b_out) = (a_dir.display().to_string(), b_dir.display().to_string());
    ok(armsim(
        dir.path(),
        &[
            "run",
            "--runs",
            &runs_arg,
            "--keep-runs",
            &runs_arg,
            "--no-plots",
            "--quiet",
            "--out",
            &a_out,
        ],
    ));
    args_b.extend(["--out", &b_out]);
    ok(armsim(dir.path(), &args_b));

    let headline = &done["headline"];
    assert_eq!(headline["quarter"], "2030Q4");
    let rows = headline["rows"].as_array().unwrap();
    for row in rows {
        let name = row["supplier"].as_str().unwrap();
        let mut a = run_values(&a_dir.join("runs.csv"), name, "rolling_share", "2030Q4");
        let mut b = run_values(&b_dir.join("runs.csv"), name, "rolling_share", "2030Q4");
        assert_eq!((a.len(), b.len()), (runs as usize, runs as usize));
        let mut d: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y - x).collect();
        // Binned percentiles are within half a bin (0.0005) of the exact ones;
        // runs.csv rounds to six digits.
        let close = |got: &Value, want: f64| {
            let got = got.as_f64().unwrap();
            assert!(
                (got - want).abs() <= 0.0011,
                "{name}: {got} vs exact {want}"
            );
        };
        close(&row["baseline"], percentile(&mut a, 50));
        close(&row["change"], percentile(&mut b, 50));
        close(&row["difference"][0], percentile(&mut d, 5));
        close(&row["difference"][1], percentile(&mut d, 50));
        close(&row["difference"][2], percentile(&mut d, 95));
    }
    // The sentence is about the supplier that moved most, in its numbers.
    let pick = rows
        .iter()
        .max_by(|x, y| {
            let m = |r: &Value| r["difference"][1].as_f64().unwrap().abs();
            m(x).total_cmp(&m(y))
        })
        .unwrap();
    assert_eq!(headline["supplier"], pick["supplier"]);
    let pct = |v: &Value| format!("{:.0}%", v.as_f64().unwrap() * 100.0);
    let pts = |v: &Value| {
        let r = (v.as_f64().unwrap() * 100.0).round() as i64;
        if r == 0 {
            "0".to_string()
        } else {
            format!("{r:+}")
        }
    };
    let expected = format!(
        "{}'s five-year share at 2030Q4: {} → {}, {} points [90%: {}, {}]",
        pick["supplier"].as_str().unwrap(),
        pct(&pick["baseline"]),
        pct(&pick["change"]),
        pts(&pick["difference"][1]),
        pts(&pick["difference"][0]),
        pts(&pick["difference"][2]),
    );
    assert_eq!(headline["text"], expected);
    // Russia condemning the coup and holding to it loses it share.
    let russia = &rows[0];
    assert!(
        russia["difference"][1].as_f64().unwrap() < -0.05,
        "{russia}"
    );

    // The fan charts hold the baseline's and the change's percentiles per
    // quarter, the same as summary.csv of the CLI's runs.
    let chart = &done["charts"][0];
    assert_eq!(chart["metric"], "rolling_share");
    let summary = std::fs::read_to_string(b_dir.join("summary.csv")).unwrap();
    let line = summary
        .lines()
        .find(|l| l.starts_with("39,2030Q4,Russia,rolling_share,"))
        .unwrap();
    let p: Vec<f64> = line
        .split(',')
        .skip(7)
        .map(|x| x.parse().unwrap())
        .collect();
    let fan: Vec<f64> = chart["change"][0][39]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (x, y) in fan.iter().zip(&p) {
        assert!((x - y).abs() < 6e-5, "{fan:?} vs {p:?}");
    }
}

#[test]
fn bad_requests_get_4xx_with_the_clis_messages_and_the_server_stays_up() {
    let server = start();
    let cli_errors = |args: &[&str]| -> Vec<String> {
        let out = armsim(&root(), args);
        assert!(!out.status.success());
        text(&out)
            .1
            .lines()
            .map(|l| l.strip_prefix("error: ").unwrap_or(l).to_string())
            .filter(|l| !l.starts_with("the scenario is invalid"))
            .collect()
    };
    let refuse = |request: Value| -> (u16, Value) {
        match server.run(&request) {
            Err(e) => e,
            Ok(_) => panic!("accepted {request}"),
        }
    };

    // An out-of-range value: the diagnostic `armsim validate --set` prints.
    let (status, body) = refuse(json!({"page": "p", "scenario": "myanmar_2021",
        "changes": [{"path": "suppliers.Russia.support", "value": 1.4}]}));
    assert_eq!(status, 400);
    let details: Vec<String> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        details,
        cli_errors(&["validate", "--set", "suppliers.Russia.support=1.4"])
    );

    // An unknown parameter: the `--set` message, with its suggestion.
    let (status, body) = refuse(json!({"page": "p", "scenario": "myanmar_2021",
        "changes": [{"path": "suppliers.Rusia.support", "value": 0.2}]}));
    assert_eq!(status, 400);
    assert_eq!(
        vec![body["error"].as_str().unwrap().to_string()],
        cli_errors(&["validate", "--set", "suppliers.Rusia.support=0.2"])
    );

    // Not a parameter the page changes, a value of the wrong kind, too many
    // runs, a missing or odd page id, fields nobody knows.
    for request in [
        json!({"page": "p", "scenario": "myanmar_2021", "changes": [{"path": "run.seed", "value": 1}]}),
        json!({"page": "p", "scenario": "myanmar_2021", "changes": [{"path": "world.pressure", "value": "high"}]}),
        json!({"page": "p", "scenario": "myanmar_2021", "changes": [{"path": "world.embargo", "value": null}]}),
        json!({"page": "p", "scenario": "myanmar_2021", "runs": 5001}),
        json!({"page": "p", "scenario": "myanmar_2021", "runs": 0}),
        json!({"page": "p", "scenario": "myanmar_2021", "seed": 9_223_372_036_854_775_808u64}),
        json!({"scenario": "myanmar_2021"}),
        json!({"page": "../../etc", "scenario": "myanmar_2021"}),
        json!({"page": "p", "scenario": "myanmar_2021", "turbo": true}),
        json!({"page": "p"}),
        json!({"page": "p", "scenario": "myanmar_2021", "toml": "x = 1"}),
    ] {
        let (status, body) = refuse(request.clone());
        // 422 where the JSON does not fit the request's shape.
        assert!(status == 400 || status == 422, "{request}: {status} {body}");
        assert!(!body["error"].as_str().unwrap().is_empty());
    }
    // Seeds: past 64 bits, as a number or a string, the message names the
    // seed and the range (not a JSON decoder's complaint).
    for seed in [
        json!(123_456_789_012_345_678_901.0),
        json!("12345678901234567890"),
    ] {
        let (status, body) = refuse(json!({"page": "p", "scenario": "myanmar_2021", "seed": seed}));
        assert_eq!(status, 400, "{body}");
        let error = body["error"].as_str().unwrap();
        assert!(
            error.starts_with("seed: found ")
                && error
                    .ends_with("expected a whole number from 0 to 9223372036854775807 (2^63-1)"),
            "{error}"
        );
    }
    let (status, body) = refuse(json!({"page": "p", "scenario": "atlantis"}));
    assert_eq!(status, 404, "{body}");
    let (status, body) = refuse(json!({"page": "p", "scenario": "myanmar_2021", "runs": 5001}));
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("from 1 to 5000"),
        "{body}"
    );

    // Malformed JSON and the wrong content type.
    let (status, body) = server.post("api/run", "application/json", "{\"page\": ");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("error"));
    let (status, _) = server.post("api/run", "text/plain", "{}");
    assert_eq!(status, 415);

    // An uploaded file: the diagnostics `armsim validate FILE` prints.
    let broken = root().join("tests/fixtures/broken");
    for name in [
        "support_out_of_range.toml",
        "syntax_error.toml",
        "unknown_supplier_field.toml",
    ] {
        let toml = std::fs::read_to_string(broken.join(name)).unwrap();
        let (status, body) = server.post(
            &format!("api/upload?filename={name}"),
            "application/toml",
            &toml,
        );
        assert_eq!(status, 400, "{name}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        let details: Vec<String> = body["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect();
        let out = armsim(&broken, &["validate", name]);
        let cli: Vec<String> = text(&out)
            .1
            .lines()
            .map(|l| l.strip_prefix("error: ").unwrap_or(l).to_string())
            .filter(|l| !l.starts_with("the scenario is invalid"))
            .collect();
        assert_eq!(details, cli, "{name}");
    }
    // A good upload is described like a shipped scenario.
    let minimal = super::minimal();
    let (status, body) = server.post(
        "api/upload?filename=../minimal.toml",
        "application/toml",
        &minimal,
    );
    assert_eq!(status, 200, "{body}");
    let desc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(desc["id"], "minimal");
    // Oversized and non-text uploads.
    let huge = "# padding\n".repeat(120_000);
    let (status, body) = server.post("api/upload", "application/toml", &huge);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("KiB"), "{body}");
    let (status, _) = server.post("api/upload", "application/toml", "\u{0}\u{fffd}");
    assert_eq!(status, 400);
    // A scenario over the upload limit inside a run request, and a body over
    // the request limit.
    let oversized = json!({"page": "p", "toml": "#".repeat(1_500_000)});
    let (status, body) = server.post_json("api/run", &oversized);
    assert_eq!(status, 413, "{body}");
    let (status, body) = server.post_oversized("api/upload", 3 << 20);
    assert_eq!(status, 413, "{body}");

    // Unknown routes, and requests naming another host (DNS rebinding).
    let (status, body) = server.get("api/nothing");
    assert_eq!(status, 404, "{body}");
    let host = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
        .get(&server.at("api/scenarios"))
        .header("host", "evil.example")
        .call()
        .unwrap();
    assert_eq!(host.status().as_u16(), 403);

    // After all that, the server still runs studies.
    let events = server.run(&study("after", 100)).unwrap().collect();
    assert_eq!(events.last().unwrap().0, "done");
}

/// Reads events until the first progress snapshot.
fn first_progress(events: &mut Events) -> Value {
    loop {
        let (name, data) = events.next().expect("the stream goes on");
        if name == "progress" {
            return data;
        }
        assert_eq!(name, "start");
    }
}

#[test]
fn a_study_stops_when_cancelled_when_its_page_runs_again_and_when_its_page_goes_away() {
    let server = start();
    // Cancel.
    let mut events = server.run(&study("c1", 5000)).unwrap();
    first_progress(&mut events);
    let (status, body) = server.post_json("api/cancel", &json!({"page": "c1"}));
    assert_eq!(status, 200, "{body}");
    let rest = events.collect();
    let (last, data) = rest.last().unwrap();
    assert_eq!(last, "cancelled");
    assert!(data["runs"].as_u64().unwrap() < 5000);
    assert!(server.wait_idle(30));
    let (_, body) = server.post_json("api/cancel", &json!({"page": "c1"}));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["cancelled"],
        Value::Null
    );

    // A new run from the same page replaces the old one.
    let mut old = server.run(&study("c2", 5000)).unwrap();
    first_progress(&mut old);
    let new = server.run(&study("c2", 100)).unwrap();
    assert_eq!(old.collect().last().unwrap().0, "cancelled");
    assert_eq!(new.collect().last().unwrap().0, "done");
    assert!(server.wait_idle(30));

    // The page goes away: its stream is dropped, and the study stops.
    let mut gone = server.run(&study("c3", 5000)).unwrap();
    first_progress(&mut gone);
    assert_eq!(server.status()["studies_running"], 1);
    drop(gone);
    assert!(
        server.wait_idle(30),
        "a study without its page kept running"
    );
    // Its unfinished study left nothing to download.
    let (status, _) = server.get("api/pages/c3/summary.csv");
    assert_eq!(status, 404);
}

#[test]
fn two_pages_run_at_once_and_the_server_answers_meanwhile() {
    let server = start();
    let results: Vec<(String, Vec<(String, Value)>)> = thread::scope(|s| {
        let handles: Vec<_> = [("one", 400u64), ("two", 600)]
            .into_iter()
            .map(|(page, runs)| {
                let server = &server;
                s.spawn(move || {
                    (
                        page.to_string(),
                        server.run(&study(page, runs)).unwrap().collect(),
                    )
                })
            })
            .collect();
        // While they run, other requests are answered.
        let mut answered_while_running = false;
        for _ in 0..200 {
            let list = server.get_json("api/scenarios");
            assert!(list["scenarios"].as_array().unwrap().len() >= 3);
            if server.status()["studies_running"] == 2 {
                answered_while_running = true;
                break;
            }
            thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(answered_while_running, "never saw both studies running");
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut headlines = HashMap::new();
    for (page, events) in &results {
        let (last, data) = events.last().unwrap();
        assert_eq!(last, "done", "{page}");
        let want = if page == "one" { 400 } else { 600 };
        assert_eq!(data["runs"], want, "{page}");
        headlines.insert(page.clone(), data["headline"]["text"].clone());
    }
    // Each page has its own finished study to download.
    for (page, runs) in [("one", 400), ("two", 600)] {
        let (status, csv) = server.get(&format!("api/pages/{page}/summary.csv"));
        assert_eq!(status, 200);
        let n = format!(",Russia,rolling_share,{runs},");
        assert!(csv.contains(&n), "{page}: {}", &csv[..200.min(csv.len())]);
    }
    assert_eq!(headlines.len(), 2);
}

#[test]
fn the_downloads_are_a_scenario_armsim_runs_and_the_summary_it_writes() {
    let server = start();
    let runs = 200;
    let events = server.run(&study("dl", runs)).unwrap().collect();
    assert_eq!(events.last().unwrap().0, "done");

    let (status, toml) = server.post_json("api/toml", &study("dl", runs));
    assert_eq!(status, 200, "{toml}");
    assert!(
        toml.contains("#   suppliers.Russia.support = 0 (was 0.9)"),
        "{toml}"
    );
    assert!(toml.contains("[A]"), "the scenario's comments are kept");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("changed.toml");
    std::fs::write(&file, &toml).unwrap();
    let file_arg = file.display().to_string();
    let (stdout, _) = text(&ok(armsim(dir.path(), &["validate", &file_arg])));
    assert!(stdout.contains(": valid"), "{stdout}");
    assert!(stdout.contains(&format!("{runs} runs")), "{stdout}");
    let loaded = armsim::scenario::load_file(&file, &[]).unwrap().scenario;
    for (path, value) in [
        ("suppliers.Russia.support", 0.0),
        ("suppliers.Russia.hold_support", 1.0),
    ] {
        assert_eq!(loaded.param(loaded.target(path).unwrap()), value, "{path}");
    }

    // The page's CSV is what `armsim run` writes for the downloaded file.
    let out = dir.path().join("out");
    let out_arg = out.display().to_string();
    ok(armsim(
        dir.path(),
        &["run", &file_arg, "--no-plots", "--quiet", "--out", &out_arg],
    ));
    let cli_csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let (status, page_csv) = server.get("api/pages/dl/summary.csv?which=change");
    assert_eq!(status, 200);
    assert_eq!(page_csv, cli_csv);
    // And the baseline's is the shipped scenario's.
    let base = dir.path().join("base");
    let base_arg = base.display().to_string();
    ok(armsim(
        dir.path(),
        &[
            "run",
            "--runs",
            &runs.to_string(),
            "--no-plots",
            "--quiet",
            "--out",
            &base_arg,
        ],
    ));
    let (_, page_base) = server.get("api/pages/dl/summary.csv?which=baseline");
    assert_eq!(
        page_base,
        std::fs::read_to_string(base.join("summary.csv")).unwrap()
    );
    let (status, _) = server.get("api/pages/dl/summary.csv?which=both");
    assert_eq!(status, 400);

    // A download with an invalid change is refused like a run.
    let (status, body) = server.post_json(
        "api/toml",
        &json!({"scenario": "myanmar_2021", "changes": [{"path": "world.pressure", "value": 2}]}),
    );
    assert_eq!(status, 400, "{body}");
}

/// `GET path` at `server` with the `Host` header `host`: the status.
fn status_as(server: &Server, path: &str, host: &str) -> u16 {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
        .get(&server.at(path))
        .header("host", host)
        .call()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn the_host_check_holds_on_every_address_and_accepts_the_hosts_it_answers_as() {
    // --bind 0.0.0.0 used to switch the Host check off, so any web page a
    // student visited could drive the server through DNS rebinding.
    let exe = env!("CARGO_BIN_EXE_armsim");
    let open = Server::start_with(exe, &["--quiet", "--bind", "0.0.0.0"]);
    let port = open.url.rsplit(':').next().unwrap().trim_end_matches('/');
    assert_eq!(status_as(&open, "api/scenarios", "evil.example"), 403);
    assert_eq!(
        status_as(&open, "api/scenarios", &format!("evil.example:{port}")),
        403
    );
    assert_eq!(status_as(&open, "api/scenarios", "lab.example"), 403);
    for host in ["localhost", "127.0.0.1", "LOCALHOST"] {
        assert_eq!(
            status_as(&open, "api/scenarios", &format!("{host}:{port}")),
            200,
            "{host}"
        );
    }
    // The name other machines use is accepted once given.
    let named = Server::start_with(
        exe,
        &[
            "--quiet",
            "--bind",
            "0.0.0.0",
            "--allow-host",
            "lab.example",
        ],
    );
    let port = named.url.rsplit(':').next().unwrap().trim_end_matches('/');
    assert_eq!(
        status_as(&named, "api/scenarios", &format!("lab.example:{port}")),
        200
    );
    assert_eq!(status_as(&named, "api/scenarios", "evil.example"), 403);
    // A malformed --allow-host is refused before the server starts.
    let out = armsim(&root(), &["serve", "--allow-host", "a b:80"]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
}

#[test]
fn the_server_answers_at_the_address_it_prints() {
    // --bind 127.0.0.2 printed that address and answered 403 there.
    let server = Server::start_with(
        env!("CARGO_BIN_EXE_armsim"),
        &["--quiet", "--bind", "127.0.0.2"],
    );
    assert!(
        server.url.starts_with("http://127.0.0.2:"),
        "{}",
        server.url
    );
    let (status, body) = server.get("api/scenarios");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn threads_beyond_the_cores_are_refused() {
    // --threads was unbounded: 3,000 threads in 6 seconds.
    let out = armsim(&root(), &["serve", "--threads", "100000"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--threads 100000: at most"), "{stderr}");
}

#[test]
fn an_oversized_body_is_answered_with_the_limit_not_a_made_up_size() {
    // The 413 said "the scenario is 2112 KiB" (the limit) of a 3 MiB body.
    let server = start();
    let (status, body) = server.post_oversized("api/upload", 3 << 20);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("over 2112 KiB"), "{body}");
    assert!(!body.contains("is 2112 KiB"), "{body}");
}

#[test]
fn a_study_is_fitted_to_the_memory_limit_or_refused() {
    let server = Server::start_with(
        env!("CARGO_BIN_EXE_armsim"),
        &["--quiet", "--max-study-mb", "16", "--threads", "1"],
    );
    let Err((status, body)) = server.run(&study("big", 100)) else {
        panic!("a study over --max-study-mb ran")
    };
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("--max-study-mb"),
        "{body}"
    );
    assert_eq!(server.status()["studies_running"], 0);
    // A study that fits on fewer threads runs on them (about 100 MB per two
    // threads for the baseline), to the same results.
    let server = Server::start_with(
        env!("CARGO_BIN_EXE_armsim"),
        &["--quiet", "--max-study-mb", "150"],
    );
    let mut events = server.run(&study("fits", 100)).unwrap();
    let (name, start) = events.next().unwrap();
    assert_eq!(name, "start");
    let cores = std::thread::available_parallelism().unwrap().get() as u64;
    assert_eq!(start["threads"], cores.min(2), "{start}");
    assert_eq!(events.collect().last().unwrap().0, "done");
}

#[test]
fn a_page_that_hangs_up_stops_its_study_within_moments() {
    // The study of a page that went away kept running to its round's end
    // (minutes for a large scenario) while no longer counted. Now it stops
    // within a pair of runs and is counted until then.
    let server = Server::start_with(
        env!("CARGO_BIN_EXE_armsim"),
        &["--quiet", "--max-studies", "1"],
    );
    let mut gone = server.run(&study("gone", 100_000)).unwrap();
    first_progress(&mut gone);
    drop(gone);
    assert!(
        server.wait_idle(10),
        "a study without its page kept running"
    );
    // The slot is free again: another page runs.
    let events = server.run(&study("next", 100)).unwrap().collect();
    assert_eq!(events.last().unwrap().0, "done");
}
