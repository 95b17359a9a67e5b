//! Delivery: what a build materialized, loaded into Snowflake the way its own connectors
//! bulk-load (Parquet files PUT to an internal stage, then COPY INTO), each table under a
//! temporary name, counted, and swapped in only when complete, so a failed delivery leaves
//! the previous table as it was.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use arrow::array::Array;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;
use futures::StreamExt;
use futures::stream::BoxStream;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use pitwall_snowflake_client::{Error, QueryResult, Session};

/// A staged file is closed and uploaded once its encoded size passes this, so memory holds
/// at most one file of a table, and COPY loads the files in parallel (Snowflake advises
/// files of 100-250 MB compressed).
const FILE_BYTES: usize = 128 << 20;

/// The temporary stage files go through (session-scoped: no other session sees it).
const STAGE: &str = "PITWALL_DELIVERY";
/// Suffixes of the names a table is loaded under and its predecessor parked at.
const NEW_SUFFIX: &str = "__PITWALL_NEW";
const OLD_SUFFIX: &str = "__PITWALL_OLD";

/// Any error of the local side, which this crate does not know.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// pitwall's side of a delivery: each relation's rows, read by an engine this crate does
/// not know (the orchestrator reads its warehouse with DataFusion).
pub trait Local: Sync {
    /// How many rows the relation holds (asked of views only: a table counts the rows it
    /// streams).
    fn count(&self, relation: &Relation) -> impl Future<Output = Result<u64, BoxError>> + Send;
    /// The relation's schema and its rows.
    fn rows(&self, relation: &Relation) -> impl Future<Output = Result<Rows, BoxError>> + Send;
}

/// A relation's rows, as [`Local::rows`] streams them.
pub struct Rows {
    pub schema: SchemaRef,
    pub batches: BoxStream<'static, Result<RecordBatch, BoxError>>,
}

/// One relation to deliver.
#[derive(Clone, Debug)]
pub struct Relation {
    /// Where pitwall holds it: the local schema and name.
    pub local_schema: String,
    pub local_name: String,
    /// The Snowflake schema it goes to, as configured (`raw`, `production`).
    pub schema: String,
    pub name: String,
    pub shape: Shape,
}

/// How a relation is meant to arrive.
#[derive(Clone, Debug)]
pub enum Shape {
    Table,
    /// A view: created as one when Snowflake accepts its SQL (compiled with Snowflake's
    /// names of the relations it reads), else delivered as a table.
    View {
        sql: String,
    },
}

/// How a relation did arrive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivered {
    Table,
    View,
    /// A view in pitwall delivered as a table, and why.
    TableForView {
        why: String,
    },
}

/// One relation's delivery.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// `DATABASE.SCHEMA.NAME`, as Snowflake names it.
    pub relation: String,
    pub delivered: Delivered,
    /// Rows in Snowflake, checked equal to pitwall's.
    pub rows: u64,
    pub elapsed: Duration,
}

/// A failed delivery: which relation, doing what, and Snowflake's (or the local) error.
#[derive(Debug, thiserror::Error)]
#[error("delivering {relation}: {doing}: {source}")]
pub struct DeliveryError {
    pub relation: String,
    pub doing: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// An identifier as Snowflake stores an unquoted one (dbt-snowflake's default): a plain
/// identifier upper-cased, quoted so that a keyword (`DATE`, `TIME`) stays a name; any
/// other name (`25%`) quoted as it is.
pub fn ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    let stored = if plain { name.to_ascii_uppercase() } else { name.to_owned() };
    format!("\"{}\"", stored.replace('"', "\"\""))
}

/// `"DATABASE"."SCHEMA"."NAME"`.
pub fn qualified(database: &str, schema: &str, name: &str) -> String {
    format!("{}.{}.{}", ident(database), ident(schema), ident(name))
}

/// The name Snowflake shows for a relation: `DATABASE.SCHEMA.NAME` (unquoted names
/// upper-cased), for messages and console lines.
pub fn display_name(database: &str, schema: &str, name: &str) -> String {
    [database, schema, name].iter().map(|part| ident(part).trim_matches('"').to_owned()).collect::<Vec<_>>().join(".")
}

