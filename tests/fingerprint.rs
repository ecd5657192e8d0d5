//! The definition fingerprint: its value for a fixed workflow is pinned, so a change in how it is
//! computed shows up here; and a run saved under another fingerprint is refused, never resumed.

use std::sync::Arc;

use workflow::prelude::*;
use workflow::store::{NewRun, RunId};
use workflow::{MemoryStore, Runner};

/// The critic's verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Verdict {
    Approved(String),
    Revise { draft: String, feedback: String },
}

/// A writer and a critic, with a bounded loop, a guard and a fan-out.
struct Sample;

#[workflow]
impl Sample {
    async fn draft(&self, topic: String) -> String {
        format!("on {topic}")
    }

    #[step(retry = 2)]
    async fn critique(&self, draft: String) -> Result<Verdict> {
        Ok(Verdict::Approved(draft))
    }

    async fn revise(&self, (draft, feedback): (String, String)) -> String {
        format!("{draft} ({feedback})")
    }

    async fn prepare(&self, text: String) -> String {
        text
    }

    async fn polish(&self, text: String) -> String {
        text
    }

    async fn title(&self, text: String) -> String {
        text
    }

    async fn publish(&self, (text, title): (String, String)) -> String {
        format!("{title}: {text}")
    }

    flow! {
        type Output = String;
        start -> draft -> critique;
        critique -> match {
            Verdict::Approved(text) if !text.is_empty() => prepare(text),
            Verdict::Approved(text) => end(text),
            Verdict::Revise { draft, feedback } => revise((draft, feedback)) [max 3 else end(draft)],
        };
        revise -> critique;
        prepare -> (polish, title) -> publish -> end;
    }
}

/// The fingerprint `Sample` had under the first scheme, which hashed the compiler's printing of
/// its types (computed by the macro before `fingerprint v2`).
const FIRST_SCHEME: u64 = 0x2346_b294_0ffd_3d0b;

#[test]
fn the_fingerprint_is_pinned() {
    // The macro's unit test pins the same value for the same definition (without bodies): a
    // change here means every stored run of every workflow would be refused.
    assert_eq!(<Sample as Workflow>::FINGERPRINT, 0xa3f2_0299_97de_50fb);
}

#[tokio::test]
async fn a_run_saved_under_the_first_scheme_is_refused() {
    let runner = Runner::new(Arc::new(MemoryStore::new()));
    let id = runner
        .create::<Sample>("rust".into())
        .await
        .expect("created");
    let store = runner.store();
    let mut old = store.checkpoint(id, None).await.expect("saved");
    old.run = RunId::new();
    old.fingerprint = FIRST_SCHEME;
    let old_id = old.run;
    let run = NewRun {
        first: old,
        parent: None,
        lease: None,
    };
    store.create(run).await.expect("created");

    let error = runner
        .resume(&Sample, old_id)
        .await
        .expect_err("another definition");
    assert!(
        matches!(
            error,
            Error::DefinitionMismatch {
                stored_fingerprint: FIRST_SCHEME,
                ..
            }
        ),
        "{error:?}"
    );
    // The same checkpoint under the current fingerprint resumes.
    let run = runner.resume(&Sample, id).await.expect("resumes");
    assert_eq!(run.into_output().expect("finished"), "on rust: on rust");
}

/// Defines a workflow `Probe` in module `$module`, with `#[workflow($($args)*)]`.
macro_rules! probe {
    ($module:ident, $($args:tt)*) => {
        mod $module {
            use workflow::prelude::*;

            pub(crate) struct Probe;

            #[workflow($($args)*)]
            impl Probe {
                async fn shout(&self, text: String) -> String {
                    text.to_uppercase()
                }

                flow! {
                    start -> shout -> end;
                }
            }
        }
    };
}

probe!(plain,);
probe!(zero, version = 0);
probe!(one, version = 1);

#[test]
fn the_declared_version_changes_the_fingerprint() {
    let plain = <plain::Probe as Workflow>::FINGERPRINT;
    assert_eq!(
        plain,
        <zero::Probe as Workflow>::FINGERPRINT,
        "0 is the default"
    );
    assert_ne!(plain, <one::Probe as Workflow>::FINGERPRINT);
}
