//! The `ballista` feature off: `pitwall cluster` takes whatever follows it and refuses,
//! naming the feature to build with.

use anyhow::{Result, bail};

#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Any subcommand: this pitwall has no cluster to run it with.
    #[command(external_subcommand)]
    Any(Vec<String>),
}

pub async fn run(_: ClusterCommand) -> Result<()> {
    bail!(
        "`pitwall cluster` needs the ballista feature (a default one): cargo build -p pitwall-orchestrator --features ballista"
    )
}
