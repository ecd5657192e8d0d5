//! Builds the [`Model`] from the parsed input, resolving step names.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;

use super::{unraw, Arm, Bound, Edge, ErrorRoute, Fork, Model, Node, Outgoing, Start, Step};
use crate::diag::{self, Errors};
use crate::parse::{self, Args, Chain, Flow, Input, Target};

pub(crate) fn build(args: Args, input: Input, errors: &mut Errors) -> Option<Model> {
    let flow = input.flow?;
    let name = self_name(&input.item.self_ty)?;
    let (state_vis, state) = match args.state {
        Some(named) => (named.vis, named.ident),
        None => (syn::Visibility::Inherited, super::names::state_name(&name)),
    };
    let mut model = Model {
        krate: args.krate.unwrap_or_else(|| syn::parse_quote!(::workflow)),
        self_ty: (*input.item.self_ty).clone(),
        generics: input.item.generics.clone(),
        name,
        state,
        state_vis,
        version: args.version.unwrap_or(0),
        steps: input
            .steps
            .into_iter()
            .map(|sig| Step {
                sig,
                mentions: Vec::new(),
                outgoing: Vec::new(),
                branch_of: Vec::new(),
                pause: None,
                receive: None,
                sleep: None,
                error_routes: Vec::new(),
            })
            .collect(),
        forks: Vec::new(),
        start: Vec::new(),
        output: None,
        flow_span: flow.span,
        bounds: 0,
        incomplete: flow.incomplete,
        unresolved: Vec::new(),
        taken: input.taken,
    };
    child_types(&mut model);
    add_flow(&mut model, flow, errors);
    report_unresolved(&model, errors);
    Some(model)
}

