//! The workflow as the rest of the macro sees it: steps by index, each with its outgoing edges,
//! names resolved, spans kept for errors. Built from the parsed input; unknown names are
//! reported here, and a close match stands in for a typo so that it does not cascade.

mod build;

pub(crate) use build::build;

use proc_macro2::Span;
use syn::{Expr, Generics, Ident, Pat, Type};

use crate::parse::StepFn;

pub(crate) struct Model {
    /// The path to the facade crate (`::workflow` unless `#[workflow(crate = …)]`).
    pub(crate) krate: syn::Path,
    pub(crate) self_ty: Type,
    pub(crate) generics: Generics,
    /// The workflow's name: the last segment of the self type.
    pub(crate) name: Ident,
    pub(crate) state: Ident,
    pub(crate) steps: Vec<Step>,
    pub(crate) start: Vec<Start>,
    pub(crate) output: Option<Type>,
    pub(crate) flow_span: Span,
    /// How many bounded edges the graph has.
    pub(crate) bounds: usize,
    /// `flow!` had statements that could not be read.
    pub(crate) incomplete: bool,
    /// Names in `flow!` that matched no step, not even closely.
    pub(crate) unresolved: Vec<syn::Ident>,
}

pub(crate) struct Step {
    pub(crate) sig: StepFn,
    /// Where the step is named in `flow!`, in order.
    pub(crate) mentions: Vec<Span>,
    /// Outgoing edge declarations; more than one is an error.
    pub(crate) outgoing: Vec<Outgoing>,
}

pub(crate) struct Start {
    pub(crate) token: Span,
    pub(crate) edge: Edge,
}

/// Where an edge leads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Node {
    Step(usize),
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
    pub(crate) fn step_name(&self, index: usize) -> String {
        self.steps[index].sig.ident.to_string()
    }

    /// Every edge leaving `node`'s declarations, fallbacks included.
    pub(crate) fn successors(&self, index: usize) -> Vec<&Edge> {
        let mut edges = Vec::new();
        for outgoing in &self.steps[index].outgoing {
            match outgoing {
                Outgoing::Sequence { edge, .. } => edges.push(edge),
                Outgoing::Match { arms, .. } => edges.extend(arms.iter().map(|arm| &arm.edge)),
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
