//! The Mermaid diagrams `#[workflow]` generates, checked against the grammar of the flowchart
//! subset they use: node ids Mermaid accepts (no keyword, no clash with `start`, `stop`,
//! `fork0`, `join0`), quoted labels with `"`, `<`, `>` and `#` escaped as entities (pipes and
//! unicode are fine inside quotes), every edge between declared nodes; and the exact shapes of
//! forks, maps and `else` edges.
//!
//! With `WORKFLOW_MERMAID_DIR=dir`, the tests also write each diagram to `dir/NAME.mmd`, for
//! `scripts/mermaid-render.sh` to render with mermaid-cli.

use std::collections::BTreeSet;

use workflow::prelude::*;

/// What Mermaid reads as keywords where a node id stands (mermaid-cli 11 fails on each).
const KEYWORDS: &[&str] = &[
    "end",
    "graph",
    "flowchart",
    "subgraph",
    "style",
    "linkStyle",
    "classDef",
    "class",
    "click",
    "call",
    "href",
    "interpolate",
    "_self",
    "_blank",
    "_parent",
    "_top",
];

/// A parsed diagram: its nodes (id, shape, label) and edges (from, arrow, label, to).
#[derive(Debug, Default)]
struct Diagram {
    nodes: Vec<(String, &'static str, String)>,
    edges: Vec<(String, &'static str, Option<String>, String)>,
}

/// Parses `text`, the diagram, failing on anything outside the subset `#[workflow]` emits.
fn parse(text: &str) -> Diagram {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("flowchart TD"), "{text}");
    let mut diagram = Diagram::default();
    for line in lines {
        let line = line
            .strip_prefix("    ")
            .unwrap_or_else(|| panic!("not indented: {line:?}"));
        if let Some(edge) = parse_edge(line) {
            diagram.edges.push(edge);
        } else {
            diagram.nodes.push(parse_node(line));
        }
    }
    check(&diagram, text);
    diagram
}

fn parse_edge(line: &str) -> Option<(String, &'static str, Option<String>, String)> {
    for arrow in [" -.-> ", " --> ", " -.->|", " -->|"] {
        let Some((from, rest)) = line.split_once(arrow) else {
            continue;
        };
        let arrow_kind = if arrow.contains('.') { "-.->" } else { "-->" };
        if arrow.ends_with('|') {
            let rest = rest.strip_prefix('"').expect("a quoted edge label");
            let (label, to) = rest.split_once("\"| ").expect("a closed edge label");
            return Some((id(from), arrow_kind, Some(label_text(label)), id(to)));
        }
        return Some((id(from), arrow_kind, None, id(rest)));
    }
    None
}

fn parse_node(line: &str) -> (String, &'static str, String) {
    for (open, close, shape) in [
        ("[[\"", "\"]]", "subroutine"),
        ("[/\"", "\"/]", "parallelogram"),
        ("[\\\"", "\"\\]", "parallelogram-alt"),
        ("[\"", "\"]", "box"),
        ("{{\"", "\"}}", "hexagon"),
        ("((", "))", "circle"),
    ] {
        if let Some((node, rest)) = line.split_once(open) {
            let label = rest
                .strip_suffix(close)
                .unwrap_or_else(|| panic!("unclosed label: {line:?}"));
            return (id(node), shape, label_text(label));
        }
    }
    panic!("neither a node nor an edge: {line:?}");
}

/// A node id Mermaid accepts: letters (any script), digits and `_`, and not a keyword.
fn id(text: &str) -> String {
    assert!(
        !text.is_empty() && text.chars().all(|c| c.is_alphanumeric() || c == '_'),
        "bad node id {text:?}"
    );
    assert!(
        !KEYWORDS.contains(&text),
        "node id {text:?} is a Mermaid keyword"
    );
    text.to_owned()
}

/// The text of a quoted label, its entities decoded; fails on what would end or break it.
fn label_text(label: &str) -> String {
    assert!(!label.contains('"'), "raw quote in {label:?}");
    assert!(
        !label.contains(['<', '>', '\n']),
        "raw < > or newline in {label:?}"
    );
    let mut text = String::new();
    let mut rest = label;
    while let Some((before, after)) = rest.split_once('#') {
        text.push_str(before);
        let (entity, after) = after
            .split_once(';')
            .unwrap_or_else(|| panic!("a bare # in {label:?}"));
        text.push(match entity {
            "quot" => '"',
            "lt" => '<',
            "gt" => '>',
            "35" => '#',
            other => panic!("unknown entity #{other}; in {label:?}"),
        });
        rest = after;
    }
    text.push_str(rest);
    text
}

/// Ids are unique, edges join declared nodes, `start` and `stop` are the circles.
fn check(diagram: &Diagram, text: &str) {
    let mut ids = BTreeSet::new();
    for (id, _, _) in &diagram.nodes {
        assert!(
            ids.insert(id.as_str()),
            "node {id} declared twice in\n{text}"
        );
    }
    for (from, _, _, to) in &diagram.edges {
        assert!(
            ids.contains(from.as_str()),
            "edge from undeclared {from} in\n{text}"
        );
        assert!(
            ids.contains(to.as_str()),
            "edge to undeclared {to} in\n{text}"
        );
    }
    let circles: Vec<_> = diagram
        .nodes
        .iter()
        .filter(|(_, shape, _)| *shape == "circle")
        .map(|(id, _, label)| (id.as_str(), label.as_str()))
        .collect();
    assert_eq!(circles, [("start", "start"), ("stop", "end")], "{text}");
}

/// Parses `diagram` and, when asked, writes it out for a renderer.
fn checked(name: &str, diagram: &str) -> Diagram {
    if let Some(dir) = std::env::var_os("WORKFLOW_MERMAID_DIR") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("the diagram directory");
        std::fs::write(dir.join(format!("{name}.mmd")), diagram).expect("the diagram is written");
    }
    parse(diagram)
}

