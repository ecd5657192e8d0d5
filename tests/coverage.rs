//! Route coverage: `GRAPH` lists a workflow's edges and routes, and a `Coverage` fed the
//! events of runs reports those no run took — an arm a suite never takes, a loop never gone
//! round, a route never followed — and nothing once every one was.

use workflow::coverage::{Coverage, Edge};
use workflow::prelude::*;
use workflow::Workflow;

/// Sorts a number: negative ones end at once, even ones are halved until odd (at most 3 times,
/// else they end as they are), odd ones are reported.
struct Sort;

#[workflow]
impl Sort {
    async fn classify(&self, n: i32) -> i32 {
        n
    }
    async fn halve(&self, n: i32) -> i32 {
        n / 2
    }
    async fn report(&self, n: i32) -> String {
        format!("odd {n}")
    }
    flow! {
        type Output = String;
        start -> classify;
        classify -> match {
            n if n < 0 => end(String::from("negative")),
            n if n % 2 == 0 => halve(n) [max 3 else end(format!("even {n}"))],
            n => report(n),
        };
        halve -> classify;
        report -> end;
    }
}

/// The runs of `inputs` on `workflow`, their events given to a new coverage of `graph`.
async fn cover<W>(
    workflow: &W,
    graph: &'static workflow::coverage::Graph,
    inputs: Vec<W::Input>,
) -> Coverage
where
    W: Workflow,
{
    let executor = Executor::new();
    let mut events = executor.subscribe();
    let mut coverage = Coverage::new(graph);
    for input in inputs {
        let _ = executor.start(workflow, input).report().await;
        coverage.read(&mut events);
    }
    assert_eq!(events.missed(), 0);
    coverage
}

fn names(edges: &[&Edge]) -> Vec<String> {
    edges.iter().map(|edge| edge.to_string()).collect()
}

#[test]
fn the_graph_lists_edges_and_routes() {
    let edges = names(&Sort::GRAPH.edges().iter().collect::<Vec<_>>());
    assert_eq!(
        edges,
        [
            "start -> classify",
            "classify -> end",
            "classify -> halve",
            "classify -> report",
            "halve -> classify",
            "report -> end",
        ]
    );
    // Arms that go to the same place are one edge, with the `else` of the bound.
    assert_eq!(Sort::GRAPH.edges()[1].label(), "n if n < 0 | else");
    assert_eq!(Sort::GRAPH.routes(), [&[0, 1][..], &[0, 3, 5][..]]);
    assert!(Sort::GRAPH.routes_complete());
}

#[tokio::test]
async fn a_suite_that_misses_an_arm_is_reported() {
    // Only odd and negative numbers: the loop is never taken.
    let coverage = cover(&Sort, &Sort::GRAPH, vec![3, -1]).await;
    assert!(!coverage.is_complete());
    assert_eq!(
        names(&coverage.missed_edges()),
        ["classify -> halve", "halve -> classify"]
    );
    assert!(coverage.missed_routes().is_empty(), "{coverage}");
    let report = coverage.to_string();
    assert!(
        report.starts_with("workflow `Sort`: 2 of 6 edges and 0 of 2 routes never taken"),
        "{report}"
    );
    assert!(
        report.contains("edge  classify -> halve  (n if n % 2 == 0)"),
        "{report}"
    );
}

#[tokio::test]
async fn a_route_never_followed_is_reported() {
    // A negative number, and one halved to its bound: `report` is never reached.
    let coverage = cover(&Sort, &Sort::GRAPH, vec![-1, 16]).await;
    assert_eq!(
        names(&coverage.missed_edges()),
        ["classify -> report", "report -> end"]
    );
    let routes = coverage.missed_routes();
    assert_eq!(routes.len(), 1);
    assert_eq!(
        names(&routes[0]),
        ["start -> classify", "classify -> report", "report -> end"]
    );
    assert!(coverage
        .to_string()
        .contains("route start -> classify -> report -> end"));
}

