//! The Mermaid flowchart of the graph.

use quote::ToTokens;
use syn::ext::IdentExt;

use crate::model::{Edge, Model, Node, Outgoing};

/// Words Mermaid's flowchart grammar reads as keywords wherever a node id may stand: a step
/// named like one would not parse (checked with mermaid-cli 11).
const KEYWORDS: &[&str] = &[
    "end",
    "graph",
    "flowchart",
    "subgraph",
    "style",
    "linkStyle",
    "classDef",
    "class",
    "click",
    "call",
    "href",
    "interpolate",
    "_self",
    "_blank",
    "_parent",
    "_top",
];

/// A `flowchart TD` with one node per step, `start` and `end` as circles, `match` arms as
/// labelled edges, bounds in the labels and `else` routes dotted. A fan-out is a pair of
/// hexagons, `fork` and `join`, around its branches; the step of a map is a subroutine box
/// that says how many elements run at once; a pause step is a parallelogram (and a step that
/// receives a signal, `receive Decision, then b`), a step the run
/// sleeps before a parallelogram leaning the other way (`sleep 1h, then b`); a step that runs
/// another workflow is a subroutine box that names it (its own diagram is its `MERMAID`).
pub(super) fn mermaid(model: &Model) -> String {
    let mut out = String::from("flowchart TD\n");
    out.push_str("    start((start))\n");
    for (index, step) in model.steps.iter().enumerate() {
        let (id, name) = (step_id(model, index), escape(&step_label(model, index)));
        if model.is_pause(index) {
            out.push_str(&format!("    {id}[/\"pause, then {name}\"/]\n"));
            continue;
        }
        if let (true, Some(message)) = (model.is_receive(index), &step.sig.resume) {
            let message = escape(&pretty_type(message));
            out.push_str(&format!("    {id}[/\"receive {message}, then {name}\"/]\n"));
            continue;
        }
        if let (Some(_), Some(sleep)) = (model.sleep_millis(index), &step.sleep) {
            let sleep = escape(&sleep.text);
            out.push_str(&format!("    {id}[\\\"sleep {sleep}, then {name}\"\\]\n"));
            continue;
        }
        if let Some(child) = model.child(index) {
            let child = escape(&pretty(child));
            out.push_str(&format!("    {id}[[\"{name}: workflow {child}\"]]\n"));
            continue;
        }
        let map = step
            .branch_of
            .first()
            .map(|(fork, _)| &model.forks[*fork])
            .filter(|fork| fork.map);
        match map {
            Some(fork) => {
                let at_once = fork
                    .concurrency
                    .map_or_else(String::new, |n| format!(", {n} at a time"));
                let collect = if fork.collect { ", collect" } else { "" };
                out.push_str(&format!("    {id}[[\"each {name}{at_once}{collect}\"]]\n"));
            }
            None => out.push_str(&format!("    {id}[\"{name}\"]\n")),
        }
    }
    for (index, fork) in model.forks.iter().enumerate() {
        if !fork.map {
            let join = if fork.collect {
                "join all results"
            } else {
                "join"
            };
            out.push_str(&format!("    fork{index}{{{{\"fork\"}}}}\n"));
            out.push_str(&format!("    join{index}{{{{\"{join}\"}}}}\n"));
        }
    }
    out.push_str("    stop((end))\n");
    for start in &model.start {
        edge(model, &mut out, "start", &start.edge, None);
    }
    for (index, step) in model.steps.iter().enumerate() {
        let from = step_id(model, index);
        for route in &step.error_routes {
            error_edge(model, &mut out, &from, &route.edge);
        }
        for outgoing in &step.outgoing {
            match outgoing {
                Outgoing::Sequence { edge: e, .. } => edge(model, &mut out, &from, e, None),
                Outgoing::Match { arms, .. } => {
                    for arm in arms {
                        let mut label = pretty(&arm.pat);
                        if let Some(guard) = &arm.guard {
                            label = format!("{label} if {}", pretty(guard));
                        }
                        edge(model, &mut out, &from, &arm.edge, Some(label));
                    }
                }
            }
        }
    }
    out
}

