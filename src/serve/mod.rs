//! `armsim serve`: a local web page for students (issue 10). One page,
//! embedded in the binary with its script and style (no CDN, no network at
//! run time), where a student picks a shipped scenario or uploads one, moves
//! sliders generated from the parameter metadata, and watches fan charts of
//! the change beside the baseline fill in as paired runs finish.
//!
//! The server is part of the binary, not the library: it turns HTTP into
//! library calls ([`api`] for scenarios and requests, [`study`] for the
//! paired comparison and its snapshots) and owns the policy of a shared
//! service: which address it listens on, how many runs a request may ask
//! for, one study per page (a new run from a page cancels its old one, and a
//! study stops when its page's event stream goes away), a cap on studies
//! running at once, and that bad input is answered with a 4xx and a message,
//! never a crash. Studies run on tokio's blocking threads, each over its own
//! rayon pool, so the server answers other pages while they compute.
//!
//! Routes (JSON unless said otherwise):
//! - `GET /`, `/app.js`, `/app.css`: the page.
//! - `GET /api/scenarios`: the shipped scenarios.
//! - `GET /api/scenarios/{id}`: a shipped scenario's controls (see [`api::describe`]).
//! - `POST /api/upload?filename=F` (body: TOML text): an uploaded scenario's
//!   controls, or the CLI's diagnostics.
//! - `POST /api/run` (a [`api::StudyRequest`]): a `text/event-stream` of
//!   `start`, `progress`..., then `done` or `cancelled` (or `failed`).
//! - `POST /api/cancel` (`{"page": ...}`): stops the page's study.
//! - `POST /api/toml` (a study request): the scenario with the changes as
//!   values, ready for `armsim run`.
//! - `GET /api/pages/{page}/summary.csv?which=change|baseline`: the summary
//!   CSV of the page's last finished study, as `armsim run` writes it.
//! - `GET /api/status`: studies running and pages known.

pub mod api;
pub mod study;

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use armsim::scenario::Loaded;
use armsim::summary::Summary;

use api::{ApiError, StudyRequest};
use study::Message;

/// The page and its assets, compiled in.
const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Largest request body: an uploaded scenario ([`api::MAX_TOML_BYTES`]),
/// with room for JSON escaping when it travels inside a run request.
const MAX_BODY: usize = 2 * api::MAX_TOML_BYTES + 64 * 1024;
/// Pages remembered (for their last study's CSV) before the oldest idle
/// one is forgotten.
const MAX_PAGES: usize = 256;

/// Options of `armsim serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Port to listen on; 0 picks a free one (the address is printed)
    #[arg(long, default_value_t = 8321)]
    port: u16,

    /// Address to listen on. The default, 127.0.0.1, is reachable only from
    /// this machine; give 0.0.0.0 (or an interface's address) on purpose to
    /// let other machines use the page and its processors
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,

    /// A host name or address other machines reach this server by, such as
    /// `lab-pc.local` or `192.168.1.20` (repeatable). Requests naming any
    /// other host are refused, so a web page elsewhere cannot drive the
    /// server through DNS rebinding; localhost and the --bind address are
    /// always accepted
    #[arg(long, value_name = "HOST", value_parser = parse_allowed_host)]
    allow_host: Vec<String>,

    /// Open the page in the default web browser
    #[arg(long)]
    open: bool,

    /// Most runs one request may ask for
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=armsim::model::MAX_RUNS))]
    max_runs: u64,

    /// Most studies running at once, across all pages. A study counts until
    /// its threads have stopped and its memory is freed, also after its page
    /// has gone away. Each holds its threads and up to --max-study-mb
    #[arg(long, value_name = "K", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024))]
    max_studies: u64,

    /// Most memory one study may hold, in MB, as estimated from its
    /// scenario's quarters and suppliers and its threads (about 100 MB per
    /// two threads for the baseline, 270 for the history scenarios). A large
    /// scenario runs on fewer threads to fit (results do not depend on
    /// them); one that does not fit on one thread is refused
    #[arg(long, value_name = "MB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(16..=1 << 20))]
    max_study_mb: u64,

    /// Worker threads per study, at most this machine's cores; results do
    /// not depend on it [default: all cores]
    #[arg(long, value_name = "T", default_value_t = 0, hide_default_value = true)]
    threads: usize,

    /// Print only the address, not a line per study
    #[arg(long, short)]
    quiet: bool,
}

