//! A scripted HTTP server for the session's tests: answers each request with the next
//! response, in order, and records what it was asked.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Auth, ConnectOptions};

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

/// Starts a server on a free local port; with no response left, it answers 599.
pub(super) async fn start() -> Mock {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let responses: Arc<Mutex<VecDeque<Response>>> = Arc::default();
    let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
    let (queue, log) = (responses.clone(), requests.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let request = read_request(&mut stream).await;
            log.lock().unwrap().push(request);
            let (status, body) = queue.lock().unwrap().pop_front().unwrap_or((599, b"no response left".to_vec()));
            let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
        }
    });
    Mock { endpoint, responses, requests }
}

/// One HTTP/1.1 request: its head, and as much body as its Content-Length says.
async fn read_request(stream: &mut TcpStream) -> Recorded {
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
    let length: usize =
        headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-length")).map_or(0, |(_, v)| v.parse().unwrap());
    while buffer.len() < header_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[header_end..header_end + length]).into_owned();
    Recorded { method, target, headers, body }
}

impl Mock {
    pub(super) fn push(&self, status: u16, body: impl Into<Vec<u8>>) {
        self.responses.lock().unwrap().push_back((status, body.into()));
    }
}

/// Options that log in to the server at `endpoint` as `u` with the password `pw-secret`.
pub(super) fn options(endpoint: &str) -> ConnectOptions {
    let url = url::Url::parse(endpoint).unwrap();
    ConnectOptions {
        host: Some(url.host_str().unwrap().to_owned()),
        port: url.port(),
        protocol: Some("http".into()),
        ..ConnectOptions::new("pitwall", "u", Auth::Password("pw-secret".into()))
    }
}

/// The value of the query parameter `name` in a request target.
pub(super) fn query_param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    target.split(['?', '&']).find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}
