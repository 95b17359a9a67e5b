//! Collecting data tests: generic tests applied in properties files (dbt's built-in
//! `unique`, `not_null`, `accepted_values`, `relationships`, and the project's own
//! `{% test %}` blocks, all rendered the same way through Jinja), and singular tests (a
//! SQL file under a test path). A test that names an unknown generic test, an unknown
//! argument or config key is a problem naming file and line; tests are named as dbt
//! names them.

use std::collections::BTreeMap;

use minijinja::value::Value as JinjaValue;
use pitwall_core::testing::{Severity, Target, TestConfig, TestSpec};
use pitwall_core::{CompiledSql, Piece, SourceRef};
use serde_norway::Value;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::files::ProjectFile;
use crate::jinja::Jinja;
use crate::properties::{ColumnProperties, PropertiesFile};

/// Why a test's arguments are refused: the properties file's mistake (the caller adds the
/// file, line and test).
#[derive(Debug, thiserror::Error)]
enum ArgumentError {
    #[error("expected a single value, found {0:?}")]
    NotAScalar(Value),
    #[error("accepted_values: 'values' must be a list")]
    ValuesNotAList,
    /// A YAML value JSON cannot hold, so Jinja cannot be given it.
    #[error(transparent)]
    NotJson(#[from] serde_json::Error),
}

/// Why a test's config is refused: the properties file's `config:` or the singular test's
/// `config()` is wrong (the caller adds the file and line).
#[derive(Debug, thiserror::Error)]
pub enum TestConfigError {
    #[error("config must be a mapping")]
    NotAMapping,
    #[error("config keys must be strings")]
    KeyNotAString,
    #[error("severity must be error or warn, not '{0}'")]
    Severity(String),
    #[error("tags must be strings")]
    TagNotAString,
    #[error("config '{0}' has the wrong type")]
    WrongType(String),
    #[error("unknown config key '{0}' (pitwall knows severity, tags, enabled, store_failures)")]
    UnknownKey(String),
    /// A YAML value JSON cannot hold.
    #[error(transparent)]
    NotJson(#[from] serde_json::Error),
}

/// Collects tests against one project's Jinja (its generic tests).
pub struct TestCollector<'j> {
    jinja: &'j Jinja,
}

/// Where in a properties file a test is applied.
struct Site<'a> {
    file: &'a ProjectFile,
    target: Target,
    column: Option<&'a str>,
    /// Names to find in order in the file, ending at the test's block.
    anchors: Vec<String>,
}

impl<'j> TestCollector<'j> {
    pub fn new(jinja: &'j Jinja) -> Self {
        TestCollector { jinja }
    }

    /// The tests of one properties file (sources' and models', column and table level).
    pub fn properties(
        &self,
        file: &ProjectFile,
        props: &PropertiesFile,
        diagnostics: &mut Diagnostics,
    ) -> Vec<TestSpec> {
        let mut out = Vec::new();
        for source in &props.sources {
            for table in &source.tables {
                let target = Target::Source(SourceRef::new(&source.name, &table.name));
                let anchors = vec![source.name.clone(), table.name.clone()];
                self.apply_all(&mut out, file, &target, &anchors, (&table.tests, &table.columns), diagnostics);
            }
        }
        for model in &props.models {
            let target = Target::Model(model.name.clone());
            let anchors = vec![model.name.clone()];
            self.apply_all(&mut out, file, &target, &anchors, (&model.tests, &model.columns), diagnostics);
        }
        out
    }

