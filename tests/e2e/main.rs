#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step should fail the test loudly

//! End-to-end tests: the services served on 127.0.0.1:0 exactly as `ovice-slack serve` serves them
//! (or the real binary, where an operator's view matters), real SQLite and PostgreSQL, the Slack
//! emulator over HTTP.

mod support;

mod account_linking;
mod account_linking_browser;
mod authorization_matrix;
mod bad_input;
mod chaos_soak;
mod delivery;
mod delivery_processes;
mod gateway;
mod graceful_shutdown;
mod grpcurl_walkthrough;
mod key_rotation;
mod limits;
mod message_life;
mod message_life_crash;
mod microservices;
mod newcomer;
mod outages;
mod scale_out;
mod secret_hygiene;
mod separate_processes;
mod slack_errors;
mod slack_events;
mod token_rotation;
mod workspace_health;
mod workspace_setup;
