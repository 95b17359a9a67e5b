//! Problems found in a project, each naming the file, line and column at fault. Loading
//! goes on past a problem wherever it can, so one run reports every problem it finds.

use std::fmt;

/// One problem: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `path`, `path:line` or `path:line:column`, the path relative to the project root.
    pub location: String,
    pub message: String,
}

impl Diagnostic {
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { location: location.into(), message: message.into() }
    }

    /// A problem at `line` (1-based) and, when known, `column` (1-based) of `path`.
    pub fn at(path: &str, line: usize, column: Option<usize>, message: impl Into<String>) -> Self {
        let location = match column {
            Some(column) => format!("{path}:{line}:{column}"),
            None => format!("{path}:{line}"),
        };
        Diagnostic { location, message: message.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Every problem a load found; the project was refused, and nothing ran.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Err(self)` when a problem was found.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(f, "the project has {n} problem{}; nothing was run:", if n == 1 { "" } else { "s" })?;
        for (i, d) in self.0.iter().enumerate() {
            if i + 1 < n {
                writeln!(f, "  {d}")?;
            } else {
                write!(f, "  {d}")?;
            }
        }
        Ok(())
    }
}

/// `line` and `column` (1-based) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

/// " (did you mean 'x'?)" with the names in `known` closest to `name`, or "".
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let mut near: Vec<(f64, &str)> = known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(name, k), k))
        .filter(|(score, k)| *score > 0.85 && *k != name)
        .collect();
    near.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    match near.as_slice() {
        [] => String::new(),
        [(_, one)] => format!(" (did you mean '{one}'?)"),
        [(_, a), (_, b), ..] => format!(" (did you mean '{a}' or '{b}'?)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_suggested_closest_first() {
        let known = ["fct_results", "int_results", "pit_stops_joined"];
        assert_eq!(did_you_mean("fct_result", known), " (did you mean 'fct_results'?)");
        assert_eq!(did_you_mean("weather", known), "");
    }

    #[test]
    fn offsets_become_lines_and_columns() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab", 0), (1, 1));
    }

    #[test]
    fn every_problem_is_listed() {
        let d = Diagnostics(vec![Diagnostic::at("a.sql", 3, Some(5), "bad"), Diagnostic::new("b.yml", "worse")]);
        assert_eq!(d.to_string(), "the project has 2 problems; nothing was run:\n  a.sql:3:5: bad\n  b.yml: worse");
    }
}
