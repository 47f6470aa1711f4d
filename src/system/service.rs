//! Is the pose service up? Two probes, because their failures need different fixes:
//! a TCP connect (does anything listen on the port?) and `GET /health` (is it a healthy
//! HTTP service, and is it posekit's?). Both have short deadlines; a refused connection
//! answers at once.

use std::io::Read;
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
    /// An HTTP status line arrived: the code, its reason phrase, and who answered.
    Status {
        code: u16,
        reason: String,
        by: Answerer,
    },
    /// It accepted the connection but did not answer HTTP (closed, or sent other bytes).
    NotHttp(String),
}

/// Who answered `/health`. Any web server answers 200 there, so the status alone does
/// not say the service is posekit's; its body does (`"service": "posekit"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answerer {
    Posekit {
        version: String,
    },
    /// Something else, described by its `Server` header or the start of its body.
    Other(String),
}

/// The service's own name in its `/health` body (`serve::routes::health`).
pub const SERVICE_NAME: &str = "posekit";

/// Enough of a `/health` body to recognise posekit's (a few hundred bytes) with room to
/// spare, and little enough that a server streaming without end cannot fill memory.
const MAX_HEALTH_BODY: u64 = 64 * 1024;

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
            let server = response
                .headers()
                .get(reqwest::header::SERVER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let mut body = Vec::new();
            // A body cut short by the deadline is still enough to tell who answered.
            let _ = response.take(MAX_HEALTH_BODY).read_to_end(&mut body);
            Probe::Found(Health::Status {
                code: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("").to_string(),
                by: identify(server.as_deref(), &body),
            })
        }
        Err(e) if e.is_timeout() => Probe::timed_out(&label, timeout),
        Err(e) => Probe::Found(Health::NotHttp(error_chain(&e))),
    }
}

/// posekit's service when the body is its `/health` JSON; otherwise a description of
/// what answered, for the report.
fn identify(server: Option<&str>, body: &[u8]) -> Answerer {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    if let Some(json) = json.filter(|j| j["service"] == SERVICE_NAME) {
        let version = json["version"].as_str().unwrap_or("unknown version");
        return Answerer::Posekit {
            version: version.to_string(),
        };
    }
    let start: String = String::from_utf8_lossy(body)
        .chars()
        .take(60)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let body = if start.trim().is_empty() {
        "its body is empty".to_string()
    } else {
        format!("its body begins '{}'", start.trim_end())
    };
    Answerer::Other(match server {
        Some(server) => format!("it calls itself '{server}' (Server header); {body}"),
        None => body,
    })
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
                reason: "Service Unavailable".into(),
                by: Answerer::Other("its body is empty".into()),
            })
        );
    }

    #[test]
    fn posekit_is_told_from_other_servers_by_its_health_body() {
        let ours = br#"{"service":"posekit","status":"ok","version":"0.1.0"}"#;
        assert_eq!(
            identify(None, ours),
            Answerer::Posekit {
                version: "0.1.0".into()
            }
        );
        let Answerer::Other(what) = identify(Some("nginx/1.24"), b"{\"status\":\"ok\"}\n") else {
            panic!("another server is not posekit");
        };
        assert_eq!(
            what,
            r#"it calls itself 'nginx/1.24' (Server header); its body begins '{"status":"ok"}'"#
        );
        assert!(matches!(identify(None, b"<html>"), Answerer::Other(_)));
    }
}
