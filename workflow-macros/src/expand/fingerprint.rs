//! The definition fingerprint: a hash of a canonical description of the graph and of the types
//! its runs store, so that a checkpoint is never resumed under another definition.
//!
//! The description is written from the tokens themselves, never from `TokenStream`'s
//! `Display`, whose spacing is the compiler's to choose and has changed between releases: a
//! toolchain upgrade must not strand every stored run. What enters it:
//!
//! - a scheme tag (`fingerprint v2`), so a value never collides with one computed another way;
//! - the workflow's name and its declared `#[workflow(version = N)]` (0 if none);
//! - each step, in declaration order (the order of `Workflow::STEPS`, which runs may record):
//!   its name, input type, output type, whether it is fallible and whether its error type is
//!   written out, and the value type of a pause; which steps the run sleeps before, and
//!   which receive a signal, with its type;
//! - the output type, every edge with its arguments, bound (with its number: loop counters are
//!   stored by it) and `else` route, every `match` arm (pattern, guard, target), every fork
//!   (branches, `collect`, `concurrency`) and its join, every error route (`step? -> handler`,
//!   absent from the description of a workflow without one, so adding none changes nothing).
//!
//! Left out on purpose: step policies (`retry`, `backoff`, `max_backoff`, `timeout`). They say
//! how a step is attempted, not what a checkpoint holds or where a run goes next, so a run saved
//! under `retry = 2` resumes correctly under `retry = 3`; counting them would refuse every
//! stored run after each tuning. Also left out: the error type itself (a failed run stores its
//! error as text, not as a value of the type), the state enum's name, and step bodies.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;

use crate::model::{Edge, Model, Outgoing};

/// The tag of the current way of computing fingerprints. Change it whenever what the
/// description holds or how it is written changes, so that old values never match new ones.
const SCHEME: &str = "fingerprint v2";

/// FNV-1a over [`description`]. Stable across compilations and toolchains.
pub(super) fn own_fingerprint(model: &Model) -> u64 {
    fnv1a(description(model).as_bytes())
}

