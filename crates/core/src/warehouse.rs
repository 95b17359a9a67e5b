//! The embedded local warehouse: a folder (or any object store location) with one
//! sub-folder per schema. A table is `<schema>/<name>.parquet`; a view is
//! `<schema>/<name>.view.sql`, its compiled SQL, which any later process can query.
//!
//! **Invariant:** a relation is replaced only once its new version is completely written,
//! in one atomic step, so a failed or interrupted run leaves the previous version intact
//! and no reader sees half a table. How depends on the store:
//!
//! - A local folder renames a fully written temporary file over the table.
//! - An object store (S3) has no atomic rename (object_store's is a copy, then a delete),
//!   and DataFusion reads a Parquet object in several range requests, so replacing the
//!   object in place could tear a read between two versions. There a table's data is an
//!   immutable object, `<schema>/.versions/<name>/<version>.parquet` (versions sort by
//!   time), and `<schema>/<name>.table` is a small pointer naming the current one, written
//!   last with one PUT (atomic on S3). A reader resolves the pointer once and reads an
//!   object nobody rewrites. The writer then deletes versions older than the one it
//!   replaced, so the previous version stays for readers still on it. A crash leaves at
//!   most an unreferenced version (or an incomplete multipart upload, which S3 never
//!   shows), invisible to readers and deleted by the next write of that table.
//!
//! A local warehouse has a lock, `<warehouse>/.pitwall.lock` ([`Warehouse::lock`]): a
//! run that writes holds it exclusively, a reader shared, so no reader sees a table torn
//! between two versions (DataFusion reads a Parquet file by path in several requests, and
//! a rename between them tears the read) and no two builds interleave. Leftover temporary
//! files can then only be a dead process's, and the writer removes them
//! ([`Warehouse::remove_leftovers`]). An object store has no file locks: there a run that
//! writes holds a [`Lease`] (the object `<warehouse>/.pitwall.lock`, taken and renewed by
//! conditional writes), so builds on one bucket are serialized too; readers take none,
//! since the pointers already give them whole tables.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::catalog::MemorySchemaProvider;
use datafusion::common::TableReference;
use datafusion::datasource::ViewTable;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStoreExt, PutPayload};
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::metadata::{FooterTail, KeyValue, ParquetMetaDataReader};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};
use crate::lease::{Lease, LeaseSite, TIME_TO_LIVE};
use crate::location::{Location, Store};
use crate::relations::Relations;
use crate::resources::Resources;
use crate::state::Stamp;

mod raw;
pub use raw::RawStage;

const TABLE_SUFFIX: &str = ".parquet";
const VIEW_SUFFIX: &str = ".view.sql";
/// An object-store table's pointer to its current version: `<schema>/<name>.table`.
const POINTER_SUFFIX: &str = ".table";
/// Where an object-store table's immutable versions live: `<schema>/.versions/<name>/`.
const VERSIONS: &str = ".versions";
/// Marks a temporary file being written: `.<name><suffix>.tmp-<pid>-<nanos>`.
const TEMP_MARK: &str = ".tmp-";
/// The lock file, at the warehouse's root (hidden, so no schema listing sees it).
pub const LOCK_FILE: &str = ".pitwall.lock";
/// A table's [`Stamp`], in its Parquet footer's key-value metadata (and an object store's
/// pointer), so the data and what it was built from are written in one atomic step.
const STAMP_KEY: &str = "pitwall.stamp";
/// A view's [`Stamp`]: the first line of its SQL file, a comment to any reader.
const VIEW_STAMP_PREFIX: &str = "-- pitwall.stamp ";
/// The stamps of the tests that passed, per schema: `<schema>/.pitwall-tests.json`.
const TEST_STAMPS: &str = ".pitwall-tests.json";

/// What a command does with the warehouse, and so which lock it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `show`, `query`, `export`: a shared lock; any number of readers at once.
    Read,
    /// A run that writes (`run`, `test`, `build`, a layer binary): an exclusive lock.
    Write,
}

/// The warehouse lock, held until dropped. The OS releases it when the process ends,
/// however it ends (`kill -9` included), so a crash never leaves the warehouse locked.
#[derive(Debug)]
pub struct WarehouseLock {
    /// `None`: no file to lock (an object store, or a reader of a folder it cannot write).
    file: Option<File>,
    /// An object-store writer's lease.
    lease: Option<Lease>,
    access: Access,
}

impl WarehouseLock {
    pub fn access(&self) -> Access {
        self.access
    }

    /// Releases the lock now. A local lock is released by dropping it too; an
    /// object-store lease only by this (dropped, it stops being renewed and expires).
    pub async fn release(mut self) {
        if let Some(lease) = self.lease.take() {
            lease.release().await;
        }
    }
}

