//! Transparent gzip for source files, as Snowflake's `COPY INTO ... COMPRESSION = AUTO`
//! does it: a file is gunzipped when its name ends in `.gz` or its content starts with the
//! gzip magic bytes, and read as is otherwise. That lets a source folder ship its CSVs
//! compressed (`circuits.csv.gz`) without an unpacking step or a per-table setting.

use std::io::Read;

use bytes::Bytes;
use flate2::read::MultiGzDecoder;

/// The first two bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The content of `file`, gunzipped if it is gzip (by name or by magic bytes), else `bytes`
/// unchanged. All members of a multi-member gzip are read, as `gzip -d` and COPY do. Errors
/// do not repeat the file's name: the caller reports them against the file.
pub(crate) fn decompress(file: &str, bytes: Bytes) -> Result<Bytes, String> {
    let named_gz = file.to_ascii_lowercase().ends_with(".gz");
    let is_gzip = bytes.starts_with(&GZIP_MAGIC);
    if named_gz && !is_gzip {
        return Err("named .gz but not gzip data".into());
    }
    if !is_gzip {
        return Ok(bytes);
    }
    let mut plain = Vec::new();
    MultiGzDecoder::new(bytes.as_ref())
        .read_to_end(&mut plain)
        .map_err(|reason| format!("cannot decompress gzip: {reason}"))?;
    Ok(Bytes::from(plain))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, write::GzEncoder};

    use super::*;

    const CSV: &[u8] = b"circuitId,name\n1,\"Albert Park\"\n";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn plain_bytes_pass_through() {
        assert_eq!(decompress("circuits.csv", Bytes::from_static(CSV)).unwrap(), CSV);
    }

    #[test]
    fn gzip_is_detected_by_name() {
        assert_eq!(decompress("circuits.csv.GZ", Bytes::from(gzip(CSV))).unwrap(), CSV);
    }

    #[test]
    fn gzip_named_csv_is_detected_by_magic() {
        assert_eq!(decompress("circuits.csv", Bytes::from(gzip(CSV))).unwrap(), CSV);
    }

    #[test]
    fn concatenated_members_are_all_read() {
        let (head, tail) = CSV.split_at(10);
        let joined = [gzip(head), gzip(tail)].concat();
        assert_eq!(decompress("circuits.csv.gz", Bytes::from(joined)).unwrap(), CSV);
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let whole = gzip(CSV);
        let error = decompress("circuits.csv.gz", Bytes::copy_from_slice(&whole[..whole.len() - 6])).unwrap_err();
        assert!(error.starts_with("cannot decompress gzip: "), "{error}");
        assert!(error.len() > "cannot decompress gzip: ".len(), "no reason given: {error}");
    }

    #[test]
    fn gz_name_with_plain_text_is_an_error() {
        let error = decompress("circuits.csv.gz", Bytes::from_static(CSV)).unwrap_err();
        assert_eq!(error, "named .gz but not gzip data");
    }
}
