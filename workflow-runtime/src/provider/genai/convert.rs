//! Our requests as `genai`'s, and `genai`'s answers as ours.

use std::collections::HashMap;

use ::genai::chat::{
    self as g, ChatOptions, ChatResponseFormat, ContentPart, JsonSpec, MessageContent, StopReason,
};

use super::signatures::Signatures;
use crate::provider::{ChatRequest, ChatResponse, FinishReason, Message, ToolCall, ToolChoice};
use crate::tokens::Usage;

/// `request` as `genai`'s request and the options that go with it: usage, text and tool calls
/// are captured while streaming, so that the end of a stream holds the whole answer.
pub(super) fn request(
    request: &ChatRequest,
    signatures: &Signatures,
) -> (g::ChatRequest, ChatOptions) {
    let mut out = g::ChatRequest::default();
    out.system.clone_from(&request.system);
    // Gemini's tool results carry the tool's name: found from the call they answer.
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut results: Vec<g::ToolResponse> = Vec::new();
    for message in &request.messages {
        if !matches!(message, Message::Tool { .. }) && !results.is_empty() {
            out.messages.push(std::mem::take(&mut results).into());
        }
        match message {
            Message::User { content } => out.messages.push(g::ChatMessage::user(content.as_str())),
            Message::Assistant {
                content,
                tool_calls,
            } if tool_calls.is_empty() => {
                out.messages
                    .push(g::ChatMessage::assistant(content.as_str()));
            }
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut parts = MessageContent::default();
                if !content.is_empty() {
                    parts.push(ContentPart::Text(content.clone()));
                }
                for call in tool_calls {
                    names.insert(&call.id, &call.name);
                    parts.push(ContentPart::ToolCall(g::ToolCall {
                        call_id: call.id.clone(),
                        fn_name: call.name.clone(),
                        fn_arguments: call.arguments.clone(),
                        thought_signatures: signatures.get(&call.id),
                    }));
                }
                out.messages.push(g::ChatMessage::assistant(parts));
            }
            Message::Tool { call_id, content } => {
                let mut result = g::ToolResponse::new(call_id.as_str(), content.as_str());
                if let Some(name) = names.get(call_id.as_str()) {
                    result = result.with_fn_name(*name);
                }
                results.push(result);
            }
        }
    }
    if !results.is_empty() {
        out.messages.push(results.into());
    }
    if !request.tools.is_empty() {
        out.tools = Some(
            request
                .tools
                .iter()
                .map(|tool| {
                    g::Tool::new(tool.name.as_str())
                        .with_description(tool.description.as_str())
                        .with_schema(tool.parameters.clone())
                })
                .collect(),
        );
    }

    let mut options = ChatOptions::default()
        .with_capture_usage(true)
        .with_capture_content(true)
        .with_capture_tool_calls(true);
    if let Some(temperature) = request.temperature {
        options = options.with_temperature(f64::from(temperature));
    }
    if let Some(max_tokens) = request.max_tokens {
        options = options.with_max_tokens(max_tokens);
    }
    if let Some(choice) = &request.tool_choice {
        options = options.with_tool_choice(match choice {
            ToolChoice::None => g::ToolChoice::None,
            ToolChoice::Required => g::ToolChoice::Required,
            ToolChoice::Tool(name) => g::ToolChoice::tool(name.as_str()),
            // `ToolChoice` is non-exhaustive: what we do not know, the model decides.
            _ => g::ToolChoice::Auto,
        });
    }
    if let Some(schema) = &request.response_schema {
        let spec = JsonSpec::new(schema.name.as_str(), schema.schema.clone());
        options = options.with_response_format(ChatResponseFormat::JsonSpec(spec));
    }
    (out, options)
}

/// The text of `content`: its text parts, joined as they were streamed.
pub(super) fn text(content: &MessageContent) -> String {
    content.texts().concat()
}

/// The tool calls of `content`.
pub(super) fn tool_calls(content: &MessageContent) -> Vec<ToolCall> {
    content
        .tool_calls()
        .into_iter()
        .map(|call| ToolCall::new(&call.call_id, &call.fn_name, call.fn_arguments.clone()))
        .collect()
}