    fn apply_all(
        &self,
        out: &mut Vec<TestSpec>,
        file: &ProjectFile,
        target: &Target,
        anchors: &[String],
        (tests, columns): (&[Value], &[ColumnProperties]),
        diagnostics: &mut Diagnostics,
    ) {
        let mut sites: Vec<(Site<'_>, &Value)> = tests
            .iter()
            .map(|t| (Site { file, target: target.clone(), column: None, anchors: anchors.to_vec() }, t))
            .collect();
        for column in columns {
            let mut anchors = anchors.to_vec();
            anchors.push(column.name.clone());
            let site = || Site { file, target: target.clone(), column: Some(&column.name), anchors: anchors.clone() };
            sites.extend(column.tests.iter().map(|t| (site(), t)));
        }
        for (site, entry) in sites {
            match self.apply(&site, entry) {
                Ok(test) => out.extend(test),
                Err(d) => diagnostics.push(d),
            }
        }
    }

    /// One entry of a `tests:` list: parsed, its config split off, rendered by the
    /// generic test it names, then named as dbt names it.
    fn apply(&self, site: &Site<'_>, entry: &Value) -> Result<Option<TestSpec>, Diagnostic> {
        let (test_name, args) = site.parse_entry(entry)?;
        let err = |m: &str| site.error(Some(&test_name), m);
        let mut config = TestConfig::default();
        let mut kwargs: BTreeMap<String, JinjaValue> = BTreeMap::new();
        let mut shown = BTreeMap::new();
        for (key, value) in &args {
            let key = key.as_str().ok_or_else(|| err("argument names must be strings"))?;
            if key == "config" {
                config = parse_config(value).map_err(|e| err(&e.to_string()))?;
                continue;
            }
            shown.insert(key.to_owned(), shown_text(value));
            kwargs.insert(key.to_owned(), self.argument(value).map_err(|e| err(&e.to_string()))?);
        }
        if !config.enabled {
            return Ok(None);
        }
        if let Some(column) = site.column {
            kwargs.insert("column_name".into(), JinjaValue::from(column));
            shown.insert("column_name".into(), column.to_owned());
        }
        shown.insert("model".into(), site.target.jinja());
        let piece = piece(&site.target);
        let rendered = self.jinja.render_test(&test_name, &piece, kwargs).map_err(|e| err(&e.to_string()))?;
        let name = test_node_name(site, &test_name, &args).map_err(|e| err(&e.to_string()))?;
        let mut fqn = site.file.folder.clone();
        fqn.push(name.clone());
        Ok(Some(TestSpec {
            raw_code: format!("{{{{ test_{test_name}(**_dbt_generic_test_kwargs) }}}}"),
            name,
            depends_on: reads(&rendered.sql),
            test_name: Some(test_name.clone()),
            kwargs: shown,
            attached: Some(site.target.clone()),
            column: site.column.map(str::to_owned),
            config,
            fqn,
            original_file_path: site.file.path.clone(),
            line: site.line(Some(&test_name)),
            sql: rendered.sql,
        }))
    }

    /// A test argument as Jinja sees it: `ref('x')` / `source('s', 't')` text is the
    /// relation (as dbt renders `to: ref('x')`), anything else its YAML value.
    fn argument(&self, value: &Value) -> Result<JinjaValue, ArgumentError> {
        if let Value::String(text) = value
            && let Some(target) = parse_target(text)
        {
            return Ok(self.jinja.relation(piece(&target)));
        }
        let json = serde_json::to_value(value)?;
        Ok(JinjaValue::from_serialize(&json))
    }
}

fn piece(target: &Target) -> Piece {
    match target {
        Target::Model(m) => Piece::Model(m.clone()),
        Target::Source(s) => Piece::Source(s.clone()),
    }
}

/// The relations compiled SQL reads, in order, each once.
pub fn reads(sql: &CompiledSql) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for piece in sql.pieces() {
        let target = match piece {
            Piece::Model(m) => Target::Model(m.clone()),
            Piece::Source(s) => Target::Source(s.clone()),
            Piece::Text(_) => continue,
        };
        if !out.contains(&target) {
            out.push(target);
        }
    }
    out
}

