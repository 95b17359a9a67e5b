//! dbt's Jinja on minijinja (the engine dbt Core v2 renders with): `ref`, `source`,
//! `config(...)`, `var`, `env_var`, `this`, `target`, `execute`, macros from the macro
//! paths callable from any model or test, and `{% test %}` blocks (generic tests, which
//! dbt makes macros named `test_<name>`).
//!
//! A project is rendered once. A relation (`ref()`, `source()`, `this`) renders as a
//! marker rather than a name, and the output is split at the markers into a
//! [`CompiledSql`], so every later use spells the relations its own way (quoted local
//! names to run, Snowflake's to deliver a view) without rendering again. In templates a
//! relation is dbt's Relation: `{{ ref('x') }}`, `ref('x').identifier`, `.schema`.
//!
//! What a render calls is recorded: the refs and sources a model reads are the ones it
//! calls, as in dbt, and `config()`'s settings are its own config.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Object, ObjectRepr, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior, context};
use pitwall_core::{CompiledSql, Piece, SourceRef};

use crate::diagnostics::{Diagnostic, Diagnostics, did_you_mean, line_column};
use crate::files::ProjectFile;

/// Private-use characters that cannot occur in a project's SQL: they frame a relation in
/// rendered text.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';
const SEP: char = '\u{E002}';

/// What renders know of the project before any model is rendered.
#[derive(Clone, Debug, Default)]
pub struct Known {
    pub project: String,
    pub target: String,
    pub target_schema: String,
    /// Every model name (SQL files and bound Rust models).
    pub models: BTreeSet<String>,
    /// Source name -> (schema, its tables).
    pub sources: BTreeMap<String, (String, BTreeSet<String>)>,
    pub vars: BTreeMap<String, serde_json::Value>,
    /// `{% docs %}` blocks, for `doc()` in descriptions.
    pub docs: BTreeMap<String, String>,
}

/// What one render called.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    pub refs: Vec<String>,
    pub sources: Vec<SourceRef>,
    /// `config(...)`'s keyword arguments, later calls winning.
    pub config: serde_json::Map<String, serde_json::Value>,
}

/// A render's record of what it called (the `__pitwall` value of its context).
#[derive(Debug, Default)]
struct Recorder(Mutex<Captured>);

impl Object for Recorder {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
}

impl Recorder {
    fn with<T>(&self, f: impl FnOnce(&mut Captured) -> T) -> T {
        f(&mut self.0.lock().expect("not poisoned"))
    }
}

/// dbt's Relation: renders as a marker the loader turns into a [`Piece`].
#[derive(Debug)]
struct Relation {
    piece: Piece,
    schema: String,
}

impl Object for Relation {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = match &self.piece {
            Piece::Model(name) => name.as_str(),
            Piece::Source(s) => s.table.as_str(),
            Piece::Text(_) => return None,
        };
        match key.as_str()? {
            "name" | "identifier" | "table" => Some(Value::from(name)),
            "schema" => Some(Value::from(self.schema.as_str())),
            "database" => Some(Value::from(())),
            _ => None,
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.piece {
            Piece::Model(name) => write!(f, "{OPEN}m{SEP}{name}{CLOSE}"),
            Piece::Source(s) => write!(f, "{OPEN}s{SEP}{}{SEP}{}{CLOSE}", s.source, s.table),
            Piece::Text(text) => f.write_str(text),
        }
    }
}

/// The rendering environment of one project.
pub struct Jinja {
    env: Environment<'static>,
    known: Arc<Known>,
    /// Generic tests by name: the template that defines each.
    generic_tests: BTreeMap<String, String>,
}

