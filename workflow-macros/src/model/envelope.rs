//! The static envelope of a workflow: the most steps any run can take.
//!
//! A step here is one step of the runtime's driver, what `Executor::max_steps` counts: a
//! step that is not a branch, or a whole fan-out or map (however many branches or elements
//! it runs). A pause takes no step; the step after it takes one, as any other. `end` takes
//! none.

use std::collections::HashMap;

use super::{Edge, Model, Node, Outgoing};

/// Beyond this many (node, loop counters) states, or this many steps deep, the search stops
/// and the looser bound is used: a graph with several loops, or with large bounds.
const STATES: usize = 50_000;
const DEPTH: usize = 2_000;

impl Model {
    /// The most steps a run can take: the longest walk from `start` in which each bounded edge
    /// is taken at most its bound (its `else` route only once the bound is reached), every
    /// routing arm counted as possible. Exact for graphs whose loop counters have at most
    /// [`STATES`] combinations and runs of at most [`DEPTH`] steps; for others, an upper bound. `None` only if it does not
    /// fit in a `u64`.
    pub(crate) fn max_steps(&self) -> Option<u64> {
        let start = &self.start.first()?.edge;
        self.longest(start, None)
    }

    /// The most times a run can enter step `step` (one that runs another workflow): the
    /// longest walk as in [`Model::max_steps`], counting only that step, or for a branch the
    /// forks it is a branch of; an upper bound where `max_steps` is one. `None` if it does
    /// not fit in a `u64`.
    pub(crate) fn max_visits(&self, step: usize) -> Option<u64> {
        let start = &self.start.first()?.edge;
        let forks = &self.steps[step].branch_of;
        if forks.is_empty() {
            return self.longest(start, Some(Node::Step(step)));
        }
        forks.iter().try_fold(0u64, |visits, (fork, _)| {
            visits.checked_add(self.longest(start, Some(Node::Fork(*fork)))?)
        })
    }

    /// The longest walk from `start`, counting every node, or only node `only`.
    fn longest(&self, start: &Edge, only: Option<Node>) -> Option<u64> {
        let mut search = Search {
            model: self,
            memo: HashMap::new(),
            depth: 0,
            overflow: false,
            only,
        };
        let counters = vec![0u32; self.bounds];
        match search.edge(start, &counters) {
            Some(steps) if !search.overflow => Some(steps),
            _ => self.loose_max_steps(),
        }
    }

    /// A bound on [`Model::max_steps`] that needs no search: each of the `B + 1` stretches
    /// between two bounded edges taken is a path without bounded edges, so at most as long as
    /// the longest of them, `L`: `(B + 1) * L`.
    fn loose_max_steps(&self) -> Option<u64> {
        let nodes = self.nodes();
        // The graph without its bounded edges has no cycle (checked), so `L` is at most the
        // number of nodes.
        let longest = nodes.len() as u64;
        let taken: u64 = self
            .edges_everywhere()
            .filter_map(|edge| edge.bound.as_ref())
            .map(|bound| u64::from(bound.max))
            .sum();
        taken.checked_add(1)?.checked_mul(longest)
    }

    /// The nodes of the driver: the steps that are not branches, and the forks.
    fn nodes(&self) -> Vec<Node> {
        let steps = (0..self.steps.len())
            .filter(|index| self.steps[*index].branch_of.is_empty())
            .map(Node::Step);
        steps.chain((0..self.forks.len()).map(Node::Fork)).collect()
    }

    /// Every edge of the graph, fallbacks not included.
    fn edges_everywhere(&self) -> impl Iterator<Item = &Edge> {
        let steps = (0..self.steps.len()).flat_map(|index| self.exits(Node::Step(index)));
        let forks = self.forks.iter().flat_map(|fork| &fork.join);
        steps.chain(forks)
    }

    /// The edges the driver may take after `node`, forks not seen through, fallbacks not
    /// included.
    fn exits(&self, node: Node) -> Vec<&Edge> {
        match node {
            Node::Step(index) => {
                let routes = self.steps[index].error_routes.iter();
                let mut edges: Vec<&Edge> = routes.map(|route| &route.edge).collect();
                for outgoing in &self.steps[index].outgoing {
                    match outgoing {
                        Outgoing::Sequence { edge, .. } => edges.push(edge),
                        Outgoing::Match { arms, .. } => {
                            edges.extend(arms.iter().map(|arm| &arm.edge));
                        }
                    }
                }
                edges
            }
            Node::Fork(index) => self.forks[index].join.iter().collect(),
            Node::End | Node::Unknown => Vec::new(),
        }
    }
}

struct Search<'a> {
    model: &'a Model,
    /// The most steps from a node with given loop counters.
    memo: HashMap<(Node, Vec<u32>), u64>,
    /// How many nodes deep the search is.
    depth: usize,
    overflow: bool,
    /// Count only this node, not every node.
    only: Option<Node>,
}

impl Search<'_> {
    /// The most steps after going along `edge` with loop counters `counters`; `None` if the
    /// edge cannot be taken (its bound is reached and it has no `else`).
    fn edge(&mut self, edge: &Edge, counters: &[u32]) -> Option<u64> {
        let Some(bound) = &edge.bound else {
            return Some(self.node(edge.to, counters));
        };
        match counters.get(bound.index) {
            Some(count) if *count < bound.max => {
                let mut next = counters.to_vec();
                next[bound.index] += 1;
                Some(self.node(edge.to, &next))
            }
            // A bound the model does not number cannot occur; take it as reached.
            _ => {
                let fallback = bound.fallback.as_deref()?;
                self.edge(fallback, counters)
            }
        }
    }

    /// The most steps from `node` on, `node` included.
    fn node(&mut self, node: Node, counters: &[u32]) -> u64 {
        if matches!(node, Node::End | Node::Unknown) || self.overflow {
            return 0;
        }
        let key = (node, counters.to_vec());
        if let Some(steps) = self.memo.get(&key) {
            return *steps;
        }
        if self.memo.len() >= STATES || self.depth >= DEPTH {
            self.overflow = true;
            return 0;
        }
        self.depth += 1;
        let mut most = 0;
        for edge in self.model.exits(node) {
            if let Some(steps) = self.edge(edge, counters) {
                most = most.max(steps);
            }
        }
        self.depth -= 1;
        let counted = self.only.is_none_or(|only| node == only);
        let steps = most.saturating_add(u64::from(counted));
        self.memo.insert(key, steps);
        steps
    }
}

#[cfg(test)]
mod tests;
