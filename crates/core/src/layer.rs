//! [`Layer`]: everything one layer crate compiles into pitwall, as one value: its Rust
//! models, a source loader, reports. Its SQL, properties, docs and tests are files of the
//! project, read at run time, not part of this value. The orchestrator iterates a list of
//! these and a layer binary runs one, so neither names a layer in code.

use futures::future::BoxFuture;

use crate::config::{ProjectConfig, SourceLocation};
use crate::error::Result;
use crate::model::CompiledModel;
use crate::source::{RawSink, Source};

pub struct Layer {
    /// The layer's name: its crate, its binary and the project folder its models are in.
    pub name: &'static str,
    /// One line on what the layer holds, for its binary's `--help`.
    pub about: &'static str,
    /// The Rust models it compiles in, which a project binds by name.
    pub compiled_models: &'static [CompiledModel],
    /// Loads declared sources into the warehouse (the raw layer's loader).
    pub loader: Option<SourceLoader>,
    /// Reports the layer can render (`pitwall <layer> <report>`).
    pub reports: &'static [Report],
}

impl Layer {
    pub fn report(&self, name: &str) -> Option<&'static Report> {
        self.reports.iter().find(|r| r.name == name)
    }
}

/// Loads a declared source's tables from its location into a [`RawSink`] the caller
/// gives. The loader decides nothing about where tables are stored or when they become
/// visible: the caller commits them once the load has succeeded, or discards them.
pub struct SourceLoader {
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
    /// For a report that takes command-line options (`pitwall ml compare --folds 5`):
    /// the options and the renderer given their values; `render` uses every default.
    pub options: Option<ReportOptions>,
}

pub struct ReportOptions {
    pub options: &'static [ReportOption],
    pub render: for<'a> fn(&'a ProjectConfig, &'a ReportArgs) -> BoxFuture<'a, Result<String>>,
}

/// A `--name VALUE` option of a report.
pub struct ReportOption {
    pub name: &'static str,
    pub help: &'static str,
    pub default: &'static str,
}

/// Each option's value as given on the command line (or its default), by option name; a
/// report parses and checks its own values.
pub type ReportArgs = std::collections::BTreeMap<String, String>;