/// The name dbt gives a generic test: `[source_]<test>_<model or source_table>[_<column>]`
/// plus what its arguments add (`__1__2` for accepted values, `__field__to` for
/// relationships).
fn test_node_name(site: &Site<'_>, test: &str, args: &serde_norway::Mapping) -> Result<String, ArgumentError> {
    let suffix = match test {
        "accepted_values" => match args.get("values") {
            Some(Value::Sequence(values)) => {
                values.iter().map(|v| scalar_text(v).map(|t| format!("__{t}"))).collect::<Result<String, _>>()?
            }
            _ => return Err(ArgumentError::ValuesNotAList),
        },
        "relationships" => {
            let text = |key: &str| args.get(key).map(scalar_text).transpose();
            let (field, to) = (text("field")?.unwrap_or_default(), text("to")?.unwrap_or_default());
            format!("__{field}__{}", to.replace(['(', ')', '\'', '"', ',', ' '], "_").replace("__", "_"))
        }
        _ => String::new(),
    };
    let (prefix, target) = match &site.target {
        Target::Source(s) => ("source_", format!("{}_{}", s.source, s.table)),
        Target::Model(m) => ("", m.clone()),
    };
    let column = site.column.map(|c| format!("_{c}")).unwrap_or_default();
    Ok(format!("{prefix}{test}_{target}{column}{suffix}"))
}

impl Site<'_> {
    /// A `tests:` entry: `name`, or `{name: {args}}`.
    fn parse_entry(&self, entry: &Value) -> Result<(String, serde_norway::Mapping), Diagnostic> {
        match entry {
            Value::String(name) => Ok((name.clone(), serde_norway::Mapping::new())),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, v) = m.iter().next().expect("one entry");
                let name = k.as_str().ok_or_else(|| self.error(None, "a test's name must be a string"))?.to_owned();
                match v {
                    Value::Mapping(args) => Ok((name, args.clone())),
                    Value::Null => Ok((name, serde_norway::Mapping::new())),
                    _ => Err(self.error(Some(&name), &format!("the arguments of test '{name}' must be a mapping"))),
                }
            }
            _ => Err(self.error(None, "a test is a name or a single-key mapping of a name to its arguments")),
        }
    }

    /// The line of the test: the anchors found in order, then the test's name.
    fn line(&self, test: Option<&str>) -> usize {
        let text = &self.file.text;
        let mut at = 0;
        for anchor in self.anchors.iter().map(String::as_str).chain(test) {
            if let Some(found) = find_word(&text[at..], anchor) {
                at += found;
            }
        }
        text[..at].matches('\n').count() + 1
    }

    fn error(&self, test: Option<&str>, message: &str) -> Diagnostic {
        let what = match (&self.target, self.column) {
            (t, Some(c)) => format!("{}.{c}", t.node_id().name()),
            (t, None) => t.node_id().name(),
        };
        Diagnostic::at(&self.file.path, self.line(test), None, format!("test on {what}: {message}"))
    }
}

pub fn find_word(haystack: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    haystack.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = haystack[..i].chars().next_back().is_none_or(|c| !is_ident(c));
        let after = haystack[i + word.len()..].chars().next().is_none_or(|c| !is_ident(c));
        before && after
    })
}

fn scalar_text(v: &Value) -> Result<String, ArgumentError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(ArgumentError::NotAScalar(other.clone())),
    }
}

/// How the manifest shows an argument.
fn shown_text(v: &Value) -> String {
    match v {
        Value::Sequence(items) => {
            format!("[{}]", items.iter().map(|i| scalar_text(i).unwrap_or_default()).collect::<Vec<_>>().join(", "))
        }
        other => scalar_text(other).unwrap_or_default(),
    }
}

/// `ref('model')` or `source('source', 'table')` as text.
fn parse_target(text: &str) -> Option<Target> {
    let text = text.trim();
    let args = |prefix: &str| -> Option<Vec<String>> {
        let inner = text.strip_prefix(prefix)?.trim_start().strip_prefix('(')?.strip_suffix(')')?;
        inner
            .split(',')
            .map(|a| {
                let a = a.trim();
                a.strip_prefix('\'')
                    .and_then(|a| a.strip_suffix('\''))
                    .or_else(|| a.strip_prefix('"').and_then(|a| a.strip_suffix('"')))
                    .map(str::to_owned)
            })
            .collect()
    };
    match (args("ref").as_deref(), args("source").as_deref()) {
        (Some([model]), _) => Some(Target::Model(model.clone())),
        (_, Some([source, table])) => Some(Target::Source(SourceRef::new(source, table))),
        _ => None,
    }
}

