//! SIPRI arms-import records: reading them and the quantities calibration
//! compares the model with.
//!
//! The files in `data/` are extracts of the SIPRI Arms Transfers Database
//! (Stockholm International Peace Research Institute,
//! <https://www.sipri.org/databases/armstransfers>), in trend-indicator values
//! (TIV, millions), one row per recipient, year and supplier with non-zero
//! deliveries. [`Imports`] reads either of the two layouts, chosen by the
//! header: `year,supplier,tiv_millions` (a file of one recipient) or
//! `recipient,year,supplier,tiv_millions` (several recipients, of which the
//! caller selects one). A year with no row for a supplier is a year of zero
//! deliveries from it.
//!
//! A scenario's suppliers are coarser than SIPRI's: a [`Grouping`] maps SIPRI
//! supplier names onto them (the Soviet Union into Russia, say) with an
//! optional catch-all group for every supplier not listed. Without a
//! catch-all, unlisted suppliers are left out and reported by
//! [`Grouped::unlisted`], so a caller can refuse or accept the loss knowingly.
//! [`Imports::group`] gives a [`Grouped`] record, from which:
//!
//! - [`Grouped::annual`]: deliveries per group and year over a span;
//! - [`Grouped::shares`]: each group's share of a window's deliveries, as SIPRI
//!   reports them over five-year windows (e.g. 2016-2020);
//! - [`Grouped::lumpiness`]: how unevenly deliveries arrive from year to year,
//!   the coefficient of variation of annual deliveries (defined there);
//! - [`Grouped::installed_base`]: deliveries accumulated into a depreciating
//!   stock, the model's installed base (docs/model.md, section 8);
//! - [`Grouped::quarterly_rate`]: the mean delivery rate per quarter over a
//!   window, which starts the model's order book in steady state.
//!
//! Every failure is a [`DataError`] naming the file, the line where there is
//! one, and what was wrong.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The longest span of years a computation accepts: far beyond any record,
/// and a bound on what a mistaken span can make us allocate.
pub const MAX_SPAN_YEARS: u32 = 1000;

/// Why imports could not be read, grouped or summarised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The CSV layer failed (invalid UTF-8, a row with the wrong number of
    /// fields, ...).
    #[error("{}{}: {source}", path.display(), line.map(|l| format!(": line {l}")).unwrap_or_default())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The line, where the CSV reader knows it.
        line: Option<u64>,
        /// Why.
        source: csv::Error,
    },
    /// The header lacks a required column.
    #[error(
        "{}: line 1: no `{column}` column (expected `year,supplier,tiv_millions`, optionally with a `recipient` column)",
        path.display()
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: &'static str,
    },
    /// The header has a column this reader does not know, or one twice.
    #[error("{}: line 1: unexpected column `{column}`", path.display())]
    UnexpectedColumn {
        /// The file.
        path: PathBuf,
        /// The column's name.
        column: String,
    },
    /// A field could not be read.
    #[error("{}: line {line}: {column} `{value}` is {problem}", path.display())]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The column.
        column: &'static str,
        /// The field as written.
        value: String,
        /// What is wrong with it.
        problem: ValueProblem,
    },
    /// A (year, supplier) pair appears twice for the same recipient.
    #[error(
        "{}: line {line}: {supplier} in {year} is already on line {first_line}",
        path.display()
    )]
    DuplicateRow {
        /// The file.
        path: PathBuf,
        /// The second occurrence.
        line: u64,
        /// The first occurrence.
        first_line: u64,
        /// The year.
        year: i32,
        /// The supplier.
        supplier: String,
    },
    /// A file of several recipients was read without choosing one.
    #[error("{}: the file has several recipients ({}); choose one", path.display(), recipients.join(", "))]
    RecipientRequired {
        /// The file.
        path: PathBuf,
        /// The recipients in the file.
        recipients: Vec<String>,
    },
    /// The chosen recipient is not in the file.
    #[error("{}: no rows for recipient `{recipient}` (the file has: {})", path.display(), recipients.join(", "))]
    UnknownRecipient {
        /// The file.
        path: PathBuf,
        /// The recipient asked for.
        recipient: String,
        /// The recipients in the file.
        recipients: Vec<String>,
    },
    /// A grouping has no group at all.
    #[error("a grouping needs at least one group")]
    NoGroups,
    /// A group or supplier name is empty.
    #[error("a group or supplier name is empty")]
    EmptyName,
    /// A group lists no SIPRI supplier, so it would be silently empty in
    /// every year (the catch-all is the way to collect the rest).
    #[error("group `{name}` lists no SIPRI supplier")]
    EmptyGroup {
        /// The group.
        name: String,
    },
    /// Two groups (or a group and the catch-all) have the same name.
    #[error("group `{name}` is named twice")]
    DuplicateGroup {
        /// The name.
        name: String,
    },
    /// A SIPRI supplier is listed in two groups (or twice in one).
    #[error("supplier `{supplier}` is listed in both `{first}` and `{second}`")]
    SupplierInTwoGroups {
        /// The SIPRI supplier.
        supplier: String,
        /// The first group listing it.
        first: String,
        /// The second.
        second: String,
    },
    /// A span of years is empty or too long.
    #[error("years {first}-{last} are not a span of 1 to {MAX_SPAN_YEARS} years")]
    BadYears {
        /// First year.
        first: i32,
        /// Last year.
        last: i32,
    },
    /// Nothing was delivered in the window, so shares are undefined.
    #[error("no deliveries in {first}-{last}")]
    NoDeliveries {
        /// First year.
        first: i32,
        /// Last year.
        last: i32,
    },
    /// A depreciation rate outside [0, 1).
    #[error("depreciation rate {delta} is not in [0, 1)")]
    BadDelta {
        /// The rate given.
        delta: f64,
    },
}

