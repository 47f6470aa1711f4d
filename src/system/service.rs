//! Is the pose service up? Two probes, because their failures need different fixes:
//! a TCP connect (does anything listen on the port?) and `GET /health` (is it a healthy
//! HTTP service?). Both have short deadlines; a refused connection answers at once.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Once;
use std::time::Duration;

use super::Probe;

/// What was asked and what answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceFacts {
    pub host: String,
    pub port: u16,
    /// The port was asked for (`--port`, `--host` or `[serve] port`), so a service is
    /// expected there; otherwise nothing listening is no problem.
    pub expected: bool,
    pub connect: Connect,
    /// `GET /health`; `Absent` unless the connect succeeded.
    pub health: Probe<Health>,
}

/// The TCP connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connect {
    Listening,
    /// Connection refused: nothing listens there.
    Refused,
    TimedOut {
        after: Duration,
    },
    /// The host did not resolve, or another socket error.
    Error(String),
}

/// The `/health` answer from something that accepted the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// An HTTP status line arrived: the code and its reason phrase.
    Status { code: u16, reason: String },
    /// It accepted the connection but did not answer HTTP (closed, or sent other bytes).
    NotHttp(String),
}

/// Probes `host:port`, giving each probe `timeout`.
pub fn probe(host: &str, port: u16, expected: bool, timeout: Duration) -> ServiceFacts {
    let connect = connect(host, port, timeout);
    let health = if connect == Connect::Listening {
        health(host, port, timeout)
    } else {
        Probe::Absent
    };
    ServiceFacts {
        host: host.to_string(),
        port,
        expected,
        connect,
        health,
    }
}

fn connect(host: &str, port: u16, timeout: Duration) -> Connect {
    let addr: SocketAddr = match (host, port).to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(addr)) => addr,
        Ok(None) => return Connect::Error(format!("{host} has no address")),
        Err(e) => return Connect::Error(format!("{host} does not resolve: {e}")),
    };
    match TcpStream::connect_timeout(&addr, timeout) {
        Ok(_) => Connect::Listening,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Connect::Refused,
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Connect::TimedOut { after: timeout },
        Err(e) => Connect::Error(e.to_string()),
    }
}

/// reqwest is built without a TLS provider of its own (ring is chosen in Cargo.toml to
/// avoid a long C build); without one installed it panics when a client is built.
fn install_tls_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another provider is installed already, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn health(host: &str, port: u16, timeout: Duration) -> Probe<Health> {
    install_tls_provider();
    let url = format!("http://{}/health", host_port(host, port));
    let label = format!("GET {url}");
    let client = match reqwest::blocking::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // A proxy from the environment would answer for the service, or refuse loopback.
        .no_proxy()
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            return Probe::Failed {
                probe: label,
                reason: e.to_string(),
            }
        }
    };
    match client.get(&url).send() {
        Ok(response) => {
            let status = response.status();
            Probe::Found(Health::Status {
                code: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("").to_string(),
            })
        }
        Err(e) if e.is_timeout() => Probe::timed_out(&label, timeout),
        Err(e) => Probe::Found(Health::NotHttp(error_chain(&e))),
    }
}

/// `[::1]:5000` for IPv6 literals, `host:5000` otherwise.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// reqwest's top-level message is generic ("error sending request"); the cause says
/// what the other side did.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.dedup();
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    #[test]
    fn ipv6_literals_are_bracketed() {
        assert_eq!(host_port("::1", 5000), "[::1]:5000");
        assert_eq!(host_port("127.0.0.1", 5000), "127.0.0.1:5000");
    }

    #[test]
    fn a_closed_port_is_refused() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let facts = probe("127.0.0.1", port, true, Duration::from_secs(1));
        assert_eq!(facts.connect, Connect::Refused);
        assert_eq!(facts.health, Probe::Absent);
    }

    #[test]
    fn an_http_answer_gives_its_status() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            // The connect probe, then the GET.
            for stream in listener.incoming().take(2) {
                let mut stream = stream.unwrap();
                let mut buf = [0u8; 1024];
                if stream.read(&mut buf).unwrap_or(0) > 0 {
                    let _ = stream.write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                }
            }
        });
        let facts = probe("127.0.0.1", port, false, Duration::from_secs(2));
        assert_eq!(facts.connect, Connect::Listening);
        assert_eq!(
            facts.health,
            Probe::Found(Health::Status {
                code: 503,
                reason: "Service Unavailable".into()
            })
        );
    }
}
