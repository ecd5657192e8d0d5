//! The names the macro generates from the user's: the state enum's, and its variants'. Each is
//! a valid identifier whatever the input (`impl r#Flow`, a step `_1`); names that would clash
//! are reported by `check::names`, except a fork's, which is made unique here.

use proc_macro2::Span;
use syn::Ident;

use super::Model;
use crate::parse::unraw;

/// The state enum's default name: `{Type}State` (`FlowState` for `impl r#Flow`).
pub(super) fn state_name(name: &Ident) -> Ident {
    let text = format!("{}State", unraw(name));
    Ident::new(&valid_or(&text, "State"), name.span())
}

/// `snake_case` as `UpperCamelCase`, always a valid identifier: a name that would not be one
/// (`_1` gives `1`, `__` nothing, `self_` the keyword `Self`) is prefixed with `Step`, or is
/// `Step` itself.
pub(crate) fn camel(name: &str) -> String {
    let camel: String = name
        .trim_start_matches("r#")
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect();
    if is_ident(&camel) {
        camel
    } else {
        valid_or(&format!("Step{camel}"), "Step")
    }
}

/// `text` if it is a valid identifier that is not a keyword, else `fallback`.
fn valid_or(text: &str, fallback: &str) -> String {
    if is_ident(text) {
        text.to_owned()
    } else {
        fallback.to_owned()
    }
}

fn is_ident(text: &str) -> bool {
    syn::parse_str::<Ident>(text).is_ok()
}

/// The name of the terminal variant, which holds the output.
pub(crate) const END: &str = "End";

impl Model {
    /// The name of the state variant of step `index`, or of the terminal state for `None`.
    pub(crate) fn variant(&self, index: Option<usize>) -> Ident {
        match index {
            None => Ident::new(END, Span::call_site()),
            Some(index) => {
                let ident = &self.steps[index].sig.ident;
                Ident::new(&camel(&ident.to_string()), ident.span())
            }
        }
    }

    /// The name of the state variant of fork `index`: `FanOutSentimentTopic` or
    /// `EachSummarize`, followed by a number if a step's variant or an earlier fork's already
    /// has that name (`(a_b, c)` and `(a, b_c)`).
    pub(crate) fn fork_variant(&self, index: usize) -> Ident {
        let mut taken: Vec<String> = self
            .steps
            .iter()
            .enumerate()
            .filter(|(_, step)| step.branch_of.is_empty())
            .map(|(step, _)| self.variant(Some(step)).to_string())
            .collect();
        taken.push(END.to_owned());
        let mut name = String::new();
        for fork in 0..=index {
            name = self.unique_fork_name(fork, &taken);
            taken.push(name.clone());
        }
        Ident::new(&name, self.forks[index].span)
    }

    fn unique_fork_name(&self, index: usize, taken: &[String]) -> String {
        let fork = &self.forks[index];
        let names: String = fork
            .branches
            .iter()
            .map(|branch| camel(&branch.name.to_string()))
            .collect();
        let prefix = if fork.map { "Each" } else { "FanOut" };
        let base = format!("{prefix}{names}");
        let mut name = base.clone();
        let mut number = 2;
        while taken.contains(&name) {
            name = format!("{base}{number}");
            number += 1;
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use quote::format_ident;

    use super::{camel, state_name};

    #[test]
    fn generated_names_are_identifiers() {
        assert_eq!(camel("draft"), "Draft");
        assert_eq!(camel("fetch_page"), "FetchPage");
        assert_eq!(camel("r#match"), "Match");
        assert_eq!(camel("a__b"), "AB");
        assert_eq!(camel("_1"), "Step1");
        assert_eq!(camel("__"), "Step");
        assert_eq!(camel("self_"), "StepSelf");
        assert_eq!(camel("été"), "Été");
        let raw = syn::parse_str::<syn::Ident>("r#Flow").expect("an identifier");
        assert_eq!(state_name(&raw), "FlowState");
        assert_eq!(state_name(&format_ident!("Flow")), "FlowState");
    }

    #[test]
    fn forks_get_names_of_their_own() {
        let steps = ["s", "a_b", "c", "j", "a", "b_c", "k", "fan_out_a_b_c"];
        let flow = quote::quote! {
            start -> s -> (a_b, c) -> j -> (a, b_c) -> k -> fan_out_a_b_c -> end;
        };
        let model = crate::tests::model_of(crate::tests::steps_and_flow(&steps, &flow));
        assert_eq!(model.fork_variant(0), "FanOutABC2");
        assert_eq!(model.fork_variant(1), "FanOutABC3");
        assert_eq!(model.variant(Some(7)), "FanOutABC");
        assert_eq!(model.variant(None), "End");
    }
}
