//! A load that runs beside the models reading it: which raw tables it has made readable so
//! far, and how it ended.
//!
//! Why: most of a small build's load is one big table (lap_times is 15.8 of the
//! workshop's 18 MB), and most models read none of it. So a job starts as soon as the raw
//! tables it reads are readable (each is registered from where it is staged), while the
//! load goes on. What stays all-or-nothing is what becomes *visible*: the runner commits
//! nothing it builds until the load has committed ([`LoadWatch::committed`]), so a load
//! that fails still leaves the warehouse, raw tables and models alike, as it was.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::watch;

pub use crate::error::LoadFailed;
use crate::spec::SourceRef;

#[derive(Clone, Debug, Default)]
struct State {
    /// Raw tables readable (from where they are staged) before the load ended.
    ready: BTreeSet<SourceRef>,
    /// `Some` once the load ended: `Ok` when every table of it is committed, `Err(why)`
    /// when it failed and nothing of it was.
    ended: Option<Result<(), LoadFailed>>,
}

/// The load's side: says which tables became readable, then how the load ended. Dropped
/// without [`Loading::end`] (a load cancelled or panicked), the load counts as failed, so
/// nothing waits forever.
#[derive(Clone)]
pub struct Loading {
    sender: Arc<Sender>,
}

struct Sender(watch::Sender<State>);

impl Drop for Sender {
    fn drop(&mut self) {
        self.0.send_if_modified(|state| {
            let unended = state.ended.is_none();
            if unended {
                state.ended = Some(Err(LoadFailed("the load stopped before it committed".to_owned())));
            }
            unended
        });
    }
}

/// The runner's side: what it may read, and whether it may commit.
#[derive(Clone)]
pub struct LoadWatch {
    pending: Arc<BTreeSet<SourceRef>>,
    receiver: watch::Receiver<State>,
}

/// A load of the raw tables `pending`, and the watch on it.
pub fn channel(pending: BTreeSet<SourceRef>) -> (Loading, LoadWatch) {
    let (sender, receiver) = watch::channel(State::default());
    (Loading { sender: Arc::new(Sender(sender)) }, LoadWatch { pending: Arc::new(pending), receiver })
}

impl Loading {
    /// `table` can be read: it is registered in the run's session from where it is
    /// staged, and nothing more will be stored under its name in this load.
    pub fn ready(&self, table: SourceRef) {
        tracing::debug!(source = %table.source, table = %table.table, "raw table readable");
        self.sender.0.send_modify(|state| {
            state.ready.insert(table);
        });
    }

    /// The load ended: `Ok` once every table of it is committed.
    pub fn end(&self, result: Result<(), LoadFailed>) {
        tracing::debug!(committed = result.is_ok(), "load ended");
        self.sender.0.send_modify(|state| state.ended = Some(result));
    }
}

impl LoadWatch {
    /// The raw tables this load writes: a job reading one waits until it is readable.
    pub fn pending(&self) -> &BTreeSet<SourceRef> {
        &self.pending
    }

    /// Whether `table` can be read now: the load said so, or it committed.
    pub fn is_ready(&self, table: &SourceRef) -> bool {
        let state = self.receiver.borrow();
        state.ready.contains(table) || matches!(state.ended, Some(Ok(())))
    }

    /// How the load ended, if it has.
    pub fn ended(&self) -> Option<Result<(), LoadFailed>> {
        self.receiver.borrow().ended.clone()
    }

    /// Waits until the load says something the caller has not waited past yet (a table
    /// ready, its end); returns at once when something came since the last call.
    pub async fn changed(&mut self) {
        // An error means the sender is gone, and it ended the load as it went (see
        // `Sender`'s drop): there is nothing more to wait for.
        let _ = self.receiver.changed().await;
    }

    /// Waits for the load to end: `Ok` once it committed, `Err(why)` when it failed.
    pub async fn committed(&self) -> Result<(), LoadFailed> {
        let mut receiver = self.receiver.clone();
        match receiver.wait_for(|state| state.ended.is_some()).await {
            Ok(state) => state.ended.clone().unwrap_or(Ok(())),
            Err(_) => Err(LoadFailed("the load stopped before it committed".to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> SourceRef {
        SourceRef::new("f1", name)
    }

    #[tokio::test]
    async fn a_table_is_readable_once_said_ready_and_every_table_once_the_load_committed() {
        let (loading, watch) = channel([table("a"), table("b")].into());
        assert!(!watch.is_ready(&table("a")));
        loading.ready(table("a"));
        assert!(watch.is_ready(&table("a")) && !watch.is_ready(&table("b")));
        loading.end(Ok(()));
        assert!(watch.is_ready(&table("b")));
        assert_eq!(watch.committed().await, Ok(()));
    }

    #[tokio::test]
    async fn a_failed_load_is_not_committed_and_its_ready_tables_stay_uncommitted() {
        let (loading, watch) = channel([table("a"), table("b")].into());
        loading.ready(table("a"));
        loading.end(Err(LoadFailed("lap_times.csv: line 9: not a number".into())));
        assert!(!watch.is_ready(&table("b")));
        assert_eq!(watch.committed().await, Err(LoadFailed("lap_times.csv: line 9: not a number".into())));
    }

    #[tokio::test]
    async fn a_load_dropped_before_it_ended_counts_as_failed() {
        let (loading, mut watch) = channel([table("a")].into());
        let waiting = tokio::spawn({
            let watch = watch.clone();
            async move { watch.committed().await }
        });
        drop(loading);
        assert!(waiting.await.unwrap().is_err());
        watch.changed().await;
        assert!(matches!(watch.ended(), Some(Err(_))));
    }
}
