//! The HTTP surface: thin handlers that check the request, hand the work to the pool or
//! the job runner, and answer in `process`'s wire structs or an [`ApiError`].
//!
//! Nothing here decodes images or runs models: every handler either answers from
//! counters at once or waits on a channel, so the async threads stay free for `/health`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use tokio::sync::oneshot;

use super::errors::ApiError;
use super::jobs::{unknown, JobsHandle};
use super::pool::{PoolHandle, PoseFailure, PoseTask};
use crate::media::still::StillFormat;
use crate::output::wire::{FrameRecord, ModelRef};

/// Seconds a client is told to wait when the pose queue is full: about a queue's worth
/// of inference on a small machine.
const POSE_RETRY_AFTER_S: u64 = 1;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub pool: PoolHandle,
    pub jobs: JobsHandle,
    /// The models loaded, as the result header names them.
    pub models: Arc<Vec<ModelRef>>,
    pub started: Instant,
    pub max_body_bytes: usize,
    /// The whole request, body upload and inference together.
    pub timeout: Duration,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/pose", post(pose))
        .route("/v1/jobs", post(create_job))
        .route("/v1/jobs/{id}", get(job_status))
        .route("/v1/jobs/{id}/result", get(job_result))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One line per request on stderr: method, path, status, milliseconds.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    eprintln!(
        "posekit serve: {method} {path} {} {:.1} ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3
    );
    response
}

/// Answers from counters only: no lock is held long anywhere it reads, so it stays fast
/// while every worker is busy.
async fn health(State(s): State<AppState>) -> Json<serde_json::Value> {
    let stats = &s.pool.stats;
    Json(serde_json::json!({
        // How `posekit doctor` tells this service from another server on the port.
        "service": crate::system::service::SERVICE_NAME,
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": s.started.elapsed().as_secs_f64(),
        "models": *s.models,
        "workers": {
            "pose_workers": s.pool.layout.workers,
            "threads_per_worker": s.pool.layout.threads_per_worker,
            "busy": stats.busy.load(Ordering::SeqCst),
            "max_people": s.pool.layout.max_people,
        },
        "queue": {
            "depth": stats.queued.load(Ordering::SeqCst),
            "capacity": s.pool.layout.queue_capacity,
        },
        "jobs": s.jobs.counts(),
    }))
}

/// `POST /v1/pose`: one JPEG or PNG in, one frame record out.
async fn pose(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let deadline = Instant::now() + s.timeout;
    let declared = content_type(&headers)?;
    if StillFormat::from_content_type(declared).is_none() {
        return Err(ApiError::unsupported_media_type(format!(
            "Content-Type {declared:?} is not an image type this service reads; send a JPEG or PNG with Content-Type image/jpeg or image/png"
        )));
    }
    let bytes = read_body(&headers, body, &s, deadline).await?;
    let format = StillFormat::sniff(&bytes).ok_or_else(|| {
        ApiError::bad_request(
            "not_an_image",
            format!(
                "the body is not a JPEG or PNG image (it begins {}); send the image file's bytes as the body",
                first_bytes(&bytes)
            ),
        )
    })?;
    let (reply, answer) = oneshot::channel();
    let task = PoseTask {
        body: bytes,
        format,
        reply,
    };
    if s.pool.try_submit(task).is_err() {
        return Err(ApiError::busy("pose", POSE_RETRY_AFTER_S));
    }
    // Dropping `answer` on timeout tells the worker to skip the task if it has not begun.
    let answer = match tokio::time::timeout_at(deadline.into(), answer).await {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "inference_timeout",
                format!(
                    "no worker finished this image within the {} s request timeout; the service is overloaded, retry later or start it with a larger --timeout",
                    s.timeout.as_secs_f64()
                ),
            ))
        }
        Ok(Err(_)) => return Err(ApiError::internal("the inference worker stopped without answering")),
        Ok(Ok(Err(PoseFailure::BadImage(message)))) => {
            return Err(ApiError::bad_request("corrupt_image", message))
        }
        Ok(Ok(Err(PoseFailure::Inference(message)))) => return Err(ApiError::internal(message)),
        Ok(Ok(Ok(answer))) => answer,
    };
    // A still is frame 0 at time 0 of a one-frame video.
    let record = FrameRecord::new(0, 0.0, &answer.persons).with_smpl(&answer.smpl, false);
    Ok(Json(record).into_response())
}