/// Why a generic test does not apply; the caller adds the properties file and line.
#[derive(Debug, thiserror::Error)]
pub enum RenderTestError {
    /// The properties file names a test no `{% test %}` block defines.
    #[error(
        "unknown test '{name}'{} (known: {})",
        did_you_mean(.name, .known.iter().map(String::as_str)),
        .known.join(", ")
    )]
    UnknownTest { name: String, known: Vec<String> },
    /// The properties file passes an argument the test does not take.
    #[error("test '{test}' has no argument '{argument}' (it takes: {})", .takes.join(", "))]
    UnknownArgument { test: String, argument: String, takes: Vec<String> },
    /// The test's template failed as it ran: its own file's mistake, or an argument it
    /// cannot use. Worded as `describe` words any render's error.
    #[error("{}", describe(.0))]
    Render(Error),
    /// The test's template is gone: a bug, as a test is recorded only once its template
    /// is added.
    #[error("{0}")]
    Template(Error),
    /// The test's template, rendered, defines no `test_<name>` macro (its `{% test %}`
    /// block is skipped, say by an `{% if %}` around it).
    #[error("no macro test_{test} in {template}")]
    NoMacro { test: String, template: String },
    #[error(transparent)]
    RelationText(#[from] RelationTextError),
}

/// Rendered text whose relation markers cannot be split out again: a model's or test's
/// template changed one (a filter or slice over `ref()`'s text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RelationTextError {
    #[error("a relation's text was cut (by a filter or slice?)")]
    Cut,
    #[error("a relation's text was changed (by a filter?)")]
    Changed,
}

/// A rendered model or test.
#[derive(Debug)]
pub struct Rendered {
    pub sql: CompiledSql,
    pub captured: Captured,
}

impl Jinja {
    /// An environment knowing `known`, with every macro of `macro_files` callable and every
    /// `{% test %}` block of them and of `test_files` a generic test. Problems (a file that
    /// does not compile, a name defined twice) go to `diagnostics`.
    pub fn new(
        known: Known,
        macro_files: &[ProjectFile],
        test_files: &[ProjectFile],
        builtins: &ProjectFile,
        diagnostics: &mut Diagnostics,
    ) -> Jinja {
        let known = Arc::new(known);
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        add_globals(&mut env, &known);
        let mut jinja = Jinja { env, known, generic_tests: BTreeMap::new() };
        let mut defined: BTreeMap<String, String> = BTreeMap::new();
        for file in std::iter::once(builtins).chain(test_files).chain(macro_files) {
            jinja.add_macros(file, &mut defined, diagnostics);
        }
        jinja
    }

    pub fn known(&self) -> &Known {
        &self.known
    }

    /// Adds the macros (and `{% test %}` blocks) of one file as global functions.
    fn add_macros(&mut self, file: &ProjectFile, defined: &mut BTreeMap<String, String>, diags: &mut Diagnostics) {
        let (text, tests) = tests_as_macros(&file.text);
        if let Err(e) = self.env.add_template_owned(file.path.clone(), text) {
            return diags.push(diagnostic(&e, &file.path, &file.text));
        }
        let names = match self.env.get_template(&file.path).and_then(|t| {
            let captured = t.render_captured(render_context(&Value::from_object(Recorder::default()), None))?;
            Ok(captured.state().exports().into_iter().map(|s| s.to_owned()).collect::<Vec<String>>())
        }) {
            Ok(names) => names,
            Err(e) => return diags.push(diagnostic(&e, &file.path, &file.text)),
        };
        for name in names {
            if let Some(other) = defined.insert(name.clone(), file.path.clone()) {
                let line = find_call(&file.text, &name).map(|(l, _)| l).unwrap_or(1);
                diags.push(Diagnostic::at(
                    &file.path,
                    line,
                    None,
                    format!("macro '{name}' is also defined in {other}"),
                ));
                continue;
            }
            let (template, macro_name) = (file.path.clone(), name.clone());
            self.env.add_function(name.clone(), move |state: &State, args: Rest<Value>, kwargs: Kwargs| {
                call_macro(state, &template, &macro_name, args.0, kwargs)
            });
        }
        for test in tests {
            self.generic_tests.insert(test, file.path.clone());
        }
    }

    /// The generic tests the project can apply, by name.
    pub fn generic_tests(&self) -> impl Iterator<Item = &str> {
        self.generic_tests.keys().map(String::as_str)
    }

    /// Renders a model or singular test file; `this` is the model's own relation.
    pub fn render(&self, path: &str, text: &str, this: Option<&str>) -> Result<Rendered, Diagnostic> {
        let recorder = Value::from_object(Recorder::default());
        let this = this.map(|name| self.relation(Piece::Model(name.to_owned())));
        let output = self
            .env
            .render_named_str(path, text, render_context(&recorder, this))
            .map_err(|e| diagnostic(&e, path, text))?;
        finish(&recorder, &output).map_err(|e| Diagnostic::new(path, e.to_string()))
    }