fn edge(model: &Model, out: &mut String, from: &str, edge: &Edge, label: Option<String>) {
    let to = node(model, edge);
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
    if let Node::Fork(index) = edge.to {
        fork(model, out, index);
    }
    if let Some(fallback) = edge
        .bound
        .as_ref()
        .and_then(|bound| bound.fallback.as_deref())
    {
        out.push_str(&format!(
            "    {from} -.->|\"else\"| {}\n",
            node(model, fallback)
        ));
    }
}

/// An error route: dashed, labelled `error`, with its bound if it has one.
fn error_edge(model: &Model, out: &mut String, from: &str, edge: &Edge) {
    let bound = edge
        .bound
        .as_ref()
        .map_or_else(String::new, |bound| format!(" [max {}]", bound.max));
    let to = node(model, edge);
    out.push_str(&format!("    {from} -.->|\"error{bound}\"| {to}\n"));
    if let Some(fallback) = edge.bound.as_ref().and_then(|b| b.fallback.as_deref()) {
        out.push_str(&format!(
            "    {from} -.->|\"else\"| {}\n",
            node(model, fallback)
        ));
    }
}

/// The inside of fork `index` and its join, drawn after the edge into it.
fn fork(model: &Model, out: &mut String, index: usize) {
    let fork = &model.forks[index];
    let joined = if fork.map {
        node(model, &fork.branches[0])
    } else {
        for branch in &fork.branches {
            let id = node(model, branch);
            out.push_str(&format!("    fork{index} --> {id}\n"));
            out.push_str(&format!("    {id} --> join{index}\n"));
        }
        format!("join{index}")
    };
    if let Some(join) = &fork.join {
        edge(model, out, &joined, join, None);
    }
}

fn node(model: &Model, edge: &Edge) -> String {
    match edge.to {
        Node::End => "stop".to_owned(),
        Node::Fork(index) if model.forks[index].map => node(model, &model.forks[index].branches[0]),
        Node::Fork(index) => format!("fork{index}"),
        Node::Step(step) => step_id(model, step),
        // Only in a model with errors, which is not drawn.
        Node::Unknown => edge.name.unraw().to_string(),
    }
}

/// The step's name as written, without `r#`.
fn step_label(model: &Model, index: usize) -> String {
    model.steps[index].sig.ident.unraw().to_string()
}

/// The Mermaid id of step `index`: its name, unless Mermaid reads the name as a keyword or it
/// is the id of one of the diagram's own nodes (`start`, `stop`, `fork0`, `join0`…); then the
/// step's index before it, `3_style`, which no other node has: a Rust identifier never starts
/// with a digit.
fn step_id(model: &Model, index: usize) -> String {
    let name = step_label(model, index);
    let numbered = |prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let taken = ["start", "stop"].contains(&name.as_str()) || numbered("fork") || numbered("join");
    if taken || KEYWORDS.contains(&name.as_str()) {
        format!("{index}_{name}")
    } else {
        name
    }
}

/// Tokens as a human would write them: no spaces around `::`, before `(`, `,` or `.`.
pub(super) fn pretty(item: &impl ToTokens) -> String {
    let text = item.to_token_stream().to_string();
    [
        (" :: ", "::"),
        (":: ", "::"),
        (" : ", ": "),
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

/// A type as a human would write it: [`pretty`], and no spaces inside `<…>` (`Vec<String>`).
fn pretty_type(ty: &syn::Type) -> String {
    [(" < ", "<"), (" <", "<"), ("< ", "<"), (" >", ">")]
        .iter()
        .fold(pretty(ty), |text, (from, to)| text.replace(from, to))
}

/// Escapes what would end a quoted Mermaid label.
fn escape(label: &str) -> String {
    label
        .replace('#', "#35;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}
