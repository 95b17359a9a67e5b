//! Source declarations, read from the embedded dbt-shaped `f1_sources.yml`.

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use pitwall_core::properties::PropertiesFile;
use pitwall_core::{Error, Result, SourceRef};
use std::sync::Arc;

const F1_SOURCES_PATH: &str = "crates/ingestion/sources/f1_sources.yml";
const F1_SOURCES: &str = include_str!("../sources/f1_sources.yml");

/// A raw column's type, named as in the warehouse DDL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `NUMBER(38,0)`: decimal text rounds half away from zero.
    Integer,
    /// `FLOAT`
    Float,
    /// `VARCHAR`
    Text,
    /// `DATE`, as `YYYY-MM-DD`.
    Date,
}

impl ColumnType {
    fn parse(sql: &str) -> Option<ColumnType> {
        let upper = sql.trim().to_ascii_uppercase();
        let base = upper.split('(').next().unwrap_or("").trim();
        match base {
            "NUMBER" | "NUMERIC" | "DECIMAL" | "INT" | "INTEGER" | "BIGINT" => {
                // Only scale 0 is an integer; NUMBER(p,s>0) would need a decimal type.
                let scale = upper.split(',').nth(1).map(|s| s.trim_end_matches(')').trim());
                match scale {
                    None | Some("0") => Some(ColumnType::Integer),
                    Some(_) => None,
                }
            }
            "FLOAT" | "DOUBLE" | "REAL" | "FLOAT8" => Some(ColumnType::Float),
            "VARCHAR" | "TEXT" | "STRING" => Some(ColumnType::Text),
            "DATE" => Some(ColumnType::Date),
            _ => None,
        }
    }

    pub fn arrow(self) -> DataType {
        match self {
            ColumnType::Integer => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Text => DataType::Utf8,
            ColumnType::Date => DataType::Date32,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SourceColumn {
    pub name: String,
    pub column_type: ColumnType,
    pub data_type: String,
    pub description: String,
}

#[derive(Clone, Debug)]
pub struct SourceTable {
    pub source: String,
    pub name: String,
    pub description: String,
    /// The file name under the source location.
    pub file: String,
    pub columns: Vec<SourceColumn>,
}

impl SourceTable {
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|c| Field::new(&c.name, c.column_type.arrow(), true)).collect::<Vec<_>>(),
        ))
    }

    pub fn reference(&self) -> SourceRef {
        SourceRef::new(&self.source, &self.name)
    }
}

#[derive(Clone, Debug)]
pub struct Source {
    pub name: String,
    pub description: String,
    pub tables: Vec<SourceTable>,
    /// The properties file the source was declared in, for its tests and docs.
    pub properties: PropertiesFile,
    pub properties_path: &'static str,
}

impl Source {
    pub fn references(&self) -> Vec<SourceRef> {
        self.tables.iter().map(SourceTable::reference).collect()
    }
}

/// The source properties file (declarations, descriptions and source tests).
pub fn files() -> Vec<pitwall_core::ProjectFile> {
    vec![pitwall_core::ProjectFile {
        kind: pitwall_core::FileKind::Properties,
        path: F1_SOURCES_PATH,
        text: F1_SOURCES,
        fqn: &["sources", "formula1"],
    }]
}

/// The workshop's `formula1` source.
pub fn formula1() -> Result<Source> {
    parse(F1_SOURCES_PATH, F1_SOURCES)
}

fn parse(path: &'static str, text: &str) -> Result<Source> {
    let properties = PropertiesFile::parse(path, text)?;
    let [source] = properties.sources.as_slice() else {
        return Err(Error::config(path, "expected exactly one source"));
    };
    let tables = source
        .tables
        .iter()
        .map(|t| {
            let columns =
                t.columns
                    .iter()
                    .map(|c| {
                        let data_type = c.data_type.clone().ok_or_else(|| {
                            Error::config(path, format!("column {}.{} has no data_type", t.name, c.name))
                        })?;
                        let column_type = ColumnType::parse(&data_type).ok_or_else(|| {
                            Error::config(
                                path,
                                format!("column {}.{}: unsupported data_type '{data_type}'", t.name, c.name),
                            )
                        })?;
                        Ok(SourceColumn {
                            name: c.name.clone(),
                            column_type,
                            data_type,
                            description: c.description.clone(),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
            Ok(SourceTable {
                source: source.name.clone(),
                name: t.name.clone(),
                description: t.description.clone(),
                file: format!("{}.csv", t.identifier.as_deref().unwrap_or(&t.name)),
                columns,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Source {
        name: source.name.clone(),
        description: source.description.clone(),
        tables,
        properties: properties.clone(),
        properties_path: path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula1_declares_the_eight_tables_of_the_setup_script() {
        let f1 = formula1().unwrap();
        let names: Vec<&str> = f1.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["circuits", "constructors", "drivers", "lap_times", "pit_stops", "races", "results", "status"]
        );
        let results = f1.tables.iter().find(|t| t.name == "results").unwrap();
        assert_eq!(results.columns.len(), 18);
        assert_eq!(results.columns[6].column_type, ColumnType::Float);
        let races = f1.tables.iter().find(|t| t.name == "races").unwrap();
        assert_eq!(races.columns.len(), 18);
        assert_eq!(races.columns[5].column_type, ColumnType::Date);
    }

    #[test]
    fn number_with_scale_is_not_an_integer() {
        assert_eq!(ColumnType::parse("NUMBER(38,0)"), Some(ColumnType::Integer));
        assert_eq!(ColumnType::parse("number(10, 2)"), None);
        assert_eq!(ColumnType::parse("VARCHAR(16777216)"), Some(ColumnType::Text));
    }
}
