//! Transparent gzip for source files, as Snowflake's `COPY INTO ... COMPRESSION = AUTO`
//! does it: a file is gunzipped when its name ends in `.gz` or its content starts with the
//! gzip magic bytes, and read as is otherwise. That lets a source folder ship its CSVs
//! compressed (`circuits.csv.gz`) without an unpacking step or a per-table setting.
//! Decompression streams: the file is never held whole, compressed or not.

use std::io::{Cursor, Read};

use flate2::read::MultiGzDecoder;

/// The first two bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The content of `file` read from `input`: gunzipped if it is gzip (by name or by magic
/// bytes), else as is, and whether it is gzip. All members of a multi-member gzip are read,
/// as `gzip -d` and COPY do. Errors do not repeat the file's name: the caller reports them
/// against the file.
pub(crate) fn reader<R: Read + Send + 'static>(
    file: &str,
    mut input: R,
) -> Result<(Box<dyn Read + Send>, bool), std::io::Error> {
    let mut head = Vec::with_capacity(GZIP_MAGIC.len());
    (&mut input).take(GZIP_MAGIC.len() as u64).read_to_end(&mut head)?;
    let named_gz = file.to_ascii_lowercase().ends_with(".gz");
    let is_gzip = head == GZIP_MAGIC;
    if named_gz && !is_gzip {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "named .gz but not gzip data"));
    }
    let whole = Cursor::new(head).chain(input);
    Ok(if is_gzip { (Box::new(MultiGzDecoder::new(whole)), true) } else { (Box::new(whole), false) })
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

    fn decompress(file: &str, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
        let (mut reader, _) = reader(file, Cursor::new(bytes)).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map_err(|e| format!("cannot decompress gzip: {e}"))?;
        Ok(out)
    }

    #[test]
    fn plain_bytes_pass_through() {
        assert_eq!(decompress("circuits.csv", CSV.to_vec()).unwrap(), CSV);
        assert_eq!(decompress("one.csv", b"x".to_vec()).unwrap(), b"x");
        assert_eq!(decompress("empty.csv", Vec::new()).unwrap(), b"");
    }

    #[test]
    fn gzip_is_detected_by_name() {
        assert_eq!(decompress("circuits.csv.GZ", gzip(CSV)).unwrap(), CSV);
    }

    #[test]
    fn gzip_named_csv_is_detected_by_magic() {
        assert_eq!(decompress("circuits.csv", gzip(CSV)).unwrap(), CSV);
    }

    #[test]
    fn concatenated_members_are_all_read() {
        let (head, tail) = CSV.split_at(10);
        let joined = [gzip(head), gzip(tail)].concat();
        assert_eq!(decompress("circuits.csv.gz", joined).unwrap(), CSV);
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let whole = gzip(CSV);
        let error = decompress("circuits.csv.gz", whole[..whole.len() - 6].to_vec()).unwrap_err();
        assert!(error.starts_with("cannot decompress gzip: "), "{error}");
        assert!(error.len() > "cannot decompress gzip: ".len(), "no reason given: {error}");
    }

    #[test]
    fn gz_name_with_plain_text_is_an_error() {
        let error = decompress("circuits.csv.gz", CSV.to_vec()).unwrap_err();
        assert_eq!(error, "named .gz but not gzip data");
    }
}
