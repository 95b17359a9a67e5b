//! State-aware builds: what a node is ([`definition`] digests) and what it was built from
//! ([`Fingerprints`]), so a build can reuse a relation whose fingerprint has not changed.
//!
//! A node's *definition* is what its own file and config say: a SQL model's or test's
//! compiled SQL with whitespace and comments dropped (as dbt State ignores them) and its
//! relations named logically (`ref`, `source`), so it is the same on every target; a Rust
//! model's name, source, pitwall's version and config; a raw table's declared columns and
//! load options. `state:modified` compares definitions.
//!
//! A node's *fingerprint* is its definition plus the fingerprints of everything it reads
//! (and for a raw table, the identity of its file: path, size, modification time, ETag,
//! read by one HEAD). It is stored with what it describes, in the same atomic write (see
//! [`Stamp`] and the warehouse), so a relation's stamp always describes its data.
//!
//! Reuse assumes what pitwall's models are: deterministic functions of their inputs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use object_store::ObjectMeta;
use serde::{Deserialize, Serialize};

use crate::config::SourceLocation;
use crate::dag::{Dag, NodeId};
use crate::model::Node;
use crate::source::{Source, SourceTable, find_source_file};
use crate::sql::{CompiledSql, Piece};
use crate::testing::TestSpec;

/// Set to `1` (or anything but `0`), every node is rebuilt: `--full-refresh` for every run.
pub const NO_REUSE_ENV: &str = "PITWALL_NO_REUSE";

/// Whether reuse is turned off by [`NO_REUSE_ENV`].
pub fn reuse_disabled_by_env() -> bool {
    std::env::var(NO_REUSE_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// What is stored with a relation (or a passed test): the fingerprint it was built with,
/// and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub fingerprint: String,
    /// RFC 3339, UTC.
    pub built_at: String,
}

impl Stamp {
    /// A stamp of `fingerprint`, built now.
    pub fn now(fingerprint: &str) -> Stamp {
        Stamp::at(fingerprint, SystemTime::now())
    }

    /// A stamp of `fingerprint`, built at `time` (to the microsecond, as run_results.json
    /// writes times).
    pub fn at(fingerprint: &str, time: SystemTime) -> Stamp {
        let time: chrono::DateTime<chrono::Utc> = time.into();
        Stamp {
            fingerprint: fingerprint.to_owned(),
            built_at: time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        }
    }

    /// When it was built; `None` if the stored text is not a time.
    pub fn built_at(&self) -> Option<SystemTime> {
        chrono::DateTime::parse_from_rfc3339(&self.built_at).ok().map(SystemTime::from)
    }
}

/// SHA-256 of `parts`, each length-prefixed so no two lists of parts collide, in hex.
pub fn digest<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        context.update(&(part.len() as u64).to_le_bytes());
        context.update(part.as_bytes());
    }
    let mut hex = String::with_capacity(64);
    for byte in context.finish().as_ref() {
        write!(hex, "{byte:02x}").expect("writing to a String cannot fail");
    }
    hex
}

/// Definitions: what each kind of node is, without what it reads.
pub mod definition {
    use super::*;

    /// A model's definition: its SQL (normalized) or, for a Rust model, its binding, its
    /// source and pitwall's version; then its resolved config.
    pub fn model(node: &Node) -> String {
        let config = serde_json::to_string(&node.config).expect("a config serializes");
        match node.model.compiled() {
            Some(sql) => digest(["sql", &normalized(sql), &config]),
            None => {
                let spec = node.spec();
                let binding = node.config.rust_model.as_deref().unwrap_or(&spec.name);
                digest(["rust", binding, env!("CARGO_PKG_VERSION"), &spec.raw_code, &config])
            }
        }
    }

    /// A test's definition: its SQL (normalized), its config and whether its failing rows
    /// are stored.
    pub fn test(test: &TestSpec, store_failures: bool) -> String {
        let config = serde_json::to_string(&test.config).expect("a config serializes");
        let stored = test.config.store_failures.unwrap_or(store_failures);
        digest(["test", &normalized(&test.sql), &config, if stored { "store_failures" } else { "" }])
    }

    /// A raw table's definition: its declared columns and types, its file name and how
    /// it is loaded.
    pub fn raw_table(table: &SourceTable, location: &SourceLocation) -> String {
        let columns: Vec<String> = table.columns.iter().map(|c| format!("{} {:?}", c.name, c.column_type)).collect();
        let options =
            format!("on_error={} match_by_column_name={:?}", location.on_error, location.match_by_column_name);
        digest(["raw", &table.file, &columns.join(", "), &options])
    }

    /// A raw table's fingerprint: its definition and its file's identity, as a HEAD
    /// request reports it.
    pub fn raw_table_fingerprint(definition: &str, file: &ObjectMeta) -> String {
        let modified = file.last_modified.to_rfc3339();
        let size = file.size.to_string();
        digest([definition, file.location.as_ref(), &size, &modified, file.e_tag.as_deref().unwrap_or("")])
    }
}

