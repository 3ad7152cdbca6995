//! A small HTTP/1.1 client over a blocking `TcpStream`: keep-alive requests with
//! `Content-Length` or chunked bodies, and Server-Sent Events read as they arrive.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response: its status and whole body.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON, or an error naming the status and the start of the body.
    pub fn json(&self) -> io::Result<serde_json::Value> {
        if !(200..300).contains(&self.status) {
            let text = String::from_utf8_lossy(&self.body);
            let start: String = text.chars().take(300).collect();
            return Err(invalid(format!("HTTP {}: {start}", self.status)));
        }
        serde_json::from_slice(&self.body).map_err(|e| invalid(format!("response JSON: {e}")))
    }
}

/// One keep-alive connection to the server.
pub struct Client {
    addr: SocketAddr,
    reader: Option<BufReader<TcpStream>>,
}

impl Client {
    /// Connects to `addr` (with `TCP_NODELAY`, as latency is what is measured).
    pub fn connect(addr: SocketAddr) -> io::Result<Client> {
        let mut client = Client { addr, reader: None };
        client.reader = Some(open(addr)?);
        Ok(client)
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> io::Result<Response> {
        self.request("GET", path, None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&mut self, path: &str, body: &[u8]) -> io::Result<Response> {
        self.request("POST", path, Some(body))
    }

    /// Sends one request and reads its response, reconnecting once if the server had closed
    /// the idle connection.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> io::Result<Response> {
        let reader = match self.reader.take() {
            Some(reader) => reader,
            None => open(self.addr)?,
        };
        let mut reader = reader;
        let response = exchange(&mut reader, method, path, body);
        match response {
            Ok((response, keep)) => {
                if keep {
                    self.reader = Some(reader);
                }
                Ok(response)
            }
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                let mut reader = open(self.addr)?;
                let (response, keep) = exchange(&mut reader, method, path, body)?;
                if keep {
                    self.reader = Some(reader);
                }
                Ok(response)
            }
            Err(err) => Err(err),
        }
    }
}

fn open(addr: SocketAddr) -> io::Result<BufReader<TcpStream>> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    Ok(BufReader::with_capacity(64 * 1024, stream))
}

fn exchange(
    reader: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> io::Result<(Response, bool)> {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if let Some(body) = body {
        request.push_str("Content-Type: application/json\r\n");
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    reader.get_mut().write_all(&bytes)?;
    let head = read_head(reader)?;
    let body = match (head.chunked, head.length) {
        (true, _) => {
            let mut body = Vec::new();
            Chunked::new(&mut *reader).read_to_end(&mut body)?;
            body
        }
        (false, Some(length)) => {
            let mut body = vec![0; length];
            reader.read_exact(&mut body)?;
            body
        }
        (false, None) => {
            let mut body = Vec::new();
            reader.read_to_end(&mut body)?;
            return Ok((Response { status: head.status, body }, false));
        }
    };
    Ok((Response { status: head.status, body }, !head.close))
}

/// The status line and the headers this client cares about.
struct Head {
    status: u16,
    length: Option<usize>,
    chunked: bool,
    close: bool,
}

fn read_head(reader: &mut impl BufRead) -> io::Result<Head> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("not an HTTP status line: {line:?}")))?;
    let mut head = Head { status, length: None, chunked: false, close: false };
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("the headers end early".to_owned()));
        }
        let header = line.trim_end();
        if header.is_empty() {
            return Ok(head);
        }
        let Some((name, value)) = header.split_once(':') else { continue };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => head.length = value.parse().ok(),
            "transfer-encoding" => head.chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => head.close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A chunked body, read as one byte stream.
struct Chunked<R> {
    inner: R,
    left: usize,
    done: bool,
}

impl<R: BufRead> Chunked<R> {
    fn new(inner: R) -> Self {
        Chunked { inner, left: 0, done: false }
    }
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            self.inner.read_line(&mut line)?;
            if line.trim().is_empty() {
                // The CRLF that ends the previous chunk.
                line.clear();
                self.inner.read_line(&mut line)?;
            }
            if line.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the stream ended"));
            }
            let size = line.trim().split(';').next().unwrap_or("");
            self.left = usize::from_str_radix(size, 16)
                .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
            if self.left == 0 {
                // The last chunk, then an empty trailer line.
                line.clear();
                self.inner.read_line(&mut line)?;
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left);
        let read = self.inner.read(&mut buf[..want])?;
        if read == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the chunk ended early"));
        }
        self.left -= read;
        Ok(read)
    }
}

/// One Server-Sent Event.
pub struct SseEvent {
    /// Its `id:` (a log position here).
    pub id: String,
    /// Its `data:` lines, joined.
    pub data: String,
}

/// An open `GET /v1/subscribe` stream.
pub struct Subscription {
    lines: BufReader<Chunked<BufReader<TcpStream>>>,
}

impl Subscription {
    /// Subscribes to the log after position `after`.
    pub fn open(addr: SocketAddr, after: u64) -> io::Result<Subscription> {
        let mut reader = open(addr)?;
        // Heartbeats come every 15 s; a minute of silence means the stream is stuck.
        reader.get_mut().set_read_timeout(Some(Duration::from_secs(60)))?;
        let request = format!(
            "GET /v1/subscribe?after={after} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Accept: text/event-stream\r\n\r\n"
        );
        reader.get_mut().write_all(request.as_bytes())?;
        let head = read_head(&mut reader)?;
        if head.status != 200 {
            return Err(invalid(format!("subscribe answered HTTP {}", head.status)));
        }
        if !head.chunked {
            return Err(invalid("subscribe answered without a chunked stream".to_owned()));
        }
        Ok(Subscription { lines: BufReader::with_capacity(16 * 1024, Chunked::new(reader)) })
    }

    /// The next event (comments and heartbeats skipped); `None` when the stream ends.
    pub fn next_event(&mut self) -> io::Result<Option<SseEvent>> {
        let mut event = SseEvent { id: String::new(), data: String::new() };
        let mut line = String::new();
        loop {
            line.clear();
            match self.lines.read_line(&mut line) {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(err) => return Err(err),
            }
            let text = line.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                if !event.data.is_empty() {
                    return Ok(Some(event));
                }
                continue;
            }
            if let Some(id) = text.strip_prefix("id:") {
                event.id = id.trim_start().to_owned();
            } else if let Some(data) = text.strip_prefix("data:") {
                if !event.data.is_empty() {
                    event.data.push('\n');
                }
                event.data.push_str(data.strip_prefix(' ').unwrap_or(data));
            }
        }
    }

    /// Closes the connection.
    pub fn close(self) {
        let stream = self.lines.into_inner().inner.into_inner();
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
}