/// A test's `config:` in a properties file.
fn parse_config(v: &Value) -> Result<TestConfig, TestConfigError> {
    let Value::Mapping(m) = v else { return Err(TestConfigError::NotAMapping) };
    let mut config = serde_json::Map::new();
    for (k, v) in m {
        let key = k.as_str().ok_or(TestConfigError::KeyNotAString)?;
        config.insert(key.to_owned(), serde_json::to_value(v)?);
    }
    test_config(&config)
}

/// A test's config from its keys (a properties entry's `config:`, or a singular test's
/// `config()`).
pub fn test_config(keys: &serde_json::Map<String, serde_json::Value>) -> Result<TestConfig, TestConfigError> {
    use serde_json::Value as J;
    let mut config = TestConfig::default();
    for (key, value) in keys {
        match (key.as_str(), value) {
            ("severity", J::String(s)) => {
                config.severity = Severity::parse(s).ok_or_else(|| TestConfigError::Severity(s.clone()))?;
            }
            ("tags", J::String(s)) => config.tags = vec![s.clone()],
            ("tags", J::Array(items)) => {
                config.tags = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned).ok_or(TestConfigError::TagNotAString))
                    .collect::<Result<_, _>>()?;
            }
            ("enabled", J::Bool(b)) => config.enabled = *b,
            ("store_failures", J::Bool(b)) => config.store_failures = Some(*b),
            ("severity" | "tags" | "enabled" | "store_failures", _) => {
                return Err(TestConfigError::WrongType(key.clone()));
            }
            _ => {
                return Err(TestConfigError::UnknownKey(key.clone()));
            }
        }
    }
    Ok(config)
}

/// A singular test: a SQL file (with `{{ ref() }}` and an optional `{{ config() }}`)
/// returning failing rows, named after the file.
pub fn singular_test(jinja: &Jinja, file: &ProjectFile) -> Result<Option<TestSpec>, Diagnostic> {
    let rendered = jinja.render(&file.path, &file.text, None)?;
    let config = test_config(&rendered.captured.config).map_err(|e| {
        let line = crate::jinja::find_call(&file.text, "config").map(|(l, _)| l).unwrap_or(1);
        Diagnostic::at(&file.path, line, None, e.to_string())
    })?;
    if !config.enabled {
        return Ok(None);
    }
    let depends_on = reads(&rendered.sql);
    if depends_on.is_empty() {
        return Err(Diagnostic::new(
            &file.path,
            "a singular test must read a model or source ({{ ref() }} / {{ source() }})",
        ));
    }
    let name = file.stem().to_owned();
    let mut fqn = file.folder.clone();
    fqn.push(name.clone());
    Ok(Some(TestSpec {
        name,
        test_name: None,
        kwargs: BTreeMap::new(),
        attached: rendered.captured.refs.first().map(|m| Target::Model(m.clone())),
        column: None,
        config,
        fqn,
        original_file_path: file.path.clone(),
        line: 1,
        depends_on,
        raw_code: file.text.clone(),
        sql: rendered.sql,
    }))
}

#[cfg(test)]
mod tests {
    use pitwall_core::Relations;

    use super::*;
    use crate::jinja::Known;

    const PROPS: &str = "version: 2
sources:
  - name: f
    tables:
      - name: t
        columns:
          - name: id
            tests: [unique, not_null]
          - name: stop
            tests:
              - accepted_values:
                  values: [1, 2]
                  quote: false
models:
  - name: m
    columns:
      - name: year
        tests:
          - relationships:
              to: ref('years')
              field: race_year
      - name: mean
        tests:
          - gte_zero:
              config:
                severity: warn
                tags: [bi]
";

    fn file(path: &str, text: &str) -> ProjectFile {
        ProjectFile { path: path.into(), folder: vec!["marts".into()], text: text.into() }
    }