/// Compiled SQL as its tokens, one space apart: whitespace and comments do not count,
/// and each relation is named as written (`ref`, `source`), not where a target puts it.
pub fn normalized(sql: &CompiledSql) -> String {
    let mut text = String::new();
    for piece in sql.pieces() {
        match piece {
            Piece::Text(t) => text.push_str(t),
            Piece::Model(m) => write!(text, " \"ref:{m}\" ").expect("writing to a String cannot fail"),
            Piece::Source(s) => {
                write!(text, " \"source:{}.{}\" ", s.source, s.table).expect("writing to a String cannot fail")
            }
        }
    }
    match Tokenizer::new(&GenericDialect {}, &text).tokenize() {
        Ok(tokens) => {
            let kept: Vec<String> =
                tokens.iter().filter(|t| !matches!(t, Token::Whitespace(_))).map(|t| t.to_string()).collect();
            kept.join(" ")
        }
        // It parsed when the project loaded, so this is unreachable in practice; the text
        // itself is still a faithful (if whitespace-sensitive) definition.
        Err(_) => text,
    }
}

/// The fingerprints of the nodes a run builds, computed before it starts from their
/// definitions and what they read: a node read from inside the run has the fingerprint
/// it will be built with; a relation outside it, the stamp stored with it (what the
/// reader will actually read). `None`: something read has no known fingerprint (a
/// relation stored without one, or read from elsewhere), so the node is not reusable.
#[derive(Clone, Debug, Default)]
pub struct Fingerprints {
    of: BTreeMap<NodeId, Option<String>>,
}

impl Fingerprints {
    /// `definitions` of the nodes a run builds (every model, test and raw table of it);
    /// `stored` the stamps of relations outside it, by node.
    pub fn compute(
        dag: &Dag,
        definitions: &BTreeMap<NodeId, String>,
        stored: &BTreeMap<NodeId, Stamp>,
    ) -> Fingerprints {
        let mut of: BTreeMap<NodeId, Option<String>> = BTreeMap::new();
        for id in dag.topological() {
            let Some(definition) = definitions.get(id) else {
                continue;
            };
            // Raw tables' definitions are already fingerprints (they have no parents).
            if matches!(id, NodeId::Source(_)) {
                of.insert(id.clone(), Some(definition.clone()));
                continue;
            }
            let mut parents = dag.parents(id);
            parents.sort();
            let mut parts = vec![Some(definition.clone())];
            for parent in parents {
                let read = match of.get(parent) {
                    Some(built) => built.clone(),
                    None => stored.get(parent).map(|s| s.fingerprint.clone()),
                };
                parts.push(read.map(|f| format!("{}={f}", parent.name())));
            }
            let fingerprint: Option<Vec<String>> = parts.into_iter().collect();
            of.insert(id.clone(), fingerprint.map(|p| digest(p.iter().map(String::as_str))));
        }
        Fingerprints { of }
    }

    /// The fingerprint `id` is built with; `None` if it is not reusable or not in the run.
    pub fn get(&self, id: &NodeId) -> Option<&str> {
        self.of.get(id).and_then(|f| f.as_deref())
    }
}

/// The fingerprint of each raw table of `source`: its definition and its file's identity
/// (one HEAD per file, all at once).
pub async fn raw_fingerprints(
    source: &Source,
    location: &SourceLocation,
) -> crate::error::Result<BTreeMap<NodeId, String>> {
    let store = location.location.open()?;
    let found = futures::future::try_join_all(source.tables.iter().map(|t| find_source_file(&store, t))).await?;
    Ok(source
        .tables
        .iter()
        .zip(found)
        .map(|(table, file)| {
            let fingerprint = definition::raw_table_fingerprint(&definition::raw_table(table, location), &file.meta);
            (NodeId::Source(table.reference()), fingerprint)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::SourceRef;

    fn sql(text: &str) -> CompiledSql {
        CompiledSql::new(vec![
            Piece::Text(text.into()),
            Piece::Model("stg".into()),
            Piece::Source(SourceRef::new("f1", "races")),
        ])
    }

    #[test]
    fn whitespace_and_comments_do_not_change_the_normalized_sql_but_tokens_and_strings_do() {
        let plain = normalized(&sql("select a, 'x  y' from "));
        assert_eq!(normalized(&sql("select  a ,\n  'x  y' -- why\n /* note */ from\t")), plain);
        assert_ne!(normalized(&sql("select a, 'x y' from ")), plain, "a string literal's spaces count");
        assert_ne!(normalized(&sql("select b, 'x  y' from ")), plain);
    }

    #[test]
    fn a_relation_is_named_logically_not_by_schema() {
        let text = normalized(&sql("select * from "));
        assert!(text.contains("\"ref:stg\"") && text.contains("\"source:f1.races\""), "{text}");
    }

    #[test]
    fn digests_keep_parts_apart() {
        assert_ne!(digest(["ab", "c"]), digest(["a", "bc"]));
        assert_eq!(digest(["a"]).len(), 64);
    }

    #[test]
    fn a_stamp_reads_back_its_time() {
        let stamp = Stamp::now("f");
        let age = SystemTime::now().duration_since(stamp.built_at().unwrap()).unwrap();
        assert!(age.as_secs() < 60);
    }
}
