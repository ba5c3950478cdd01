//! The kept runs (`--keep-runs N`): every metric of the first N runs, quarter
//! by quarter, as CSV or as Arrow IPC.
//!
//! - `runs.csv`, long: `run,quarter,label,entity,metric,value`, one row per
//!   run, quarter, entity and metric (about 40 bytes a row: 100,000 runs of
//!   the baseline are 5.3 GB).
//! - `runs.arrow`, wide: Arrow IPC file format (Feather version 2), one row
//!   per run and quarter, columns `run`, `quarter`, `label`, then one float64
//!   column per metric named `ENTITY.METRIC` (`world.unrest`,
//!   `Russia.rolling_share`). About a quarter of the CSV's size; read directly by
//!   `pandas.read_feather`, `polars.read_ipc` and R's `arrow::read_feather`.
//!   Written in record batches, so memory stays bounded whatever N.
//!
//! The trajectories come from the caller ([`KeptRuns::replay`]: the study
//! layer replays each run from its own stream); this module only lays them
//! out. [`estimate_bytes`] says how large the file will be before it is written.

use std::io::{self, Write};
#[cfg(feature = "arrow")]
use std::sync::Arc;

#[cfg(feature = "arrow")]
use arrow_array::builder::{Float64Builder, StringBuilder, UInt32Builder, UInt64Builder};
#[cfg(feature = "arrow")]
use arrow_array::{ArrayRef, RecordBatch};
#[cfg(feature = "arrow")]
use arrow_ipc::writer::FileWriter;
#[cfg(feature = "arrow")]
use arrow_schema::{DataType, Field, Schema};

use super::{entity_name, format_number};
use crate::engine::{Observer, QuarterView};
use crate::metrics::{self, Entity, scope};
use crate::model::Scenario;

/// The file format of the kept runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunsFormat {
    /// `runs.csv`, long format.
    Csv,
    /// `runs.arrow`, Arrow IPC file (Feather v2), wide format (with the
    /// `arrow` feature).
    #[cfg(feature = "arrow")]
    Arrow,
}

impl RunsFormat {
    /// The file's name in a study directory.
    pub fn file_name(self) -> &'static str {
        match self {
            RunsFormat::Csv => "runs.csv",
            #[cfg(feature = "arrow")]
            RunsFormat::Arrow => "runs.arrow",
        }
    }

    /// Parses `csv` or `arrow` (also `feather`, `ipc`; with the `arrow`
    /// feature only).
    pub fn parse(name: &str) -> Option<RunsFormat> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Some(RunsFormat::Csv),
            #[cfg(feature = "arrow")]
            "arrow" | "feather" | "ipc" => Some(RunsFormat::Arrow),
            _ => None,
        }
    }
}

/// A function that replays run `k` of a study into an observer.
pub type Replay<'a> = dyn Fn(u64, &mut dyn Observer) + 'a;

/// The runs whose trajectories a study keeps, and where they come from.
pub struct KeptRuns<'a> {
    /// Runs `0..count` are kept.
    pub count: u64,
    /// In this format.
    pub format: RunsFormat,
    /// Replays run `k` into an observer, quarter by quarter.
    pub replay: &'a Replay<'a>,
}

/// The columns of one quarter, in the order of [`metrics::for_each_value`]:
/// `(entity, metric)`.
pub fn columns(scenario: &Scenario) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    let mut add = |entity: Entity, list: &[metrics::MetricId]| {
        let name = entity_name(scenario, entity);
        out.extend(list.iter().map(|m| (name.clone(), m.name())));
    };
    add(Entity::World, scope::World);
    add(Entity::Buyer, scope::Buyer);
    for i in 0..scenario.suppliers().len() {
        add(Entity::Supplier(i), scope::Supplier);
    }
    for &(a, b) in scenario.compare() {
        add(Entity::Pair(a, b), scope::Pair);
    }
    out
}

/// One run's values quarter by quarter, in the order of [`columns`]; NaN
/// where undefined. Keeps the run's "ever so far" flags between quarters.
struct Values<'a> {
    pairs: &'a [(usize, usize)],
    ever: Vec<bool>,
    values: Vec<f64>,
}

