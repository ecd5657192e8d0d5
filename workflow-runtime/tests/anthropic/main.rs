//! The Anthropic provider over real HTTP on loopback: wiremock serves response bodies in
//! Anthropic's documented Messages API formats, and a raw TCP server cuts streams where wiremock
//! cannot.

#[allow(dead_code)] // Shared with the other provider tests, which use other helpers.
#[path = "../common/mod.rs"]
mod common;

mod chat;
mod faults;
mod retries;
mod spent;
mod stream;
mod stream_faults;
mod structured;
mod support;
mod tool_choice;