impl Drop for WarehouseLock {
    fn drop(&mut self) {
        // A writer clears its name on the way out, so a later holder of a shared lock is
        // not reported as this process; closing the file then releases the lock.
        if let (Some(file), Access::Write) = (&self.file, self.access) {
            let _ = file.set_len(0);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelationKind {
    Table,
    View,
}

#[derive(Clone, Debug)]
pub struct Relation {
    pub schema: String,
    pub name: String,
    pub kind: RelationKind,
    /// What it was built from, when it was stored with a stamp (read by
    /// [`Warehouse::attach`]; a listing leaves it `None`).
    pub stamp: Option<Stamp>,
}

/// A session with pitwall's SQL functions and every schema of `relations` (sources',
/// target, audit), its default schema the target: the dialect models and tests are
/// planned and run in, whether or not a warehouse is behind it. No memory limit.
pub fn project_session(relations: &Relations) -> Result<SessionContext> {
    project_session_with(relations, &Resources::default())
}

/// [`project_session`] running in `resources`: its memory limit and spill folder.
pub fn project_session_with(relations: &Relations, resources: &Resources) -> Result<SessionContext> {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_create_default_catalog_and_schema(true)
        .with_default_catalog_and_schema("datafusion", relations.target_schema.as_str());
    // A join's smaller side up to this size is built once and shared by every partition
    // instead of both sides being repartitioned by hash. DataFusion's defaults (1 MB,
    // 128 Ki rows) are sized for clusters; here the races of x100 (108k rows, 1.6 MB)
    // missed them, and the relationships test over int_lap_times_years repartitioned 53M
    // lap rows to join them: 3.6-4.0 s of an x100 build, 1.1-2.3 s with these.
    let optimizer = &mut config.options_mut().optimizer;
    optimizer.hash_join_single_partition_threshold = 32 << 20;
    optimizer.hash_join_single_partition_threshold_rows = 4 << 20;
    let session = SessionContext::new_with_config_rt(config, resources.runtime_env()?);
    crate::functions::register(&session);
    let catalog = session.catalog("datafusion").expect("the default catalog exists");
    for schema in relations.source_schemas.values().cloned().chain([relations.audit_schema()]) {
        if catalog.schema(&schema).is_none() {
            catalog.register_schema(&schema, Arc::new(MemorySchemaProvider::new()))?;
        }
    }
    Ok(session)
}

#[derive(Debug)]
pub struct Warehouse {
    store: Store,
    /// The memory limit and spill folder of the sessions made over it.
    resources: Resources,
}

impl Warehouse {
    /// Opens (creating a local folder if needed) the warehouse at `location`.
    pub fn open(location: &Location) -> Result<Warehouse> {
        Ok(Warehouse { store: location.open()?, resources: Resources::default() })
    }

    /// The spill folder of its sessions (`None`: the OS temp folder).
    pub fn spill_dir(&self) -> Option<&std::path::Path> {
        self.resources.spill_dir.as_deref()
    }

    /// The memory limit and spill folder of the sessions [`Warehouse::session`] makes
    /// (default: no limit, the OS temp folder).
    pub fn with_resources(mut self, resources: Resources) -> Warehouse {
        self.resources = resources;
        self
    }

    pub fn location(&self) -> &Location {
        &self.store.location
    }

    /// The lock file of a local warehouse; an object store has none.
    pub fn lock_file(&self) -> Option<PathBuf> {
        match &self.store.location {
            Location::Local(root) => Some(root.join(LOCK_FILE)),
            Location::Url(..) => None,
        }
    }

    /// Takes the warehouse lock for `access`: shared for [`Access::Read`], exclusive for
    /// [`Access::Write`]. When another process holds it, `wait` decides: wait for it
    /// (calling `on_wait` once with a description of the holder, its pid and command
    /// line as the lock file keeps them), or fail at once with
    /// [`Error::WarehouseLocked`] naming the holder.
    ///
    /// In an object store, a writer takes the warehouse's [`Lease`] (waiting or failing
    /// the same way); a reader takes nothing.
    pub async fn lock(&self, access: Access, wait: bool, on_wait: impl FnOnce(&str)) -> Result<WarehouseLock> {
        if self.versioned() {
            let lease = match access {
                Access::Write => Some(Lease::acquire(self.lease_site(), wait, on_wait).await?),
                Access::Read => None,
            };
            return Ok(WarehouseLock { file: None, lease, access });
        }
        let Some(file) = self.open_lock_file(access)? else {
            return Ok(WarehouseLock { file: None, lease: None, access });
        };
        let lock = match self.try_lock_file(file, access)? {
            Ok(lock) => lock,
            Err((file, holder)) => {
                if !wait {
                    return Err(self.locked_error(holder));
                }
                on_wait(&holder);
                let blocking = file.try_clone()?;
                // A clone shares the open file description, and so the lock taken on it.
                tokio::task::spawn_blocking(move || match access {
                    Access::Read => blocking.lock_shared(),
                    Access::Write => blocking.lock(),
                })
                .await
                .map_err(|e| Error::Io(std::io::Error::other(e)))?
                .map_err(|e| self.lock_io_error(e))?;
                self.locked(file, access)?
            }
        };
        Ok(lock)
    }

    /// Where an object-store warehouse's lease is, and this process as its holder.
    fn lease_site(&self) -> LeaseSite {
        let path = self.store.root.clone().join(LOCK_FILE);
        LeaseSite {
            store: self.store.store.clone(),
            display: self.store.url_of(&path),
            path,
            holder: format!("pid {} on {}: {}", std::process::id(), host_name(), command_line()),
            ttl: TIME_TO_LIVE,
        }
    }

    /// Takes a local warehouse's lock for `access` if nobody holds it in a conflicting
    /// way; otherwise fails with [`Error::WarehouseLocked`] naming the holder. (An
    /// object store's lease is taken by [`Warehouse::lock`].)
    pub fn try_lock(&self, access: Access) -> Result<WarehouseLock> {
        let Some(file) = self.open_lock_file(access)? else {
            return Ok(WarehouseLock { file: None, lease: None, access });
        };
        self.try_lock_file(file, access)?.map_err(|(_, holder)| self.locked_error(holder))
    }

    /// The lock file opened for locking; `None` when there is nothing to lock.
    fn open_lock_file(&self, access: Access) -> Result<Option<File>> {
        let Some(path) = self.lock_file() else {
            return Ok(None);
        };
        match OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path) {
            Ok(file) => Ok(Some(file)),
            // A reader of a warehouse it may not write still locks out writers through a
            // read-only handle; if it cannot even create the file, no one can write the
            // folder, so there is no writer to exclude.
            Err(e) if access == Access::Read && is_read_only(&e) => match File::open(&path) {
                Ok(file) => Ok(Some(file)),
                Err(_) => {
                    tracing::debug!("{}: not locking a warehouse this process cannot write: {e}", path.display());
                    Ok(None)
                }
            },
            Err(e) => Err(Error::config(path.display().to_string(), format!("cannot open the warehouse lock: {e}"))),
        }
    }

    /// `Ok(Ok(lock))` when taken, `Ok(Err((file, holder)))` when another process holds it.
    fn try_lock_file(&self, file: File, access: Access) -> Result<Result<WarehouseLock, (File, String)>> {
        let attempt = match access {
            Access::Read => file.try_lock_shared(),
            Access::Write => file.try_lock(),
        };
        match attempt {
            Ok(()) => Ok(Ok(self.locked(file, access)?)),
            Err(TryLockError::WouldBlock) => {
                let holder = describe_holder(&file, access);
                Ok(Err((file, holder)))
            }
            Err(TryLockError::Error(e)) => Err(self.lock_io_error(e)),
        }
    }

    /// The guard for a lock just taken on `file`. A writer records who it is (pid and
    /// command line) for anyone who has to wait; a reader clears what a writer killed
    /// before it could clear it left, since no writer can hold the lock now.
    fn locked(&self, mut file: File, access: Access) -> Result<WarehouseLock> {
        let recorded = match access {
            Access::Write => file
                .set_len(0)
                .and_then(|()| file.seek(SeekFrom::Start(0)))
                .and_then(|_| writeln!(file, "{} {}", std::process::id(), command_line())),
            Access::Read => {
                // Best effort: a read-only handle cannot clear it, and a stale name in a
                // waiting writer's message is all that costs.
                let _ = file.set_len(0);
                Ok(())
            }
        };
        recorded.map_err(|e| self.lock_io_error(e))?;
        Ok(WarehouseLock { file: Some(file), lease: None, access })
    }

    fn locked_error(&self, holder: String) -> Error {
        let lock_file = self.lock_file().map(|p| p.display().to_string()).unwrap_or_default();
        Error::WarehouseLocked { lock_file, holder }
    }

    fn lock_io_error(&self, e: std::io::Error) -> Error {
        let lock_file = self.lock_file().map(|p| p.display().to_string()).unwrap_or_default();
        Error::config(lock_file, format!("cannot lock the warehouse: {e}"))
    }

    /// Removes every temporary file in the warehouse's schema folders (`<schema>/`):
    /// `.<relation>.tmp-<pid>-<nanos>` (this module's) and `<file>#<n>` (object_store's
    /// local staging of an upload). Holding the exclusive lock, no live process can be
    /// writing one, so each was left by a process that died mid-write. Returns the files removed; one that cannot be
    /// removed is logged and left (the run itself will then fail on that folder, naming
    /// it). An object-store warehouse has no temporary files: an unreferenced version is
    /// removed by the next write of its table.
    pub fn remove_leftovers(&self, lock: &WarehouseLock) -> Vec<PathBuf> {
        assert_eq!(lock.access, Access::Write, "only the exclusive holder may remove temporary files");
        let Location::Local(root) = &self.store.location else {
            return Vec::new();
        };
        // Relations live one level down, `<schema>/<file>`; nothing deeper is looked at,
        // so a warehouse pointed at a larger folder costs one listing per sub-folder.
        let schemas = std::fs::read_dir(root).into_iter().flatten().flatten();
        let schemas = schemas.filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path());
        let mut removed = Vec::new();
        for schema in schemas {
            for entry in std::fs::read_dir(&schema).into_iter().flatten().flatten() {
                let path = entry.path();
                let is_file = entry.file_type().is_ok_and(|t| t.is_file());
                if is_file && entry.file_name().to_str().is_some_and(is_temporary) {
                    match std::fs::remove_file(&path) {
                        Ok(()) => removed.push(path),
                        Err(e) => tracing::warn!("{}: cannot remove this leftover file: {e}", path.display()),
                    }
                }
            }
        }
        removed.sort();
        removed
    }

    /// `<root>/<schema>/<file>`, `file` being `/`-separated.
    fn path(&self, schema: &str, file: &str) -> Path {
        file.split('/').fold(self.store.root.clone().join(schema), |path, part| path.join(part))
    }

    /// A session whose default schema is `relations.target_schema`, with every schema of
    /// `relations` created and this warehouse's store registered for reading.
    /// Its queries run in the warehouse's [`Resources`] (see [`Warehouse::with_resources`]).
    pub fn session(&self, relations: &Relations) -> Result<SessionContext> {
        let session = project_session_with(relations, &self.resources)?;
        session.register_object_store(&self.store.base_url, self.store.store.clone());
        Ok(session)
    }

    /// Lets `session` read this warehouse's files (a session made by another warehouse
    /// reads only its own store).
    pub fn share_store(&self, session: &SessionContext) {
        session.register_object_store(&self.store.base_url, self.store.store.clone());
    }

    /// Whether tables are versioned objects behind pointers (object stores) rather than
    /// files renamed into place (a local folder); see the module's invariant.
    fn versioned(&self) -> bool {
        matches!(self.store.location, Location::Url(..))
    }

    /// Writes a table atomically (see the module's invariant), with `stamp` when it has
    /// one. Returns the number of rows.
    pub async fn write_table(
        &self,
        schema: &str,
        name: &str,
        stream: SendableRecordBatchStream,
        stamp: Option<&Stamp>,
    ) -> Result<u64> {
        let staged = self.stage_table(schema, name, stream, stamp).await?;
        self.commit_table(staged).await
    }

    /// Writes a table's data where no reader looks: a temporary file beside the table in a
    /// local folder, an unreferenced version in an object store. Nothing changes for
    /// readers until [`Warehouse::commit_table`]; [`Warehouse::discard_table`] deletes it.
    pub async fn stage_table(
        &self,
        schema: &str,
        name: &str,
        stream: SendableRecordBatchStream,
        stamp: Option<&Stamp>,
    ) -> Result<StagedTable> {
        let file = if self.versioned() {
            format!("{VERSIONS}/{name}/{}{TABLE_SUFFIX}", version_id())
        } else {
            format!(".{name}{TABLE_SUFFIX}{TEMP_MARK}{}", unique_suffix())
        };
        let rows = self.write_parquet(&self.path(schema, &file), stream, stamp).await?;
        Ok(StagedTable { schema: schema.to_owned(), name: name.to_owned(), file, rows, stamp: stamp.cloned() })
    }

    /// Makes a staged table the current one in one atomic step: a rename over the table
    /// in a local folder; in an object store the pointer, then the view it may replace,
    /// then versions older than the one replaced. Returns its number of rows.
    pub async fn commit_table(&self, staged: StagedTable) -> Result<u64> {
        self.publish(&staged, Publish::Move).await
    }

    /// As [`Warehouse::commit_table`], but the staged data stays readable where it was
    /// until [`Warehouse::release_staged`], so a reader given it before the commit (see
    /// [`Warehouse::register_staged`]) reads on. In a local folder the table becomes a
    /// second name of the staged file (object_store's local copy: a hard link, then a
    /// rename over the table, so no data is copied); an object store's version already is
    /// the table's data.
    pub async fn commit_table_shared(&self, staged: &StagedTable) -> Result<u64> {
        self.publish(staged, Publish::Share).await
    }

    /// Ends what [`Warehouse::commit_table_shared`] kept: a local folder's staged name is
    /// removed (the table keeps the data); an object store's version is the table's.
    pub async fn release_staged(&self, staged: StagedTable) {
        if !self.versioned() {
            self.discard_table(staged).await;
        }
    }

    /// Registers a staged table in `session` under its name (replacing any earlier
    /// registration), so a run can read it before it is committed.
    pub async fn register_staged(&self, session: &SessionContext, staged: &StagedTable) -> Result<()> {
        let reference = TableReference::partial(staged.schema.as_str(), staged.name.as_str());
        session.deregister_table(reference.clone())?;
        let url = self.store.url_of(&self.path(&staged.schema, &staged.file));
        // A local folder's staged file is `.<name>.parquet.tmp-<id>`: read it by its name,
        // whatever it ends with.
        let options = ParquetReadOptions::default().file_extension("");
        session.register_parquet(reference, url, options).await?;
        Ok(())
    }

    async fn publish(&self, staged: &StagedTable, how: Publish) -> Result<u64> {
        let StagedTable { schema, name, file, rows, stamp } = staged;
        let data = self.path(schema, file);
        if self.versioned() {
            let previous = self.pointer(schema, name).await?;
            let pointer = serde_json::to_vec(&Pointer { data: file.clone(), rows: *rows, stamp: stamp.clone() })?;
            self.store
                .store
                .put(&self.path(schema, &format!("{name}{POINTER_SUFFIX}")), PutPayload::from(pointer))
                .await?;
            self.remove_if_present(&self.path(schema, &format!("{name}{VIEW_SUFFIX}"))).await?;
            self.prune_versions(schema, name, previous.as_ref().map(|p| p.data.as_str()).unwrap_or(file)).await;
        } else {
            let target = self.path(schema, &format!("{name}{TABLE_SUFFIX}"));
            let published = match how {
                Publish::Move => self.store.store.rename(&data, &target).await,
                Publish::Share => self.store.store.copy(&data, &target).await,
            };
            if let Err(e) = published {
                let _ = self.store.store.delete(&data).await;
                return Err(e.into());
            }
            self.remove_if_present(&self.path(schema, &format!("{name}{VIEW_SUFFIX}"))).await?;
        }
        Ok(*rows)
    }

    /// Deletes a staged table's data; the current table is untouched. Best effort: what
    /// is left is a temporary file or unreferenced version, removed by a later writer.
    pub async fn discard_table(&self, staged: StagedTable) {
        let data = self.path(&staged.schema, &staged.file);
        if let Err(e) = self.remove_if_present(&data).await {
            tracing::warn!("{}: cannot delete this staged table: {e}", self.store.url_of(&data));
        }
    }

    /// Writes `stream` as Parquet at `path`, `stamp` in its footer, deleting what was
    /// written if it fails.
    async fn write_parquet(
        &self,
        path: &Path,
        mut stream: SendableRecordBatchStream,
        stamp: Option<&Stamp>,
    ) -> Result<u64> {
        let stamp = stamp.map(serde_json::to_string).transpose()?;
        let result = async {
            let props = table_properties(&stream.schema(), stamp);
            let sink = BufWriter::new(self.store.store.clone(), path.clone());
            let mut writer = AsyncArrowWriter::try_new(sink, stream.schema(), Some(props))?;
            let mut rows = 0u64;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).await?;
            }
            writer.close().await?;
            Ok::<_, Error>(rows)
        }
        .await;
        if result.is_err() {
            // An unfinished multipart upload is no object; S3 never shows it.
            let _ = self.store.store.delete(path).await;
        }
        result
    }

    /// The pointer of an object-store table; `None` when it has none.
    async fn pointer(&self, schema: &str, name: &str) -> Result<Option<Pointer>> {
        let path = self.path(schema, &format!("{name}{POINTER_SUFFIX}"));
        let bytes = match self.store.store.get(&path).await {
            Ok(found) => found.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let pointer: Pointer = serde_json::from_slice(&bytes)
            .map_err(|e| Error::config(self.store.url_of(&path), format!("not a table pointer: {e}")))?;
        Ok(Some(pointer))
    }

    /// Deletes the versions of a table older than `keep_from` (a version path, as a
    /// pointer holds it): the current one and the one it replaced stay, and so does any
    /// newer one. Best effort: what is left is unreferenced, and the next write retries.
    async fn prune_versions(&self, schema: &str, name: &str, keep_from: &str) {
        let folder = self.path(schema, &format!("{VERSIONS}/{name}"));
        let keep_from = self.path(schema, keep_from);
        let listed: Vec<_> = self.store.store.list(Some(&folder)).collect().await;
        for meta in listed.into_iter().flatten() {
            if meta.location.as_ref() < keep_from.as_ref()
                && let Err(e) = self.store.store.delete(&meta.location).await
            {
                tracing::warn!("{}: cannot delete this old table version: {e}", self.store.url_of(&meta.location));
            }
        }
    }

    /// Saves a view's compiled SQL (after its stamp, when it has one), replacing any table
    /// of the same name.
    pub async fn write_view(&self, schema: &str, name: &str, sql: &str, stamp: Option<&Stamp>) -> Result<()> {
        let target = self.path(schema, &format!("{name}{VIEW_SUFFIX}"));
        let sql = match stamp {
            Some(stamp) => format!("{VIEW_STAMP_PREFIX}{}\n{sql}", serde_json::to_string(stamp)?),
            None => sql.to_owned(),
        };
        let sql = sql.as_str();
        if self.versioned() {
            // One PUT is atomic on an object store; the table it replaces keeps its
            // current version until the next write, for readers still on it.
            let previous = self.pointer(schema, name).await?;
            self.store.store.put(&target, PutPayload::from(sql.to_owned())).await?;
            self.remove_if_present(&self.path(schema, &format!("{name}{POINTER_SUFFIX}"))).await?;
            if let Some(previous) = previous {
                self.prune_versions(schema, name, &previous.data).await;
            }
            return Ok(());
        }
        let temp = self.path(schema, &format!(".{name}{VIEW_SUFFIX}{TEMP_MARK}{}", unique_suffix()));
        self.store.store.put(&temp, PutPayload::from(sql.to_owned())).await?;
        self.store.store.rename(&temp, &target).await?;
        self.remove_if_present(&self.path(schema, &format!("{name}{TABLE_SUFFIX}"))).await
    }

    async fn remove_if_present(&self, path: &Path) -> Result<()> {
        match self.store.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The relations stored in `schema`, sorted by name.
    pub async fn relations(&self, schema: &str) -> Result<Vec<Relation>> {
        let prefix = self.store.root.clone().join(schema);
        let mut listing = self.store.store.list(Some(&prefix));
        let table_suffix = if self.versioned() { POINTER_SUFFIX } else { TABLE_SUFFIX };
        // name -> (relation, last modified): a run killed between writing a relation and
        // removing the other kind of the same name leaves both; the newer one is current.
        let mut found: BTreeMap<String, (Relation, chrono::DateTime<chrono::Utc>)> = BTreeMap::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            let Some(file) = meta.location.filename() else {
                continue;
            };
            if file.starts_with('.') || meta.location.prefix_match(&prefix).map(|p| p.count()) != Some(1) {
                continue;
            }
            let (name, kind) = if let Some(n) = file.strip_suffix(table_suffix) {
                (n, RelationKind::Table)
            } else if let Some(n) = file.strip_suffix(VIEW_SUFFIX) {
                (n, RelationKind::View)
            } else {
                continue;
            };
            let relation = Relation { schema: schema.to_owned(), name: name.to_owned(), kind, stamp: None };
            match found.get(name) {
                Some((_, seen)) if *seen > meta.last_modified => {}
                _ => {
                    found.insert(name.to_owned(), (relation, meta.last_modified));
                }
            }
        }
        // Sorted by name, as the map keeps them.
        Ok(found.into_values().map(|(relation, _)| relation).collect())
    }

    /// Registers a stored table in `session` (replacing any earlier registration).
    /// Returns its stamp, if it was stored with one.
    pub async fn register_table(&self, session: &SessionContext, schema: &str, name: &str) -> Result<Option<Stamp>> {
        let reference = TableReference::partial(schema, name);
        session.deregister_table(reference.clone())?;
        let (file, stamp) = if self.versioned() {
            let pointer = self
                .pointer(schema, name)
                .await?
                .ok_or_else(|| Error::config(self.store.display(schema), format!("table {name} has no pointer")))?;
            (pointer.data, pointer.stamp)
        } else {
            let file = format!("{name}{TABLE_SUFFIX}");
            let stamp = self.footer_stamp(&self.path(schema, &file)).await?;
            (file, stamp)
        };
        let url = self.store.url_of(&self.path(schema, &file));
        session.register_parquet(reference, url, ParquetReadOptions::default()).await?;
        Ok(stamp)
    }

    /// The stamp in a Parquet file's footer, if it has one: the file's tail is read (one
    /// request, two for a footer longer than the first guess), never its data.
    async fn footer_stamp(&self, path: &Path) -> Result<Option<Stamp>> {
        const GUESS: u64 = 16 * 1024;
        let mut tail = self.tail(path, GUESS).await?;
        let Some(footer) = tail.len().checked_sub(8).and_then(|at| <[u8; 8]>::try_from(&tail[at..]).ok()) else {
            return Ok(None);
        };
        let length = FooterTail::try_new(&footer)?.metadata_length();
        if length + 8 > tail.len() {
            tail = self.tail(path, length as u64 + 8).await?;
        }
        let end = tail.len() - 8;
        let metadata = ParquetMetaDataReader::decode_metadata(&tail[end.saturating_sub(length)..end])?;
        let text = metadata
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|kv| kv.key == STAMP_KEY))
            .and_then(|kv| kv.value.clone());
        // A stamp that does not read is no stamp: the table is rebuilt, not refused.
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// The last `bytes` of an object (all of it when shorter).
    async fn tail(&self, path: &Path, bytes: u64) -> Result<bytes::Bytes> {
        let options = GetOptions { range: Some(GetRange::Suffix(bytes)), ..GetOptions::default() };
        Ok(self.store.store.get_opts(path, options).await?.bytes().await?)
    }

    /// The stamps of the tests that passed in `schema`'s last runs, by test name.
    pub async fn test_stamps(&self, schema: &str) -> Result<BTreeMap<String, Stamp>> {
        let path = self.path(schema, TEST_STAMPS);
        match self.store.store.get(&path).await {
            // Unreadable means unknown: every test runs again.
            Ok(found) => Ok(serde_json::from_slice(&found.bytes().await?).unwrap_or_default()),
            Err(object_store::Error::NotFound { .. }) => Ok(BTreeMap::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the stamps of passed tests in `schema`, in one atomic write.
    pub async fn save_test_stamps(&self, schema: &str, stamps: &BTreeMap<String, Stamp>) -> Result<()> {
        let bytes = serde_json::to_vec(stamps)?;
        let target = self.path(schema, TEST_STAMPS);
        if self.versioned() {
            self.store.store.put(&target, PutPayload::from(bytes)).await?;
            return Ok(());
        }
        let temp = self.path(schema, &format!("{TEST_STAMPS}{TEMP_MARK}{}", unique_suffix()));
        self.store.store.put(&temp, PutPayload::from(bytes)).await?;
        self.store.store.rename(&temp, &target).await?;
        Ok(())
    }

    /// Registers a view from its SQL in `session` (replacing any earlier registration).
    pub async fn register_view(session: &SessionContext, schema: &str, name: &str, sql: &str) -> Result<()> {
        let plan = session.state().create_logical_plan(sql).await?;
        let reference = TableReference::partial(schema, name);
        session.deregister_table(reference.clone())?;
        session.register_table(reference, Arc::new(ViewTable::new(plan, Some(sql.to_owned()))))?;
        Ok(())
    }

    /// Makes every relation stored in `schemas` queryable in `session`. Views are
    /// registered once the relations they read are, whatever order they are listed in.
    pub async fn attach(&self, session: &SessionContext, schemas: &[&str]) -> Result<Vec<Relation>> {
        let mut attached = Vec::new();
        let mut views = Vec::new();
        for schema in schemas {
            for relation in self.relations(schema).await? {
                match relation.kind {
                    RelationKind::Table => {
                        let stamp = self.register_table(session, &relation.schema, &relation.name).await?;
                        attached.push(Relation { stamp, ..relation });
                    }
                    RelationKind::View => views.push(relation),
                }
            }
        }
        let mut pending = Vec::new();
        for view in views {
            let path = self.path(&view.schema, &format!("{}{VIEW_SUFFIX}", view.name));
            let sql = String::from_utf8(self.store.store.get(&path).await?.bytes().await?.to_vec())
                .map_err(|e| Error::config(self.store.url_of(&path), e.to_string()))?;
            let stamp = sql
                .lines()
                .next()
                .and_then(|line| line.strip_prefix(VIEW_STAMP_PREFIX))
                .and_then(|json| serde_json::from_str(json).ok());
            pending.push((Relation { stamp, ..view }, sql));
        }
        while !pending.is_empty() {
            let before = pending.len();
            let mut still_pending = Vec::new();
            let mut last_error = None;
            for (view, sql) in pending {
                match Self::register_view(session, &view.schema, &view.name, &sql).await {
                    Ok(()) => attached.push(view),
                    Err(e) => {
                        last_error = Some(format!("view {}.{}: {e}", view.schema, view.name));
                        still_pending.push((view, sql));
                    }
                }
            }
            if still_pending.len() == before {
                // No view could be registered in this pass: what they read is missing.
                tracing::warn!("{}", last_error.unwrap_or_default());
                for (view, _) in &still_pending {
                    tracing::warn!(
                        "view {}.{} cannot be queried: an upstream relation is missing",
                        view.schema,
                        view.name
                    );
                }
                break;
            }
            pending = still_pending;
        }
        Ok(attached)
    }
}

/// An object-store table's pointer object.
#[derive(serde::Serialize, serde::Deserialize)]
struct Pointer {
    /// The current version, relative to the schema folder.
    data: String,
    rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stamp: Option<Stamp>,
}

/// A table's data written by [`Warehouse::stage_table`], not yet visible to readers.
#[derive(Debug)]
#[must_use = "a staged table is invisible until committed, and left behind unless discarded"]
pub struct StagedTable {
    schema: String,
    name: String,
    /// The data, relative to the schema folder: a temporary file or a version.
    file: String,
    rows: u64,
    stamp: Option<Stamp>,
}

/// How a local folder's commit treats the staged file: renamed over the table, or kept
/// as a second name of it.
#[derive(Clone, Copy)]
enum Publish {
    Move,
    Share,
}

impl StagedTable {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }
}

/// How every table is written, chosen by measurement:
/// - Snappy without dictionaries (dev profile, median of 9 writes through this path to a
///   local folder, the real data): dictionary encoding is what costs, not the codec.
///   lap_times (531,950 rows): snappy 122 ms / 3.3 MB with dictionaries, 60 ms / 5.9 MB
///   without; zstd(1) 93 ms / 4.0 MB, lz4 72 ms / 5.6 MB, uncompressed 48-79 ms / 27.7 MB
///   (all without). fct_results (25,720 rows): 28 ms / 0.71 MB -> 19 ms / 1.3 MB. Row
///   groups smaller than the default 1M rows were no faster and larger.
/// - Integers and dates delta-encoded (release, x100 lap_times, 53M rows, two runs each):
///   encoding 4.6 s -> 4.1 s, reading back 1.6 s -> 1.2 s, 565 MB -> 417 MB; ids and laps
///   rise in small steps, which deltas pack into a few bits. LZ4 instead of Snappy read
///   back faster (1.0 s) but encoded slower (4.5 s); no compression wrote 1.2 GB.
fn table_properties(schema: &Schema, stamp: Option<String>) -> WriterProperties {
    let deltas = schema.fields().iter().filter(|f| {
        matches!(f.data_type(), DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::Date32)
    });
    deltas
        .fold(WriterProperties::builder(), |props, field| {
            props.set_column_encoding(ColumnPath::from(field.name().as_str()), Encoding::DELTA_BINARY_PACKED)
        })
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(false)
        .set_key_value_metadata(stamp.map(|s| vec![KeyValue::new(STAMP_KEY.to_owned(), s)]))
        .build()
}

/// A version name that sorts by time: nanoseconds since the epoch, zero-padded, then the
/// process id for two writers in one nanosecond.
fn version_id() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{nanos:020}-{}", std::process::id())
}

