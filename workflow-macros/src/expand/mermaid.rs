//! The Mermaid flowchart of the graph.

use quote::ToTokens;

use crate::model::{Edge, Model, Node, Outgoing};

/// A `flowchart TD` with one node per step, `start` and `end` as circles, `match` arms as
/// labelled edges, bounds in the labels and `else` routes dotted. A fan-out is a pair of
/// hexagons, `fork` and `join`, around its branches; the step of a map is a subroutine box
/// that says how many elements run at once; a pause step is a parallelogram.
pub(super) fn mermaid(model: &Model) -> String {
    let mut out = String::from("flowchart TD\n");
    out.push_str("    start((start))\n");
    for (index, step) in model.steps.iter().enumerate() {
        if model.is_pause(index) {
            out.push_str(&format!("    {0}[/\"pause, then {0}\"/]\n", step.sig.ident));
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
                out.push_str(&format!(
                    "    {0}[[\"each {0}{at_once}{collect}\"]]\n",
                    step.sig.ident
                ));
            }
            None => out.push_str(&format!("    {0}[\"{0}\"]\n", step.sig.ident)),
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
    for step in &model.steps {
        let from = step.sig.ident.to_string();
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

/// The inside of fork `index` and its join, drawn after the edge into it.
fn fork(model: &Model, out: &mut String, index: usize) {
    let fork = &model.forks[index];
    let joined = if fork.map {
        fork.branches[0].name.to_string()
    } else {
        for branch in &fork.branches {
            out.push_str(&format!("    fork{index} --> {}\n", branch.name));
            out.push_str(&format!("    {} --> join{index}\n", branch.name));
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
        Node::Fork(index) if model.forks[index].map => {
            model.forks[index].branches[0].name.to_string()
        }
        Node::Fork(index) => format!("fork{index}"),
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
