//! Route coverage: which edges and routes of a workflow's graph the runs of a test suite took,
//! and which they never did.
//!
//! `#[workflow]` generates each workflow's [`Graph`] as the inherent constant `GRAPH`: its
//! edges, and its routes from `start` to `end`. A [`Coverage`] reads the [`Event`]s of runs and
//! tells which edges and routes no run took, so a test suite can fail when it misses a branch:
//!
//! ```
//! # use workflow_macros::workflow;
//! use workflow_runtime::coverage::Coverage;
//! use workflow_runtime::{Executor, Result};
//!
//! struct Triage;
//!
//! // With the `workflow` facade, `#[workflow]` alone.
//! #[workflow(crate = workflow_runtime)]
//! impl Triage {
//!     async fn classify(&self, text: String) -> Result<bool> {
//!         Ok(text.contains('!'))
//!     }
//!     async fn escalate(&self, text: String) -> Result<String> {
//!         Ok(format!("urgent: {text}"))
//!     }
//!     flow! {
//!         type Output = String;
//!         start -> classify;
//!         classify -> match {
//!             true => escalate(String::from("ticket")),
//!             false => end(String::from("filed")),
//!         };
//!         escalate -> end;
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<()> {
//! let executor = Executor::new();
//! let mut events = executor.subscribe();
//! executor.start(&Triage, "a question".to_string()).await?;
//!
//! let mut coverage = Coverage::new(&Triage::GRAPH);
//! coverage.read(&mut events);
//! // The run went `start -> classify -> end`; it never escalated.
//! let missed: Vec<String> = coverage.missed_edges().iter().map(|e| e.to_string()).collect();
//! assert_eq!(missed, ["classify -> escalate", "escalate -> end"]);
//! assert_eq!(coverage.missed_routes().len(), 1);
//!
//! executor.start(&Triage, "help!".to_string()).await?;
//! coverage.read(&mut events);
//! assert!(coverage.is_complete(), "{coverage}");
//! # Ok(()) }
//! ```
//!
//! # Edges and routes
//!
//! An edge goes from a node of the graph to another: `start`, a step, a fan-out or a map (named
//! as in events, `(b, c)` or `each b`: its branches are inside it), or `end`. Edges that lead
//! from the same node to the same node are one edge — the arms of a routing `match` that go to
//! the same step, or an arm and the `else` of a bound: the events of a run do not tell them
//! apart. Its [`label`](Edge::label) lists the arms it stands for.
//!
//! A route is a way from `start` to `end` that goes through no node twice: loops are
//! summarised, not unrolled. A run that goes round a loop follows the route of its path with
//! the loops cut out (`start -> draft -> review -> revise -> review -> end` follows
//! `start -> draft -> review -> end`); the loop's edges count as edges. A graph has at most
//! [`Graph::MAX_ROUTES`] routes listed; [`Graph::routes_complete`] says whether it has more.
//!
//! # What counts
//!
//! Every run whose events a coverage reads counts, from its first event on, whether it
//! completed, failed or waits at a pause: an edge counts once a run enters its target (a
//! pause step once the run waits there). A route counts once a run that followed it reaches
//! `end`. Events of the workflows a step runs (those with a [`path`](Event::path)) and of
//! other workflows are left out. A subscriber that fell behind loses events
//! ([`Events::missed`]): raise [`Executor::event_capacity`](crate::Executor::event_capacity), or
//! read after each run.

mod graph;

use std::collections::HashMap;
use std::fmt;

pub use graph::{Edge, Graph};

use crate::event::{Event, EventKind, Events};
use crate::id::RunId;

/// The edges and routes of a [`Graph`] that the runs read so far took: see the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct Coverage {
    graph: &'static Graph,
    edges: Vec<bool>,
    routes: Vec<bool>,
    runs: HashMap<RunId, Walk>,
    /// The walks of runs that wait at a pause: an in-memory run answered goes on as a new run
    /// that starts at the pause.
    waiting: Vec<Walk>,
}

/// Where a run is: the nodes it went through, loops cut out, and whether it just said it
/// waits at (or resumes) its last node.
#[derive(Debug, Clone, Default)]
struct Walk {
    path: Vec<&'static str>,
    paused: bool,
}

impl Coverage {
    /// A coverage of `graph` that no run took yet.
    pub fn new(graph: &'static Graph) -> Self {
        Coverage {
            graph,
            edges: vec![false; graph.edges().len()],
            routes: vec![false; graph.routes().len()],
            runs: HashMap::new(),
            waiting: Vec::new(),
        }
    }

    /// Counts every event `events` has waiting, without waiting for more.
    pub fn read(&mut self, events: &mut Events) {
        while let Some(event) = events.try_recv() {
            self.record(&event);
        }
    }