fn unique_suffix() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// Whether `file` is a temporary file: `.<name>.parquet.tmp-<pid>-<nanos>` or
/// `.<name>.view.sql.tmp-<pid>-<nanos>` as this module names them, or any name with
/// object_store's staging suffix `#<digits>` (its local store uploads to `<dest>#<n>`
/// and renames; it lists no such file, and accepts no such name for an object).
fn is_temporary(file: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if file.rsplit_once('#').is_some_and(|(_, n)| digits(n)) {
        return true;
    }
    let Some((stem, id)) = file.rsplit_once(TEMP_MARK) else {
        return false;
    };
    file.starts_with('.')
        && (stem.ends_with(TABLE_SUFFIX) || stem.ends_with(VIEW_SUFFIX))
        && id.split_once('-').is_some_and(|(pid, nanos)| digits(pid) && digits(nanos))
}

/// This process's command line, as the lock file records it: the program's file name,
/// then its arguments.
/// This machine's name, for a lease's holder (builds on one bucket may run anywhere).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "an unknown host".to_owned())
}

fn command_line() -> String {
    let mut args = std::env::args();
    let program = args.next().map(PathBuf::from);
    let program = program.as_ref().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
    let line = program.into_iter().chain(args).collect::<Vec<_>>().join(" ");
    // One line, of a readable length (a query's SQL can be long).
    let line = line.replace(['\n', '\r'], " ");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line,
    }
}

