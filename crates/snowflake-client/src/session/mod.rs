//! A logged-in session: login, statements (with polling, session renewal and retries),
//! result chunks, and close. The request shapes follow snowflake-connector-python
//! (`auth/_auth.py`, `network.py`, `connection.py` `cmd_query`) and gosnowflake
//! (`restful.go`, `chunk_downloader.go`).
//!
//! The session's parts, each in a module of its own: [`transport`] sends one request and
//! retries its transient failures; [`login`] logs in and renews the session token;
//! [`statement`] runs a statement to its end (polling it while it runs); [`result`] turns
//! a finished statement's response and its chunks into Arrow.

mod login;
#[cfg(test)]
mod mock;
mod result;
mod statement;
mod transport;

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};

use self::transport::Request;
use crate::rowset::QueryResult;
use crate::wire::Envelope;
use crate::{Binding, Error, Secret};

/// How to authenticate.
#[derive(Debug, Clone)]
pub enum Auth {
    /// User and password.
    Password(Secret),
    /// Key-pair authentication: an RSA private key in PEM (PKCS#8, encrypted PKCS#8 with
    /// `passphrase`, or PKCS#1).
    KeyPair { private_key_pem: Secret, passphrase: Option<Secret> },
}

/// Where and as whom to connect. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The account identifier, e.g. `pitwall` or `xy12345.eu-west-1`.
    pub account: String,
    pub user: String,
    pub auth: Auth,
    pub role: Option<String>,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub warehouse: Option<String>,
    /// Default `<account>.snowflakecomputing.com`.
    pub host: Option<String>,
    /// Default 443 for https, 80 for http.
    pub port: Option<u16>,
    /// `https` (default) or `http`.
    pub protocol: Option<String>,
    /// How long the login may take, retries of transient failures included.
    pub login_timeout: Duration,
}

