//! The Markdown subset doc blocks are written in, rendered to HTML: paragraphs, ATX
//! headings, fenced code, bullet and numbered lists, pipe tables, and inline code,
//! emphasis and strong emphasis. Everything else is text, and every piece of text is
//! HTML-escaped, so a description can never inject markup into the site.
//!
//! Emphasis follows CommonMark where it matters for dbt projects: an underscore inside a
//! word (`int_results`, `stg_f1_races`) is a letter, not emphasis.

/// Escapes text for an HTML element or a double- or single-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders `text` to HTML.
pub fn to_html(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        // Every block but a paragraph line ends the paragraph being gathered.
        let block = if trimmed.is_empty() {
            Some((String::new(), i + 1))
        } else if let Some(fence) = fence(trimmed) {
            Some(code_block(&lines, i, fence))
        } else if let Some(html) = heading(trimmed) {
            Some((html, i + 1))
        } else if list_item(line).is_some() {
            Some(list(&lines, i))
        } else if is_table_start(&lines, i) {
            Some(table(&lines, i))
        } else {
            None
        };
        match block {
            Some((html, next)) => {
                flush_paragraph(&mut out, &mut paragraph);
                out.push_str(&html);
                i = next;
            }
            None => {
                paragraph.push(trimmed);
                i += 1;
            }
        }
    }
    flush_paragraph(&mut out, &mut paragraph);
    out
}

fn flush_paragraph(out: &mut String, paragraph: &mut Vec<&str>) {
    if !paragraph.is_empty() {
        out.push_str(&format!("<p>{}</p>\n", inline(&paragraph.join("\n"))));
        paragraph.clear();
    }
}

/// The fence (three or more backticks or tildes) a line opens a code block with.
fn fence(trimmed: &str) -> Option<&str> {
    let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = trimmed.chars().take_while(|c| *c == marker).count();
    (len >= 3).then(|| &trimmed[..len])
}

/// A fenced code block from line `start`; an unclosed fence runs to the end, as in CommonMark.
fn code_block(lines: &[&str], start: usize, fence: &str) -> (String, usize) {
    let language = lines[start].trim()[fence.len()..].trim();
    let mut end = start + 1;
    while end < lines.len() && !lines[end].trim().starts_with(fence) {
        end += 1;
    }
    let body = lines[start + 1..end].join("\n");
    let class = if language.is_empty() { String::new() } else { format!(" class=\"language-{}\"", escape(language)) };
    (format!("<pre><code{class}>{}</code></pre>\n", escape(&body)), (end + 1).min(lines.len()))
}

fn heading(trimmed: &str) -> Option<String> {
    let level = trimmed.chars().take_while(|c| *c == '#').count();
    let rest = &trimmed[level..];
    if !(1..=6).contains(&level) || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim_end();
    Some(format!("<h{level}>{}</h{level}>\n", inline(text)))
}

/// `(ordered, text)` of a list item line: `- x`, `* x`, `+ x`, `1. x`, `1) x`.
fn list_item(line: &str) -> Option<(bool, &str)> {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix(['-', '*', '+'])
        && rest.starts_with(' ')
    {
        return Some((false, rest.trim()));
    }
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &trimmed[digits..];
    if (1..=9).contains(&digits)
        && let Some(text) = rest.strip_prefix(['.', ')'])
        && text.starts_with(' ')
    {
        return Some((true, text.trim()));
    }
    None
}

/// Consecutive items of one kind; an indented line continues the item above it.
fn list(lines: &[&str], start: usize) -> (String, usize) {
    let ordered = list_item(lines[start]).is_some_and(|(o, _)| o);
    let mut items: Vec<String> = Vec::new();
    let mut i = start;
    while i < lines.len() {
        let line = lines[i];
        match list_item(line) {
            Some((o, text)) if o == ordered => items.push(text.to_owned()),
            Some(_) => break,
            None if !line.trim().is_empty() && line.starts_with([' ', '\t']) && !items.is_empty() => {
                let last = items.last_mut().expect("an item to continue");
                last.push('\n');
                last.push_str(line.trim());
            }
            None => break,
        }
        i += 1;
    }
    let tag = if ordered { "ol" } else { "ul" };
    let body: String = items.iter().map(|item| format!("<li>{}</li>\n", inline(item))).collect();
    (format!("<{tag}>\n{body}</{tag}>\n"), i)
}

