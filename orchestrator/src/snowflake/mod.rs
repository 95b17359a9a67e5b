//! An adapter's target (`type = "snowflake"`): its keys read before anything runs, a
//! login before a run, delivery of what the run built once it succeeded, and `pitwall
//! query` in Snowflake. The same functions whether or not the `snowflake` feature is on
//! (ripgrep's `enabled`/`disabled` pattern), so no caller holds a `cfg`; without it the
//! target still builds locally, and logging in or querying Snowflake is refused, naming
//! the feature.

#[cfg(not(feature = "snowflake"))]
mod disabled;
#[cfg(feature = "snowflake")]
mod enabled;

use anyhow::{Result, bail};
use pitwall_core::ProjectConfig;

#[cfg(not(feature = "snowflake"))]
pub use disabled::*;
#[cfg(feature = "snowflake")]
pub use enabled::*;

/// The target's adapter, its keys read and checked: `None` on a local target. Core passes
/// an adapter's keys through unread; this is where a `type` is matched to its adapter.
pub fn target(config: &ProjectConfig) -> Result<Option<Target>> {
    let Some(adapter) = &config.adapter else {
        return Ok(None);
    };
    match adapter.kind.as_str() {
        "snowflake" => read(config, adapter).map(Some),
        other => bail!("{} type = '{other}' is not a target type (accepted: local, snowflake)", adapter.at),
    }
}
