//! The header line against the declared columns: warnings naming each difference, and
//! which field feeds which column (by position, or by name with COPY's
//! `MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE`).

use pitwall_core::config::MatchByColumnName;

/// How many names a warning lists before "and N more" (a header of random bytes would
/// otherwise print them all).
const LISTED: usize = 8;

/// How the fields of each record map onto the declared columns.
pub(crate) struct Mapping {
    /// For each declared column, the field it is read from (`None`: loads as NULL).
    pub(crate) positions: Vec<Option<usize>>,
    /// The number of fields a record must have.
    pub(crate) expected: usize,
    /// A name for each field position, for rejections.
    pub(crate) field_names: Vec<String>,
    /// Each difference between the header and the declared columns, worded for a warning.
    pub(crate) warnings: Vec<String>,
}

/// A header name as compared: whitespace, a BOM and surrounding quotes removed, lowercase.
fn normalize(name: &str) -> String {
    let trim = |s: &str| s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}').to_owned();
    trim(trim(name).trim_matches('"')).to_lowercase()
}

/// A name shortened for a message.
fn shown(name: &str) -> String {
    let mut out: String = name.chars().take(40).collect();
    if out.len() < name.len() {
        out.push('…');
    }
    out
}

fn listed(names: &[String]) -> String {
    let mut out = names.iter().take(LISTED).map(|n| shown(n)).collect::<Vec<_>>().join(", ");
    if names.len() > LISTED {
        out.push_str(&format!(" and {} more", names.len() - LISTED));
    }
    out
}

/// Compares `header` (its fields, or `None` when the header line itself is malformed)
/// with `declared` and decides the mapping.
pub(crate) fn map(declared: &[String], header: Option<&[String]>, mode: MatchByColumnName) -> Mapping {
    let compared = Compared::new(declared, header);
    match mode {
        MatchByColumnName::None => by_position(&compared),
        MatchByColumnName::CaseInsensitive => by_name(compared),
    }
}

/// The header and the declared columns side by side, their names normalized.
struct Compared<'a> {
    declared: &'a [String],
    header: Option<&'a [String]>,
    /// The declared columns' names, normalized.
    wanted: Vec<String>,
    /// The header's names, normalized.
    got: Vec<String>,
    /// Declared columns not in the header.
    missing: Vec<String>,
    /// Header fields that are not declared.
    extra: Vec<String>,
}

impl<'a> Compared<'a> {
    fn new(declared: &'a [String], header: Option<&'a [String]>) -> Compared<'a> {
        let wanted: Vec<String> = declared.iter().map(|d| normalize(d)).collect();
        let got: Vec<String> = header.unwrap_or_default().iter().map(|h| normalize(h)).collect();
        let missing: Vec<String> =
            declared.iter().zip(&wanted).filter(|(_, w)| !got.contains(w)).map(|(d, _)| d.clone()).collect();
        let extra: Vec<String> = header
            .unwrap_or_default()
            .iter()
            .zip(&got)
            .filter(|(_, g)| !wanted.contains(g))
            .map(|(h, _)| h.clone())
            .collect();
        Compared { declared, header, wanted, got, missing, extra }
    }

    /// Field `i` against the declared column at `i`, for a warning.
    fn differs_at(&self, i: usize) -> String {
        format!("column {} is '{}' (declared '{}')", i + 1, shown(&self.got[i]), self.declared[i])
    }
}

/// Fields loaded by position, one warning naming every difference.
fn by_position(c: &Compared) -> Mapping {
    let mut warnings = Vec::new();
    if c.header.is_some() && c.got != c.wanted {
        warnings.push(format!(
            "the header differs from the declared columns: {}; fields are loaded by position \
             (set match_by_column_name = \"case_insensitive\" to load by name)",
            differences(c).join("; ")
        ));
    }
    Mapping {
        positions: (0..c.declared.len()).map(Some).collect(),
        expected: c.declared.len(),
        field_names: c.declared.to_vec(),
        warnings,
    }
}

