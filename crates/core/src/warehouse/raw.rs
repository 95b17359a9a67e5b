//! A source's raw tables staged while a loader streams them, committed together.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use futures::future::BoxFuture;

use super::{StagedTable, Warehouse};
use crate::error::{Error, Result};
use crate::loading::Loading;
use crate::source::RawSink;
use crate::spec::SourceRef;
use crate::state::Stamp;

/// A source's raw tables being loaded into one schema: the [`RawSink`] a loader streams
/// into. Each table is written as it streams, staged ([`Warehouse::stage_table`]), and
/// all of them become current only with [`RawStage::commit`], once the whole load has
/// succeeded, so a load that fails (a missing file, `on_error = abort_statement`, a read
/// error halfway through a file) leaves every stored raw table as it was.
///
/// With readers ([`RawStage::with_readers`]), each table is registered in the run's
/// session from where it is staged as soon as the loader says it is final, and the run
/// is told ([`Loading::ready`]); the run must then commit nothing of its own before this
/// load commits (see [`crate::loading`]).
#[derive(Debug)]
pub struct RawStage {
    warehouse: Arc<Warehouse>,
    schema: String,
    staged: Mutex<BTreeMap<String, StagedTable>>,
    /// Each table's stamp, written with it.
    stamps: BTreeMap<String, Stamp>,
    readers: Option<Readers>,
    /// Committed with readers: their staged data stays readable until [`RawStage::release`].
    shared: Mutex<Vec<StagedTable>>,
}

/// The run reading the tables before they are committed.
struct Readers {
    session: SessionContext,
    loading: Loading,
    /// The source whose tables these are, as the run's jobs name them.
    source: String,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("source", &self.source).finish_non_exhaustive()
    }
}

impl RawStage {
    pub fn new(warehouse: Arc<Warehouse>, schema: &str) -> RawStage {
        RawStage {
            warehouse,
            schema: schema.to_owned(),
            staged: Mutex::default(),
            stamps: BTreeMap::new(),
            readers: None,
            shared: Mutex::default(),
        }
    }

    /// Stores each table with its stamp (by table name).
    pub fn with_stamps(mut self, stamps: BTreeMap<String, Stamp>) -> RawStage {
        self.stamps = stamps;
        self
    }

    /// Lets a run read each table of `source` in `session` once it is final, before the
    /// load commits, telling it through `loading`.
    pub fn with_readers(mut self, session: SessionContext, loading: Loading, source: &str) -> RawStage {
        self.readers = Some(Readers { session, loading, source: source.to_owned() });
        self
    }

    /// Makes every staged table current, each in one atomic step (tables one after
    /// another: a failure part-way leaves the earlier ones committed and deletes the
    /// rest). Returns the tables committed, by name. With readers, what they read stays
    /// readable until [`RawStage::release`].
    pub async fn commit(&self) -> Result<Vec<String>> {
        let staged = std::mem::take(&mut *self.staged.lock().expect("not poisoned"));
        let mut committed = Vec::new();
        let mut tables = staged.into_values();
        while let Some(table) = tables.next() {
            let name = table.name.clone();
            if let Err(e) = self.commit_one(table).await {
                for rest in tables {
                    self.warehouse.discard_table(rest).await;
                }
                return Err(Error::Storing { table: format!("{}.{name}", self.schema), source: Box::new(e) });
            }
            committed.push(name);
        }
        Ok(committed)
    }

    async fn commit_one(&self, table: StagedTable) -> Result<u64> {
        if self.readers.is_none() {
            return self.warehouse.commit_table(table).await;
        }
        let committed = self.warehouse.commit_table_shared(&table).await;
        self.shared.lock().expect("not poisoned").push(table);
        committed
    }

    /// Once the run that read the tables before the commit is over: what the commit kept
    /// readable for it goes (the committed tables stay).
    pub async fn release(self) {
        let shared = std::mem::take(&mut *self.shared.lock().expect("not poisoned"));
        for table in shared {
            self.warehouse.release_staged(table).await;
        }
    }

    /// Deletes every staged table; the stored ones are untouched.
    pub async fn discard(self) {
        let staged = std::mem::take(&mut *self.staged.lock().expect("not poisoned"));
        for table in staged.into_values() {
            self.warehouse.discard_table(table).await;
        }
    }

    /// Registers table `name` from where it is staged in the readers' session, and tells
    /// them it is readable.
    async fn share(&self, readers: &Readers, name: &str) -> Result<()> {
        // Out of the map while registering (a lock is not held across an await); nothing
        // else touches a final table until the commit.
        let Some(staged) = self.staged.lock().expect("not poisoned").remove(name) else {
            return Ok(());
        };
        let registered = self.warehouse.register_staged(&readers.session, &staged).await;
        self.staged.lock().expect("not poisoned").insert(name.to_owned(), staged);
        registered?;
        readers.loading.ready(SourceRef::new(&readers.source, name));
        Ok(())
    }
}

