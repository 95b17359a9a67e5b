//! Splitting a CSV file into records, with COPY INTO's rules for `"`-enclosed fields
//! (`FIELD_OPTIONALLY_ENCLOSED_BY = '"'`): a field that starts with `"` runs to the next
//! `"` not doubled (`""` is a literal quote) and may hold delimiters and line ends; after
//! its closing quote anything but a delimiter, a line end or the end of the file is an
//! error. A `"` inside an unquoted field is an ordinary character. `\n`, `\r\n` and a lone
//! `\r` each end a line (and a record, outside quotes).
//!
//! **Resynchronisation rule.** A quote that never closes, or closes badly, would swallow
//! every following line up to the next stray `"` (the csv crate merges them silently).
//! So a record is allowed to span lines only when it is well formed: its quoted fields
//! close properly *and* it has the expected number of fields. Otherwise the damaged record
//! is taken to be its first line alone, which is rejected ("quoted field not closed before
//! the end of the line"), and reading resumes at the next line. Why: a damaged quote is far
//! more likely than a legitimate multi-line field gone wrong, and this way one lost quote
//! costs exactly one line while every line is still accounted to exactly one record.
//! The rule only ever looks forward from a record's start, so any two readers that start
//! at the same record boundary split the rest of the file identically (the parallel chunks
//! in `load.rs` rely on that).
//!
//! **Size rule.** A record may span lines only within [`MAX_RECORD_BYTES`] (16 MiB,
//! Snowflake's largest VARCHAR): a quote still open past that is treated as damaged, as
//! above. Why: how far a read looks ahead is then bounded, so a file can be read in blocks
//! (`load.rs` streams it) with the same result as in one piece, and a lost quote in a
//! large file never makes a reader scan (or hold) the rest of the file.

use memchr::{memchr2, memchr3};

/// The most bytes a record spanning several lines may have (see the module's size rule).
pub(crate) const MAX_RECORD_BYTES: usize = 16 << 20;

/// One record's fields: ranges into the file's bytes, or into `scratch` for a quoted field
/// holding `""` escapes (the only case that needs a copy).
#[derive(Default)]
pub(crate) struct Record {
    fields: Vec<(usize, usize, bool)>,
    scratch: Vec<u8>,
}

impl Record {
    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    /// Field `i`, quotes removed and `""` unescaped.
    pub(crate) fn field<'a>(&'a self, bytes: &'a [u8], i: usize) -> &'a [u8] {
        let (start, end, in_scratch) = self.fields[i];
        if in_scratch { &self.scratch[start..end] } else { &bytes[start..end] }
    }

    /// Field `i` as a slice of `bytes` itself, which outlives the record; `None` for a
    /// field with `""` escapes, which only the record holds unescaped.
    pub(crate) fn field_in<'b>(&self, bytes: &'b [u8], i: usize) -> Option<&'b [u8]> {
        let (start, end, in_scratch) = self.fields[i];
        (!in_scratch).then(|| &bytes[start..end])
    }

    /// A blank line: one empty, unquoted field.
    fn is_blank(&self) -> bool {
        matches!(self.fields.as_slice(), [(s, e, false)] if s == e)
    }
}

/// Why a record could not be split into fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Damage {
    /// The quoted field `field` closed and was followed by `found`.
    AfterQuote { field: usize, found: u8 },
    /// The quoted field `field` did not close before the end of its line (or of the file).
    Unterminated { field: usize, at_eof: bool },
}

struct Split {
    /// Offset just after the record's line end (or the file's end).
    end: usize,
    /// Physical lines the record spans.
    lines: u64,
    damage: Option<Damage>,
}

/// A record as read: where the next one starts, how many lines it spans, and whether it
/// split into fields (`Err((field index, reason))` when not).
pub(crate) struct Read {
    pub(crate) end: usize,
    pub(crate) lines: u64,
    pub(crate) result: Result<(), (Option<usize>, String)>,
    /// Whether reading looked at the last byte of `bytes`. When `bytes` is a block of a
    /// longer file, only a read that did not is certain to be the whole file's read.
    pub(crate) reached_end: bool,
}

/// The offset after the line end at or after `from` (`\r\n` is one line end), or the
/// file's end.
pub(crate) fn line_end(bytes: &[u8], from: usize) -> usize {
    match memchr2(b'\n', b'\r', &bytes[from..]) {
        None => bytes.len(),
        Some(i) => {
            let at = from + i;
            if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') { at + 2 } else { at + 1 }
        }
    }
}

