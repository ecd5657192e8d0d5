//! The OpenAI-compatible provider over real HTTP on loopback: wiremock serves response bodies
//! in OpenAI's documented formats, and a raw TCP server cuts streams where wiremock cannot.

#[allow(dead_code)] // Shared with the other provider tests, which use other helpers.
#[path = "../common/mod.rs"]
mod common;

mod chat;
mod dialects;
mod faults;
mod models;
mod retries;
mod spent;
mod step;
mod stream;
mod stream_faults;
mod support;