    fn jinja() -> Jinja {
        let known = Known {
            project: "p".into(),
            target_schema: "a".into(),
            models: ["m".to_owned(), "years".to_owned()].into(),
            sources: [("f".to_owned(), ("raw".to_owned(), ["t".to_owned()].into()))].into(),
            ..Known::default()
        };
        let generic = file(
            "g.sql",
            "{% test gte_zero(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} < 0\n{% endtest %}",
        );
        let builtins = file("builtins.sql", include_str!("builtin_tests.sql"));
        let mut diagnostics = Diagnostics::default();
        let jinja = Jinja::new(known, &[], &[generic], &builtins, &mut diagnostics);
        assert!(diagnostics.is_empty(), "{diagnostics}");
        jinja
    }

    fn collect(text: &str) -> Result<Vec<TestSpec>, Diagnostics> {
        let jinja = jinja();
        let props = PropertiesFile::parse("p.yml", text).map_err(|d| Diagnostics(vec![d]))?;
        let mut diagnostics = Diagnostics::default();
        let tests = TestCollector::new(&jinja).properties(&file("p.yml", text), &props, &mut diagnostics);
        diagnostics.into_result(tests)
    }

    fn relations() -> Relations {
        Relations { target_schema: "a".into(), source_schemas: [("f".to_owned(), "raw".to_owned())].into() }
    }

    #[test]
    fn generic_tests_get_dbt_names_sql_and_dependencies() {
        let tests = collect(PROPS).unwrap();
        let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "source_unique_f_t_id",
                "source_not_null_f_t_id",
                "source_accepted_values_f_t_stop__1__2",
                "relationships_m_year__race_year__ref_years_",
                "gte_zero_m_mean",
            ]
        );
        let accepted = tests[2].compile(&relations()).unwrap();
        assert!(accepted.contains("from \"raw\".\"t\"") && accepted.contains("not in (1, 2)"), "{accepted}");
        let rel = &tests[3];
        assert_eq!(rel.depends_on, vec![Target::Model("m".into()), Target::Model("years".into())]);
        let gte = &tests[4];
        assert_eq!(gte.config.severity, Severity::Warn);
        assert_eq!(gte.config.tags, vec!["bi"]);
        assert_eq!(gte.compile(&relations()).unwrap().trim(), "select * from \"a\".\"m\" where mean < 0");
        assert_eq!(gte.line, 24);
    }

    #[test]
    fn unknown_tests_arguments_and_config_keys_name_file_and_line() {
        let error = |text: &str| collect(text).unwrap_err().to_string();
        let e = error(&PROPS.replace("gte_zero:", "gte_zeroo:"));
        assert!(e.contains("p.yml:24: ") && e.contains("unknown test 'gte_zeroo' (did you mean 'gte_zero'?)"), "{e}");
        let e = error(&PROPS.replace("field: race_year", "field: race_year\n              too: x"));
        assert!(e.contains("p.yml:19: ") && e.contains("no argument 'too'"), "{e}");
        let e = error(&PROPS.replace("severity: warn", "severity: loud"));
        assert!(e.contains("severity must be error or warn"), "{e}");
    }

    #[test]
    fn singular_tests_read_config_and_refs() {
        let jinja = jinja();
        let text =
            "{{ config(enabled=true, severity='error', tags=['bi']) }}\nselect * from {{ ref('m') }} where x < 0";
        let t = singular_test(&jinja, &file("tests/positive.sql", text)).unwrap().unwrap();
        assert_eq!(t.name, "positive");
        assert_eq!(t.config.tags, vec!["bi"]);
        assert_eq!(t.attached, Some(Target::Model("m".into())));
        let disabled = file("x.sql", "{{ config(enabled=false) }} select 1 from {{ ref('m') }}");
        assert!(singular_test(&jinja, &disabled).unwrap().is_none());
        let colour = file("x.sql", "{{ config(colour='red') }} select 1 from {{ ref('m') }}");
        assert!(singular_test(&jinja, &colour).unwrap_err().message.contains("unknown config key 'colour'"));
    }
}
