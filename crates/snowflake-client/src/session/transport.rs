//! One request to Snowflake (or to the storage of a result chunk): the HTTP request, its
//! retries of transient failures within a time budget (with backon), and what its status
//! and body mean.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable as _};
use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{REQUEST_TIMEOUT, RETRY_BUDGET, Session, now_millis, uuid4};
use crate::error::describe_http_error;
use crate::wire::Envelope;
use crate::{Error, Secret};

/// One request of [`Session::send`].
pub(super) struct Request<'a> {
    pub(super) what: &'a str,
    pub(super) method: Method,
    /// Path and query, after the endpoint.
    pub(super) path: String,
    pub(super) body: Option<&'a Value>,
    pub(super) token: Option<&'a Secret>,
    /// Accept header.
    pub(super) accept: &'static str,
    /// Add `retryCount`/`clientStartTime` on retries (query-request).
    pub(super) retry_params: bool,
    /// Retry transient failures until this long after the first attempt.
    pub(super) budget: Duration,
    /// Timeout of one attempt (`None`: what is left of the budget).
    pub(super) timeout: Option<Duration>,
}

/// Why one attempt failed.
enum Failure {
    /// An HTTP status other than 200 (with no Snowflake error in the body).
    Status(u16),
    /// No response, or an incomplete one: what happened (never a URL).
    Network(String),
    /// A failure no retry mends (the request cannot be built, the response is not JSON).
    Final(Error),
}

impl Failure {
    /// Worth retrying: a network failure, or a status gosnowflake's `isRetryableError`
    /// retries (5xx, 429, 408; 403 is not).
    fn is_transient(&self) -> bool {
        match self {
            Failure::Status(status) => *status >= 500 || *status == 429 || *status == 408,
            Failure::Network(_) => true,
            Failure::Final(_) => false,
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            Failure::Status(status) => Some(*status),
            _ => None,
        }
    }

    /// The error of a request (`what`) that failed this way for good.
    fn into_error(self, endpoint: &str, what: &str) -> Error {
        let (endpoint, what) = (endpoint.to_owned(), what.to_owned());
        match self {
            Failure::Status(status) => Error::Http { endpoint, what, status },
            Failure::Network(reason) => Error::Network { endpoint, what, reason },
            Failure::Final(error) => error,
        }
    }
}

/// Which attempt of a request is being made.
#[derive(Clone, Copy, Default)]
struct Attempt {
    /// 0 for the first, 1 for the first retry, ...
    number: u32,
    /// The status the attempt before failed with (none after a network failure).
    last_status: Option<u16>,
}

/// The waits between attempts: 250 ms, 500 ms, 1 s, 2 s, then 4 s, for as long as the
/// budget lasts.
fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(250))
        .with_factor(2.0)
        .with_max_delay(Duration::from_secs(4))
        .without_max_times()
}

/// Runs `attempt` until it succeeds or fails for good. A transient failure is retried
/// after the next wait of [`backoff`] if that wait ends before `budget` after `started`;
/// otherwise it is returned, with how many attempts were made.
async fn with_retries<T, F>(
    started: Instant,
    budget: Duration,
    mut attempt: impl FnMut(Attempt) -> F,
) -> Result<T, (Failure, u32)>
where
    F: Future<Output = Result<T, Failure>>,
{
    let state = Mutex::new(Attempt::default());
    let lock = || state.lock().unwrap_or_else(PoisonError::into_inner);
    let outcome = (|| {
        let mut current = lock();
        let this = *current;
        current.number += 1;
        drop(current);
        attempt(this)
    })
    .retry(backoff())
    .sleep(tokio::time::sleep)
    .when(Failure::is_transient)
    .adjust(|_, wait| wait.filter(|wait| started.elapsed() + *wait < budget))
    .notify(|failure, _| lock().last_status = failure.status())
    .await;
    outcome.map_err(|failure| (failure, lock().number))
}