/// The `FINGERPRINT` of the workflow: [`own_fingerprint`], mixed with the `FINGERPRINT` of
/// each workflow a step runs, in declaration order, so that a change in a child's definition
/// changes its parents'.
pub(super) fn fingerprint(model: &Model) -> TokenStream {
    let own = own_fingerprint(model);
    let children = model.children();
    if children.is_empty() {
        return quote::quote!(#own);
    }
    let krate = &model.krate;
    let children = children
        .iter()
        .map(|(_, ty)| quote::quote!(<#ty as #krate::__private::Workflow>::FINGERPRINT));
    quote::quote!(#krate::__private::mix_fingerprints(#own, &[#(#children),*]))
}

/// The canonical description of the workflow that the fingerprint hashes, one line per item.
pub(super) fn description(model: &Model) -> String {
    let mut text = Text::default();
    text.line(SCHEME);
    text.line(&format!("workflow {}", unraw(&model.name.to_string())));
    text.line(&format!("version {}", model.version));
    match &model.output {
        Some(output) => text.line(&format!("output {}", canonical(output))),
        None => text.line("output none"),
    }
    for step in &model.steps {
        let sig = &step.sig;
        if let Some(child) = &sig.child {
            // The child's own definition enters through its `FINGERPRINT`: see `fingerprint`.
            let name = unraw(&sig.ident.to_string());
            text.line(&format!("step {name} workflow {}", canonical(child)));
            continue;
        }
        let pause = match (&step.pause, &sig.resume) {
            (Some(_), Some(value)) => canonical(value),
            _ => "none".to_owned(),
        };
        text.line(&format!(
            "step {} input {} output {} fallible {} error {} pause {}",
            unraw(&sig.ident.to_string()),
            canonical(&sig.input),
            canonical(&sig.output),
            sig.fallible.is_some(),
            sig.error_written,
            pause,
        ));
    }
    // Whether a step sleeps changes its state (not how long: the state holds the time).
    for (index, step) in model.steps.iter().enumerate() {
        let name = unraw(&step.sig.ident.to_string());
        if model.sleep_millis(index).is_some() {
            text.line(&format!("sleep {name}"));
        }
        if let (true, Some(message)) = (model.is_receive(index), &step.sig.resume) {
            text.line(&format!("receive {name} {}", canonical(message)));
        }
    }
    for start in &model.start {
        text.edge(model, "start", &start.edge);
    }
    for (index, fork) in model.forks.iter().enumerate() {
        let label = unraw(&model.fork_label(index));
        text.line(&format!(
            "fork {label} map {} collect {} concurrency {}",
            fork.map,
            fork.collect,
            fork.concurrency
                .map_or_else(|| "none".to_owned(), |n| n.to_string()),
        ));
        if let Some(join) = &fork.join {
            text.edge(model, &label, join);
        }
    }
    for step in &model.steps {
        let from = unraw(&step.sig.ident.to_string());
        for route in &step.error_routes {
            text.line(&format!("error {}", edge_text(model, &from, &route.edge)));
        }
        for outgoing in &step.outgoing {
            match outgoing {
                Outgoing::Sequence { edge, .. } => text.edge(model, &from, edge),
                Outgoing::Match { arms, .. } => {
                    text.line(&format!("match {from} arms {}", arms.len()));
                    for arm in arms {
                        let guard = arm.guard.as_ref().map_or_else(String::new, canonical);
                        text.line(&format!("arm {} if {guard}", canonical(&arm.pat)));
                        text.edge(model, &from, &arm.edge);
                    }
                }
            }
        }
    }
    text.0
}

#[derive(Default)]
struct Text(String);

impl Text {
    fn line(&mut self, line: &str) {
        self.0.push_str(line.trim_end());
        self.0.push('\n');
    }

    /// `edge from -> to (arg) max N #index else (edge …)`
    fn edge(&mut self, model: &Model, from: &str, edge: &Edge) {
        let line = edge_text(model, from, edge);
        self.line(&line);
    }
}

fn edge_text(model: &Model, from: &str, edge: &Edge) -> String {
    let to = unraw(&model.node_label(edge));
    let arg = edge.arg.as_ref().map_or_else(String::new, canonical);
    let mut line = format!("edge {from} -> {to} ({arg})");
    if let Some(bound) = &edge.bound {
        line.push_str(&format!(" max {} #{}", bound.max, bound.index));
        if let Some(fallback) = &bound.fallback {
            line.push_str(&format!(" else ({})", edge_text(model, from, fallback)));
        }
    }
    line
}

/// `item`'s tokens in a canonical form: the same text for token streams that differ only in
/// spacing, however the compiler would print them.
pub(super) fn canonical(item: &impl ToTokens) -> String {
    let mut out = String::new();
    write_tokens(item.to_token_stream(), Delimiter::None, &mut out);
    out.truncate(out.trim_end().len());
    out
}

/// Writes each token followed by one space (none between two punctuation marks): an identifier
/// by its name (`r#` dropped: `r#Foo` is `Foo`), a punctuation mark by its character, a literal
/// by its text, a group between its delimiters. `inside` is the delimiter of the group the tokens are in. Two choices make the
/// form survive `rustfmt` as well as the compiler:
///
/// - A mark's spacing (whether it touches the next one) is dropped, so `Vec<Vec<u8> >` reads
///   as `Vec<Vec<u8>>`. Where the two mean the same (types, patterns, `&&x`, `||`), that is
///   what is wanted; the one pair that differs, `a && b` against `a & &b` in a guard, gives the
///   same value for `bool`s anyway.
/// - A trailing comma (before a closing delimiter or `>`) is dropped, but for a one-element
///   tuple `(A,)`, where it matters.
///
/// An invisible group (from a `macro_rules!` fragment such as `$t:ty`) is written as its
/// contents, so a type passed through a macro reads as the type written out.
fn write_tokens(tokens: TokenStream, inside: Delimiter, out: &mut String) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (index, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident) => out.push_str(&unraw(&ident.to_string())),
            TokenTree::Punct(punct) => {
                if punct.as_char() == ',' && is_trailing_comma(&trees, index, inside) {
                    continue;
                }
                out.push(punct.as_char());
                if matches!(trees.get(index + 1), Some(TokenTree::Punct(_))) {
                    continue;
                }
            }
            TokenTree::Literal(literal) => out.push_str(&literal.to_string()),
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ('(', ')'),
                    Delimiter::Bracket => ('[', ']'),
                    Delimiter::Brace => ('{', '}'),
                    Delimiter::None => {
                        write_tokens(group.stream(), inside, out);
                        continue;
                    }
                };
                out.push(open);
                out.push(' ');
                write_tokens(group.stream(), group.delimiter(), out);
                out.push(close);
            }
        }
        out.push(' ');
    }
}

/// Whether the comma at `trees[index]` can go without changing the meaning: it ends a list,
/// before `>` or at the end of a group, and does not make a one-element tuple `(x,)`.
fn is_trailing_comma(trees: &[TokenTree], index: usize, inside: Delimiter) -> bool {
    match trees.get(index + 1) {
        Some(TokenTree::Punct(next)) => next.as_char() == '>',
        Some(_) => false,
        None => {
            let commas = trees
                .iter()
                .filter(|tree| matches!(tree, TokenTree::Punct(p) if p.as_char() == ','))
                .count();
            !(inside == Delimiter::Parenthesis && commas == 1)
        }
    }
}

/// `name` without the `r#` of its raw identifiers: `r#Flow` is `Flow`, `(r#a, b)` is `(a, b)`.
fn unraw(name: &str) -> String {
    name.replace("r#", "")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests;