/// The Snowflake column type of an Arrow type (None: no faithful mapping).
pub fn snowflake_type(data_type: &DataType) -> Option<String> {
    use DataType::*;
    Some(match data_type {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => "NUMBER(38,0)".to_owned(),
        Float16 | Float32 | Float64 => "FLOAT".to_owned(),
        Utf8 | LargeUtf8 | Utf8View | Null => "VARCHAR".to_owned(),
        Boolean => "BOOLEAN".to_owned(),
        Date32 | Date64 => "DATE".to_owned(),
        Time32(_) | Time64(_) => "TIME".to_owned(),
        Decimal128(precision, scale) | Decimal256(precision, scale) if *precision <= 38 && *scale >= 0 => {
            format!("NUMBER({precision},{scale})")
        }
        Timestamp(_, None) => "TIMESTAMP_NTZ".to_owned(),
        Timestamp(_, Some(_)) => "TIMESTAMP_TZ".to_owned(),
        Dictionary(_, values) => return snowflake_type(values),
        _ => return None,
    })
}

/// A column whose Arrow type has no faithful Snowflake type (see [`snowflake_type`]):
/// the relation to deliver is at fault (e.g. a list column), not Snowflake.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("column {column}: Arrow type {data_type} has no Snowflake type")]
pub struct UnmappableColumn {
    pub column: String,
    pub data_type: DataType,
}