/// Splits the record starting at `start` (< the file's length). With `multiline` false a
/// line end inside quotes ends the record as damaged.
// Long: one state machine over one position: the unquoted and quoted field states hand
// over to each other with a labelled `continue`, on every byte of every file loaded; the
// property test in load.rs pins its behaviour.
fn tokenize(bytes: &[u8], start: usize, multiline: bool, record: &mut Record) -> Split {
    record.fields.clear();
    record.scratch.clear();
    let mut inner_lines = 0u64;
    let mut p = start;
    'fields: loop {
        let field = record.fields.len();
        if bytes.get(p) != Some(&b'"') {
            return match unquoted_fields(bytes, p, record) {
                Stop::Quote(at) => {
                    p = at;
                    continue 'fields;
                }
                Stop::LineEnd(at) => Split { end: line_end(bytes, at), lines: inner_lines + 1, damage: None },
                Stop::End => Split { end: bytes.len(), lines: inner_lines + 1, damage: None },
            };
        }
        p += 1;
        let content = p;
        // Set once a `""` is met: from then on the field is built in `scratch`.
        let mut escaped: Option<usize> = None;
        loop {
            let Some(i) = memchr3(b'"', b'\n', b'\r', &bytes[p..]) else {
                let damage = Some(Damage::Unterminated { field, at_eof: true });
                return Split { end: bytes.len(), lines: inner_lines + 1, damage };
            };
            let at = p + i;
            if bytes[at] != b'"' {
                let next = line_end(bytes, at);
                if multiline && next - start > MAX_RECORD_BYTES {
                    let damage = Some(Damage::Unterminated { field, at_eof: false });
                    return Split { end: next, lines: inner_lines + 1, damage };
                }
                if !multiline {
                    return Split { end: next, lines: 1, damage: Some(Damage::Unterminated { field, at_eof: false }) };
                }
                inner_lines += 1;
                if escaped.is_some() {
                    record.scratch.extend_from_slice(&bytes[p..next]);
                }
                p = next;
                continue;
            }
            if bytes.get(at + 1) == Some(&b'"') {
                if escaped.is_none() {
                    escaped = Some(record.scratch.len());
                    record.scratch.extend_from_slice(&bytes[content..at]);
                } else {
                    record.scratch.extend_from_slice(&bytes[p..at]);
                }
                record.scratch.push(b'"');
                p = at + 2;
                continue;
            }
            match escaped {
                Some(from) => {
                    record.scratch.extend_from_slice(&bytes[p..at]);
                    record.fields.push((from, record.scratch.len(), true));
                }
                None => record.fields.push((content, at, false)),
            }
            p = at + 1;
            return match bytes.get(p) {
                None => Split { end: bytes.len(), lines: inner_lines + 1, damage: None },
                Some(b',') => {
                    p += 1;
                    continue 'fields;
                }
                Some(b'\n' | b'\r') => Split { end: line_end(bytes, p), lines: inner_lines + 1, damage: None },
                Some(&found) => Split {
                    end: line_end(bytes, p),
                    lines: inner_lines + 1,
                    damage: Some(Damage::AfterQuote { field, found }),
                },
            };
        }
    }
}

/// Where a run of unquoted fields stopped.
enum Stop {
    /// At a field that starts with a quote, at this offset.
    Quote(usize),
    /// At the line end at this offset, which ends the record.
    LineEnd(usize),
    /// At the end of the bytes, which ends the record.
    End,
}

/// Splits the unquoted fields that follow one another from `start` (not a quote) into
/// `record`, until the line end that ends them, the end of `bytes`, or a field that
/// starts with a quote. Why not `memchr3` per field: most fields are a few bytes long,
/// and one eight-byte word holds the ends of several of them, so a word is classified
/// once and its delimiters taken from its mask.
fn unquoted_fields(bytes: &[u8], mut start: usize, record: &mut Record) -> Stop {
    let mut word_at = start;
    loop {
        let mut mask = delimiters(bytes, word_at);
        while mask != 0 {
            let at = word_at + (mask.trailing_zeros() / 8) as usize;
            record.fields.push((start, at, false));
            if bytes[at] != b',' {
                return Stop::LineEnd(at);
            }
            start = at + 1;
            if bytes.get(start) == Some(&b'"') {
                return Stop::Quote(start);
            }
            mask &= mask - 1;
        }
        word_at += 8;
        if word_at >= bytes.len() {
            record.fields.push((start, bytes.len(), false));
            return Stop::End;
        }
    }
}