    /// Applies generic test `name` (its macro `test_<name>`) to `model` with `args`.
    pub fn render_test(
        &self,
        name: &str,
        model: &Piece,
        args: BTreeMap<String, Value>,
    ) -> Result<Rendered, RenderTestError> {
        let template = self.generic_tests.get(name).ok_or_else(|| RenderTestError::UnknownTest {
            name: name.to_owned(),
            known: self.generic_tests().map(str::to_owned).collect(),
        })?;
        let recorder = Value::from_object(Recorder::default());
        let tmpl = self.env.get_template(template).map_err(RenderTestError::Template)?;
        let captured = tmpl.render_captured(render_context(&recorder, None)).map_err(RenderTestError::Render)?;
        let state = captured.state();
        let test = state
            .lookup(&format!("test_{name}"))
            .ok_or_else(|| RenderTestError::NoMacro { test: name.to_owned(), template: template.clone() })?;
        check_arguments(name, &test, &args)?;
        let mut kwargs: Vec<(String, Value)> = args.into_iter().collect();
        kwargs.push(("model".into(), self.relation(model.clone())));
        let output = test.call(state, &[Value::from(Kwargs::from_iter(kwargs))]).map_err(RenderTestError::Render)?;
        Ok(finish(&recorder, &output.to_string())?)
    }

    /// A relation value, as `ref()` returns.
    pub fn relation(&self, piece: Piece) -> Value {
        let schema = match &piece {
            Piece::Source(s) => self.known.sources.get(&s.source).map(|(schema, _)| schema.clone()).unwrap_or_default(),
            _ => self.known.target_schema.clone(),
        };
        Value::from_object(Relation { piece, schema })
    }

    /// Renders a description, where `doc('name')` is a `{% docs %}` block.
    pub fn render_description(&self, path: &str, text: &str) -> Result<String, Diagnostic> {
        if !text.contains("{{") && !text.contains("{%") {
            return Ok(text.to_owned());
        }
        let recorder = Value::from_object(Recorder::default());
        self.env.render_named_str(path, text, render_context(&recorder, None)).map_err(|e| diagnostic(&e, path, text))
    }
}

/// Every test argument is one the test takes (besides `model`, which pitwall passes).
fn check_arguments(name: &str, test: &Value, args: &BTreeMap<String, Value>) -> Result<(), RenderTestError> {
    let takes: Vec<String> = test
        .get_attr("arguments")
        .ok()
        .and_then(|a| a.try_iter().ok())
        .map(|items| items.map(|v| v.to_string()).collect())
        .unwrap_or_default();
    if let Some(unknown) = args.keys().find(|k| !takes.contains(k)) {
        return Err(RenderTestError::UnknownArgument { test: name.to_owned(), argument: unknown.clone(), takes });
    }
    Ok(())
}

fn render_context(recorder: &Value, this: Option<Value>) -> Value {
    context! { __pitwall => recorder.clone(), this => this }
}

/// Calls macro `name` of `template` from another template's `state`, with that state's
/// record, so what the macro calls counts for its caller.
fn call_macro(state: &State, template: &str, name: &str, args: Vec<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let tmpl = state.env().get_template(template)?;
    let recorder = state.lookup("__pitwall").unwrap_or_else(|| Value::from_object(Recorder::default()));
    let this = state.lookup("this").filter(|v| !v.is_undefined() && !v.is_none());
    let captured = tmpl.render_captured(render_context(&recorder, this))?;
    let macro_state = captured.state();
    let value = macro_state
        .lookup(name)
        .ok_or_else(|| Error::new(ErrorKind::UnknownFunction, format!("macro '{name}' is not in {template}")))?;
    let mut args = args;
    if kwargs.args().next().is_some() {
        args.push(Value::from(kwargs));
    }
    value.call(macro_state, &args)
}

fn recorder(state: &State) -> Result<Arc<Recorder>, Error> {
    state
        .lookup("__pitwall")
        .and_then(|v| v.downcast_object::<Recorder>())
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "ref() and source() are only for models and tests"))
}

