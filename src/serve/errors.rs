//! The service's error answers: one JSON shape for every 4xx and 5xx, so a client can
//! branch on a stable `code` and show the `message`, which says what to do next.
//!
//! Holds no routing and no inference; handlers build an [`ApiError`] and return it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// An error answer: `{"error": {"code": "...", "message": "..."}}` with its status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, machine-readable: `not_an_image`, `queue_full`, …
    pub code: &'static str,
    /// For people: what was wrong and what to do.
    pub message: String,
    /// Seconds, sent as `Retry-After` (503 only).
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    pub fn too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the request body is larger than this service's limit of {} MB; send a smaller file, \
                 or start the service with a larger --max-body-mb",
                limit_bytes / MB
            ),
        )
    }

    /// A full queue: the client should come back shortly rather than wait in a backlog.
    pub fn busy(what: &str, retry_after_s: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after_s),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_full",
                format!("the {what} queue is full; retry after {retry_after_s} s"),
            )
        }
    }

    /// A video upload finished arriving after SIGINT or SIGTERM: the job could only be
    /// cancelled, so the client hears now that it must send it again.
    pub fn shutting_down(retry_after_s: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after_s),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the service is stopping and starts no new video jobs; send the video again once it is back (jobs do not survive a restart)",
            )
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

/// Bytes in the megabyte of `--max-body-mb`.
pub const MB: usize = 1024 * 1024;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_answers_carry_retry_after() {
        let response = ApiError::busy("pose", 2).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn too_large_names_the_limit_and_the_flag() {
        let e = ApiError::too_large(8 * MB);
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            e.message.contains("8 MB") && e.message.contains("--max-body-mb"),
            "{}",
            e.message
        );
    }
}