/// What every handler shares.
struct App {
    args: ServeArgs,
    pages: Mutex<Pages>,
}

impl App {
    /// The page registry. A poisoned lock (a thread panicked holding it) is
    /// taken over: every update is a single assignment, so the registry is
    /// still consistent, and the server keeps serving.
    fn pages(&self) -> std::sync::MutexGuard<'_, Pages> {
        self.pages.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pages the server knows, by the identifiers they made up.
#[derive(Default)]
struct Pages {
    pages: HashMap<String, Page>,
    next_study: u64,
    /// Studies whose threads have not returned yet, cancelled ones included:
    /// a study holds its memory and threads until then, so this, not the
    /// pages' cancel flags, is what --max-studies limits.
    alive: usize,
}

#[derive(Default)]
struct Page {
    /// The study running for this page, and its cancel flag.
    running: Option<(u64, Arc<AtomicBool>)>,
    /// The page's last study that ran to the end.
    finished: Option<Arc<Finished>>,
    touched: Option<Instant>,
}

/// A finished study's downloads: its summary CSVs, written when it ends.
/// A few hundred kilobytes, where the summaries themselves take tens of
/// megabytes, so remembering many pages costs little memory.
struct Finished {
    /// The scenario's identifier, for file names.
    id: String,
    /// summary.csv of the runs with the change.
    change: String,
    /// summary.csv of the baseline's runs.
    baseline: String,
}

impl Finished {
    fn new(
        baseline: &Loaded,
        variant: &Loaded,
        a: &Summary,
        b: &Summary,
    ) -> std::io::Result<Finished> {
        let csv = |loaded: &Loaded, summary: &Summary| -> std::io::Result<String> {
            let mut out = Vec::new();
            armsim::output::write_summary_csv(&mut out, &loaded.scenario, summary)?;
            String::from_utf8(out).map_err(std::io::Error::other)
        };
        Ok(Finished {
            id: variant.scenario.id().to_string(),
            change: csv(variant, b)?,
            baseline: csv(baseline, a)?,
        })
    }
}

impl Pages {
    /// Studies running: every study whose thread has not returned, also one
    /// cancelled or abandoned by its page that is still winding down.
    fn running(&self) -> usize {
        self.alive
    }

    /// Sets the cancel flag of `page`'s running study; whether it had one.
    fn cancel(&self, page: &str) -> bool {
        match self.pages.get(page).and_then(|p| p.running.as_ref()) {
            Some((_, flag)) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Whether `page` has a study whose thread has not returned.
    fn is_running(&self, page: &str) -> bool {
        self.pages.get(page).is_some_and(|p| p.running.is_some())
    }

    /// Starts a study for `page`: cancels the page's running one, refuses if
    /// `max` studies are alive, forgets the oldest idle pages if too many.
    fn begin(&mut self, page: &str, max: usize) -> Result<(u64, Arc<AtomicBool>), ApiError> {
        self.cancel(page);
        if self.running() >= max {
            return Err(ApiError::status(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the server is running {max} studies for other pages (its --max-studies); \
                     try again when one has finished"
                ),
            ));
        }
        if self.pages.len() >= MAX_PAGES && !self.pages.contains_key(page) {
            let oldest = self
                .pages
                .iter()
                .filter(|(_, p)| p.running.is_none())
                .min_by_key(|(_, p)| p.touched)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.pages.remove(&k);
            }
        }
        self.next_study += 1;
        self.alive += 1;
        let flag = Arc::new(AtomicBool::new(false));
        let entry = self.pages.entry(page.to_string()).or_default();
        entry.running = Some((self.next_study, flag.clone()));
        entry.touched = Some(Instant::now());
        Ok((self.next_study, flag))
    }

