//! A logged-in session: login, statements (with polling, session renewal and retries),
//! result chunks, and close. The request shapes follow snowflake-connector-python
//! (`auth/_auth.py`, `network.py`, `connection.py` `cmd_query`) and gosnowflake
//! (`restful.go`, `chunk_downloader.go`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::{StreamExt as _, TryStreamExt as _};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use ring::rand::{SecureRandom, SystemRandom};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::describe_http_error;
use crate::keypair::PrivateKey;
use crate::rowset::{self, Column, Part, QueryResult};
use crate::wire::{Envelope, LoginData, QueryData, RenewData};
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
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Result chunks downloaded at once.
const CHUNK_PARALLELISM: usize = 4;

const QUERY_IN_PROGRESS: &str = "333333";
const QUERY_IN_PROGRESS_ASYNC: &str = "333334";
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
pub(crate) fn uuid4() -> String {
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

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Exponential backoff: 250 ms, 500 ms, 1 s, 2 s, then 4 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.min(4))
}

/// One request of [`Session::send`].
struct Request<'a> {
    what: &'a str,
    method: Method,
    /// Path and query, after the endpoint.
    path: String,
    body: Option<&'a Value>,
    token: Option<&'a Secret>,
    /// Accept header.
    accept: &'static str,
    /// Add `retryCount`/`clientStartTime` on retries (query-request).
    retry_params: bool,
    /// Retry transient failures until this long after the first attempt.
    budget: Duration,
    /// Timeout of one attempt (`None`: what is left of the budget).
    timeout: Option<Duration>,
}

/// The login request's `data`: who logs in, from where, with which credentials.
fn login_data(options: &ConnectOptions, endpoint: &str) -> Result<Value, Error> {
    let account_name = options.account.split('.').next().unwrap_or_default().to_owned();
    let mut data = json!({
        "CLIENT_APP_ID": "pitwall-snowflake",
        "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
        "ACCOUNT_NAME": account_name,
        "LOGIN_NAME": options.user,
        "CLIENT_ENVIRONMENT": {
            "APPLICATION": "pitwall",
            "OS": std::env::consts::OS,
            "LOGIN_TIMEOUT": options.login_timeout.as_secs(),
        },
        "SESSION_PARAMETERS": {},
    });
    match &options.auth {
        Auth::Password(password) => data["PASSWORD"] = Value::String(password.expose().to_owned()),
        Auth::KeyPair { private_key_pem, passphrase } => {
            let key = PrivateKey::from_pem(private_key_pem, passphrase.as_ref())
                .map_err(|e| Error::PrivateKey { endpoint: endpoint.to_owned(), reason: e.to_string() })?;
            let issued_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
            let jwt = key
                .jwt(&options.account, &options.user, issued_at)
                .map_err(|e| Error::PrivateKey { endpoint: endpoint.to_owned(), reason: e.to_string() })?;
            data["AUTHENTICATOR"] = Value::String("SNOWFLAKE_JWT".into());
            data["TOKEN"] = Value::String(jwt);
        }
    }
    Ok(data)
}

/// The login request's path: the session's database, schema, warehouse and role.
fn login_path(options: &ConnectOptions) -> String {
    let mut path = format!("/session/v1/login-request?requestId={}", uuid4());
    for (name, value) in [
        ("databaseName", &options.database),
        ("schemaName", &options.schema),
        ("warehouse", &options.warehouse),
        ("roleName", &options.role),
    ] {
        if let Some(value) = value {
            path.push_str(&format!("&{name}={}", encode(value)));
        }
    }
    path
}

