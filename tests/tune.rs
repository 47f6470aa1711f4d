//! `posekit tune` run as a user runs it: on this (native Linux) machine, and on a WSL2
//! laptop described by `tests/data/tune/wsl2-laptop.json` (the hidden `--facts` flag),
//! against messy real-world `.wslconfig` files. Every file lives in a temporary folder.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{stderr, stdout, Sandbox};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tune");

/// A temporary home with an empty config folder; tune never sees the real one.
struct Home {
    sandbox: Sandbox,
}

impl Home {
    fn new() -> Self {
        Home {
            sandbox: Sandbox::new(),
        }
    }

    fn config(&self) -> PathBuf {
        self.sandbox.path("posekit.toml")
    }

    fn wslconfig(&self) -> PathBuf {
        self.sandbox.path("win").join(".wslconfig")
    }

    /// Copies a fixture to the `.wslconfig` place.
    fn wslconfig_from(&self, fixture: &str) -> Vec<u8> {
        let bytes = std::fs::read(Path::new(DATA).join(fixture)).unwrap();
        std::fs::create_dir_all(self.wslconfig().parent().unwrap()).unwrap();
        std::fs::write(self.wslconfig(), &bytes).unwrap();
        bytes
    }

    /// An HMR2-sized model (sparse files: 1 MiB of ONNX + 2.5 GiB of external data) named
    /// in posekit.toml, under a comment that must survive.
    fn with_hmr2(&self) {
        let model = self.sandbox.path("hmr2.onnx");
        std::fs::File::create(&model)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        let data = self.sandbox.path("hmr2.onnx.data");
        std::fs::File::create(data)
            .unwrap()
            .set_len((2560 << 20) - (1 << 20))
            .unwrap();
        std::fs::write(
            self.config(),
            "# my models\n[models]\nhmr2 = \"hmr2.onnx\"\n",
        )
        .unwrap();
    }

    fn tune(&self, args: &[&str]) -> Output {
        self.sandbox
            .posekit(&["tune", "--config"])
            .arg(self.config())
            .args(args)
            .output()
            .expect("posekit runs")
    }

    /// `tune` as if on the WSL2 laptop, with `.wslconfig` in the temporary folder.
    fn tune_wsl2(&self, args: &[&str]) -> Output {
        let facts = format!("{DATA}/wsl2-laptop.json");
        let wslconfig = self.wslconfig().display().to_string();
        let mut all = vec!["--facts", &facts, "--wslconfig", &wslconfig];
        all.extend_from_slice(args);
        self.tune(&all)
    }

    /// File names in the folder of `path`, for counting backups.
    fn backups_beside(&self, path: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(path.parent().unwrap()) else {
            return vec![];
        };
        let mut found: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".bak"))
            .collect();
        found.sort();
        found
    }
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", stdout(out), stderr(out));
    stdout(out)
}

#[test]
fn native_shows_the_layout_and_the_diff_and_writes_nothing() {
    let home = Home::new();
    let text = ok(&home.tune(&[]));
    assert!(text.contains("[process] workers"), "{text}");
    assert!(
        text.contains("native Linux: there is no .wslconfig"),
        "{text}"
    );
    assert!(text.contains("--- /dev/null\n+++ "), "{text}");
    assert!(text.contains("+[process]\n+workers = "), "{text}");
    assert!(!home.config().exists(), "a dry run writes nothing");
}

#[test]
fn write_twice_changes_nothing_the_second_time_and_keeps_an_identical_backup() {
    let home = Home::new();
    let original = "# mine: keep me\n[serve]\nport = 8080 # my port\n";
    std::fs::write(home.config(), original).unwrap();
    let first = ok(&home.tune(&["--write"]));
    assert!(first.contains("previous version kept as"), "{first}");
    let backups = home.backups_beside(&home.config());
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), original);
    let written = std::fs::read_to_string(home.config()).unwrap();
    assert!(
        written.starts_with(original),
        "comments and keys kept: {written}"
    );
    assert!(written.contains("[process]\nworkers = "), "{written}");

    let second = ok(&home.tune(&["--write"]));
    assert!(second.contains("unchanged"), "{second}");
    assert_eq!(std::fs::read_to_string(home.config()).unwrap(), written);
    assert_eq!(
        home.backups_beside(&home.config()).len(),
        1,
        "no second backup"
    );
    let dry = ok(&home.tune(&[]));
    assert!(
        dry.contains("no change needed") && dry.contains("Nothing to change."),
        "{dry}"
    );
}

#[test]
fn json_gives_the_plan_and_each_file() {
    let home = Home::new();
    let doc: Value = serde_json::from_str(&ok(&home.tune(&["--json"]))).unwrap();
    assert_eq!(doc["plan"]["platform"], "native");
    assert!(doc["plan"]["layout"]["workers"].as_u64().unwrap() >= 1);
    assert_eq!(doc["plan"]["layout"]["source"], "estimate");
    assert!(doc["plan"]["wslconfig"].is_null());
    assert_eq!(doc["files"][0]["file"], "config");
    assert_eq!(doc["files"][0]["changes"], true);
    assert!(doc["files"][0]["written"].is_null());
}