    /// Ends study `study` of `page` (its thread has returned), keeping its
    /// results if it finished.
    fn end(&mut self, page: &str, study: u64, finished: Option<Finished>) {
        self.alive = self.alive.saturating_sub(1);
        if let Some(p) = self.pages.get_mut(page) {
            if p.running.as_ref().is_some_and(|(s, _)| *s == study) {
                p.running = None;
            }
            if let Some(f) = finished {
                p.finished = Some(Arc::new(f));
            }
            p.touched = Some(Instant::now());
        }
    }
}

/// Marks a page's study as ended when dropped, keeping its results if it
/// finished. Made as the study is counted and dropped by its thread once the
/// study's memory is freed, so every study counted is uncounted exactly once.
struct EndStudy {
    app: Arc<App>,
    page: String,
    study: u64,
    finished: Option<Finished>,
}

impl Drop for EndStudy {
    fn drop(&mut self) {
        let mut pages = self.app.pages();
        pages.end(&self.page, self.study, self.finished.take());
    }
}

/// How long a page's new run waits for its old study to stop before it is
/// counted against --max-studies anyway. A cancelled study stops within one
/// paired run, so this is rarely more than milliseconds.
const REPLACE_WAIT: Duration = Duration::from_secs(10);

/// Memory one page study may hold, in bytes, for `threads` worker threads:
/// three summaries (the baseline, the change and their difference) and, per
/// thread, three recorders. [`Summary::estimated_bytes`] counts one summary
/// and two recorders, so three of it per pair of threads is an upper bound.
fn study_bytes(scenario: &armsim::model::Scenario, threads: usize) -> u64 {
    let one = Summary::estimated_bytes(
        scenario.quarters() as usize,
        scenario.suppliers().len(),
        scenario.compare().len(),
    );
    3 * one * threads.div_ceil(2).max(1) as u64
}

/// Sets a study's cancel flag when dropped: held by its event stream, so a
/// page that goes away (or aborts its request) stops its study.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// The 413 for a body over [`MAX_BODY`]: the server stops reading at the
/// limit, so it states the limit, never a size it did not measure.
fn body_too_large() -> ApiError {
    ApiError::status(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request is over {} KiB, the most this server reads; the page accepts scenario \
             files up to {} KiB (use `armsim run` for larger ones)",
            MAX_BODY / 1024,
            api::MAX_TOML_BYTES / 1024
        ),
    )
}

/// A malformed JSON body, wrong content type or oversized body, as a 4xx
/// with a sentence.
fn json_rejection(e: JsonRejection) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return body_too_large();
    }
    ApiError::status(
        status,
        format!("the request is not valid: {}", e.body_text()),
    )
}

fn bytes_rejection(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return body_too_large();
    }
    ApiError::status(e.status(), e.body_text())
}

/// A page identifier: what the page made up, checked for shape.
fn page_id(page: Option<&str>) -> Result<String, ApiError> {
    match page {
        Some(p)
            if !p.is_empty()
                && p.len() <= 64
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Ok(p.to_string())
        }
        _ => Err(ApiError::bad(
            "`page` must be the page's identifier: 1 to 64 letters, digits, - or _",
        )),
    }
}

/// Runs `f` on a blocking thread (loading and validating a scenario takes
/// milliseconds; the async workers stay free for other pages).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(ApiError::status(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
        ))
    })
}

async fn index() -> impl IntoResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn scenarios(State(app): State<Arc<App>>) -> Result<Json<serde_json::Value>, ApiError> {
    let max = app.args.max_runs;
    blocking(move || Ok(Json(api::list(max)))).await
}

async fn scenario(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let max = app.args.max_runs;
    blocking(move || Ok(Json(api::describe(&api::load_shipped(&id)?, max)))).await
}

#[derive(Deserialize)]
struct UploadQuery {
    filename: Option<String>,
}

