//! PUT: Snowflake answers the PUT statement with where to write (`stageInfo`) and, for
//! encrypted stages, the key material (`encryptionMaterial`); the client then writes the
//! file to the stage's cloud storage itself (snowflake-connector-python
//! `file_transfer_agent.py`, `s3_storage_client.py`, `gcs_storage_client.py`).
//!
//! Supported: S3 (through object_store, client-side encrypted when the stage is) and GCS
//! (a presigned URL, or the `GCS_ACCESS_TOKEN`). Azure and local-FS stages give
//! [`Error::UnsupportedStage`].

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, ObjectStore as _, PutOptions, PutPayload};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};

use crate::encryption::{self, Material, Metadata};
use crate::session::Session;
use crate::wire::StageInfo;
use crate::{Binding, Error};

/// Why a file could not be written to the stage's cloud storage. The stage's location
/// and credentials come from Snowflake's PUT response, so a missing or malformed one is
/// the server's fault; a refused write or an unreachable storage is the storage's (or the
/// network's). No variant holds a credential, a token or a presigned URL.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StorageError {
    /// A GCS stage with neither a presigned URL nor `GCS_ACCESS_TOKEN` (the server's fault).
    #[error("the GCS stage has neither a presigned URL nor an access token")]
    NoGcsCredentials,
    /// A `GCS_ACCESS_TOKEN` that cannot be an HTTP header (the server's fault).
    #[error("the GCS access token is not valid")]
    InvalidGcsAccessToken,
    /// A GCS stage endpoint that is not a URL (the server's fault).
    #[error("the GCS stage's endpoint is not a URL")]
    GcsEndpointNotUrl,
    /// The GCS request failed on the way (network), as [`describe_http_error`] tells it.
    ///
    /// [`describe_http_error`]: crate::error::describe_http_error
    #[error("{0}")]
    Network(String),
    /// GCS refused the write with this HTTP status (the storage's answer).
    #[error("the storage answered HTTP status {0}")]
    Status(u16),
    /// An S3 stage without this credential (the server's fault).
    #[error("the S3 stage sent no {0}")]
    MissingS3Credential(&'static str),
    /// object_store refused the S3 settings the server sent (first line of its error).
    #[error("cannot configure S3 access: {0}")]
    S3Config(String),
    /// The S3 PUT failed (first line of object_store's error: the storage or the network).
    #[error("S3 PUT of s3://{bucket}/{key}: {reason}")]
    S3Put { bucket: String, key: String, reason: String },
}