/// What is wrong with a field ([`DataError::BadValue`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueProblem {
    /// The field is empty.
    #[error("empty")]
    Empty,
    /// Not an integer year.
    #[error("not a year")]
    NotAYear,
    /// Not a number.
    #[error("not a number")]
    NotANumber,
    /// Infinite or NaN.
    #[error("not finite")]
    NotFinite,
    /// Below zero.
    #[error("negative")]
    Negative,
}

/// One row of a file: deliveries from one supplier in one year.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// Calendar year.
    pub year: i32,
    /// SIPRI's supplier name.
    pub supplier: String,
    /// Deliveries, TIV millions.
    pub tiv: f64,
    /// The row's line in the file (1 is the header).
    pub line: u64,
}

/// One recipient's imports as read from a SIPRI extract.
#[derive(Debug, Clone, PartialEq)]
pub struct Imports {
    source: PathBuf,
    recipient: Option<String>,
    rows: Vec<ImportRow>,
    /// First and last year of any row of the file, any recipient's.
    file_years: Option<(i32, i32)>,
}

/// The columns of the two layouts, by position in the header.
struct Columns {
    recipient: Option<usize>,
    year: usize,
    supplier: usize,
    tiv: usize,
}

impl Columns {
    fn from_header(header: &csv::StringRecord, path: &Path) -> Result<Columns, DataError> {
        let mut found: [Option<usize>; 4] = [None; 4];
        const NAMES: [&str; 4] = ["recipient", "year", "supplier", "tiv_millions"];
        for (i, name) in header.iter().enumerate() {
            let slot = NAMES.iter().position(|n| *n == name);
            match slot {
                Some(k) if found[k].is_none() => found[k] = Some(i),
                _ => {
                    return Err(DataError::UnexpectedColumn {
                        path: path.to_path_buf(),
                        column: name.to_string(),
                    });
                }
            }
        }
        let required = |k: usize| {
            found[k].ok_or(DataError::MissingColumn {
                path: path.to_path_buf(),
                column: NAMES[k],
            })
        };
        Ok(Columns {
            recipient: found[0],
            year: required(1)?,
            supplier: required(2)?,
            tiv: required(3)?,
        })
    }
}

/// The fields of one row of an import extract, read with errors that name
/// the file, the line and the column.
struct Fields<'r> {
    record: &'r csv::StringRecord,
    line: u64,
    source: &'r Path,
}

impl<'r> Fields<'r> {
    /// Column `i`'s value, which must not be empty.
    fn get(&self, column: &'static str, i: usize) -> Result<&'r str, DataError> {
        let value = self.record.get(i).unwrap_or("");
        if value.is_empty() {
            return Err(self.bad(column, value, ValueProblem::Empty));
        }
        Ok(value)
    }

    fn bad(&self, column: &'static str, value: &str, problem: ValueProblem) -> DataError {
        DataError::BadValue {
            path: self.source.to_path_buf(),
            line: self.line,
            column,
            value: value.to_string(),
            problem,
        }
    }

    /// The row: its year, supplier and TIV (finite, not negative).
    fn row(&self, columns: &Columns) -> Result<ImportRow, DataError> {
        let year_text = self.get("year", columns.year)?;
        let year: i32 = year_text
            .parse()
            .map_err(|_| self.bad("year", year_text, ValueProblem::NotAYear))?;
        let supplier = self.get("supplier", columns.supplier)?.to_string();
        let tiv_text = self.get("tiv_millions", columns.tiv)?;
        let tiv: f64 = tiv_text
            .parse()
            .map_err(|_| self.bad("tiv_millions", tiv_text, ValueProblem::NotANumber))?;
        if !tiv.is_finite() {
            return Err(self.bad("tiv_millions", tiv_text, ValueProblem::NotFinite));
        }
        if tiv < 0.0 {
            return Err(self.bad("tiv_millions", tiv_text, ValueProblem::Negative));
        }
        Ok(ImportRow {
            year,
            supplier,
            tiv,
            line: self.line,
        })
    }
}

/// In a file of several recipients, one must be chosen, and it must be
/// one of them.
fn check_recipient(
    recipients: BTreeSet<String>,
    recipient: Option<&str>,
    source: &Path,
) -> Result<(), DataError> {
    let recipients: Vec<String> = recipients.into_iter().collect();
    match recipient {
        None => Err(DataError::RecipientRequired {
            path: source.to_path_buf(),
            recipients,
        }),
        Some(r) if !recipients.iter().any(|x| x == r) => Err(DataError::UnknownRecipient {
            path: source.to_path_buf(),
            recipient: r.to_string(),
            recipients,
        }),
        Some(_) => Ok(()),
    }
}

impl Imports {
    /// Reads `path`. A file with a `recipient` column needs `recipient`,
    /// whose rows are kept; for a file of one recipient, `recipient` is only
    /// a label (the file cannot confirm it).
    ///
    /// # Errors
    /// [`DataError::Io`] and every error of [`Imports::from_reader`].
    pub fn load(path: &Path, recipient: Option<&str>) -> Result<Imports, DataError> {
        let file = std::fs::File::open(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Imports::from_reader(std::io::BufReader::new(file), path, recipient)
    }

    /// Reads CSV text from `reader`; `source` names it in errors.
    ///
    /// # Errors
    /// [`DataError::Csv`], [`DataError::MissingColumn`],
    /// [`DataError::UnexpectedColumn`], [`DataError::BadValue`],
    /// [`DataError::DuplicateRow`], [`DataError::RecipientRequired`] or
    /// [`DataError::UnknownRecipient`].
    pub fn from_reader<R: std::io::Read>(
        reader: R,
        source: &Path,
        recipient: Option<&str>,
    ) -> Result<Imports, DataError> {
        let path = || source.to_path_buf();
        let csv_error = |e: csv::Error| DataError::Csv {
            path: path(),
            line: e.position().map(|p| p.line()),
            source: e,
        };
        let mut csv = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(reader);
        let columns = Columns::from_header(csv.headers().map_err(csv_error)?, source)?;
        let mut rows = Vec::new();
        let mut recipients = BTreeSet::new();
        // (year, supplier) -> line of its first row, to refuse duplicates.
        let mut seen: HashMap<(i32, String), u64> = HashMap::new();
        let mut file_years: Option<(i32, i32)> = None;
        for record in csv.records() {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, |p| p.line());
            if let Some(y) = record.get(columns.year).and_then(|y| y.parse::<i32>().ok()) {
                file_years = Some(file_years.map_or((y, y), |(a, b)| (a.min(y), b.max(y))));
            }
            let fields = Fields {
                record: &record,
                line,
                source,
            };
            if let Some(i) = columns.recipient {
                let name = fields.get("recipient", i)?;
                if !recipients.contains(name) {
                    recipients.insert(name.to_string());
                }
                if recipient != Some(name) {
                    continue;
                }
            }
            let row = fields.row(&columns)?;
            let key = (row.year, row.supplier.clone());
            if let Some(&first_line) = seen.get(&key) {
                return Err(DataError::DuplicateRow {
                    path: path(),
                    line,
                    first_line,
                    year: row.year,
                    supplier: row.supplier,
                });
            }
            seen.insert(key, line);
            rows.push(row);
        }
        if columns.recipient.is_some() {
            check_recipient(recipients, recipient, source)?;
        }
        Ok(Imports {
            source: source.to_path_buf(),
            recipient: recipient.map(str::to_string),
            rows,
            file_years,
        })
    }

