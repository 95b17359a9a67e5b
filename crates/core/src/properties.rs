//! Properties files in the shape dbt users know (`version: 2`, `sources:` / `models:` ->
//! `columns:` -> `tests:`), parsed strictly: an unknown key is an error naming the file
//! and line.

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertiesFile {
    pub version: u32,
    #[serde(default)]
    pub sources: Vec<SourceProperties>,
    #[serde(default)]
    pub models: Vec<ModelProperties>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceProperties {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    pub tables: Vec<TableProperties>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableProperties {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The file (without `.csv`) the table is loaded from, when it differs from `name`.
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub columns: Vec<ColumnProperties>,
    #[serde(default, alias = "data_tests")]
    pub tests: Vec<serde_norway::Value>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelProperties {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub columns: Vec<ColumnProperties>,
    #[serde(default, alias = "data_tests")]
    pub tests: Vec<serde_norway::Value>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnProperties {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub data_type: Option<String>,
    #[serde(default, alias = "data_tests")]
    pub tests: Vec<serde_norway::Value>,
}

impl PropertiesFile {
    /// Parses a properties file; `path` names it in errors, which carry the line.
    pub fn parse(path: &str, text: &str) -> Result<PropertiesFile> {
        let file: PropertiesFile = serde_norway::from_str(text).map_err(|e| {
            let at = e.location().map(|l| format!(":{}:{}", l.line(), l.column())).unwrap_or_default();
            Error::config(format!("{path}{at}"), e.to_string())
        })?;
        if file.version != 2 {
            return Err(Error::config(path, format!("version must be 2, not {}", file.version)));
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_file_and_line() {
        let text = "version: 2\nmodels:\n  - name: a\n    descripton: typo\n";
        let err = PropertiesFile::parse("models/x.yml", text).unwrap_err().to_string();
        assert!(err.starts_with("models/x.yml:4:"), "{err}");
        assert!(err.contains("descripton"), "{err}");
    }
}
