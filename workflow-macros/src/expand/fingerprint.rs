//! The definition fingerprint: a hash of the graph and the types of its steps.

use quote::ToTokens;

use crate::model::{Edge, Model, Outgoing};

/// FNV-1a over a canonical description of the workflow: its name, each step's name and types,
/// and every edge with its bound. Stable across compilations of the same definition.
pub(super) fn fingerprint(model: &Model) -> u64 {
    let mut text = format!("workflow {}\n", model.name);
    if let Some(output) = &model.output {
        text.push_str(&format!("output {}\n", tokens(output)));
    }
    for step in &model.steps {
        let sig = &step.sig;
        text.push_str(&format!(
            "step {} {} -> {} fallible={}",
            sig.ident,
            tokens(&sig.input),
            tokens(&sig.output),
            sig.fallible.is_some()
        ));
        if let (Some(_), Some(value)) = (&step.pause, &sig.resume) {
            text.push_str(&format!(" pause {}", tokens(value)));
        }
        text.push('\n');
    }
    for start in &model.start {
        edge(model, &mut text, "start", &start.edge);
    }
    for (index, fork) in model.forks.iter().enumerate() {
        let label = model.fork_label(index);
        text.push_str(&format!(
            "fork {label} collect={} concurrency={:?}\n",
            fork.collect, fork.concurrency
        ));
        if let Some(join) = &fork.join {
            edge(model, &mut text, &label, join);
        }
    }
    for step in &model.steps {
        let from = step.sig.ident.to_string();
        for outgoing in &step.outgoing {
            match outgoing {
                Outgoing::Sequence { edge: e, .. } => edge(model, &mut text, &from, e),
                Outgoing::Match { arms, .. } => {
                    for arm in arms {
                        text.push_str(&format!(
                            "arm {} if {}\n",
                            tokens(&arm.pat),
                            arm.guard.as_ref().map(tokens).unwrap_or_default()
                        ));
                        edge(model, &mut text, &from, &arm.edge);
                    }
                }
            }
        }
    }
    fnv1a(text.as_bytes())
}

fn edge(model: &Model, text: &mut String, from: &str, edge: &Edge) {
    let to = model.node_label(edge);
    let arg = edge.arg.as_ref().map(tokens).unwrap_or_default();
    text.push_str(&format!("edge {from} -> {to}({arg})"));
    if let Some(bound) = &edge.bound {
        text.push_str(&format!(" max {}", bound.max));
        if let Some(fallback) = &bound.fallback {
            text.push_str(" else ");
            self::edge(model, text, from, fallback);
        }
    }
    text.push('\n');
}

fn tokens(item: &impl ToTokens) -> String {
    item.to_token_stream().to_string()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