impl<'a> Values<'a> {
    fn new(scenario: &'a Scenario) -> Self {
        Values {
            pairs: scenario.compare(),
            ever: vec![false; metrics::ever_flags(scenario.compare().len())],
            values: Vec::new(),
        }
    }

    fn read(&mut self, v: &QuarterView<'_>) -> &[f64] {
        self.values.clear();
        let values = &mut self.values;
        metrics::for_each_value(v, self.pairs, &mut self.ever, |_, _, x| values.push(x));
        &self.values
    }
}

/// Writes the kept runs in their format to `out`.
///
/// # Errors
/// Any write error of `out`.
pub fn write_runs(out: impl Write, scenario: &Scenario, kept: &KeptRuns<'_>) -> io::Result<()> {
    let count = kept.count.min(scenario.runs());
    match kept.format {
        RunsFormat::Csv => write_csv(out, scenario, count, kept.replay),
        #[cfg(feature = "arrow")]
        RunsFormat::Arrow => write_arrow(out, scenario, count, kept.replay),
    }
}

fn write_csv(
    out: impl Write,
    scenario: &Scenario,
    count: u64,
    replay: &Replay<'_>,
) -> io::Result<()> {
    struct Rows<'a, W: Write> {
        w: csv::Writer<W>,
        scenario: &'a Scenario,
        columns: Vec<(String, &'static str)>,
        values: Values<'a>,
        run: u64,
        error: Option<io::Error>,
    }
    impl<W: Write> Observer for Rows<'_, W> {
        fn observe(&mut self, v: &QuarterView<'_>) {
            if self.error.is_some() {
                return;
            }
            let label = self.scenario.label(v.quarter).to_string();
            let (run, quarter) = (self.run.to_string(), v.quarter.to_string());
            let values = self.values.read(v);
            for ((entity, metric), &value) in self.columns.iter().zip(values) {
                let record = [
                    run.as_str(),
                    quarter.as_str(),
                    label.as_str(),
                    entity.as_str(),
                    metric,
                    &format_number(value),
                ];
                if let Err(e) = self.w.write_record(record) {
                    self.error = Some(e.into());
                    return;
                }
            }
        }
    }
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["run", "quarter", "label", "entity", "metric", "value"])?;
    let mut rows = Rows {
        w,
        scenario,
        columns: columns(scenario),
        values: Values::new(scenario),
        run: 0,
        error: None,
    };
    for run in 0..count {
        rows.run = run;
        replay(run, &mut rows);
        if let Some(e) = rows.error.take() {
            return Err(e);
        }
    }
    rows.w.flush()
}

/// Rows (runs x quarters) per Arrow record batch: large enough that
/// per-batch overhead is nothing, small enough to bound memory (a few MB).
#[cfg(feature = "arrow")]
const BATCH_ROWS: usize = 16_384;

#[cfg(feature = "arrow")]
fn arrow_schema(scenario: &Scenario) -> Schema {
    let mut fields = vec![
        Field::new("run", DataType::UInt64, false),
        Field::new("quarter", DataType::UInt32, false),
        Field::new("label", DataType::Utf8, false),
    ];
    for (entity, metric) in columns(scenario) {
        fields.push(Field::new(
            format!("{entity}.{metric}"),
            DataType::Float64,
            true,
        ));
    }
    Schema::new(fields)
}

