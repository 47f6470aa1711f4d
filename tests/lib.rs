//! posekit's integration tests: one test binary (`cargo test --release --test integration`)
//! that runs the built `posekit` as a user runs it. Each module is one command or concern;
//! `common` holds what they share (the `posekit()` builder, temporary homes, output readers,
//! signals and waits). Every file a test makes lives in a temporary folder.

mod common;

mod batch;
mod bench;
mod cluster;
mod detector;
mod devices;
mod doctor;
mod export;
mod hmr2;
mod models;
mod pose2sim;
mod process;
mod safe_files;
mod serve;
mod tracks;
mod tune;
