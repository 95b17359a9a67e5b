//! The embedded local warehouse: a folder (or any object store location) with one
//! sub-folder per schema. A table is `<schema>/<name>.parquet`; a view is
//! `<schema>/<name>.view.sql`, its compiled SQL, which any later process can query.
//!
//! **Invariant:** a relation is replaced only by a rename of a fully written file, so a
//! failed or interrupted run leaves the previous version intact.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::catalog::MemorySchemaProvider;
use datafusion::common::TableReference;
use datafusion::datasource::ViewTable;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use url::Url;

use crate::context::Relations;
use crate::error::{Error, Result};

const TABLE_SUFFIX: &str = ".parquet";
const VIEW_SUFFIX: &str = ".view.sql";

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
}

/// A session with pitwall's SQL functions and every schema of `relations` (sources',
/// target, audit), its default schema the target: the dialect models and tests are
/// planned and run in, whether or not a warehouse is behind it.
pub fn project_session(relations: &Relations) -> Result<SessionContext> {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_create_default_catalog_and_schema(true)
        .with_default_catalog_and_schema("datafusion", relations.target_schema.as_str());
    let session = SessionContext::new_with_config(config);
    crate::functions::register(&session);
    let catalog = session.catalog("datafusion").expect("the default catalog exists");
    for schema in relations.source_schemas.values().cloned().chain([relations.audit_schema()]) {
        if catalog.schema(&schema).is_none() {
            catalog.register_schema(&schema, Arc::new(MemorySchemaProvider::new()))?;
        }
    }
    Ok(session)
}

/// Opens an object store location given as a local path or a URL.
pub fn open_store(location: &str) -> Result<(Arc<dyn ObjectStore>, Url, Path)> {
    let url = if location.contains("://") {
        Url::parse(location).map_err(|e| Error::config(location, format!("not a valid URL: {e}")))?
    } else {
        let path = std::path::Path::new(location);
        let absolute = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
        let absolute = normalize(&absolute);
        Url::from_directory_path(&absolute).map_err(|()| Error::config(location, "cannot be turned into a file URL"))?
    };
    let (store, root) = object_store::parse_url(&url).map_err(|e| {
        Error::config(
            location,
            format!("cannot open this location: {e} (supported here: local folders and file:// URLs)"),
        )
    })?;
    let base = Url::parse(&format!("{}://{}/", url.scheme(), url.host_str().unwrap_or("")))
        .map_err(|e| Error::config(location, e.to_string()))?;
    Ok((Arc::from(store), base, root))
}

/// Resolves `.` and `..` without touching the file system (object store paths allow neither).
fn normalize(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Joins an object store path and a relative part.
pub fn child(root: &Path, part: &str) -> Path {
    part.split('/').filter(|p| !p.is_empty()).fold(root.clone(), |p, seg| p.join(seg))
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Other(e.into())
    }
}

#[derive(Debug)]
pub struct Warehouse {
    store: Arc<dyn ObjectStore>,
    base_url: Url,
    root: Path,
    location: String,
}

