//! What stops the service itself: loading, binding, starting its threads, serving. (The
//! answers to a single request are [`super::errors::ApiError`]; these reach the operator
//! at the terminal.) A wrapped cause is a `#[source]`, so the `{:#}` chain at the top
//! prints "what: cause", as the messages always read.

use std::io;
use std::net::SocketAddr;

use crate::pipeline::PipelineError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    #[error(transparent)]
    Models(#[from] PipelineError),
    #[error("--host {host}: not an address or a resolvable name")]
    Resolve { host: String, source: io::Error },
    #[error("--host {host}: the name has no address")]
    NoAddress { host: String },
    // `error`, not `source`: the message already holds it, with the fix after it.
    #[error("cannot listen on {address}: {error}.\nFix: {fix}")]
    Listen {
        address: SocketAddr,
        error: io::Error,
        fix: String,
    },
    #[error("setting the listening socket non-blocking")]
    NonBlocking(#[source] io::Error),
    #[error("reading the bound address")]
    BoundAddress(#[source] io::Error),
    #[error("could not start the inference threads")]
    InferenceThreads(#[source] io::Error),
    #[error("could not create a temporary folder for video uploads")]
    UploadFolder(#[source] io::Error),
    #[error("could not start the job thread")]
    JobThread(#[source] io::Error),
    #[error("could not start the async runtime")]
    AsyncRuntime(#[source] io::Error),
    #[error("the HTTP server failed")]
    Http(#[source] io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What main prints (`{:#}`): the message, then each cause, joined by ": ".
    fn chain(e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            text.push_str(&format!(": {c}"));
            cause = c.source();
        }
        text
    }

    #[test]
    fn causes_print_once_after_the_message() {
        let e = ServeError::Http(io::Error::other("connection reset"));
        assert_eq!(chain(&e), "the HTTP server failed: connection reset");
        let e = ServeError::Listen {
            address: "127.0.0.1:8080".parse().unwrap(),
            error: io::Error::other("address in use"),
            fix: "stop it".into(),
        };
        assert_eq!(
            chain(&e),
            "cannot listen on 127.0.0.1:8080: address in use.\nFix: stop it"
        );
    }
}
