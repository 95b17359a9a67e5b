//! Scaled copies of the source data: `x<scale>` holds the original data and `scale - 1`
//! copies of races, results, pit_stops and lap_times, each a block of new seasons. Copy
//! `k` shifts race and result ids by `k` times a power of ten above the largest id (race
//! 18 of copy 3 is 30018 when race ids stay below 10000), so ids never collide and every
//! join keeps its cardinality, and years by `100 * k`. Circuits, constructors, drivers
//! and status are copied once, unchanged.
//!
//! Race dates are not shifted: a DATE has four-digit years, which 100 copies would pass
//! (2022 + 9900), and the models take the season from `year`; the date only feeds the
//! drivers' age, which so stays realistic.
//!
//! Each input file is read into memory once (the real data is 18 MB); the output is
//! streamed, copy after copy, so x100 (about 1.8 GB) is never held.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// What a shifted column holds, which decides how far each copy moves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shift {
    RaceId,
    ResultId,
    Year,
}

/// The tables copied per scale step and their shifted columns (header names,
/// case-insensitive).
pub(crate) const REPLICATED: &[(&str, &[(&str, Shift)])] = &[
    ("races", &[("raceId", Shift::RaceId), ("year", Shift::Year)]),
    ("results", &[("resultId", Shift::ResultId), ("raceId", Shift::RaceId)]),
    ("pit_stops", &[("raceId", Shift::RaceId)]),
    ("lap_times", &[("raceId", Shift::RaceId)]),
];

/// The tables every scale shares as they are.
pub(crate) const UNCHANGED: &[&str] = &["circuits", "constructors", "drivers", "status"];

/// Years a copy moves by, per copy.
const YEARS_PER_COPY: i64 = 100;

/// Bumped when the generated data changes, so older folders are regenerated.
const FORMAT: &str = "pitwall bench data v1";

/// Written last into a generated folder: a folder without it (or with another content) is
/// regenerated.
const MARKER: &str = ".complete";

/// One integer field of a record that a copy shifts: its byte range in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cut {
    start: usize,
    end: usize,
    value: i64,
    shift: Shift,
}

/// A CSV file split once into its header and body, with the position of every field a
/// copy rewrites; each copy is then the body with those fields replaced.
#[derive(Debug)]
pub(crate) struct Template {
    text: Vec<u8>,
    /// Where the body starts (after the header's line end).
    body: usize,
    cuts: Vec<Cut>,
}

/// How far copy 1 moves each kind of id; copy `k` moves them `k` times as far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Offsets {
    pub(crate) race_id: i64,
    pub(crate) result_id: i64,
}

impl Offsets {
    fn delta(self, shift: Shift, copy: i64) -> i64 {
        copy * match shift {
            Shift::RaceId => self.race_id,
            Shift::ResultId => self.result_id,
            Shift::Year => YEARS_PER_COPY,
        }
    }

    /// The smallest power of ten above every id of each kind in `templates`.
    pub(crate) fn covering(templates: &[&Template]) -> Offsets {
        let above = |shift: Shift| {
            let max = templates.iter().flat_map(|t| &t.cuts).filter(|c| c.shift == shift).map(|c| c.value).max();
            let mut power = 10i64;
            while power <= max.unwrap_or(0) {
                power *= 10;
            }
            power
        };
        Offsets { race_id: above(Shift::RaceId), result_id: above(Shift::ResultId) }
    }
}

/// The byte ranges of one record's fields, and where the next record starts. Quotes are
/// CSV's: a field in double quotes may hold commas, doubled quotes and line ends.
fn record_fields(text: &[u8], start: usize) -> (Vec<(usize, usize)>, usize) {
    let mut fields = Vec::new();
    let mut field_start = start;
    let mut quoted = false;
    let mut i = start;
    while i < text.len() {
        match text[i] {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                fields.push((field_start, i));
                field_start = i + 1;
            }
            b'\n' if !quoted => {
                let end = if i > field_start && text[i - 1] == b'\r' { i - 1 } else { i };
                fields.push((field_start, end));
                return (fields, i + 1);
            }
            _ => {}
        }
        i += 1;
    }
    if field_start < text.len() || !fields.is_empty() {
        let end = if text.ends_with(b"\r") && text.len() > field_start { text.len() - 1 } else { text.len() };
        fields.push((field_start, end));
    }
    (fields, text.len())
}