const LOW_SEVEN_BITS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const EVERY_BYTE: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of the word at `bytes[at..]` (padded with zeros past the
/// end) that is `,`, `\n` or `\r`, in byte order from the lowest bit.
fn delimiters(bytes: &[u8], at: usize) -> u64 {
    let word = match bytes.get(at..at + 8) {
        Some(eight) => u64::from_le_bytes(eight.try_into().expect("eight bytes")),
        None => {
            let mut padded = [0u8; 8];
            let tail = &bytes[at.min(bytes.len())..];
            padded[..tail.len()].copy_from_slice(tail);
            u64::from_le_bytes(padded)
        }
    };
    let equal = |b: u8| zero_bytes(word ^ (u64::from(b) * EVERY_BYTE));
    equal(b',') | equal(b'\n') | equal(b'\r')
}

/// The high bit of each zero byte of `v`, exactly (no carry crosses a byte).
fn zero_bytes(v: u64) -> u64 {
    !(((v & LOW_SEVEN_BITS) + LOW_SEVEN_BITS) | v | LOW_SEVEN_BITS)
}

/// Reads the record at `start`, expecting `expected` fields (`None`: any number, for the
/// header), applying the resynchronisation rule of this module's comment.
pub(crate) fn read(bytes: &[u8], start: usize, expected: Option<usize>, record: &mut Record) -> Read {
    let mut split = tokenize(bytes, start, true, record);
    // The first pass looks furthest; a line end at the last byte may be a `\r` whose `\n`
    // comes next, so reaching the end counts as having looked past it.
    let reached_end = split.end == bytes.len();
    let wrong_count = expected.is_some_and(|n| n != record.len());
    if split.lines > 1 && (split.damage.is_some() || wrong_count) {
        split = tokenize(bytes, start, false, record);
    }
    let result = match split.damage {
        Some(Damage::AfterQuote { field, found }) => Err((
            Some(field),
            format!("a closing quote must be followed by a delimiter or a line end, found {}", show_byte(found)),
        )),
        Some(Damage::Unterminated { field, at_eof }) => Err((
            Some(field),
            format!("quoted field not closed before the end of the {}", if at_eof { "file" } else { "line" }),
        )),
        None => match expected {
            Some(n) if n != record.len() => Err((
                None,
                if record.is_blank() {
                    format!("blank line (expected {n} fields)")
                } else {
                    format!("expected {n} fields, found {}", record.len())
                },
            )),
            _ => Ok(()),
        },
    };
    Read { end: split.end, lines: split.lines, result, reached_end }
}

fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() || b == b' ' { format!("'{}'", b as char) } else { format!("byte 0x{b:02x}") }
}

