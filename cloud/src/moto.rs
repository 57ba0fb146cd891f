//! moto's server on loopback, for tests: the real AWS SDK talks to it as it would to AWS.
//!
//! [`MotoServer::start`] runs `moto_server` on a free port of 127.0.0.1 and waits until it
//! answers. It finds the program through `BACKSPIN_MOTO_SERVER`, then `moto_server` on `PATH`;
//! `scripts/moto.sh` installs it into a virtual environment and prints its path. When it
//! cannot start, this panics with what to do: tests that need moto fail, never skip.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::sdk::Endpoint;

/// A running moto server, stopped when dropped.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    url: String,
}

impl MotoServer {
    /// Starts a fresh server (every server starts empty).
    pub fn start() -> MotoServer {
        let program = program();
        let port = free_port();
        let log = std::env::temp_dir().join(format!("moto-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("creating moto's log file");
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("moto log"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto's server {} ({e}); run scripts/moto.sh and set \
                     BACKSPIN_MOTO_SERVER to the path it prints",
                    program.display()
                )
            });
        let mut server = MotoServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "moto's server exited ({status}) before answering; its log: {}\n{}",
                    log.display(),
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "moto's server did not answer on port {port} within 30 s; its log: {}",
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its address, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SDK endpoint for it.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::moto(&self.url)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn program() -> PathBuf {
    if let Some(p) = std::env::var_os("BACKSPIN_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("moto_server"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "moto_server not found: set BACKSPIN_MOTO_SERVER or run scripts/moto.sh, which \
                 installs it and prints the path"
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// What a server answered.
#[derive(Debug)]
pub struct FormAnswer {
    /// Status code.
    pub status: u16,
    /// Body, as text.
    pub body: String,
}

/// POSTs a `multipart/form-data` form as a browser does: `fields` in order, then the file as
/// the field `file`. Plain HTTP/1.1 to an `http://127.0.0.1:PORT/...` address (moto's).
pub async fn post_form(
    url: &str,
    fields: &[(String, String)],
    file_name: &str,
    file: &[u8],
) -> FormAnswer {
    let rest = url.strip_prefix("http://").expect("an http:// address");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let boundary = "----backspin-form-boundary-5f3a9c";
    let mut body = Vec::with_capacity(file.len() + 4096);
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(authority),
    )
    .await
    .expect("connect in time")
    .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send head");
    stream.write_all(&body).await.expect("send body");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .expect("read the answer");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    FormAnswer { status, body }
}
