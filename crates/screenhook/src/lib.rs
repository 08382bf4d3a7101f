//! screenhook as a library: the configuration and the [`App`] that `screenhook serve` runs, so
//! the binary and the tests that need the whole product start it the same way.
//!
//! # Layout
//! - [`config`]: the one typed configuration, layered and validated at start.
//! - [`app`]: [`App`], everything `serve` runs, wired once from a [`Config`]; and the store
//!   opening the tools share ([`app::open_store`]).
//! - `metrics`: the Prometheus recorder, `GET /metrics` and the per-request log line, which
//!   the app installs and serves.
//!
//! The subcommands themselves (the tools, the benchmarks) are the binary's, in `main.rs`.

pub mod app;
pub mod config;
mod metrics;

pub use app::{App, Running};
pub use config::Config;
