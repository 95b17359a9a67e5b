//! Data tests as dbt defines them: generic tests applied in properties files (`unique`,
//! `not_null`, `accepted_values`, `relationships`, and reusable ones written once as
//! `{% test name(model, column_name) %}` blocks), and singular tests (a SQL file
//! returning failing rows). A test passes when its query returns no rows.
//!
//! Everything here happens at load time and is pure: a test that names an unknown
//! generic test, an unknown argument or config key is an error naming file and line.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_norway::Value;

use crate::context::Relations;
use crate::dag::NodeId;
use crate::error::{Error, Result};
use crate::model::SourceRef;
use crate::properties::{ColumnProperties, PropertiesFile};
use crate::template::{Block, ConfigValue, Segment, Template, blocks};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    #[default]
    Error,
    Warn,
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

    /// The Jinja that reads this target.
    fn jinja(&self) -> String {
        match self {
            Target::Model(m) => format!("{{{{ ref('{m}') }}}}"),
            Target::Source(s) => format!("{{{{ source('{}', '{}') }}}}", s.source, s.table),
        }
    }

    /// The name used in test names: `model` or `source_table`.
    fn test_name_part(&self) -> String {
        match self {
            Target::Model(m) => m.clone(),
            Target::Source(s) => format!("{}_{}", s.source, s.table),
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
    pub fqn: Vec<String>,
    pub original_file_path: String,
    pub line: usize,
    template: Template,
}

impl TestSpec {
    /// The relations the test reads, from its compiled SQL.
    pub fn depends_on(&self) -> Vec<Target> {
        let mut out: Vec<Target> = self.template.refs().into_iter().map(Target::Model).collect();
        out.extend(self.template.sources().into_iter().map(|(s, t)| Target::Source(SourceRef::new(s, t))));
        out
    }

    pub fn raw_code(&self) -> String {
        self.template
            .render(|s| -> std::result::Result<String, ()> {
                Ok(match s {
                    Segment::Ref(m) => format!("{{{{ ref('{m}') }}}}"),
                    Segment::Source(a, b) => format!("{{{{ source('{a}', '{b}') }}}}"),
                    Segment::Doc(d) => format!("{{{{ doc('{d}') }}}}"),
                    Segment::Var(v) => format!("{{{{ {v} }}}}"),
                    Segment::Config(_) | Segment::Text(_) => String::new(),
                })
            })
            .unwrap_or_default()
    }

    /// The SQL returning the failing rows.
    pub fn compile(&self, relations: &Relations) -> Result<String> {
        relations.compile(&self.template, &self.name)
    }
}

/// A reusable test: a `{% test name(model, column_name, ...) %}` block.
#[derive(Clone, Debug)]
pub struct GenericTest {
    pub name: String,
    pub args: Vec<String>,
    pub body: String,
    pub path: String,
}

/// The generic tests defined in one file.
pub fn generic_tests(path: &str, text: &str) -> Result<Vec<GenericTest>> {
    let found: Vec<Block> = blocks(text, "test").map_err(|e| Error::config(path, e))?;
    found
        .into_iter()
        .map(|b| {
            if b.args.first().map(String::as_str) != Some("model") {
                return Err(Error::config(
                    format!("{path}:{}", b.line),
                    format!("generic test '{}' must take `model` as its first argument", b.name),
                ));
            }
            Template::parse(&b.body).map_err(|e| Error::config(format!("{path}:{}", b.line), e))?;
            Ok(GenericTest { name: b.name, args: b.args, body: b.body, path: path.to_owned() })
        })
        .collect()
}

const BUILT_IN: &[&str] = &["unique", "not_null", "accepted_values", "relationships"];

/// Collects the tests of properties files against the generic tests known to the project.
pub struct TestCollector<'g> {
    generics: &'g BTreeMap<String, GenericTest>,
}

/// Where in a properties file a test is applied.
struct Site<'a> {
    path: &'a str,
    text: &'a str,
    fqn: &'a [String],
    target: Target,
    column: Option<&'a str>,
    /// Names to find in order in the file, ending at the test's block.
    anchors: Vec<String>,
}

impl<'g> TestCollector<'g> {
    pub fn new(generics: &'g BTreeMap<String, GenericTest>) -> Self {
        TestCollector { generics }
    }