/// The default [`ConnectOptions::login_timeout`].
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request may keep retrying transient failures (network errors, HTTP 5xx,
/// 429) before the error is returned.
pub const RETRY_BUDGET: Duration = Duration::from_secs(10);
/// The longest single query-request or result poll (Snowflake answers a long statement
/// with "still running" well before).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

const SESSION_EXPIRED: &str = "390112";

impl ConnectOptions {
    /// Options with the defaults for everything but account, user and credentials.
    pub fn new(account: impl Into<String>, user: impl Into<String>, auth: Auth) -> ConnectOptions {
        ConnectOptions {
            account: account.into(),
            user: user.into(),
            auth,
            role: None,
            database: None,
            schema: None,
            warehouse: None,
            host: None,
            port: None,
            protocol: None,
            login_timeout: DEFAULT_LOGIN_TIMEOUT,
        }
    }

    /// The base URL, `<protocol>://<host>:<port>`.
    pub fn endpoint(&self) -> Result<String, Error> {
        let protocol = self.protocol.as_deref().unwrap_or("https").to_ascii_lowercase();
        let host = match &self.host {
            Some(host) if !host.is_empty() => host.clone(),
            _ => format!("{}.snowflakecomputing.com", self.account),
        };
        let port = self.port.unwrap_or(if protocol == "http" { 80 } else { 443 });
        let endpoint = format!("{protocol}://{host}:{port}");
        let invalid = |reason: String| Error::Options { endpoint: endpoint.clone(), reason };
        if protocol != "https" && protocol != "http" {
            return Err(invalid(format!("protocol must be https or http, not `{protocol}`")));
        }
        if self.host.as_deref().unwrap_or("").is_empty() && self.account.is_empty() {
            return Err(invalid("neither an account nor a host is given".into()));
        }
        if host.contains(['/', '@', '?', '#', ' ']) {
            return Err(invalid(format!("`{host}` is not a host name")));
        }
        Ok(endpoint)
    }
}

impl Default for ConnectOptions {
    fn default() -> ConnectOptions {
        ConnectOptions::new("", "", Auth::Password(Secret::new("")))
    }
}

struct Tokens {
    session: Secret,
    master: Option<Secret>,
}

/// A logged-in Snowflake session. Statements run one at a time per call; the session may
/// be shared between tasks.
pub struct Session {
    endpoint: String,
    http: reqwest::Client,
    tokens: Mutex<Tokens>,
    sequence: AtomicU64,
    server_version: Option<String>,
    parameters: Vec<(String, Value)>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

/// A random UUID (version 4), as the drivers send for `requestId` and `request_guid`.
fn uuid4() -> String {
    let mut bytes = [0u8; 16];
    // SystemRandom only fails when the OS has no randomness at all; time then still
    // makes the id unique enough for request tracing.
    if SystemRandom::new().fill(&mut bytes).is_err() {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        bytes = nanos.to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

impl Session {
    /// The base URL, e.g. `http://127.0.0.1:8791`; never credentials.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The server version the login reported.
    pub fn server_version(&self) -> Option<&str> {
        self.server_version.as_deref()
    }

    /// The session parameters the login reported (`AUTOCOMMIT`, `TIMEZONE`, ...).
    pub fn parameters(&self) -> &[(String, Value)] {
        &self.parameters
    }

    /// Runs one statement and returns its result in Arrow types.
    pub async fn query(&self, sql: &str) -> Result<QueryResult, Error> {
        self.query_with_bindings(sql, &[]).await
    }

    /// Runs one statement with values for its `?` placeholders.
    pub async fn query_with_bindings(&self, sql: &str, bindings: &[Binding]) -> Result<QueryResult, Error> {
        let data = self.execute(sql, bindings).await?;
        self.result(data).await
    }

    /// Ends the session on the server.
    pub async fn close(self) -> Result<(), Error> {
        let token = self.session_token();
        let body = json!({});
        let response: Envelope<Value> = self
            .send(Request {
                what: "closing the session",
                method: Method::POST,
                path: format!("/session?delete=true&requestId={}", uuid4()),
                body: Some(&body),
                token: Some(&token),
                accept: "application/snowflake",
                retry_params: false,
                budget: RETRY_BUDGET,
                timeout: Some(Duration::from_secs(10)),
            })
            .await?;
        // An expired session is as good as closed (gosnowflake `closeSession`).
        if response.success || response.code.as_deref() == Some(SESSION_EXPIRED) {
            Ok(())
        } else {
            Err(Error::Protocol {
                endpoint: self.endpoint.clone(),
                what: "closing the session".into(),
                reason: format!(
                    "{}{}",
                    response.code.map(|c| format!("[{c}] ")).unwrap_or_default(),
                    response.message.unwrap_or_else(|| "no reason given".into())
                ),
            })
        }
    }

    fn session_token(&self) -> Secret {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner()).session.clone()
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_defaults_to_the_account_host_over_https_on_443() {
        let options = ConnectOptions::new("xy12345.eu-west-1", "u", Auth::Password("p".into()));
        assert_eq!(options.endpoint().unwrap(), "https://xy12345.eu-west-1.snowflakecomputing.com:443");
        let local = ConnectOptions {
            host: Some("127.0.0.1".into()),
            port: Some(8791),
            protocol: Some("http".into()),
            ..options.clone()
        };
        assert_eq!(local.endpoint().unwrap(), "http://127.0.0.1:8791");
        let http_default_port = ConnectOptions { protocol: Some("http".into()), ..options.clone() };
        assert!(http_default_port.endpoint().unwrap().ends_with(":80"));
        let ftp = ConnectOptions { protocol: Some("ftp".into()), ..options };
        assert!(ftp.endpoint().unwrap_err().to_string().contains("https or http"));
    }

    #[test]
    fn options_debug_shows_no_credentials() {
        let options = ConnectOptions::new(
            "pitwall",
            "u",
            Auth::KeyPair {
                private_key_pem: "-----BEGIN PRIVATE KEY-----".into(),
                passphrase: Some("pass-123".into()),
            },
        );
        let debug = format!("{options:?}");
        assert!(!debug.contains("BEGIN") && !debug.contains("pass-123"), "{debug}");
        let debug = format!("{:?}", Auth::Password("hunter2".into()));
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn request_ids_are_version_4_uuids() {
        let id = uuid4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(uuid4(), id);
    }

    /// The futures that send requests (and retry them) are `Send`. (`query`'s is not,
    /// and never was: the chunk stream in `Session::result` maps `&Chunk` items with a
    /// closure the compiler cannot prove `Send` for every lifetime.)
    #[test]
    fn request_futures_are_send() {
        fn send<T: Send>(_: T) {}
        let options = ConnectOptions::default();
        send(Session::login(&options));
        let session: Option<Session> = None;
        if let Some(session) = session {
            send(session.execute("select 1", &[]));
            send(session.close());
        }
    }

    /// A session closes; one the server has already expired counts as closed.
    #[tokio::test]
    async fn close_accepts_success_and_an_expired_session() {
        let mock = super::mock::start().await;
        for close in [r#"{"success":true}"#, r#"{"code":"390112","message":"expired","success":false}"#] {
            mock.push(200, r#"{"data":{"token":"T1","parameters":[]},"success":true}"#);
            mock.push(200, close);
        }
        for _ in 0..2 {
            let session = Session::login(&super::mock::options(&mock.endpoint)).await.unwrap();
            session.close().await.unwrap();
        }
        let requests = mock.requests.lock().unwrap();
        assert!(requests[1].target.starts_with("/session?delete=true&requestId="), "{}", requests[1].target);
        assert_eq!(requests[1].header("authorization"), Some(r#"Snowflake Token="T1""#));
    }
}