/// `CREATE OR REPLACE TABLE <name> (<columns>)` for an Arrow schema.
pub fn create_table_sql(name: &str, schema: &Schema) -> Result<String, UnmappableColumn> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| match snowflake_type(f.data_type()) {
            Some(t) => Ok(format!("{} {t}", ident(f.name()))),
            None => Err(UnmappableColumn { column: f.name().clone(), data_type: f.data_type().clone() }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(format!("CREATE OR REPLACE TABLE {name} ({})", columns.join(", ")))
}

/// What a schema already holds: name as stored -> is it a view.
type Existing = BTreeMap<String, bool>;

/// Delivers `relations`, in order (upstream first: a view reads what came before it),
/// into `database`, through a temporary stage in `stage_schema`. `on_done` hears each
/// relation as it lands. The first failure stops the delivery: what landed before it
/// stays, the failed table keeps its previous version, and its temporary table is dropped
/// when Snowflake still answers.
pub async fn deliver(
    snowflake: &Session,
    local: &impl Local,
    database: &str,
    stage_schema: &str,
    relations: &[Relation],
    on_done: &(dyn Fn(usize, usize, &Outcome) + Sync),
) -> Result<Vec<Outcome>, DeliveryError> {
    let setup = |doing: &str, e: Error| DeliveryError {
        relation: display_name(database, stage_schema, STAGE),
        doing: doing.to_owned(),
        source: Box::new(e),
    };
    ensure_database(snowflake, database).await.map_err(|e| setup(&format!("creating database {database}"), e))?;
    let mut existing: BTreeMap<String, Existing> = BTreeMap::new();
    let mut schemas: Vec<&str> = relations.iter().map(|r| r.schema.as_str()).chain([stage_schema]).collect();
    schemas.sort();
    schemas.dedup();
    for schema in schemas {
        let name = format!("{}.{}", ident(database), ident(schema));
        run(snowflake, &format!("CREATE SCHEMA IF NOT EXISTS {name}"))
            .await
            .map_err(|e| setup(&format!("creating schema {name}"), e))?;
        let objects = existing_objects(snowflake, database, schema)
            .await
            .map_err(|e| setup(&format!("listing the relations of schema {name}"), e))?;
        existing.insert(schema.to_owned(), objects);
    }
    let stage = format!("{}.{}.{STAGE}", ident(database), ident(stage_schema));
    run(snowflake, &format!("CREATE OR REPLACE TEMPORARY STAGE {stage}"))
        .await
        .map_err(|e| setup("creating the temporary stage", e))?;
    let target = Target { snowflake, local, database, stage: &stage };
    let mut outcomes = Vec::with_capacity(relations.len());
    for (index, relation) in relations.iter().enumerate() {
        let clock = Instant::now();
        let objects = existing.get_mut(&relation.schema).expect("listed above");
        let (delivered, rows) = target.relation(relation, objects).await?;
        let outcome = Outcome {
            relation: display_name(database, &relation.schema, &relation.name),
            delivered,
            rows,
            elapsed: clock.elapsed(),
        };
        on_done(index + 1, relations.len(), &outcome);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Creates the database when Snowflake has none of that name (dbt expects it to exist,
/// but a fresh account or emulator has only its defaults).
async fn ensure_database(snowflake: &Session, database: &str) -> Result<(), Error> {
    let stored = ident(database).trim_matches('"').to_owned();
    let shown = snowflake.query(&format!("SHOW DATABASES LIKE '{}'", stored.replace('\'', "''"))).await?;
    if !column_strings(&shown, "name").contains(&stored) {
        run(snowflake, &format!("CREATE DATABASE IF NOT EXISTS {}", ident(database))).await?;
    }
    Ok(())
}

/// The tables and views of a schema: information_schema.tables (base tables; Snowflake
/// lists views there too) and information_schema.views.
async fn existing_objects(snowflake: &Session, database: &str, schema: &str) -> Result<Existing, Error> {
    let stored = ident(schema).trim_matches('"').replace('\'', "''");
    let catalog = format!("{}.INFORMATION_SCHEMA", ident(database));
    let tables = snowflake
        .query(&format!("SELECT TABLE_NAME, TABLE_TYPE FROM {catalog}.TABLES WHERE TABLE_SCHEMA = '{stored}'"))
        .await?;
    let views =
        snowflake.query(&format!("SELECT TABLE_NAME FROM {catalog}.VIEWS WHERE TABLE_SCHEMA = '{stored}'")).await?;
    let mut objects: Existing = column_strings(&tables, "table_name")
        .into_iter()
        .zip(column_strings(&tables, "table_type"))
        .map(|(name, kind)| (name, kind == "VIEW"))
        .collect();
    objects.extend(column_strings(&views, "table_name").into_iter().map(|name| (name, true)));
    Ok(objects)
}

struct Target<'a, L> {
    snowflake: &'a Session,
    local: &'a L,
    database: &'a str,
    stage: &'a str,
}

impl<L: Local> Target<'_, L> {
    async fn relation(&self, relation: &Relation, existing: &mut Existing) -> Result<(Delivered, u64), DeliveryError> {
        let display = display_name(self.database, &relation.schema, &relation.name);
        let fail = |doing: String| {
            let display = display.clone();
            move |e: Box<dyn std::error::Error + Send + Sync>| DeliveryError { relation: display, doing, source: e }
        };
        let why_table = match &relation.shape {
            Shape::Table => None,
            Shape::View { sql } => {
                // Only a view needs pitwall's count up front: a table counts the rows it streams.
                let local_rows = self.local.count(relation).await.map_err(fail("counting pitwall's rows".into()))?;
                match self.view(relation, sql, local_rows, existing).await? {
                    None => return Ok((Delivered::View, local_rows)),
                    Some(why) => Some(why),
                }
            }
        };
        let rows = self.table(relation, existing).await?;
        Ok((why_table.map_or(Delivered::Table, |why| Delivered::TableForView { why }), rows))
    }

    /// Creates the view under a temporary name first: when Snowflake refuses its SQL, or
    /// counts other rows than pitwall, it is dropped and the reason returned (the relation
    /// then goes as a table); otherwise the view is created under its own name.
    async fn view(
        &self,
        relation: &Relation,
        sql: &str,
        local_rows: u64,
        existing: &mut Existing,
    ) -> Result<Option<String>, DeliveryError> {
        let display = display_name(self.database, &relation.schema, &relation.name);
        let fail = |doing: &str, e: Error| DeliveryError {
            relation: display.clone(),
            doing: doing.to_owned(),
            source: Box::new(e),
        };
        let trial_name = format!("{}{NEW_SUFFIX}", relation.name);
        let trial = qualified(self.database, &relation.schema, &trial_name);
        let body = sql.trim().trim_end_matches(';');
        if let Err(e) = run(self.snowflake, &format!("CREATE OR REPLACE VIEW {trial} AS\n{body}")).await {
            return match refusal(&e) {
                Some(message) => Ok(Some(format!("Snowflake refused its SQL as a view: {message}"))),
                None => Err(fail("creating the view under a temporary name", e)),
            };
        }
        let counted = count(self.snowflake, &trial).await;
        run(self.snowflake, &format!("DROP VIEW IF EXISTS {trial}"))
            .await
            .map_err(|e| fail("dropping the temporary view", e))?;
        match counted {
            Ok(rows) if rows == local_rows => {}
            Ok(rows) => {
                return Ok(Some(format!("as a view Snowflake counts {rows} rows, pitwall {local_rows}")));
            }
            Err(e) => match refusal(&e) {
                Some(message) => return Ok(Some(format!("Snowflake cannot run it as a view: {message}"))),
                None => return Err(fail("counting the view's rows", e)),
            },
        }
        let name = qualified(self.database, &relation.schema, &relation.name);
        let stored = ident(&relation.name).trim_matches('"').to_owned();
        if existing.get(&stored) == Some(&false) {
            run(self.snowflake, &format!("DROP TABLE {name}"))
                .await
                .map_err(|e| fail("dropping the table the view replaces", e))?;
        }
        run(self.snowflake, &format!("CREATE OR REPLACE VIEW {name} AS\n{body}"))
            .await
            .map_err(|e| fail("creating the view", e))?;
        existing.insert(stored, true);
        Ok(None)
    }

    /// Loads the relation's rows into a new table, checks the count, swaps it in.
    async fn table(&self, relation: &Relation, existing: &mut Existing) -> Result<u64, DeliveryError> {
        let display = display_name(self.database, &relation.schema, &relation.name);
        let fail = |doing: &str, e: Box<dyn std::error::Error + Send + Sync>| DeliveryError {
            relation: display.clone(),
            doing: doing.to_owned(),
            source: e,
        };
        let new_name = format!("{}{NEW_SUFFIX}", relation.name);
        let new = qualified(self.database, &relation.schema, &new_name);
        let rows = self.local.rows(relation).await.map_err(|e| fail("reading pitwall's table", e))?;
        let create = create_table_sql(&new, &rows.schema)
            .map_err(|e| fail("mapping its columns to Snowflake types", e.into()))?;
        run(self.snowflake, &create).await.map_err(|e| fail("creating the table under a temporary name", e.into()))?;
        let loaded = match self.load(relation, rows, &new).await {
            Ok(rows) => self.swap_in(relation, &new_name, existing).await.map(|()| rows),
            Err(e) => Err(e),
        };
        match loaded {
            Ok(rows) => Ok(rows),
            Err(e) => {
                // Best effort: Snowflake may be what failed.
                let _ = run(self.snowflake, &format!("DROP TABLE IF EXISTS {new}")).await;
                Err(fail(&e.0, e.1))
            }
        }
    }

    /// Stages the rows as Parquet files, COPYs them into `new` and checks Snowflake's count
    /// against the rows streamed; returns that count.
    async fn load(
        &self,
        relation: &Relation,
        rows: Rows,
        new: &str,
    ) -> Result<u64, (String, Box<dyn std::error::Error + Send + Sync>)> {
        let prefix = format!("{}/{}", self.stage, relation.name);
        let (files, local_rows) = self.stage_parquet(relation, rows, &prefix).await?;
        if files > 0 {
            self.copy_staged(new, &prefix, files).await?;
        }
        let rows = count(self.snowflake, new).await.map_err(|e| ("counting the loaded rows".to_owned(), e.into()))?;
        if rows != local_rows {
            return Err((
                "checking the row count".to_owned(),
                format!("Snowflake holds {rows} rows, pitwall {local_rows}; the previous table is kept").into(),
            ));
        }
        Ok(rows)
    }

    /// Streams the rows into Parquet files of about [`FILE_BYTES`], each uploaded to the
    /// stage under `prefix` once full (the last at the end); returns how many files and
    /// rows it staged.
    async fn stage_parquet(
        &self,
        relation: &Relation,
        rows: Rows,
        prefix: &str,
    ) -> Result<(usize, u64), (String, Box<dyn std::error::Error + Send + Sync>)> {
        let Rows { schema, batches: mut stream } = rows;
        let mut files = 0usize;
        let mut writer: Option<ArrowWriter<Vec<u8>>> = None;
        let mut local_rows = 0u64;
        while let Some(batch) = stream.next().await {
            let batch: RecordBatch = batch.map_err(|e| ("reading pitwall's rows".to_owned(), e))?;
            local_rows += batch.num_rows() as u64;
            let w = match &mut writer {
                Some(w) => w,
                None => writer.insert(parquet_writer(&schema).map_err(|e| ("writing Parquet".to_owned(), e))?),
            };
            w.write(&batch).map_err(|e| ("writing Parquet".to_owned(), e.into()))?;
            if w.bytes_written() + w.in_progress_size() >= FILE_BYTES {
                let full = writer.take().expect("just written");
                self.upload(prefix, &relation.name, files, full).await?;
                files += 1;
            }
        }
        if let Some(last) = writer.take() {
            self.upload(prefix, &relation.name, files, last).await?;
            files += 1;
        }
        Ok((files, local_rows))
    }

    /// COPYs the `files` staged under `prefix` into `new`, and fails unless COPY INTO
    /// reports each of them LOADED.
    async fn copy_staged(
        &self,
        new: &str,
        prefix: &str,
        files: usize,
    ) -> Result<(), (String, Box<dyn std::error::Error + Send + Sync>)> {
        let copy = format!(
            "COPY INTO {new} FROM @{prefix}/ FILE_FORMAT = (TYPE = PARQUET) \
             MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE"
        );
        let result = self
            .snowflake
            .query(&copy)
            .await
            .map_err(|e| ("loading the staged files (COPY INTO)".to_owned(), e.into()))?;
        let statuses = column_strings(&result, "status");
        if let Some(bad) = statuses.iter().find(|s| !s.eq_ignore_ascii_case("LOADED")) {
            let first_error = column_strings(&result, "first_error").into_iter().find(|e| !e.is_empty());
            return Err((
                "loading the staged files (COPY INTO)".to_owned(),
                format!("a file's status is {bad}{}", first_error.map(|e| format!(": {e}")).unwrap_or_default()).into(),
            ));
        }
        if statuses.len() != files {
            return Err((
                "loading the staged files (COPY INTO)".to_owned(),
                format!("{files} files staged, COPY INTO reported {}", statuses.len()).into(),
            ));
        }
        Ok(())
    }

    async fn upload(
        &self,
        prefix: &str,
        name: &str,
        index: usize,
        writer: ArrowWriter<Vec<u8>>,
    ) -> Result<(), (String, Box<dyn std::error::Error + Send + Sync>)> {
        let bytes = writer.into_inner().map_err(|e| ("writing Parquet".to_owned(), e.into()))?;
        let file = format!("{name}_{index}.parquet");
        self.snowflake
            .put(&format!("@{prefix}"), &file, bytes.into())
            .await
            .map_err(|e| (format!("uploading {file} to the stage (PUT)"), e.into()))
    }

    /// Puts the loaded table `new_name` in place of the relation: Snowflake's atomic
    /// `SWAP WITH` when one exists (a view of that name is dropped first), a rename when
    /// none does.
    async fn swap_in(
        &self,
        relation: &Relation,
        new_name: &str,
        existing: &mut Existing,
    ) -> Result<(), (String, Box<dyn std::error::Error + Send + Sync>)> {
        let (db, schema) = (self.database, relation.schema.as_str());
        let new = qualified(db, schema, new_name);
        let name = qualified(db, schema, &relation.name);
        let stored = ident(&relation.name).trim_matches('"').to_owned();
        let step = |doing: &'static str| {
            move |e: Error| (doing.to_owned(), Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        };
        match existing.get(&stored) {
            Some(true) => {
                run(self.snowflake, &format!("DROP VIEW IF EXISTS {name}"))
                    .await
                    .map_err(step("dropping the view the table replaces"))?;
                run(self.snowflake, &format!("ALTER TABLE {new} RENAME TO {name}"))
                    .await
                    .map_err(step("renaming the loaded table into place"))?;
            }
            None => {
                run(self.snowflake, &format!("ALTER TABLE {new} RENAME TO {name}"))
                    .await
                    .map_err(step("renaming the loaded table into place"))?;
            }
            Some(false) => match run(self.snowflake, &format!("ALTER TABLE {new} SWAP WITH {name}")).await {
                Ok(()) => {
                    run(self.snowflake, &format!("DROP TABLE IF EXISTS {new}"))
                        .await
                        .map_err(step("dropping the replaced table"))?;
                }
                // A server without SWAP (fakesnow's emulator answers a syntax error): park
                // the old table, rename the new one in, drop the old one; put the old one
                // back if the rename fails. Not atomic: between the renames the name is
                // briefly absent.
                Err(e) if e.code() == Some(SYNTAX_ERROR) => {
                    let old = qualified(db, schema, &format!("{}{OLD_SUFFIX}", relation.name));
                    run(self.snowflake, &format!("DROP TABLE IF EXISTS {old}"))
                        .await
                        .map_err(step("dropping a leftover parked table"))?;
                    run(self.snowflake, &format!("ALTER TABLE {name} RENAME TO {old}"))
                        .await
                        .map_err(step("parking the previous table"))?;
                    if let Err(e) = run(self.snowflake, &format!("ALTER TABLE {new} RENAME TO {name}")).await {
                        let _ = run(self.snowflake, &format!("ALTER TABLE {old} RENAME TO {name}")).await;
                        return Err(step("renaming the loaded table into place")(e));
                    }
                    run(self.snowflake, &format!("DROP TABLE {old}"))
                        .await
                        .map_err(step("dropping the replaced table"))?;
                }
                Err(e) => return Err(step("swapping the loaded table in (SWAP WITH)")(e)),
            },
        }
        existing.insert(stored, false);
        Ok(())
    }
}

fn parquet_writer(
    schema: &arrow::datatypes::SchemaRef,
) -> Result<ArrowWriter<Vec<u8>>, Box<dyn std::error::Error + Send + Sync>> {
    let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    Ok(ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties))?)
}

