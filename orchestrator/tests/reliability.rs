//! The loader against damaged inputs and bad configs: a table of cases, each run through
//! the real `pitwall` binary on a damaged copy of `fixtures/f1_tiny`, asserting the exit
//! status and what the output names (file, line, column, reason); a fatal run must leave
//! every warehouse file byte-identical.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::support::{checkout_toml, copy_source, fixture, load_row, pitwall, real_data, snapshot};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// Exit 0.
    Ok,
    /// Loads, then data tests fail: exit non-zero with FAIL lines.
    TestsFail,
    /// Exit non-zero before anything in the warehouse changes.
    Fatal,
}

struct Case {
    name: &'static str,
    /// Damage done to the copy of the tiny source.
    damage: fn(&Path),
    /// An edit of the repo's pitwall.toml, written to a project dir of the case's own.
    config: Option<fn(&str) -> String>,
    args: &'static [&'static str],
    outcome: Outcome,
    /// Each must appear in the output (stdout or stderr).
    says: &'static [&'static str],
}

/// Builds one view: loads every source file, stores the raw tables, little else.
const RUN: &[&str] = &["run", "-s", "stg_f1_circuits"];
/// Loads and runs the source tests of circuits and status (and their staging views).
const TESTS: &[&str] = &["build", "-s", "source:formula1.circuits+1", "source:formula1.status+1"];

fn edit(dir: &Path, file: &str, f: impl FnOnce(Vec<u8>) -> Vec<u8>) {
    let path = dir.join(file);
    std::fs::write(&path, f(std::fs::read(&path).unwrap())).unwrap();
}

fn replace(dir: &Path, file: &str, from: &str, to: &[u8]) {
    edit(dir, file, |bytes| {
        let at = bytes.windows(from.len()).position(|w| w == from.as_bytes()).unwrap_or_else(|| panic!("{from}"));
        [&bytes[..at], to, &bytes[at + from.len()..]].concat()
    });
}

fn truncate_after(dir: &Path, file: &str, marker: &str) {
    edit(dir, file, |bytes| {
        let at = bytes.windows(marker.len()).position(|w| w == marker.as_bytes()).unwrap_or_else(|| panic!("{marker}"));
        bytes[..at + marker.len()].to_vec()
    });
}

/// Adds `line` to `[sources.formula1]` (after `schema = "raw"`, line 16: the added line is 17).
fn source_option(toml: &str, line: &str) -> String {
    toml.replacen("schema = \"raw\"\n", &format!("schema = \"raw\"\n{line}\n"), 1)
}

fn nothing(_: &Path) {}