/// An unquoted decimal integer (an optional minus, then digits); anything else (`\N`, an
/// empty or quoted field) is not shifted.
fn integer(field: &[u8]) -> Option<i64> {
    let digits = field.strip_prefix(b"-").unwrap_or(field);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse().ok()
}

impl Template {
    /// Splits `text` (a whole CSV file, header first) and finds the `columns` by their
    /// header names. `file` names the file in errors.
    pub(crate) fn parse(file: &str, text: Vec<u8>, columns: &[(&str, Shift)]) -> Result<Template> {
        let (header, body) = record_fields(&text, 0);
        let name = |&(start, end): &(usize, usize)| {
            let field = String::from_utf8_lossy(&text[start..end]);
            field.trim_start_matches('\u{feff}').trim_matches('"').to_ascii_lowercase()
        };
        let names: Vec<String> = header.iter().map(name).collect();
        let mut positions = Vec::new();
        for &(column, shift) in columns {
            let Some(index) = names.iter().position(|n| n.eq_ignore_ascii_case(column)) else {
                bail!("{file}: no column '{column}' in its header ({})", names.join(","));
            };
            positions.push((index, shift));
        }
        let mut cuts = Vec::new();
        let mut at = body;
        while at < text.len() {
            let (fields, next) = record_fields(&text, at);
            for &(index, shift) in &positions {
                if let Some(&(start, end)) = fields.get(index)
                    && let Some(value) = integer(&text[start..end])
                {
                    cuts.push(Cut { start, end, value, shift });
                }
            }
            at = next;
        }
        Ok(Template { text, body, cuts })
    }

