//! The accept loop: what `axum::serve` does, plus the two bounds it lacks, so that
//! clients that connect and then stall cannot starve the ones that want an answer.
//!
//! - A connection has [`HEADER_READ_TIMEOUT`] to send each request head, then hyper
//!   closes it. axum's loop sets no timer, so a client that stops mid-head (or an idle
//!   keep-alive connection) held its socket for ever.
//! - At most [`connection_cap`] connections are served at once. One over the cap gets a
//!   short 503 with `Retry-After` as soon as its request head is in, and is closed. Without a cap, `accept` fails
//!   once descriptors run out, and a new client (`/health` included) waits unanswered
//!   in the kernel's queue.
//!
//! Graceful shutdown is as axum's: stop accepting, let each connection finish the
//! request it is on, and return once every connection is closed.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

/// Time to send a request's head (request line and headers). A real client sends it in
/// one packet; the few seconds cover a slow link, and also bound how long an idle
/// keep-alive connection keeps its place (Apache's keep-alive default is the same 5 s).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once, at most. A pose service answers a few requests per
/// worker at a time (the rest get 503 from the queue anyway), so this is plenty for
/// clients that keep connections open, and it stays under the usual limit of 1024
/// open files with room left for models, FFmpeg and uploads.
pub const MAX_CONNECTIONS: usize = 256;

/// A connection over the cap is told to come back once idle ones have had time to be
/// closed by [`HEADER_READ_TIMEOUT`].
const OVER_CAP_RETRY_AFTER_S: u64 = HEADER_READ_TIMEOUT.as_secs();

/// How long a connection over the cap may take to send its request head before the 503
/// goes out anyway. An answer that comes before the request confuses HTTP clients (hyper
/// reports an "unexpected message" and no status), and a real client sends its head at
/// once; a stalled one is not waited for longer than this.
const REFUSAL_HEAD_WAIT: Duration = Duration::from_millis(500);

/// Bytes of a refused request head read, at most, while looking for its end.
const REFUSAL_HEAD_BYTES: usize = 16 * 1024;

/// How long a refused connection is read (and what it sent dropped) after the answer,
/// before it is closed: closing with the request unread would reset the connection,
/// and the client would see "connection reset" instead of the 503.
const REFUSAL_LINGER: Duration = Duration::from_millis(250);

/// Pause after an `accept` error that is not one connection's own (out of descriptors,
/// out of memory), so the loop does not spin while the condition lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// [`MAX_CONNECTIONS`], or half the open-file limit when that is lower (`ulimit -n`):
/// every connection is a descriptor, and the other half is left for everything else,
/// the refusals included, so that `accept` itself does not run out.
pub fn connection_cap() -> usize {
    match open_file_limit() {
        Some(limit) => MAX_CONNECTIONS.min(limit / 2).max(1),
        None => MAX_CONNECTIONS,
    }
}

#[cfg(unix)]
fn open_file_limit() -> Option<usize> {
    let mut limit = std::mem::MaybeUninit::<libc::rlimit>::uninit();
    // SAFETY: getrlimit writes the struct it is given and nothing else.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, limit.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: rc == 0, so getrlimit filled it in.
    let soft = unsafe { limit.assume_init() }.rlim_cur;
    Some(usize::try_from(soft).unwrap_or(usize::MAX))
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<usize> {
    None
}

/// Serves `router` on `listener` until `stop` resolves, then drains: returns once every
/// connection has finished its request and closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    cap: usize,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let places = Arc::new(Semaphore::new(cap));
    let (closing, closed) = watch::channel(false);
    let mut stop = pin!(stop);
    loop {
        let stream = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    pause_after(&e).await;
                    continue;
                }
            },
        };
        match Arc::clone(&places).try_acquire_owned() {
            Ok(place) => {
                tokio::spawn(connection(stream, router.clone(), closed.clone(), place));
            }
            Err(_) => {
                tokio::spawn(refuse(stream, cap));
            }
        }
    }
    drop(listener);
    let _ = closing.send(true);
    // Every place given back means every connection is closed.
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    let _ = places.acquire_many(all).await;
    Ok(())
}

/// An error of one connection (it went away before it was accepted) needs no pause;
/// anything else is the process's own trouble and lasts a while.
async fn pause_after(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
    }
}

/// One HTTP/1 connection, holding its `place` until it closes.
async fn connection(
    stream: TcpStream,
    router: Router,
    mut closing: watch::Receiver<bool>,
    place: OwnedSemaphorePermit,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    let mut conn = pin!(conn);
    // The guard `wait_for` returns must not live across an await (it is not Send).
    let shutdown = async move {
        let _ = closing.wait_for(|closing| *closing).await;
    };
    tokio::select! {
        // Errors here are the client's (a reset, a timed-out head): nothing to answer.
        _ = conn.as_mut() => {}
        () = shutdown => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    drop(place);
}

/// The whole answer to a connection over the cap: a 503 in the service's JSON error
/// shape, then the connection closes.
fn over_cap_answer(cap: usize) -> Vec<u8> {
    let body = serde_json::json!({
        "error": {
            "code": "too_many_connections",
            "message": format!(
                "the service already has {cap} connections open, its limit; retry after {OVER_CAP_RETRY_AFTER_S} s, and close connections you no longer use"
            ),
        }
    })
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nretry-after: {OVER_CAP_RETRY_AFTER_S}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers 503 once the request head is in (or [`REFUSAL_HEAD_WAIT`] is up), reads what
/// the client sent for at most [`REFUSAL_LINGER`] more, and closes.
async fn refuse(mut stream: TcpStream, cap: usize) {
    let _ = tokio::time::timeout(REFUSAL_HEAD_WAIT, skip_head(&mut stream)).await;
    let answer = over_cap_answer(cap);
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        io::Result::Ok(())
    })
    .await;
}

/// Reads and drops bytes up to the empty line that ends a request head, the end of the
/// stream, or [`REFUSAL_HEAD_BYTES`].
async fn skip_head(stream: &mut (impl AsyncRead + Unpin)) -> io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while head.len() < REFUSAL_HEAD_BYTES {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_head_is_read_to_its_empty_line_and_no_further() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        client
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nnext")
            .await
            .unwrap();
        skip_head(&mut server).await.unwrap();
        // A stalled head (no empty line yet) keeps it waiting: the caller's timeout ends it.
        let (mut client, mut server) = tokio::io::duplex(1024);
        client.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
        let stalled = tokio::time::timeout(Duration::from_millis(50), skip_head(&mut server));
        assert!(stalled.await.is_err());
        drop(client);
        skip_head(&mut server).await.unwrap();
    }

    #[test]
    fn the_cap_leaves_half_the_descriptors_for_the_rest() {
        let cap = connection_cap();
        assert!((1..=MAX_CONNECTIONS).contains(&cap), "{cap}");
        if let Some(limit) = open_file_limit() {
            assert!(cap <= limit / 2 || cap == 1, "{cap} of {limit}");
        }
    }

    #[test]
    fn the_over_cap_answer_is_a_complete_503_with_retry_after() {
        let answer = String::from_utf8(over_cap_answer(7)).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nretry-after: 5"), "{head}");
        assert!(head.contains("\r\nconnection: close"), "{head}");
        assert!(head.contains(&format!("\r\ncontent-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "too_many_connections");
        assert!(json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("7 connections"));
    }
}
