//! Integration tests of the domain crate, in one binary.

mod diagram;
mod edges;
mod fixtures;
mod paths;
mod props;
mod scenarios;
mod snapshots;
mod tidy;
mod validation;
