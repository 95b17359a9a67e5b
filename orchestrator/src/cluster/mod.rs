//! `pitwall cluster`: a Ballista scheduler or executor from this binary, or a cluster's
//! status. The same command and function whether or not the `ballista` feature is on
//! (ripgrep's `enabled`/`disabled` pattern), so neither the CLI nor the commands hold a
//! `cfg`; without it the command is refused, naming the feature.

#[cfg(not(feature = "ballista"))]
mod disabled;
#[cfg(feature = "ballista")]
mod enabled;

#[cfg(not(feature = "ballista"))]
pub use disabled::*;
#[cfg(feature = "ballista")]
pub use enabled::*;