/// A batch of rows of the Arrow file being built: a builder per column.
#[cfg(feature = "arrow")]
struct Batch {
    run: UInt64Builder,
    quarter: UInt32Builder,
    label: StringBuilder,
    metrics: Vec<Float64Builder>,
    rows: usize,
}
#[cfg(feature = "arrow")]
impl Batch {
    fn new(metrics: usize) -> Batch {
        Batch {
            run: UInt64Builder::with_capacity(BATCH_ROWS),
            quarter: UInt32Builder::with_capacity(BATCH_ROWS),
            label: StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 6),
            metrics: (0..metrics)
                .map(|_| Float64Builder::with_capacity(BATCH_ROWS))
                .collect(),
            rows: 0,
        }
    }
    fn finish(&mut self, schema: &Arc<Schema>) -> io::Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.run.finish()),
            Arc::new(self.quarter.finish()),
            Arc::new(self.label.finish()),
        ];
        columns.extend(
            self.metrics
                .iter_mut()
                .map(|m| Arc::new(m.finish()) as ArrayRef),
        );
        self.rows = 0;
        RecordBatch::try_new(schema.clone(), columns).map_err(io::Error::other)
    }
}
/// The observer that appends each quarter of a replayed run to the batch.
#[cfg(feature = "arrow")]
struct Rows<'a> {
    scenario: &'a Scenario,
    batch: Batch,
    values: Values<'a>,
    run: u64,
}
#[cfg(feature = "arrow")]
impl Observer for Rows<'_> {
    fn observe(&mut self, v: &QuarterView<'_>) {
        let b = &mut self.batch;
        b.run.append_value(self.run);
        b.quarter.append_value(v.quarter);
        b.label
            .append_value(self.scenario.label(v.quarter).to_string());
        for (builder, &x) in b.metrics.iter_mut().zip(self.values.read(v)) {
            // Undefined (a share of no purchases) is null, not NaN.
            builder.append_option((!x.is_nan()).then_some(x));
        }
        b.rows += 1;
    }
}

#[cfg(feature = "arrow")]
fn write_arrow(
    out: impl Write,
    scenario: &Scenario,
    count: u64,
    replay: &Replay<'_>,
) -> io::Result<()> {
    let schema = Arc::new(arrow_schema(scenario));
    let mut writer = FileWriter::try_new(out, &schema).map_err(io::Error::other)?;
    writer.write_metadata("written_by", "armsim");
    writer.write_metadata("scenario_id", scenario.id().to_string());
    let mut rows = Rows {
        scenario,
        batch: Batch::new(schema.fields().len() - 3),
        values: Values::new(scenario),
        run: 0,
    };
    for run in 0..count {
        rows.run = run;
        replay(run, &mut rows);
        if rows.batch.rows + scenario.quarters() as usize > BATCH_ROWS {
            let batch = rows.batch.finish(&schema)?;
            writer.write(&batch).map_err(io::Error::other)?;
        }
    }
    if rows.batch.rows > 0 {
        let batch = rows.batch.finish(&schema)?;
        writer.write(&batch).map_err(io::Error::other)?;
    }
    writer.finish().map_err(io::Error::other)?;
    writer.into_inner().map_err(io::Error::other)?.flush()
}

/// A writer that only counts bytes.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The size in bytes the kept runs' file will have, estimated before it is
/// written: the first run is written to a counter and scaled (CSV, whose
/// rows vary in length), or the size is computed from the layout (Arrow:
/// exact up to a few hundred bytes of framing per batch).
pub fn estimate_bytes(scenario: &Scenario, kept: &KeptRuns<'_>) -> u64 {
    let count = kept.count.min(scenario.runs());
    if count == 0 {
        return 0;
    }
    let quarters = u64::from(scenario.quarters());
    let metrics = columns(scenario).len() as u64;
    match kept.format {
        RunsFormat::Csv => {
            let mut header = Count(0);
            let _ = write_csv(&mut header, scenario, 0, kept.replay);
            let mut one = Count(0);
            let _ = write_csv(&mut one, scenario, 1, kept.replay);
            let per_run = one.0 - header.0;
            // Run numbers have more digits than run 0's one: add the mean excess.
            let digits = |n: u64| u64::from(n.checked_ilog10().unwrap_or(0) + 1);
            let mean_digits = (digits(count - 1) + 1).div_ceil(2).max(1);
            let rows = quarters * metrics;
            header.0 + count * (per_run + rows * (mean_digits - 1))
        }
        #[cfg(feature = "arrow")]
        RunsFormat::Arrow => {
            // Schema and footer: exactly those of a file without runs.
            let mut empty = Count(0);
            let _ = write_arrow(&mut empty, scenario, 0, kept.replay);
            let label = 4 + 6; // offset and "2021Q1"
            let row = 8 + 4 + label + 8 * metrics + metrics.div_ceil(8);
            let rows = count * quarters;
            let batches = rows.div_ceil(BATCH_ROWS as u64);
            // Each batch: its message header (a node and two buffers a
            // column), padding, and its footer entry.
            empty.0 + rows * row + batches * (256 + 48 * (metrics + 3))
        }
    }
}