/// The input and output of a step that runs another workflow are that workflow's, as
/// `<Research as Workflow>::Input`, placed at the type the step returns, where rustc reports a
/// type that is not a workflow.
fn child_types(model: &mut Model) {
    let krate = model.krate.clone();
    for step in &mut model.steps {
        let Some(child) = step.sig.child.clone() else {
            continue;
        };
        let span = child.span();
        let workflow = quote::quote_spanned!(span=> #krate::__private::Workflow);
        step.sig.input = syn::parse_quote_spanned!(span=> <#child as #workflow>::Input);
        step.sig.output = syn::parse_quote_spanned!(span=> <#child as #workflow>::Output);
    }
}

/// The last segment of the self type, without `r#`: `Flow` for `impl r#Flow`.
fn self_name(ty: &syn::Type) -> Option<syn::Ident> {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .map(|last| syn::Ident::new(&unraw(&last.ident), last.ident.span())),
        _ => None,
    }
}

fn add_flow(model: &mut Model, flow: Flow, errors: &mut Errors) {
    let mut outputs = flow.outputs.into_iter();
    let declared = outputs.next();
    for extra in outputs {
        errors.push(extra.span(), diag::duplicate_arg("type Output"));
    }
    for chain in flow.chains {
        add_chain(model, chain, errors);
    }
    model.output = declared.or_else(|| inferred_output(model));
    if model.output.is_none() {
        if let Some(end) = first_end(model) {
            errors.push(end, diag::OUTPUT_UNKNOWN);
        }
    }
}

fn add_chain(model: &mut Model, chain: Chain, errors: &mut Errors) {
    // `None` stands for `start`.
    let mut source = (chain.head != "start").then(|| resolve(model, &chain.head, errors));
    let mut source_span = chain.head.span();
    let mut links = chain.links.into_iter();
    if let (Some(mark), Some(Node::Step(from))) = (chain.error, source) {
        if let Some(Target::Route(route)) = links.next() {
            let next_span = route.name.span();
            let edge = edge(model, route, errors);
            source = Some(edge.to);
            model.steps[from].error_routes.push(ErrorRoute {
                mark,
                source: source_span,
                edge,
            });
            source_span = next_span;
        }
    } else if chain.error.is_some() {
        // An unknown step's error route: its handler is still resolved, and its edges read.
        if let Some(Target::Route(route)) = links.next() {
            source_span = route.name.span();
            source = Some(edge(model, route, errors).to);
        }
    }
    for target in links {
        match target {
            Target::Route(route) => {
                let next_span = route.name.span();
                let edge = edge(model, route, errors);
                let next = edge.to;
                match source {
                    None => model.start.push(Start {
                        token: source_span,
                        edge,
                    }),
                    Some(from) => push_outgoing(
                        model,
                        from,
                        Outgoing::Sequence {
                            source: source_span,
                            edge,
                        },
                    ),
                }
                source = Some(next);
                source_span = next_span;
            }
            Target::Match { token, arms } => {
                let arms = arms
                    .into_iter()
                    .map(|arm| {
                        let end = arm.route.end;
                        let edge = match arm.fork {
                            Some((fork, join)) => {
                                let index = add_fork(model, fork, errors);
                                model.forks[index].join = Some(edge(model, join, errors));
                                fork_edge(model, index, arm.route.arg)
                            }
                            None => edge(model, arm.route, errors),
                        };
                        Arm {
                            pat: arm.pat,
                            guard: arm.guard,
                            end,
                            edge,
                        }
                    })
                    .collect();
                if let Some(from) = source {
                    push_outgoing(model, from, Outgoing::Match { token, arms });
                }
            }
            Target::Fork(fork) => {
                let span = fork.span;
                let index = add_fork(model, fork, errors);
                let edge = fork_edge(model, index, None);
                match source {
                    None => model.start.push(Start {
                        token: source_span,
                        edge,
                    }),
                    Some(from) => push_outgoing(
                        model,
                        from,
                        Outgoing::Sequence {
                            source: source_span,
                            edge,
                        },
                    ),
                }
                source = Some(Node::Fork(index));
                source_span = span;
            }
        }
    }
}

/// Adds `fork` to the model, its branches resolved; returns its index. Its join is set by the
/// edge that follows it.
fn add_fork(model: &mut Model, fork: parse::Fork, errors: &mut Errors) -> usize {
    let index = model.forks.len();
    let branches = fork
        .branches
        .into_iter()
        .map(|name| {
            let to = resolve(model, &name, errors);
            if let Node::Step(step) = to {
                let mention = model.steps[step].mentions.len() - 1;
                model.steps[step].branch_of.push((index, mention));
            }
            Edge {
                to,
                last: name.span(),
                name,
                arg: None,
                bound: None,
            }
        })
        .collect();
    model.forks.push(Fork {
        span: fork.span,
        map: fork.map,
        branches,
        concurrency: fork.concurrency,
        collect: fork.collect,
        join: None,
        last: fork.last,
    });
    index
}

/// The edge into fork `index`, passing it `arg` if given (a `match` arm's).
fn fork_edge(model: &Model, index: usize, arg: Option<syn::Expr>) -> Edge {
    let fork = &model.forks[index];
    let last = arg
        .as_ref()
        .and_then(|arg| arg.to_token_stream().into_iter().last())
        .map_or(fork.last, |token| token.span());
    Edge {
        to: Node::Fork(index),
        name: syn::Ident::new("fork", fork.span),
        arg,
        last,
        bound: None,
    }
}

fn push_outgoing(model: &mut Model, from: Node, outgoing: Outgoing) {
    match (from, outgoing) {
        (Node::Step(index), outgoing) => model.steps[index].outgoing.push(outgoing),
        // The parser allows only a plain edge after a fork: its join.
        (Node::Fork(index), Outgoing::Sequence { edge, .. }) => {
            model.forks[index].join = Some(edge);
        }
        _ => {}
    }
}

fn edge(model: &mut Model, route: parse::Route, errors: &mut Errors) -> Edge {
    let to = resolve(model, &route.name, errors);
    if let Some(pause) = route.pause {
        match to {
            Node::Step(index) => {
                model.steps[index].pause.get_or_insert(pause);
            }
            Node::End => errors.push(pause, diag::PAUSE_END),
            Node::Fork(_) | Node::Unknown => {}
        }
    }
    if let Some(receive) = route.receive {
        match to {
            Node::Step(index) => {
                model.steps[index].receive.get_or_insert(receive);
            }
            Node::End => errors.push(receive, diag::RECEIVE_END),
            Node::Fork(_) | Node::Unknown => {}
        }
    }
    if let Some(sleep) = route.sleep {
        match to {
            Node::Step(index) => mark_sleep(model, index, *sleep, errors),
            Node::End => errors.push(sleep.span, diag::SLEEP_END),
            Node::Fork(_) | Node::Unknown => {}
        }
    }
    let last = route
        .arg
        .as_ref()
        .and_then(|arg| arg.to_token_stream().into_iter().last())
        .map_or_else(|| route.name.span(), |token| token.span());
    let bound = route.bound.map(|bound| {
        let index = model.bounds;
        model.bounds += 1;
        Bound {
            index,
            max: bound.max,
            span: bound.span,
            fallback: bound
                .fallback
                .map(|fallback| Box::new(edge(model, *fallback, errors))),
        }
    });
    Edge {
        to,
        name: route.name,
        arg: route.arg,
        last,
        bound,
    }
}

/// Marks step `index` as sleeping `sleep` before it runs; a different duration on another
/// edge into it is reported at both.
fn mark_sleep(model: &mut Model, index: usize, sleep: parse::Sleep, errors: &mut Errors) {
    let name = model.step_name(index);
    match &model.steps[index].sleep {
        None => model.steps[index].sleep = Some(sleep),
        Some(first) if first.millis == sleep.millis => {}
        Some(first) => {
            let message = diag::sleep_conflict(&name, &first.text, &sleep.text);
            errors.push(first.span, &message);
            errors.push(sleep.span, message);
        }
    }
}

/// Resolves a step name, reporting unknown ones; a close match stands in for a typo.
fn resolve(model: &mut Model, name: &syn::Ident, errors: &mut Errors) -> Node {
    if name == "end" {
        return Node::End;
    }
    // `r#a` and `a` are the same name.
    let written = unraw(name);
    let position = model
        .steps
        .iter()
        .position(|step| unraw(&step.sig.ident) == written);
    let position = position.or_else(|| {
        let names: Vec<String> = model.steps.iter().map(|s| unraw(&s.sig.ident)).collect();
        let close = diag::did_you_mean(&written, names.iter().map(String::as_str))?;
        errors.push(name.span(), diag::unknown_step(&written, Some(close), &[]));
        names.iter().position(|name| name == close)
    });
    match position {
        Some(index) => {
            model.steps[index].mentions.push(name.span());
            Node::Step(index)
        }
        None => {
            model.unresolved.push(name.clone());
            Node::Unknown
        }
    }
}

/// Reports the names that matched no step, once the whole graph is read, listing the steps
/// that it does not name: one of them is likely what was meant.
fn report_unresolved(model: &Model, errors: &mut Errors) {
    let unused: Vec<String> = model
        .steps
        .iter()
        .filter(|step| step.mentions.is_empty())
        .map(|step| step.sig.ident.to_string())
        .collect();
    for name in &model.unresolved {
        errors.push(
            name.span(),
            diag::unknown_step(&name.to_string(), None, &unused),
        );
    }
}

/// The output type, inferred from a step whose output goes straight to `end`: a bare `end`
/// passes the step's output (in a `match` arm, the matched value, which is the same), and so
/// does `x => end(x)`.
fn inferred_output(model: &Model) -> Option<syn::Type> {
    let from_step = model.steps.iter().enumerate().find_map(|(index, step)| {
        let mut straight = model
            .own_successors(index)
            .into_iter()
            .any(|edge| edge.to == Node::End && edge.arg.is_none());
        for outgoing in &step.outgoing {
            if let Outgoing::Match { arms, .. } = outgoing {
                straight |= arms.iter().any(passes_binding_to_end);
            }
        }
        straight.then(|| step.sig.output.clone())
    });
    from_step.or_else(|| {
        (0..model.forks.len()).find_map(|index| {
            let join = model.forks[index].join.as_ref()?;
            (join.to == Node::End && join.arg.is_none())
                .then(|| model.joined_type(index))
                .flatten()
        })
    })
}

/// `x => end(x)` or `x if … => end(x)`: the arm binds the whole value and ends with it.
fn passes_binding_to_end(arm: &Arm) -> bool {
    let (syn::Pat::Ident(binding), Some(syn::Expr::Path(arg))) = (&arm.pat, &arm.edge.arg) else {
        return false;
    };
    arm.edge.to == Node::End
        && binding.subpat.is_none()
        && binding.by_ref.is_none()
        && arg.path.is_ident(&binding.ident)
}

fn first_end(model: &Model) -> Option<Span> {
    (0..model.steps.len())
        .flat_map(|index| model.successors(index))
        .chain(model.forks.iter().filter_map(|fork| fork.join.as_ref()))
        .chain(model.start.iter().map(|start| &start.edge))
        .find(|edge| edge.to == Node::End)
        .map(|edge| edge.name.span())
}
