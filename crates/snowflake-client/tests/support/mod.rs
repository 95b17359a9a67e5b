//! A local Snowflake emulator for the integration tests: fakesnow's server
//! (`.ci/snowflake-server`).
//!
//! The server is `PITWALL_TEST_SNOWFLAKE_ENDPOINT` when set (e.g. `http://127.0.0.1:PORT`,
//! started by CI for the whole run); otherwise this process installs fakesnow into
//! `target/venv-sf` (`.ci/snowflake-server install`) and runs its own
//! `target/venv-sf/bin/fakesnow -s`, once, killed when the test process ends.

use std::net::TcpListener;
use std::sync::OnceLock;

use pitwall_test_servers::{Server, installed};

/// The emulator's endpoint, `http://127.0.0.1:PORT`.
pub(crate) fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var("PITWALL_TEST_SNOWFLAKE_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint.trim_end_matches('/').to_owned(),
        _ => spawn_fakesnow(),
    })
}

/// A port nothing listens on (bound, then released).
pub(crate) fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A fakesnow server of this process's own, on a free port; returns its endpoint.
fn spawn_fakesnow() -> String {
    let program = installed("snowflake-server", "target/venv-sf/bin/fakesnow");
    Server::start_for_process(&program, |port| vec!["-s".into(), "-p".into(), port.to_string()])
}
