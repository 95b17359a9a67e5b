//! The `snowflake` feature off: a snowflake target still builds locally, but its keys go
//! unread, and logging in or querying Snowflake is refused, naming the feature to build
//! with.

use anyhow::{Result, bail};
use pitwall_core::config::AdapterTarget;
use pitwall_core::{NodeOutcome, ProjectConfig};
use pitwall_project::Project;

/// A snowflake target this build cannot reach.
pub struct Target;

/// No session can exist without the feature.
pub type Session = std::convert::Infallible;

pub(super) fn read(_: &ProjectConfig, _: &AdapterTarget) -> Result<Target> {
    Ok(Target)
}

/// For the run's first line.
pub fn describe(_: &Target) -> String {
    "delivered to Snowflake (not by this pitwall: built without the `snowflake` feature)".to_owned()
}

pub async fn connect(project: &Project, _: &Target) -> Result<Session> {
    bail!(
        "target {} is of type snowflake, but this pitwall was built without the `snowflake` feature \
         (cargo build --features snowflake)",
        project.config.target
    )
}

pub async fn deliver_run(
    _: &Project,
    _: &Target,
    session: Session,
    _: bool,
    _: &[String],
    _: &[NodeOutcome],
) -> Result<()> {
    match session {}
}

pub async fn query(project: &Project, _: &Target, _: &str, _: Option<usize>) -> Result<bool> {
    bail!(
        "target {} is of type snowflake, but this pitwall was built without the `snowflake` feature \
         (pass --local to query its local warehouse)",
        project.config.target
    )
}