impl Session {
    /// Sends one request to the Snowflake server, retrying transient failures with the
    /// same request id, and parses the JSON envelope. A non-success HTTP status whose body
    /// is a Snowflake envelope with a code or message is returned as that envelope.
    pub(super) async fn send<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<Envelope<T>, Error> {
        let started = Instant::now();
        let start_millis = now_millis();
        let outcome = with_retries(started, request.budget, |attempt| {
            let url = self.attempt_url(&request, attempt, start_millis);
            let timeout = request
                .timeout
                .unwrap_or_else(|| request.budget.saturating_sub(started.elapsed()).max(Duration::from_millis(100)));
            self.attempt(&request, url, timeout)
        })
        .await;
        outcome.map_err(|(failure, attempts)| {
            let failure = match failure {
                Failure::Network(reason) if attempts > 1 => {
                    Failure::Network(format!("{reason} (after {attempts} attempts)"))
                }
                failure => failure,
            };
            failure.into_error(&self.endpoint, request.what)
        })
    }

    /// One attempt of [`Session::send`].
    async fn attempt<T: DeserializeOwned>(
        &self,
        request: &Request<'_>,
        url: String,
        timeout: Duration,
    ) -> Result<Envelope<T>, Failure> {
        let builder = self.builder(request, &url, timeout).map_err(Failure::Final)?;
        let response = builder.send().await.map_err(|e| Failure::Network(describe_http_error(e)))?;
        let status = response.status().as_u16();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) if status == 200 => return Err(Failure::Network(describe_http_error(e))),
            Err(_) => return Err(Failure::Status(status)),
        };
        if status == 200 {
            return serde_json::from_slice(&bytes).map_err(|e| {
                Failure::Final(Error::Protocol {
                    endpoint: self.endpoint.clone(),
                    what: request.what.to_owned(),
                    reason: format!("not a Snowflake JSON response ({e})"),
                })
            });
        }
        // A Snowflake answer with an error code is final, whatever the status (fakesnow
        // answers unsupported SQL with 500).
        match serde_json::from_slice::<Envelope<T>>(&bytes) {
            Ok(envelope) if !envelope.success && (envelope.code.is_some() || envelope.message.is_some()) => {
                Ok(envelope)
            }
            _ => Err(Failure::Status(status)),
        }
    }

    /// The URL of one attempt: a retry says which it is, since when and why, as
    /// Snowflake's drivers do; every attempt has a request GUID of its own.
    fn attempt_url(&self, request: &Request<'_>, attempt: Attempt, start_millis: u64) -> String {
        let mut url = format!("{}{}", self.endpoint, request.path);
        let separator = if url.contains('?') { '&' } else { '?' };
        if request.retry_params && attempt.number > 0 {
            url.push_str(&format!("{separator}retryCount={}&clientStartTime={start_millis}", attempt.number));
            if let Some(status) = attempt.last_status {
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

    /// GETs `url` (a result chunk in the storage, not on the Snowflake server) with
    /// `headers`, retrying transient failures for [`RETRY_BUDGET`]; `what` names it in
    /// the error.
    pub(super) async fn download(&self, what: &str, url: &str, headers: &HeaderMap) -> Result<Bytes, Error> {
        let outcome = with_retries(Instant::now(), RETRY_BUDGET, move |_| async move {
            let network = |e| Failure::Network(describe_http_error(e));
            let response = self.http.get(url).headers(headers.clone()).timeout(REQUEST_TIMEOUT).send().await;
            let response = response.map_err(network)?;
            if !response.status().is_success() {
                return Err(Failure::Status(response.status().as_u16()));
            }
            response.bytes().await.map_err(network)
        })
        .await;
        outcome.map_err(|(failure, _)| failure.into_error(&self.endpoint, what))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use backon::BackoffBuilder as _;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::super::mock::{self, query_param};
    use super::backoff;
    use crate::{ConnectOptions, Error, Session};

    #[test]
    fn backoff_doubles_from_250_ms_to_4_s() {
        let delays: Vec<Duration> = backoff().build().take(7).collect();
        let millis = [250, 500, 1000, 2000, 4000, 4000, 4000].map(Duration::from_millis);
        assert_eq!(delays, millis);
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
        let session = Session::login(&mock::options(&mock.endpoint)).await.unwrap();
        let error = session.query("alter table a swap with b").await.unwrap_err();
        assert_eq!(error.code(), Some("261000"));
        let text = format!("{error} {error:?}");
        assert!(text.contains(&mock.endpoint) && !text.contains("SECRET-TOKEN"), "{text}");
        assert_eq!(mock.requests.lock().unwrap().len(), 2, "not retried");
    }

    /// A login budget of 1.5 s: attempts at 0, 250 ms and 750 ms; after the third, waiting
    /// 1 s more would pass the budget, so its failure is returned.
    #[tokio::test]
    async fn transient_statuses_are_retried_until_the_budget_is_spent() {
        let mock = mock::start().await;
        for _ in 0..10 {
            mock.push(503, "");
        }
        let options = ConnectOptions { login_timeout: Duration::from_millis(1500), ..mock::options(&mock.endpoint) };
        let started = Instant::now();
        let error = Session::login(&options).await.unwrap_err();
        assert!(matches!(&error, Error::Http { status: 503, what, .. } if what == "login"), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(750) && started.elapsed() < Duration::from_millis(1500));
        let requests = mock.requests.lock().unwrap();
        assert_eq!(requests.len(), 3);
        // every attempt has a request GUID of its own; a login's URL says nothing of retries
        assert_ne!(query_param(&requests[0].target, "request_guid"), query_param(&requests[1].target, "request_guid"));
        assert_eq!(query_param(&requests[2].target, "retryCount"), None);
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_network_error_that_counts_the_attempts() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let options = ConnectOptions {
            login_timeout: Duration::from_millis(1500),
            ..mock::options(&format!("http://127.0.0.1:{port}"))
        };
        let error = Session::login(&options).await.unwrap_err();
        let Error::Network { what, reason, .. } = &error else { panic!("{error}") };
        assert_eq!(what, "login");
        assert!(reason.starts_with("connection failed") && reason.ends_with(" (after 3 attempts)"), "{reason}");
    }

    /// A status that is not transient (404) is final: no retry.
    #[tokio::test]
    async fn a_statement_answered_with_404_is_an_http_error_at_once() {
        let mock = mock::start().await;
        mock.push(200, r#"{"data":{"token":"T1","parameters":[]},"success":true}"#);
        mock.push(404, "no such thing");
        let session = Session::login(&mock::options(&mock.endpoint)).await.unwrap();
        let error = session.query("select 1").await.unwrap_err();
        assert!(matches!(&error, Error::Http { status: 404, what, .. } if what == "query-request"), "{error}");
        assert_eq!(mock.requests.lock().unwrap().len(), 2);
    }

    /// A chunk download retries a 503; a 403 from the storage is final.
    #[tokio::test]
    async fn chunk_downloads_retry_transient_statuses_and_stop_at_others() {
        let mock = mock::start().await;
        let chunk = STANDARD.decode("H4sIAM7YUGgC/4s21FHAiWIB81FB/x4AAAA=").unwrap();
        let columns: Vec<String> =
            (0..10).map(|i| format!(r#"{{"name":"C{i}","type":"text","nullable":true}}"#)).collect();
        let result = format!(
            r#"{{"data":{{"rowtype":[{}],"rowset":[],"chunks":[{{"url":"{}/chunk","rowCount":1}}],
            "queryId":"q","queryResultFormat":"json"}},"success":true}}"#,
            columns.join(","),
            mock.endpoint
        );
        mock.push(200, r#"{"data":{"token":"T1","parameters":[]},"success":true}"#);
        mock.push(200, result.clone());
        mock.push(503, "");
        mock.push(200, chunk);
        mock.push(200, result);
        mock.push(403, "");
        let session = Session::login(&mock::options(&mock.endpoint)).await.unwrap();
        assert_eq!(session.query("select 1").await.unwrap().num_rows(), 1);
        let error = session.query("select 1").await.unwrap_err();
        assert!(
            matches!(&error, Error::Http { status: 403, what, .. } if what == "downloading result chunk 1"),
            "{error}"
        );
        let requests = mock.requests.lock().unwrap();
        let paths: Vec<&str> = requests.iter().map(|r| r.target.split('?').next().unwrap()).collect();
        assert_eq!(paths[2..], ["/chunk", "/chunk", "/queries/v1/query-request", "/chunk"]);
    }
}
