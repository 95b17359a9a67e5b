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
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::context::Relations;
use crate::error::{Error, Result};
use crate::location::{Location, Store};
use crate::source::RawTable;

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

#[derive(Debug)]
pub struct Warehouse {
    store: Store,
}

impl Warehouse {
    /// Opens (creating a local folder if needed) the warehouse at `location`.
    pub fn open(location: &Location) -> Result<Warehouse> {
        Ok(Warehouse { store: location.open()? })
    }

    pub fn location(&self) -> &Location {
        &self.store.location
    }

    fn path(&self, schema: &str, file: &str) -> Path {
        self.store.root.clone().join(schema).join(file)
    }

    /// A session whose default schema is `relations.target_schema`, with every schema of
    /// `relations` created and this warehouse's store registered for reading.
    pub fn session(&self, relations: &Relations) -> Result<SessionContext> {
        let session = project_session(relations)?;
        session.register_object_store(&self.store.base_url, self.store.store.clone());
        Ok(session)
    }

    /// Writes a table atomically: the stream goes to a temporary object, which is renamed
    /// over the previous table only once complete. Returns the number of rows written.
    pub async fn write_table(&self, schema: &str, name: &str, mut stream: SendableRecordBatchStream) -> Result<u64> {
        let target = self.path(schema, &format!("{name}{TABLE_SUFFIX}"));
        let temp = self.path(schema, &format!(".{name}{TABLE_SUFFIX}.tmp-{}", unique_suffix()));
        let result = async {
            let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
            let sink = BufWriter::new(self.store.store.clone(), temp.clone());
            let mut writer = AsyncArrowWriter::try_new(sink, stream.schema(), Some(props))?;
            let mut rows = 0u64;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).await?;
            }
            writer.close().await?;
            self.store.store.rename(&temp, &target).await?;
            Ok::<_, Error>(rows)
        }
        .await;
        match result {
            Ok(rows) => {
                self.remove_if_present(&self.path(schema, &format!("{name}{VIEW_SUFFIX}"))).await?;
                Ok(rows)
            }
            Err(e) => {
                let _ = self.store.store.delete(&temp).await;
                Err(e)
            }
        }
    }

    /// Stores loaded raw tables (each replaced atomically, all written concurrently).
    pub async fn store_raw(&self, schema: &str, tables: &[RawTable]) -> Result<()> {
        let writes = tables.iter().map(|t| {
            let batches: Vec<_> = t.batches.iter().cloned().map(Ok).collect();
            let stream = RecordBatchStreamAdapter::new(t.schema.clone(), futures::stream::iter(batches));
            self.write_table(schema, &t.name, Box::pin(stream))
        });
        futures::future::try_join_all(writes).await?;
        Ok(())
    }

    /// Saves a view's compiled SQL, replacing any table of the same name.
    pub async fn write_view(&self, schema: &str, name: &str, sql: &str) -> Result<()> {
        let target = self.path(schema, &format!("{name}{VIEW_SUFFIX}"));
        let temp = self.path(schema, &format!(".{name}{VIEW_SUFFIX}.tmp-{}", unique_suffix()));
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
        let url = self.store.url_of(&self.path(schema, &format!("{name}{TABLE_SUFFIX}")));
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
            let sql = String::from_utf8(self.store.store.get(&path).await?.bytes().await?.to_vec())
                .map_err(|e| Error::config(self.store.url_of(&path), e.to_string()))?;
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