    /// The tests of one properties file (sources' and models' tests, column and
    /// table level). `fqn` is the folder path of the file.
    pub fn properties(&self, path: &str, text: &str, props: &PropertiesFile, fqn: &[String]) -> Result<Vec<TestSpec>> {
        let mut out = Vec::new();
        for source in &props.sources {
            for table in &source.tables {
                let target = Target::Source(SourceRef::new(&source.name, &table.name));
                let anchors = vec![source.name.clone(), table.name.clone()];
                self.apply_all(&mut out, path, text, fqn, &target, &anchors, &table.tests, &table.columns)?;
            }
        }
        for model in &props.models {
            let target = Target::Model(model.name.clone());
            let anchors = vec![model.name.clone()];
            self.apply_all(&mut out, path, text, fqn, &target, &anchors, &model.tests, &model.columns)?;
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_all(
        &self,
        out: &mut Vec<TestSpec>,
        path: &str,
        text: &str,
        fqn: &[String],
        target: &Target,
        anchors: &[String],
        tests: &[Value],
        columns: &[ColumnProperties],
    ) -> Result<()> {
        for test in tests {
            let site = Site { path, text, fqn, target: target.clone(), column: None, anchors: anchors.to_vec() };
            out.extend(self.apply(&site, test)?);
        }
        for column in columns {
            for test in &column.tests {
                let mut anchors = anchors.to_vec();
                anchors.push(column.name.clone());
                let site = Site { path, text, fqn, target: target.clone(), column: Some(&column.name), anchors };
                out.extend(self.apply(&site, test)?);
            }
        }
        Ok(())
    }

    /// One entry of a `tests:` list: parsed, its config split off, its SQL built (by the
    /// built-in or generic test it names), then named as dbt names it.
    fn apply(&self, site: &Site<'_>, entry: &Value) -> Result<Option<TestSpec>> {
        let (test_name, args) = site.parse_entry(entry)?;
        let mut call = Call::new(site, test_name, &args)?;
        if !call.config.enabled {
            return Ok(None);
        }
        let sql = match call.test_name.as_str() {
            "unique" => call.unique()?,
            "not_null" => call.not_null()?,
            "accepted_values" => call.accepted_values()?,
            "relationships" => call.relationships()?,
            _ => call.generic(self.generics)?,
        };
        call.finish(&sql).map(Some)
    }
}

/// A test being applied at a site: its name and the arguments not yet consumed.
struct Call<'s, 'a> {
    site: &'s Site<'a>,
    test_name: String,
    kwargs: BTreeMap<String, Value>,
    config: TestConfig,
    /// The arguments as the manifest shows them.
    shown: BTreeMap<String, String>,
    /// What the arguments add to the test's name (`__1__2`, `__field__to`).
    name_suffix: String,
}

impl<'s, 'a> Call<'s, 'a> {
    fn new(site: &'s Site<'a>, test_name: String, args: &serde_norway::Mapping) -> Result<Self> {
        let mut call = Call {
            site,
            test_name,
            kwargs: BTreeMap::new(),
            config: TestConfig::default(),
            shown: BTreeMap::new(),
            name_suffix: String::new(),
        };
        for (k, v) in args {
            let key = k.as_str().ok_or_else(|| call.err("argument names must be strings"))?;
            if key == "config" {
                call.config = parse_config(v).map_err(|e| call.err(&e))?;
            } else {
                call.kwargs.insert(key.to_owned(), v.clone());
            }
        }
        if let Some(c) = site.column {
            call.shown.insert("column_name".into(), c.to_owned());
        }
        call.shown.insert("model".into(), site.target.jinja());
        Ok(call)
    }

    fn err(&self, message: &str) -> Error {
        self.site.error(Some(&self.test_name), message)
    }

    /// The quoted column the test applies to; an error when it sits at table level.
    fn column(&self) -> Result<String> {
        let column = self.site.column.ok_or_else(|| {
            self.err(&format!("test '{}' applies to a column; put it under `columns:`", self.test_name))
        })?;
        Ok(format!("\"{column}\""))
    }

    fn take(&mut self, key: &str) -> Result<Value> {
        self.kwargs
            .remove(key)
            .ok_or_else(|| self.err(&format!("test '{}' needs the argument '{key}'", self.test_name)))
    }

    fn take_text(&mut self, key: &str) -> Result<String> {
        let value = self.take(key)?;
        scalar_text(&value).map_err(|e| self.err(&e))
    }

    fn unique(&self) -> Result<String> {
        let (c, rel) = (self.column()?, self.site.target.jinja());
        Ok(format!(
            "select {c} as unique_field, count(*) as n_records\nfrom {rel}\nwhere {c} is not null\ngroup by {c}\nhaving count(*) > 1"
        ))
    }

    fn not_null(&self) -> Result<String> {
        let (c, rel) = (self.column()?, self.site.target.jinja());
        Ok(format!("select *\nfrom {rel}\nwhere {c} is null"))
    }

    fn accepted_values(&mut self) -> Result<String> {
        let (c, rel) = (self.column()?, self.site.target.jinja());
        let Value::Sequence(values) = self.take("values")? else {
            return Err(self.err("accepted_values: 'values' must be a list"));
        };
        let quote = match self.kwargs.remove("quote") {
            None => true,
            Some(Value::Bool(b)) => b,
            Some(_) => return Err(self.err("accepted_values: 'quote' must be true or false")),
        };
        let texts =
            values.iter().map(scalar_text).collect::<std::result::Result<Vec<_>, _>>().map_err(|e| self.err(&e))?;
        self.name_suffix = texts.iter().map(|t| format!("__{t}")).collect();
        let list: Vec<String> =
            texts.iter().map(|t| if quote { format!("'{}'", t.replace('\'', "''")) } else { t.clone() }).collect();
        self.shown.insert("values".into(), format!("[{}]", texts.join(", ")));
        Ok(format!(
            "with all_values as (\n    select {c} as value_field, count(*) as n_records\n    from {rel}\n    group by {c}\n)\nselect *\nfrom all_values\nwhere value_field not in ({})",
            list.join(", ")
        ))
    }

    fn relationships(&mut self) -> Result<String> {
        let (c, rel) = (self.column()?, self.site.target.jinja());
        let to_text = self.take_text("to")?;
        let to = parse_target(&to_text).map_err(|e| self.err(&e))?;
        let field = self.take_text("field")?;
        self.name_suffix =
            format!("__{field}__{}", to_text.replace(['(', ')', '\'', '"', ',', ' '], "_").replace("__", "_"));
        self.shown.insert("to".into(), to_text);
        self.shown.insert("field".into(), field.clone());
        Ok(format!(
            "with child as (\n    select {c} as from_field\n    from {rel}\n    where {c} is not null\n),\n\nparent as (\n    select \"{field}\" as to_field\n    from {}\n)\n\nselect from_field\nfrom child\nleft join parent\n    on child.from_field = parent.to_field\nwhere parent.to_field is null",
            to.jinja()
        ))
    }

    /// A reusable test: its body rendered with `model`, `column_name` and its arguments.
    fn generic(&mut self, generics: &BTreeMap<String, GenericTest>) -> Result<String> {
        let name = self.test_name.clone();
        let generic = generics.get(&name).ok_or_else(|| {
            let mut known: Vec<&str> = BUILT_IN.to_vec();
            known.extend(generics.keys().map(String::as_str));
            self.err(&format!("unknown test '{name}' (known: {})", known.join(", ")))
        })?;
        let mut values: BTreeMap<&str, String> = BTreeMap::new();
        values.insert("model", self.site.target.jinja());
        for arg in &generic.args[1..] {
            if arg == "column_name" {
                let column = self
                    .site
                    .column
                    .ok_or_else(|| self.err(&format!("test '{name}' applies to a column; put it under `columns:`")))?;
                values.insert("column_name", column.to_owned());
            } else {
                let v = self.take_text(arg)?;
                self.shown.insert(arg.clone(), v.clone());
                values.insert(arg, v);
            }
        }
        let body = Template::parse(&generic.body).map_err(|e| self.err(&e))?;
        body.render(|s| match s {
            Segment::Var(v) => values.get(v.as_str()).cloned().ok_or_else(|| {
                self.err(&format!("{{{{ {v} }}}} is not an argument of test '{name}' ({})", generic.path))
            }),
            Segment::Ref(m) => Ok(format!("{{{{ ref('{m}') }}}}")),
            Segment::Source(a, b) => Ok(format!("{{{{ source('{a}', '{b}') }}}}")),
            Segment::Doc(_) | Segment::Config(_) => Ok(String::new()),
            Segment::Text(t) => Ok(t.clone()),
        })
    }

    /// The test, named as dbt names it; an argument nothing consumed is an error.
    fn finish(self, sql: &str) -> Result<TestSpec> {
        if let Some(unknown) = self.kwargs.keys().next() {
            return Err(self.err(&format!("test '{}' has no argument '{unknown}'", self.test_name)));
        }
        let template = Template::parse(sql).map_err(|e| self.err(&e))?;
        let site = self.site;
        let prefix = if matches!(site.target, Target::Source(_)) { "source_" } else { "" };
        let column_part = site.column.map(|c| format!("_{c}")).unwrap_or_default();
        let name =
            format!("{prefix}{}_{}{column_part}{}", self.test_name, site.target.test_name_part(), self.name_suffix);
        let mut fqn = site.fqn.to_vec();
        fqn.push(name.clone());
        let line = site.line(Some(&self.test_name));
        Ok(TestSpec {
            name,
            test_name: Some(self.test_name),
            kwargs: self.shown,
            attached: Some(site.target.clone()),
            column: site.column.map(str::to_owned),
            config: self.config,
            fqn,
            original_file_path: site.path.to_owned(),
            line,
            template,
        })
    }
}

impl Site<'_> {
    /// A `tests:` entry: `name`, or `{name: {args}}`.
    fn parse_entry(&self, entry: &Value) -> Result<(String, serde_norway::Mapping)> {
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
        let mut at = 0;
        for anchor in self.anchors.iter().map(String::as_str).chain(test) {
            if let Some(found) = find_word(&self.text[at..], anchor) {
                at += found;
            }
        }
        self.text[..at].matches('\n').count() + 1
    }

    fn error(&self, test: Option<&str>, message: &str) -> Error {
        let what = match (&self.target, self.column) {
            (t, Some(c)) => format!("{}.{c}", t.node_id().name()),
            (t, None) => t.node_id().name(),
        };
        Error::config(format!("{}:{}", self.path, self.line(test)), format!("test on {what}: {message}"))
    }
}

fn find_word(haystack: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    haystack.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = haystack[..i].chars().next_back().is_none_or(|c| !is_ident(c));
        let after = haystack[i + word.len()..].chars().next().is_none_or(|c| !is_ident(c));
        before && after
    })
}

