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
