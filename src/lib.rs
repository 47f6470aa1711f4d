//! posekit: human pose and mesh recovery over videos in one process whose worker
//! threads share one copy of each model's weights.
//!
//! The binary (`main.rs`) is glue over this library; tests use the library directly.

pub(crate) mod batch;
pub(crate) mod bench;
pub mod cli;
pub mod commands;
pub(crate) mod compare;
pub(crate) mod config;
pub(crate) mod doctor;
pub mod engine;
pub(crate) mod export;
pub(crate) mod files;
pub mod image;
pub mod media;
pub mod models;
pub(crate) mod output;
pub(crate) mod pipeline;
pub(crate) mod pose;
pub(crate) mod serve;
pub(crate) mod system;
pub(crate) mod tracking;
pub(crate) mod tune;
