//! `{% docs name %}...{% enddocs %}` blocks in the Markdown files of the docs paths:
//! long descriptions that properties files use through `{{ doc('name') }}`.

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, Diagnostics, line_column};
use crate::files::ProjectFile;

/// A docs block: its text and the file it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocBlock {
    pub body: String,
    pub path: String,
}

/// Every docs block of `files`, by name; a name defined twice, or a block never closed,
/// is a problem naming its line.
pub fn doc_blocks(files: &[ProjectFile], diagnostics: &mut Diagnostics) -> BTreeMap<String, DocBlock> {
    let mut blocks: BTreeMap<String, DocBlock> = BTreeMap::new();
    for file in files {
        for found in scan(&file.text) {
            match found {
                Ok((name, body, line)) => {
                    if let Some(other) = blocks.get(&name) {
                        let message = format!("docs block '{name}' is also defined in {}", other.path);
                        diagnostics.push(Diagnostic::at(&file.path, line, None, message));
                        continue;
                    }
                    blocks.insert(name, DocBlock { body, path: file.path.clone() });
                }
                Err((line, message)) => diagnostics.push(Diagnostic::at(&file.path, line, None, message)),
            }
        }
    }
    blocks
}

type Found = Result<(String, String, usize), (usize, String)>;

/// The `{% docs %}` blocks of `text`: name, trimmed body and line; text outside blocks is
/// ignored, as dbt ignores it.
fn scan(text: &str) -> Vec<Found> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("{%") {
        let open = at + found;
        let line = line_column(text, open).0;
        let Some(close) = text[open..].find("%}").map(|c| c + open) else {
            out.push(Err((line, "'{%' is never closed".to_owned())));
            break;
        };
        let tag = text[open + 2..close].trim_matches(|c: char| c == '-' || c.is_whitespace());
        at = close + 2;
        let Some(name) = tag.strip_prefix("docs").filter(|n| n.starts_with(char::is_whitespace)).map(str::trim) else {
            continue;
        };
        let end = text[at..].match_indices("{%").find(|(i, _)| {
            text[at + i + 2..].trim_start_matches(|c: char| c == '-' || c.is_whitespace()).starts_with("enddocs")
        });
        let Some((end, _)) = end else {
            out.push(Err((line, format!("{{% docs {name} %}} has no {{% enddocs %}}"))));
            break;
        };
        let body = text[at..at + end].trim().to_owned();
        out.push(Ok((name.to_owned(), body, line)));
        at += end + text[at + end..].find("%}").map(|i| i + 2).unwrap_or(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_with_their_lines_and_repeats_named() {
        let file = |path: &str, text: &str| ProjectFile { path: path.into(), folder: Vec::new(), text: text.into() };
        let a = file("a.md", "# notes\n{% docs d %} Long\ntext {% enddocs %}\n{% docs e %}x{% enddocs %}");
        let b = file("b.md", "\n{% docs d %}again{% enddocs %}");
        let mut diagnostics = Diagnostics::default();
        let blocks = doc_blocks(&[a, b], &mut diagnostics);
        assert_eq!(blocks["d"].body, "Long\ntext");
        assert_eq!(blocks["e"].path, "a.md");
        assert_eq!(diagnostics.0[0].to_string(), "b.md:2: docs block 'd' is also defined in a.md");
        let mut diagnostics = Diagnostics::default();
        doc_blocks(&[file("c.md", "{% docs x %} no end")], &mut diagnostics);
        assert!(diagnostics.0[0].message.contains("enddocs"));
    }
}
