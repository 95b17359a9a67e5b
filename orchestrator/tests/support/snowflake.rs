//! A local Snowflake emulator for the delivery tests: fakesnow's server
//! (`.ci/snowflake-server`), which speaks the connector protocol, accepts any credentials
//! and keeps one in-memory database per server; and a temporary project whose
//! `[targets.sf]` points at it.
//!
//! The shared server is `PITWALL_TEST_SNOWFLAKE_ENDPOINT` when set (CI starts one for the
//! whole run); otherwise this process installs fakesnow into `target/venv-sf` and runs its
//! own. A test that kills its server starts one of its own ([`own_server`]).

use std::sync::OnceLock;

use super::real_data;
use pitwall_test_servers::{Server, installed};

fn program() -> std::path::PathBuf {
    installed("snowflake-server", "target/venv-sf/bin/fakesnow")
}

fn arguments(port: u16) -> Vec<String> {
    vec!["-s".into(), "-p".into(), port.to_string()]
}

/// The shared emulator's endpoint, `http://127.0.0.1:PORT`.
pub(crate) fn shared_endpoint() -> &'static str {
    static SHARED: OnceLock<String> = OnceLock::new();
    SHARED.get_or_init(|| match std::env::var("PITWALL_TEST_SNOWFLAKE_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint.trim_end_matches('/').to_owned(),
        _ => Server::start_for_process(&program(), arguments),
    })
}

/// An emulator of the calling test's own, killed when dropped.
pub(crate) fn own_server() -> Server {
    Server::start(&program(), &arguments).unwrap_or_else(|e| panic!("cannot start fakesnow: {e}"))
}

/// A temporary project: the repo's pitwall.toml with its source on the bundled data and a
/// target `sf` delivering to `endpoint`, database `database`, as the issue's acceptance
/// writes it (the password from `SNOWFLAKE_PASSWORD`).
pub(crate) fn project(endpoint: &str, database: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (host, port) = endpoint.strip_prefix("http://").and_then(|a| a.split_once(':')).expect("http://HOST:PORT");
    let text = crate::support::checkout_toml();
    let source = real_data();
    assert!(text.contains("location = \"data/f1\""), "the repo's source moved: update {}", file!());
    let text = text.replacen("location = \"data/f1\"", &format!("location = \"{}\"", source.display()), 1)
        + &format!(
            r#"
[targets.sf]
type = "snowflake"
protocol = "http"
host = "{host}"
port = {port}
account = "pitwall"
user = "ci"
password = "{{{{ env_var('SNOWFLAKE_PASSWORD') }}}}"
database = "{database}"
schema = "production"
warehouse = "COMPUTE_WH"
"#
        );
    std::fs::write(dir.path().join("pitwall.toml"), text).unwrap();
    dir
}