/// The cells of a pipe-table row, outer pipes optional; `\|` is a literal pipe.
fn cells(line: &str) -> Vec<String> {
    let trimmed = line.trim();
    let inner = trimmed.strip_prefix('|').unwrap_or(trimmed);
    let inner = if inner.ends_with('|') && !inner.ends_with("\\|") { &inner[..inner.len() - 1] } else { inner };
    let mut out = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                out.last_mut().expect("a cell").push('|');
                chars.next();
            }
            '|' => out.push(String::new()),
            c => out.last_mut().expect("a cell").push(c),
        }
    }
    out.into_iter().map(|c| c.trim().to_owned()).collect()
}

/// A column's alignment from its separator cell (`:--`, `:-:`, `--:`), or `None` when
/// the cell is not a separator.
fn alignment(cell: &str) -> Option<&'static str> {
    let dashes = cell.trim_start_matches(':').trim_end_matches(':');
    if dashes.is_empty() || !dashes.bytes().all(|b| b == b'-') {
        return None;
    }
    Some(match (cell.starts_with(':'), cell.ends_with(':')) {
        (true, true) => "center",
        (false, true) => "right",
        _ => "",
    })
}

fn is_table_start(lines: &[&str], i: usize) -> bool {
    let Some(next) = lines.get(i + 1) else { return false };
    let separator = cells(next);
    lines[i].contains('|')
        && separator.len() == cells(lines[i]).len()
        && separator.iter().all(|c| alignment(c).is_some())
}

fn table(lines: &[&str], start: usize) -> (String, usize) {
    let aligns: Vec<&str> = cells(lines[start + 1]).iter().map(|c| alignment(c).unwrap_or("")).collect();
    let row = |line: &str, tag: &str| -> String {
        let mut html = String::from("<tr>");
        for (k, cell) in cells(line).iter().enumerate().take(aligns.len()) {
            let align = aligns.get(k).copied().unwrap_or("");
            let style = if align.is_empty() { String::new() } else { format!(" style=\"text-align:{align}\"") };
            html.push_str(&format!("<{tag}{style}>{}</{tag}>", inline(cell)));
        }
        html + "</tr>\n"
    };
    let mut html = format!("<table>\n<thead>\n{}</thead>\n<tbody>\n", row(lines[start], "th"));
    let mut i = start + 2;
    while i < lines.len() && !lines[i].trim().is_empty() && lines[i].contains('|') {
        html.push_str(&row(lines[i], "td"));
        i += 1;
    }
    html.push_str("</tbody>\n</table>\n");
    (html, i)
}

/// Inline markup: code spans, `**strong**` / `__strong__`, `*em*` / `_em_`, backslash
/// escapes; everything else escaped text.
fn inline(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && chars.get(i + 1).is_some_and(|n| n.is_ascii_punctuation()) {
            out.push_str(&escape(&chars[i + 1].to_string()));
            i += 2;
        } else if c == '`'
            && let Some((html, next)) = code_span(&chars, i)
        {
            out.push_str(&html);
            i = next;
        } else if (c == '*' || c == '_')
            && let Some((html, next)) = emphasis(&chars, i)
        {
            out.push_str(&html);
            i = next;
        } else {
            out.push_str(&escape(&c.to_string()));
            i += 1;
        }
    }
    out
}

