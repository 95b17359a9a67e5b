//! The `snowflake` feature off: a Snowflake target is refused, naming the feature to
//! build with; nothing else changes.

use anyhow::{Result, bail};
use pitwall_core::NodeOutcome;
use pitwall_core::config::SnowflakeTarget;
use pitwall_project::Project;

/// No session can exist without the feature.
pub type Session = std::convert::Infallible;

pub async fn connect(project: &Project, target: &SnowflakeTarget) -> Result<Session> {
    bail!(
        "target {} is of type snowflake (database {}), but this pitwall was built without the \
         `snowflake` feature (cargo build --features snowflake)",
        project.config.target,
        target.database
    )
}

pub async fn deliver_run(_: &Project, session: Session, _: bool, _: &[String], _: &[NodeOutcome]) -> Result<()> {
    match session {}
}

pub async fn query(project: &Project, target: &SnowflakeTarget, _: &str, _: Option<usize>) -> Result<bool> {
    bail!(
        "target {} is of type snowflake, but this pitwall was built without the `snowflake` feature \
         (pass --local to query its local warehouse, {})",
        project.config.target,
        target.database
    )
}