/// Who holds the lock that `file` could not take, from what the holder wrote in it.
fn describe_holder(file: &File, wanted: Access) -> String {
    let mut text = String::new();
    let _ = (&*file).seek(SeekFrom::Start(0)).and_then(|_| (&*file).read_to_string(&mut text));
    match text.trim().split_once(' ') {
        Some((pid, command)) if pid.parse::<u32>().is_ok() => format!("process {pid} ({command})"),
        // Readers write nothing, and a writer writes its name just after taking the lock.
        _ if wanted == Access::Write => "another pitwall process reading it (show, query or export)".to_owned(),
        _ => "another pitwall process".to_owned(),
    }
}

fn is_read_only(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn local() -> (tempfile::TempDir, Warehouse) {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = Warehouse::open(&Location::local(dir.path().join("warehouse"))).unwrap();
        (dir, warehouse)
    }

    fn refusal(result: Result<WarehouseLock>) -> String {
        match result {
            Err(e @ Error::WarehouseLocked { .. }) => e.to_string(),
            other => panic!("expected the lock to be refused, got {other:?}"),
        }
    }

    // flock(2) locks belong to an open file, so two opens in one process exclude each
    // other as two processes would.
    #[test]
    fn a_writer_excludes_writers_and_readers_and_is_named_by_pid_and_command() {
        let (_dir, warehouse) = local();
        let writer = warehouse.try_lock(Access::Write).unwrap();
        let lock_file = warehouse.lock_file().unwrap();
        let holder = format!("process {} (", std::process::id());
        for access in [Access::Write, Access::Read] {
            let message = refusal(warehouse.try_lock(access));
            assert!(message.contains(&lock_file.display().to_string()), "{message}");
            assert!(message.contains(&holder), "{message}");
        }
        drop(writer);
        // Released, and its name cleared, so a later reader is not reported as it.
        assert_eq!(std::fs::read_to_string(&lock_file).unwrap(), "");
        let again = warehouse.try_lock(Access::Write).unwrap();
        assert_eq!(again.access(), Access::Write);
    }

    #[test]
    fn readers_share_the_lock_and_keep_a_writer_out_until_the_last_leaves() {
        let (_dir, warehouse) = local();
        let first = warehouse.try_lock(Access::Read).unwrap();
        let second = warehouse.try_lock(Access::Read).unwrap();
        let message = refusal(warehouse.try_lock(Access::Write));
        assert!(message.contains("reading it"), "{message}");
        drop(first);
        refusal(warehouse.try_lock(Access::Write));
        drop(second);
        warehouse.try_lock(Access::Write).unwrap();
    }

    #[tokio::test]
    async fn a_waiting_writer_says_once_who_holds_the_lock_and_gets_it_when_released() {
        let (_dir, warehouse) = local();
        let warehouse = Arc::new(warehouse);
        let holder = warehouse.try_lock(Access::Write).unwrap();
        let told = Arc::new(std::sync::Mutex::new(Vec::new()));
        let refused = warehouse.lock(Access::Write, false, |_| panic!("told not to wait")).await;
        assert!(refusal(refused).contains(&format!("process {}", std::process::id())));
        let waiting = {
            let (warehouse, told) = (warehouse.clone(), told.clone());
            tokio::spawn(async move {
                warehouse.lock(Access::Write, true, |h| told.lock().unwrap().push(h.to_owned())).await
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "took a lock another holder has");
        drop(holder);
        let lock = tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap().unwrap();
        assert_eq!(lock.access(), Access::Write);
        let told = told.lock().unwrap();
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(told[0].starts_with(&format!("process {} (", std::process::id())), "{told:?}");
    }

    #[tokio::test]
    async fn an_object_store_warehouse_serializes_writers_by_lease_and_lets_readers_in() {
        let warehouse = Warehouse::open(&Location::parse("memory:///wh", std::path::Path::new("/")).unwrap()).unwrap();
        assert_eq!(warehouse.lock_file(), None);
        let first = warehouse.lock(Access::Write, false, |_| {}).await.unwrap();
        let refused = warehouse.lock(Access::Write, false, |_| {}).await.unwrap_err().to_string();
        assert!(refused.contains("memory:///wh/.pitwall.lock") && refused.contains(&std::process::id().to_string()));
        let _reader = warehouse.lock(Access::Read, false, |_| {}).await.unwrap();
        assert!(warehouse.remove_leftovers(&first).is_empty());
        first.release().await;
        warehouse.lock(Access::Write, false, |_| {}).await.unwrap().release().await;
    }

    #[test]
    fn tables_delta_encode_integers_and_dates_and_keep_text_plain() {
        use datafusion::arrow::datatypes::Field;
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("day", DataType::Date32, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("speed", DataType::Float64, true),
        ]);
        let props = table_properties(&schema, Some("{}".into()));
        let encoding = |column: &str| props.encoding(&ColumnPath::from(column));
        assert_eq!(encoding("id"), Some(Encoding::DELTA_BINARY_PACKED));
        assert_eq!(encoding("day"), Some(Encoding::DELTA_BINARY_PACKED));
        assert_eq!((encoding("name"), encoding("speed")), (None, None), "the writer's default: plain");
        assert!(!props.dictionary_enabled(&ColumnPath::from("name")));
        assert_eq!(props.compression(&ColumnPath::from("id")), Compression::SNAPPY);
    }

    pub(super) fn batch_of(n: i64) -> SendableRecordBatchStream {
        use datafusion::arrow::array::{ArrayRef, Int64Array};
        use datafusion::arrow::record_batch::RecordBatch;
        use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
        let column: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n));
        let batch = RecordBatch::try_from_iter([("x", column)]).unwrap();
        Box::pin(RecordBatchStreamAdapter::new(batch.schema(), futures::stream::iter([Ok(batch)])))
    }

    pub(super) async fn count(session: &SessionContext, table: &str) -> Result<usize> {
        let batches = session.sql(&format!("select * from {table}")).await?.collect().await?;
        Ok(batches.iter().map(|b| b.num_rows()).sum())
    }

    fn object_store_warehouse() -> (Warehouse, SessionContext) {
        let warehouse = Warehouse::open(&Location::parse("memory:///wh", std::path::Path::new("/")).unwrap()).unwrap();
        let relations = Relations { target_schema: "s".into(), source_schemas: Default::default() };
        let session = warehouse.session(&relations).unwrap();
        (warehouse, session)
    }

    async fn versions(warehouse: &Warehouse, name: &str) -> Vec<String> {
        let folder = warehouse.path("s", &format!("{VERSIONS}/{name}"));
        let listed: Vec<_> = warehouse.store.store.list(Some(&folder)).collect().await;
        let mut names: Vec<String> = listed.into_iter().map(|m| m.unwrap().location.to_string()).collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn an_object_store_reader_keeps_reading_the_version_it_resolved_while_a_writer_replaces_it() {
        let (warehouse, old_reader) = object_store_warehouse();
        warehouse.write_table("s", "t", batch_of(3), None).await.unwrap();
        warehouse.register_table(&old_reader, "s", "t").await.unwrap();
        warehouse.write_table("s", "t", batch_of(5), None).await.unwrap();
        // The old reader still reads all of the version it resolved, never a mix.
        assert_eq!(count(&old_reader, "s.t").await.unwrap(), 3);
        let new_reader =
            warehouse.session(&Relations { target_schema: "s".into(), source_schemas: Default::default() }).unwrap();
        warehouse.attach(&new_reader, &["s"]).await.unwrap();
        assert_eq!(count(&new_reader, "s.t").await.unwrap(), 5);
        assert_eq!(versions(&warehouse, "t").await.len(), 2, "the replaced version stays for readers on it");
        // One write later it is gone; the newest two remain.
        let before = versions(&warehouse, "t").await;
        warehouse.write_table("s", "t", batch_of(7), None).await.unwrap();
        let after = versions(&warehouse, "t").await;
        assert_eq!((after.len(), &after[0]), (2, &before[1]), "{before:?} -> {after:?}");
        let relations = warehouse.relations("s").await.unwrap();
        assert_eq!(
            relations.iter().map(|r| (r.name.as_str(), r.kind)).collect::<Vec<_>>(),
            [("t", RelationKind::Table)]
        );
    }

    #[tokio::test]
    async fn an_object_store_write_killed_before_its_pointer_leaves_the_previous_table_and_is_cleaned_later() {
        let (warehouse, session) = object_store_warehouse();
        warehouse.write_table("s", "t", batch_of(3), None).await.unwrap();
        // What a process killed mid-write leaves: a version no pointer names.
        let orphan = warehouse.path("s", &format!("{VERSIONS}/t/{}{TABLE_SUFFIX}", version_id()));
        warehouse.store.store.put(&orphan, PutPayload::from_static(b"half a parquet file")).await.unwrap();
        warehouse.attach(&session, &["s"]).await.unwrap();
        assert_eq!(count(&session, "s.t").await.unwrap(), 3);
        warehouse.write_table("s", "t", batch_of(4), None).await.unwrap();
        warehouse.write_table("s", "t", batch_of(5), None).await.unwrap();
        let left = versions(&warehouse, "t").await;
        assert!(!left.contains(&orphan.to_string()), "{left:?}");
        assert_eq!(left.len(), 2, "{left:?}");
    }

    #[tokio::test]
    async fn an_object_store_view_replaces_a_table_and_a_table_a_view() {
        let (warehouse, session) = object_store_warehouse();
        warehouse.write_table("s", "t", batch_of(2), None).await.unwrap();
        warehouse.write_table("s", "base", batch_of(6), None).await.unwrap();
        warehouse.write_view("s", "t", "select * from s.base where x < 4", None).await.unwrap();
        warehouse.attach(&session, &["s"]).await.unwrap();
        assert_eq!(count(&session, "s.t").await.unwrap(), 4);
        let kinds = |r: Vec<Relation>| r.into_iter().map(|r| (r.name, r.kind)).collect::<Vec<_>>();
        assert_eq!(
            kinds(warehouse.relations("s").await.unwrap()),
            [("base".to_owned(), RelationKind::Table), ("t".to_owned(), RelationKind::View)]
        );
        warehouse.write_table("s", "t", batch_of(1), None).await.unwrap();
        assert_eq!(
            kinds(warehouse.relations("s").await.unwrap()),
            [("base".to_owned(), RelationKind::Table), ("t".to_owned(), RelationKind::Table)]
        );
    }

    #[test]
    fn the_exclusive_holder_removes_temporary_files_and_nothing_else() {
        let (dir, warehouse) = local();
        let root = dir.path().join("warehouse");
        let leftovers = [
            format!("raw/.races{TABLE_SUFFIX}{TEMP_MARK}{}", unique_suffix()),
            "analytics/.stg_f1_races.view.sql.tmp-41-1796052693018141859".to_owned(),
            // object_store's local staging of the upload to a temporary file, and of a put.
            "analytics/.fct_results.parquet.tmp-41-1796052693018141859#1".to_owned(),
            "analytics/fct_results.parquet#12".to_owned(),
        ];
        let kept = [
            "raw/races.parquet",
            "analytics/fct_results.parquet",
            "analytics/stg_f1_races.view.sql",
            "analytics/.notes",
            "analytics/report.tmp-1-2",
            "analytics/.x.parquet.tmp-1-2b",
            "analytics/odd#name",
            // Only schema folders hold relations: nothing above or below them is touched.
            "stray.parquet#1",
            "analytics/deeper/.x.parquet.tmp-1-2",
        ];
        for file in leftovers.iter().map(String::as_str).chain(kept) {
            std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
            std::fs::write(root.join(file), b"x").unwrap();
        }
        let lock = warehouse.try_lock(Access::Write).unwrap();
        let removed = warehouse.remove_leftovers(&lock);
        let mut expected: Vec<PathBuf> = leftovers.iter().map(|f| root.join(f)).collect();
        expected.sort();
        assert_eq!(removed, expected);
        for file in kept.iter().chain(&[LOCK_FILE]) {
            assert!(root.join(file).exists(), "{file} was removed");
        }
        assert!(warehouse.remove_leftovers(&lock).is_empty());
    }
}
