use workflow::prelude::*;

struct Pipeline;

#[derive(Debug, Serialize, Deserialize)]
enum Kind {
    Billing,
    Other,
}

#[workflow]
impl Pipeline {
    async fn classify(&self, question: String) -> Kind {
        if question.contains('$') { Kind::Billing } else { Kind::Other }
    }

    async fn billing(&self, kind: Kind) -> String {
        format!("{kind:?}")
    }

    flow! {
        start -> classify;
        classify -> match {
            Kind::Billing => billing,
        };
        billing -> end;
    }
}

fn main() {}
