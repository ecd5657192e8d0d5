//! The `genai` provider over real HTTP on loopback: wiremock serves bodies in the documented
//! formats of two of the APIs `genai` speaks, OpenAI's chat completions and Gemini's
//! `generateContent`, and the provider must map them as the built-in providers do.

#[allow(dead_code)] // Shared with the other provider tests, which use other helpers.
#[path = "../common/mod.rs"]
mod common;

mod faults;
mod gemini;
mod openai;
mod support;
