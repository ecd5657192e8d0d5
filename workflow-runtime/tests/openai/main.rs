//! The OpenAI-compatible provider over real HTTP on loopback: wiremock serves response bodies
//! in OpenAI's documented formats, and a raw TCP server cuts streams where wiremock cannot.

mod chat;
mod faults;
mod raw;
mod retries;
mod stream;
mod stream_faults;
mod support;
