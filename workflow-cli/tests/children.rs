//! The `workflow` command on child runs (a workflow that runs as a step of a durable
//! parent) in a real SQLite file: `runs` shows them under their parent, `show` lists a run's
//! children and says whose child a run is, `history` reads a child's checkpoints, and
//! `cancel`, `answer`, `send` and `fork` on a child are refused, naming its parent.

use std::process::{Command, Output};
use std::sync::Arc;

use serde_json::Value;
use workflow::prelude::*;
use workflow::store::RunId;
use workflow::{Outcome, Runner, SqliteStore};

/// A child with a pause.
#[derive(Default)]
struct Ask;

#[workflow]
impl Ask {
    async fn draft(&self, topic: String) -> String {
        format!("a post about {topic}")
    }

    async fn decide(&self, draft: String, approved: bool) -> String {
        if approved {
            draft
        } else {
            "dropped".to_owned()
        }
    }

    flow! {
        start -> draft -> pause decide -> end;
    }
}

#[derive(Default)]
struct Publish {
    ask: Ask,
}

#[workflow]
impl Publish {
    fn ask(&self) -> &Ask {
        &self.ask
    }

    async fn publish(&self, text: String) -> String {
        format!("published: {text}")
    }

    flow! {
        start -> ask -> publish -> end;
    }
}

fn workflow(store: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workflow"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("WORKFLOW_STORE")
        .output()
        .expect("the binary runs")
}

fn ok(store: &str, args: &[&str]) -> String {
    let out = workflow(store, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[tokio::test]
async fn child_runs_show_under_their_parent_and_move_only_with_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let runner = Runner::new(Arc::new(SqliteStore::open(&path).expect("opens")));
    let report = runner
        .start(&Publish::default(), "rust".into())
        .await
        .expect("starts");
    assert!(matches!(report.outcome, Outcome::Suspended(_)));
    let (parent, child) = (report.id, RunId::child(report.id, "ask", 0));
    let store = format!("sqlite:{}", path.display());
    let (parent_text, child_text) = (parent.to_string(), child.to_string());

    let runs = ok(&store, &["runs"]);
    let lines: Vec<&str> = runs.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.starts_with(&parent_text))
        .expect("the parent is listed");
    let cells: Vec<&str> = lines[at].split_whitespace().collect();
    assert_eq!(cells[1..4], ["Publish", "suspended", "ask"], "{runs}");
    let cells: Vec<&str> = lines[at + 1].split_whitespace().collect();
    assert_eq!(
        cells[..7],
        [
            "└",
            child_text.as_str(),
            "Ask",
            "(step",
            "ask)",
            "suspended",
            "decide"
        ],
        "{runs}"
    );
    let listed: Value = serde_json::from_str(&ok(&store, &["runs", "--json"])).expect("JSON");
    let child_json = listed["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .find(|run| run["id"] == child_text.as_str())
        .expect("the child is listed");
    assert_eq!(child_json["parent_step"], "ask");
    assert_eq!(child_json["parent"]["run"], parent_text.as_str());

    let shown = ok(&store, &["show", &parent_text]);
    assert!(
        shown.contains(&format!(
            "child run  {child_text} Ask (step `ask`): suspended at `decide`"
        )),
        "{shown}"
    );
    // What the console's run page reads (`show --json`): the children, with their step.
    let shown: Value =
        serde_json::from_str(&ok(&store, &["show", &parent_text, "--json"])).expect("JSON");
    assert_eq!(shown["children"][0]["id"], child_text.as_str());
    assert_eq!(shown["children"][0]["parent_step"], "ask");
    assert_eq!(shown["children"][0]["status"], "suspended");
    let shown = ok(&store, &["show", &child_text]);
    assert!(
        shown.contains(&format!("of run {parent_text}, step `ask`")),
        "{shown}"
    );
    assert!(!shown.contains("answer with token"), "{shown}");
    let history = ok(&store, &["history", &child_text, "--json"]);
    let history: Value = serde_json::from_str(&history).expect("JSON");
    assert_eq!(
        history["checkpoints"].as_array().map(Vec::len),
        Some(1),
        "{history}"
    );

    for args in [
        vec!["cancel", child_text.as_str()],
        vec!["answer", child_text.as_str(), "true"],
        vec!["send", child_text.as_str(), "go", "1"],
        vec!["fork", child_text.as_str(), "0"],
    ] {
        let out = workflow(&store, &args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("instead") && stderr.contains(&parent_text),
            "{args:?}: {stderr}"
        );
    }
}

/// A child whose step is `Ask`: the parent of a grandchild.
#[derive(Default)]
struct Middle {
    ask: Ask,
}

#[workflow]
impl Middle {
    async fn pre(&self, topic: String) -> String {
        topic
    }

    fn ask(&self) -> &Ask {
        &self.ask
    }

    flow! {
        start -> pre -> ask -> end;
    }
}

#[derive(Default)]
struct Top {
    middle: Middle,
}

#[workflow]
impl Top {
    fn middle(&self) -> &Middle {
        &self.middle
    }

    flow! {
        start -> middle -> end;
    }
}

#[tokio::test]
async fn a_grandchild_shows_under_its_parent_a_level_deeper_and_names_the_top_run() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let runner = Runner::new(Arc::new(SqliteStore::open(&path).expect("opens")));
    let report = runner
        .start(&Top::default(), "rust".into())
        .await
        .expect("starts");
    assert!(matches!(report.outcome, Outcome::Suspended(_)));
    let top = report.id;
    let middle = RunId::child(top, "middle", 0);
    let grandchild = RunId::child(middle, "ask", 0);
    let store = format!("sqlite:{}", path.display());
    let (top_text, middle_text, grandchild_text) =
        (top.to_string(), middle.to_string(), grandchild.to_string());

    let runs = ok(&store, &["runs"]);
    let lines: Vec<&str> = runs.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.starts_with(&top_text))
        .expect("the top run is listed");
    // Each level a step deeper.
    let cells: Vec<&str> = lines[at + 1].split_whitespace().collect();
    assert_eq!(cells[..3], ["└", middle_text.as_str(), "Middle"], "{runs}");
    assert!(lines[at + 2].starts_with("  └ "), "{runs}");
    let cells: Vec<&str> = lines[at + 2].split_whitespace().collect();
    assert_eq!(cells[..3], ["└", grandchild_text.as_str(), "Ask"], "{runs}");

    let shown = ok(&store, &["show", &middle_text]);
    assert!(
        shown.contains(&format!(
            "child run  {grandchild_text} Ask (step `ask`): suspended at `decide`"
        )),
        "{shown}"
    );
    let shown = ok(&store, &["show", &grandchild_text]);
    assert!(
        shown.contains(&format!("of run {middle_text}, step `ask`"))
            && shown.contains(&format!("cancel, answer or fork run {top_text}")),
        "{shown}"
    );
}