async fn run(snowflake: &Session, sql: &str) -> Result<(), Error> {
    snowflake.query(sql).await.map(|_| ())
}

async fn count(snowflake: &Session, relation: &str) -> Result<u64, Error> {
    let result = snowflake.query(&format!("SELECT COUNT(*) FROM {relation}")).await?;
    let value = result
        .batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| array_value_to_string(b.column(0), 0).ok())
        .unwrap_or_default();
    value.parse().map_err(|_| Error::Protocol {
        endpoint: snowflake.endpoint().to_owned(),
        what: format!("SELECT COUNT(*) FROM {relation}"),
        reason: format!("the count is '{value}'"),
    })
}

/// Snowflake's code for a statement it cannot parse.
const SYNTAX_ERROR: &str = "001003";

/// The first line of Snowflake's message when it refused a statement (it ran and
/// failed); `None` for any other failure (the server unreachable, a protocol error),
/// which must stop the delivery rather than change its shape.
fn refusal(error: &Error) -> Option<&str> {
    match error {
        Error::Statement { message, .. } => Some(first_line(message)),
        _ => None,
    }
}

/// A result column's values as text (matched by name case-insensitively; none if absent).
fn column_strings(result: &QueryResult, column: &str) -> Vec<String> {
    let Some(index) = result.schema.fields().iter().position(|f| f.name().eq_ignore_ascii_case(column)) else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for batch in &result.batches {
        let array = batch.column(index);
        for row in 0..array.len() {
            values.push(if array.is_null(row) {
                String::new()
            } else {
                array_value_to_string(array, row).unwrap_or_default()
            });
        }
    }
    values
}

