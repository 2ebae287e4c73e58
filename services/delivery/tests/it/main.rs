//! Delivery service tests: the gRPC API and sending to the Slack emulator over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod harness;
mod preferences;
mod sending;
