//! The `genai` provider over real HTTP on loopback: wiremock serves bodies in the documented
//! formats of three of the APIs `genai` speaks, OpenAI's chat completions, Gemini's
//! `generateContent` and Ollama's native `/api/chat`, and the provider must map them as the
//! built-in providers do.

#[allow(dead_code)] // Shared with the other provider tests, which use other helpers.
#[path = "../common/mod.rs"]
mod common;

mod faults;
mod gemini;
mod ollama;
mod openai;
mod support;