fn add_globals(env: &mut Environment<'static>, known: &Arc<Known>) {
    env.add_function("env_var", pitwall_core::config::env_var);
    env.add_global("execute", true);
    env.add_global("project_name", known.project.clone());
    env.add_global(
        "target",
        context! { name => known.target.clone(), target_name => known.target.clone(),
        schema => known.target_schema.clone(), type => "pitwall", profile_name => known.project.clone() },
    );
    env.add_function("is_incremental", || false);
    let k = Arc::clone(known);
    env.add_function("ref", move |state: &State, args: Rest<String>| ref_function(state, &k, &args));
    let k = Arc::clone(known);
    env.add_function("source", move |state: &State, source: String, table: String| {
        source_function(state, &k, source, table)
    });
    env.add_function("config", |state: &State, kwargs: Kwargs| config_function(state, kwargs));
    let k = Arc::clone(known);
    env.add_function("var", move |name: String, default: Option<Value>| var_function(&k, &name, default));
    let k = Arc::clone(known);
    env.add_function("doc", move |name: String| {
        k.docs.get(&name).cloned().ok_or_else(|| {
            let near = did_you_mean(&name, k.docs.keys().map(String::as_str));
            Error::new(ErrorKind::InvalidOperation, format!("no docs block named '{name}'{near}"))
        })
    });
}

fn ref_function(state: &State, known: &Known, args: &[String]) -> Result<Value, Error> {
    let name = match args {
        [name] => name,
        [package, name] if *package == known.project => name,
        [package, _] => {
            return Err(Error::new(ErrorKind::InvalidOperation, format!("unknown package '{package}' in ref()")));
        }
        _ => return Err(Error::new(ErrorKind::InvalidOperation, "ref() takes a model's name")),
    };
    if !known.models.contains(name) {
        let near = did_you_mean(name, known.models.iter().map(String::as_str));
        return Err(Error::new(ErrorKind::InvalidOperation, format!("unknown ref '{name}'{near}")));
    }
    recorder(state)?.with(|c| {
        if !c.refs.contains(name) {
            c.refs.push(name.clone());
        }
    });
    Ok(Value::from_object(Relation { piece: Piece::Model(name.clone()), schema: known.target_schema.clone() }))
}

fn source_function(state: &State, known: &Known, source: String, table: String) -> Result<Value, Error> {
    let Some((schema, tables)) = known.sources.get(&source) else {
        let near = did_you_mean(&source, known.sources.keys().map(String::as_str));
        return Err(Error::new(ErrorKind::InvalidOperation, format!("unknown source '{source}'{near}")));
    };
    if !tables.contains(&table) {
        let near = did_you_mean(&table, tables.iter().map(String::as_str));
        return Err(Error::new(ErrorKind::InvalidOperation, format!("source '{source}' has no table '{table}'{near}")));
    }
    let reference = SourceRef::new(source, table);
    recorder(state)?.with(|c| {
        if !c.sources.contains(&reference) {
            c.sources.push(reference.clone());
        }
    });
    Ok(Value::from_object(Relation { piece: Piece::Source(reference), schema: schema.clone() }))
}

fn config_function(state: &State, kwargs: Kwargs) -> Result<String, Error> {
    let recorder = recorder(state)?;
    for key in kwargs.args() {
        let value: Value = kwargs.get(key)?;
        let json = serde_json::to_value(&value)
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("config({key}=...): {e}")))?;
        recorder.with(|c| c.config.insert(key.to_owned(), json));
    }
    kwargs.assert_all_used()?;
    Ok(String::new())
}

fn var_function(known: &Known, name: &str, default: Option<Value>) -> Result<Value, Error> {
    match (known.vars.get(name), default) {
        (Some(value), _) => Ok(Value::from_serialize(value)),
        (None, Some(default)) => Ok(default),
        (None, None) => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("unknown var '{name}': set it in [vars] of pitwall.toml or with --vars, or give a default"),
        )),
    }
}

/// The render's output split at relation markers, with what it recorded.
fn finish(recorder: &Value, output: &str) -> Result<Rendered, RelationTextError> {
    let captured = recorder.downcast_object_ref::<Recorder>().map(|r| r.with(|c| c.clone())).unwrap_or_default();
    Ok(Rendered { sql: split(output)?, captured })
}