async fn upload(
    State(app): State<Arc<App>>,
    Query(query): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let body = body.map_err(bytes_rejection)?;
    if body.len() > api::MAX_TOML_BYTES {
        return Err(api::too_large(body.len()));
    }
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::bad("the file is not text (UTF-8); a scenario is a TOML file"))?;
    let max = app.args.max_runs;
    blocking(move || {
        let loaded = api::load_upload(text, query.filename.as_deref())?;
        Ok(Json(api::describe(&loaded, max)))
    })
    .await
}

fn sse_event(m: Message) -> Result<Event, Infallible> {
    Ok(Event::default().event(m.event).data(m.data))
}

async fn run(
    State(app): State<Arc<App>>,
    body: Result<Json<StudyRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body.map_err(json_rejection)?;
    let page = page_id(request.page.as_deref())?;
    let max_runs = app.args.max_runs;
    let resolved = Arc::new(blocking(move || api::resolve(request, max_runs)).await?);
    let threads = threads_that_fit(&app.args, &resolved.baseline.scenario)?;
    stop_page_study(&app, &page).await;
    let (study, cancel) = app.pages().begin(&page, app.args.max_studies as usize)?;
    // Counted from here: ends the page's study however its thread leaves (a
    // panic included), so it never counts against --max-studies forever nor
    // stops counting before its memory is freed.
    let end = EndStudy {
        app: app.clone(),
        page: page.clone(),
        study,
        finished: None,
    };

    let first = study::start(&resolved, study, threads);
    // The page needs only the latest snapshot: a watch channel never makes
    // the study wait for a slow page, and the last snapshot is still
    // delivered after the study has dropped its sender.
    let (tx, rx) = watch::channel(None::<Message>);
    {
        let (app, cancel, resolved) = (app.clone(), cancel.clone(), resolved.clone());
        tokio::task::spawn_blocking(move || {
            let line = run_page_study(&resolved, threads, &cancel, tx, end);
            if !app.args.quiet {
                eprintln!("{line}");
            }
        });
    }

    let guard = CancelOnDrop(cancel);
    let updates = stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.changed().await.ok()?;
        let message = rx.borrow_and_update().clone()?;
        Some((message, (rx, guard)))
    });
    let events = stream::once(async move { first })
        .chain(updates)
        .map(sse_event);
    Ok(sse(events))
}

/// The most threads (up to the server's) on which a study of `scenario`
/// fits `--max-study-mb`. Results do not depend on the threads, so a large
/// scenario runs on fewer of them; one that does not fit on one thread is
/// refused.
fn threads_that_fit(
    args: &ServeArgs,
    scenario: &armsim::model::Scenario,
) -> Result<usize, ApiError> {
    let limit = args.max_study_mb << 20;
    (1..=study_threads(args.threads))
        .rev()
        .find(|&t| study_bytes(scenario, t) <= limit)
        .ok_or_else(|| {
            ApiError::status(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "this study would hold about {} MB even on one thread ({} quarters x {} \
                     suppliers); the server allows {} MB per study (its --max-study-mb): use \
                     fewer quarters or suppliers, or `armsim compare`",
                    study_bytes(scenario, 1).div_ceil(1 << 20),
                    scenario.quarters(),
                    scenario.suppliers().len(),
                    args.max_study_mb
                ),
            )
        })
}

