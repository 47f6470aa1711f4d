//! posekit: human pose and mesh recovery over videos in one process whose worker
//! threads share one copy of each model's weights.
//!
//! The binary (`main.rs`) is glue over this library; tests use the library directly.

pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod doctor;
pub mod engine;
pub mod files;
pub mod image;
pub mod media;
pub mod models;
pub mod output;
pub mod pipeline;
pub mod pose;
pub mod serve;
pub mod system;
pub mod tune;
