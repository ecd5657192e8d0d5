//! The `workflow.tool` span of each tool call: inside its step's span, with the agent, the
//! tool, the call id and whether it succeeded, and never the arguments or the result.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use workflow::prelude::*;
use workflow::provider::{Scripted, ToolCall};
use workflow::tool::{self, ToolError};

/// A span: its id, its name, its parent's name, and its fields as `name=value` lines.
type Span = (Id, &'static str, Option<&'static str>, Vec<String>);

/// Every span opened.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Span>>>);

struct Fields<'a>(&'a mut Vec<String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push(format!("{}={value:?}", field.name()));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent().map(|p| p.name()));
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        let name = attrs.metadata().name();
        let mut spans = self.0.lock().expect("not poisoned");
        spans.push((id.clone(), name, parent, fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: LayerContext<'_, S>) {
        let mut spans = self.0.lock().expect("not poisoned");
        if let Some((_, _, _, fields)) = spans.iter_mut().rev().find(|(at, ..)| at == id) {
            values.record(&mut Fields(fields));
        }
    }
}

#[derive(Deserialize, JsonSchema)]
struct Secret {
    code: String,
}

struct Vault {
    agent: Agent,
}

#[workflow]
impl Vault {
    async fn open(&self, question: String) -> Result<String> {
        self.agent.prompt(&question).await
    }

    flow! {
        start -> open -> end;
    }
}

#[tokio::test]
async fn each_tool_call_is_a_span_in_its_step_without_bodies() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let unlock = tool::from_fn("unlock", "Opens the vault.", |secret: Secret| async move {
        match secret.code.as_str() {
            "hunter2" => Ok("opened: the-treasure"),
            _ => Err(ToolError::new("wrong code")),
        }
    });
    let model = Arc::new(
        Scripted::new().replies([
            ChatResponse::new("")
                .with_tool_call(ToolCall::new("c1", "unlock", json!({"code": "hunter2"})))
                .with_tool_call(ToolCall::new("c2", "unlock", json!({"code": "guess"}))),
            ChatResponse::new("Opened."),
        ]),
    );
    let agent = Agent::builder(model).name("keeper").tool(unlock).build();
    let output = Executor::new()
        .start(&Vault { agent }, "Open it.".into())
        .await
        .expect("the run completes");
    assert_eq!(output, "Opened.");

    let spans = capture.0.lock().expect("not poisoned").clone();
    let tools: Vec<_> = spans
        .iter()
        .filter(|(_, name, ..)| *name == "workflow.tool")
        .collect();
    assert_eq!(tools.len(), 2, "one span per call");
    for (_, _, parent, fields) in &tools {
        assert_eq!(*parent, Some("workflow.step"));
        assert!(
            fields.contains(&"agent=\"keeper\"".to_owned()),
            "{fields:?}"
        );
        assert!(fields.contains(&"tool=\"unlock\"".to_owned()), "{fields:?}");
    }
    let c1 = &tools
        .iter()
        .find(|t| t.3.contains(&"call_id=\"c1\"".into()))
        .expect("c1")
        .3;
    assert!(c1.contains(&"ok=true".to_owned()), "{c1:?}");
    let c2 = &tools
        .iter()
        .find(|t| t.3.contains(&"call_id=\"c2\"".into()))
        .expect("c2")
        .3;
    assert!(c2.contains(&"ok=false".to_owned()), "{c2:?}");
    // Neither the arguments nor the results are recorded anywhere.
    for (_, name, _, fields) in &spans {
        for field in fields {
            for body in ["hunter2", "the-treasure", "wrong code"] {
                assert!(!field.contains(body), "{name} records `{body}`: {field}");
            }
        }
    }
}
