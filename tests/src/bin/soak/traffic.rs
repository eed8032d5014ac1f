//! The mixed traffic of a soak, one kind per call: every kind checks its
//! own answers, and anything unexpected is an error with a message.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use nutshell_tests::wire::{self, GET_ROOT, HELLO};

/// The largest body the server is started with (`--max-body`).
pub(crate) const MAX_BODY: usize = 1 << 20;

/// The kinds of traffic, run in turn by every worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    KeepAlive,
    Pipelined,
    Upload,
    UploadTooLarge,
    Download,
    Chunked,
    ResetMidHead,
    ResetMidBody,
    SlowReader,
    Idle,
}

impl Kind {
    pub(crate) const ALL: [Kind; 10] = [
        Kind::KeepAlive,
        Kind::Pipelined,
        Kind::Upload,
        Kind::UploadTooLarge,
        Kind::Download,
        Kind::Chunked,
        Kind::ResetMidHead,
        Kind::ResetMidBody,
        Kind::SlowReader,
        Kind::Idle,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::KeepAlive => "keep-alive",
            Kind::Pipelined => "pipelined",
            Kind::Upload => "upload",
            Kind::UploadTooLarge => "upload 413",
            Kind::Download => "download",
            Kind::Chunked => "chunked",
            Kind::ResetMidHead => "reset mid-head",
            Kind::ResetMidBody => "reset mid-body",
            Kind::SlowReader => "slow reader",
            Kind::Idle => "idle",
        }
    }
}

