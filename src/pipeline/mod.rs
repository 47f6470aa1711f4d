//! The `process` pipeline: decode → pose → ordered results → sinks.