fn first_line(text: &str) -> &str {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or(text).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, TimeUnit};

    #[test]
    fn identifiers_are_stored_as_snowflake_stores_unquoted_ones_and_others_are_quoted() {
        assert_eq!(ident("fct_results"), "\"FCT_RESULTS\"");
        assert_eq!(ident("date"), "\"DATE\"");
        assert_eq!(ident("25%"), "\"25%\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(qualified("PC_DBT_DB", "production", "fct_results"), "\"PC_DBT_DB\".\"PRODUCTION\".\"FCT_RESULTS\"");
        assert_eq!(display_name("pc_dbt_db", "raw", "lap_times"), "PC_DBT_DB.RAW.LAP_TIMES");
    }

    #[test]
    fn arrow_types_map_to_snowflakes_and_an_unmappable_column_is_named() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("seconds", DataType::Float64, true),
            Field::new("name", DataType::Utf8View, true),
            Field::new("date", DataType::Date32, true),
            Field::new("time", DataType::Time64(TimeUnit::Nanosecond), true),
            Field::new("price", DataType::Decimal128(10, 2), true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("25%", DataType::Float64, true),
        ]);
        assert_eq!(
            create_table_sql("T", &schema).unwrap(),
            "CREATE OR REPLACE TABLE T (\"ID\" NUMBER(38,0), \"SECONDS\" FLOAT, \"NAME\" VARCHAR, \"DATE\" DATE, \
             \"TIME\" TIME, \"PRICE\" NUMBER(10,2), \"OK\" BOOLEAN, \"AT\" TIMESTAMP_NTZ, \"25%\" FLOAT)"
        );
        let list = Schema::new(vec![Field::new("laps", DataType::new_list(DataType::Int64, true), true)]);
        let error = create_table_sql("T", &list).unwrap_err().to_string();
        assert!(error.starts_with("column laps: Arrow type List"), "{error}");
    }
}
