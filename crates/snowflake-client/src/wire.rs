//! The JSON shapes of Snowflake's REST protocol, as its drivers read them
//! (gosnowflake `query.go`, `restful.go`; snowflake-connector-python `network.py`,
//! `cursor.py`, `file_transfer_agent.py`). Every field is optional: servers and emulators
//! leave out what they do not use.
//!
//! Nothing here derives `Debug`: tokens and stage credentials must never be printed.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The envelope of every response: `{"data": .., "code": .., "message": .., "success": ..}`.
#[derive(Deserialize)]
pub(crate) struct Envelope<T> {
    #[serde(default = "Option::default")]
    pub(crate) data: Option<T>,
    #[serde(default, deserialize_with = "text")]
    pub(crate) code: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) success: bool,
}

/// `data` of a login-request response.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginData {
    #[serde(default)]
    pub(crate) token: Option<String>,
    #[serde(default)]
    pub(crate) master_token: Option<String>,
    #[serde(default)]
    pub(crate) server_version: Option<String>,
    #[serde(default)]
    pub(crate) parameters: Vec<Parameter>,
}

/// `data` of a token-request (session renewal) response.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RenewData {
    #[serde(default)]
    pub(crate) session_token: Option<String>,
    #[serde(default)]
    pub(crate) master_token: Option<String>,
}

#[derive(Deserialize, Clone)]
pub(crate) struct Parameter {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) value: Value,
}

/// `data` of a query-request response (and of a result poll): a result, a "still
/// running" marker, an error's details, or a PUT's upload instructions.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryData {
    #[serde(default, deserialize_with = "text")]
    pub(crate) query_id: Option<String>,
    #[serde(default)]
    pub(crate) rowtype: Vec<RowType>,
    #[serde(default)]
    pub(crate) rowset: Option<Vec<Vec<Value>>>,
    #[serde(default, alias = "rowsetbase64")]
    pub(crate) rowset_base64: Option<String>,
    #[serde(default)]
    pub(crate) query_result_format: Option<String>,
    #[serde(default)]
    pub(crate) statement_type_id: Option<i64>,
    #[serde(default)]
    pub(crate) chunks: Vec<Chunk>,
    #[serde(default)]
    pub(crate) qrmk: Option<String>,
    #[serde(default)]
    pub(crate) chunk_headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub(crate) get_result_url: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(crate) error_code: Option<String>,
    #[serde(default)]
    pub(crate) sql_state: Option<String>,
    #[serde(default)]
    pub(crate) error_message: Option<String>,
    // PUT
    #[serde(default)]
    pub(crate) command: Option<String>,
    #[serde(default)]
    pub(crate) stage_info: Option<StageInfo>,
    #[serde(default)]
    pub(crate) encryption_material: Option<EncryptionMaterial>,
}

/// One column of `rowtype`.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RowType {
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default, rename = "type")]
    pub(crate) type_name: String,
    #[serde(default)]
    pub(crate) precision: Option<i64>,
    #[serde(default)]
    pub(crate) scale: Option<i64>,
    #[serde(default)]
    pub(crate) nullable: Option<bool>,
    #[serde(default)]
    pub(crate) length: Option<i64>,
}

/// A result chunk to fetch from cloud storage.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Chunk {
    pub(crate) url: String,
}

/// Where a PUT writes (`stageInfo`).
#[derive(Deserialize, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StageInfo {
    #[serde(default)]
    pub(crate) location_type: String,
    #[serde(default)]
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) region: Option<String>,
    #[serde(default, rename = "endPoint")]
    pub(crate) end_point: Option<String>,
    #[serde(default)]
    pub(crate) creds: BTreeMap<String, Value>,
    #[serde(default)]
    pub(crate) presigned_url: Option<String>,
    #[serde(default)]
    pub(crate) use_regional_url: Option<bool>,
    #[serde(default)]
    pub(crate) use_virtual_url: Option<bool>,
}

