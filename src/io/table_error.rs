//! [`TableError`]: what can be wrong with an input table (patches, links, sites, connectors),
//! always naming the file and, for a row, its line.

use std::path::PathBuf;

/// A table that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file cannot be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The table.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a readable CSV (e.g. rows of unequal length).
    #[error("`{}`: {message}", path.display())]
    Malformed {
        /// The table.
        path: PathBuf,
        /// The CSV reader's description.
        message: String,
    },
    /// Required columns are missing.
    #[error("`{}` lacks the column(s) {}\n  columns found: {}\n  hint: name the columns {}", path.display(), missing.join(", "), found.join(", "), missing.join(", "))]
    MissingColumns {
        /// The table.
        path: PathBuf,
        /// The missing columns.
        missing: Vec<String>,
        /// The columns the header has.
        found: Vec<String>,
    },
    /// A row with a bad value.
    #[error("`{}`, line {line}: {problem}", path.display())]
    Row {
        /// The table.
        path: PathBuf,
        /// 1-based line of the file.
        line: u64,
        /// What is wrong.
        problem: RowProblem,
    },
    /// The table has no row.
    #[error("`{}` lists no {what}", path.display())]
    Empty {
        /// The table.
        path: PathBuf,
        /// What it should list (`patch`).
        what: &'static str,
    },
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowProblem {
    /// A required field is empty or absent.
    #[error("`{field}` is empty")]
    Missing {
        /// The column.
        field: String,
    },
    /// A field that must be a finite number is not.
    #[error("`{field}` is `{text}`, not a number")]
    NotANumber {
        /// The column.
        field: String,
        /// The text found.
        text: String,
    },
    /// A field that must be a whole number >= 0 (an id) is not.
    #[error("`{field}` is `{text}`, not a whole number >= 0")]
    NotAnId {
        /// The column.
        field: String,
        /// The text found.
        text: String,
    },
    /// A value outside its allowed range.
    #[error("`{field}` is {value}; {rule}")]
    OutOfRange {
        /// The column.
        field: String,
        /// The value found.
        value: f64,
        /// The allowed range, in words (`areas must be finite and >= 0 ha`).
        rule: &'static str,
    },
    /// A word that is not one of the accepted ones.
    #[error("`{field}` is `{text}`; {expected}")]
    NotAWord {
        /// The column.
        field: String,
        /// The text found.
        text: String,
        /// The accepted words, in words.
        expected: &'static str,
    },
    /// An id that an earlier row already has.
    #[error("{what} `{id}` is listed twice (first on line {first_line})")]
    Duplicate {
        /// What the id names (`patch`, `site`).
        what: &'static str,
        /// The id.
        id: String,
        /// Line of the first row with it.
        first_line: u64,
    },
    /// A reference to an id that the named table does not have.
    #[error("{who} names {what} `{id}`, which is not in the {table}")]
    Unknown {
        /// The row's own subject (`the link`, "connector `c1`").
        who: String,
        /// What the reference names (`patch`, `site`).
        what: &'static str,
        /// The id named.
        id: String,
        /// Where it was looked up (`patch table`).
        table: &'static str,
    },
    /// A row that refers to itself (a link from a patch to itself, a site excluding itself).
    #[error("{who} refers to itself")]
    SelfReference {
        /// The row's subject.
        who: String,
    },
}

impl TableError {
    /// The error of `problem` at `line` of `path`.
    pub fn row(path: &std::path::Path, line: u64, problem: RowProblem) -> TableError {
        TableError::Row {
            path: path.to_path_buf(),
            line,
            problem,
        }
    }
}