    /// Where the records were read from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The recipient chosen (or given as a label), if any.
    pub fn recipient(&self) -> Option<&str> {
        self.recipient.as_deref()
    }

    /// The rows, in file order.
    pub fn rows(&self) -> &[ImportRow] {
        &self.rows
    }

    /// SIPRI supplier names present, sorted.
    pub fn suppliers(&self) -> Vec<&str> {
        let set: BTreeSet<&str> = self.rows.iter().map(|r| r.supplier.as_str()).collect();
        set.into_iter().collect()
    }

    /// The first and last year with a row, if there is any row. A file lists
    /// only non-zero deliveries, so the period it covers may be wider.
    pub fn year_range(&self) -> Option<(i32, i32)> {
        let first = self.rows.iter().map(|r| r.year).min()?;
        let last = self.rows.iter().map(|r| r.year).max()?;
        Some((first, last))
    }

    /// The first and last year of any row in the file, whichever recipient's:
    /// the period the extract covers, where one recipient's rows may stop
    /// earlier (a year without deliveries has no row).
    pub fn file_year_range(&self) -> Option<(i32, i32)> {
        self.file_years
    }

    /// Sums the rows into `grouping`'s groups, year by year.
    pub fn group(&self, grouping: &Grouping) -> Grouped {
        let n = grouping.len();
        let mut annual: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
        let mut unlisted: BTreeMap<&str, UnlistedSupplier> = BTreeMap::new();
        // Rows are summed in file order; the values are whole TIV millions in
        // SIPRI's extracts, so the sums are exact anyway.
        for row in &self.rows {
            match grouping.group_of(&row.supplier) {
                Some(g) => annual.entry(row.year).or_insert_with(|| vec![0.0; n])[g] += row.tiv,
                None => {
                    let u =
                        unlisted
                            .entry(row.supplier.as_str())
                            .or_insert_with(|| UnlistedSupplier {
                                supplier: row.supplier.clone(),
                                tiv: 0.0,
                                rows: 0,
                            });
                    u.tiv += row.tiv;
                    u.rows += 1;
                }
            }
        }
        let first = self.rows.iter().map(|r| r.year).min();
        let last = self.rows.iter().map(|r| r.year).max();
        Grouped {
            names: grouping.names().iter().map(|s| s.to_string()).collect(),
            annual,
            unlisted: unlisted.into_values().collect(),
            covered: first.zip(last),
        }
    }
}

/// A map from SIPRI supplier names to a scenario's suppliers ("groups").
///
/// Groups keep the order given, with the catch-all, if any, last. Every SIPRI
/// name not listed goes to the catch-all; without one it is left out (see
/// [`Grouped::unlisted`]). Names match exactly, as SIPRI spells them
/// (`Soviet Union`, `Unknown supplier(s)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    names: Vec<String>,
    members: HashMap<String, usize>,
    catch_all: bool,
}