fn scalar_text(v: &Value) -> std::result::Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("expected a single value, found {other:?}")),
    }
}

/// `ref('model')` or `source('source', 'table')`.
fn parse_target(text: &str) -> std::result::Result<Target, String> {
    let template = Template::parse(&format!("{{{{ {text} }}}}"))?;
    match template.segments() {
        [Segment::Ref(m)] => Ok(Target::Model(m.clone())),
        [Segment::Source(s, t)] => Ok(Target::Source(SourceRef::new(s, t))),
        _ => Err(format!("'{text}' must be ref('model') or source('source', 'table')")),
    }
}

fn parse_config(v: &Value) -> std::result::Result<TestConfig, String> {
    let Value::Mapping(m) = v else { return Err("config must be a mapping".into()) };
    let mut config = TestConfig::default();
    for (k, v) in m {
        match (k.as_str(), v) {
            (Some("severity"), Value::String(s)) => config.severity = parse_severity(s)?,
            (Some("tags"), Value::String(s)) => config.tags = vec![s.clone()],
            (Some("tags"), Value::Sequence(items)) => {
                config.tags = items.iter().map(scalar_text).collect::<std::result::Result<_, _>>()?
            }
            (Some("enabled"), Value::Bool(b)) => config.enabled = *b,
            (Some("store_failures"), Value::Bool(b)) => config.store_failures = Some(*b),
            (Some(key @ ("severity" | "tags" | "enabled" | "store_failures")), _) => {
                return Err(format!("config '{key}' has the wrong type"));
            }
            (key, _) => {
                return Err(format!(
                    "unknown config key {key:?} (pitwall knows severity, tags, enabled, store_failures)"
                ));
            }
        }
    }
    Ok(config)
}