impl Session {
    /// Logs in with a password or a key-pair JWT.
    pub async fn login(options: &ConnectOptions) -> Result<Session, Error> {
        let endpoint = options.endpoint()?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(options.login_timeout))
            .build()
            .map_err(|e| Error::Options { endpoint: endpoint.clone(), reason: describe_http_error(e) })?;
        let body = json!({ "data": login_data(options, &endpoint)? });
        let path = login_path(options);
        let mut session = Session {
            endpoint,
            http,
            tokens: Mutex::new(Tokens { session: Secret::new(""), master: None }),
            sequence: AtomicU64::new(0),
            server_version: None,
            parameters: Vec::new(),
        };
        let response: Envelope<LoginData> = session
            .send(Request {
                what: "login",
                method: Method::POST,
                path,
                body: Some(&body),
                token: None,
                accept: "application/snowflake",
                retry_params: false,
                budget: options.login_timeout,
                timeout: None,
            })
            .await?;
        let refused = |code: Option<String>, message: Option<String>| Error::Login {
            endpoint: session.endpoint.clone(),
            user: options.user.clone(),
            code,
            message: message.unwrap_or_else(|| "no reason given".into()),
        };
        if !response.success {
            return Err(refused(response.code, response.message));
        }
        let data = response.data.ok_or_else(|| refused(None, Some("the response has no session".into())))?;
        let token = data.token.ok_or_else(|| refused(None, Some("the response has no session token".into())))?;
        session.tokens = Mutex::new(Tokens { session: Secret::new(token), master: data.master_token.map(Secret::new) });
        session.server_version = data.server_version;
        session.parameters = data.parameters.into_iter().map(|p| (p.name, p.value)).collect();
        Ok(session)
    }

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

    /// Sends a statement and waits for it to finish: the raw response data.
    pub(crate) async fn execute(&self, sql: &str, bindings: &[Binding]) -> Result<QueryData, Error> {
        let request_id = uuid4();
        let sequence_id = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let mut body = json!({
            "sqlText": sql,
            "asyncExec": false,
            "sequenceId": sequence_id,
            "querySubmissionTime": now_millis(),
        });
        if !bindings.is_empty() {
            body["bindings"] = crate::binding::to_json(bindings);
        }
        let mut renewals = 0;
        let mut poll_url: Option<String> = None;
        let mut poll = 0u32;
        loop {
            let response = self.submit_or_poll(&request_id, &body, poll_url.as_deref()).await?;
            match response.code.as_deref() {
                Some(SESSION_EXPIRED) if renewals < 3 => {
                    renewals += 1;
                    self.renew().await?;
                }
                Some(QUERY_IN_PROGRESS | QUERY_IN_PROGRESS_ASYNC) => {
                    let url = self.result_url(response.data.as_ref())?;
                    if poll > 0 {
                        tokio::time::sleep(Duration::from_millis(100 << poll.min(3))).await;
                    }
                    poll += 1;
                    poll_url = Some(url);
                }
                _ if response.success => return Ok(response.data.unwrap_or_default()),
                _ => {
                    let data = response.data.unwrap_or_default();
                    return Err(Error::Statement {
                        endpoint: self.endpoint.clone(),
                        code: response.code.or(data.error_code),
                        sql_state: data.sql_state,
                        message: response.message.or(data.error_message).unwrap_or_else(|| "no message given".into()),
                        query_id: data.query_id,
                    });
                }
            }
        }
    }

    /// Submits the statement, or, once it runs asynchronously, polls its result URL.
    async fn submit_or_poll(
        &self,
        request_id: &str,
        body: &Value,
        poll_url: Option<&str>,
    ) -> Result<Envelope<QueryData>, Error> {
        let token = self.session_token();
        let (what, method, path, body, retry_params) = match poll_url {
            None => (
                "query-request",
                Method::POST,
                format!("/queries/v1/query-request?requestId={request_id}"),
                Some(body),
                true,
            ),
            Some(url) => ("polling the statement's result", Method::GET, url.to_owned(), None, false),
        };
        self.send(Request {
            what,
            method,
            path,
            body,
            token: Some(&token),
            accept: "application/snowflake",
            retry_params,
            budget: RETRY_BUDGET,
            timeout: Some(REQUEST_TIMEOUT),
        })
        .await
    }

    /// Where a statement still in progress will have its result: a path on the server.
    fn result_url(&self, data: Option<&QueryData>) -> Result<String, Error> {
        let refused = |reason: &str| Error::Protocol {
            endpoint: self.endpoint.clone(),
            what: "query-request".into(),
            reason: reason.into(),
        };
        let url = data
            .and_then(|d| d.get_result_url.clone())
            .ok_or_else(|| refused("a statement in progress without a getResultUrl"))?;
        if !url.starts_with('/') {
            return Err(refused("a getResultUrl that is not a path on the server"));
        }
        Ok(url)
    }

    /// Renews the session token with the master token (`/session/token-request`).
    async fn renew(&self) -> Result<(), Error> {
        let (old, master) = {
            let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
            (tokens.session.clone(), tokens.master.clone())
        };
        let master = master.unwrap_or_else(|| Secret::new(""));
        let body = json!({ "oldSessionToken": old.expose(), "requestType": "RENEW" });
        let response: Envelope<RenewData> = self
            .send(Request {
                what: "renewing the session",
                method: Method::POST,
                path: format!("/session/token-request?requestId={}", uuid4()),
                body: Some(&body),
                token: Some(&master),
                accept: "application/json",
                retry_params: false,
                budget: RETRY_BUDGET,
                timeout: Some(Duration::from_secs(60)),
            })
            .await?;
        let renewed = response.data.filter(|_| response.success).and_then(|d| Some((d.session_token?, d.master_token)));
        match renewed {
            Some((session, master)) => {
                let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
                tokens.session = Secret::new(session);
                if let Some(master) = master {
                    tokens.master = Some(Secret::new(master));
                }
                Ok(())
            }
            None => Err(Error::SessionRenewal {
                endpoint: self.endpoint.clone(),
                code: response.code,
                message: response.message.unwrap_or_else(|| "no new session token".into()),
            }),
        }
    }

    /// The result of a finished statement: its first rowset and every chunk, in Arrow.
    async fn result(&self, data: QueryData) -> Result<QueryResult, Error> {
        let protocol = |reason: String| Error::Protocol {
            endpoint: self.endpoint.clone(),
            what: "the statement's result".into(),
            reason,
        };
        let arrow_format = match data.query_result_format.as_deref() {
            Some(format) => format.eq_ignore_ascii_case("arrow"),
            None => data.rowset_base64.as_deref().is_some_and(|r| !r.is_empty()),
        };
        let mut parts = Vec::new();
        match (&data.rowset_base64, &data.rowset) {
            (Some(base64), _) if !base64.is_empty() => {
                let bytes =
                    STANDARD.decode(base64).map_err(|e| protocol(format!("rowsetBase64 is not base64: {e}")))?;
                parts.push(Part::Arrow(rowset::decode_arrow(&bytes).map_err(|e| protocol(e.to_string()))?));
            }
            (_, Some(rows)) => parts.push(Part::Json(rowset::json_rows(rows.clone()))),
            _ => {}
        }
        if !data.chunks.is_empty() {
            let headers = self.chunk_headers(&data).map_err(|e| protocol(e.to_string()))?;
            let chunks: Vec<Part> = futures::stream::iter(data.chunks.iter().enumerate())
                .map(|(index, chunk)| self.fetch_chunk(index, &chunk.url, headers.clone(), arrow_format))
                .buffered(CHUNK_PARALLELISM)
                .try_collect()
                .await?;
            parts.extend(chunks);
        }
        let columns: Vec<Column> = data.rowtype.iter().map(Column::from_row_type).collect();
        let (schema, batches) = rowset::to_arrow(&columns, parts).map_err(|e| protocol(e.to_string()))?;
        let rows_affected = rowset::rows_affected(data.statement_type_id, &batches, &schema);
        Ok(QueryResult { query_id: data.query_id.unwrap_or_default(), columns, schema, batches, rows_affected })
    }

    /// `chunkHeaders` when given, else the SSE-C headers of the `qrmk` (gosnowflake
    /// `downloadChunkHelper`).
    fn chunk_headers(&self, data: &QueryData) -> Result<HeaderMap, ChunkError> {
        let mut headers = HeaderMap::new();
        let mut add = |name: &str, value: &str| -> Result<(), ChunkError> {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| ChunkError::HeaderName(name.to_owned()))?;
            let mut value = HeaderValue::from_str(value).map_err(|_| ChunkError::HeaderValue)?;
            value.set_sensitive(true);
            headers.insert(name, value);
            Ok(())
        };
        match (&data.chunk_headers, &data.qrmk) {
            (Some(chunk_headers), _) if !chunk_headers.is_empty() => {
                for (name, value) in chunk_headers {
                    add(name, value)?;
                }
            }
            (_, Some(qrmk)) => {
                add("x-amz-server-side-encryption-customer-algorithm", "AES256")?;
                add("x-amz-server-side-encryption-customer-key", qrmk)?;
            }
            _ => {}
        }
        Ok(headers)
    }

    async fn fetch_chunk(&self, index: usize, url: &str, headers: HeaderMap, arrow: bool) -> Result<Part, Error> {
        let what = format!("downloading result chunk {}", index + 1);
        let started = Instant::now();
        let mut attempt = 0;
        let bytes = loop {
            let outcome = self.http.get(url).headers(headers.clone()).timeout(REQUEST_TIMEOUT).send().await;
            let retry = match outcome {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(bytes) => break bytes,
                    Err(e) => Err(describe_http_error(e)),
                },
                Ok(response) => Ok(response.status().as_u16()),
                Err(e) => Err(describe_http_error(e)),
            };
            let transient = match &retry {
                Ok(status) => is_transient_status(*status),
                Err(_) => true,
            };
            if !transient || started.elapsed() + backoff(attempt) > RETRY_BUDGET {
                return Err(match retry {
                    Ok(status) => Error::Http { endpoint: self.endpoint.clone(), what, status },
                    Err(reason) => Error::Network { endpoint: self.endpoint.clone(), what, reason },
                });
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        };
        let bytes = gunzip_if_gzip(&bytes).map_err(|e| Error::Protocol {
            endpoint: self.endpoint.clone(),
            what: what.clone(),
            reason: e.to_string(),
        })?;
        let part = if arrow {
            rowset::decode_arrow(&bytes).map(Part::Arrow)
        } else {
            rowset::decode_json_chunk(&bytes).map(Part::Json)
        };
        part.map_err(|e| Error::Protocol { endpoint: self.endpoint.clone(), what, reason: e.to_string() })
    }

    /// Sends one request to the Snowflake server, retrying transient failures with the
    /// same request id, and parses the JSON envelope. A non-success HTTP status whose body
    /// is a Snowflake envelope with a code or message is returned as that envelope.
    async fn send<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<Envelope<T>, Error> {
        let started = Instant::now();
        let start_millis = now_millis();
        let what = request.what.to_owned();
        let mut attempt: u32 = 0;
        let mut last_status: Option<u16> = None;
        loop {
            let url = self.attempt_url(&request, attempt, start_millis, last_status);
            let timeout = request
                .timeout
                .unwrap_or_else(|| request.budget.saturating_sub(started.elapsed()).max(Duration::from_millis(100)));
            let builder = self.builder(&request, &url, timeout)?;
            let failure = match builder.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match response.bytes().await {
                        Ok(bytes) if status == 200 => {
                            return serde_json::from_slice(&bytes).map_err(|e| Error::Protocol {
                                endpoint: self.endpoint.clone(),
                                what: what.clone(),
                                reason: format!("not a Snowflake JSON response ({e})"),
                            });
                        }
                        Ok(bytes) => {
                            // A Snowflake answer with an error code is final, whatever
                            // the status (fakesnow answers unsupported SQL with 500).
                            if let Ok(envelope) = serde_json::from_slice::<Envelope<T>>(&bytes)
                                && !envelope.success
                                && (envelope.code.is_some() || envelope.message.is_some())
                            {
                                return Ok(envelope);
                            }
                            Ok(status)
                        }
                        Err(e) if status == 200 => Err(describe_http_error(e)),
                        Err(_) => Ok(status),
                    }
                }
                Err(e) => Err(describe_http_error(e)),
            };
            let transient = match &failure {
                Ok(status) => is_transient_status(*status),
                Err(_) => true,
            };
            if !transient || started.elapsed() + backoff(attempt) >= request.budget {
                return Err(match failure {
                    Ok(status) => Error::Http { endpoint: self.endpoint.clone(), what, status },
                    Err(reason) => Error::Network {
                        endpoint: self.endpoint.clone(),
                        what,
                        reason: if attempt > 0 { format!("{reason} (after {} attempts)", attempt + 1) } else { reason },
                    },
                });
            }
            last_status = failure.ok();
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
        }
    }

    /// The URL of one attempt: a retry says which it is, since when and why, as
    /// Snowflake's drivers do; every attempt has a request GUID of its own.
    fn attempt_url(&self, request: &Request<'_>, attempt: u32, start_millis: u64, last_status: Option<u16>) -> String {
        let mut url = format!("{}{}", self.endpoint, request.path);
        let separator = if url.contains('?') { '&' } else { '?' };
        if request.retry_params && attempt > 0 {
            url.push_str(&format!("{separator}retryCount={attempt}&clientStartTime={start_millis}"));
            if let Some(status) = last_status {
                url.push_str(&format!("&retryReason={status}"));
            }
        }
        let separator = if url.contains('?') { '&' } else { '?' };
        url.push_str(&format!("{separator}request_guid={}", uuid4()));
        url
    }

    /// One attempt's HTTP request: headers, the session token (marked sensitive, so
    /// never logged), the JSON body.
    fn builder(&self, request: &Request<'_>, url: &str, timeout: Duration) -> Result<reqwest::RequestBuilder, Error> {
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .timeout(timeout)
            .header(ACCEPT, request.accept)
            .header(USER_AGENT, concat!("pitwall-snowflake/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = request.token {
            let mut value =
                HeaderValue::from_str(&format!("Snowflake Token=\"{}\"", token.expose())).map_err(|_| {
                    Error::Protocol {
                        endpoint: self.endpoint.clone(),
                        what: request.what.to_owned(),
                        reason: "the session token is not a valid header value".into(),
                    }
                })?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(body) = request.body {
            builder = builder.header(CONTENT_TYPE, "application/json").body(body.to_string());
        }
        Ok(builder)
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// Statuses worth retrying (gosnowflake `isRetryableError`: 5xx, 429, 408; 403 is not).
fn is_transient_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

/// A result chunk's download that Snowflake's response makes impossible: the server sent
/// chunk headers that are not HTTP headers, or a chunk that is broken gzip (the server's
/// or the storage's fault). No variant holds a header value (they carry the result's key).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChunkError {
    /// A `chunkHeaders` name that is not an HTTP header name.
    #[error("bad chunk header name {0}")]
    HeaderName(String),
    /// A `chunkHeaders` value (or the `qrmk`) that is not an HTTP header value.
    #[error("bad chunk header value")]
    HeaderValue,
    /// A chunk that starts as gzip and does not gunzip.
    #[error("cannot gunzip: {0}")]
    Gunzip(#[source] std::io::Error),
}

/// Gunzips gzip data (by its magic bytes), returns anything else as it is.
pub(crate) fn gunzip_if_gzip(bytes: &[u8]) -> Result<Vec<u8>, ChunkError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out)
            .map_err(ChunkError::Gunzip)?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
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

    /// A JSON chunk as Snowflake serves it: gzip, rows without the outer brackets.
    /// Body of snowflake-connector-python
    /// `test/data/wiremock/mappings/queries/chunk_1.json`.
    #[test]
    fn gzip_json_chunk_decodes_to_rows() {
        let body = STANDARD.decode("H4sIAM7YUGgC/4s21FHAiWIB81FB/x4AAAA=").unwrap();
        let rows = rowset::decode_json_chunk(&gunzip_if_gzip(&body).unwrap()).unwrap();
        assert_eq!(rows, vec![vec![Some("1".to_owned()); 10]]);
        assert_eq!(gunzip_if_gzip(b"[\"a\"]").unwrap(), b"[\"a\"]");
    }

    /// A scripted HTTP server: answers each request with the next response, in order, and
    /// records what it was asked.
    mod mock {
        use std::collections::VecDeque;
        use std::sync::{Arc, Mutex};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        pub(super) struct Recorded {
            pub(super) method: String,
            pub(super) target: String,
            pub(super) headers: Vec<(String, String)>,
            pub(super) body: String,
        }

        impl Recorded {
            pub(super) fn header(&self, name: &str) -> Option<&str> {
                self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
            }
        }

        pub(super) type Response = (u16, Vec<u8>);

        pub(super) struct Mock {
            pub(super) endpoint: String,
            pub(super) responses: Arc<Mutex<VecDeque<Response>>>,
            pub(super) requests: Arc<Mutex<Vec<Recorded>>>,
        }

        pub(super) async fn start() -> Mock {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let endpoint = format!("http://{}", listener.local_addr().unwrap());
            let responses: Arc<Mutex<VecDeque<Response>>> = Arc::default();
            let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
            let (queue, log) = (responses.clone(), requests.clone());
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let header_end = loop {
                        let n = stream.read(&mut chunk).await.unwrap();
                        buffer.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        if n == 0 {
                            break buffer.len();
                        }
                    };
                    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
                    let mut lines = head.lines();
                    let mut request_line = lines.next().unwrap_or_default().split(' ');
                    let method = request_line.next().unwrap_or_default().to_owned();
                    let target = request_line.next().unwrap_or_default().to_owned();
                    let headers: Vec<(String, String)> =
                        lines.filter_map(|l| l.split_once(": ").map(|(n, v)| (n.to_owned(), v.to_owned()))).collect();
                    let length: usize = headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                        .map_or(0, |(_, v)| v.parse().unwrap());
                    while buffer.len() < header_end + length {
                        let n = stream.read(&mut chunk).await.unwrap();
                        buffer.extend_from_slice(&chunk[..n]);
                    }
                    let body = String::from_utf8_lossy(&buffer[header_end..header_end + length]).into_owned();
                    log.lock().unwrap().push(Recorded { method, target, headers, body });
                    let (status, body) =
                        queue.lock().unwrap().pop_front().unwrap_or((599, b"no response left".to_vec()));
                    let head =
                        format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                }
            });
            Mock { endpoint, responses, requests }
        }

        impl Mock {
            pub(super) fn push(&self, status: u16, body: impl Into<Vec<u8>>) {
                self.responses.lock().unwrap().push_back((status, body.into()));
            }
        }
    }

    fn mock_options(endpoint: &str) -> ConnectOptions {
        let url = url::Url::parse(endpoint).unwrap();
        ConnectOptions {
            host: Some(url.host_str().unwrap().to_owned()),
            port: url.port(),
            protocol: Some("http".into()),
            ..ConnectOptions::new("pitwall", "u", Auth::Password("pw-secret".into()))
        }
    }

    fn query_param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
        target.split(['?', '&']).find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    }

    /// The protocol paths fakesnow never takes: a 503 retried with the same request id, a
    /// session expiry (390112, body of gosnowflake `restful_test.go`) renewed with the
    /// master token, "still running" (333334, gosnowflake
    /// `test_data/wiremock/mappings/query/long_running_query.json`; then 333333) polled
    /// at getResultUrl, and a result with gzip JSON chunks fetched with its chunkHeaders
    /// (snowflake-connector-python `test/data/wiremock/mappings/queries/
    /// select_large_request_successful.json` and `chunk_1.json`, reduced).
    #[tokio::test]
    async fn statement_survives_retry_renewal_polling_and_fetches_chunks() {
        let mock = mock::start().await;
        let result_url = "/queries/01bfd516-0009-ae23-0000-4c390101d1aa/result";
        let chunk = STANDARD.decode("H4sIAM7YUGgC/4s21FHAiWIB81FB/x4AAAA=").unwrap();
        mock.push(200, r#"{"data":{"token":"T1","masterToken":"M1","parameters":[]},"success":true}"#);
        mock.push(503, "");
        mock.push(
            200,
            r#"{"data":null,"code":"390112","message":"token expired for testing","success":false,"headers":null}"#,
        );
        mock.push(
            200,
            r#"{"data":{"sessionToken":"T2","masterToken":"M2"},"code":null,"message":null,"success":true}"#,
        );
        mock.push(
            200,
            format!(
                r#"{{"code":"333334","data":{{"getResultUrl":"{result_url}","progressDesc":null,
            "queryAbortsAfterSecs":300,"queryId":"01bfd516-0009-ae23-0000-4c390101d1aa"}},
            "message":"Asynchronous execution in progress.","success":true}}"#
            ),
        );
        mock.push(200, format!(r#"{{"code":"333333","data":{{"getResultUrl":"{result_url}"}},"success":true}}"#));
        let columns: Vec<String> = (0..10)
            .map(|i| format!(r#"{{"name":"C{i}","type":"fixed","scale":0,"precision":38,"nullable":true}}"#))
            .collect();
        mock.push(200, format!(
            r#"{{"data":{{"rowtype":[{}],"rowset":[["1","1","1","1","1","1","1","1","1","1"]],
            "qrmk":"+ZSmIj7I0L0BnU3zdVnSaHH5MW6cwY0GmLtz/Un5zSM=",
            "chunkHeaders":{{"x-amz-server-side-encryption-customer-key":"+ZSmIj7I0L0BnU3zdVnSaHH5MW6cwY0GmLtz/Un5zSM=",
              "x-amz-server-side-encryption-customer-key-md5":"ByrEgrMhjgAEMRr1QA/nGg=="}},
            "chunks":[{{"url":"ENDPOINT/stage/results/data_0_0_0_1?x-amz-server-side-encryption-customer-algorithm=AES256","rowCount":1}},
                      {{"url":"ENDPOINT/stage/results/data_0_0_0_2?x-amz-server-side-encryption-customer-algorithm=AES256","rowCount":1}}],
            "total":3,"returned":3,"queryId":"01bfd516-0009-ae23-0000-4c390101d1aa","statementTypeId":4096,
            "queryResultFormat":"json"}},"code":null,"message":null,"success":true}}"#,
            columns.join(","),
        ).replace("ENDPOINT", &mock.endpoint));
        mock.push(200, chunk.clone());
        mock.push(200, chunk);

        let session = Session::login(&mock_options(&mock.endpoint)).await.unwrap();
        let result = session.query("select * from big").await.unwrap();
        assert_eq!(result.num_rows(), 3);
        assert_eq!(result.schema.fields().len(), 10);
        assert_eq!(result.schema.field(0).data_type(), &arrow::datatypes::DataType::Int64);
        assert_eq!(result.query_id, "01bfd516-0009-ae23-0000-4c390101d1aa");

        let requests = mock.requests.lock().unwrap();
        let mut paths: Vec<String> =
            requests.iter().map(|r| format!("{} {}", r.method, r.target.split('?').next().unwrap())).collect();
        paths[7..].sort(); // chunks download in parallel
        assert_eq!(
            paths,
            vec![
                "POST /session/v1/login-request",
                "POST /queries/v1/query-request",
                "POST /queries/v1/query-request",
                "POST /session/token-request",
                "POST /queries/v1/query-request",
                &format!("GET {result_url}"),
                &format!("GET {result_url}"),
                "GET /stage/results/data_0_0_0_1",
                "GET /stage/results/data_0_0_0_2",
            ]
        );
        let login: Value = serde_json::from_str(&requests[0].body).unwrap();
        assert_eq!(login["data"]["PASSWORD"], "pw-secret");
        assert_eq!(login["data"]["LOGIN_NAME"], "u");
        // one request id for every attempt of the statement; retries say so
        let ids: Vec<_> = [1, 2, 4].iter().map(|&i| query_param(&requests[i].target, "requestId").unwrap()).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        assert_eq!(query_param(&requests[1].target, "retryCount"), None);
        assert_eq!(query_param(&requests[2].target, "retryCount"), Some("1"));
        assert_eq!(query_param(&requests[2].target, "retryReason"), Some("503"));
        assert_eq!(requests[1].header("authorization"), Some(r#"Snowflake Token="T1""#));
        assert_eq!(requests[1].header("accept"), Some("application/snowflake"));
        let statement: Value = serde_json::from_str(&requests[1].body).unwrap();
        assert_eq!(statement["sqlText"], "select * from big");
        assert_eq!(statement["asyncExec"], false);
        assert_eq!(statement["sequenceId"], 1);
        // renewal: the master token authorizes, the old session token is named
        assert_eq!(requests[3].header("authorization"), Some(r#"Snowflake Token="M1""#));
        let renew: Value = serde_json::from_str(&requests[3].body).unwrap();
        assert_eq!(renew, json!({"oldSessionToken": "T1", "requestType": "RENEW"}));
        for request in &requests[4..7] {
            assert_eq!(request.header("authorization"), Some(r#"Snowflake Token="T2""#));
        }
        for request in &requests[7..] {
            assert_eq!(
                request.header("x-amz-server-side-encryption-customer-key"),
                Some("+ZSmIj7I0L0BnU3zdVnSaHH5MW6cwY0GmLtz/Un5zSM=")
            );
            assert_eq!(request.header("authorization"), None, "no session token goes to storage");
        }
    }

    /// fakesnow answers what it cannot run with HTTP 500 and a Snowflake error: that is
    /// final, not retried; the error names the endpoint and never a token.
    #[tokio::test]
    async fn a_snowflake_error_under_http_500_is_final_and_shows_no_token() {
        let mock = mock::start().await;
        mock.push(200, r#"{"data":{"token":"SECRET-TOKEN","parameters":[]},"success":true}"#);
        mock.push(
            500,
            r#"{"data":null,"code":"261000","message":"Unhandled exception","success":false,"headers":null}"#,
        );
        let session = Session::login(&mock_options(&mock.endpoint)).await.unwrap();
        let error = session.query("alter table a swap with b").await.unwrap_err();
        assert_eq!(error.code(), Some("261000"));
        let text = format!("{error} {error:?}");
        assert!(text.contains(&mock.endpoint) && !text.contains("SECRET-TOKEN"), "{text}");
        assert_eq!(mock.requests.lock().unwrap().len(), 2, "not retried");
    }

    #[tokio::test]
    async fn a_refused_login_is_a_login_error_with_code_and_no_password() {
        let mock = mock::start().await;
        mock.push(200, r#"{"data":null,"code":"390100","message":"Incorrect username or password was specified.","success":false}"#);
        let error = Session::login(&mock_options(&mock.endpoint)).await.unwrap_err();
        assert!(matches!(error, Error::Login { .. }));
        assert_eq!(error.code(), Some("390100"));
        let text = format!("{error} {error:?}");
        assert!(text.contains("Incorrect username") && !text.contains("pw-secret"), "{text}");
    }
}
