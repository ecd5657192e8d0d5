//! The workflow as the rest of the macro sees it: steps by index, each with its outgoing edges,
//! names resolved, spans kept for errors. Built from the parsed input; unknown names are
//! reported here, and a close match stands in for a typo so that it does not cascade.

mod build;
mod envelope;
mod names;
mod routes;

pub(crate) use routes::Via;

pub(crate) use crate::parse::unraw;
pub(crate) use build::build;
pub(crate) use names::{camel, END};

use proc_macro2::Span;
use syn::{Expr, Generics, Ident, Pat, Type};

use crate::parse::StepFn;

pub(crate) struct Model {
    /// The path to the facade crate (`::workflow` unless `#[workflow(crate = …)]`).
    pub(crate) krate: syn::Path,
    pub(crate) self_ty: Type,
    pub(crate) generics: Generics,
    /// The workflow's name: the last segment of the self type, without `r#`.
    pub(crate) name: Ident,
    /// The name of the state enum, as the user's module sees it: a type alias of this
    /// visibility (private unless `#[workflow(state = pub Name)]`).
    pub(crate) state: Ident,
    pub(crate) state_vis: syn::Visibility,
    /// `#[workflow(version = N)]`, 0 if not given: part of the definition fingerprint.
    pub(crate) version: u32,
    pub(crate) steps: Vec<Step>,
    /// Fan-outs and maps, in the order they are written.
    pub(crate) forks: Vec<Fork>,
    pub(crate) start: Vec<Start>,
    pub(crate) output: Option<Type>,
    pub(crate) flow_span: Span,
    /// How many bounded edges the graph has.
    pub(crate) bounds: usize,
    /// `flow!` had statements that could not be read.
    pub(crate) incomplete: bool,
    /// Names in `flow!` that matched no step, not even closely.
    pub(crate) unresolved: Vec<syn::Ident>,
    /// The generated items' names the impl block defines itself, already reported: the
    /// fallback leaves them out.
    pub(crate) taken: Vec<String>,
}

pub(crate) struct Step {
    pub(crate) sig: StepFn,
    /// Where the step is named in `flow!`, in order.
    pub(crate) mentions: Vec<Span>,
    /// Outgoing edge declarations; more than one is an error.
    pub(crate) outgoing: Vec<Outgoing>,
    /// The forks this step is a branch of, with the index in `mentions` of where it is named
    /// there; more than one, or a branch that is also named elsewhere, is an error.
    pub(crate) branch_of: Vec<(usize, usize)>,
    /// Where `flow!` first marks the step `pause`: the run waits for a value before it.
    pub(crate) pause: Option<Span>,
    /// Where `flow!` first marks the step `receive`: the run waits for a message of the
    /// signal its second parameter's type names.
    pub(crate) receive: Option<Span>,
    /// Where `flow!` first writes `sleep "…" ->` before the step: the run sleeps before it.
    pub(crate) sleep: Option<crate::parse::Sleep>,
    /// `step? -> handler`: where the step's error goes once its retries are spent; more than
    /// one is an error.
    pub(crate) error_routes: Vec<ErrorRoute>,
}

/// `step? -> handler`: the step's error, after its retries, is the handler's input.
pub(crate) struct ErrorRoute {
    /// The `?`.
    pub(crate) mark: Span,
    /// The step's name as written before the `?`.
    pub(crate) source: Span,
    pub(crate) edge: Edge,
}

/// `(b, c, d) -> join` or `each b -> join`: steps run concurrently, their outputs joined.
pub(crate) struct Fork {
    /// The parentheses, or `each`.
    pub(crate) span: Span,
    /// `each b`: one step, run once per element of a collection.
    pub(crate) map: bool,
    /// One edge per branch, to its step.
    pub(crate) branches: Vec<Edge>,
    /// `[concurrency N]`: at most N elements of a map in flight.
    pub(crate) concurrency: Option<u32>,
    /// `[collect]`: the join gets each branch's `Result` instead of failing at the first error.
    pub(crate) collect: bool,
    /// Where the joined outputs go; the parser ensures every fork has one.
    pub(crate) join: Option<Edge>,
    /// The last token of the fork as written, its options included.
    pub(crate) last: Span,
}

pub(crate) struct Start {
    pub(crate) token: Span,
    pub(crate) edge: Edge,
}

/// Where an edge leads.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Node {
    Step(usize),
    /// A fan-out or a map, by index in `Model::forks`.
    Fork(usize),
    End,
    /// A name that matched nothing; already reported.
    Unknown,
}

#[allow(clippy::large_enum_variant)] // one per step, built once
pub(crate) enum Outgoing {
    /// `a -> b`: the output of `a` is the input of `b`.
    Sequence { source: Span, edge: Edge },
    /// `a -> match { … }`
    Match {
        token: syn::token::Match,
        arms: Vec<Arm>,
    },
}

pub(crate) struct Arm {
    pub(crate) pat: Pat,
    pub(crate) guard: Option<Expr>,
    pub(crate) edge: Edge,
    /// The last token of the arm as written.
    pub(crate) end: Span,
}

pub(crate) struct Edge {
    pub(crate) to: Node,
    /// The target as written.
    pub(crate) name: Ident,
    /// `b(expr)`: the value passed on; without it the matched or previous output is passed.
    pub(crate) arg: Option<Expr>,
    /// The last token of the route as written.
    pub(crate) last: Span,
    pub(crate) bound: Option<Bound>,
}

pub(crate) struct Bound {
    /// Bounded edges are numbered in the order they are written.
    pub(crate) index: usize,
    pub(crate) max: u32,
    pub(crate) span: Span,
    pub(crate) fallback: Option<Box<Edge>>,
}