#[test]
fn a_saved_bench_layout_is_what_tune_recommends() {
    let home = Home::new();
    let doc: Value = serde_json::from_str(&ok(&home.tune_wsl2(&["--json"]))).unwrap();
    let key = doc["plan"]["machine_key"].as_str().unwrap().to_string();
    assert_eq!(key, "intel-r-core-tm-i7-1260p-16cpu-8gib");
    std::fs::write(
        home.config(),
        format!("[bench.{key}.blazepose]\nworkers = 3\nthreads_per_worker = 5\nfps = 88.0\nmeasured = \"2026-11-27T15:30:12Z\"\n"),
    )
    .unwrap();
    let doc: Value = serde_json::from_str(&ok(&home.tune_wsl2(&["--json"]))).unwrap();
    assert_eq!(doc["plan"]["layout"]["source"], "bench");
    assert_eq!(doc["plan"]["layout"]["workers"], 3);
    assert_eq!(doc["plan"]["layout"]["threads_per_worker"], 5);
}

#[test]
fn wsl2_messy_wslconfig_changes_exactly_two_lines() {
    let home = Home::new();
    home.with_hmr2();
    let original = home.wslconfig_from("messy-crlf.wslconfig");
    let expected = std::fs::read(Path::new(DATA).join("messy-crlf.expected.wslconfig")).unwrap();

    let dry = ok(&home.tune_wsl2(&["--host-memory", "32GB"]));
    assert!(dry.contains("-Memory=6GB\n+Memory=8GB\n"), "{dry}");
    assert!(
        dry.contains(" sparseVhd=true\n+autoMemoryReclaim=gradual\n"),
        "{dry}"
    );
    assert!(dry.contains("(CRLF line endings kept)"), "{dry}");
    assert_eq!(
        std::fs::read(home.wslconfig()).unwrap(),
        original,
        "dry run"
    );

    let written = ok(&home.tune_wsl2(&["--host-memory", "32GB", "--write"]));
    assert!(written.contains("wsl --shutdown"), "{written}");
    assert_eq!(std::fs::read(home.wslconfig()).unwrap(), expected);
    let backups = home.backups_beside(&home.wslconfig());
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::read(&backups[0]).unwrap(),
        original,
        "backup identical"
    );
    let config = std::fs::read_to_string(home.config()).unwrap();
    assert!(
        config.starts_with("# my models\n[models]\nhmr2 = \"hmr2.onnx\"\n"),
        "{config}"
    );
    assert!(
        config.contains("workers = 8\nthreads_per_worker = 1\n"),
        "{config}"
    );

    let again = ok(&home.tune_wsl2(&["--host-memory", "32GB", "--write"]));
    assert!(
        !again.contains("wsl --shutdown"),
        "nothing to restart: {again}"
    );
    assert_eq!(std::fs::read(home.wslconfig()).unwrap(), expected);
    assert_eq!(home.backups_beside(&home.wslconfig()).len(), 1);
    assert_eq!(home.backups_beside(&home.config()).len(), 1);
}

#[test]
fn wsl2_without_a_wslconfig_creates_one_from_the_template() {
    let home = Home::new();
    let out = ok(&home.tune_wsl2(&["--write"]));
    assert!(out.contains("created "), "{out}");
    let text = std::fs::read_to_string(home.wslconfig()).unwrap();
    assert!(text.starts_with("# WSL 2 settings"), "{text}");
    assert!(
        text.contains(
            "\r\n[wsl2]\r\nmemory=8GB\r\nprocessors=16\r\nswap=2GB\r\nlocalhostForwarding=true\r\n"
        ),
        "{text:?}"
    );
    assert!(
        text.ends_with("[experimental]\r\nautoMemoryReclaim=gradual\r\n"),
        "{text:?}"
    );
    assert!(
        home.backups_beside(&home.wslconfig()).is_empty(),
        "nothing to back up"
    );
}

#[test]
fn wsl2_empty_and_unterminated_files() {
    let home = Home::new();
    home.wslconfig_from("empty.wslconfig");
    ok(&home.tune_wsl2(&["--write", "--expose-service"]));
    assert_eq!(
        std::fs::read_to_string(home.wslconfig()).unwrap(),
        "[wsl2]\nnetworkingMode=mirrored\n\n[experimental]\nautoMemoryReclaim=gradual\n"
    );

    let home = Home::new();
    home.wslconfig_from("lf-no-final-newline.wslconfig");
    let out = ok(&home.tune_wsl2(&["--write"]));
    assert!(out.contains("updated "), "{out}");
    assert_eq!(
        std::fs::read_to_string(home.wslconfig()).unwrap(),
        "# mine\n[wsl2]\nswap=2GB\n\n[experimental]\nautoMemoryReclaim=gradual\n"
    );
}

#[test]
fn an_unparseable_line_is_refused_and_nothing_is_written() {
    let home = Home::new();
    let original = home.wslconfig_from("unparseable.wslconfig");
    for args in [&[][..], &["--write"][..]] {
        let out = home.tune_wsl2(args);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("line 3") && err.contains("processors 4"),
            "{err}"
        );
        assert!(err.contains("changes nothing"), "{err}");
    }
    assert_eq!(std::fs::read(home.wslconfig()).unwrap(), original);
    assert!(!home.config().exists(), "posekit.toml left alone too");
    assert!(home.backups_beside(&home.wslconfig()).is_empty());
}

#[test]
fn a_utf16_wslconfig_is_planned_from_but_not_edited() {
    let home = Home::new();
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(
        "[wsl2]\r\nmemory=8GB\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    std::fs::create_dir_all(home.wslconfig().parent().unwrap()).unwrap();
    std::fs::write(home.wslconfig(), &bytes).unwrap();
    let out = home.tune_wsl2(&["--write"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not UTF-8"), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("8GB (line 2, kept)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(std::fs::read(home.wslconfig()).unwrap(), bytes);
    assert!(!home.config().exists());
}