impl Grouping {
    /// Groups `groups` (name, SIPRI suppliers in it), with `catch_all` the
    /// name of the group of every other supplier, or `None` to leave them out.
    ///
    /// ```
    /// use armsim::data::Grouping;
    /// let g = Grouping::new(
    ///     [("Russia", vec!["Russia", "Soviet Union"]), ("China", vec!["China"])],
    ///     Some("Others"),
    /// ).unwrap();
    /// assert_eq!(g.names(), ["Russia", "China", "Others"]);
    /// assert_eq!(g.group_of("Soviet Union"), Some(0));
    /// assert_eq!(g.group_of("Israel"), Some(2));
    /// ```
    ///
    /// # Errors
    /// [`DataError::NoGroups`], [`DataError::EmptyName`],
    /// [`DataError::EmptyGroup`], [`DataError::DuplicateGroup`] or
    /// [`DataError::SupplierInTwoGroups`].
    pub fn new<G, S, M>(groups: G, catch_all: Option<&str>) -> Result<Grouping, DataError>
    where
        G: IntoIterator<Item = (S, M)>,
        S: AsRef<str>,
        M: IntoIterator,
        M::Item: AsRef<str>,
    {
        let mut names: Vec<String> = Vec::new();
        let mut members: HashMap<String, usize> = HashMap::new();
        for (name, suppliers) in groups {
            let name = name.as_ref();
            if name.is_empty() {
                return Err(DataError::EmptyName);
            }
            if names.iter().any(|n| n == name) {
                return Err(DataError::DuplicateGroup { name: name.into() });
            }
            let index = names.len();
            names.push(name.to_string());
            let mut listed = 0;
            for supplier in suppliers {
                listed += 1;
                let supplier = supplier.as_ref();
                if supplier.is_empty() {
                    return Err(DataError::EmptyName);
                }
                if let Some(&other) = members.get(supplier) {
                    return Err(DataError::SupplierInTwoGroups {
                        supplier: supplier.into(),
                        first: names[other].clone(),
                        second: name.into(),
                    });
                }
                members.insert(supplier.to_string(), index);
            }
            if listed == 0 {
                return Err(DataError::EmptyGroup { name: name.into() });
            }
        }
        if names.is_empty() {
            return Err(DataError::NoGroups);
        }
        if let Some(name) = catch_all {
            if name.is_empty() {
                return Err(DataError::EmptyName);
            }
            if names.iter().any(|n| n == name) {
                return Err(DataError::DuplicateGroup { name: name.into() });
            }
            names.push(name.to_string());
        }
        Ok(Grouping {
            names,
            members,
            catch_all: catch_all.is_some(),
        })
    }

    /// Group names: the listed groups in order, then the catch-all.
    pub fn names(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }

    /// Number of groups, the catch-all included.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Always false: a grouping has at least one group.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of the group of SIPRI supplier `supplier`, or `None` if it is
    /// unlisted and there is no catch-all.
    pub fn group_of(&self, supplier: &str) -> Option<usize> {
        match self.members.get(supplier) {
            Some(&g) => Some(g),
            None if self.catch_all => Some(self.names.len() - 1),
            None => None,
        }
    }
}

/// A supplier left out of a grouping without a catch-all.
#[derive(Debug, Clone, PartialEq)]
pub struct UnlistedSupplier {
    /// SIPRI's name.
    pub supplier: String,
    /// Its deliveries over all years, TIV millions.
    pub tiv: f64,
    /// Rows it had.
    pub rows: usize,
}

/// An inclusive span of calendar years, 1 to [`MAX_SPAN_YEARS`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Years {
    first: i32,
    last: i32,
}

impl Years {
    /// The years `first..=last`.
    ///
    /// # Errors
    /// [`DataError::BadYears`] if `last < first` or the span is longer than
    /// [`MAX_SPAN_YEARS`].
    pub fn new(first: i32, last: i32) -> Result<Years, DataError> {
        let span = i64::from(last) - i64::from(first) + 1;
        if span < 1 || span > i64::from(MAX_SPAN_YEARS) {
            return Err(DataError::BadYears { first, last });
        }
        Ok(Years { first, last })
    }

    /// First year.
    pub fn first(&self) -> i32 {
        self.first
    }

    /// Last year.
    pub fn last(&self) -> i32 {
        self.last
    }

    /// Number of years.
    pub fn len(&self) -> usize {
        (self.last - self.first) as usize + 1
    }

    /// Always false: a span has at least one year.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The years in order.
    pub fn iter(&self) -> impl Iterator<Item = i32> {
        self.first..=self.last
    }
}

/// Deliveries per group and year; see [`Grouped::annual`].
#[derive(Debug, Clone, PartialEq)]
pub struct Annual {
    /// The span.
    pub years: Years,
    /// Group names.
    pub groups: Vec<String>,
    /// `tiv[g][y]`: group `g`'s deliveries in year `years.first() + y`.
    pub tiv: Vec<Vec<f64>>,
    /// `totals[y]`: all groups' deliveries in year `years.first() + y`.
    pub totals: Vec<f64>,
}

/// Each group's share of a window's deliveries; see [`Grouped::shares`].
#[derive(Debug, Clone, PartialEq)]
pub struct WindowShares {
    /// The window.
    pub years: Years,
    /// Group names.
    pub groups: Vec<String>,
    /// Each group's deliveries over the window, TIV millions.
    pub tiv: Vec<f64>,
    /// The window's total, TIV millions.
    pub total: f64,
    /// `tiv / total`; they sum to 1.
    pub shares: Vec<f64>,
}

/// Year-to-year unevenness of deliveries; see [`Grouped::lumpiness`].
#[derive(Debug, Clone, PartialEq)]
pub struct Lumpiness {
    /// The window.
    pub years: Years,
    /// Group names.
    pub groups: Vec<String>,
    /// Coefficient of variation of the annual totals.
    pub total_cv: f64,
    /// Coefficient of variation of each group's annual deliveries; `None`
    /// for a group that delivered nothing in the window.
    pub group_cv: Vec<Option<f64>>,
    /// The largest annual total as a share of the window's total.
    pub peak_share: f64,
}

/// The installed base; see [`Grouped::installed_base`].
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledBase {
    /// The years whose deliveries are accumulated.
    pub years: Years,
    /// Depreciation rate per quarter.
    pub delta: f64,
    /// Group names.
    pub groups: Vec<String>,
    /// Each group's depreciated stock at the end of the last year, TIV millions.
    pub stock: Vec<f64>,
    /// `stock / sum(stock)`.
    pub shares: Vec<f64>,
}

/// Mean deliveries per quarter; see [`Grouped::quarterly_rate`].
#[derive(Debug, Clone, PartialEq)]
pub struct QuarterlyRate {
    /// The window.
    pub years: Years,
    /// Group names.
    pub groups: Vec<String>,
    /// Each group's mean deliveries per quarter, TIV millions.
    pub rate: Vec<f64>,
}