/// lap_times.csv has one bad record of 8 (line 9, 4 fields) in the fixture.
const CASES: &[Case] = &[
    Case {
        name: "unterminated_quote_rejects_only_its_line",
        damage: |d| replace(d, "lap_times.csv", "\"1:28.500\"", b"\"1:28.500"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &[
            "lap_times.csv line 3, column time: quoted field not closed before the end of the line",
            "lap_times.csv line 9: expected 6 fields, found 4",
            "PARTIALLY_LOADED formula1.lap_times",
        ],
    },
    Case {
        name: "character_after_closing_quote_is_rejected",
        damage: |d| replace(d, "lap_times.csv", "\"1:28.500\"", b"\"1:28.500\"x"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &[
            "lap_times.csv line 3, column time: a closing quote must be followed by a delimiter or a line end, found 'x'",
        ],
    },
    Case {
        name: "lone_cr_line_ends_keep_line_numbers",
        damage: |d| edit(d, "lap_times.csv", |b| b.iter().map(|&c| if c == b'\n' { b'\r' } else { c }).collect()),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["lap_times.csv line 9: expected 6 fields, found 4"],
    },
    Case {
        name: "crlf_line_ends_keep_line_numbers",
        damage: |d| edit(d, "lap_times.csv", |b| String::from_utf8(b).unwrap().replace('\n', "\r\n").into_bytes()),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["lap_times.csv line 9: expected 6 fields, found 4"],
    },
    Case {
        name: "utf8_bom_loads_without_header_warning",
        damage: |d| edit(d, "circuits.csv", |b| [b"\xef\xbb\xbf".as_slice(), &b].concat()),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["LOADED           formula1.circuits"],
    },
    Case {
        name: "truncated_last_line_is_rejected_with_its_field_count",
        damage: |d| truncate_after(d, "circuits.csv", "45.6156,"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["circuits.csv line 3: expected 9 fields, found 7"],
    },
    Case {
        name: "truncated_inside_quotes_names_the_column",
        damage: |d| truncate_after(d, "circuits.csv", "wiki/Autodromo"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["circuits.csv line 3, column url: quoted field not closed before the end of the file"],
    },
    Case {
        name: "too_many_fields",
        damage: |d| replace(d, "constructors.csv", "\"McLaren\",", b"\"McLaren\",\"extra\","),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["constructors.csv line 2: expected 5 fields, found 6"],
    },
    Case {
        name: "too_few_fields",
        damage: |d| replace(d, "status.csv", "5,\"Engine\"", b"5"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["status.csv line 3: expected 2 fields, found 1"],
    },
    Case {
        name: "blank_line_is_a_rejected_record",
        damage: |d| replace(d, "status.csv", "5,", b"\n5,"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["status.csv line 3: blank line (expected 2 fields)"],
    },
    Case {
        name: "non_utf8_text_is_rejected",
        damage: |d| replace(d, "drivers.csv", "Hamilton", b"Ham\xffilton"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["drivers.csv line 2, column surname: the field is not valid UTF-8"],
    },
    Case {
        name: "nul_byte_in_text_loads",
        damage: |d| replace(d, "status.csv", "Finished", b"Fini\0shed"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["LOADED           formula1.status"],
    },
    Case {
        name: "nul_byte_in_number_is_rejected",
        damage: |d| replace(d, "constructors.csv", "2,\"ferrari\"", b"2\0,\"ferrari\""),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["constructors.csv line 3, column constructorid: '2\0' is not a number"],
    },
    Case {
        name: "ten_mb_text_field_loads",
        damage: |d| {
            replace(d, "circuits.csv", "Monza\",\"Italy", format!("{}\",\"Italy", "M".repeat(10 << 20)).as_bytes())
        },
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["LOADED           formula1.circuits"],
    },
    Case {
        name: "ten_mb_number_field_is_rejected_with_a_short_reason",
        damage: |d| replace(d, "circuits.csv", ",162,", format!(",{},", "9".repeat(10 << 20)).as_bytes()),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &[
            "circuits.csv line 3, column alt: '9999999999999999999999999999999999999999…' is out of the integer range",
        ],
    },
    Case {
        name: "overflowing_integer_is_rejected",
        damage: |d| replace(d, "results.csv", ",5040000,", b",99999999999999999999,"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["results.csv line 2, column milliseconds: '99999999999999999999' is out of the integer range"],
    },
    Case {
        name: "impossible_date_is_rejected",
        damage: |d| replace(d, "races.csv", "2020-03-15", b"2020-02-30"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["races.csv line 2, column date: '2020-02-30' is not a valid date (YYYY-MM-DD)"],
    },
    Case {
        name: "bad_float_is_rejected",
        damage: |d| replace(d, "circuits.csv", "-37.8497", b"south"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["circuits.csv line 2, column lat: 'south' is not a number"],
    },
    Case {
        name: "quoted_line_break_loads_as_one_record",
        damage: |d| replace(d, "circuits.csv", "Albert Park Grand", b"Albert Park\nGrand"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["LOADED           formula1.circuits from", "(3 lines)"],
    },
    Case {
        name: "null_key_loads_then_fails_not_null",
        damage: |d| replace(d, "circuits.csv", "2,\"monza\"", b"\\N,\"monza\""),
        config: None,
        args: TESTS,
        outcome: Outcome::TestsFail,
        says: &["FAIL 1 source_not_null_formula1_circuits_circuitid"],
    },
    Case {
        name: "duplicate_key_loads_then_fails_unique",
        damage: |d| edit(d, "status.csv", |b| [b.as_slice(), b"1,\"Again\"\n"].concat()),
        config: None,
        args: TESTS,
        outcome: Outcome::TestsFail,
        says: &["FAIL 1 source_unique_formula1_status_statusid"],
    },
    Case {
        name: "missing_file_is_fatal",
        damage: |d| std::fs::remove_file(d.join("races.csv")).unwrap(),
        config: None,
        args: RUN,
        outcome: Outcome::Fatal,
        says: &["races.csv: source file for table formula1.races not found (nor races.csv.gz)"],
    },
    Case {
        name: "directory_instead_of_file_is_named",
        damage: |d| {
            std::fs::remove_file(d.join("races.csv")).unwrap();
            std::fs::create_dir(d.join("races.csv")).unwrap();
        },
        config: None,
        args: RUN,
        outcome: Outcome::Fatal,
        says: &["races.csv: source file for table formula1.races is a directory, not a file"],
    },
    Case {
        // Root reads through any permission bits, so the unreadable file here is a FIFO
        // no one writes: opening it would block a reader forever.
        name: "unreadable_fifo_instead_of_file_is_named_without_hanging",
        damage: |d| {
            std::fs::remove_file(d.join("status.csv")).unwrap();
            let made = std::process::Command::new("mkfifo").arg(d.join("status.csv")).status().unwrap();
            assert!(made.success(), "mkfifo failed");
        },
        config: None,
        args: RUN,
        outcome: Outcome::Fatal,
        says: &["status.csv: source file for table formula1.status is not a regular file"],
    },
    Case {
        name: "empty_file_is_load_failed",
        damage: |d| std::fs::write(d.join("status.csv"), b"").unwrap(),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["WARNING: LOAD_FAILED formula1.status:", "status.csv: the file is empty"],
    },
    Case {
        name: "header_only_file_is_load_failed",
        damage: |d| {
            std::fs::write(d.join("pit_stops.csv"), b"raceId,driverId,stop,lap,time,duration,milliseconds\n").unwrap()
        },
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["WARNING: LOAD_FAILED formula1.pit_stops:", "pit_stops.csv: no data lines after the header"],
    },
    Case {
        name: "random_bytes_file_is_load_failed",
        damage: |d| {
            let mut x = 0x2545_f491_4f6c_dd1d_u64;
            let bytes: Vec<u8> = (0..4096)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            std::fs::write(d.join("constructors.csv"), bytes).unwrap();
        },
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["WARNING: LOAD_FAILED formula1.constructors:", "constructors.csv line 1: the header differs"],
    },
    Case {
        name: "all_records_rejected_is_load_failed",
        damage: |d| std::fs::write(d.join("status.csv"), b"statusId,status\nx,\"a\"\ny,\"b\"\n").unwrap(),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &[
            "WARNING: LOAD_FAILED formula1.status:",
            "every record was rejected",
            "status.csv line 3, column statusid",
        ],
    },
    Case {
        name: "gzip_named_csv_loads",
        damage: |d| {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&std::fs::read(d.join("circuits.csv")).unwrap()).unwrap();
            std::fs::write(d.join("circuits.csv"), gz.finish().unwrap()).unwrap();
        },
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["LOADED           formula1.circuits"],
    },
    Case {
        name: "truncated_gzip_is_fatal",
        damage: |d| {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&std::fs::read(d.join("status.csv")).unwrap()).unwrap();
            let bytes = gz.finish().unwrap();
            std::fs::remove_file(d.join("status.csv")).unwrap();
            std::fs::write(d.join("status.csv.gz"), &bytes[..bytes.len() - 6]).unwrap();
        },
        config: None,
        args: RUN,
        outcome: Outcome::Fatal,
        says: &["status.csv.gz: cannot decompress gzip"],
    },
    Case {
        name: "renamed_header_column_is_warned",
        damage: |d| replace(d, "circuits.csv", "circuitRef,name,", b"circuitRef,title,"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &["circuits.csv line 1: the header differs", "renamed columns: column 3 is 'title' (declared 'name')"],
    },
    Case {
        name: "swapped_lat_lng_header_is_warned",
        damage: |d| replace(d, "circuits.csv", "lat,lng", b"lng,lat"),
        config: None,
        args: RUN,
        outcome: Outcome::Ok,
        says: &[
            "circuits.csv line 1: the header differs",
            "reordered columns: column 6 is 'lng' (declared 'lat'), column 7 is 'lat' (declared 'lng')",
        ],
    },
    Case {
        name: "match_by_name_loads_reordered_header_and_ignores_extra",
        damage: |d| {
            replace(d, "circuits.csv", "lat,lng,alt,url", b"url,alt,lng,lat,extra");
            replace(
                d,
                "circuits.csv",
                "-37.8497,144.968,10,\"http://en.wikipedia.org/wiki/Melbourne_Grand_Prix_Circuit\"",
                b"\"http://x\",10,144.968,-37.8497,1",
            );
            replace(
                d,
                "circuits.csv",
                "45.6156,9.28111,162,\"http://en.wikipedia.org/wiki/Autodromo_Nazionale_Monza\"",
                b"\"http://y\",162,9.28111,45.6156,2",
            );
        },
        config: Some(|t| source_option(t, "match_by_column_name = \"CASE_INSENSITIVE\"")),
        args: RUN,
        outcome: Outcome::Ok,
        says: &["header columns that are not declared are ignored: extra", "LOADED           formula1.circuits"],
    },
    Case {
        name: "skip_file_skips_a_file_with_one_error",
        damage: nothing,
        config: Some(|t| source_option(t, "on_error = \"skip_file\"")),
        args: RUN,
        outcome: Outcome::Ok,
        says: &["skipped by on_error = skip_file: 1 of 8 records rejected", "WARNING: LOAD_FAILED formula1.lap_times"],
    },
    Case {
        name: "skip_file_2_keeps_a_file_with_one_error",
        damage: nothing,
        config: Some(|t| source_option(t, "on_error = \"SKIP_FILE_2\"")),
        args: RUN,
        outcome: Outcome::Ok,
        says: &["PARTIALLY_LOADED formula1.lap_times"],
    },
    Case {
        name: "skip_file_10_percent_skips_one_error_in_8",
        damage: nothing,
        config: Some(|t| source_option(t, "on_error = \"skip_file_10%\"")),
        args: RUN,
        outcome: Outcome::Ok,
        says: &["skipped by on_error = skip_file_10%: 1 of 8 records rejected"],
    },
    Case {
        name: "skip_file_20_percent_keeps_one_error_in_8",
        damage: nothing,
        config: Some(|t| source_option(t, "on_error = \"skip_file_20%\"")),
        args: RUN,
        outcome: Outcome::Ok,
        says: &["PARTIALLY_LOADED formula1.lap_times"],
    },
    Case {
        name: "continue_explicitly_is_the_default",
        damage: nothing,
        config: Some(|t| source_option(t, "on_error = \"Continue\"")),
        args: RUN,
        outcome: Outcome::Ok,
        says: &["PARTIALLY_LOADED formula1.lap_times", "lap_times.csv line 9: expected 6 fields, found 4"],
    },
    Case {
        name: "abort_statement_fails_on_the_first_rejection",
        damage: nothing,
        config: Some(|t| source_option(t, "on_error = \"ABORT_STATEMENT\"")),
        args: RUN,
        outcome: Outcome::Fatal,
        says: &[
            "drivers.csv line 6: column dob: '1979-02-30' is not a valid date (YYYY-MM-DD) (on_error = abort_statement",
        ],
    },
    Case {
        name: "abort_statement_fails_on_an_unterminated_quote",
        damage: |d| replace(d, "circuits.csv", "\"Australia\"", b"\"Australia"),
        config: Some(|t| source_option(t, "on_error = \"abort_statement\"")),
        args: RUN,
        outcome: Outcome::Fatal,
        says: &[
            "circuits.csv line 2: column country: a closing quote must be followed by a delimiter or a line end, found 'h'",
        ],
    },
    Case {
        name: "unknown_on_error_value_names_line_and_accepted_values",
        damage: nothing,
        config: Some(|t| source_option(t, "on_error = \"skip\"")),
        args: RUN,
        outcome: Outcome::Fatal,
        says: &[
            "pitwall.toml:{option}: [sources.formula1] on_error = 'skip' is not valid (accepted: continue, skip_file, skip_file_<n>, skip_file_<n>%, abort_statement)",
        ],
    },
    Case {
        name: "skip_file_0_is_not_valid",
        damage: nothing,
        config: Some(|t| source_option(t, "on_error = \"skip_file_0\"")),
        args: RUN,
        outcome: Outcome::Fatal,
        says: &["pitwall.toml:{option}: [sources.formula1] on_error = 'skip_file_0' is not valid"],
    },
    Case {
        name: "non_string_on_error_is_a_toml_error",
        damage: nothing,
        config: Some(|t| source_option(t, "on_error = 3")),
        args: RUN,
        outcome: Outcome::Fatal,
        says: &["pitwall.toml", "line {option}"],
    },
    Case {
        name: "bad_match_by_column_name_names_accepted_values",
        damage: nothing,
        config: Some(|t| source_option(t, "match_by_column_name = \"yes\"")),
        args: RUN,
        outcome: Outcome::Fatal,
        says: &[
            "pitwall.toml:{option}: [sources.formula1] match_by_column_name = 'yes' is not valid (accepted: none, case_insensitive)",
        ],
    },
    Case {
        name: "misspelt_source_key_is_named",
        damage: nothing,
        config: Some(|t| source_option(t, "on_eror = \"continue\"")),
        args: RUN,
        outcome: Outcome::Fatal,
        says: &["line {option}", "on_eror"],
    },
    Case {
        name: "bad_toml_is_named",
        damage: nothing,
        config: Some(|t| t.replacen("schema = \"analytics\"", "schema = \"analytics", 1)),
        args: RUN,
        outcome: Outcome::Fatal,
        says: &["pitwall.toml", "line {schema}"],
    },
    Case {
        name: "empty_source_folder_is_fatal",
        damage: |d| {
            let all: Vec<PathBuf> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).collect();
            for p in all {
                std::fs::remove_file(p).unwrap();
            }
        },
        config: None,
        args: RUN,
        outcome: Outcome::Fatal,
        says: &["csv: source file for table formula1.", "not found (nor "],
    },
];

/// `says` with `{option}` the line `source_option` puts its option on and `{schema}` the
/// line of the first `schema = "analytics"`, in the project file `toml`.
fn lines_in(says: &str, toml: &str) -> String {
    let line_of = |text: &str| toml.lines().position(|l| l.starts_with(text)).expect("the line is in pitwall.toml") + 1;
    let option = line_of("schema = \"raw\"") + 1;
    says.replace("{option}", &option.to_string()).replace("{schema}", &line_of("schema = \"analytics\"").to_string())
}

fn restore(files: &[(PathBuf, Vec<u8>)], dir: &Path) {
    for (path, bytes) in files {
        let to = dir.join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
}

/// Runs `case` on its own damaged source, project dir and a copy of `base` (a built
/// warehouse); the problems found, if any.
fn run(case: &Case, base: &[(PathBuf, Vec<u8>)]) -> Vec<String> {
    let source = copy_source(&fixture("f1_tiny"));
    (case.damage)(source.path());
    let target = tempfile::tempdir().unwrap();
    let warehouse = target.path().join("warehouse");
    restore(base, &warehouse);
    let project = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = case.args.to_vec();
    let project_dir = project.path().to_str().unwrap();
    let toml = checkout_toml();
    if let Some(config) = case.config {
        std::fs::write(project.path().join("pitwall.toml"), config(&toml)).unwrap();
        args.extend(["--project-dir", project_dir]);
    }
    args.extend(["--source", source.path().to_str().unwrap()]);
    let run = pitwall(target.path(), &args);
    let all = run.all();
    let mut problems = Vec::new();
    let failed_tests = all.contains(" FAIL ");
    let got = match (run.ok(), failed_tests) {
        (true, _) => Outcome::Ok,
        (false, true) => Outcome::TestsFail,
        (false, false) => Outcome::Fatal,
    };
    if got != case.outcome {
        problems.push(format!("expected {:?}, got {got:?} (exit {:?})", case.outcome, run.output.status.code()));
    }
    for says in case.says {
        let says = lines_in(says, &toml);
        if !all.contains(&says) {
            problems.push(format!("does not say '{says}'"));
        }
    }
    // A header warning is wrong unless the case is about the header.
    if all.contains("header differs") && !case.says.iter().any(|s| s.contains("header differs")) {
        problems.push("warns about the header".to_owned());
    }
    if all.contains("panicked") {
        problems.push("panicked".to_owned());
    }
    if all.len() > 200_000 {
        problems.push(format!("{} bytes of output", all.len()));
    }
    if case.outcome == Outcome::Fatal && snapshot(&warehouse) != base {
        problems.push("the warehouse changed".to_owned());
    }
    if !problems.is_empty() {
        let shown: String = all.chars().take(6000).collect();
        problems.push(format!("output:\n{shown}"));
    }
    problems
}

#[test]
fn every_damaged_input_and_bad_config_is_loaded_rejected_or_refused_as_copy_would() {
    assert!(CASES.len() >= 40, "{} cases", CASES.len());
    // One warehouse built from the intact tiny source; each case starts from a copy.
    let base_target = tempfile::tempdir().unwrap();
    let tiny = fixture("f1_tiny");
    let built = pitwall(base_target.path(), &["run", "-s", "stg_f1_circuits", "--source", tiny.to_str().unwrap()]);
    assert!(built.ok(), "{}", built.all());
    let base = snapshot(&base_target.path().join("warehouse"));
    assert!(base.iter().any(|(p, _)| p.ends_with("raw/circuits.parquet")), "{base:?}");

    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some(case) = CASES.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let start = Instant::now();
                    let problems = run(case, &base);
                    let verdict = if problems.is_empty() { "ok" } else { "FAILED" };
                    println!("case {:<60} {:?} {verdict} in {:.1?}", case.name, case.outcome, start.elapsed());
                    if !problems.is_empty() {
                        failures.lock().unwrap().push(format!("{}: {}", case.name, problems.join("\n  ")));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), CASES.len(), failures.join("\n\n"));
}

/// The case on the real data: one closing quote removed from a `time` field deep in
/// lap_times (a file parsed in parallel chunks) costs exactly that line; the next lap loads.
#[test]
fn an_unterminated_quote_deep_in_real_lap_times_costs_exactly_one_line() {
    let source = copy_source(&real_data());
    let laps = source.path().join("lap_times.csv");
    let text = std::fs::read_to_string(&laps).unwrap();
    let damaged = "963,828,49,12,\"1:46.232\",106232\n";
    let at = text.find(damaged).unwrap();
    let line = text[..at].matches('\n').count() + 1;
    assert!(line > 300_000, "{line}");
    std::fs::write(&laps, text.replacen(damaged, "963,828,49,12,\"1:46.232,106232\n", 1)).unwrap();
    let target = tempfile::tempdir().unwrap();
    let run = pitwall(target.path(), &["run", "-s", "stg_f1_lap_times", "--source", source.path().to_str().unwrap()]);
    assert!(run.ok(), "{}", run.all());
    assert_eq!(load_row(&run.stdout, "lap_times"), Some([531950, 531949, 1]), "{}", run.stdout);
    let rejected =
        format!("lap_times.csv line {line}, column time: quoted field not closed before the end of the line");
    assert!(run.stdout.contains(&rejected), "{}", run.stdout);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.path().join("load_report.json")).unwrap()).unwrap();
    let laps = report["tables"].as_array().unwrap().iter().find(|t| t["table"] == "lap_times").unwrap();
    let got = [&laps["status"], &laps["lines"], &laps["loaded"], &laps["rejected_lines"]].map(|v| v.to_string());
    assert_eq!(got, ["\"PARTIALLY_LOADED\"", "531950", "531949", "1"]);
    let next = pitwall(
        target.path(),
        &["query", "select time from raw.lap_times where raceid = 963 and driverid = 828 and lap in (49, 50)"],
    );
    assert!(next.ok() && next.stdout.contains("1:45.177") && !next.stdout.contains("1:46.232"), "{}", next.all());
}