    /// Counts one event. Events of other workflows, and of the workflows a step runs, are
    /// left out.
    pub fn record(&mut self, event: &Event) {
        if event.workflow != self.graph.workflow() || !event.path.is_empty() {
            return;
        }
        match &event.kind {
            EventKind::RunStarted { .. } => {
                let walk = Walk {
                    path: vec![graph::START],
                    paused: false,
                };
                self.runs.insert(event.run, walk);
            }
            EventKind::StepStarted {
                step,
                branch: None,
                attempt: 1,
                ..
            } => self.enter(event.run, step, false),
            EventKind::BranchStarted { step, .. } => {
                if let Some(fork) = self.graph.fork_of(step) {
                    self.enter(event.run, fork, false);
                }
            }
            EventKind::Suspended { step } => {
                self.enter(event.run, step, true);
                self.waiting.extend(self.runs.remove(&event.run));
            }
            EventKind::Resumed { step } => self.enter(event.run, step, true),
            EventKind::Completed { .. } => {
                self.enter(event.run, graph::END, false);
                if let Some(walk) = self.runs.remove(&event.run) {
                    self.finish(&walk.path);
                }
            }
            EventKind::Failed { .. } => {
                self.runs.remove(&event.run);
            }
            _ => {}
        }
    }

    /// Run `run` enters `node`. A pause is entered once: when the run waits there, resumes
    /// there and starts the step, in any of these orders.
    fn enter(&mut self, run: RunId, node: &'static str, pause: bool) {
        self.go_on(run, node);
        let Some(walk) = self.runs.get_mut(&run) else {
            return;
        };
        let Some(&last) = walk.path.last() else {
            return;
        };
        if walk.paused && last == node {
            walk.paused = pause;
            return;
        }
        walk.paused = pause;
        if let Some(edge) = self.graph.edge(last, node) {
            self.edges[edge] = true;
        }
        // Cut out the loop the run closes, if it does.
        match walk.path.iter().position(|seen| *seen == node) {
            Some(at) => walk.path.truncate(at + 1),
            None => walk.path.push(node),
        }
    }

    /// A run not seen before (a durable run resumed), or one that has just started and enters
    /// `node` where no edge from `start` leads (an in-memory run answered), goes on from a
    /// pause at `node`: it takes over the walk that waits there.
    fn go_on(&mut self, run: RunId, node: &'static str) {
        let goes_on = match self.runs.get(&run) {
            None => true,
            Some(walk) => {
                walk.path == [graph::START] && self.graph.edge(graph::START, node).is_none()
            }
        };
        if !goes_on {
            return;
        }
        let waiting = self
            .waiting
            .iter()
            .position(|walk| walk.path.last() == Some(&node));
        if let Some(at) = waiting {
            let walk = self.waiting.remove(at);
            self.runs.insert(run, walk);
        }
    }

    /// A run reached `end` through `path`, loops cut out.
    fn finish(&mut self, path: &[&'static str]) {
        let edges: Option<Vec<usize>> = path
            .windows(2)
            .map(|pair| self.graph.edge(pair[0], pair[1]))
            .collect();
        let Some(edges) = edges else {
            return;
        };
        if let Some(route) = self.graph.routes().iter().position(|r| **r == *edges) {
            self.routes[route] = true;
        }
    }

    /// The edges no run took, in the order of [`Graph::edges`].
    pub fn missed_edges(&self) -> Vec<&'static Edge> {
        let edges = self.graph.edges().iter();
        edges
            .zip(&self.edges)
            .filter(|(_, taken)| !**taken)
            .map(|(edge, _)| edge)
            .collect()
    }

    /// The routes no run followed to `end`, each as its edges, in the order of
    /// [`Graph::routes`].
    pub fn missed_routes(&self) -> Vec<Vec<&'static Edge>> {
        let routes = self.graph.routes().iter();
        routes
            .zip(&self.routes)
            .filter(|(_, taken)| !**taken)
            .map(|(route, _)| self.graph.route(route))
            .collect()
    }

    /// Whether the runs took every edge and followed every listed route.
    pub fn is_complete(&self) -> bool {
        self.edges.iter().chain(&self.routes).all(|taken| *taken)
    }

    /// Panics, listing what the runs missed, unless they took every edge and followed every
    /// listed route: for the end of a test suite.
    ///
    /// # Panics
    ///
    /// If [`is_complete`](Self::is_complete) is false.
    #[track_caller]
    pub fn assert_complete(&self) {
        assert!(self.is_complete(), "{self}");
    }
}

/// What the runs missed: `workflow \`Triage\`: 2 of 4 edges and 1 of 2 routes never taken`,
/// then one line per edge and per route.
impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let edges = self.missed_edges();
        let routes = self.missed_routes();
        write!(
            f,
            "workflow `{}`: {} of {} edges and {} of {} routes never taken",
            self.graph.workflow(),
            edges.len(),
            self.edges.len(),
            routes.len(),
            self.routes.len(),
        )?;
        for edge in edges {
            write!(f, "\n  edge  {edge}")?;
            if !edge.label().is_empty() {
                write!(f, "  ({})", edge.label())?;
            }
        }
        for route in routes {
            write!(f, "\n  route {}", graph::Route(&route))?;
        }
        Ok(())
    }
}