/// A new run from a page replaces its old study: stops that one and waits
/// (up to [`REPLACE_WAIT`]) until its thread has returned, so the two are
/// never counted at once and the old one's memory is free before the new
/// one starts.
async fn stop_page_study(app: &App, page: &str) {
    if app.pages().cancel(page) {
        let deadline = Instant::now() + REPLACE_WAIT;
        while app.pages().is_running(page) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Runs a page's study on this (blocking) thread, sending its snapshots to
/// `tx`, and returns the line the server logs. `end` uncounts the study
/// and keeps its downloads, before `done` is sent.
fn run_page_study(
    resolved: &api::Resolved,
    threads: usize,
    cancel: &AtomicBool,
    tx: watch::Sender<Option<Message>>,
    mut end: EndStudy,
) -> String {
    let study = end.study;
    let mut send = |m: Message| {
        tx.send_replace(Some(m));
    };
    match study::run(resolved, study, threads, cancel, &mut send) {
        Ok((out, last)) => {
            let secs = out.elapsed.as_secs_f64();
            let page = &end.page;
            let line = format!(
                "study {study} (page {}): {} {} of {} paired runs in {secs:.2} s ({:.0} pairs/s){}",
                &page[..page.len().min(8)],
                resolved.baseline.scenario.id(),
                out.paired.runs,
                resolved.baseline.scenario.runs(),
                out.paired.runs as f64 / secs.max(1e-9),
                if out.interrupted { ", cancelled" } else { "" },
            );
            if !out.interrupted {
                let p = &out.paired;
                end.finished =
                    Finished::new(&resolved.baseline, &resolved.variant, &p.a, &p.b).ok();
            }
            // Free the summaries, then uncount the study and keep its
            // downloads, before saying `done`: a page that asks for them at
            // once finds them, and a study is counted as long as it holds
            // its memory.
            drop(out);
            drop(end);
            send(last);
            line
        }
        Err(e) => {
            send(Message {
                event: "failed",
                data: json!({ "study": study, "error": e.to_string() }).to_string(),
            });
            format!("study {study}: failed: {e}")
        }
    }
}

fn sse<S>(events: S) -> Response
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(1)))
        .into_response();
    // No proxy buffering: the page should see each round as it comes.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelRequest {
    page: String,
}

async fn cancel(
    State(app): State<Arc<App>>,
    body: Result<Json<CancelRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(request) = body.map_err(json_rejection)?;
    let page = page_id(Some(&request.page))?;
    let pages = app.pages();
    let cancelled = match pages.pages.get(&page).and_then(|p| p.running.as_ref()) {
        Some((study, flag)) => {
            flag.store(true, Ordering::Relaxed);
            Some(*study)
        }
        None => None,
    };
    Ok(Json(json!({ "cancelled": cancelled })))
}

async fn toml(
    State(app): State<Arc<App>>,
    body: Result<Json<StudyRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body.map_err(json_rejection)?;
    let max_runs = app.args.max_runs;
    let (text, id) = blocking(move || {
        let resolved = api::resolve(request, max_runs)?;
        Ok((api::changed_toml(&resolved)?, resolved.id))
    })
    .await?;
    Ok(download(
        "application/toml; charset=utf-8",
        &format!("{id}_changed.toml"),
        text,
    ))
}

fn download(content_type: &'static str, filename: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct CsvQuery {
    which: Option<String>,
}

async fn summary_csv(
    State(app): State<Arc<App>>,
    Path(page): Path<String>,
    Query(query): Query<CsvQuery>,
) -> Result<Response, ApiError> {
    let page = page_id(Some(&page))?;
    let finished = app
        .pages()
        .pages
        .get(&page)
        .and_then(|p| p.finished.clone())
        .ok_or_else(|| {
            ApiError::status(
                StatusCode::NOT_FOUND,
                "this page has no finished study yet: run one to the end first",
            )
        })?;
    let which = query.which.unwrap_or_else(|| "change".into());
    let baseline = match which.as_str() {
        "change" => false,
        "baseline" => true,
        other => {
            return Err(ApiError::bad(format!(
                "which: found {other:?}, expected \"change\" or \"baseline\""
            )));
        }
    };
    let text = if baseline {
        finished.baseline.clone()
    } else {
        finished.change.clone()
    };
    let name = format!("{}_{which}_summary.csv", finished.id);
    Ok(download("text/csv; charset=utf-8", &name, text))
}

async fn status(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    let pages = app.pages();
    Json(json!({
        "studies_running": pages.running(),
        "pages": pages.pages.len(),
        "max_runs": app.args.max_runs,
        "max_studies": app.args.max_studies,
    }))
}

async fn not_found() -> ApiError {
    ApiError::status(StatusCode::NOT_FOUND, "no such page or API route")
}