fn label<'a>(diagram: &'a Diagram, id: &str) -> &'a str {
    diagram
        .nodes
        .iter()
        .find(|(node, _, _)| node == id)
        .map(|(_, _, label)| label.as_str())
        .unwrap_or_else(|| panic!("no node {id}"))
}

// ---- names Mermaid would misread ------------------------------------------------------------

/// Steps named like Mermaid keywords, like the diagram's own nodes, with `r#` and in unicode.
struct Keywords;

#[workflow]
impl Keywords {
    async fn call(&self, n: u32) -> u32 {
        n
    }
    async fn style(&self, n: u32) -> u32 {
        n
    }
    async fn class(&self, n: u32) -> u32 {
        n
    }
    async fn stop(&self, n: u32) -> u32 {
        n
    }
    async fn fork0(&self, n: u32) -> u32 {
        n
    }
    async fn r#type(&self, n: u32) -> u32 {
        n
    }
    async fn résumé(&self, n: u32) -> u32 {
        n
    }

    flow! {
        start -> call -> style -> class -> stop -> fork0 -> r#type -> résumé -> end;
    }
}

#[test]
fn names_mermaid_reads_as_keywords_or_its_own_nodes_get_a_numbered_id() {
    let diagram = checked("keywords", Keywords::MERMAID);
    let ids: Vec<&str> = diagram.nodes.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        ["start", "0_call", "1_style", "2_class", "3_stop", "4_fork0", "type", "résumé", "stop"]
    );
    // Labels keep the names as written, without `r#`.
    assert_eq!(label(&diagram, "0_call"), "call");
    assert_eq!(label(&diagram, "3_stop"), "stop");
    assert_eq!(label(&diagram, "type"), "type");
    let path: Vec<(&str, &str)> = diagram
        .edges
        .iter()
        .map(|(from, _, _, to)| (from.as_str(), to.as_str()))
        .collect();
    assert_eq!(
        path,
        [
            ("start", "0_call"),
            ("0_call", "1_style"),
            ("1_style", "2_class"),
            ("2_class", "3_stop"),
            ("3_stop", "4_fork0"),
            ("4_fork0", "type"),
            ("type", "résumé"),
            ("résumé", "stop"),
        ]
    );
}

// ---- labels that need escaping ---------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Answer {
    Say(String),
    Score(i32),
}

struct Labels;

#[workflow]
impl Labels {
    async fn ask(&self, question: String) -> Answer {
        Answer::Say(question)
    }
    async fn echo(&self, answer: Answer) -> String {
        format!("{answer:?}")
    }

    flow! {
        start -> ask;
        ask -> match {
            Answer::Say(s) if s == "say \"hi\" <b> #1 | ünï ✓" => end(s),
            Answer::Score(n) if n < 0 || n.pow(2) > 100 => end(format!("{n}")),
            Answer::Score(n) => ask(format!("again {n}")) [max 2 else end(String::from("gave up"))],
            other => echo(other),
        };
        echo -> end;
    }
}