#[tokio::test]
async fn a_loop_counts_as_its_edges_and_the_route_without_it() {
    // 12 -> 6 -> 3: twice round the loop, then `report`; -1 ends at once.
    let coverage = cover(&Sort, &Sort::GRAPH, vec![12, -1]).await;
    coverage.assert_complete();
    // 16 goes round 3 times, then takes the `else` to `end`: the route `start -> classify ->
    // end`, whose edge also stands for the arm of negative numbers.
    let coverage = cover(&Sort, &Sort::GRAPH, vec![16]).await;
    assert_eq!(
        names(&coverage.missed_edges()),
        ["classify -> report", "report -> end"]
    );
    assert_eq!(coverage.missed_routes().len(), 1);
}

#[tokio::test]
async fn a_failed_run_counts_its_edges_but_no_route() {
    struct Fails;
    #[workflow]
    impl Fails {
        async fn check(&self, n: u8) -> u8 {
            n
        }
        async fn divide(&self, n: u8) -> Result<u8> {
            100u8
                .checked_div(n)
                .ok_or_else(|| Error::other("divided by zero"))
        }
        flow! {
            start -> check -> divide -> end;
        }
    }
    let coverage = cover(&Fails, &Fails::GRAPH, vec![0]).await;
    assert_eq!(names(&coverage.missed_edges()), ["divide -> end"]);
    assert_eq!(coverage.missed_routes().len(), 1);
    let coverage = cover(&Fails, &Fails::GRAPH, vec![0, 5]).await;
    coverage.assert_complete();
}

/// A fan-out, then a routing on the joined outputs.
struct Panel;

#[workflow]
impl Panel {
    async fn left(&self, n: u32) -> u32 {
        n
    }
    async fn right(&self, n: u32) -> u32 {
        n + 1
    }
    async fn sum(&self, (a, b): (u32, u32)) -> u32 {
        a + b
    }
    async fn big(&self, n: u32) -> u32 {
        n
    }
    flow! {
        start -> (left, right) -> sum;
        sum -> match {
            n if n > 10 => big(n),
            n => end(n),
        };
        big -> end;
    }
}

#[tokio::test]
async fn a_fan_out_is_one_node() {
    let coverage = cover(&Panel, &Panel::GRAPH, vec![1]).await;
    assert_eq!(
        names(&coverage.missed_edges()),
        ["sum -> big", "big -> end"]
    );
    let coverage = cover(&Panel, &Panel::GRAPH, vec![1, 20]).await;
    coverage.assert_complete();
    assert_eq!(Panel::GRAPH.edges()[0].to(), "(left, right)");
}

#[tokio::test]
async fn events_of_other_workflows_are_left_out() {
    let executor = Executor::new();
    let mut events = executor.subscribe();
    executor.start(&Panel, 20).await.expect("the run finishes");
    let mut coverage = Coverage::new(&Sort::GRAPH);
    coverage.read(&mut events);
    assert_eq!(coverage.missed_edges().len(), Sort::GRAPH.edges().len());
}

/// A pause before `publish`: an in-memory run answered goes on as a new run.
struct Approve;

#[workflow]
impl Approve {
    async fn draft(&self, text: String) -> String {
        text
    }
    async fn publish(&self, text: String, approved: bool) -> String {
        format!("{text}: {approved}")
    }
    flow! {
        type Output = String;
        start -> draft -> pause publish -> end;
    }
}

#[tokio::test]
async fn a_run_answered_at_a_pause_goes_on_along_its_route() {
    let executor = Executor::new();
    let mut events = executor.subscribe();
    let mut coverage = Coverage::new(&Approve::GRAPH);
    let report = executor.start(&Approve, "post".to_owned()).report().await;
    let Outcome::Suspended(pause) = report.outcome else {
        panic!("the run waits at its pause");
    };
    coverage.read(&mut events);
    assert_eq!(names(&coverage.missed_edges()), ["publish -> end"]);
    let answered = executor.answer(&Approve, &pause, true).expect("it waits");
    assert_eq!(answered.await.expect("it finishes"), "post: true");
    coverage.read(&mut events);
    coverage.assert_complete();
}
