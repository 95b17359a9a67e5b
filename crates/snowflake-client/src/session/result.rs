//! A finished statement's result: its first rowset (Arrow or JSON) and its chunks,
//! downloaded from the result storage a few at a time, converted to Arrow.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::{StreamExt as _, TryStreamExt as _};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::Session;
use crate::Error;
use crate::rowset::{self, Column, Part, QueryResult};
use crate::wire::QueryData;

/// Result chunks downloaded at once.
const CHUNK_PARALLELISM: usize = 4;

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

/// `chunkHeaders` when given, else the SSE-C headers of the `qrmk` (gosnowflake
/// `downloadChunkHelper`).
fn chunk_headers(data: &QueryData) -> Result<HeaderMap, ChunkError> {
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

impl Session {
    /// The result of a finished statement: its first rowset and every chunk, in Arrow.
    pub(super) async fn result(&self, data: QueryData) -> Result<QueryResult, Error> {
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
            let headers = chunk_headers(&data).map_err(|e| protocol(e.to_string()))?;
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

    /// Downloads result chunk `index` from `url` and decodes it (Arrow IPC, or JSON rows).
    async fn fetch_chunk(&self, index: usize, url: &str, headers: HeaderMap, arrow: bool) -> Result<Part, Error> {
        let what = format!("downloading result chunk {}", index + 1);
        let bytes = self.download(&what, url, &headers).await?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// `chunkHeaders` win over the `qrmk`; a `qrmk` alone gives the SSE-C headers; every
    /// value is marked sensitive (it is the result's key).
    #[test]
    fn chunk_headers_come_from_chunk_headers_or_the_qrmk() {
        let data: QueryData =
            serde_json::from_str(r#"{"qrmk":"KEY","chunkHeaders":{"x-amz-server-side-encryption-customer-key":"K2"}}"#)
                .unwrap();
        let headers = chunk_headers(&data).unwrap();
        assert_eq!(headers.len(), 1);
        assert!(headers["x-amz-server-side-encryption-customer-key"].is_sensitive());
        let data: QueryData = serde_json::from_str(r#"{"qrmk":"KEY"}"#).unwrap();
        let headers = chunk_headers(&data).unwrap();
        assert_eq!(headers["x-amz-server-side-encryption-customer-algorithm"], "AES256");
        assert_eq!(headers["x-amz-server-side-encryption-customer-key"], "KEY");
        let data: QueryData = serde_json::from_str(r#"{"chunkHeaders":{"bad name":"v"}}"#).unwrap();
        assert_eq!(chunk_headers(&data).unwrap_err().to_string(), "bad chunk header name bad name");
    }
}