/// Imports summed into a grouping's groups, year by year.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouped {
    names: Vec<String>,
    /// Year -> deliveries per group; years without a row are absent (zero).
    annual: BTreeMap<i32, Vec<f64>>,
    unlisted: Vec<UnlistedSupplier>,
    /// The first and last year of any row of the record, grouped or not.
    covered: Option<(i32, i32)>,
}

impl Grouped {
    /// The years the record covers: from its first row's year to its last
    /// (any supplier's). A year inside without a row had no deliveries; a
    /// year outside is unknown, not zero, so a window must lie inside.
    pub fn covered(&self) -> Option<(i32, i32)> {
        self.covered
    }

    /// Group names, in the grouping's order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Suppliers left out because they are in no group and there is no
    /// catch-all, sorted by name; empty with a catch-all.
    pub fn unlisted(&self) -> &[UnlistedSupplier] {
        &self.unlisted
    }

    /// Group `g`'s deliveries in `year` (0 without a row).
    pub fn tiv(&self, year: i32, g: usize) -> f64 {
        self.annual
            .get(&year)
            .and_then(|v| v.get(g))
            .copied()
            .unwrap_or(0.0)
    }

    /// Deliveries per group and year over `years`.
    pub fn annual(&self, years: Years) -> Annual {
        let n = self.names.len();
        let tiv: Vec<Vec<f64>> = (0..n)
            .map(|g| years.iter().map(|y| self.tiv(y, g)).collect())
            .collect();
        let totals = years
            .iter()
            .map(|y| (0..n).map(|g| self.tiv(y, g)).sum())
            .collect();
        Annual {
            years,
            groups: self.names.clone(),
            tiv,
            totals,
        }
    }

    /// Each group's deliveries over `years` and its share of their total, as
    /// SIPRI's five-year shares (`Years::new(2016, 2020)`). Without a
    /// catch-all, shares are of the listed groups' total.
    ///
    /// # Errors
    /// [`DataError::NoDeliveries`] if nothing was delivered in the window.
    pub fn shares(&self, years: Years) -> Result<WindowShares, DataError> {
        let annual = self.annual(years);
        let tiv: Vec<f64> = annual.tiv.iter().map(|s| s.iter().sum()).collect();
        let total: f64 = tiv.iter().sum();
        let shares = normalise(&tiv, years)?;
        Ok(WindowShares {
            years,
            groups: annual.groups,
            tiv,
            total,
            shares,
        })
    }

    /// How unevenly deliveries arrive from year to year over `years`.
    ///
    /// The measure is the coefficient of variation of annual deliveries,
    /// `CV = sd / mean`, over the window's years, a year without deliveries
    /// counting as 0, with the population standard deviation
    /// `sd = sqrt(sum (x_y - mean)^2 / n)` (divisor `n`, the number of years,
    /// not `n - 1`: it is a description of these years, not an estimate, and is
    /// 0 for a one-year window). A calibration target must compute the
    /// simulated CV over a window of the same length the same way. `total_cv`
    /// is for all groups' annual totals, `group_cv` per group; `peak_share`
    /// (the largest year's share of the window's total) is a second,
    /// outlier-driven reading of the same thing. Myanmar 2016-2020: totals
    /// 283, 217, 188, 193, 212 give `total_cv` 0.156 and `peak_share` 0.259.
    ///
    /// # Errors
    /// [`DataError::NoDeliveries`] if nothing was delivered in the window.
    pub fn lumpiness(&self, years: Years) -> Result<Lumpiness, DataError> {
        let annual = self.annual(years);
        let total: f64 = annual.totals.iter().sum();
        if total <= 0.0 {
            return Err(DataError::NoDeliveries {
                first: years.first(),
                last: years.last(),
            });
        }
        let peak = annual.totals.iter().copied().fold(0.0, f64::max);
        Ok(Lumpiness {
            years,
            total_cv: cv(&annual.totals).unwrap_or(0.0),
            group_cv: annual.tiv.iter().map(|s| cv(s)).collect(),
            peak_share: peak / total,
            groups: annual.groups,
        })
    }

    /// The installed base at the end of `years.last()`: each group's
    /// deliveries from `years.first()` on, each year's TIV spread evenly over
    /// its four quarters and depreciated geometrically at `delta` a quarter.
    ///
    /// This is the model's stock update `S <- (1 - delta) S + D` run quarter
    /// by quarter from zero: a delivery in the last quarter is not
    /// depreciated, one in the first quarter of the first year is depreciated
    /// `4 n - 1` times (`n` years). So year `y`'s deliveries `D_y` contribute
    /// `D_y / 4 * sum_{k=0..3} (1 - delta)^(4 (last - y) + k)`.
    ///
    /// # Errors
    /// [`DataError::BadDelta`] unless `0 <= delta < 1`;
    /// [`DataError::NoDeliveries`] if nothing was delivered in the span.
    pub fn installed_base(&self, years: Years, delta: f64) -> Result<InstalledBase, DataError> {
        if !(0.0..1.0).contains(&delta) {
            return Err(DataError::BadDelta { delta });
        }
        let keep = 1.0 - delta;
        // A year's four quarterly deliveries, seen from that year's end.
        let year_factor = (1.0 + keep + keep * keep + keep * keep * keep) / 4.0;
        let annual = self.annual(years);
        let n = years.len();
        let stock: Vec<f64> = annual
            .tiv
            .iter()
            .map(|series| {
                series
                    .iter()
                    .enumerate()
                    .map(|(i, d)| d * year_factor * keep.powi(4 * (n - 1 - i) as i32))
                    .sum()
            })
            .collect();
        let shares = normalise(&stock, years)?;
        Ok(InstalledBase {
            years,
            delta,
            groups: annual.groups,
            stock,
            shares,
        })
    }

