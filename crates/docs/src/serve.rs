//! `pitwall docs serve`: a small static HTTP server over the target path, which may be a
//! folder or an object-store URL (files are read through object_store either way).
//!
//! It answers GET and HEAD, one request per connection (`Connection: close`), each
//! connection on its own thread, so a slow client holds up nobody; that is all a docs
//! site of a few files needs, without an HTTP crate. It binds 127.0.0.1 unless told
//! otherwise, since it serves the whole target path (the warehouse under it included),
//! as `dbt docs serve` serves its target folder.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use object_store::ObjectStoreExt;
use pitwall_core::Location;
use pitwall_core::location::Store;
use tokio::runtime::Handle;

/// How long a client may take to send its request line and headers.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Request lines and headers longer than this are refused (nothing here needs more).
const MAX_HEAD: usize = 16 * 1024;

/// Serves `target` on `host:port` until the process is stopped (Ctrl-C). Port 0 takes a
/// free port; the URL printed names the one bound.
pub async fn serve(target: &Location, host: &str, port: u16) -> Result<bool> {
    let store = target.open()?;
    let index = store.child("index.html");
    match store.store.head(&index).await {
        Ok(_) => {}
        Err(object_store::Error::NotFound { .. }) => {
            bail!("no docs site at {}: write it first with pitwall docs generate", target.join("index.html"))
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", target.join("index.html"))),
    }
    let listener = TcpListener::bind((host, port)).with_context(|| format!("listening on {host}:{port}"))?;
    let address = listener.local_addr()?;
    println!("Serving the docs in {target} at http://{address}/ (Ctrl-C to stop)");
    let handle = Handle::current();
    // The accept loop blocks; it runs on tokio's blocking pool so the runtime stays free to
    // drive the object-store reads each connection hands back to it.
    tokio::task::spawn_blocking(move || accept(listener, store, handle)).await?
}

fn accept(listener: TcpListener, store: Store, handle: Handle) -> Result<bool> {
    for connection in listener.incoming() {
        let stream = match connection {
            Ok(stream) => stream,
            // A connection that failed before it was accepted concerns only its client.
            Err(e) => {
                eprintln!("warning: docs serve: {e}");
                continue;
            }
        };
        let (store, handle) = (store.clone(), handle.clone());
        std::thread::spawn(move || {
            if let Err(e) = respond(stream, &store, &handle) {
                eprintln!("warning: docs serve: {e:#}");
            }
        });
    }
    Ok(true)
}

/// Reads one request and answers it.
fn respond(stream: TcpStream, store: &Store, handle: &Handle) -> Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.by_ref().take(MAX_HEAD as u64).read_line(&mut request_line)?;
    // The headers are read and ignored: nothing here depends on them.
    let mut head = request_line.len();
    loop {
        let mut line = String::new();
        let n = reader.by_ref().take((MAX_HEAD - head.min(MAX_HEAD)) as u64).read_line(&mut line)?;
        head += n;
        if n == 0 || line == "\r\n" || line == "\n" || head >= MAX_HEAD {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut stream = stream;
    if method != "GET" && method != "HEAD" {
        return write_response(&mut stream, "405 Method Not Allowed", "text/plain", b"only GET and HEAD\n", true);
    }
    let Some(path) = file_path(target) else {
        return write_response(&mut stream, "400 Bad Request", "text/plain", b"bad path\n", true);
    };
    let found = handle.block_on(async {
        match store.store.get(&store.child(&path)).await {
            Ok(object) => object.bytes().await.map(Some),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    });
    let body_wanted = method == "GET";
    match found {
        Ok(Some(bytes)) => write_response(&mut stream, "200 OK", content_type(&path), &bytes, body_wanted),
        Ok(None) => write_response(&mut stream, "404 Not Found", "text/plain", b"not found\n", body_wanted),
        Err(e) => {
            eprintln!("warning: docs serve: reading {path}: {e}");
            write_response(&mut stream, "500 Internal Server Error", "text/plain", b"cannot read it\n", body_wanted)
        }
    }
}

fn write_response(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()?;
    Ok(())
}

/// The file a request target names, relative to the served folder: the query dropped,
/// `%XX` decoded, `/` (or a folder) meaning its `index.html`. `None` for anything that
/// could leave the folder (`..`, a backslash, a NUL) or is not UTF-8.
pub fn file_path(target: &str) -> Option<String> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return None;
    }
    let decoded = percent_decode(path)?;
    let mut segments = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            s if s.contains(['\\', '\0']) => return None,
            s => segments.push(s),
        }
    }
    if segments.is_empty() || decoded.ends_with('/') {
        segments.push("index.html");
    }
    Some(segments.join("/"))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("csv") => "text/csv; charset=utf-8",
        Some("txt" | "log" | "sql") => "text/plain; charset=utf-8",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_targets_map_to_files_inside_the_folder_only() {
        assert_eq!(file_path("/").as_deref(), Some("index.html"));
        assert_eq!(file_path("/index.html?x=1#y").as_deref(), Some("index.html"));
        assert_eq!(file_path("/runs/a%20b/job.json").as_deref(), Some("runs/a b/job.json"));
        assert_eq!(file_path("/runs/").as_deref(), Some("runs/index.html"));
        for bad in ["/../etc/passwd", "/a/%2e%2e/b", "/a\\b", "/%00", "/%zz", "index.html", "/%ff"] {
            assert_eq!(file_path(bad), None, "{bad}");
        }
    }
}