/// `POST /v1/jobs`: a video upload in, `202 Accepted` with the job out.
async fn create_job(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let deadline = Instant::now() + s.timeout;
    let declared = content_type(&headers)?;
    let essence = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !(essence.starts_with("video/") || essence == "application/octet-stream") {
        return Err(ApiError::unsupported_media_type(format!(
            "Content-Type {declared:?} is not a video; send the video file with Content-Type video/mp4 (or its own video/* type, or application/octet-stream)"
        )));
    }
    let bytes = read_body(&headers, body, &s, deadline).await?;
    let jobs = s.jobs.clone();
    let view = tokio::task::spawn_blocking(move || jobs.admit(&bytes))
        .await
        .map_err(|e| ApiError::internal(format!("saving the upload failed: {e}")))??;
    let location = format!("/v1/jobs/{}", view.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response())
}

async fn job_status(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = s.jobs.view(&id).ok_or_else(|| unknown(&id))?;
    Ok(Json(view).into_response())
}

/// The result exactly as `process` writes it: header, frames, summary.
async fn job_result(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let path = s.jobs.result_path(&id)?;
    // The job may be forgotten between the two steps; then it is unknown, as it would be.
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(|e| ApiError::internal(format!("reading the result failed: {e}")))?
        .map_err(|_| unknown(&id))?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], bytes).into_response())
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "no endpoint {method} {}; this service has GET /health, POST /v1/pose, POST /v1/jobs, GET /v1/jobs/{{id}} and GET /v1/jobs/{{id}}/result",
        uri.path()
    ))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} does not take {method}; see GET /health for what the service offers",
            uri.path()
        ),
    )
}

fn content_type(headers: &HeaderMap) -> Result<&str, ApiError> {
    match headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) {
        Some(Ok(value)) => Ok(value),
        Some(Err(_)) => Err(ApiError::unsupported_media_type("the Content-Type header is not readable text")),
        None => Err(ApiError::unsupported_media_type(
            "the request has no Content-Type; send image/jpeg or image/png to /v1/pose, a video/* type to /v1/jobs",
        )),
    }
}

/// Bytes of an oversized body read and thrown away before the 413 goes out, and for how
/// long: a client that is still sending when the connection closes sees "connection
/// reset" instead of the answer (nginx's lingering close, for the same reason).
const LINGER_BYTES: usize = 16 * 1024 * 1024;
const LINGER: Duration = Duration::from_secs(2);

/// The body, within the size limit (413) and the request's deadline (408).
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    s: &AppState,
    deadline: Instant,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Refused without keeping a byte when the client says how much is coming.
    if declared.is_some_and(|n| n > s.max_body_bytes as u64) {
        linger(body).await;
        return Err(ApiError::too_large(s.max_body_bytes));
    }
    let bytes =
        match tokio::time::timeout_at(deadline.into(), collect(body, s.max_body_bytes)).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!(
                        "the request body did not arrive within the {} s request timeout",
                        s.timeout.as_secs_f64()
                    ),
                ))
            }
            Ok(Err(None)) => return Err(ApiError::too_large(s.max_body_bytes)),
            Ok(Err(Some(e))) => {
                return Err(ApiError::bad_request(
                    "bad_body",
                    format!("could not read the request body: {e}"),
                ))
            }
            Ok(Ok(bytes)) => bytes,
        };
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "empty_body",
            "the request has no body; send the file's bytes as the body",
        ));
    }
    Ok(bytes)
}

/// The whole body, or `Err(None)` once it passes `limit` (after lingering), or the
/// transport's error.
async fn collect(mut body: Body, limit: usize) -> Result<Bytes, Option<axum::Error>> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(Some)?.into_data() else {
            continue; // trailers
        };
        if bytes.len() + data.len() > limit {
            linger(body).await;
            return Err(None);
        }
        bytes.extend_from_slice(&data);
    }
    Ok(bytes.into())
}

/// Reads and drops what the client still sends, within [`LINGER_BYTES`] and [`LINGER`].
async fn linger(mut body: Body) {
    let until = tokio::time::Instant::now() + LINGER;
    let mut drained = 0;
    while drained < LINGER_BYTES {
        match tokio::time::timeout_at(until, body.frame()).await {
            Ok(Some(Ok(frame))) => drained += frame.data_ref().map_or(0, |d| d.len()),
            _ => return,
        }
    }
}

/// The first bytes of a body, for an error message: text when printable, else hex.
fn first_bytes(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{:?}", String::from_utf8_lossy(head))
    } else {
        head.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_are_shown_readably() {
        assert_eq!(first_bytes(b"hello world"), "\"hello wo\"");
        assert_eq!(first_bytes(&[0, 1, 0xff]), "00 01 ff");
    }

    #[tokio::test]
    async fn an_oversized_body_is_refused_and_a_small_one_kept() {
        let err = collect(Body::from(vec![0u8; 100]), 10).await.unwrap_err();
        assert!(err.is_none(), "over the limit is not a transport error");
        let bytes = collect(Body::from(vec![7u8; 10]), 10).await.unwrap();
        assert_eq!(bytes.len(), 10);
    }
}