/// The hosts a request may name (its `Host` header), with or without the
/// port: what the server really answers as.
#[derive(Debug, Clone)]
struct AllowedHosts {
    /// Lower-case host names and addresses (IPv6 in brackets).
    names: Vec<String>,
    port: u16,
}

impl AllowedHosts {
    /// localhost and the loopback addresses when the server can be reached
    /// through them (bound to loopback or to every interface), the bound
    /// address itself, and the `--allow-host` names.
    fn new(bound: SocketAddr, extra: &[String]) -> AllowedHosts {
        let mut names: Vec<String> = Vec::new();
        let ip = bound.ip();
        if ip.is_loopback() || ip.is_unspecified() {
            names.extend(["localhost", "127.0.0.1", "[::1]"].map(String::from));
        }
        if !ip.is_unspecified() {
            names.push(match ip {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            });
        }
        names.extend(extra.iter().map(|h| h.to_ascii_lowercase()));
        names.dedup();
        AllowedHosts {
            names,
            port: bound.port(),
        }
    }

    fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let port = format!(":{}", self.port);
        let name = host.strip_suffix(port.as_str()).unwrap_or(&host);
        self.names.iter().any(|n| n == name)
    }
}

/// `--allow-host`: a host name or IP address as a `Host` header names it.
fn parse_allowed_host(text: &str) -> Result<String, String> {
    let text = text.trim();
    if let Ok(ip) = text.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        });
    }
    let ok = !text.is_empty()
        && text.len() <= 253
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!(
            "{text:?} is not a host name or IP address (letters, digits, - and . only, no port)"
        ))
    }
}

/// Refuses requests whose Host header names a host the server does not
/// answer as (DNS rebinding: a web page elsewhere resolving its own name to
/// this machine's address), whatever address it listens on.
async fn known_host_only(
    State(allowed): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !allowed.allows(host) {
        return Err(ApiError::status(
            StatusCode::FORBIDDEN,
            format!(
                "this server answers requests to {} only, not {host:?}; to reach it by that \
                 name, start it with --allow-host NAME",
                allowed.names.join(", ")
            ),
        ));
    }
    Ok(next.run(request).await)
}

/// Worker threads per study: `--threads`, or every core for 0.
fn study_threads(threads: usize) -> usize {
    if threads == 0 { cores() } else { threads }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The router of the page and its API.
fn router(app: Arc<App>, allowed: AllowedHosts) -> Router {
    let router = Router::new()
        .route("/", get(index))
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/api/scenarios", get(scenarios))
        .route("/api/scenarios/{id}", get(scenario))
        .route("/api/upload", post(upload))
        .route("/api/run", post(run))
        .route("/api/cancel", post(cancel))
        .route("/api/toml", post(toml))
        .route("/api/pages/{page}/summary.csv", get(summary_csv))
        .route("/api/status", get(status))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::map_response(security_headers))
        .with_state(app);
    router.layer(middleware::from_fn_with_state(
        Arc::new(allowed),
        known_host_only,
    ))
}

/// Everything comes from this server: the page may load nothing from the
/// network, nor be framed by another site.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; \
             script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Runs `armsim serve` until the process is stopped.
