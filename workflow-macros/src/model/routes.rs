//! The graph as route coverage sees it: its edges between nodes (`start`, the steps that are
//! not branches, the forks, `end`), and its routes from `start` to `end`.
//!
//! Edges between the same two nodes are one: the events of a run do not tell two arms that
//! lead to the same place apart. A route goes through no node twice: loops are summarised, a
//! run that goes round one follows the route of its path with the loop cut out.

use super::{Arm, Edge, Model, Node, Outgoing};

/// The most routes listed, as `workflow::coverage::Graph::MAX_ROUTES`.
const MAX_ROUTES: usize = 256;
/// The most edges the search for routes follows before it gives up on listing them all.
const BUDGET: usize = 100_000;

pub(crate) struct Graph<'a> {
    pub(crate) edges: Vec<GraphEdge<'a>>,
    /// Each route as the indices of its edges.
    pub(crate) routes: Vec<Vec<usize>>,
    /// Whether `routes` lists every route.
    pub(crate) complete: bool,
    /// Each step that is a branch of a fork, with the fork's name.
    pub(crate) branches: Vec<(String, String)>,
}

pub(crate) struct GraphEdge<'a> {
    pub(crate) from: String,
    pub(crate) to: String,
    /// The ways the edge is declared, in order.
    pub(crate) via: Vec<Via<'a>>,
}

#[derive(Clone, Copy)]
pub(crate) enum Via<'a> {
    /// An edge that is not an arm: `a -> b`, `start -> a`, a fork's join.
    Plain,
    Arm(&'a Arm),
    /// The route a bound takes once reached.
    Else,
    /// An error route: `a? -> handler`.
    Error,
}

impl Model {
    /// The graph's edges and routes.
    pub(crate) fn graph(&self) -> Graph<'_> {
        let mut edges: Vec<GraphEdge<'_>> = Vec::new();
        for start in &self.start {
            self.add(&mut edges, "start", &start.edge, Via::Plain);
        }
        for (index, step) in self.steps.iter().enumerate() {
            let from = self.step_name(index);
            for route in &step.error_routes {
                self.add(&mut edges, &from, &route.edge, Via::Error);
            }
            for outgoing in &step.outgoing {
                match outgoing {
                    Outgoing::Sequence { edge, .. } => {
                        self.add(&mut edges, &from, edge, Via::Plain);
                    }
                    Outgoing::Match { arms, .. } => {
                        for arm in arms {
                            self.add(&mut edges, &from, &arm.edge, Via::Arm(arm));
                        }
                    }
                }
            }
        }
        let mut branches = Vec::new();
        for (index, fork) in self.forks.iter().enumerate() {
            let label = self.fork_label(index);
            if let Some(join) = &fork.join {
                self.add(&mut edges, &label, join, Via::Plain);
            }
            for branch in &fork.branches {
                branches.push((branch.name.to_string(), label.clone()));
            }
        }
        let (routes, complete) = routes(&edges);
        Graph {
            edges,
            routes,
            complete,
            branches,
        }
    }

    /// Adds `edge` from `from`, and its `else` route if it has one.
    fn add<'a>(&self, edges: &mut Vec<GraphEdge<'a>>, from: &str, edge: &'a Edge, via: Via<'a>) {
        let Some(to) = self.node_name(edge.to) else {
            return;
        };
        match edges.iter_mut().find(|e| e.from == from && e.to == to) {
            Some(found) => found.via.push(via),
            None => edges.push(GraphEdge {
                from: from.to_owned(),
                to,
                via: vec![via],
            }),
        }
        if let Some(fallback) = edge.bound.as_ref().and_then(|b| b.fallback.as_deref()) {
            self.add(edges, from, fallback, Via::Else);
        }
    }

    /// A node's name as events give it; `None` for a name that matched nothing.
    fn node_name(&self, node: Node) -> Option<String> {
        match node {
            Node::Step(index) => Some(self.step_name(index)),
            Node::Fork(index) => Some(self.fork_label(index)),
            Node::End => Some("end".to_owned()),
            Node::Unknown => None,
        }
    }
}

/// The ways from `start` to `end` through no node twice, in the order of the edges; at most
/// [`MAX_ROUTES`], and whether that is all of them.
fn routes(edges: &[GraphEdge<'_>]) -> (Vec<Vec<usize>>, bool) {
    let mut search = Search {
        edges,
        path: Vec::new(),
        nodes: vec!["start"],
        found: Vec::new(),
        budget: BUDGET,
        complete: true,
    };
    search.from("start");
    (search.found, search.complete)
}

struct Search<'a, 'e> {
    edges: &'a [GraphEdge<'e>],
    /// The edges taken so far.
    path: Vec<usize>,
    /// The nodes gone through so far.
    nodes: Vec<&'a str>,
    found: Vec<Vec<usize>>,
    budget: usize,
    complete: bool,
}

impl<'a> Search<'a, '_> {
    fn from(&mut self, node: &str) {
        for (index, edge) in self.edges.iter().enumerate() {
            if edge.from != node || self.nodes.contains(&edge.to.as_str()) {
                continue;
            }
            if self.found.len() >= MAX_ROUTES || self.budget == 0 {
                self.complete = false;
                return;
            }
            self.budget -= 1;
            self.path.push(index);
            if edge.to == "end" {
                self.found.push(self.path.clone());
            } else {
                self.nodes.push(&edge.to);
                self.from(&edge.to);
                self.nodes.pop();
            }
            self.path.pop();
        }
    }
}

#[cfg(test)]
mod tests;