    /// Each group's mean deliveries per quarter over `years`: its total over
    /// the window divided by four times the number of years. The model's
    /// order book starts as if every quarter before the start had brought
    /// orders at this rate.
    pub fn quarterly_rate(&self, years: Years) -> QuarterlyRate {
        let annual = self.annual(years);
        let quarters = 4.0 * years.len() as f64;
        QuarterlyRate {
            years,
            rate: annual
                .tiv
                .iter()
                .map(|s| s.iter().sum::<f64>() / quarters)
                .collect(),
            groups: annual.groups,
        }
    }
}

/// `values / sum(values)`, or an error if the sum is 0.
fn normalise(values: &[f64], years: Years) -> Result<Vec<f64>, DataError> {
    let total: f64 = values.iter().sum();
    if total <= 0.0 {
        return Err(DataError::NoDeliveries {
            first: years.first(),
            last: years.last(),
        });
    }
    Ok(values.iter().map(|v| v / total).collect())
}

/// Coefficient of variation with the population standard deviation; `None`
/// when the mean is 0.
fn cv(values: &[f64]) -> Option<f64> {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean <= 0.0 {
        return None;
    }
    let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    Some(var.sqrt() / mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MYANMAR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/myanmar_imports_sipri_tiv.csv"
    );
    const THAILAND_MALI: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/sipri_imports_thailand_mali.csv"
    );

    fn inline(text: &str, recipient: Option<&str>) -> Result<Imports, DataError> {
        Imports::from_reader(text.as_bytes(), Path::new("inline.csv"), recipient)
    }

    fn baseline_grouping() -> Grouping {
        Grouping::new(
            [
                ("Russia", vec!["Russia", "Soviet Union"]),
                ("China", vec!["China"]),
                ("India", vec!["India"]),
            ],
            Some("Others"),
        )
        .unwrap()
    }

    fn years(first: i32, last: i32) -> Years {
        Years::new(first, last).unwrap()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn myanmar() -> Grouped {
        Imports::load(Path::new(MYANMAR), None)
            .unwrap()
            .group(&baseline_grouping())
    }

    #[test]
    fn myanmar_five_year_shares_match_the_rows_and_the_readme() {
        let grouped = myanmar();
        // Sums of the file's rows, added by hand: 2016-20 China 215+119+94+47
        // = 475, Russia 236, India 163, all suppliers 1093; 2015-19 China 655,
        // Russia 184, India 42 of 1126.
        let s = grouped.shares(years(2016, 2020)).unwrap();
        assert_eq!(s.groups, ["Russia", "China", "India", "Others"]);
        assert_eq!(s.total, 1093.0);
        assert_eq!(s.tiv[..3], [236.0, 475.0, 163.0]);
        assert!(close(s.shares[1], 475.0 / 1093.0, 1e-12));
        // The data README's rounded figures: 43.5 / 21.6 / 14.9 percent.
        for (share, readme) in [
            (s.shares[1], 0.435),
            (s.shares[0], 0.216),
            (s.shares[2], 0.149),
        ] {
            assert!(close(share, readme, 0.0005), "{share} vs {readme}");
        }
        let s = grouped.shares(years(2015, 2019)).unwrap();
        assert_eq!(
            (s.total, s.tiv[1], s.tiv[0], s.tiv[2]),
            (1126.0, 655.0, 184.0, 42.0)
        );
        for (share, readme) in [
            (s.shares[1], 0.58),
            (s.shares[0], 0.16),
            (s.shares[2], 0.04),
        ] {
            assert!(close(share, readme, 0.005), "{share} vs {readme}");
        }
        assert!(close(s.shares.iter().sum::<f64>(), 1.0, 1e-12));
    }

    #[test]
    fn thailand_and_mali_shares_match_the_readme() {
        let path = Path::new(THAILAND_MALI);
        let thailand = Imports::load(path, Some("Thailand")).unwrap();
        let grouping = Grouping::new(
            [
                ("Sweden", ["Sweden"]),
                ("Ukraine", ["Ukraine"]),
                ("United States", ["United States"]),
                ("China", ["China"]),
                ("South Korea", ["South Korea"]),
            ],
            Some("Others"),
        )
        .unwrap();
        let grouped = thailand.group(&grouping);
        // Hand sums of the rows: 2009-13 total 1023, Sweden 392, Ukraine 169,
        // United States 129, China 53.
        let s = grouped.shares(years(2009, 2013)).unwrap();
        assert_eq!(s.total, 1023.0);
        assert_eq!(s.tiv[..5], [392.0, 169.0, 129.0, 53.0, 0.0]);
        for (share, readme) in [
            (s.shares[0], 0.38),
            (s.shares[1], 0.17),
            (s.shares[2], 0.13),
            (s.shares[3], 0.05),
        ] {
            assert!(close(share, readme, 0.005), "{share} vs {readme}");
        }
        // 2015-19: total 1770, South Korea 363, China 358, Ukraine 265, US 161.
        let s = grouped.shares(years(2015, 2019)).unwrap();
        assert_eq!(s.total, 1770.0);
        assert_eq!(s.tiv[..5], [55.0, 265.0, 161.0, 358.0, 363.0]);
        for (share, readme) in [
            (s.shares[4], 0.21),
            (s.shares[3], 0.20),
            (s.shares[1], 0.15),
            (s.shares[2], 0.09),
        ] {
            assert!(close(share, readme, 0.005), "{share} vs {readme}");
        }
        // Mali: Russia 35 of 94 in 2015-19 (37%), 74 of 150 in 2017-21 (49%).
        let mali = Imports::load(path, Some("Mali")).unwrap();
        let russia = Grouping::new([("Russia", ["Russia"])], Some("Others")).unwrap();
        let grouped = mali.group(&russia);
        let s = grouped.shares(years(2015, 2019)).unwrap();
        assert_eq!((s.tiv[0], s.total), (35.0, 94.0));
        assert!(close(s.shares[0], 0.37, 0.005));
        let s = grouped.shares(years(2017, 2021)).unwrap();
        assert_eq!((s.tiv[0], s.total), (74.0, 150.0));
        assert!(close(s.shares[0], 0.49, 0.005));
    }

    #[test]
    fn installed_base_matches_a_quarter_by_quarter_recursion() {
        // Expected values from an independent script that runs
        // S <- (1 - 0.0125) S + D_q over the 124 quarters of 1990-2020, D_q a
        // quarter of the year's rows; docs/model.md section 8 quotes them as
        // "about China 50%, Russia 32%, India 6%, Others 11%".
        let base = myanmar().installed_base(years(1990, 2020), 0.0125).unwrap();
        let expected_stock = [
            1020.9761704266582,
            1601.7645723107148,
            192.25997817549992,
            355.45358066173185,
        ];
        let expected_shares = [
            0.32202835092737053,
            0.505216104681023,
            0.06064114473437265,
            0.11211439965723399,
        ];
        for g in 0..4 {
            assert!(
                close(base.stock[g], expected_stock[g], 1e-9),
                "{:?}",
                base.stock
            );
            assert!(
                close(base.shares[g], expected_shares[g], 1e-12),
                "{:?}",
                base.shares
            );
        }
        // A hand-sized case: 4 TIV in one year is 1 a quarter; at delta 0.5
        // the year's end holds 1/8 + 1/4 + 1/2 + 1 = 1.875. A second, empty
        // year halves it four times more.
        let one = inline("year,supplier,tiv_millions\n2000,China,4\n", None)
            .unwrap()
            .group(&baseline_grouping());
        let b = one.installed_base(years(2000, 2000), 0.5).unwrap();
        assert_eq!(b.stock, [0.0, 1.875, 0.0, 0.0]);
        assert_eq!(b.shares, [0.0, 1.0, 0.0, 0.0]);
        let b = one.installed_base(years(2000, 2001), 0.5).unwrap();
        assert_eq!(b.stock[1], 1.875 / 16.0);
        // No depreciation: the stock is the plain sum of deliveries.
        let b = myanmar().installed_base(years(2016, 2020), 0.0).unwrap();
        assert_eq!(b.stock, [236.0, 475.0, 163.0, 219.0]);
        assert!(matches!(
            one.installed_base(years(2000, 2000), 1.0),
            Err(DataError::BadDelta { .. })
        ));
        assert!(matches!(
            one.installed_base(years(1990, 1999), 0.01),
            Err(DataError::NoDeliveries {
                first: 1990,
                last: 1999
            })
        ));
    }

    #[test]
    fn quarterly_rate_and_lumpiness_of_myanmar_2016_2020() {
        let grouped = myanmar();
        // 2016-20 over 20 quarters: Russia 236/20, China 475/20, India 163/20,
        // Others 219/20.
        let r = grouped.quarterly_rate(years(2016, 2020));
        assert_eq!(r.rate, [11.8, 23.75, 8.15, 10.95]);
        // Annual totals 283, 217, 188, 193, 212 (mean 218.6): population sd
        // sqrt(1149.04) hence CV 0.15560517; the peak year holds 283/1093.
        let a = grouped.annual(years(2016, 2020));
        assert_eq!(a.totals, [283.0, 217.0, 188.0, 193.0, 212.0]);
        let l = grouped.lumpiness(years(2016, 2020)).unwrap();
        assert!(
            close(l.total_cv, 0.15560517236660604, 1e-12),
            "{}",
            l.total_cv
        );
        assert!(close(l.peak_share, 283.0 / 1093.0, 1e-15));
        // China 215, 119, 94, 47, 0: deviations 120, 24, -1, -48, -95: variance 26306 / 5 = 5261.2.
        assert!(close(
            l.group_cv[1].unwrap(),
            5261.2f64.sqrt() / 95.0,
            1e-12
        ));
        // A group with no deliveries has no CV; one year has CV 0.
        let empty = inline("year,supplier,tiv_millions\n2000,China,4\n", None)
            .unwrap()
            .group(&baseline_grouping());
        let l = empty.lumpiness(years(2000, 2000)).unwrap();
        assert_eq!((l.total_cv, l.peak_share), (0.0, 1.0));
        assert_eq!(l.group_cv, [None, Some(0.0), None, None]);
    }

    #[test]
    fn missing_years_read_as_zero() {
        let text = "year,supplier,tiv_millions\n2001,China,10\n2004,China,30\n2004,India,5\n";
        let grouped = inline(text, None).unwrap().group(&baseline_grouping());
        let a = grouped.annual(years(2000, 2005));
        assert_eq!(a.tiv[1], [0.0, 10.0, 0.0, 0.0, 30.0, 0.0]);
        assert_eq!(a.totals, [0.0, 10.0, 0.0, 0.0, 35.0, 0.0]);
        let s = grouped.shares(years(2000, 2005)).unwrap();
        assert_eq!(
            (s.total, s.shares[1], s.shares[2]),
            (45.0, 40.0 / 45.0, 5.0 / 45.0)
        );
        // 45 over 24 quarters.
        assert_eq!(
            grouped.quarterly_rate(years(2000, 2005)).rate[1],
            40.0 / 24.0
        );
        // CV of 0, 10, 0, 0, 35, 0: mean 7.5, variance (4*56.25 + 6.25 + 756.25)/6.
        let l = grouped.lumpiness(years(2000, 2005)).unwrap();
        assert!(close(
            l.total_cv,
            ((4.0 * 56.25 + 6.25 + 756.25) / 6.0f64).sqrt() / 7.5,
            1e-12
        ));
        assert!(matches!(
            grouped.shares(years(2005, 2010)),
            Err(DataError::NoDeliveries {
                first: 2005,
                last: 2010
            })
        ));
    }

    #[test]
    fn unlisted_suppliers_go_to_the_catch_all_or_are_reported() {
        let text = "year,supplier,tiv_millions\n2000,China,10\n2000,Israel,3\n2001,Israel,4\n2001,Soviet Union,6\n";
        let imports = inline(text, None).unwrap();
        let grouped = imports.group(&baseline_grouping());
        assert!(grouped.unlisted().is_empty());
        assert_eq!(
            grouped.shares(years(2000, 2001)).unwrap().tiv,
            [6.0, 10.0, 0.0, 7.0]
        );
        let strict = Grouping::new(
            [
                ("Russia", ["Russia", "Soviet Union"]),
                ("China", ["China", "Hong Kong"]),
            ],
            None,
        )
        .unwrap();
        let grouped = imports.group(&strict);
        assert_eq!(
            grouped.unlisted(),
            [UnlistedSupplier {
                supplier: "Israel".into(),
                tiv: 7.0,
                rows: 2
            }]
        );
        let s = grouped.shares(years(2000, 2001)).unwrap();
        assert_eq!(
            (s.groups.len(), s.total, s.shares[0]),
            (2, 16.0, 6.0 / 16.0)
        );
    }

    #[test]
    fn groupings_are_validated() {
        let none: [(&str, Vec<&str>); 0] = [];
        assert!(matches!(
            Grouping::new(none, Some("Others")),
            Err(DataError::NoGroups)
        ));
        assert!(matches!(
            Grouping::new([("A", ["x"]), ("A", ["y"])], None),
            Err(DataError::DuplicateGroup { name }) if name == "A"
        ));
        assert!(matches!(
            Grouping::new([("A", ["x"])], Some("A")),
            Err(DataError::DuplicateGroup { .. })
        ));
        assert!(matches!(
            Grouping::new([("A", ["x"]), ("B", ["x"])], None),
            Err(DataError::SupplierInTwoGroups { supplier, first, second })
                if supplier == "x" && first == "A" && second == "B"
        ));
        assert!(matches!(
            Grouping::new([("", ["x"])], None),
            Err(DataError::EmptyName)
        ));
        assert!(matches!(
            Grouping::new([("A", [""])], None),
            Err(DataError::EmptyName)
        ));
        assert!(matches!(
            Years::new(2001, 2000),
            Err(DataError::BadYears { .. })
        ));
        assert!(matches!(
            Years::new(i32::MIN, i32::MAX),
            Err(DataError::BadYears { .. })
        ));
        assert_eq!(Years::new(2016, 2020).unwrap().len(), 5);
    }

    #[test]
    fn a_file_of_several_recipients_needs_one_chosen() {
        let text = "recipient,year,supplier,tiv_millions\nMali,2000,China,7\nThailand,2000,China,9\nThailand,2001,China,2\n";
        let t = inline(text, Some("Thailand")).unwrap();
        assert_eq!(t.rows().len(), 2);
        assert_eq!((t.rows()[0].tiv, t.rows()[0].line), (9.0, 3));
        assert_eq!(t.year_range(), Some((2000, 2001)));
        assert!(matches!(
            inline(text, None),
            Err(DataError::RecipientRequired { recipients, .. }) if recipients == ["Mali", "Thailand"]
        ));
        let err = inline(text, Some("Myanmar")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "inline.csv: no rows for recipient `Myanmar` (the file has: Mali, Thailand)"
        );
        // Columns may come in any order.
        let reordered = "supplier,tiv_millions,year\nChina,3,2000\n";
        assert_eq!(inline(reordered, None).unwrap().rows()[0].year, 2000);
    }

    #[test]
    fn malformed_files_name_the_file_line_and_problem() {
        let cases: [(&str, &str); 10] = [
            (
                "year,supplier\n2000,China\n",
                "inline.csv: line 1: no `tiv_millions` column",
            ),
            (
                "year,supplier,tiv_millions,notes\n",
                "inline.csv: line 1: unexpected column `notes`",
            ),
            (
                "year,year,supplier,tiv_millions\n",
                "inline.csv: line 1: unexpected column `year`",
            ),
            (
                "year,supplier,tiv_millions\n2000,China,3\n20x0,China,3\n",
                "inline.csv: line 3: year `20x0` is not a year",
            ),
            (
                "year,supplier,tiv_millions\n2000,China,three\n",
                "inline.csv: line 2: tiv_millions `three` is not a number",
            ),
            (
                "year,supplier,tiv_millions\n2000,China,-3\n",
                "inline.csv: line 2: tiv_millions `-3` is negative",
            ),
            (
                "year,supplier,tiv_millions\n2000,China,NaN\n",
                "inline.csv: line 2: tiv_millions `NaN` is not finite",
            ),
            (
                "year,supplier,tiv_millions\n2000,,3\n",
                "inline.csv: line 2: supplier `` is empty",
            ),
            (
                "year,supplier,tiv_millions\n2000,China,3\n2001,India,1\n2000,China,4\n",
                "inline.csv: line 4: China in 2000 is already on line 2",
            ),
            (
                "year,supplier,tiv_millions\n2000,China\n",
                "inline.csv: line 2: ",
            ),
        ];
        for (text, message) in cases {
            let err = inline(text, None).unwrap_err();
            assert!(err.to_string().starts_with(message), "{err} vs {message}");
        }
        assert!(matches!(
            inline("year,supplier,tiv_millions\n2000,China\n", None),
            Err(DataError::Csv { line: Some(2), .. })
        ));
        assert!(matches!(
            Imports::load(Path::new("/nonexistent/x.csv"), None),
            Err(DataError::Io { .. })
        ));
        // An empty file has no header.
        assert!(matches!(
            inline("", None),
            Err(DataError::MissingColumn { column: "year", .. })
        ));
    }
}