    /// Writes the header line.
    pub(crate) fn write_header(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(&self.text[..self.body])?;
        if self.body > 0 && !self.text[..self.body].ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Writes the body of copy `copy` (0: the original records).
    pub(crate) fn write_copy(&self, copy: i64, offsets: Offsets, out: &mut impl Write) -> std::io::Result<()> {
        let mut from = self.body;
        if copy != 0 {
            let mut digits = [0u8; 20];
            for cut in &self.cuts {
                out.write_all(&self.text[from..cut.start])?;
                out.write_all(format_integer(cut.value + offsets.delta(cut.shift, copy), &mut digits))?;
                from = cut.end;
            }
        }
        out.write_all(&self.text[from..])?;
        // A last record without its line end gets one, so the next copy starts a record.
        if self.text.len() > self.body && !self.text.ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// `value` in decimal, without allocating (the generator writes millions of them).
fn format_integer(value: i64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut n = value.unsigned_abs();
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        buffer[at] = b'-';
    }
    &buffer[at..]
}

/// A source table's text: `<table>.csv`, or `<table>.csv.gz` through `gzip -dc`.
fn read_table(source: &Path, table: &str) -> Result<(PathBuf, Vec<u8>)> {
    let plain = source.join(format!("{table}.csv"));
    if plain.is_file() {
        let text = fs::read(&plain).with_context(|| format!("cannot read {}", plain.display()))?;
        return Ok((plain, text));
    }
    let gzip = source.join(format!("{table}.csv.gz"));
    if gzip.is_file() {
        let output =
            Command::new("gzip").arg("-dc").arg(&gzip).output().context("cannot run gzip to read the source")?;
        if !output.status.success() {
            bail!("gzip -dc {} failed: {}", gzip.display(), String::from_utf8_lossy(&output.stderr).trim());
        }
        return Ok((gzip, output.stdout));
    }
    bail!("{} has neither {table}.csv nor {table}.csv.gz", source.display())
}

/// What the marker of a complete folder says: the format, the scale and each source
/// file's path, size and modification time, so a changed source regenerates.
fn marker_text(source: &Path, scale: u32) -> Result<String> {
    let mut text = format!("{FORMAT}\nscale {scale}\n");
    for table in REPLICATED.iter().map(|(t, _)| *t).chain(UNCHANGED.iter().copied()) {
        for name in [format!("{table}.csv"), format!("{table}.csv.gz")] {
            let path = source.join(name);
            if let Ok(meta) = fs::metadata(&path) {
                let modified = meta.modified().ok().and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok());
                let nanos = modified.map_or(0, |m| m.as_nanos());
                text.push_str(&format!("{} {} {nanos}\n", path.display(), meta.len()));
                break;
            }
        }
    }
    Ok(text)
}

/// Total size of the CSV files in `folder`.
pub(crate) fn folder_bytes(folder: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(folder).with_context(|| format!("cannot list {}", folder.display()))? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().ends_with(".csv") {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

/// Makes `dest` hold the data at `scale`, unless a complete generation of the same
/// source and scale is there already. Returns whether it generated.
pub(crate) fn ensure(source: &Path, scale: u32, dest: &Path) -> Result<bool> {
    let marker = marker_text(source, scale)?;
    if fs::read_to_string(dest.join(MARKER)).is_ok_and(|found| found == marker) {
        return Ok(false);
    }
    if dest.exists() {
        fs::remove_dir_all(dest).with_context(|| format!("cannot remove {}", dest.display()))?;
    }
    fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let mut templates = Vec::new();
    for &(table, columns) in REPLICATED {
        let (path, text) = read_table(source, table)?;
        templates.push((table, Template::parse(&path.display().to_string(), text, columns)?));
    }
    let offsets = Offsets::covering(&templates.iter().map(|(_, t)| t).collect::<Vec<_>>());
    for (table, template) in &templates {
        let path = dest.join(format!("{table}.csv"));
        let write = || -> std::io::Result<()> {
            let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
            template.write_header(&mut out)?;
            for copy in 0..i64::from(scale) {
                template.write_copy(copy, offsets, &mut out)?;
            }
            out.into_inner().map_err(|e| e.into_error())?.sync_all()
        };
        write().with_context(|| format!("cannot write {}", path.display()))?;
    }
    for table in UNCHANGED {
        let (_, text) = read_table(source, table)?;
        let path = dest.join(format!("{table}.csv"));
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    fs::write(dest.join(MARKER), marker).with_context(|| format!("cannot write the marker in {}", dest.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RACES: &str = "raceId,year,round,name,date\n\
        1,2009,1,\"Australian Grand Prix\",\"2009-03-29\"\n\
        18,2008,1,\"A \"\"quoted\"\", comma, and\nline end\",2008-03-16\n\
        \\N,\\N,3,\"x\",\\N\n";

    fn copies(template: &Template, offsets: Offsets, scale: i64) -> String {
        let mut out = Vec::new();
        template.write_header(&mut out).unwrap();
        for copy in 0..scale {
            template.write_copy(copy, offsets, &mut out).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    fn races() -> Template {
        Template::parse("races.csv", RACES.as_bytes().to_vec(), REPLICATED[0].1).unwrap()
    }

    #[test]
    fn copy_zero_is_the_original_file_byte_for_byte() {
        let offsets = Offsets { race_id: 100, result_id: 1000 };
        assert_eq!(copies(&races(), offsets, 1), RACES);
    }

    #[test]
    fn each_copy_shifts_ids_by_k_offsets_and_years_by_100_k_and_keeps_quoted_fields_intact() {
        let template = races();
        let offsets = Offsets::covering(&[&template]);
        assert_eq!(offsets.race_id, 100, "the power of ten above the largest race id, 18");
        let text = copies(&template, offsets, 3);
        let expected = format!(
            "raceId,year,round,name,date\n{}{}{}",
            &RACES[RACES.find('\n').unwrap() + 1..],
            "101,2109,1,\"Australian Grand Prix\",\"2009-03-29\"\n\
             118,2108,1,\"A \"\"quoted\"\", comma, and\nline end\",2008-03-16\n\
             \\N,\\N,3,\"x\",\\N\n",
            "201,2209,1,\"Australian Grand Prix\",\"2009-03-29\"\n\
             218,2208,1,\"A \"\"quoted\"\", comma, and\nline end\",2008-03-16\n\
             \\N,\\N,3,\"x\",\\N\n",
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn columns_are_found_by_header_name_in_any_case_and_position() {
        let text = "RESULTID,points,raceid\r\n7,0.5,18\r\n9,\"1\",19";
        let template = Template::parse("results.csv", text.as_bytes().to_vec(), REPLICATED[1].1).unwrap();
        let offsets = Offsets { race_id: 100, result_id: 10 };
        assert_eq!(
            copies(&template, offsets, 2),
            "RESULTID,points,raceid\r\n7,0.5,18\r\n9,\"1\",19\n17,0.5,118\r\n19,\"1\",119\n"
        );
    }

    #[test]
    fn a_missing_shifted_column_is_an_error_naming_file_and_column() {
        let error = Template::parse("lap_times.csv", b"driverId,lap\n1,2\n".to_vec(), REPLICATED[3].1).unwrap_err();
        assert_eq!(error.to_string(), "lap_times.csv: no column 'raceId' in its header (driverid,lap)");
    }

    #[test]
    fn offsets_cover_the_largest_id_of_every_table_of_its_kind() {
        let results =
            Template::parse("results.csv", b"resultId,raceId\n99,5\n100,1096\n".to_vec(), REPLICATED[1].1).unwrap();
        let laps = Template::parse("lap_times.csv", b"raceId\n10000\n".to_vec(), REPLICATED[3].1).unwrap();
        assert_eq!(Offsets::covering(&[&results, &laps]), Offsets { race_id: 100_000, result_id: 1000 });
    }

    #[test]
    fn integers_format_as_decimal_text() {
        let mut buffer = [0u8; 20];
        for value in [0, 7, -7, 30018, i64::MAX, i64::MIN] {
            assert_eq!(format_integer(value, &mut buffer), value.to_string().as_bytes());
        }
    }

    #[test]
    fn generation_copies_unchanged_tables_replicates_the_others_and_is_reused_once_complete() {
        let root = std::env::temp_dir().join(format!("xtask-generate-{}", std::process::id()));
        let (source, dest) = (root.join("source"), root.join("x3"));
        fs::create_dir_all(&source).unwrap();
        fs::write(source.join("races.csv"), RACES).unwrap();
        fs::write(source.join("results.csv"), "resultId,raceId\n1,18\n").unwrap();
        fs::write(source.join("pit_stops.csv"), "raceId,driverId\n18,1\n").unwrap();
        fs::write(source.join("lap_times.csv"), "raceId,driverId\n18,1\n").unwrap();
        for table in UNCHANGED {
            fs::write(source.join(format!("{table}.csv")), format!("{table}Id,name\n1,\"a, b\"\n")).unwrap();
        }
        assert!(ensure(&source, 3, &dest).unwrap());
        let read = |table: &str| fs::read_to_string(dest.join(format!("{table}.csv"))).unwrap();
        assert_eq!(read("results"), "resultId,raceId\n1,18\n11,118\n21,218\n");
        assert_eq!(read("lap_times"), "raceId,driverId\n18,1\n118,1\n218,1\n");
        assert_eq!(read("status"), "statusId,name\n1,\"a, b\"\n");
        assert!(!ensure(&source, 3, &dest).unwrap(), "a complete folder is reused");
        fs::remove_file(dest.join(MARKER)).unwrap();
        assert!(ensure(&source, 3, &dest).unwrap(), "a folder without its marker is regenerated");
        fs::remove_dir_all(root).unwrap();
    }
}