fn parse_severity(s: &str) -> std::result::Result<Severity, String> {
    match s.to_ascii_lowercase().as_str() {
        "error" => Ok(Severity::Error),
        "warn" => Ok(Severity::Warn),
        _ => Err(format!("severity must be error or warn, not '{s}'")),
    }
}

/// A singular test: a SQL file (with `{{ ref() }}` and an optional `{{ config() }}`)
/// returning failing rows. Its name is the file's stem.
pub fn singular_test(path: &str, text: &str, fqn: &[String]) -> Result<Option<TestSpec>> {
    let template = Template::parse(text).map_err(|e| Error::config(path, e))?;
    let mut config = TestConfig::default();
    for (key, value) in template.config() {
        let bad = |m: &str| Error::config(format!("{path}:1"), format!("config '{key}': {m}"));
        match (key.as_str(), value) {
            ("severity", ConfigValue::Str(s)) => config.severity = parse_severity(&s).map_err(|e| bad(&e))?,
            ("tags", ConfigValue::List(t)) => config.tags = t,
            ("tags", ConfigValue::Str(t)) => config.tags = vec![t],
            ("enabled", ConfigValue::Bool(b)) => config.enabled = b,
            ("store_failures", ConfigValue::Bool(b)) => config.store_failures = Some(b),
            ("severity" | "tags" | "enabled" | "store_failures", _) => return Err(bad("wrong type")),
            _ => return Err(bad("unknown config key (pitwall knows severity, tags, enabled, store_failures)")),
        }
    }
    if !config.enabled {
        return Ok(None);
    }
    let name = crate::model::name_from_path(path)?.to_owned();
    if template.refs().is_empty() && template.sources().is_empty() {
        return Err(Error::config(path, "a singular test must read a model or source ({{ ref() }} / {{ source() }})"));
    }
    let attached = template.refs().first().map(|m| Target::Model(m.clone()));
    let mut fqn = fqn.to_vec();
    fqn.push(name.clone());
    Ok(Some(TestSpec {
        name,
        test_name: None,
        kwargs: BTreeMap::new(),
        attached,
        column: None,
        config,
        fqn,
        original_file_path: path.to_owned(),
        line: 1,
        template,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str, generics: &BTreeMap<String, GenericTest>) -> Result<Vec<TestSpec>> {
        let props = PropertiesFile::parse("p.yml", text)?;
        TestCollector::new(generics).properties("p.yml", text, &props, &["marts".into()])
    }

    fn relations() -> Relations {
        Relations { target_schema: "a".into(), source_schemas: [("f".to_owned(), "raw".to_owned())].into() }
    }

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

    fn generics() -> BTreeMap<String, GenericTest> {
        let defs = generic_tests(
            "g.sql",
            "{% test gte_zero(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} < 0\n{% endtest %}",
        )
        .unwrap();
        defs.into_iter().map(|g| (g.name.clone(), g)).collect()
    }

    #[test]
    fn generic_tests_get_dbt_names_sql_and_dependencies() {
        let tests = collect(PROPS, &generics()).unwrap();
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
        assert_eq!(rel.depends_on(), vec![Target::Model("m".into()), Target::Model("years".into())]);
        let gte = &tests[4];
        assert_eq!(gte.config.severity, Severity::Warn);
        assert_eq!(gte.config.tags, vec!["bi"]);
        assert_eq!(gte.compile(&relations()).unwrap().trim(), "select * from \"a\".\"m\" where mean < 0");
        assert_eq!(gte.line, 24);
    }

    #[test]
    fn unknown_tests_arguments_and_config_keys_name_file_and_line() {
        let bad_test = PROPS.replace("gte_zero:", "gte_zeroo:");
        let e = collect(&bad_test, &generics()).unwrap_err().to_string();
        assert!(e.starts_with("p.yml:24:") && e.contains("unknown test 'gte_zeroo'"), "{e}");
        let bad_arg = PROPS.replace("field: race_year", "field: race_year\n              too: x");
        let e = collect(&bad_arg, &generics()).unwrap_err().to_string();
        assert!(e.starts_with("p.yml:19:") && e.contains("no argument 'too'"), "{e}");
        let bad_config = PROPS.replace("severity: warn", "severity: loud");
        let e = collect(&bad_config, &generics()).unwrap_err().to_string();
        assert!(e.contains("severity must be error or warn"), "{e}");
        let missing = PROPS.replace("              field: race_year\n", "");
        let e = collect(&missing, &generics()).unwrap_err().to_string();
        assert!(e.contains("needs the argument 'field'"), "{e}");
    }

    #[test]
    fn singular_tests_read_config_and_refs() {
        let t = singular_test(
            "tests/positive.sql",
            "{{ config(enabled=true, severity='error', tags=['bi']) }}\nselect * from {{ ref('m') }} where x < 0",
            &[],
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.name, "positive");
        assert_eq!(t.config.tags, vec!["bi"]);
        assert_eq!(t.attached, Some(Target::Model("m".into())));
        assert!(
            singular_test("x.sql", "{{ config(enabled=false) }} select 1 from {{ ref('m') }}", &[]).unwrap().is_none()
        );
        assert!(singular_test("x.sql", "{{ config(colour='red') }} select 1 from {{ ref('m') }}", &[]).is_err());
    }
}
