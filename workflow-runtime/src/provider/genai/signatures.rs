//! [`Signatures`]: the thought signatures of recent tool calls, to send back with them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use ::genai::chat::ToolCall;

/// How many calls' signatures are kept: the oldest are forgotten first.
const KEPT: usize = 1024;

/// The thought signatures Gemini gave with its recent tool calls, by call id. Gemini wants
/// each call sent back with its signature, which carries the model's reasoning from turn to
/// turn; our [`ToolCall`](crate::provider::ToolCall) has no field for it, so the provider
/// keeps them here, and a conversation that goes on in the same process gets them back. A call
/// whose signature is not known (another process, or forgotten) goes without it, as `genai`
/// sends it for Gemini 3: accepted, with the reasoning lost.
#[derive(Clone, Default)]
pub(super) struct Signatures(Arc<Mutex<Kept>>);

#[derive(Default)]
struct Kept {
    by_call: HashMap<String, Vec<String>>,
    order: VecDeque<String>,
}

impl Signatures {
    /// Keeps the signatures of `calls` that have some.
    pub(super) fn keep<'a>(&self, calls: impl IntoIterator<Item = &'a ToolCall>) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for call in calls {
            let Some(signatures) = &call.thought_signatures else {
                continue;
            };
            if kept
                .by_call
                .insert(call.call_id.clone(), signatures.clone())
                .is_none()
            {
                kept.order.push_back(call.call_id.clone());
            }
            while kept.order.len() > KEPT {
                if let Some(oldest) = kept.order.pop_front() {
                    kept.by_call.remove(&oldest);
                }
            }
        }
    }

    /// The signatures of the call with id `call_id`, if they are kept.
    pub(super) fn get(&self, call_id: &str) -> Option<Vec<String>> {
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.by_call.get(call_id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn call(id: &str, signature: Option<&str>) -> ToolCall {
        ToolCall {
            call_id: id.to_owned(),
            fn_name: "f".to_owned(),
            fn_arguments: json!({}),
            thought_signatures: signature.map(|s| vec![s.to_owned()]),
        }
    }

    #[test]
    fn keeps_the_latest_calls_signatures() {
        let signatures = Signatures::default();
        signatures.keep(&[call("a", Some("sig-a")), call("b", None)]);
        assert_eq!(signatures.get("a"), Some(vec!["sig-a".to_owned()]));
        assert_eq!(signatures.get("b"), None);
        let many: Vec<ToolCall> = (0..KEPT).map(|n| call(&n.to_string(), Some("s"))).collect();
        signatures.keep(&many);
        assert_eq!(signatures.get("a"), None, "the oldest is forgotten");
        assert!(signatures.get("0").is_some() && signatures.get(&(KEPT - 1).to_string()).is_some());
    }
}
