//! The subset of dbt's Jinja that pitwall models and tests use: `{{ ref('model') }}`,
//! `{{ source('source', 'table') }}` and, in descriptions, `{{ doc('name') }}`.
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

fn parse_call(call: &str) -> Result<Segment, String> {
    let open = call.find('(').ok_or_else(|| format!("unsupported template expression '{call}'"))?;
    if !call.ends_with(')') {
        return Err(format!("unsupported template expression '{call}'"));
    }
    let func = call[..open].trim();
    let args = parse_args(&call[open + 1..call.len() - 1]).map_err(|e| format!("in '{call}': {e}"))?;
    match (func, args.as_slice()) {
        ("ref", [name]) => Ok(Segment::Ref(name.clone())),
        ("source", [source, table]) => Ok(Segment::Source(source.clone(), table.clone())),
        ("doc", [name]) => Ok(Segment::Doc(name.clone())),
        ("ref" | "source" | "doc", _) => Err(format!("wrong number of arguments in '{call}'")),
        _ => Err(format!("unknown template function '{func}' (pitwall knows ref, source and doc)")),
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
    fn bad_blocks_name_their_line() {
        let err = Template::parse("select\n1\n{{ reff('x') }}").unwrap_err();
        assert!(err.starts_with("line 3:"), "{err}");
        assert!(Template::parse("{{ ref('x') ").unwrap_err().contains("never closed"));
        assert!(Template::parse("{{ ref(x) }}").unwrap_err().contains("quoted"));
        assert!(Template::parse("{{ source('a') }}").unwrap_err().contains("arguments"));
    }
}
