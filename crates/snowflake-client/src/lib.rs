//! A small Snowflake client speaking the REST protocol Snowflake's own drivers speak
//! (snowflake-connector-python, gosnowflake).
//!
//! This crate owns the connector protocol: login (password or key-pair JWT), statements
//! (bindings, "still running" polling, session renewal, retries of transient failures),
//! result sets (Arrow and JSON rowsets and their chunks, converted to standard Arrow
//! types) and stage uploads (PUT to S3 with client-side encryption, or to GCS). What is
//! delivered and how (Parquet, COPY INTO, swap) is the adapter's, `pitwall-snowflake`.
//!
//! It must never print or log a secret (passwords, keys, passphrases, session and master
//! tokens, stage credentials, presigned URLs): they live in [`Secret`] or stay inside the
//! request that needs them, and every [`Error`] names only the endpoint. It knows nothing
//! of pitwall's models, profiles or command line, and never depends on DataFusion or
//! Parquet: it moves statements, result sets and opaque files.

mod binding;
mod encryption;
mod error;
mod keypair;
mod rowset;
mod secret;
mod session;
mod stage;
mod wire;

pub use binding::{Binding, BindingType};
pub use error::Error;
pub use rowset::{Column, QueryResult};
pub use secret::Secret;
pub use session::{Auth, ConnectOptions, DEFAULT_LOGIN_TIMEOUT, RETRY_BUDGET, Session};
