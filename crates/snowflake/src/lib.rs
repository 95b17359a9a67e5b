//! pitwall's Snowflake adapter (dbt-snowflake's place): what a `type = "snowflake"`
//! target's keys mean ([`target`]), and the delivery of what a build materialized
//! ([`delivery`]: Parquet files PUT to a stage, COPY INTO under a temporary name, counted,
//! swapped in). The protocol is `pitwall-snowflake-client`'s.
//!
//! It owns the Snowflake keys of a target: core passes them through unread, and no other
//! crate names one. It must never print or log a secret (they stay in the client's
//! `Secret`), never depend on DataFusion (the rows come through [`delivery::Local`],
//! from whatever engine the caller has), and never decide what is delivered: that is the
//! orchestrator's choice.

pub mod delivery;
pub mod target;

pub use pitwall_snowflake_client as client;
pub use target::{Target, TargetError};
