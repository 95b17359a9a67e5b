//! What can go wrong talking to Snowflake. Every message names the endpoint (the base URL,
//! never a credential) and none carries a request body, a token, a presigned URL or a
//! secret.

/// An error of a Snowflake session. `endpoint` is the base URL, e.g.
/// `https://xy12345.snowflakecomputing.com:443`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The options cannot make a connection (bad protocol, empty account, ...).
    #[error("Snowflake at {endpoint}: invalid connection options: {reason}")]
    Options { endpoint: String, reason: String },

    /// The private key (or its passphrase) could not be used for key-pair authentication.
    #[error("Snowflake at {endpoint}: cannot use the private key: {reason}")]
    PrivateKey { endpoint: String, reason: String },

    /// The server could not be reached, or stopped answering, within the time allowed
    /// (retries included).
    #[error("Snowflake at {endpoint}: cannot reach the server ({what}): {reason}")]
    Network { endpoint: String, what: String, reason: String },

    /// The server answered with an HTTP error status.
    #[error("Snowflake at {endpoint}: {what} failed with HTTP status {status}")]
    Http { endpoint: String, what: String, status: u16 },

    /// The login was refused (wrong credentials, unknown account or user, ...).
    #[error("Snowflake at {endpoint}: login as {user} failed: {}{message}", code_prefix(.code))]
    Login { endpoint: String, user: String, code: Option<String>, message: String },

    /// The session expired and could not be renewed.
    #[error("Snowflake at {endpoint}: the session expired and could not be renewed: {}{message}", code_prefix(.code))]
    SessionRenewal { endpoint: String, code: Option<String>, message: String },

    /// Snowflake ran the statement and it failed.
    #[error(
        "Snowflake at {endpoint}: statement failed: {}{message}{}",
        code_prefix(.code),
        query_id_suffix(.query_id)
    )]
    Statement {
        endpoint: String,
        /// Snowflake's error code, e.g. `002003`.
        code: Option<String>,
        /// The SQLSTATE, e.g. `42S02`.
        sql_state: Option<String>,
        message: String,
        query_id: Option<String>,
    },

    /// A response the client does not understand (a protocol mismatch, or a result it
    /// cannot convert to Arrow).
    #[error("Snowflake at {endpoint}: unexpected response to {what}: {reason}")]
    Protocol { endpoint: String, what: String, reason: String },

    /// A PUT whose upload to the stage's storage failed.
    #[error("Snowflake at {endpoint}: uploading {file_name} to {stage} failed: {reason}")]
    Upload { endpoint: String, stage: String, file_name: String, reason: String },

    /// A PUT to a stage whose storage this client cannot write to.
    #[error(
        "Snowflake at {endpoint}: uploading to {stage} needs {location_type} stage storage, which pitwall does not support (it writes to S3 and GCS stages)"
    )]
    UnsupportedStage { endpoint: String, stage: String, location_type: String },
}

fn code_prefix(code: &Option<String>) -> String {
    match code {
        Some(code) if !code.is_empty() => format!("[{code}] "),
        _ => String::new(),
    }
}

fn query_id_suffix(query_id: &Option<String>) -> String {
    match query_id {
        Some(id) if !id.is_empty() => format!(" (query id {id})"),
        _ => String::new(),
    }
}

impl Error {
    /// The base URL of the server the error came from.
    pub fn endpoint(&self) -> &str {
        match self {
            Error::Options { endpoint, .. }
            | Error::PrivateKey { endpoint, .. }
            | Error::Network { endpoint, .. }
            | Error::Http { endpoint, .. }
            | Error::Login { endpoint, .. }
            | Error::SessionRenewal { endpoint, .. }
            | Error::Statement { endpoint, .. }
            | Error::Protocol { endpoint, .. }
            | Error::Upload { endpoint, .. }
            | Error::UnsupportedStage { endpoint, .. } => endpoint,
        }
    }

    /// Snowflake's error code, when the server gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Login { code, .. } | Error::SessionRenewal { code, .. } | Error::Statement { code, .. } => {
                code.as_deref()
            }
            _ => None,
        }
    }

    /// The SQLSTATE of a failed statement.
    pub fn sql_state(&self) -> Option<&str> {
        match self {
            Error::Statement { sql_state, .. } => sql_state.as_deref(),
            _ => None,
        }
    }

    /// The query id of a failed statement.
    pub fn query_id(&self) -> Option<&str> {
        match self {
            Error::Statement { query_id, .. } => query_id.as_deref(),
            _ => None,
        }
    }
}

/// The text of an HTTP client error without its URL (a chunk or presigned URL carries a
/// signature), with the causes that say what happened (e.g. "Connection refused").
pub(crate) fn describe_http_error(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    let error = error.without_url();
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    if causes.is_empty() { kind.to_owned() } else { format!("{kind}: {}", causes.join(": ")) }
}
