//! A minimal HTTP/1.1 client over a plain TCP connection: one request per connection, and a
//! reader of Server-Sent Events. Enough for tests, with no HTTP client crate to build.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::api::Reply;

fn broken(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// The request's bytes: `Connection: close`, so the response ends with the connection.
pub fn request_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    // Host and Content-Type as a plain client sends them, unless the test gives its own.
    let given = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !given("host") {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        if !given("content-type") {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    bytes
}

/// Sends one request and reads the whole response. A response cut short (the server died
/// half-way) is an error, never a [`Reply`].
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<Reply> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(&request_bytes(addr, method, path, headers, body)).await?;
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader).await?;
    let chunked = header(&headers, "transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let body = if chunked {
        let mut body = Vec::new();
        while let Some(chunk) = read_chunk(&mut reader).await? {
            body.extend_from_slice(&chunk);
        }
        body
    } else if let Some(length) = header(&headers, "content-length") {
        let length: usize = length.trim().parse().map_err(|_| broken("bad Content-Length"))?;
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        body
    } else {
        let mut body = Vec::new();
        reader.read_to_end(&mut body).await?;
        body
    };
    Ok(Reply { status, headers, body })
}

/// Writes a request and closes the connection without reading the answer: the response is
/// "dropped" on the way back.
pub async fn send_and_hang_up(addr: SocketAddr, method: &str, path: &str, body: &[u8]) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let bytes = request_bytes(addr, method, path, &[], Some(body));
    stream.write_all(&bytes).await.expect("write the request");
    stream.flush().await.expect("flush the request");
    drop(stream);
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

async fn read_head(reader: &mut BufReader<TcpStream>) -> io::Result<(u16, Vec<(String, String)>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Err(broken("the connection closed before a response"));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| broken(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err(broken("the connection closed in the headers"));
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Ok((status, headers));
        }
        let (name, value) = line.split_once(':').ok_or_else(|| broken("bad header"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
}

/// One chunk of a chunked body; `None` after the last one.
async fn read_chunk(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Vec<u8>>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Err(broken("the connection closed inside a chunked body"));
    }
    let size = line.trim().split(';').next().unwrap_or("");
    let size = usize::from_str_radix(size, 16).map_err(|_| broken("bad chunk size"))?;
    let mut chunk = vec![0; size + 2];
    reader.read_exact(&mut chunk).await?;
    chunk.truncate(size);
    if size == 0 {
        return Ok(None);
    }
    Ok(Some(chunk))
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// Its `id:` field.
    pub id: Option<String>,
    /// Its `data:` lines, joined.
    pub data: String,
}

/// An open `text/event-stream` response.
pub struct EventStream {
    reader: BufReader<TcpStream>,
    chunked: bool,
    pending: Vec<u8>,
}

impl EventStream {
    /// Opens `path` as an event stream; a status other than 200 comes back as the [`Reply`].
    pub async fn open(
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<Result<EventStream, Reply>> {
        let mut stream = TcpStream::connect(addr).await?;
        let mut all = vec![("Accept", "text/event-stream")];
        all.extend_from_slice(headers);
        stream.write_all(&request_bytes(addr, "GET", path, &all, None)).await?;
        let mut reader = BufReader::new(stream);
        let (status, headers) = read_head(&mut reader).await?;
        let chunked = header(&headers, "transfer-encoding").is_some_and(|v| v.contains("chunked"));
        if status != 200 {
            let mut body = Vec::new();
            if chunked {
                while let Some(chunk) = read_chunk(&mut reader).await? {
                    body.extend_from_slice(&chunk);
                }
            } else {
                reader.read_to_end(&mut body).await?;
            }
            return Ok(Err(Reply { status, headers, body }));
        }
        let kind = header(&headers, "content-type").unwrap_or("");
        if !kind.starts_with("text/event-stream") {
            return Err(broken(format!("a subscription answered {kind:?}")));
        }
        Ok(Ok(EventStream { reader, chunked, pending: Vec::new() }))
    }

    /// The next event with data (comments and heartbeats are skipped); `None` when the stream
    /// ends.
    pub async fn next(&mut self) -> io::Result<Option<SseEvent>> {
        loop {
            while let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..end + 2).collect();
                let block =
                    String::from_utf8(block).map_err(|_| broken("an event is not UTF-8"))?;
                let mut event = SseEvent { id: None, data: String::new() };
                let mut has_data = false;
                for line in block.lines() {
                    if let Some(id) = line.strip_prefix("id:") {
                        event.id = Some(id.trim_start().to_owned());
                    } else if let Some(data) = line.strip_prefix("data:") {
                        if has_data {
                            event.data.push('\n');
                        }
                        event.data.push_str(data.strip_prefix(' ').unwrap_or(data));
                        has_data = true;
                    }
                }
                if has_data {
                    return Ok(Some(event));
                }
            }
            let bytes = if self.chunked {
                match read_chunk(&mut self.reader).await? {
                    Some(bytes) => bytes,
                    None => return Ok(None),
                }
            } else {
                let mut bytes = vec![0; 8192];
                let read = self.reader.read(&mut bytes).await?;
                if read == 0 {
                    return Ok(None);
                }
                bytes.truncate(read);
                bytes
            };
            self.pending.extend_from_slice(&bytes);
        }
    }

    /// The next event, or `None` if none comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<SseEvent> {
        match tokio::time::timeout(wait, self.next()).await {
            Ok(next) => next.expect("read the event stream"),
            Err(_) => None,
        }
    }
}