/// The statement for one file. AUTO_COMPRESS=FALSE: the bytes are stored as given (the
/// caller's Parquet is compressed already); the local path is only a name to the server.
pub(crate) fn put_statement(stage: &str, file_name: &str) -> String {
    format!("PUT 'file:///{file_name}' {stage} AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
}

fn check_names(session: &Session, stage: &str, file_name: &str) -> Result<(), Error> {
    let invalid = |reason: String| Error::Options { endpoint: session.endpoint().to_owned(), reason };
    if !stage.starts_with('@') || stage.len() < 2 || stage.contains(['\'', '\n', '\r', ';']) || stage.contains(' ') {
        return Err(invalid(format!("`{stage}` is not a stage reference such as @DB.SCHEMA.STAGE/path")));
    }
    if file_name.is_empty()
        || file_name.contains(['/', '\\', '\'', '\n', '\r', ' ', '*', '?'])
        || file_name == "."
        || file_name == ".."
    {
        return Err(invalid(format!("`{file_name}` is not a plain file name")));
    }
    Ok(())
}

impl Session {
    /// Uploads `data` as `file_name` into `stage` (e.g.
    /// `@PC_DBT_DB.PRODUCTION.PITWALL_STAGE/fct_results`), overwriting a file of that name.
    pub async fn put(&self, stage: &str, file_name: &str, data: Bytes) -> Result<(), Error> {
        check_names(self, stage, file_name)?;
        let response = self.execute(&put_statement(stage, file_name), &[] as &[Binding]).await?;
        let upload_error = |reason: String| Error::Upload {
            endpoint: self.endpoint().to_owned(),
            stage: stage.to_owned(),
            file_name: file_name.to_owned(),
            reason,
        };
        if let Some(command) = &response.command
            && !command.eq_ignore_ascii_case("UPLOAD")
        {
            return Err(upload_error(format!("the server answered the PUT with a {command} command")));
        }
        let stage_info = response.stage_info.ok_or_else(|| upload_error("the server sent no stageInfo".into()))?;
        let material = response.encryption_material.as_ref().and_then(|m| m.first()).map(|m| Material {
            master_key_base64: m.query_stage_master_key.clone(),
            query_id: m.query_id.clone().unwrap_or_default(),
            smk_id: m.smk_id.clone().unwrap_or_default(),
        });
        let digest = encryption::sfc_digest(&data);
        let (body, metadata) = match &material {
            Some(material) => {
                let (ciphertext, metadata) =
                    encryption::encrypt(material, &data).map_err(|e| upload_error(e.to_string()))?;
                (Bytes::from(ciphertext), Some(metadata))
            }
            None => (data, None),
        };
        match stage_info.location_type.to_ascii_uppercase().as_str() {
            "S3" => upload_s3(&stage_info, file_name, body, &digest, metadata.as_ref())
                .await
                .map_err(|e| upload_error(e.to_string())),
            "GCS" => self
                .upload_gcs(&stage_info, file_name, body, &digest, metadata.as_ref())
                .await
                .map_err(|e| upload_error(e.to_string())),
            other => Err(Error::UnsupportedStage {
                endpoint: self.endpoint().to_owned(),
                stage: stage.to_owned(),
                location_type: if other.is_empty() { "unnamed".into() } else { other.to_owned() },
            }),
        }
    }

    /// GCS: an HTTP PUT to the presigned URL, or to the object URL with the access token.
    async fn upload_gcs(
        &self,
        stage: &StageInfo,
        file_name: &str,
        body: Bytes,
        digest: &str,
        metadata: Option<&Metadata>,
    ) -> Result<(), StorageError> {
        let (url, token) = match (&stage.presigned_url, stage.cred("GCS_ACCESS_TOKEN")) {
            (Some(url), _) if !url.is_empty() => (url.clone(), None),
            (_, Some(token)) => (gcs_object_url(stage, file_name)?, Some(token)),
            _ => return Err(StorageError::NoGcsCredentials),
        };
        let mut request = self
            .http()
            .put(&url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header("x-goog-meta-sfc-digest", digest);
        if let Some(metadata) = metadata {
            request = request
                .header("x-goog-meta-encryptiondata", gcs_encryption_data(metadata))
                .header("x-goog-meta-matdesc", &metadata.matdesc);
        }
        if let Some(token) = token {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| StorageError::InvalidGcsAccessToken)?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        let response =
            request.body(body).send().await.map_err(|e| StorageError::Network(crate::error::describe_http_error(e)))?;
        let status = response.status();
        if status.is_success() { Ok(()) } else { Err(StorageError::Status(status.as_u16())) }
    }
}

/// `x-goog-meta-encryptiondata`, as snowflake-connector-python's `SnowflakeGCSRestClient`
/// writes it.
fn gcs_encryption_data(metadata: &Metadata) -> String {
    serde_json::json!({
        "EncryptionMode": "FullBlob",
        "WrappedContentKey": {"KeyId": "symmKey1", "EncryptedKey": metadata.key, "Algorithm": "AES_CBC_256"},
        "EncryptionAgent": {"Protocol": "1.0", "EncryptionAlgorithm": "AES_CBC_256"},
        "ContentEncryptionIV": metadata.iv,
        "KeyWrappingMetadata": {"EncryptionLibrary": "Java 5.3.0"},
    })
    .to_string()
}

/// Bucket and key prefix of a stage location `bucket/path/` (path ending in `/`).
fn bucket_and_prefix(location: &str) -> (&str, String) {
    let (bucket, path) = location.split_once('/').unwrap_or((location, ""));
    let prefix = if path.is_empty() || path.ends_with('/') { path.to_owned() } else { format!("{path}/") };
    (bucket, prefix)
}

/// The object URL of a GCS stage file (snowflake-connector-python
/// `SnowflakeGCSRestClient.generate_file_url`), path segments percent-encoded.
fn gcs_object_url(stage: &StageInfo, file_name: &str) -> Result<String, StorageError> {
    let (bucket, prefix) = bucket_and_prefix(&stage.location);
    let (base, bucket_in_path) = match stage.end_point.as_deref().filter(|e| !e.is_empty()) {
        Some(endpoint) => {
            let endpoint = endpoint.trim_end_matches('/');
            (if endpoint.contains("://") { endpoint.to_owned() } else { format!("https://{endpoint}") }, true)
        }
        None if stage.use_virtual_url == Some(true) => (format!("https://{bucket}.storage.googleapis.com"), false),
        None if stage.use_regional_url == Some(true) => (
            format!(
                "https://storage.{}.rep.googleapis.com",
                stage.region.as_deref().unwrap_or_default().to_lowercase()
            ),
            true,
        ),
        None => ("https://storage.googleapis.com".to_owned(), true),
    };
    let mut url = url::Url::parse(&base).map_err(|_| StorageError::GcsEndpointNotUrl)?;
    {
        let mut segments = url.path_segments_mut().map_err(|_| StorageError::GcsEndpointNotUrl)?;
        segments.pop_if_empty();
        if bucket_in_path {
            segments.push(bucket);
        }
        segments.extend(prefix.split('/').filter(|s| !s.is_empty()));
        segments.push(file_name);
    }
    Ok(url.to_string())
}

/// S3: a PUT of the (encrypted) file through object_store, with Snowflake's metadata.
async fn upload_s3(
    stage: &StageInfo,
    file_name: &str,
    body: Bytes,
    digest: &str,
    metadata: Option<&Metadata>,
) -> Result<(), StorageError> {
    let (bucket, prefix) = bucket_and_prefix(&stage.location);
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(stage.region.clone().unwrap_or_else(|| "us-east-1".into()))
        .with_access_key_id(stage.cred("AWS_KEY_ID").ok_or(StorageError::MissingS3Credential("AWS_KEY_ID"))?)
        .with_secret_access_key(
            stage.cred("AWS_SECRET_KEY").ok_or(StorageError::MissingS3Credential("AWS_SECRET_KEY"))?,
        )
        .with_skip_signature(false);
    if let Some(token) = stage.cred("AWS_TOKEN") {
        builder = builder.with_token(token);
    }
    if let Some(endpoint) = stage.end_point.as_deref().filter(|e| !e.is_empty()) {
        // Snowflake sends a host (FIPS, China); the drivers address the bucket virtually
        // on it. A full URL (a test server) is used path-style as given.
        builder = if endpoint.contains("://") {
            builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"))
        } else {
            builder
                .with_endpoint(format!("https://{bucket}.{}", endpoint.trim_end_matches('/')))
                .with_virtual_hosted_style_request(true)
        };
    }
    let store = builder.build().map_err(|e| StorageError::S3Config(redact_store_error(&e)))?;
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, "application/octet-stream".into());
    attributes.insert(Attribute::Metadata("sfc-digest".into()), digest.to_owned().into());
    if let Some(metadata) = metadata {
        attributes.insert(Attribute::Metadata("x-amz-key".into()), metadata.key.clone().into());
        attributes.insert(Attribute::Metadata("x-amz-iv".into()), metadata.iv.clone().into());
        attributes.insert(Attribute::Metadata("x-amz-matdesc".into()), metadata.matdesc.clone().into());
    }
    let key = ObjectPath::from(format!("{prefix}{file_name}"));
    store
        .put_opts(&key, PutPayload::from_bytes(body), PutOptions { attributes, ..PutOptions::default() })
        .await
        .map_err(|e| StorageError::S3Put {
            bucket: bucket.to_owned(),
            key: key.to_string(),
            reason: redact_store_error(&e),
        })?;
    Ok(())
}

/// object_store errors name buckets and paths, not credentials; keep only the first
/// line in case a server echoes a request.
fn redact_store_error(error: &dyn std::fmt::Display) -> String {
    error.to_string().lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_statement_names_the_file_and_stage_and_keeps_bytes_as_given() {
        assert_eq!(
            put_statement("@PC_DBT_DB.PRODUCTION.PITWALL_STAGE/fct_results", "fct_results.parquet"),
            "PUT 'file:///fct_results.parquet' @PC_DBT_DB.PRODUCTION.PITWALL_STAGE/fct_results AUTO_COMPRESS=FALSE OVERWRITE=TRUE"
        );
    }

    #[test]
    fn stage_location_splits_into_bucket_and_prefix() {
        assert_eq!(bucket_and_prefix("bucket/a/b/"), ("bucket", "a/b/".to_owned()));
        assert_eq!(bucket_and_prefix("bucket/a/b"), ("bucket", "a/b/".to_owned()));
        assert_eq!(bucket_and_prefix("bucket"), ("bucket", String::new()));
    }

    #[test]
    fn gcs_object_url_follows_the_python_connector() {
        let stage = StageInfo {
            location_type: "GCS".into(),
            location: "gcs-bucket/stages/x y/".into(),
            ..StageInfo::default()
        };
        assert_eq!(
            gcs_object_url(&stage, "f.parquet").unwrap(),
            "https://storage.googleapis.com/gcs-bucket/stages/x%20y/f.parquet"
        );
        let virtual_url = StageInfo { use_virtual_url: Some(true), ..stage.clone() };
        assert_eq!(
            gcs_object_url(&virtual_url, "f").unwrap(),
            "https://gcs-bucket.storage.googleapis.com/stages/x%20y/f"
        );
    }

    #[test]
    fn gcs_encryption_metadata_matches_the_python_connector_shape() {
        let metadata = Metadata { key: "K".into(), iv: "I".into(), matdesc: "{}".into() };
        let json: serde_json::Value = serde_json::from_str(&gcs_encryption_data(&metadata)).unwrap();
        assert_eq!(json["WrappedContentKey"]["EncryptedKey"], "K");
        assert_eq!(json["ContentEncryptionIV"], "I");
        assert_eq!(json["EncryptionMode"], "FullBlob");
    }
}
