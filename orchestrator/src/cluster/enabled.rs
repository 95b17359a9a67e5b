//! The `ballista` feature on: pitwall-cluster's command and its run.

use anyhow::Result;
pub use pitwall_cluster::ClusterCommand;

/// Runs `command` until it ends (a scheduler or executor runs until stopped).
pub async fn run(command: ClusterCommand) -> Result<()> {
    pitwall_cluster::run(command).await
}
