//! The DuckDB peers: their venvs, the model SQL they run (pitwall's own, from `pitwall
//! compile`, for one; idiomatic DuckDB SQL in `xtask/peer/idiomatic/` for the other), and
//! the row counts that show each did the same work as pitwall.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The layers whose models the peers run: every SQL model but ML's.
pub(crate) const LAYERS: &[&str] = &["staging", "intermediate", "marts"];

/// pitwall's SQL functions and DuckDB's names for them.
const FUNCTIONS: &[(&str, &str)] = &[("round_half_even(", "round_even(")];

/// `command`'s stdout, or an error quoting its stderr.
pub(crate) fn output(command: &mut Command) -> Result<String> {
    let output = command.output().with_context(|| format!("cannot start {command:?}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        bail!("{command:?} failed with {}:\n{}", output.status, lines[lines.len().saturating_sub(25)..].join("\n"));
    }
    String::from_utf8(output.stdout).with_context(|| format!("{command:?} printed non-UTF-8 output"))
}

/// How a peer gets its tables: which SQL it runs on which DuckDB.
pub(crate) struct PeerKind {
    /// Names its run folder and logs.
    pub(crate) key: &'static str,
    /// Names it in the table after DuckDB's version: `DuckDB 2.0.0 idiomatic`.
    pub(crate) label: &'static str,
    /// What SQL it runs, for the report's caption.
    pub(crate) description: &'static str,
    /// Its requirements file in `xtask/peer/`, pinning duckdb.
    pub(crate) requirements: &'static str,
    /// Its venv in cargo's target folder, one per DuckDB version.
    pub(crate) venv: &'static str,
}

/// The idiomatic peer, the one the targets of SPEC section 6 are set against: DuckDB 2.0
/// on SQL written as a DuckDB user writes it (`quantile_cont`, a window, `round`).
pub(crate) const IDIOMATIC: PeerKind = PeerKind {
    key: "duckdb2-idiomatic",
    label: "idiomatic",
    description: "idiomatic DuckDB SQL written for it (xtask/peer/idiomatic/: typed read_csv, and \
                  quantile_cont and a window with round() for the two aggregates)",
    requirements: "requirements-duckdb2.txt",
    venv: "venv-bench2",
};

/// The peer that runs pitwall's own compiled SQL (its pandas-exact quantiles and
/// rounding included), so it compares engines on the same plans.
pub(crate) const COMPILED: PeerKind = PeerKind {
    key: "duckdb-compiled",
    label: "pitwall's SQL",
    description: "pitwall's own compiled SQL (pitwall compile; both aggregates in SQL, with pandas' \
                  quartiles and rounding emulated; round_half_even renamed round_even)",
    requirements: "requirements.txt",
    venv: "venv-bench",
};

/// The venv's python with the duckdb pinned in `requirements`, created or updated when it
/// is missing or at another version. Returns python and duckdb's version.
pub(crate) fn install(requirements: &Path, venv: &Path) -> Result<(PathBuf, String)> {
    let (python, mut pinned) = install_pinned(requirements, venv, &[], &["duckdb"])?;
    Ok((python, pinned.remove("duckdb").unwrap_or_default()))
}

/// The `name==version` pins of a requirements file, by name; other lines (comments,
/// blank lines, ranges) are skipped.
pub(crate) fn pins(requirements: &str) -> BTreeMap<String, String> {
    requirements
        .lines()
        .filter_map(|line| {
            let (name, version) = line.split('#').next()?.trim().split_once("==")?;
            Some((name.trim().to_owned(), version.trim().to_owned()))
        })
        .collect()
}

/// Prints, as a JSON object, the installed version of each package named in argv (null
/// for a missing one).
const INSTALLED_VERSIONS: &str = "import importlib.metadata as m, json, sys
def version(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
print(json.dumps({name: version(name) for name in sys.argv[1:]}))";

/// The first pin of `pinned` that `python` does not have at its version, as text.
fn mismatch(python: &Path, pinned: &BTreeMap<String, String>) -> Result<Option<String>> {
    let printed = output(Command::new(python).args(["-c", INSTALLED_VERSIONS]).args(pinned.keys()))?;
    let installed: BTreeMap<String, Option<String>> = serde_json::from_str(&printed)
        .with_context(|| format!("{} printed no versions: {printed}", python.display()))?;
    Ok(pinned.iter().find_map(|(name, version)| match installed.get(name).cloned().flatten() {
        Some(found) if &found == version => None,
        Some(found) => Some(format!("{name} {found}, not {version}")),
        None => Some(format!("no {name} (pinned {version})")),
    }))
}

/// The venv's python with every package pinned (`name==version`) in `requirements`,
/// the venv created or updated when one is missing or at another version; `pip_args` go
/// to `pip install` (the dbt peer's `--no-deps`). `required` names the packages that the
/// file must pin. Returns python and the pins.
pub(crate) fn install_pinned(
    requirements: &Path,
    venv: &Path,
    pip_args: &[&str],
    required: &[&str],
) -> Result<(PathBuf, BTreeMap<String, String>)> {
    let text = fs::read_to_string(requirements).with_context(|| format!("cannot read {}", requirements.display()))?;
    let pinned = pins(&text);
    if let Some(missing) = required.iter().find(|name| !pinned.contains_key(**name)) {
        bail!("{} pins no {missing}==VERSION", requirements.display());
    }
    let python = venv.join("bin").join("python");
    // A venv that cannot answer (its python gone with a system upgrade) is installed again.
    if python.is_file() && matches!(mismatch(&python, &pinned), Ok(None)) {
        return Ok((python, pinned));
    }
    if !python.is_file() {
        println!("creating {} ...", venv.display());
        output(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    }
    println!("installing {} into {} ...", requirements.display(), venv.display());
    output(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(pip_args)
            .arg("-r")
            .arg(requirements),
    )?;
    if let Some(problem) = mismatch(&python, &pinned)? {
        bail!("{} has {problem} after installing {}", venv.display(), requirements.display());
    }
    Ok((python, pinned))
}

/// A model of the project as the manifest of `pitwall compile` lists it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Relation {
    pub(crate) schema: String,
    pub(crate) name: String,
}

/// The models and sources of a `manifest.json`: `(models, sources)`.
pub(crate) fn relations(manifest: &str) -> Result<(Vec<Relation>, Vec<Relation>)> {
    let manifest: serde_json::Value = serde_json::from_str(manifest).context("manifest.json is not JSON")?;
    let relation = |node: &serde_json::Value, name_key: &str| -> Result<Relation> {
        let field = |key: &str| node[key].as_str().map(str::to_owned).with_context(|| format!("a node without {key}"));
        Ok(Relation { schema: field("schema")?, name: field(name_key)? })
    };
    let mut models = Vec::new();
    for node in manifest["nodes"].as_object().context("manifest.json has no nodes")?.values() {
        if node["resource_type"] == "model" {
            models.push(relation(node, "name")?);
        }
    }
    let mut sources = Vec::new();
    for node in manifest["sources"].as_object().context("manifest.json has no sources")?.values() {
        sources.push(relation(node, "identifier").or_else(|_| relation(node, "name"))?);
    }
    Ok((models, sources))
}

/// Splits `pitwall compile`'s output into each model's SQL, in its order (the DAG's): a
/// model starts at its header line, `-- <name> (<file>)`, at the start or after a blank
/// line. Only `models` are looked for, so a comment in a model's SQL is not a header.
pub(crate) fn split_compiled<'a>(compiled: &str, models: &'a [Relation]) -> Result<Vec<(&'a Relation, String)>> {
    let mut sections: Vec<(&Relation, Vec<&str>)> = Vec::new();
    let mut previous_blank = true;
    for line in compiled.lines() {
        let header = line.strip_prefix("-- ").and_then(|rest| {
            let (name, file) = rest.split_once(' ')?;
            (previous_blank && file.starts_with('(') && file.ends_with(')'))
                .then(|| models.iter().find(|m| m.name == name))?
        });
        if let Some(model) = header {
            sections.push((model, Vec::new()));
        } else if line.starts_with("-- ") && line.contains(" is written in Rust (") && previous_blank {
            bail!("the peer has no SQL for a model written in Rust: {line}");
        } else if let Some((_, lines)) = sections.last_mut() {
            lines.push(line);
        } else if !line.trim().is_empty() {
            bail!("pitwall compile printed '{line}' before any model");
        }
        previous_blank = line.trim().is_empty();
    }
    Ok(sections.into_iter().map(|(model, lines)| (model, lines.join("\n").trim().to_owned())).collect())
}

/// A model's SQL as a DuckDB statement: `create table` of its relation, with pitwall's
/// functions under DuckDB's names.
pub(crate) fn duckdb_statement(model: &Relation, sql: &str) -> String {
    let mut sql = sql.to_owned();
    for (pitwall, duckdb) in FUNCTIONS {
        sql = sql.replace(pitwall, duckdb);
    }
    let schema = quote(&model.schema);
    format!("create schema if not exists {schema};\ncreate table {schema}.{} as\n{sql}\n;\n", quote(&model.name))
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Writes each model's statement into `folder` as `NN_<name>.sql`, in DAG order.
pub(crate) fn write_models(folder: &Path, models: &[(&Relation, String)]) -> Result<()> {
    if folder.exists() {
        fs::remove_dir_all(folder).with_context(|| format!("cannot remove {}", folder.display()))?;
    }
    fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
    for (index, (model, sql)) in models.iter().enumerate() {
        let path = folder.join(format!("{index:02}_{}.sql", model.name));
        fs::write(&path, duckdb_statement(model, sql)).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// A query counting the rows of every relation, one `(relation, rows)` row each.
pub(crate) fn count_query(relations: &[&Relation]) -> String {
    relations
        .iter()
        .map(|r| {
            format!(
                "select '{}.{}' as relation, count(*) as n from {}.{}",
                r.schema,
                r.name,
                quote(&r.schema),
                quote(&r.name)
            )
        })
        .collect::<Vec<_>>()
        .join("\nunion all\n")
}

/// The `(relation, rows)` pairs of `pitwall query`'s table (Arrow's pretty format).
pub(crate) fn parse_counts(printed: &str) -> Result<BTreeMap<String, u64>> {
    let mut counts = BTreeMap::new();
    for line in printed.lines().filter(|line| line.starts_with('|')).skip(1) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [relation, rows] = cells[..] else { bail!("unexpected line in pitwall query's output: {line}") };
        counts.insert(relation.to_owned(), rows.parse().with_context(|| format!("not a count: {line}"))?);
    }
    Ok(counts)
}

/// The differences between pitwall's and the peer `name`'s row counts, one line each;
/// empty when every relation of pitwall's is in the peer with the same count.
pub(crate) fn count_differences(
    pitwall: &BTreeMap<String, u64>,
    peer: &BTreeMap<String, u64>,
    name: &str,
) -> Vec<String> {
    pitwall
        .iter()
        .filter_map(|(relation, &rows)| match peer.get(relation) {
            Some(&theirs) if theirs == rows => None,
            Some(&theirs) => Some(format!("{relation}: pitwall {rows} rows, {name} {theirs}")),
            None => Some(format!("{relation}: pitwall {rows} rows, not in {name}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation(schema: &str, name: &str) -> Relation {
        Relation { schema: schema.into(), name: name.into() }
    }

    #[test]
    fn compiled_output_splits_at_model_headers_only() {
        let models = [relation("analytics", "stg_a"), relation("analytics", "agg")];
        let compiled = "-- stg_a (models/stg.yml)\nselect 1 as x\nfrom \"raw\".\"a\"\n\n\
                        -- agg (models/agg.sql)\n-- agg (a comment that looks like a header)\n\n\
                        -- count (of rows)\nselect count(*) from \"analytics\".\"stg_a\"\n\n";
        let sections = split_compiled(compiled, &models).unwrap();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0], (&models[0], "select 1 as x\nfrom \"raw\".\"a\"".to_owned()));
        assert_eq!(sections[1].0, &models[1]);
        assert_eq!(
            sections[1].1,
            "-- agg (a comment that looks like a header)\n\n-- count (of rows)\nselect count(*) from \"analytics\".\"stg_a\""
        );
    }

    #[test]
    fn a_model_written_in_rust_is_an_error() {
        let models = [relation("analytics", "train")];
        let error = split_compiled("-- train is written in Rust (crates/ml/src/x.rs)\n\n", &models).unwrap_err();
        assert!(error.to_string().contains("no SQL for a model written in Rust"), "{error}");
    }

    #[test]
    fn statements_create_the_models_table_with_duckdbs_function_names() {
        let statement = duckdb_statement(&relation("analytics", "agg"), "select round_half_even(x, 2) as y from t");
        assert_eq!(
            statement,
            "create schema if not exists \"analytics\";\ncreate table \"analytics\".\"agg\" as\n\
             select round_even(x, 2) as y from t\n;\n"
        );
    }

    #[test]
    fn manifest_models_and_sources_give_their_schemas() {
        let manifest = r#"{"nodes": {
            "model.p.a": {"resource_type": "model", "name": "a", "schema": "analytics"},
            "test.p.t": {"resource_type": "test", "name": "t", "schema": "analytics_dbt_test__audit"}},
          "sources": {"source.p.f1.races": {"name": "races", "identifier": "races", "schema": "raw"}}}"#;
        let (models, sources) = relations(manifest).unwrap();
        assert_eq!(models, [relation("analytics", "a")]);
        assert_eq!(sources, [relation("raw", "races")]);
    }

    #[test]
    fn counts_are_read_from_pitwalls_pretty_table() {
        let printed = "+-------------+-----+\n| relation    | n   |\n+-------------+-----+\n\
                       | raw.races   | 1079 |\n| analytics.a | 7   |\n+-------------+-----+\n2 rows\n";
        let counts = parse_counts(printed).unwrap();
        assert_eq!(counts, BTreeMap::from([("raw.races".into(), 1079), ("analytics.a".into(), 7)]));
        let query = count_query(&[&relation("raw", "races")]);
        assert_eq!(query, "select 'raw.races' as relation, count(*) as n from \"raw\".\"races\"");
    }

    #[test]
    fn pins_are_the_exact_name_version_lines() {
        let text = "# a comment\n\nduckdb==1.5.6\ndbt-core == 1.12.6  # why\nrequests>=2\nJinja2==3.1.6\n";
        assert_eq!(
            pins(text),
            BTreeMap::from([
                ("duckdb".into(), "1.5.6".into()),
                ("dbt-core".into(), "1.12.6".into()),
                ("Jinja2".into(), "3.1.6".into())
            ])
        );
    }

    #[test]
    fn count_differences_name_each_relation_that_differs_or_is_missing() {
        let pitwall = BTreeMap::from([("a".into(), 1), ("b".into(), 2), ("c".into(), 3)]);
        let peer = BTreeMap::from([("a".into(), 1), ("b".into(), 5), ("extra".into(), 9)]);
        assert_eq!(
            count_differences(&pitwall, &peer, "DuckDB 2.0.0 idiomatic"),
            ["b: pitwall 2 rows, DuckDB 2.0.0 idiomatic 5", "c: pitwall 3 rows, not in DuckDB 2.0.0 idiomatic"]
        );
        assert!(count_differences(&pitwall, &pitwall, "DuckDB").is_empty());
    }
}