/// A small xorshift generator: sizes vary, runs need not repeat.
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Runs one piece of traffic of `kind`.
pub(crate) fn run(kind: Kind, addr: SocketAddr, rng: &mut Rng) -> Result<(), String> {
    match kind {
        Kind::KeepAlive => keep_alive(addr, rng),
        Kind::Pipelined => pipelined(addr),
        Kind::Upload => upload(addr, rng),
        Kind::UploadTooLarge => upload_too_large(addr),
        Kind::Download => download(addr, rng, false),
        Kind::Chunked => chunked(addr, rng),
        Kind::ResetMidHead => reset_mid_head(addr),
        Kind::ResetMidBody => reset_mid_body(addr),
        Kind::SlowReader => download(addr, rng, true),
        Kind::Idle => idle(addr, rng),
    }
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(wire::IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(wire::IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

fn write(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    stream.write_all(bytes).map_err(|e| format!("write: {e}"))
}

fn expect(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    status: u16,
    body: Option<&[u8]>,
) -> Result<wire::Response, String> {
    let response = wire::read_response(stream, buffer, false)?;
    if response.status != status || body.is_some_and(|b| b != response.body.as_slice()) {
        return Err(format!(
            "expected {status}, got {} with {} body bytes",
            response.status,
            response.body.len()
        ));
    }
    Ok(response)
}

/// Drops the connection with a reset (SO_LINGER 0) instead of a FIN.
fn reset(stream: TcpStream) {
    let socket = socket2::Socket::from(stream);
    let _ = socket.set_linger(Some(Duration::ZERO));
}

/// 20-100 requests on one connection: GET / and small echoes.
fn keep_alive(addr: SocketAddr, rng: &mut Rng) -> Result<(), String> {
    let mut stream = connect(addr)?;
    let mut buffer = Vec::new();
    for i in 0..20 + rng.below(80) {
        if i % 2 == 0 {
            write(&mut stream, GET_ROOT)?;
            expect(&mut stream, &mut buffer, 200, Some(HELLO))?;
        } else {
            let body = vec![b'k'; rng.below(4096)];
            let head = format!(
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            write(&mut stream, &[head.as_bytes(), &body].concat())?;
            expect(&mut stream, &mut buffer, 200, Some(&body))?;
        }
    }
    Ok(())
}

/// 16 requests in one write, then their 16 answers.
fn pipelined(addr: SocketAddr) -> Result<(), String> {
    let mut stream = connect(addr)?;
    let mut buffer = Vec::new();
    for _ in 0..4 {
        write(&mut stream, &GET_ROOT.repeat(16))?;
        for _ in 0..16 {
            expect(&mut stream, &mut buffer, 200, Some(HELLO))?;
        }
    }
    Ok(())
}

/// An upload of up to the body limit, echoed back, from a second thread
/// (so a server that answers while still reading cannot deadlock it).
fn upload(addr: SocketAddr, rng: &mut Rng) -> Result<(), String> {
    let size = 64 * 1024 + rng.below(MAX_BODY - 64 * 1024);
    let body: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    let mut stream = connect(addr)?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let request = body.clone();
    let sender = std::thread::spawn(move || -> io::Result<()> {
        let head = format!(
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
            request.len()
        );
        writer.write_all(head.as_bytes())?;
        writer.write_all(&request)
    });
    let result = expect(&mut stream, &mut Vec::new(), 200, Some(&body)).map(drop);
    sender
        .join()
        .map_err(|_| "the upload thread panicked".to_string())?
        .map_err(|e| format!("upload write: {e}"))?;
    result
}

/// A declared body past the limit: 413 and a close.
fn upload_too_large(addr: SocketAddr) -> Result<(), String> {
    let mut stream = connect(addr)?;
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        2 * MAX_BODY
    );
    write(&mut stream, head.as_bytes())?;
    let response = expect(&mut stream, &mut Vec::new(), 413, None)?;
    if !response.closes() {
        return Err("a 413 that keeps the connection".into());
    }
    Ok(())
}

/// `GET /bytes/N`, counted; a slow reader takes 16 KiB every 2 ms.
fn download(addr: SocketAddr, rng: &mut Rng, slow: bool) -> Result<(), String> {
    let size = if slow {
        1 << 20
    } else {
        1 + rng.below(8 << 20)
    };
    let mut stream = connect(addr)?;
    write(
        &mut stream,
        format!("GET /bytes/{size} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes(),
    )?;
    let mut buf = vec![0u8; if slow { 16 * 1024 } else { 256 * 1024 }];
    let mut got = Vec::new();
    let head_end = loop {
        let n = stream.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed inside a download's head".into());
        }
        got.extend_from_slice(&buf[..n]);
        if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    if !got.starts_with(b"HTTP/1.1 200 ") {
        return Err(format!(
            "download: {:?}",
            String::from_utf8_lossy(&got[..head_end])
        ));
    }
    let mut count = got.len() - head_end;
    while count < size {
        if slow {
            std::thread::sleep(Duration::from_millis(2));
        }
        let want = buf.len().min(size - count);
        let n = stream
            .read(&mut buf[..want])
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err(format!("closed after {count} of {size} bytes"));
        }
        if buf[..n].iter().any(|b| *b != b'x') {
            return Err("a download byte other than x".into());
        }
        count += n;
    }
    Ok(())
}

/// `GET /chunked/N`: de-chunked and checked.
fn chunked(addr: SocketAddr, rng: &mut Rng) -> Result<(), String> {
    let size = rng.below(200_000);
    let mut stream = connect(addr)?;
    write(
        &mut stream,
        format!("GET /chunked/{size} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes(),
    )?;
    let response = expect(&mut stream, &mut Vec::new(), 200, None)?;
    if response.body.len() != size || response.body.iter().any(|b| *b != b'x') {
        return Err(format!(
            "chunked: {} bytes, not {size}",
            response.body.len()
        ));
    }
    Ok(())
}

fn reset_mid_head(addr: SocketAddr) -> Result<(), String> {
    let mut stream = connect(addr)?;
    write(&mut stream, b"GET / HTTP/1.1\r\nHost: a\r\nX-Par")?;
    reset(stream);
    Ok(())
}

fn reset_mid_body(addr: SocketAddr) -> Result<(), String> {
    let mut stream = connect(addr)?;
    write(
        &mut stream,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n",
    )?;
    write(&mut stream, &[b'r'; 30_000])?;
    reset(stream);
    Ok(())
}

/// 20 connections, some after a request, held for up to a second and then
/// closed (half with a FIN, half with a reset); one of them must still be
/// served afterwards.
fn idle(addr: SocketAddr, rng: &mut Rng) -> Result<(), String> {
    let mut held = Vec::new();
    for i in 0..20 {
        let mut stream = connect(addr)?;
        if i % 3 == 0 {
            write(&mut stream, GET_ROOT)?;
            expect(&mut stream, &mut Vec::new(), 200, Some(HELLO))?;
        }
        held.push(stream);
    }
    std::thread::sleep(Duration::from_millis(rng.below(1000) as u64));
    let mut last = held.pop().expect("twenty");
    write(&mut last, GET_ROOT)?;
    expect(&mut last, &mut Vec::new(), 200, Some(HELLO))?;
    for (i, stream) in held.into_iter().enumerate() {
        if i % 2 == 0 {
            reset(stream);
        }
    }
    Ok(())
}