/// `genai`'s usage as ours, or `None` if the provider reported none. `genai` counts cached
/// tokens in the prompt tokens and reasoning tokens in the completion tokens, as we do.
pub(super) fn usage(usage: &g::Usage) -> Option<Usage> {
    let count = |tokens: Option<i32>| tokens.map_or(0, |n| u64::try_from(n).unwrap_or(0));
    if usage.prompt_tokens.is_none() && usage.completion_tokens.is_none() {
        return None;
    }
    let cached = usage.prompt_tokens_details.as_ref();
    let reasoning = usage.completion_tokens_details.as_ref();
    Some(
        Usage::new(count(usage.prompt_tokens), count(usage.completion_tokens))
            .with_cached(count(cached.and_then(|details| details.cached_tokens)))
            .with_reasoning(count(
                reasoning.and_then(|details| details.reasoning_tokens),
            )),
    )
}

/// `genai`'s stop reason as ours.
pub(super) fn finish_reason(reason: &StopReason) -> FinishReason {
    match reason {
        StopReason::Completed(_) | StopReason::StopSequence(_) => FinishReason::Stop,
        StopReason::MaxTokens(_) => FinishReason::Length,
        StopReason::ToolCall(_) => FinishReason::ToolCalls,
        StopReason::ContentFilter(_) => FinishReason::ContentFilter,
        StopReason::Other(raw) => FinishReason::Other(raw.clone()),
    }
}

/// `genai`'s whole answer as ours.
pub(super) fn response(response: &g::ChatResponse) -> ChatResponse {
    let mut out = ChatResponse::new(text(&response.content));
    out.tool_calls = tool_calls(&response.content);
    out.usage = usage(&response.usage);
    out.finish_reason = response.stop_reason.as_ref().map(finish_reason);
    let (_, model) = response.provider_model_iden.model_name.namespace_and_name();
    model.clone_into(&mut out.model);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::provider::{ResponseSchema, Tool};

    #[test]
    fn tool_results_follow_their_calls_with_the_tool_name() {
        let calls = vec![
            ToolCall::new("c1", "weather", json!({"city": "Paris"})),
            ToolCall::new("c2", "time", json!({})),
        ];
        let request = ChatRequest::new()
            .system("be brief")
            .user("weather and time?")
            .message(Message::assistant_tool_calls("", calls))
            .message(Message::tool_result("c1", "sunny"))
            .message(Message::tool_result("c2", "noon"))
            .tool(Tool::new("weather", "Weather.", json!({"type": "object"})))
            .tool_choice(ToolChoice::Required)
            .response_schema(ResponseSchema::new("answer", json!({"type": "object"})));
        let signatures = Signatures::default();
        signatures.keep(&[g::ToolCall {
            call_id: "c1".to_owned(),
            fn_name: "weather".to_owned(),
            fn_arguments: json!({}),
            thought_signatures: Some(vec!["sig".to_owned()]),
        }]);
        let (out, options) = super::request(&request, &signatures);
        assert_eq!(out.system.as_deref(), Some("be brief"));
        assert_eq!(out.messages.len(), 3);
        let results = out.messages[2].content.tool_responses();
        let names: Vec<_> = results.iter().map(|r| r.fn_name.as_deref()).collect();
        assert_eq!(names, [Some("weather"), Some("time")]);
        let sent: Vec<_> = out.messages[1]
            .content
            .tool_calls()
            .into_iter()
            .cloned()
            .collect();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].thought_signatures, Some(vec!["sig".to_owned()]));
        assert_eq!(sent[1].thought_signatures, None);
        assert_eq!(options.tool_choice, Some(g::ToolChoice::Required));
        assert!(matches!(
            options.response_format,
            Some(ChatResponseFormat::JsonSpec(JsonSpec { ref name, .. })) if name == "answer"
        ));
    }

    #[test]
    fn usage_counts_cached_and_reasoning_tokens() {
        let reported: g::Usage = serde_json::from_value(json!({
            "prompt_tokens": 100,
            "prompt_tokens_details": {"cached_tokens": 40},
            "completion_tokens": 30,
            "completion_tokens_details": {"reasoning_tokens": 12},
        }))
        .expect("a usage");
        let expected = Usage::new(100, 30).with_cached(40).with_reasoning(12);
        assert_eq!(usage(&reported), Some(expected));
        assert_eq!(usage(&g::Usage::default()), None);
    }
}