#[cfg(all(test, feature = "arrow"))]
mod tests {
    use super::*;
    use crate::engine::{Simulator, run_rng};
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, UInt32Type, UInt64Type};

    fn scenario() -> Scenario {
        crate::scenario::load_baseline(&["run.runs=3000".into()])
            .unwrap()
            .scenario
    }

    fn replayer(scenario: &Scenario) -> impl Fn(u64, &mut dyn Observer) + '_ {
        move |k, observer| {
            Simulator::new(scenario).run(&mut run_rng(scenario.seed(), k), observer);
        }
    }

    #[test]
    fn arrow_holds_the_same_values_as_csv() {
        let scenario = scenario();
        let replay = replayer(&scenario);
        // More rows than a batch: 500 runs x 40 quarters.
        let kept = |format| KeptRuns {
            count: 500,
            format,
            replay: &replay,
        };
        let mut csv = Vec::new();
        write_runs(&mut csv, &scenario, &kept(RunsFormat::Csv)).unwrap();
        let mut arrow = Vec::new();
        write_runs(&mut arrow, &scenario, &kept(RunsFormat::Arrow)).unwrap();
        assert_eq!(&arrow[..6], b"ARROW1");

        let reader =
            arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(&arrow), None).unwrap();
        let schema = reader.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names[..4], ["run", "quarter", "label", "world.unrest"]);
        assert_eq!(names.len(), 3 + columns(&scenario).len());
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert!(batches.len() > 1, "written in several batches");
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 500 * scenario.quarters() as usize);

        // Every CSV value, parsed back, is the Arrow value to the CSV's 6
        // significant digits; empty CSV cells are Arrow nulls.
        let mut csv = csv::Reader::from_reader(csv.as_slice());
        let mut records = csv.records().map(Result::unwrap);
        for batch in &batches {
            let run = batch.column(0).as_primitive::<UInt64Type>();
            let quarter = batch.column(1).as_primitive::<UInt32Type>();
            let label = batch.column(2).as_string::<i32>();
            for r in 0..batch.num_rows() {
                for (c, name) in names.iter().enumerate().skip(3) {
                    let record = records.next().unwrap();
                    assert_eq!(record[0].parse::<u64>().unwrap(), run.value(r));
                    assert_eq!(record[1].parse::<u32>().unwrap(), quarter.value(r));
                    assert_eq!(&record[2], label.value(r));
                    assert_eq!(
                        format!("{}.{}", &record[3], &record[4]),
                        *name,
                        "column order"
                    );
                    let column = batch.column(c).as_primitive::<Float64Type>();
                    if record[5].is_empty() {
                        assert!(column.is_null(r));
                    } else {
                        let x: f64 = record[5].parse().unwrap();
                        let y = column.value(r);
                        assert!((x - y).abs() <= 1e-5 * y.abs().max(1e-3), "{x} vs {y}");
                    }
                }
            }
        }
        assert!(records.next().is_none());
    }

    #[test]
    fn estimates_are_close_to_the_real_size() {
        let scenario = scenario();
        let replay = replayer(&scenario);
        for (format, count) in [
            (RunsFormat::Csv, 1),
            (RunsFormat::Csv, 300),
            (RunsFormat::Csv, 3000),
            (RunsFormat::Arrow, 1),
            (RunsFormat::Arrow, 3000),
        ] {
            let kept = KeptRuns {
                count,
                format,
                replay: &replay,
            };
            let mut real = Count(0);
            write_runs(&mut real, &scenario, &kept).unwrap();
            let estimate = estimate_bytes(&scenario, &kept);
            let error = (estimate as f64 - real.0 as f64).abs() / real.0 as f64;
            assert!(
                error < 0.05,
                "{format:?} x {count}: estimated {estimate}, wrote {}",
                real.0
            );
        }
    }
}