pub fn main(args: ServeArgs) -> Result<ExitCode> {
    // Each study runs its own pool of this many threads: more than the
    // machine's cores only adds threads (thousands, with --max-studies).
    if args.threads > cores() {
        anyhow::bail!(
            "--threads {}: at most {} (this machine's cores); 0 uses them all",
            args.threads,
            cores()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let address = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {address}; choose another port with --port (0 picks a free one)"
            )
        })?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let url = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("http://127.0.0.1:{}/", bound.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => format!("http://[::1]:{}/", bound.port()),
        _ => format!("http://{bound}/"),
    };
    // Tests and scripts read this line for the address: print it first, flushed.
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "armsim serve: the page is at {url} (Ctrl-C stops the server)"
    )
    .and_then(|()| stdout.flush())
    .context("cannot write the page's address to standard output")?;
    let allowed = AllowedHosts::new(bound, &args.allow_host);
    if !args.bind.is_loopback() {
        eprintln!(
            "note: listening on {bound}: any machine that can reach it can run studies here \
             (up to {} runs each), naming it as {}; add names with --allow-host",
            args.max_runs,
            allowed.names.join(", ")
        );
    }
    if args.open && open::that_detached(&url).is_err() {
        eprintln!("note: could not open a browser; open {url} yourself");
    }
    let app = Arc::new(App {
        args,
        pages: Mutex::new(Pages::default()),
    });
    let router = router(app, allowed);
    axum::serve(listener, router)
        .await
        .context("the server stopped")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_study_is_counted_until_its_thread_ends() {
        // A page that hung up set its study's cancel flag, and the flag
        // alone used to uncount it while it ran on, holding its memory.
        let mut pages = Pages::default();
        let (study, flag) = pages.begin("a", 1).unwrap();
        flag.store(true, Ordering::Relaxed);
        assert_eq!(pages.running(), 1);
        assert!(
            pages.begin("b", 1).is_err(),
            "a second study past --max-studies 1"
        );
        pages.end("a", study, None);
        assert_eq!(pages.running(), 0);
        assert!(!pages.is_running("a"));
        let (_, _) = pages.begin("b", 1).unwrap();
        assert_eq!(pages.running(), 1);
    }

    #[test]
    fn a_page_replacing_its_study_cancels_the_old_one() {
        let mut pages = Pages::default();
        let (first, old) = pages.begin("a", 2).unwrap();
        let (second, new) = pages.begin("a", 2).unwrap();
        assert!(old.load(Ordering::Relaxed) && !new.load(Ordering::Relaxed));
        // Both threads are alive until each ends; ending the old one does
        // not end the page's new study.
        assert_eq!(pages.running(), 2);
        pages.end("a", first, None);
        assert!(pages.is_running("a"));
        pages.end("a", second, None);
        assert_eq!(pages.running(), 0);
    }

    #[test]
    fn hosts_are_those_the_server_answers_as() {
        let any = AllowedHosts::new("0.0.0.0:8321".parse().unwrap(), &["lab.example".into()]);
        for host in [
            "localhost",
            "localhost:8321",
            "127.0.0.1:8321",
            "[::1]:8321",
            "LAB.example:8321",
        ] {
            assert!(any.allows(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8321",
            "127.0.0.1:8322",
            "0.0.0.0:8321",
            "",
        ] {
            assert!(!any.allows(host), "{host}");
        }
        let second = AllowedHosts::new("127.0.0.2:80".parse().unwrap(), &[]);
        assert!(second.allows("127.0.0.2:80") && second.allows("localhost:80"));
        let lan = AllowedHosts::new("192.168.1.20:80".parse().unwrap(), &[]);
        assert!(lan.allows("192.168.1.20") && !lan.allows("localhost"));
        assert_eq!(parse_allowed_host("[::1]").unwrap(), "[::1]");
        assert_eq!(parse_allowed_host("Lab.Example").unwrap(), "lab.example");
        assert!(parse_allowed_host("lab.example:80").is_err());
    }

    #[test]
    fn the_memory_estimate_fits_the_shipped_scenarios_and_refuses_the_largest() {
        // --help's figures (about 100 MB per two threads for the baseline,
        // 270 for the history scenarios) fit the default limit (1024 MB) on
        // two threads, which refuses the largest scenario the page accepted
        // (400 quarters: a study of it held 1.35 GB) even on one thread.
        for (id, _) in armsim::scenario::SHIPPED {
            let loaded = armsim::scenario::load_shipped(id, &[]).unwrap().unwrap();
            let mb = study_bytes(&loaded.scenario, 2) >> 20;
            assert!((60..300).contains(&mb), "{id}: {mb} MB");
        }
        let big =
            armsim::scenario::load_baseline(&[format!("run.quarters={}", api::MAX_PAGE_QUARTERS)])
                .unwrap();
        assert!(study_bytes(&big.scenario, 1) > 1024 << 20);
    }
}
