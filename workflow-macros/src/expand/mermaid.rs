//! The Mermaid flowchart of the graph.

use quote::ToTokens;

use crate::model::{Edge, Model, Node, Outgoing};

/// A `flowchart TD` with one node per step, `start` and `end` as circles, `match` arms as
/// labelled edges, bounds in the labels and `else` routes dotted.
pub(super) fn mermaid(model: &Model) -> String {
    let mut out = String::from("flowchart TD\n");
    out.push_str("    start((start))\n");
    for step in &model.steps {
        out.push_str(&format!("    {0}[\"{0}\"]\n", step.sig.ident));
    }
    out.push_str("    stop((end))\n");
    for start in &model.start {
        edge(&mut out, "start", &start.edge, None);
    }
    for step in &model.steps {
        let from = step.sig.ident.to_string();
        for outgoing in &step.outgoing {
            match outgoing {
                Outgoing::Sequence { edge: e, .. } => edge(&mut out, &from, e, None),
                Outgoing::Match { arms, .. } => {
                    for arm in arms {
                        let mut label = pretty(&arm.pat);
                        if let Some(guard) = &arm.guard {
                            label = format!("{label} if {}", pretty(guard));
                        }
                        edge(&mut out, &from, &arm.edge, Some(label));
                    }
                }
            }
        }
    }
    out
}

fn edge(out: &mut String, from: &str, edge: &Edge, label: Option<String>) {
    let to = node(edge);
    let mut label = label.unwrap_or_default();
    if let Some(bound) = &edge.bound {
        if !label.is_empty() {
            label.push(' ');
        }
        label.push_str(&format!("[max {}]", bound.max));
    }
    if label.is_empty() {
        out.push_str(&format!("    {from} --> {to}\n"));
    } else {
        out.push_str(&format!("    {from} -->|\"{}\"| {to}\n", escape(&label)));
    }
    if let Some(fallback) = edge
        .bound
        .as_ref()
        .and_then(|bound| bound.fallback.as_deref())
    {
        out.push_str(&format!("    {from} -.->|\"else\"| {}\n", node(fallback)));
    }
}

fn node(edge: &Edge) -> String {
    match edge.to {
        Node::End => "stop".to_owned(),
        Node::Step(_) | Node::Unknown => edge.name.to_string(),
    }
}

/// Tokens as a human would write them: no spaces around `::`, before `(`, `,` or `.`.
fn pretty(item: &impl ToTokens) -> String {
    let text = item.to_token_stream().to_string();
    [
        (" :: ", "::"),
        (":: ", "::"),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" ,", ","),
        (" .", "."),
        (". ", "."),
        ("& ", "&"),
    ]
    .iter()
    .fold(text, |text, (from, to)| text.replace(from, to))
}

/// Escapes what would end a quoted Mermaid label.
fn escape(label: &str) -> String {
    label
        .replace('#', "#35;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}