impl Warehouse {
    /// Opens (creating if needed) the warehouse at `location`.
    pub fn open(location: &str) -> Result<Warehouse> {
        if !location.contains("://") {
            std::fs::create_dir_all(location)
                .map_err(|e| Error::config(location, format!("cannot create the warehouse folder: {e}")))?;
        }
        let (store, base_url, root) = open_store(location)?;
        Ok(Warehouse { store, base_url, root, location: location.to_owned() })
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    fn path(&self, schema: &str, file: &str) -> Path {
        self.root.clone().join(schema).join(file)
    }

    fn url_of(&self, path: &Path) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// A session whose default schema is `relations.target_schema`, with every schema of
    /// `relations` created and this warehouse's store registered for reading.
    pub fn session(&self, relations: &Relations) -> Result<SessionContext> {
        let session = project_session(relations)?;
        session.register_object_store(&self.base_url, self.store.clone());
        Ok(session)
    }

    /// Writes a table atomically: the stream goes to a temporary object, which is renamed
    /// over the previous table only once complete. Returns the number of rows written.
    pub async fn write_table(&self, schema: &str, name: &str, mut stream: SendableRecordBatchStream) -> Result<u64> {
        let target = self.path(schema, &format!("{name}{TABLE_SUFFIX}"));
        let temp = self.path(schema, &format!(".{name}{TABLE_SUFFIX}.tmp-{}", unique_suffix()));
        let result = async {
            let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
            let sink = BufWriter::new(self.store.clone(), temp.clone());
            let mut writer = AsyncArrowWriter::try_new(sink, stream.schema(), Some(props))?;
            let mut rows = 0u64;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).await?;
            }
            writer.close().await?;
            self.store.rename(&temp, &target).await?;
            Ok::<_, Error>(rows)
        }
        .await;
        match result {
            Ok(rows) => {
                self.remove_if_present(&self.path(schema, &format!("{name}{VIEW_SUFFIX}"))).await?;
                Ok(rows)
            }
            Err(e) => {
                let _ = self.store.delete(&temp).await;
                Err(e)
            }
        }
    }

    /// Saves a view's compiled SQL, replacing any table of the same name.
    pub async fn write_view(&self, schema: &str, name: &str, sql: &str) -> Result<()> {
        let target = self.path(schema, &format!("{name}{VIEW_SUFFIX}"));
        let temp = self.path(schema, &format!(".{name}{VIEW_SUFFIX}.tmp-{}", unique_suffix()));
        self.store.put(&temp, PutPayload::from(sql.to_owned())).await?;
        self.store.rename(&temp, &target).await?;
        self.remove_if_present(&self.path(schema, &format!("{name}{TABLE_SUFFIX}"))).await
    }

    async fn remove_if_present(&self, path: &Path) -> Result<()> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The relations stored in `schema`, sorted by name.
    pub async fn relations(&self, schema: &str) -> Result<Vec<Relation>> {
        let prefix = self.root.clone().join(schema);
        let mut listing = self.store.list(Some(&prefix));
        let mut found = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            let Some(file) = meta.location.filename() else {
                continue;
            };
            if file.starts_with('.') || meta.location.prefix_match(&prefix).map(|p| p.count()) != Some(1) {
                continue;
            }
            let (name, kind) = if let Some(n) = file.strip_suffix(TABLE_SUFFIX) {
                (n, RelationKind::Table)
            } else if let Some(n) = file.strip_suffix(VIEW_SUFFIX) {
                (n, RelationKind::View)
            } else {
                continue;
            };
            found.push(Relation { schema: schema.to_owned(), name: name.to_owned(), kind });
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    /// Registers a stored table in `session` (replacing any earlier registration).
    pub async fn register_table(&self, session: &SessionContext, schema: &str, name: &str) -> Result<()> {
        let reference = TableReference::partial(schema, name);
        session.deregister_table(reference.clone())?;
        let url = self.url_of(&self.path(schema, &format!("{name}{TABLE_SUFFIX}")));
        session.register_parquet(reference, url, ParquetReadOptions::default()).await?;
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
                        self.register_table(session, &relation.schema, &relation.name).await?;
                        attached.push(relation);
                    }
                    RelationKind::View => views.push(relation),
                }
            }
        }
        let mut pending = Vec::new();
        for view in views {
            let path = self.path(&view.schema, &format!("{}{VIEW_SUFFIX}", view.name));
            let sql = String::from_utf8(self.store.get(&path).await?.bytes().await?.to_vec())
                .map_err(|e| Error::config(self.url_of(&path), e.to_string()))?;
            pending.push((view, sql));
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

fn unique_suffix() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// Writes one file (an artifact, an export) at `location/name` through object_store;
/// the local store writes a staged file and renames it, so readers never see half a file.
pub async fn write_file(location: &str, name: &str, bytes: Vec<u8>) -> Result<()> {
    if !location.contains("://") {
        std::fs::create_dir_all(location)
            .map_err(|e| Error::config(location, format!("cannot create the folder: {e}")))?;
    }
    let (store, _, root) = open_store(location)?;
    store.put(&child(&root, name), PutPayload::from(bytes)).await?;
    Ok(())
}