/// Splits rendered text at relation markers.
fn split(output: &str) -> Result<CompiledSql, RelationTextError> {
    let mut pieces = Vec::new();
    let mut rest = output;
    while let Some(open) = rest.find(OPEN) {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + OPEN.len_utf8()..];
        let close = after.find(CLOSE).ok_or(RelationTextError::Cut)?;
        let fields: Vec<&str> = after[..close].split(SEP).collect();
        pieces.push(match fields.as_slice() {
            ["m", name] => Piece::Model((*name).to_owned()),
            ["s", source, table] => Piece::Source(SourceRef::new(*source, *table)),
            _ => return Err(RelationTextError::Changed),
        });
        rest = &after[close + CLOSE.len_utf8()..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    Ok(CompiledSql::new(pieces))
}

/// `{% test name(args) %}` / `{% endtest %}` as the macros dbt makes of them
/// (`test_<name>`), and the names of the tests; lines are kept as they were.
pub fn tests_as_macros(text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{%") {
        out.push_str(&rest[..open + 2]);
        rest = &rest[open + 2..];
        let trim = if rest.starts_with('-') { 1 } else { 0 };
        let (ws, tag) = rest[trim..].split_at(rest[trim..].len() - rest[trim..].trim_start().len());
        if let Some(after) = tag.strip_prefix("test").filter(|a| a.starts_with(char::is_whitespace)) {
            let name: String = after.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            names.push(name);
            out.push_str(&rest[..trim]);
            out.push_str(ws);
            out.push_str("macro");
            out.push_str(&after[..after.len() - after.trim_start().len()]);
            out.push_str("test_");
            rest = after.trim_start();
        } else if let Some(after) =
            tag.strip_prefix("endtest").filter(|a| !a.starts_with(|c: char| c.is_alphanumeric()))
        {
            out.push_str(&rest[..trim]);
            out.push_str(ws);
            out.push_str("endmacro");
            rest = after;
        }
    }
    out.push_str(rest);
    (out, names)
}

/// The line and column of the first call of `name(` in `text`, if any.
pub fn find_call(text: &str, name: &str) -> Option<(usize, usize)> {
    text.match_indices(name)
        .find(|(i, _)| text[i + name.len()..].trim_start().starts_with('('))
        .map(|(i, _)| line_column(text, i))
}

/// A minijinja error as a problem at its file, line and column.
fn diagnostic(e: &Error, path: &str, text: &str) -> Diagnostic {
    let name = e.name().unwrap_or(path);
    let column = e.range().filter(|_| name == path).map(|r| line_column(text, r.start).1);
    let message = if name == path { describe(e) } else { format!("{} (used by {path})", describe(e)) };
    match e.line() {
        Some(line) => Diagnostic::at(name, line, column, message),
        None => Diagnostic::new(name, message),
    }
}

/// An error's message without minijinja's own location suffix.
fn describe(e: &Error) -> String {
    let detail = e.detail().map(str::to_owned);
    let mut text = match (e.kind(), detail) {
        (ErrorKind::UndefinedError, _) => {
            "undefined name (a misspelt variable, or a macro that is not in the macro paths?)".to_owned()
        }
        (ErrorKind::UnknownFunction, Some(d)) => format!("{d} (not a pitwall function nor a macro of the macro paths)"),
        (ErrorKind::SyntaxError, Some(d)) => format!("Jinja syntax error: {d}"),
        (_, Some(d)) => d,
        (kind, None) => kind.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if let Some(d) = cause.downcast_ref::<Error>().and_then(Error::detail) {
            text = format!("{text}: {d}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> ProjectFile {
        ProjectFile { path: path.into(), folder: Vec::new(), text: text.into() }
    }

    fn known() -> Known {
        Known {
            project: "p".into(),
            target: "dev".into(),
            target_schema: "analytics".into(),
            models: ["a".to_owned(), "fct_results".to_owned()].into(),
            sources: [("f".to_owned(), ("raw".to_owned(), ["t".to_owned()].into()))].into(),
            vars: [("season".to_owned(), serde_json::json!(2021))].into(),
            docs: BTreeMap::new(),
        }
    }

    fn jinja(macros: &[ProjectFile]) -> Jinja {
        let builtins = file("builtins.sql", "");
        let mut diagnostics = Diagnostics::default();
        let jinja = Jinja::new(known(), macros, &[], &builtins, &mut diagnostics);
        assert!(diagnostics.is_empty(), "{diagnostics}");
        jinja
    }

    #[test]
    fn refs_sources_config_and_vars_are_recorded_and_relations_kept_apart() {
        let sql = "{{ config(materialized='table', tags=['x']) }}select * from {{ ref('a') }} \
                   join {{ source('f', 't') }} where y = {{ var('season') }} and z = {{ var('other', 3) }}";
        let rendered = jinja(&[]).render("m.sql", sql, Some("m")).unwrap();
        assert_eq!(rendered.captured.refs, ["a"]);
        assert_eq!(rendered.captured.sources, [SourceRef::new("f", "t")]);
        assert_eq!(rendered.captured.config["materialized"], "table");
        assert_eq!(
            rendered.sql.pieces(),
            [
                Piece::Text("select * from ".into()),
                Piece::Model("a".into()),
                Piece::Text(" join ".into()),
                Piece::Source(SourceRef::new("f", "t")),
                Piece::Text(" where y = 2021 and z = 3".into()),
            ]
        );
    }

    #[test]
    fn macros_are_global_and_what_they_call_counts_for_the_caller() {
        let macros = file("macros/m.sql", "{% macro from_a(col) %}select {{ col }} from {{ ref('a') }}{% endmacro %}");
        let rendered =
            jinja(&[macros]).render("m.sql", "{{ from_a('id') }} -- {{ this.identifier }}", Some("m")).unwrap();
        assert_eq!(rendered.captured.refs, ["a"]);
        assert_eq!(rendered.sql.pieces()[1], Piece::Model("a".into()));
        assert_eq!(rendered.sql.pieces()[2], Piece::Text(" -- m".into()));
    }

    #[test]
    fn an_unknown_ref_names_line_column_and_the_near_name() {
        let e = jinja(&[]).render("x.sql", "select 1\nfrom {{ ref('fct_result') }}", None).unwrap_err();
        assert!(e.location.starts_with("x.sql:2"), "{e}");
        assert!(e.message.contains("unknown ref 'fct_result' (did you mean 'fct_results'?)"), "{e}");
        let e = jinja(&[]).render("x.sql", "{{ var('nope') }}", None).unwrap_err();
        assert!(e.message.contains("unknown var 'nope'"), "{e}");
        let e = jinja(&[]).render("x.sql", "{{ source('f', 'u') }}", None).unwrap_err();
        assert!(e.message.contains("source 'f' has no table 'u'"), "{e}");
    }

    #[test]
    fn test_blocks_become_test_macros_on_the_same_lines() {
        let (text, names) = tests_as_macros("a\n{% test gte(model, column_name) %}\nx\n{%- endtest %}");
        assert_eq!(text, "a\n{% macro test_gte(model, column_name) %}\nx\n{%- endmacro %}");
        assert_eq!(names, ["gte"]);
    }

    #[test]
    fn a_generic_test_renders_with_its_model_and_arguments() {
        let tests = file(
            "tests/generic/g.sql",
            "{% test gte(model, column_name, floor=0) %}select * from {{ model }} where {{ column_name }} < {{ floor }}{% endtest %}",
        );
        let mut diagnostics = Diagnostics::default();
        let jinja = Jinja::new(known(), &[], &[tests], &file("b.sql", ""), &mut diagnostics);
        let args = [("column_name".to_owned(), Value::from("x"))].into();
        let rendered = jinja.render_test("gte", &Piece::Model("a".into()), args).unwrap();
        assert_eq!(rendered.sql.pieces()[1], Piece::Model("a".into()));
        assert_eq!(rendered.sql.pieces()[2], Piece::Text(" where x < 0".into()));
        let bad = [("colour".to_owned(), Value::from("x"))].into();
        let e = jinja.render_test("gte", &Piece::Model("a".into()), bad).unwrap_err().to_string();
        assert!(e.contains("has no argument 'colour'"), "{e}");
    }
}
