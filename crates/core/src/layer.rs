//! [`Layer`]: everything one layer crate contributes to a project, as one value. The
//! orchestrator iterates a list of these and a layer binary runs one, so neither names a
//! layer in code, and a new layer is a new value rather than edits in several places.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::config::{ProjectConfig, SourceLocation};
use crate::error::Result;
use crate::model::{Model, ProjectFile};
use crate::source::{RawSink, Source};

pub struct Layer {
    /// The layer's name: its crate, its binary and the first folder of its models.
    pub name: &'static str,
    /// One line on what the layer holds, for its binary's `--help`.
    pub about: &'static str,
    pub models: fn() -> Result<Vec<Arc<dyn Model>>>,
    /// Declarative files beside the models: properties, doc blocks, data tests.
    pub files: &'static [ProjectFile],
    /// A source the layer declares and loads (the raw layer).
    pub source: Option<SourceLoader>,
    /// Reports the layer can render (`pitwall <layer> <report>`).
    pub reports: &'static [Report],
}

impl Layer {
    pub fn report(&self, name: &str) -> Option<&'static Report> {
        self.reports.iter().find(|r| r.name == name)
    }
}

/// Loads a source's tables from its location into a [`RawSink`] the caller gives. The
/// loader decides nothing about where tables are stored or when they become visible: the
/// caller commits them once the load has succeeded, or discards them.
pub struct SourceLoader {
    pub declare: fn() -> Result<Source>,
    pub load: LoadFn,
}

/// Loads every table of `source` from its location into the sink, as the tables stream;
/// artifacts go under the project's target path. An error means the load failed, and
/// nothing it stored may be used.
pub type LoadFn =
    for<'a> fn(&'a Source, &'a SourceLocation, &'a ProjectConfig, &'a dyn RawSink) -> BoxFuture<'a, Result<()>>;

pub struct Report {
    pub name: &'static str,
    pub about: &'static str,
    /// Also printed after any run in which this model was built.
    pub after_model: Option<&'static str>,
    pub render: for<'a> fn(&'a ProjectConfig) -> BoxFuture<'a, Result<String>>,
}