#[test]
fn match_arms_are_quoted_labels_with_entities_for_quotes_angles_and_hashes() {
    let diagram = checked("labels", Labels::MERMAID);
    let labels: Vec<(&str, &str, Option<&str>, &str)> = diagram
        .edges
        .iter()
        .map(|(from, arrow, label, to)| (from.as_str(), *arrow, label.as_deref(), to.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("start", "-->", None, "ask"),
            (
                "ask",
                "-->",
                Some(r#"Answer::Say(s) if s == "say \"hi\" <b> #1 | ünï ✓""#),
                "stop"
            ),
            (
                "ask",
                "-->",
                Some("Answer::Score(n) if n < 0 || n.pow(2) > 100"),
                "stop"
            ),
            ("ask", "-->", Some("Answer::Score(n) [max 2]"), "ask"),
            ("ask", "-.->", Some("else"), "stop"),
            ("ask", "-->", Some("other"), "echo"),
            ("echo", "-->", None, "stop"),
        ]
    );
    // As written in the diagram: entities, and the pipe left as it is inside the quotes.
    assert!(Labels::MERMAID.contains(
        r#"ask -->|"Answer::Say(s) if s == #quot;say \#quot;hi\#quot; #lt;b#gt; #35;1 | ünï ✓#quot;"| stop"#
    ), "{}", Labels::MERMAID);
}

// ---- forks, maps, else edges -----------------------------------------------------------------

struct Forks;

#[workflow]
impl Forks {
    async fn split(&self, text: String) -> Vec<String> {
        vec![text]
    }
    async fn translate(&self, text: String) -> String {
        text
    }
    async fn gather(&self, texts: Vec<Result<String, BranchError>>) -> String {
        texts.into_iter().flatten().collect()
    }
    async fn tone(&self, text: String) -> String {
        text
    }
    async fn length(&self, text: String) -> usize {
        text.len()
    }
    async fn report(&self, (tone, length): (String, usize)) -> String {
        format!("{tone} {length}")
    }
    async fn check(&self, report: String) -> String {
        report
    }

    flow! {
        start -> split -> each translate [concurrency 3, collect] -> gather;
        gather -> (tone, length) -> report -> check;
        check -> match {
            text if text.is_empty() => split(text) [max 1 else end(String::new())],
            text => end(text),
        };
    }
}

#[test]
fn forks_are_hexagons_maps_subroutines_and_else_edges_dotted() {
    let diagram = checked("forks", Forks::MERMAID);
    let shapes: Vec<(&str, &str, &str)> = diagram
        .nodes
        .iter()
        .map(|(id, shape, label)| (id.as_str(), *shape, label.as_str()))
        .collect();
    assert_eq!(
        shapes,
        [
            ("start", "circle", "start"),
            ("split", "box", "split"),
            (
                "translate",
                "subroutine",
                "each translate, 3 at a time, collect"
            ),
            ("gather", "box", "gather"),
            ("tone", "box", "tone"),
            ("length", "box", "length"),
            ("report", "box", "report"),
            ("check", "box", "check"),
            // Forks are numbered in the order of `flow!`: the map is fork 0.
            ("fork1", "hexagon", "fork"),
            ("join1", "hexagon", "join"),
            ("stop", "circle", "end"),
        ]
    );
    let text = Forks::MERMAID;
    for line in [
        "    split --> translate\n    translate --> gather\n",
        "    gather --> fork1\n    fork1 --> tone\n    tone --> join1\n    fork1 --> length\n    length --> join1\n    join1 --> report\n",
        "    check -->|\"text if text.is_empty() [max 1]\"| split\n    check -.->|\"else\"| stop\n",
        "    check -->|\"text\"| stop\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
}

#[test]
fn a_one_step_workflow_is_the_smallest_diagram() {
    struct One;

    #[workflow]
    impl One {
        async fn only(&self, n: u8) -> u8 {
            n
        }

        flow! {
            start -> only -> end;
        }
    }

    let diagram = checked("one", One::MERMAID);
    assert_eq!(
        One::MERMAID,
        "flowchart TD\n    start((start))\n    only[\"only\"]\n    stop((end))\n    start --> only\n    only --> stop\n"
    );
    assert_eq!(diagram.edges.len(), 2);
}

#[test]
fn a_receive_step_and_a_sleep_are_parallelograms() {
    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Note<T> {
        text: T,
    }

    struct Waits;

    #[workflow]
    impl Waits {
        async fn open(&self, n: u8) -> u8 {
            n
        }
        async fn take(&self, n: u8, note: Note<String>) -> u8 {
            n + note.text.len() as u8
        }
        async fn close(&self, n: u8) -> u8 {
            n
        }

        flow! {
            start -> open -> receive take -> sleep "90s" -> close -> end;
        }
    }

    let diagram = checked("waits", Waits::MERMAID);
    let shapes: Vec<(&str, &str)> = diagram
        .nodes
        .iter()
        .map(|(id, shape, _)| (id.as_str(), *shape))
        .collect();
    assert!(shapes.contains(&("take", "parallelogram")), "{shapes:?}");
    assert!(
        shapes.contains(&("close", "parallelogram-alt")),
        "{shapes:?}"
    );
    assert_eq!(label(&diagram, "take"), "receive Note<String>, then take");
    assert_eq!(label(&diagram, "close"), "sleep 90s, then close");
}
