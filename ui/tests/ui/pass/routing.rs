// Routing: guards, bindings, bare targets, bounded loops with and without `else`, a renamed
// state enum, a step without input, and every `#[step]` option.
use workflow::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Verdict {
    Approved(String),
    Revise { draft: String, feedback: String },
}

struct Article;

#[workflow(state = ArticleRun)]
impl Article {
    async fn topic(&self) -> String {
        "rust".to_string()
    }

    async fn draft(&self, topic: String) -> String {
        format!("draft on {topic}")
    }

    #[step(retry = 2, backoff = "1ms", max_backoff = "2ms", timeout = "5s")]
    async fn critique(&self, draft: String) -> Result<Verdict> {
        Ok(if draft.matches('!').count() >= 2 {
            Verdict::Approved(draft)
        } else {
            Verdict::Revise { draft, feedback: "!".into() }
        })
    }

    async fn revise(&self, (draft, feedback): (String, String)) -> String {
        draft + &feedback
    }

    flow! {
        type Output = String;
        start -> topic -> draft -> critique;
        critique -> match {
            Verdict::Approved(text) if text.is_empty() => end("(empty)".to_string()),
            Verdict::Approved(text) => end(text),
            Verdict::Revise { draft, feedback } => revise((draft, feedback)) [max 5 else end(draft)],
        };
        revise -> critique;
    }
}

impl Article {
    fn helper(&self) -> usize {
        1
    }
}

#[tokio::main]
async fn main() {
    let text = Article.run(()).await.unwrap();
    assert_eq!(text, "draft on rust!!");
    let state: ArticleRun = ArticleRun::Critique("x".into());
    assert!(matches!(state, ArticleRun::Critique(_)));
    assert_eq!(Article.helper(), 1);
}