/// How a header that is not the declared columns differs from them: only reordered, or
/// each column renamed, missing or extra, and whether the shared ones are out of order.
fn differences(c: &Compared) -> Vec<String> {
    let (got, wanted) = (&c.got, &c.wanted);
    if c.missing.is_empty() && c.extra.is_empty() && got.len() == wanted.len() {
        let moved: Vec<String> = (0..got.len()).filter(|&i| got[i] != wanted[i]).map(|i| c.differs_at(i)).collect();
        return vec![format!("reordered columns: {}", moved.join(", "))];
    }
    let mut parts = Vec::new();
    let renamed: Vec<String> = (0..got.len().min(wanted.len()))
        .filter(|&i| got[i] != wanted[i] && !wanted.contains(&got[i]) && !got.contains(&wanted[i]))
        .map(|i| c.differs_at(i))
        .collect();
    if !renamed.is_empty() {
        parts.push(format!("renamed columns: {}", listed(&renamed)));
    }
    if !c.missing.is_empty() {
        parts.push(format!("missing columns: {}", listed(&c.missing)));
    }
    if !c.extra.is_empty() {
        parts.push(format!("extra columns: {}", listed(&c.extra)));
    }
    // Columns both sides have, compared in their order.
    let shared_got: Vec<&String> = got.iter().filter(|g| wanted.contains(g)).collect();
    let shared_wanted: Vec<&String> = wanted.iter().filter(|w| got.contains(w)).collect();
    if shared_got != shared_wanted || parts.is_empty() {
        parts.push("columns in another order".to_owned());
    }
    parts
}

/// Fields loaded by name (`MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE`), a warning for the
/// declared columns the header lacks and one for the fields it has besides.
fn by_name(c: Compared) -> Mapping {
    let mut warnings = Vec::new();
    if !c.missing.is_empty() {
        warnings.push(format!("declared columns not in the header load as NULL: {}", listed(&c.missing)));
    }
    if !c.extra.is_empty() {
        warnings.push(format!("header columns that are not declared are ignored: {}", listed(&c.extra)));
    }
    Mapping {
        positions: c.wanted.iter().map(|w| c.got.iter().position(|g| g == w)).collect(),
        expected: c.got.len(),
        // The header's names as compared, one per field.
        field_names: c.got,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const DECLARED: &[&str] = &["circuitId", "name", "lat", "lng"];

    #[test]
    fn a_matching_header_ignores_case_quotes_whitespace_and_a_bom() {
        let header = names(&["\u{feff}CIRCUITID", " \"name\" ", "Lat", "lng"]);
        let m = map(&names(DECLARED), Some(&header), MatchByColumnName::None);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        assert_eq!(m.positions, [Some(0), Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn swapped_renamed_missing_and_extra_columns_are_each_named() {
        let swapped = names(&["circuitId", "name", "lng", "lat"]);
        let w = map(&names(DECLARED), Some(&swapped), MatchByColumnName::None).warnings;
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("reordered columns: column 3 is 'lng' (declared 'lat'), column 4 is 'lat' (declared 'lng')")
        );
        let renamed = names(&["circuitId", "title", "lat", "lng", "alt"]);
        let w = map(&names(DECLARED), Some(&renamed), MatchByColumnName::None).warnings;
        assert!(w[0].contains("renamed columns: column 2 is 'title' (declared 'name')"), "{w:?}");
        assert!(w[0].contains("missing columns: name"), "{w:?}");
        assert!(w[0].contains("extra columns: title, alt"), "{w:?}");
    }

    #[test]
    fn by_name_reads_each_column_from_its_header_field() {
        let header = names(&["LNG", "circuitid", "alt", "lat"]);
        let m = map(&names(DECLARED), Some(&header), MatchByColumnName::CaseInsensitive);
        assert_eq!(m.positions, [Some(1), None, Some(3), Some(0)]);
        assert_eq!(m.expected, 4);
        assert_eq!(
            m.warnings,
            [
                "declared columns not in the header load as NULL: name",
                "header columns that are not declared are ignored: alt"
            ]
        );
    }
}