impl Model {
    /// Whether step `index` is a pause step: marked in `flow!` and taking a value.
    pub(crate) fn is_pause(&self, index: usize) -> bool {
        let step = &self.steps[index];
        step.pause.is_some() && step.receive.is_none() && step.sig.resume.is_some()
    }

    /// Whether step `index` receives a signal: marked `receive` in `flow!` (and not `pause`),
    /// taking the message.
    pub(crate) fn is_receive(&self, index: usize) -> bool {
        let step = &self.steps[index];
        step.receive.is_some() && step.pause.is_none() && step.sig.resume.is_some()
    }

    /// Whether step `index` waits for a value from outside, given to it as its second
    /// parameter: a pause step, or one that receives a signal.
    pub(crate) fn waits(&self, index: usize) -> bool {
        self.is_pause(index) || self.is_receive(index)
    }

    /// How long the run sleeps before step `index`, in milliseconds, if it does: marked in
    /// `flow!`, and neither a pause step nor a step that runs another workflow.
    pub(crate) fn sleep_millis(&self, index: usize) -> Option<u64> {
        let step = &self.steps[index];
        let plain = step.pause.is_none() && step.receive.is_none() && step.sig.child.is_none();
        step.sleep
            .as_ref()
            .filter(|_| plain)
            .map(|sleep| sleep.millis)
    }

    /// The workflow step `index` runs, if it is a step that runs another workflow.
    pub(crate) fn child(&self, index: usize) -> Option<&Type> {
        self.steps[index].sig.child.as_ref()
    }

    /// The steps that run another workflow, with the workflow's type, in declaration order.
    pub(crate) fn children(&self) -> Vec<(usize, &Type)> {
        (0..self.steps.len())
            .filter_map(|index| Some((index, self.child(index)?)))
            .collect()
    }

    /// The steps that run another workflow and are not branches of a fork: those whose
    /// state holds the child's, whose pauses and sleeps are this workflow's.
    pub(crate) fn inline_children(&self) -> Vec<(usize, &Type)> {
        let mut children = self.children();
        children.retain(|(index, _)| self.steps[*index].branch_of.is_empty());
        children
    }

    pub(crate) fn step_name(&self, index: usize) -> String {
        self.steps[index].sig.ident.to_string()
    }

    /// How a fork reads in messages, state tags and the diagram: `(b, c)` or `each b`.
    pub(crate) fn fork_label(&self, index: usize) -> String {
        let fork = &self.forks[index];
        let names: Vec<String> = fork.branches.iter().map(|b| b.name.to_string()).collect();
        if fork.map {
            format!("each {}", names.join(", "))
        } else {
            format!("({})", names.join(", "))
        }
    }

    /// The name of where `node` leads, for messages: a step, a fork or `end`.
    pub(crate) fn node_label(&self, edge: &Edge) -> String {
        match edge.to {
            Node::Fork(fork) => self.fork_label(fork),
            Node::End => "end".to_owned(),
            Node::Step(_) | Node::Unknown => edge.name.to_string(),
        }
    }

    /// Every edge leaving step `index`, fallbacks included, with forks seen through: a step
    /// that leads to a fork leads to its branches, and a branch leads to the fork's join.
    pub(crate) fn successors(&self, index: usize) -> Vec<&Edge> {
        let mut edges = self.own_successors(index);
        for (fork, _) in &self.steps[index].branch_of {
            edges.extend(&self.forks[*fork].join);
        }
        edges
    }

    /// What a branch of fork `index` gives the join: the step's output, or with `[collect]`
    /// its `Result`. `None` if the branch names no step.
    pub(crate) fn branch_output(&self, fork: usize, branch: usize) -> Option<syn::Type> {
        let Node::Step(step) = self.forks[fork].branches[branch].to else {
            return None;
        };
        let output = &self.steps[step].sig.output;
        let krate = &self.krate;
        Some(if self.forks[fork].collect {
            syn::parse_quote!(::core::result::Result<#output, #krate::__private::BranchError>)
        } else {
            output.clone()
        })
    }

    /// What fork `index` gives its join: a tuple with one element per branch, or a `Vec` for
    /// a map.
    pub(crate) fn joined_type(&self, fork: usize) -> Option<syn::Type> {
        let outputs = (0..self.forks[fork].branches.len())
            .map(|branch| self.branch_output(fork, branch))
            .collect::<Option<Vec<_>>>()?;
        Some(if self.forks[fork].map {
            let output = &outputs[0];
            syn::parse_quote!(::std::vec::Vec<#output>)
        } else {
            syn::parse_quote!((#(#outputs,)*))
        })
    }

    /// The error route of step `index`, if it has one (the first, if it has several).
    pub(crate) fn error_route(&self, index: usize) -> Option<&ErrorRoute> {
        self.steps[index].error_routes.first()
    }

    /// [`Model::successors`] without the joins of the forks the step is a branch of.
    pub(crate) fn own_successors(&self, index: usize) -> Vec<&Edge> {
        let mut edges: Vec<&Edge> = self.steps[index]
            .error_routes
            .iter()
            .map(|route| &route.edge)
            .collect();
        for outgoing in &self.steps[index].outgoing {
            match outgoing {
                Outgoing::Sequence { edge, .. } => match edge.to {
                    Node::Fork(fork) => edges.extend(&self.forks[fork].branches),
                    _ => edges.push(edge),
                },
                Outgoing::Match { arms, .. } => {
                    for arm in arms {
                        match arm.edge.to {
                            Node::Fork(fork) => edges.extend(&self.forks[fork].branches),
                            _ => edges.push(&arm.edge),
                        }
                    }
                }
            }
        }
        let fallbacks: Vec<&Edge> = edges
            .iter()
            .filter_map(|edge| edge.bound.as_ref()?.fallback.as_deref())
            .collect();
        edges.extend(fallbacks);
        edges
    }
}
