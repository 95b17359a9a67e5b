//! Properties files in the shape dbt users know (`version: 2`, `sources:` / `models:` ->
//! `columns:` -> `tests:`), parsed strictly: an unknown key is an error naming the file
//! and line.

use serde::Deserialize;

use pitwall_core::config::ConfigPatch;

use crate::diagnostics::Diagnostic;

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
    /// The model's config at the properties level: beats folder configs, loses to the
    /// model file's own `config()`.
    #[serde(default)]
    pub config: ConfigPatch,
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
    /// Parses a properties file; `path` names it in errors, with line and column.
    pub fn parse(path: &str, text: &str) -> Result<PropertiesFile, Diagnostic> {
        let file: PropertiesFile = serde_norway::from_str(text).map_err(|e| match e.location() {
            Some(l) => {
                // serde_norway ends its message with the position, which the location says.
                let message = e.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
                Diagnostic::at(path, l.line(), Some(l.column()), message)
            }
            None => Diagnostic::new(path, e.to_string()),
        })?;
        if file.version != 2 {
            return Err(Diagnostic::new(path, format!("version must be 2, not {}", file.version)));
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
        assert!(err.contains("descripton") && !err.contains(" at line "), "{err}");
        let config = "version: 2\nmodels:\n  - name: a\n    config:\n      materialised: table\n";
        let err = PropertiesFile::parse("p.yml", config).unwrap_err().to_string();
        assert!(err.starts_with("p.yml:5:") && err.contains("materialised"), "{err}");
    }
}
