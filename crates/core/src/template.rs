//! The subset of dbt's Jinja that pitwall models and tests use: `{{ ref('model') }}`,
//! `{{ source('source', 'table') }}`, `{{ config(key=value, ...) }}`, plain variables
//! (`{{ column_name }}`, in generic test definitions), `{{ doc('name') }}` in descriptions,
//! and the `{% test name(args) %}...{% endtest %}` / `{% docs name %}...{% enddocs %}`
//! blocks. Anything else is an error naming its line, never silently passed through.
//!
//! Refs are read from the text at load time, as dbt does, so a SQL model declares its
//! dependencies just by using them.

use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Ref(String),
    Source(String, String),
    Doc(String),
    /// `{{ config(...) }}`: renders to nothing; its settings are read with [`Template::config`].
    Config(Vec<(String, ConfigValue)>),
    /// `{{ name }}`: a variable, substituted when a generic test is applied.
    Var(String),
}

/// A literal in `config(...)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigValue {
    Str(String),
    Bool(bool),
    List(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// Parses `text`; errors name the line of the bad `{{ ... }}` block.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut segments = Vec::new();
        let mut rest = text;
        let mut consumed = 0usize;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                segments.push(Segment::Text(rest[..open].to_owned()));
            }
            let line = text[..consumed + open].matches('\n').count() + 1;
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| format!("line {line}: '{{{{' is never closed"))?;
            let call = after[..close].trim();
            segments.push(parse_call(call).map_err(|e| format!("line {line}: {e}"))?);
            let advance = open + 2 + close + 2;
            consumed += advance;
            rest = &rest[advance..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_owned()));
        }
        Ok(Template { segments })
    }

    pub fn refs(&self) -> Vec<String> {
        let mut refs = Vec::new();
        for s in &self.segments {
            if let Segment::Ref(name) = s
                && !refs.contains(name)
            {
                refs.push(name.clone());
            }
        }
        refs
    }

    pub fn sources(&self) -> Vec<(String, String)> {
        let mut sources = Vec::new();
        for s in &self.segments {
            if let Segment::Source(a, b) = s
                && !sources.iter().any(|(x, y)| x == a && y == b)
            {
                sources.push((a.clone(), b.clone()));
            }
        }
        sources
    }

    /// The settings of every `{{ config(...) }}` call, in order.
    pub fn config(&self) -> Vec<(String, ConfigValue)> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Config(kv) => Some(kv.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Renders the template, replacing each call with what `resolve` returns for it.
    pub fn render<E>(&self, mut resolve: impl FnMut(&Segment) -> Result<String, E>) -> Result<String, E> {
        let mut out = String::new();
        for s in &self.segments {
            match s {
                Segment::Text(t) => out.push_str(t),
                other => {
                    let _ = write!(out, "{}", resolve(other)?);
                }
            }
        }
        Ok(out)
    }
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_call(call: &str) -> Result<Segment, String> {
    if is_identifier(call) {
        return Ok(Segment::Var(call.to_owned()));
    }
    let open = call.find('(').ok_or_else(|| format!("unsupported template expression '{call}'"))?;
    if !call.ends_with(')') {
        return Err(format!("unsupported template expression '{call}'"));
    }
    let func = call[..open].trim();
    if func == "config" {
        return parse_kwargs(&call[open + 1..call.len() - 1])
            .map(Segment::Config)
            .map_err(|e| format!("in '{call}': {e}"));
    }
    let args = parse_args(&call[open + 1..call.len() - 1]).map_err(|e| format!("in '{call}': {e}"))?;
    match (func, args.as_slice()) {
        ("ref", [name]) => Ok(Segment::Ref(name.clone())),
        ("source", [source, table]) => Ok(Segment::Source(source.clone(), table.clone())),
        ("doc", [name]) => Ok(Segment::Doc(name.clone())),
        ("ref" | "source" | "doc", _) => Err(format!("wrong number of arguments in '{call}'")),
        _ => Err(format!("unknown template function '{func}' (pitwall knows ref, source, config and doc)")),
    }
}

fn parse_args(text: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    for raw in text.split(',') {
        let arg = raw.trim();
        let unquoted = arg
            .strip_prefix('\'')
            .and_then(|a| a.strip_suffix('\''))
            .or_else(|| arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')))
            .ok_or_else(|| format!("argument {arg} must be a quoted string"))?;
        args.push(unquoted.to_owned());
    }
    Ok(args)
}

/// Splits on commas that are not inside quotes or brackets.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut quote, mut start) = (Vec::new(), 0i32, None, 0);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']' | ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

fn unquote(text: &str) -> Option<&str> {
    let t = text.trim();
    t.strip_prefix('\'')
        .and_then(|a| a.strip_suffix('\''))
        .or_else(|| t.strip_prefix('"').and_then(|a| a.strip_suffix('"')))
}

fn parse_kwargs(text: &str) -> Result<Vec<(String, ConfigValue)>, String> {
    split_top_level(text)
        .into_iter()
        .map(|pair| {
            let (key, value) = pair.split_once('=').ok_or_else(|| format!("'{}' is not key=value", pair.trim()))?;
            let (key, value) = (key.trim(), value.trim());
            if !is_identifier(key) {
                return Err(format!("'{key}' is not a config key"));
            }
            let value = if let Some(s) = unquote(value) {
                ConfigValue::Str(s.to_owned())
            } else if value.eq_ignore_ascii_case("true") {
                ConfigValue::Bool(true)
            } else if value.eq_ignore_ascii_case("false") {
                ConfigValue::Bool(false)
            } else if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
                let items = split_top_level(inner)
                    .into_iter()
                    .map(|i| {
                        unquote(i).map(str::to_owned).ok_or_else(|| format!("list item {} must be quoted", i.trim()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                ConfigValue::List(items)
            } else {
                return Err(format!("value of '{key}' must be a quoted string, true/false or a list of strings"));
            };
            Ok((key.to_owned(), value))
        })
        .collect()
}

/// A `{% kind name(args) %} body {% endkind %}` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub name: String,
    pub args: Vec<String>,
    pub body: String,
    /// 1-based line of the opening tag.
    pub line: usize,
}

/// Every `kind` block in `text` (`test` or `docs`); text outside blocks is ignored.
pub fn blocks(text: &str, kind: &str) -> Result<Vec<Block>, String> {
    let end_tag = format!("end{kind}");
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("{%") {
        let open = at + found;
        let line = text[..open].matches('\n').count() + 1;
        let close = text[open..].find("%}").ok_or_else(|| format!("line {line}: '{{%' is never closed"))? + open;
        let tag = text[open + 2..close].trim();
        let Some(header) = tag.strip_prefix(kind).filter(|h| h.starts_with(char::is_whitespace)) else {
            at = close + 2;
            continue;
        };
        let header = header.trim();
        let (name, args) = match header.split_once('(') {
            Some((name, rest)) => {
                let inner = rest.strip_suffix(')').ok_or_else(|| format!("line {line}: unclosed '(' in '{tag}'"))?;
                (name.trim(), inner.split(',').map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect())
            }
            None => (header, Vec::new()),
        };
        if !is_identifier(name) {
            return Err(format!("line {line}: '{name}' is not a valid {kind} name"));
        }
        let body_start = close + 2;
        let end = text[body_start..]
            .match_indices("{%")
            .find(|(i, _)| {
                let rest = &text[body_start + i + 2..];
                rest.trim_start().starts_with(&end_tag)
            })
            .map(|(i, _)| body_start + i)
            .ok_or_else(|| format!("line {line}: {{% {kind} {name} %}} has no {{% {end_tag} %}}"))?;
        let end_close = text[end..].find("%}").map(|i| end + i + 2).unwrap_or(text.len());
        out.push(Block { name: name.to_owned(), args, body: text[body_start..end].trim().to_owned(), line });
        at = end_close;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_and_sources_are_read_from_the_text_in_order_without_repeats() {
        let t = Template::parse(
            "select * from {{ ref('a') }} join {{ref(\"b\")}} on 1=1 join {{ ref('a') }}\n\
             union select * from {{ source('formula1', 'circuits') }}",
        )
        .unwrap();
        assert_eq!(t.refs(), vec!["a", "b"]);
        assert_eq!(t.sources(), vec![("formula1".to_owned(), "circuits".to_owned())]);
    }

    #[test]
    fn render_replaces_each_call() {
        let t = Template::parse("x {{ ref('m') }} y").unwrap();
        let out: Result<String, ()> = t.render(|s| match s {
            Segment::Ref(n) => Ok(format!("\"s\".\"{n}\"")),
            _ => Ok(String::new()),
        });
        assert_eq!(out.unwrap(), "x \"s\".\"m\" y");
    }

    #[test]
    fn config_kwargs_and_variables_parse() {
        let t = Template::parse(
            "{{ config(enabled=true, severity='warn', tags = ['bi', \"x\"]) }}select {{ column_name }}",
        )
        .unwrap();
        assert_eq!(
            t.config(),
            vec![
                ("enabled".to_owned(), ConfigValue::Bool(true)),
                ("severity".to_owned(), ConfigValue::Str("warn".into())),
                ("tags".to_owned(), ConfigValue::List(vec!["bi".into(), "x".into()])),
            ]
        );
        assert!(t.segments().contains(&Segment::Var("column_name".into())));
        assert!(Template::parse("{{ config(severity=warn) }}").unwrap_err().contains("quoted"));
    }

    #[test]
    fn test_and_docs_blocks_are_found_with_their_lines() {
        let text = "-- header\n{% test gte(model, column_name) %}\nselect 1\n{% endtest %}\n{% docs d %} Long\ntext {% enddocs %}";
        let tests = blocks(text, "test").unwrap();
        assert_eq!(tests.len(), 1);
        assert_eq!((tests[0].name.as_str(), tests[0].line), ("gte", 2));
        assert_eq!(tests[0].args, vec!["model", "column_name"]);
        assert_eq!(tests[0].body, "select 1");
        let docs = blocks(text, "docs").unwrap();
        assert_eq!(docs[0].body, "Long\ntext");
        assert!(blocks("{% test t() %} no end", "test").unwrap_err().contains("endtest"));
    }

    #[test]
    fn bad_blocks_name_their_line() {
        let err = Template::parse("select\n1\n{{ reff('x') }}").unwrap_err();
        assert!(err.starts_with("line 3:"), "{err}");
        assert!(Template::parse("{{ ref('x') ").unwrap_err().contains("never closed"));
        assert!(Template::parse("{{ ref(x) }}").unwrap_err().contains("quoted"));
        assert!(Template::parse("{{ source('a') }}").unwrap_err().contains("arguments"));
    }
}