/// Counts the physical lines of `bytes` (`\n`, `\r\n`, lone `\r`; a last line without a
/// line end counts), independently of quoting: what every record's `lines` must add up to.
#[cfg(test)]
pub(crate) fn count_lines(bytes: &[u8]) -> u64 {
    let mut lines = 0;
    let mut p = 0;
    while p < bytes.len() {
        p = line_end(bytes, p);
        lines += 1;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `text` as (first line, lines, fields or the reason).
    fn records(text: &[u8], expected: usize) -> Vec<(u64, u64, Result<Vec<String>, String>)> {
        let mut out = Vec::new();
        let (mut p, mut line, mut record) = (0, 1, Record::default());
        while p < text.len() {
            let r = read(text, p, Some(expected), &mut record);
            assert!(r.end > p, "no progress at {p}");
            let fields = r
                .result
                .map(|()| (0..record.len()).map(|i| String::from_utf8_lossy(record.field(text, i)).into()).collect())
                .map_err(|(_, reason)| reason);
            out.push((line, r.lines, fields));
            line += r.lines;
            p = r.end;
        }
        out
    }

    fn ok(fields: &[&str]) -> Result<Vec<String>, String> {
        Ok(fields.iter().map(|f| f.to_string()).collect())
    }

    #[test]
    fn quotes_delimiters_escapes_and_line_ends_inside_quotes() {
        let got = records(b"1,\"a, \"\"b\"\"\",x\r\n2,\"two\nlines\",\r3,,\"\"", 3);
        assert_eq!(
            got,
            [(1, 1, ok(&["1", "a, \"b\"", "x"])), (2, 2, ok(&["2", "two\nlines", ""])), (4, 1, ok(&["3", "", ""]))]
        );
    }

    #[test]
    fn a_missing_closing_quote_costs_only_its_own_line() {
        // The issue's case: the quote of `time` never closes; the next lap must still load.
        let text = b"865,39,55,12,\"1:23.013,83013\n865,39,56,12,\"1:23.925\",83925\n865,39,57,12,\"1:24.000\",84000\n";
        let got = records(text, 6);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!((got[0].0, got[0].1), (1, 1));
        assert_eq!(got[0].2, Err("quoted field not closed before the end of the line".into()));
        assert_eq!(got[1], (2, 1, ok(&["865", "39", "56", "12", "1:23.925", "83925"])));
        assert_eq!(got[2].0, 3);
    }

    #[test]
    fn a_bad_character_after_a_closing_quote_rejects_that_line_only() {
        let got = records(b"1,\"a\"b,c\n2,\"d\",e\n", 3);
        assert_eq!(got[0].2, Err("a closing quote must be followed by a delimiter or a line end, found 'b'".into()));
        assert_eq!(got[1], (2, 1, ok(&["2", "d", "e"])));
    }

    #[test]
    fn a_well_quoted_record_with_the_wrong_field_count_does_not_swallow_lines() {
        // Two stray quotes pair up across three lines; the record they make has too many
        // fields, so only its first line is rejected.
        let got = records(b"1,\"a\n2,b,c\n3,d\",e,f\n4,f,g\n", 3);
        assert_eq!(got[0], (1, 1, Err("quoted field not closed before the end of the line".into())));
        assert_eq!(got[1], (2, 1, ok(&["2", "b", "c"])));
        assert_eq!(got[2], (3, 1, Err("expected 3 fields, found 4".into())));
        assert_eq!(got[3], (4, 1, ok(&["4", "f", "g"])));
    }

    #[test]
    fn lone_carriage_returns_end_lines_and_are_counted() {
        let text = b"1,a,b\r2,x\r3,c,d\r\n4,e,f";
        let got = records(text, 3);
        let lines: Vec<u64> = got.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 2, 3, 4]);
        assert_eq!(got[1].2, Err("expected 3 fields, found 2".into()));
        assert_eq!(count_lines(text), 4);
    }

    #[test]
    fn a_quote_open_past_the_record_size_limit_costs_only_its_own_line() {
        let mut text = b"1,\"open\n".to_vec();
        // Lines that would close the quote and make a well-formed 3-field record, but only
        // after more than MAX_RECORD_BYTES.
        let filler = b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
        while text.len() <= MAX_RECORD_BYTES {
            text.extend_from_slice(filler);
        }
        text.extend_from_slice(b"end\",b,c\n");
        let got = records(&text, 3);
        assert_eq!(got[0], (1, 1, Err("quoted field not closed before the end of the line".into())));
        assert_eq!(got[1].2, Err("expected 3 fields, found 1".into()));
        // Within the limit the same shape is one record.
        let short = records(b"1,\"open\nxx\nend\",b\n", 3);
        assert_eq!(short, [(1, 3, ok(&["1", "open\nxx\nend", "b"]))]);
    }

    #[test]
    fn a_read_says_whether_it_looked_at_the_last_byte() {
        let mut record = Record::default();
        let reached = |text: &[u8], record: &mut Record| read(text, 0, Some(2), record).reached_end;
        assert!(!reached(b"1,a\n2,b", &mut record));
        assert!(reached(b"1,a\n", &mut record), "a line end at the last byte");
        assert!(reached(b"1,a\r", &mut record), "a \\r that a \\n may follow");
        assert!(reached(b"1,a", &mut record));
        assert!(reached(b"1,\"a\n2,b\n", &mut record), "an open quote scans on");
        assert!(!reached(b"1,\"a\"\n2,b", &mut record));
    }

    #[test]
    fn a_word_marks_exactly_its_delimiters_and_no_byte_past_the_end() {
        assert_eq!(delimiters(b"ab,c\nd\re", 0), 0x80 << 16 | 0x80 << 32 | 0x80 << 48);
        // Bytes that differ from a delimiter by one bit, or have the high bit set, are not it.
        assert_eq!(delimiters(b"-.\x0b\x0c\xac\x8a\x8d\x00", 0), 0);
        assert_eq!(delimiters(b"x,y", 1), 0x80, "a short tail is padded, not read past");
        assert_eq!(delimiters(b"xyz", 3), 0);
    }

    #[test]
    fn unquoted_fields_across_words_stop_at_a_quoted_one() {
        let text = b"12345678,123456789,,x,\"q\",z\n";
        let got = records(text, 6);
        assert_eq!(got, [(1, 1, ok(&["12345678", "123456789", "", "x", "q", "z"]))]);
        assert_eq!(records(b"a,b,", 3), [(1, 1, ok(&["a", "b", ""]))]);
    }

    #[test]
    fn truncated_inside_quotes_and_blank_lines_are_named() {
        let got = records(b"1,a,b\n\n2,\"c", 3);
        assert_eq!(got[1], (2, 1, Err("blank line (expected 3 fields)".into())));
        assert_eq!(got[2], (3, 1, Err("quoted field not closed before the end of the file".into())));
    }
}