/// A code span opened by the backtick run at `i`, closed by a run of the same length.
fn code_span(chars: &[char], i: usize) -> Option<(String, usize)> {
    let run = chars[i..].iter().take_while(|c| **c == '`').count();
    let mut j = i + run;
    while j < chars.len() {
        if chars[j] == '`' {
            let close = chars[j..].iter().take_while(|c| **c == '`').count();
            if close == run {
                let body: String = chars[i + run..j].iter().collect();
                return Some((format!("<code>{}</code>", escape(body.trim())), j + close));
            }
            j += close;
        } else {
            j += 1;
        }
    }
    None
}

/// Emphasis opened by the `*` or `_` run at `i`, if a matching closer follows. An opener
/// must be followed by a non-space; an underscore must also not sit inside a word, on
/// either side, which keeps `snake_case` names intact.
fn emphasis(chars: &[char], i: usize) -> Option<(String, usize)> {
    let marker = chars[i];
    let run = chars[i..].iter().take_while(|c| **c == marker).count().min(2);
    let word = |k: Option<&char>| k.is_some_and(|c| c.is_alphanumeric());
    let before = i.checked_sub(1).and_then(|k| chars.get(k));
    let after = chars.get(i + run);
    if after.is_none_or(|c| c.is_whitespace()) || (marker == '_' && word(before)) {
        return None;
    }
    let mut j = i + run + 1;
    while j + run <= chars.len() {
        // An escaped marker is text, never a closer.
        if chars[j] == '\\' {
            j += 2;
            continue;
        }
        let closes = chars[j..j + run].iter().all(|c| *c == marker)
            && !chars[j - 1].is_whitespace()
            && !(marker == '_' && word(chars.get(j + run)))
            // `**a*` must not close strong emphasis on the single star.
            && chars.get(j + run) != Some(&marker);
        if closes {
            let body: String = chars[i + run..j].iter().collect();
            let tag = if run == 2 { "strong" } else { "em" };
            return Some((format!("<{tag}>{}</{tag}>", inline(&body)), j + run));
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_are_split_on_blank_lines_and_escaped() {
        assert_eq!(to_html("a <b> & c\nd\n\ne"), "<p>a &lt;b&gt; &amp; c\nd</p>\n<p>e</p>\n");
        assert_eq!(to_html("<script>alert('x')</script>"), "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>\n");
    }

    #[test]
    fn headings_lists_and_code_blocks() {
        let html =
            to_html("# Title #\n## Sub\n- one\n- *two*\n  continued\n\n1. first\n2) second\n```sql\nselect 1 < 2\n```");
        assert_eq!(
            html,
            "<h1>Title</h1>\n<h2>Sub</h2>\n<ul>\n<li>one</li>\n<li><em>two</em>\ncontinued</li>\n</ul>\n\
             <ol>\n<li>first</li>\n<li>second</li>\n</ol>\n\
             <pre><code class=\"language-sql\">select 1 &lt; 2</code></pre>\n"
        );
        assert_eq!(to_html("#nope"), "<p>#nope</p>\n");
    }

    #[test]
    fn inline_code_emphasis_and_strong() {
        assert_eq!(
            to_html("`a <b>` **c** _d_ __e__ `` x`y ``"),
            "<p><code>a &lt;b&gt;</code> <strong>c</strong> <em>d</em> <strong>e</strong> <code>x`y</code></p>\n"
        );
        // Underscores inside words, lone stars and unclosed markers are text.
        assert_eq!(to_html("int_results and stg_f1_races"), "<p>int_results and stg_f1_races</p>\n");
        assert_eq!(to_html("2 * 3 * 4, *open, \\*lit\\*"), "<p>2 * 3 * 4, *open, *lit*</p>\n");
    }

    #[test]
    fn pipe_tables_with_alignment() {
        let html = to_html("| a | b \\| c |\n|:--|--:|\n| 1 | **2** |\n\nafter");
        assert_eq!(
            html,
            "<table>\n<thead>\n<tr><th>a</th><th style=\"text-align:right\">b | c</th></tr>\n</thead>\n\
             <tbody>\n<tr><td>1</td><td style=\"text-align:right\"><strong>2</strong></td></tr>\n</tbody>\n</table>\n\
             <p>after</p>\n"
        );
    }
}
