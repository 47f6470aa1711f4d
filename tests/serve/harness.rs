//! The test harness: a `posekit serve` child process on a free loopback port, a blocking
//! client, and real images cut from the test clip.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use posekit::image::RgbImage;
use posekit::media::decode::{SourceEvent, VideoSource};
use serde_json::Value;

use crate::common::CLIP;
/// Every serve test holds a shared turn; the load test holds the exclusive one and runs
/// alone (see `common::Turn`).
pub use crate::common::{exclusive, shared};

/// A running `posekit serve`; killed on drop if a test panics before stopping it.
pub struct Server {
    child: Child,
    address: SocketAddr,
    log: Arc<Mutex<String>>,
    _home: tempfile::TempDir,
}

/// The `posekit serve` command and the empty config home it runs with; a test changes it
/// through `Command`'s methods.
pub struct ServeCommand {
    command: Command,
    home: tempfile::TempDir,
}

impl Deref for ServeCommand {
    type Target = Command;

    fn deref(&self) -> &Command {
        &self.command
    }
}

impl DerefMut for ServeCommand {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.command
    }
}

impl Server {
    /// Starts the service with `args` on a free port and waits for it to listen.
    pub fn start(args: &[&str]) -> Server {
        Server::spawn(Server::command(args))
    }

    /// The `posekit serve` command `start` runs, for a test that adds to it (its
    /// environment, or limits set before exec) and then hands it to [`Server::spawn`].
    ///
    /// Not a `Sandbox`: the load test holds the exclusive turn while it starts servers.
    pub fn command(args: &[&str]) -> ServeCommand {
        let home = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_posekit"));
        command
            .args(["serve", "--port", "0"])
            .args(args)
            // No user config: the defaults under test are the built-in ones.
            .env("XDG_CONFIG_HOME", home.path().join("xdg"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        ServeCommand { command, home }
    }

    /// Runs `command` (from [`Server::command`]) and waits for it to listen.
    pub fn spawn(command: ServeCommand) -> Server {
        let ServeCommand { mut command, home } = command;
        let mut child = command.spawn().expect("posekit starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = channel();
        let sink = Arc::clone(&log);
        // Reads stderr to the end: a full pipe would block the server's log lines.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(address);
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let address = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => address.parse().expect("a socket address"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!("posekit serve did not start:\n{}", log.lock().unwrap());
            }
        };
        Server {
            child,
            address,
            log,
            _home: home,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// `GET /health`, parsed.
    pub fn health(&self) -> Value {
        client()
            .get(self.url("/health"))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// Waits (at most 20 s) until a pose worker holds a request.
    pub fn wait_until_a_worker_is_busy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.health()["workers"]["busy"] != 1 {
            assert!(
                Instant::now() < deadline,
                "the request never reached a worker"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then waits (at most 30 s) for a graceful exit; returns status and log.
    pub fn terminate(self) -> (ExitStatus, String) {
        self.signal(libc::SIGTERM);
        self.wait()
    }

    /// Sends `signal` to the server and returns at once.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: sending a signal to our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, signal);
        }
    }

    /// Waits (at most 30 s) for the server to exit; returns status and log.
    pub fn wait(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "posekit serve did not stop within 30 s of the signal:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Let the reader thread take the last lines.
        std::thread::sleep(Duration::from_millis(100));
        (status, self.log())
    }

    /// Waits (at most 30 s) until the log has a line containing `needle`.
    pub fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "the log never said {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server, checks that it stopped cleanly, and returns its log.
    pub fn stop(self) -> String {
        let (status, log) = self.terminate();
        assert!(status.success(), "posekit serve exited {status:?}:\n{log}");
        assert!(log.contains("posekit serve: stopped"), "{log}");
        log
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A blocking client that never goes through a proxy and never waits forever.
pub fn client() -> reqwest::blocking::Client {
    client_with_timeout(Duration::from_secs(60))
}

/// [`client`], giving up on a request after `timeout`.
pub fn client_with_timeout(timeout: Duration) -> reqwest::blocking::Client {
    // reqwest is built without a TLS provider of its own; it needs one even for http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap()
}

/// Frame `index` of the test clip, decoded by posekit's own decoder.
pub fn clip_frame(index: u64) -> RgbImage {
    let mut source = VideoSource::open(std::path::Path::new(CLIP)).unwrap();
    while let Some(event) = source.next_event() {
        if let SourceEvent::Frame(frame) = event.unwrap() {
            if frame.index == index {
                return (*frame.image).clone();
            }
        }
    }
    panic!("the clip has no frame {index}");
}

/// A small black image: cheap to send where the content does not matter.
pub fn tiny_frame() -> RgbImage {
    RgbImage::new(64, 48)
}

pub fn to_image(frame: &RgbImage) -> image::RgbImage {
    image::RgbImage::from_raw(frame.width, frame.height, frame.data.clone()).unwrap()
}

/// PNG, or JPEG at quality 90 (a camera's usual; the encoder's default 75 is lower).
pub fn encode(frame: &RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    if format == image::ImageFormat::Jpeg {
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&to_image(frame))
            .unwrap();
    } else {
        to_image(frame).write_to(&mut out, format).unwrap();
    }
    out.into_inner()
}

/// Every number in a JSON value, in order.
pub fn floats(value: &Value) -> Vec<f64> {
    match value {
        Value::Number(n) => vec![n.as_f64().unwrap()],
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        Value::Object(map) => map.values().flat_map(floats).collect(),
        _ => Vec::new(),
    }
}

/// Intersection over union of two [x1, y1, x2, y2] boxes.
pub fn iou(a: &[f64], b: &[f64]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let area = |r: &[f64]| (r[2] - r[0]) * (r[3] - r[1]);
    w * h / (area(a) + area(b) - w * h)
}

/// Same structure, numbers equal to within `tolerance` (relative, or absolute near 0).
pub fn assert_close(a: &Value, b: &Value, tolerance: f64) {
    let (x, y) = (floats(a), floats(b));
    assert_eq!(x.len(), y.len(), "different shapes");
    for (i, (p, q)) in x.iter().zip(&y).enumerate() {
        let scale = p.abs().max(q.abs()).max(1.0);
        assert!((p - q).abs() <= tolerance * scale, "number {i}: {p} vs {q}");
    }
}

/// `response.json()`: reqwest is built without its `json` feature.
pub trait JsonBody {
    fn json(self) -> serde_json::Result<Value>;
}

impl JsonBody for reqwest::blocking::Response {
    fn json(self) -> serde_json::Result<Value> {
        let bytes = self.bytes().expect("the body arrives");
        serde_json::from_slice(&bytes)
    }
}

/// Lowers the open-file limit of the server `command` will start (and only of it), the
/// way `ulimit -n` in its shell would, so a test can run it out of descriptors.
pub fn limit_open_files(command: &mut Command, limit: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe, and nothing else runs in the pre-exec child.
    unsafe {
        command.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
