//! A statement's life on the server: its submission, the session's renewal when it
//! expired, and the polling of a statement that is still running, up to its final
//! response (a result, or the statement's error).

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::transport::Request;
use super::{REQUEST_TIMEOUT, RETRY_BUDGET, SESSION_EXPIRED, Session, now_millis, uuid4};
use crate::wire::{Envelope, QueryData};
use crate::{Binding, Error};

const QUERY_IN_PROGRESS: &str = "333333";
const QUERY_IN_PROGRESS_ASYNC: &str = "333334";

impl Session {
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
                _ => return Err(self.statement_error(response)),
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

    /// The error of a statement Snowflake ran and failed.
    fn statement_error(&self, response: Envelope<QueryData>) -> Error {
        let data = response.data.unwrap_or_default();
        Error::Statement {
            endpoint: self.endpoint.clone(),
            code: response.code.or(data.error_code),
            sql_state: data.sql_state,
            message: response.message.or(data.error_message).unwrap_or_else(|| "no message given".into()),
            query_id: data.query_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::{Value, json};

    use super::super::mock::{self, query_param};
    use crate::Session;

    const RESULT_URL: &str = "/queries/01bfd516-0009-ae23-0000-4c390101d1aa/result";

    /// The responses of `statement_survives_retry_renewal_polling_and_fetches_chunks`, in order.
    fn push_long_statement(mock: &mock::Mock) {
        let result_url = RESULT_URL;
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
        let result_url = RESULT_URL;
        push_long_statement(&mock);

        let session = Session::login(&mock::options(&mock.endpoint)).await.unwrap();
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
}