impl StageInfo {
    /// A credential of `creds` (`AWS_KEY_ID`, `GCS_ACCESS_TOKEN`, ...), when non-empty.
    pub(crate) fn cred(&self, name: &str) -> Option<&str> {
        self.creds.get(name).and_then(Value::as_str).filter(|v| !v.is_empty())
    }
}

/// `encryptionMaterial`: one object for an upload, a list for a download.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(crate) enum EncryptionMaterial {
    One(MaterialItem),
    Many(Vec<Option<MaterialItem>>),
}

impl EncryptionMaterial {
    pub(crate) fn first(&self) -> Option<&MaterialItem> {
        match self {
            EncryptionMaterial::One(item) => Some(item),
            EncryptionMaterial::Many(items) => items.iter().flatten().next(),
        }
    }
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MaterialItem {
    pub(crate) query_stage_master_key: String,
    #[serde(default, deserialize_with = "text")]
    pub(crate) query_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(crate) smk_id: Option<String>,
}

/// A string, or a number as its text, or null.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fakesnow(name: &str) -> String {
        let path = format!("{}/tests/fixtures/fakesnow/{name}.json", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn recorded_fakesnow_login_gives_the_session_token() {
        let login: Envelope<LoginData> = serde_json::from_str(&fakesnow("login")).unwrap();
        assert!(login.success);
        let data = login.data.unwrap();
        assert_eq!(data.token.as_deref(), Some("SESSION-TOKEN-PLACEHOLDER"));
        assert!(data.master_token.is_none(), "fakesnow sends no master token");
        assert!(data.parameters.iter().any(|p| p.name == "AUTOCOMMIT"));
    }

    #[test]
    fn recorded_fakesnow_error_carries_code_sql_state_and_message() {
        let error: Envelope<QueryData> = serde_json::from_str(&fakesnow("error_unknown_table")).unwrap();
        assert!(!error.success);
        assert_eq!(error.code.as_deref(), Some("002003"));
        let data = error.data.unwrap();
        assert_eq!(data.sql_state.as_deref(), Some("42S02"));
        assert_eq!(data.error_code.as_deref(), Some("002003"));
        assert!(error.message.unwrap().contains("NO_SUCH_TABLE"));
    }

    #[test]
    fn recorded_fakesnow_put_gives_gcs_stage_info_with_a_presigned_url() {
        let put: Envelope<QueryData> = serde_json::from_str(&fakesnow("put_gcs_presigned")).unwrap();
        let data = put.data.unwrap();
        assert_eq!(data.command.as_deref(), Some("UPLOAD"));
        let stage = data.stage_info.unwrap();
        assert_eq!(stage.location_type, "GCS");
        assert!(stage.presigned_url.unwrap().ends_with("/fct_results/fct_results.parquet"));
        assert!(data.encryption_material.is_none());
    }

    /// A real Snowflake login response: gosnowflake
    /// `test_data/wiremock/mappings/auth/password/successful_flow.json`.
    #[test]
    fn snowflake_login_gives_session_and_master_tokens() {
        let body = r#"{"data":{"masterToken":"master token","token":"session token","validityInSeconds":3600,
            "masterValidityInSeconds":14400,"displayUserName":"TEST_USER","serverVersion":"8.48.0 b2024121104444034239f05",
            "firstLogin":false,"remMeToken":null,"remMeValidityInSeconds":0,"healthCheckInterval":45,
            "newClientForUpgrade":"3.12.3","sessionId":1172562260498,
            "parameters":[{"name":"CLIENT_PREFETCH_THREADS","value":4}],
            "sessionInfo":{"databaseName":"TEST_DB","schemaName":"TEST_GO","warehouseName":"TEST_XSMALL","roleName":"ANALYST"},
            "idToken":null,"idTokenValidityInSeconds":0,"responseData":null,"mfaToken":null,"mfaTokenValidityInSeconds":0},
            "code":null,"message":null,"success":true}"#;
        let login: Envelope<LoginData> = serde_json::from_str(body).unwrap();
        let data = login.data.unwrap();
        assert_eq!(data.token.as_deref(), Some("session token"));
        assert_eq!(data.master_token.as_deref(), Some("master token"));
        assert_eq!(data.server_version.as_deref(), Some("8.48.0 b2024121104444034239f05"));
    }

    /// A refused login: gosnowflake `test_data/wiremock/mappings/auth/password/invalid_password.json`.
    #[test]
    fn snowflake_refused_login_has_code_and_message_and_no_data() {
        let body = r#"{"data":null,"code":"390100","message":"Incorrect username or password was specified.","success":false}"#;
        let login: Envelope<LoginData> = serde_json::from_str(body).unwrap();
        assert!(!login.success && login.data.is_none());
        assert_eq!(login.code.as_deref(), Some("390100"));
    }

    /// A query still running: gosnowflake
    /// `test_data/wiremock/mappings/query/long_running_query.json`.
    #[test]
    fn snowflake_query_in_progress_gives_the_result_url_to_poll() {
        let body = r#"{"code":"333334","data":{"getResultUrl":"/queries/01bfd516-0009-ae23-0000-4c390101d1aa/result",
            "progressDesc":null,"queryAbortsAfterSecs":300,"queryId":"01bfd516-0009-ae23-0000-4c390101d1aa"},
            "message":"Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
            "success":true}"#;
        let response: Envelope<QueryData> = serde_json::from_str(body).unwrap();
        assert_eq!(response.code.as_deref(), Some("333334"));
        let data = response.data.unwrap();
        assert_eq!(data.get_result_url.as_deref(), Some("/queries/01bfd516-0009-ae23-0000-4c390101d1aa/result"));
    }

    /// An S3 PUT response, fields as gosnowflake's `execResponseStageInfo` and
    /// snowflake-connector-python's `file_transfer_agent.py` read them.
    #[test]
    fn s3_put_response_gives_credentials_and_one_encryption_material() {
        let body = r#"{"data":{"command":"UPLOAD","src_locations":["/fct_results.parquet"],"autoCompress":false,
            "overwrite":true,"sourceCompression":"auto_detect","parallel":4,
            "stageInfo":{"locationType":"S3","location":"sfc-eu-ds1-customer-stage/abcd-s-1234/stages/5c1e/",
              "path":"stages/5c1e/","region":"eu-west-1","storageAccount":null,"isClientSideEncrypted":true,
              "creds":{"AWS_KEY_ID":"AKIA-TEST","AWS_SECRET_KEY":"test-secret","AWS_TOKEN":"test-token"},
              "presignedUrl":null,"endPoint":null,"useS3RegionalUrl":false},
            "encryptionMaterial":{"queryStageMasterKey":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
              "queryId":"01b2c3d4-0000-1111-0000-000000000001","smkId":4711}},
            "code":null,"message":null,"success":true}"#;
        let response: Envelope<QueryData> = serde_json::from_str(body).unwrap();
        let data = response.data.unwrap();
        let stage = data.stage_info.unwrap();
        assert_eq!(stage.location_type, "S3");
        assert_eq!(stage.cred("AWS_KEY_ID"), Some("AKIA-TEST"));
        assert_eq!(stage.region.as_deref(), Some("eu-west-1"));
        let material = data.encryption_material.unwrap();
        let first = material.first().unwrap();
        assert_eq!(first.smk_id.as_deref(), Some("4711"), "smkId comes as a number");
        assert_eq!(first.query_id.as_deref(), Some("01b2c3d4-0000-1111-0000-000000000001"));
        let list: EncryptionMaterial =
            serde_json::from_str(r#"[null, {"queryStageMasterKey":"k","smkId":"1"}]"#).unwrap();
        assert_eq!(list.first().unwrap().query_stage_master_key, "k");
    }
}
