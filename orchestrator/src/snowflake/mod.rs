//! A `type = "snowflake"` target: log in before a run, deliver what the run built once it
//! succeeded, and `pitwall query` in Snowflake. The same functions whether or not the
//! `snowflake` feature is on (ripgrep's `enabled`/`disabled` pattern), so no caller holds
//! a `cfg`; without it they refuse the target, naming the feature.

#[cfg(not(feature = "snowflake"))]
mod disabled;
#[cfg(feature = "snowflake")]
mod enabled;

#[cfg(not(feature = "snowflake"))]
pub use disabled::*;
#[cfg(feature = "snowflake")]
pub use enabled::*;
