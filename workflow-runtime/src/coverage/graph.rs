//! [`Graph`] and [`Edge`]: a workflow's graph as route coverage sees it.

use std::fmt;

/// The node every run starts from.
pub(super) const START: &str = "start";
/// The node every finished run ends at.
pub(super) const END: &str = "end";

/// A workflow's graph: its edges, and its routes from `start` to `end`. `#[workflow]`
/// generates it as the inherent constant `GRAPH`; see the [module docs](super) for what an
/// edge and a route are.
///
/// Written by hand, for a workflow `Shout` of two steps in a row:
///
/// ```
/// use workflow_runtime::coverage::{Edge, Graph};
///
/// const SHOUT: Graph = Graph::new(
///     "Shout",
///     &[
///         Edge::new("start", "upper", ""),
///         Edge::new("upper", "exclaim", ""),
///         Edge::new("exclaim", "end", ""),
///     ],
///     &[&[0, 1, 2]],
///     &[],
///     true,
/// );
/// assert_eq!(SHOUT.routes().len(), 1);
/// assert_eq!(SHOUT.edges()[1].to_string(), "upper -> exclaim");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Graph {
    workflow: &'static str,
    edges: &'static [Edge],
    routes: &'static [&'static [usize]],
    branches: &'static [(&'static str, &'static str)],
    complete: bool,
}

impl Graph {
    /// The most routes `#[workflow]` lists for a graph.
    pub const MAX_ROUTES: usize = 256;

    /// The graph of the workflow named `workflow` (its [`Workflow::NAME`](crate::Workflow::NAME)):
    /// its `edges`; its `routes`, each the indices in `edges` of the edges it takes from `start`
    /// to `end`; for each step that is a branch of a fan-out or a map, the step and the node's
    /// name (`("b", "(b, c)")`); and whether `routes` lists every route.
    pub const fn new(
        workflow: &'static str,
        edges: &'static [Edge],
        routes: &'static [&'static [usize]],
        branches: &'static [(&'static str, &'static str)],
        complete: bool,
    ) -> Self {
        Graph {
            workflow,
            edges,
            routes,
            branches,
            complete,
        }
    }

    /// The workflow's name.
    pub const fn workflow(&self) -> &'static str {
        self.workflow
    }

    /// The edges, in the order `flow!` declares them.
    pub const fn edges(&self) -> &'static [Edge] {
        self.edges
    }

    /// The routes from `start` to `end`, each as the indices of its edges in
    /// [`edges`](Self::edges).
    pub const fn routes(&self) -> &'static [&'static [usize]] {
        self.routes
    }

    /// Whether [`routes`](Self::routes) lists every route: false for a graph with more than
    /// [`MAX_ROUTES`](Self::MAX_ROUTES).
    pub const fn routes_complete(&self) -> bool {
        self.complete
    }

    /// The index of the edge from `from` to `to`, if the graph has one.
    pub(super) fn edge(&self, from: &str, to: &str) -> Option<usize> {
        self.edges
            .iter()
            .position(|edge| edge.from == from && edge.to == to)
    }

    /// The fan-out or map step `step` is a branch of, if any.
    pub(super) fn fork_of(&self, step: &str) -> Option<&'static str> {
        let found = self.branches.iter().find(|(branch, _)| *branch == step);
        found.map(|(_, fork)| *fork)
    }

    /// The edges of `route`; indices out of range are left out.
    pub(super) fn route(&self, route: &[usize]) -> Vec<&'static Edge> {
        route
            .iter()
            .filter_map(|index| self.edges.get(*index))
            .collect()
    }
}

/// One edge of a [`Graph`]: it prints as `from -> to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edge {
    from: &'static str,
    to: &'static str,
    label: &'static str,
}

impl Edge {
    /// The edge from `from` to `to` (`start`, a step, a fan-out or map as `(b, c)` or
    /// `each b`, or `end`), with the arms of the routing `match` it stands for (`label`,
    /// empty for an edge that is not an arm).
    pub const fn new(from: &'static str, to: &'static str, label: &'static str) -> Self {
        Edge { from, to, label }
    }

    /// Where the edge starts.
    pub const fn from(&self) -> &'static str {
        self.from
    }

    /// Where the edge leads.
    pub const fn to(&self) -> &'static str {
        self.to
    }

    /// The arms it stands for, `|`-separated, with `else` for the route a bound takes once
    /// reached: `Verdict::Approved(text) | else`. Empty for an edge that is not an arm.
    pub const fn label(&self) -> &'static str {
        self.label
    }
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.from, self.to)
    }
}

/// A route as its edges, printed `start -> a -> end`.
pub(super) struct Route<'a>(pub(super) &'a [&'static Edge]);

impl fmt::Display for Route<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(first) = self.0.first() else {
            return Ok(());
        };
        write!(f, "{}", first.from)?;
        for edge in self.0 {
            write!(f, " -> {}", edge.to)?;
        }
        Ok(())
    }
}