impl RawSink for RawStage {
    fn store<'a>(&'a self, name: &'a str, batches: SendableRecordBatchStream) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            // A task of its own, so tables loading together encode Parquet on every core
            // rather than in turn on the loader's task.
            let (warehouse, schema, table) = (self.warehouse.clone(), self.schema.clone(), name.to_owned());
            let stamp = self.stamps.get(name).cloned();
            let writing =
                tokio::spawn(async move { warehouse.stage_table(&schema, &table, batches, stamp.as_ref()).await });
            let staged = writing
                .await
                .map_err(|e| Error::Io(std::io::Error::other(e)))
                .and_then(|staged| staged)
                .map_err(|e| Error::Storing { table: format!("{}.{name}", self.schema), source: Box::new(e) })?;
            let rows = staged.rows;
            let replaced = self.staged.lock().expect("not poisoned").insert(name.to_owned(), staged);
            if let Some(replaced) = replaced {
                self.warehouse.discard_table(replaced).await;
            }
            Ok(rows)
        })
    }

    fn finished<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match &self.readers {
                Some(readers) => self.share(readers, name).await,
                None => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::is_temporary;
    use super::super::tests::{batch_of, count};
    use super::*;
    use crate::location::Location;
    use crate::relations::Relations;

    #[tokio::test]
    async fn a_raw_stage_shows_nothing_until_committed_and_a_discarded_one_leaves_the_stored_tables() {
        for location in ["local", "memory:///wh"] {
            let dir = tempfile::tempdir().unwrap();
            let location = match location {
                "local" => Location::local(dir.path().join("warehouse")),
                url => Location::parse(url, std::path::Path::new("/")).unwrap(),
            };
            let warehouse = Arc::new(Warehouse::open(&location).unwrap());
            let relations = Relations { target_schema: "s".into(), source_schemas: Default::default() };
            let rows = |warehouse: Arc<Warehouse>| {
                let relations = relations.clone();
                async move {
                    let session = warehouse.session(&relations).unwrap();
                    warehouse.attach(&session, &["s"]).await.unwrap();
                    let mut counts = Vec::new();
                    for t in ["t", "u"] {
                        counts.push(count(&session, &format!("s.{t}")).await.ok());
                    }
                    counts
                }
            };
            warehouse.write_table("s", "t", batch_of(3), None).await.unwrap();

            let stage = RawStage::new(warehouse.clone(), "s");
            assert_eq!(stage.store("t", batch_of(5)).await.unwrap(), 5);
            stage.store("u", batch_of(1)).await.unwrap();
            // Stored again: the second replaces the first.
            stage.store("u", batch_of(2)).await.unwrap();
            assert_eq!(rows(warehouse.clone()).await, [Some(3), None], "{location}: staged tables are invisible");
            assert_eq!(stage.commit().await.unwrap(), ["t", "u"]);
            assert_eq!(rows(warehouse.clone()).await, [Some(5), Some(2)], "{location}");

            let stage = RawStage::new(warehouse.clone(), "s");
            stage.store("t", batch_of(9)).await.unwrap();
            stage.discard().await;
            assert_eq!(
                rows(warehouse.clone()).await,
                [Some(5), Some(2)],
                "{location}: a discarded load changes nothing"
            );
            if let Location::Local(root) = &location {
                let files: Vec<String> = std::fs::read_dir(root.join("s"))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                assert!(files.iter().all(|f| !is_temporary(f)), "{files:?}");
            }
        }
    }

    fn location(kind: &str, dir: &tempfile::TempDir) -> Location {
        match kind {
            "local" => Location::local(dir.path().join("warehouse")),
            url => Location::parse(url, std::path::Path::new("/")).unwrap(),
        }
    }

    fn temporary_files(location: &Location) -> Vec<String> {
        let Location::Local(root) = location else { return Vec::new() };
        std::fs::read_dir(root.join("s"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| is_temporary(f))
            .collect()
    }

    #[tokio::test]
    async fn a_final_table_is_read_from_its_stage_by_the_run_alone_and_stays_readable_until_released() {
        for kind in ["local", "memory:///wh"] {
            let dir = tempfile::tempdir().unwrap();
            let location = location(kind, &dir);
            let warehouse = Arc::new(Warehouse::open(&location).unwrap());
            let relations = Relations { target_schema: "s".into(), source_schemas: Default::default() };
            let session = || async {
                let session = warehouse.session(&relations).unwrap();
                warehouse.attach(&session, &["s"]).await.unwrap();
                session
            };
            warehouse.write_table("s", "t", batch_of(3), None).await.unwrap();
            let run = session().await;
            let table = SourceRef::new("f1", "t");
            let (loading, watch) = crate::loading::channel([table.clone()].into());
            let stage = RawStage::new(warehouse.clone(), "s").with_readers(run.clone(), loading, "f1");
            stage.store("t", batch_of(5)).await.unwrap();
            assert!(!watch.is_ready(&table), "{kind}: not final yet");
            stage.finished("t").await.unwrap();
            assert!(watch.is_ready(&table), "{kind}");
            assert_eq!(count(&run, "s.t").await.unwrap(), 5, "{kind}: the run reads the staged table");
            assert_eq!(count(&session().await, "s.t").await.unwrap(), 3, "{kind}: anyone else the stored one");

            assert_eq!(stage.commit().await.unwrap(), ["t"]);
            assert_eq!(count(&run, "s.t").await.unwrap(), 5, "{kind}: still readable where it was staged");
            assert_eq!(count(&session().await, "s.t").await.unwrap(), 5, "{kind}: committed");
            stage.release().await;
            assert_eq!(count(&session().await, "s.t").await.unwrap(), 5, "{kind}: released, the table stays");
            assert_eq!(temporary_files(&location), Vec::<String>::new(), "{kind}");
        }
    }
}
