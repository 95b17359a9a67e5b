//! Data tests as dbt defines them, once the project has resolved them: a name, what it
//! reads, its config, and its compiled SQL. A test passes when its query returns no
//! rows. Collecting them from properties files and test files is the project loader's.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::dag::NodeId;
use crate::error::Result;
use crate::relations::Relations;
use crate::spec::SourceRef;
use crate::sql::CompiledSql;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    #[default]
    Error,
    Warn,
}

impl Severity {
    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "error" => Some(Severity::Error),
            "warn" => Some(Severity::Warn),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct TestConfig {
    pub severity: Severity,
    pub tags: Vec<String>,
    pub enabled: bool,
    /// `Some` when the test sets it; the command line's `--store-failures` applies otherwise.
    pub store_failures: Option<bool>,
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig { severity: Severity::Error, tags: Vec::new(), enabled: true, store_failures: None }
    }
}

/// What a test is attached to or reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Model(String),
    Source(SourceRef),
}

impl Target {
    pub fn node_id(&self) -> NodeId {
        match self {
            Target::Model(m) => NodeId::Model(m.clone()),
            Target::Source(s) => NodeId::Source(s.clone()),
        }
    }

    /// The Jinja that reads this target, as dbt shows a test's `model` argument.
    pub fn jinja(&self) -> String {
        match self {
            Target::Model(m) => format!("{{{{ ref('{m}') }}}}"),
            Target::Source(s) => format!("{{{{ source('{}', '{}') }}}}", s.source, s.table),
        }
    }
}

#[derive(Clone, Debug)]
pub struct TestSpec {
    pub name: String,
    /// The generic test's name (`unique`, `relationships`, `all_values_gte_zero`), or
    /// none for a singular test.
    pub test_name: Option<String>,
    /// Arguments given to a generic test, for the manifest.
    pub kwargs: BTreeMap<String, String>,
    pub attached: Option<Target>,
    pub column: Option<String>,
    pub config: TestConfig,
    /// Folder path plus the test's name.
    pub fqn: Vec<String>,
    pub original_file_path: String,
    pub line: usize,
    /// The relations it reads, in the order its SQL names them.
    pub depends_on: Vec<Target>,
    /// The code as written: a singular test's file, or dbt's call of a generic test.
    pub raw_code: String,
    /// The SQL returning the failing rows.
    pub sql: CompiledSql,
}

impl TestSpec {
    /// The SQL returning the failing rows, with `relations`.
    pub fn compile(&self, relations: &Relations) -> Result<String> {
        self.sql.render(relations, &self.name)
    }
}
