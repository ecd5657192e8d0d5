//! [`RunList`]: what a listing of runs found, rows that do not read back included.

use super::{RunId, RunInfo};
use crate::Error;

/// The runs [`CheckpointStore::list`](super::CheckpointStore::list) found: those that read
/// back, and an error for each row that does not, so that one corrupt row hides no other run.
///
/// Rows are taken in order (oldest first) up to the filter's
/// [`limit`](super::RunFilter::limit), corrupt ones included. To read the next page, pass
/// [`last`](Self::last) to [`RunFilter::after`](super::RunFilter::after).
///
/// ```
/// use workflow_runtime::store::{RunFilter, RunList};
/// use workflow_runtime::{Error, Runner};
///
/// /// Prints every run, a page at a time, and says which rows need repair.
/// async fn print_all(runner: &Runner) -> Result<(), Error> {
///     let mut filter = RunFilter::new().limit(100);
///     loop {
///         let page: RunList = runner.list(filter.clone()).await?;
///         for run in &page.runs {
///             println!("{} {} {}", run.id, run.workflow, run.status);
///         }
///         for error in &page.corrupt {
///             eprintln!("skipped: {error}");
///         }
///         match page.last {
///             Some(last) if page.len() == 100 => filter = filter.after(last),
///             _ => return Ok(()),
///         }
///     }
/// }
/// # let _ = print_all;
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RunList {
    /// The runs that read back, oldest first.
    pub runs: Vec<RunInfo>,
    /// One [`Error::CorruptCheckpoint`] per row that does not read back, in order, naming its
    /// run when the run's id reads back.
    pub corrupt: Vec<Error>,
    /// The id of the last row listed, read back or not, unless no row's id read back: where
    /// the next page starts. A row whose id itself does not read back can only be paged past
    /// with the id of a later row, so repair or delete it.
    pub last: Option<RunId>,
}

impl RunList {
    /// An empty listing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next row: a run, or the error of a row that does not read back.
    pub fn push(&mut self, row: Result<RunInfo, Error>) {
        match row {
            Ok(run) => {
                self.last = Some(run.id);
                self.runs.push(run);
            }
            Err(error) => {
                if let Error::CorruptCheckpoint { run: Some(run), .. } = &error {
                    self.last = Some(*run);
                }
                self.corrupt.push(error);
            }
        }
    }

    /// How many rows were listed, corrupt ones included: a page shorter than the filter's
    /// limit is the last.
    pub fn len(&self) -> usize {
        self.runs.len() + self.corrupt.len()
    }

    /// Whether no row was listed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The runs, or the first error if a row did not read back: for callers that want all
    /// or nothing.
    ///
    /// # Errors
    ///
    /// The first [`Error::CorruptCheckpoint`] of [`corrupt`](Self::corrupt).
    pub fn into_runs(self) -> Result<Vec<RunInfo>, Error> {
        match self.corrupt.into_iter().next() {
            Some(error) => Err(error),
            None => Ok(self.runs),
        }
    }
}

impl FromIterator<Result<RunInfo, Error>> for RunList {
    fn from_iter<I: IntoIterator<Item = Result<RunInfo, Error>>>(rows: I) -> Self {
        let mut list = RunList::new();
        for row in rows {
            list.push(row);
        }
        list
    }
}

/// What a run had spent, from the usage its latest checkpoint and that checkpoint's branches
/// saved, as stores keep it
/// ([`SavedUsage::to_json`](crate::usage::SavedUsage::to_json), no value meaning none): what
/// [`RunInfo::spent`] holds. `None` if one of them does not read back.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn spent<'a>(
    latest: Option<&str>,
    branches: impl IntoIterator<Item = Option<&'a str>>,
) -> Option<crate::usage::UsageTotals> {
    use crate::usage::SavedUsage;

    let mut usage = SavedUsage::from_stored(latest).ok()?;
    for branch in branches {
        usage.keep_latest(&SavedUsage::from_stored(branch).ok()?);
    }
    Some(usage.total)
}

#[cfg(all(test, any(feature = "sqlite", feature = "postgres")))]
mod tests {
    use super::spent;

    #[test]
    fn spent_keeps_the_latest_of_the_checkpoint_and_its_branches() {
        let latest = r#"{"total":{"calls":2,"cost_usd":0.5}}"#;
        let branch = r#"{"total":{"calls":3,"cost_usd":0.25}}"#;
        let total = spent(Some(latest), [Some(branch), None]).expect("reads back");
        assert_eq!((total.calls, total.cost_usd), (3, 0.5));
        assert_eq!(spent(None, []).expect("none is nothing").calls, 0);
    }

    #[test]
    fn spent_is_none_when_a_usage_does_not_read_back() {
        assert!(spent(Some("[1, 2]"), []).is_none());
        assert!(spent(None, [Some("not json")]).is_none());
    }
}
