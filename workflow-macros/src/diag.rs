//! Error collection and the catalog of every message the macro reports.
//!
//! Messages are lowercase, put code in backticks, and end with what to write instead.

use proc_macro2::{Span, TokenStream};
use std::fmt::Display;

/// Collects the errors of one macro invocation, to report them all at once.
#[derive(Default)]
pub(crate) struct Errors(Vec<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, span: Span, message: impl Display) {
        self.0.push(syn::Error::new(span, message));
    }

    pub(crate) fn add(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn to_compile_errors(&self) -> TokenStream {
        self.0.iter().map(syn::Error::to_compile_error).collect()
    }

    /// The messages, in the order they were reported.
    #[cfg(test)]
    pub(crate) fn messages(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

/// The closest of `candidates` to `name`, if it is close enough to be a typo.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// two neighbours each count one, so `prase` is one edit from `parse`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// `; did you mean `x`?` or `;`, to be followed by a list of what is valid.
fn suggestion(close: Option<&str>) -> String {
    close.map_or_else(
        || ";".to_owned(),
        |close| format!("; did you mean `{close}`?"),
    )
}

// ---- attribute arguments -------------------------------------------------------------------

pub(crate) fn unknown_workflow_arg(name: &str) -> String {
    let close = did_you_mean(name, ["crate", "state", "version"]);
    format!(
        "unknown `#[workflow]` argument `{name}`{} valid arguments are `crate = path`, `state = Name` and `version = N`",
        suggestion(close)
    )
}

pub(crate) fn duplicate_arg(name: &str) -> String {
    format!("`{name}` is given twice; keep one")
}

pub(crate) const BAD_VERSION: &str =
    "`version` takes the version of the workflow's definition as an integer literal: `version = 2`";
pub(crate) const VERSION_RANGE: &str =
    "`version` is a number from 0 to 4294967295 (a `u32`): `version = 2`";

pub(crate) const NOT_AN_IMPL: &str =
    "`#[workflow]` goes on an inherent `impl` block: `#[workflow] impl MyWorkflow { … }`";
pub(crate) const TRAIT_IMPL: &str =
    "`#[workflow]` goes on an inherent `impl` block, not a trait impl: remove `Trait for`";
pub(crate) const NO_FLOW: &str =
    "this `#[workflow]` impl has no `flow! { … }` block; declare the graph inside it: `flow! { start -> first_step -> end; }`";
pub(crate) const SECOND_FLOW: &str =
    "a second `flow!` block; a workflow has one graph, so merge the two blocks";
pub(crate) const FLOW_OUTSIDE: &str =
    "`flow!` declares the graph of a workflow and only works inside an `impl` block marked `#[workflow]`";
pub(crate) const STEP_OUTSIDE: &str =
    "`#[step(...)]` only works on a step of an `impl` block marked `#[workflow]`";

// ---- steps ---------------------------------------------------------------------------------

pub(crate) fn step_form(name: &str) -> String {
    format!("write it as `async fn {name}(&self, input: Input) -> Result<Output, Error>`")
}

pub(crate) fn step_not_async(name: &str) -> String {
    format!(
        "step `{name}` is not `async`; {}. Helper functions belong in a separate `impl` block",
        step_form(name)
    )
}

pub(crate) fn step_qualifier(name: &str, qualifier: &str) -> String {
    format!("step `{name}` cannot be `{qualifier}`; {}", step_form(name))
}

pub(crate) fn step_generic(name: &str) -> String {
    format!(
        "step `{name}` cannot have generic parameters, because its input is stored in the workflow's state; \
         put type parameters on the `impl` block instead"
    )
}

pub(crate) fn step_no_receiver(name: &str) -> String {
    format!(
        "step `{name}` has no `&self` parameter; {}",
        step_form(name)
    )
}

pub(crate) fn step_bad_receiver(name: &str) -> String {
    format!(
        "step `{name}` must take `&self`: the workflow is shared by its runs; {}",
        step_form(name)
    )
}

pub(crate) fn step_many_inputs(name: &str) -> String {
    format!(
        "step `{name}` takes too many parameters; take one tuple instead: `(a, b): (A, B)` (a second parameter is only for a pause step: the value it waits for)"
    )
}

pub(crate) fn resume_without_pause(name: &str) -> String {
    format!(
        "step `{name}` takes a second parameter, which makes it a pause step waiting for that value from outside: mark it in `flow!` with `-> pause {name}` (or `-> receive {name}` to take it as a signal's message), or take one tuple instead: `(a, b): (A, B)`"
    )
}

pub(crate) fn pause_without_value(name: &str) -> String {
    format!(
        "a pause step takes the value it waits for as its second parameter: `async fn {name}(&self, input: T, value: V)`"
    )
}

/// A `sleep` whose duration is not a string with a unit.
pub(crate) fn bad_sleep(literal: &syn::Lit) -> String {
    let written = quote::ToTokens::to_token_stream(literal).to_string();
    format!(
        "`sleep` takes a duration as a string with a unit (`ms`, `s`, `m`, `h` or `d`), not `{written}`: `-> sleep \"1h\" -> step`"
    )
}

pub(crate) const SLEEP_BEFORE_STEP: &str = "a sleep goes before a step: `-> sleep \"1h\" -> step`";

pub(crate) const SLEEP_END: &str =
    "a run cannot sleep before `end`: it would only delay its output; sleep before a step: `-> sleep \"1h\" -> step`";

/// Two edges that sleep for different times before the same step.
pub(crate) fn sleep_conflict(name: &str, first: &str, second: &str) -> String {
    format!(
        "step `{name}` sleeps `{first}` on one edge and `{second}` on another; a step sleeps one duration, whichever way the run comes: write the same duration on each edge, or sleep before another step"
    )
}

/// A step that is both a pause and a sleep.
pub(crate) fn sleep_pause(name: &str) -> String {
    format!(
        "step `{name}` waits for a value from outside (`pause` or `receive`), and cannot also sleep: remove `sleep` here, or sleep before the step that leads to it"
    )
}

/// A step that runs another workflow, marked `sleep`.
pub(crate) fn child_sleep(name: &str) -> String {
    format!(
        "step `{name}` runs another workflow, which cannot be marked `sleep`: sleep in that workflow's `flow!`, or before a step of this one"
    )
}

pub(crate) const RECEIVE_END: &str =
    "`end` cannot receive a signal; receive before a step that takes the message: `-> receive step`";

/// A step marked both `pause` and `receive`.
pub(crate) fn pause_receive(name: &str) -> String {
    format!(
        "step `{name}` is marked both `pause` and `receive`; a step waits for one of them: a value given to its pause (`pause`), or a message sent as a signal (`receive`)"
    )
}

/// A step marked `receive` that takes no message.
pub(crate) fn receive_without_message(name: &str) -> String {
    format!(
        "a step that receives a signal takes the message as its second parameter: `async fn {name}(&self, input: T, message: M)`"
    )
}

/// A step that runs another workflow, marked `receive`.
pub(crate) fn child_receive(name: &str) -> String {
    format!(
        "step `{name}` runs another workflow, which cannot be marked `receive`: receive the signal in a step of this workflow"
    )
}

pub(crate) const ERROR_ROUTE_FROM_START: &str =
    "`start` cannot fail; an error route leaves a step: `step? -> handler`";

pub(crate) const ERROR_ROUTE_SHAPE: &str =
    "an error route leads to one step, which takes the error: `step? -> handler`";

/// An error route from a step that returns no `Result`.
pub(crate) fn error_route_infallible(name: &str) -> String {
    format!(
        "step `{name}` returns no `Result`, so it has no error to route; return `Result<T, E>` from it, or remove `{name}? -> …`"
    )
}

/// An error route from a branch of a fan-out or a map.
pub(crate) fn error_route_from_branch(name: &str) -> String {
    format!(
        "step `{name}` is a branch of a fan-out or a map, whose errors go to the join: mark the fork `[collect]` to handle them there, or remove `{name}? -> …`"
    )
}

/// An error route from a step that runs another workflow.
pub(crate) fn error_route_from_child(name: &str) -> String {
    format!(
        "step `{name}` runs another workflow, whose errors cannot be routed yet: route the error of the step inside it that fails, or remove `{name}? -> …`"
    )
}

/// A second error route from one step.
pub(crate) fn two_error_routes(name: &str) -> String {
    format!("step `{name}` has more than one error route; keep one: `{name}? -> handler`")
}

/// An error route to `end`.
pub(crate) fn error_route_to_end(name: &str) -> String {
    format!(
        "an error route leads to a step that takes the error, not to `end`: `{name}? -> handler; handler -> end;`"
    )
}

/// A handler that an ordinary edge also leads to.
pub(crate) fn handler_not_only(handler: &str) -> String {
    format!(
        "step `{handler}` handles errors (`step? -> {handler}`), so it takes only errors; lead here with an error route, or to another step"
    )
}

pub(crate) const PAUSE_END: &str =
    "`end` cannot be a pause; pause before a step that takes the value: `-> pause step`";

pub(crate) fn step_impl_trait(name: &str) -> String {
    format!(
        "step `{name}` cannot use `impl Trait` in its signature, because its input and output are stored in the \
         workflow's state; name a concrete type"
    )
}

pub(crate) fn borrowed_input(name: &str, ty: &str, owned: &str) -> String {
    format!(
        "step `{name}` takes `{ty}`, a borrowed value; a step's input is stored in the run's state, \
         so it must own its data: take `{owned}` instead"
    )
}

pub(crate) fn input_with_lifetime(name: &str, ty: &str, lifetime: &str) -> String {
    format!(
        "step `{name}` takes `{ty}`, which borrows for `{lifetime}`; a step's input is stored in the \
         run's state, so it must own its data: take a type without the lifetime (an owned one, \
         such as `String` for `&str`)"
    )
}

pub(crate) fn step_reserved(name: &str) -> String {
    format!("`{name}` is a reserved word of `flow!` and cannot name a step; rename the method")
}

pub(crate) fn generated_name(name: &str) -> String {
    let what = match name {
        "run" => "the method that runs the workflow, `workflow.run(input)`",
        "MAX_STEPS" => "the constant that holds the most steps a run can take",
        "GRAPH" => "the constant that holds the graph's edges and routes, for route coverage",
        _ => "the constant that holds the workflow's diagram",
    };
    format!(
        "`{name}` is generated by `#[workflow]` next to the steps ({what}), so this impl block cannot define it; rename it"
    )
}

pub(crate) fn same_variant(name: &str, others: &[String]) -> String {
    let others: Vec<String> = others.iter().map(|other| format!("`{other}`")).collect();
    let others = match others.split_last() {
        Some((last, [])) => format!("step {last}"),
        Some((last, rest)) => format!("steps {} and {last}", rest.join(", ")),
        None => String::new(),
    };
    format!(
        "step `{name}` would get the same variant of the generated state enum as {others}, \
         because their names read the same in UpperCamelCase; rename one of them"
    )
}

pub(crate) fn end_variant(name: &str) -> String {
    format!(
        "step `{name}` would get the variant of the generated state enum that holds the output \
         of a finished run, because its name reads as `end` in UpperCamelCase; rename the method"
    )
}

pub(crate) fn step_twice(name: &str) -> String {
    format!("step `{name}` is defined twice; rename or remove one of them")
}

pub(crate) fn unknown_step_option(name: &str) -> String {
    let close = did_you_mean(name, STEP_OPTIONS.iter().copied());
    format!(
        "unknown step option `{name}`{} valid options are `retry = N`, `backoff = \"100ms\"`, \
         `max_backoff = \"30s\"` and `timeout = \"30s\"`",
        suggestion(close)
    )
}

pub(crate) const STEP_OPTIONS: &[&str] = &["retry", "backoff", "max_backoff", "timeout"];

pub(crate) fn bad_retry() -> &'static str {
    "`retry` takes how many times to retry a failed attempt, as an integer: `retry = 3`"
}

pub(crate) fn bad_duration(option: &str) -> String {
    format!(
        "`{option}` takes a duration as a string with a unit (`ms`, `s`, `m`, `h` or `d`): `{option} = \"30s\"`"
    )
}

// ---- flow! syntax --------------------------------------------------------------------------

pub(crate) const EXPECTED_STATEMENT: &str =
    "expected an edge like `a -> b;`, `a -> match { … };` or `type Output = T;`";
pub(crate) const START_NOT_FIRST: &str = "`start` can only begin a chain: `start -> first_step`";
pub(crate) const END_NOT_LAST: &str = "nothing can follow `end`: it finishes the workflow";
pub(crate) const MATCH_NOT_LAST: &str =
    "nothing can follow a `match`: give each arm its own target instead";
pub(crate) const CHAIN_TOO_SHORT: &str =
    "an edge needs a target: `a -> b`, `a -> end` or `a -> match { … }`";
pub(crate) const MATCH_AFTER_START: &str =
    "`start` cannot be matched on; it passes the workflow's input to the first step: `start -> first_step`";
pub(crate) const BAD_BOUND: &str =
    "expected a loop bound like `[max 3]` or `[max 3 else end(draft)]`";
pub(crate) const ZERO_BOUND: &str = "a loop bound must be at least 1: `[max 1]`";
pub(crate) const ROUTE_ARG_ON_SEQUENCE: &str =
    "in a sequence, the output of the step before is passed on; arguments like `b(expr)` only work in `match` arms";
pub(crate) fn missing_semicolon(next: &str) -> String {
    format!("missing `;` before `{next} -> …`: each edge ends with `;`, as in `a -> b;`")
}

/// After `head` and the targets read so far, something other than `->`.
pub(crate) fn expected_arrow(links: &[crate::parse::Target], head: &syn::Ident) -> String {
    if links.is_empty() {
        format!("expected `->` after `{head}`: an edge reads `{head} -> next_step;`")
    } else {
        "expected `->` or the `;` that ends the edge".to_owned()
    }
}

pub(crate) const FORK_IN_ARM: &str =
    "a fan-out in a `match` arm must be joined in the arm: `Pattern => (b, c) -> join_step,` (or `(b, c)(value) -> join_step` to give the branches `value` instead of the matched value)";

pub(crate) const BOUND_ON_ELSE: &str = "an `else` route cannot have a bound of its own";

pub(crate) fn unknown_type_item(name: &str) -> String {
    format!("unknown item `type {name}` in `flow!`; only `type Output = …;` can be declared (the input is the first step's)")
}

// ---- names and the graph -------------------------------------------------------------------

/// An unknown step name: with its close match, or else with the steps not yet in the graph.
pub(crate) fn unknown_step(name: &str, close: Option<&str>, unused: &[String]) -> String {
    match (close, unused) {
        (Some(close), _) => format!("unknown step `{name}`; did you mean `{close}`?"),
        (None, []) => format!(
            "unknown step `{name}`; steps are the `async fn`s of this `impl` block, and `start` and `end` mark the ends of the graph"
        ),
        (None, unused) => format!(
            "unknown step `{name}`; the steps not yet in the graph are {}",
            unused.iter().map(|step| format!("`{step}`")).collect::<Vec<_>>().join(", ")
        ),
    }
}

pub(crate) const NO_START: &str = "the graph has no `start`; add `start -> first_step;` to `flow!`";

pub(crate) fn second_start() -> &'static str {
    "the graph has two `start` edges; a run begins at one step, so keep one `start -> …`"
}

pub(crate) fn two_successors(name: &str, targets: &[String]) -> String {
    let branches = match targets {
        [first, second, ..] => format!("{first}, {second}"),
        _ => "b, c".to_owned(),
    };
    format!(
        "step `{name}` has two outgoing edges, but a step goes to one next step: to choose one, \
         route with `{name} -> match {{ … }}`; to run both at once, fan out and join: \
         `{name} -> ({branches}) -> join_step`"
    )
}

pub(crate) fn not_in_graph(name: &str) -> String {
    format!(
        "step `{name}` is not in the graph; add an edge to it in `flow!`, or move it to another `impl` block if it is a helper"
    )
}

pub(crate) fn unreachable_step(name: &str) -> String {
    format!("step `{name}` is unreachable from `start`; add an edge into it, or remove it")
}

pub(crate) fn dead_end(name: &str) -> String {
    format!("step `{name}` has no outgoing edge; add `{name} -> next_step;` or `{name} -> end;`")
}

pub(crate) fn unbounded_cycle(cycle: &str) -> String {
    format!(
        "the cycle `{cycle}` has no bound, so a run could loop forever; bound one of its edges with `[max N]`, e.g. `[max 3]`"
    )
}

pub(crate) fn never_ends(name: &str) -> String {
    format!(
        "step `{name}` can never reach `end`: every path from it loops back; add an exit, e.g. an `else end` to a loop bound or a `match` arm to `end`"
    )
}

pub(crate) fn no_end_after(name: &str) -> String {
    format!(
        "the graph has no `end`, and step `{name}` has no outgoing edge; finish the run there: `{name} -> end;`"
    )
}

pub(crate) fn no_end_in_loop(max: u32) -> String {
    format!(
        "the graph has no `end`: this loop fails the run when it reaches its bound; leave the loop there instead: `[max {max} else end]`"
    )
}

pub(crate) const NO_PATH_TO_END: &str =
    "no path leads from `start` to `end`; add an edge to `end`, e.g. `last_step -> end;`";

pub(crate) const OUTPUT_UNKNOWN: &str =
    "cannot infer the workflow's output type, because no step goes straight to `end`; declare it in `flow!`: `type Output = T;`";

// ---- type checks placed by rustc (on_unimplemented messages of generated traits) -----------

pub(crate) fn edge_mismatch(from: &str, to: &str) -> String {
    format!("step `{from}` outputs `{{Self}}`, but step `{to}` takes `{{__T}}`")
}

pub(crate) fn route_mismatch(to: &str) -> String {
    format!("this route passes `{{Self}}` to step `{to}`, which takes `{{__T}}`")
}

pub(crate) fn error_mismatch(from: &str, to: &str) -> String {
    format!("the error of step `{from}` is `{{Self}}`, but its handler `{to}` takes `{{__T}}`")
}

pub(crate) fn end_mismatch(from: &str) -> String {
    format!("step `{from}` outputs `{{Self}}`, but the workflow's output is `{{__T}}`")
}

pub(crate) const END_ROUTE_MISMATCH: &str =
    "`end` receives `{Self}`, but the workflow's output is `{__T}`";

pub(crate) const OUTPUT_NOTE: &str =
    "every `end` of a workflow produces the same output type; declare it with `type Output = T;` in `flow!`";

pub(crate) const NOT_NAMED: &str = "`#[workflow]` needs a named type: `impl MyWorkflow { … }`";
pub(crate) const START_TO_END: &str =
    "`start -> end` skips every step; a workflow runs at least one step: `start -> first_step`";

pub(crate) fn useless_bound(from: &str, to: &str) -> String {
    format!(
        "the edge `{from} -> {to}` is not part of a loop, so its bound can never be reached; remove the `[max N]`"
    )
}

// ---- fan-out and map ----------------------------------------------------------------------

pub(crate) const FORK_AFTER_FORK: &str =
    "a fan-out must be joined by a step before the next one: `(b, c) -> join -> (d, e)`";
pub(crate) const MATCH_AFTER_FORK: &str =
    "a fan-out is joined by a step, which can then route: `(b, c) -> join;` and `join -> match { … };`";
pub(crate) const FORK_NOT_JOINED: &str =
    "a fan-out must be joined: add `-> step`, where `step` takes the outputs of the branches (or `-> end`)";
pub(crate) const BAD_BRANCH: &str =
    "expected a step name: a fan-out lists its branches as `(step, step, …)`";
pub(crate) const ONE_BRANCH: &str =
    "a fan-out needs at least two branches, `(b, c)`; to run one step write `a -> b`, to run it on each element of a collection write `a -> each b`";
pub(crate) const BAD_CONCURRENCY: &str =
    "`concurrency` takes how many elements may run at once, at least 1: `[concurrency 4]`";
pub(crate) const CONCURRENCY_ON_FAN_OUT: &str =
    "`concurrency` applies to `each`; the branches of a fan-out all run at once";
pub(crate) const BOUND_ON_FORK: &str =
    "a fan-out cannot have a bound; bound an edge of the loop instead, e.g. the one leaving the join step";

pub(crate) fn fork_options(map: bool) -> &'static str {
    if map {
        "expected `collect` or `concurrency N`: `each step [concurrency 4, collect]`"
    } else {
        "expected `collect`: `(b, c) [collect]` gives the join step every branch's `Result`"
    }
}

pub(crate) fn unknown_fork_option(name: &str, map: bool) -> String {
    let options: &[&str] = if map {
        &["collect", "concurrency"]
    } else {
        &["collect"]
    };
    let close = did_you_mean(name, options.iter().copied());
    let valid = if map {
        "valid options are `collect` and `concurrency N`"
    } else {
        "the valid option is `collect`"
    };
    format!("unknown option `{name}`{} {valid}", suggestion(close))
}

pub(crate) fn branch_has_edges(name: &str, join: &str) -> String {
    format!(
        "step `{name}` is a branch of a fan-out, whose output goes to `{join}`; it cannot have edges of its own"
    )
}

pub(crate) fn branch_elsewhere(name: &str) -> String {
    format!(
        "step `{name}` is a branch of a fan-out, so it runs only there; to run the same code elsewhere, call it from another step"
    )
}

pub(crate) fn duplicate_branch(name: &str) -> String {
    format!("step `{name}` is already a branch of this fan-out")
}

pub(crate) fn fan_out_too_wide(fork: &str, branches: usize, max: usize) -> String {
    format!(
        "the fan-out `{fork}` has {branches} branches, more than the {max} a fan-out can have (its join takes a tuple, and the run's state stores one, which serde does up to {max} elements); to run one step over many values, map over a collection: `a -> each b -> join`, where `a` outputs a `Vec` and `join` takes a `Vec` of `b`'s outputs; or group the branches into nested workflows of at most {max} each"
    )
}

pub(crate) fn join_arity(fork: &str, branches: usize, join: &str, takes: usize) -> String {
    format!(
        "the fan-out `{fork}` has {branches} branches, but step `{join}` takes a tuple of {takes}; it takes one element per branch, in order"
    )
}

pub(crate) fn branch_mismatch(branch: &str, join: &str, position: usize) -> String {
    format!(
        "branch `{branch}` outputs `{{Self}}`, but step `{join}` takes `{{__T}}` as element {position} of its tuple"
    )
}

pub(crate) fn collected_mismatch(branch: &str, join: &str, position: usize) -> String {
    format!(
        "with `[collect]`, branch `{branch}` gives `{{Self}}`, but step `{join}` takes `{{__T}}` as element {position} of its tuple"
    )
}

/// "the fan-out `(b, c)`" or "the map `each b`".
fn fork_name(fork: &str) -> String {
    if fork.starts_with("each ") {
        format!("the map `{fork}`")
    } else {
        format!("the fan-out `{fork}`")
    }
}

pub(crate) fn join_mismatch(fork: &str, join: &str) -> String {
    format!(
        "{} gives `{{Self}}`, but step `{join}` takes `{{__T}}`",
        fork_name(fork)
    )
}

pub(crate) fn join_end_mismatch(fork: &str) -> String {
    format!(
        "{} gives `{{Self}}`, but the workflow's output is `{{__T}}`",
        fork_name(fork)
    )
}

pub(crate) fn fork_input_mismatch(from: &str, branch: &str) -> String {
    format!("step `{from}` outputs `{{Self}}`, but branch `{branch}` takes `{{__T}}`")
}

pub(crate) fn branch_input_mismatch(first: &str, branch: &str) -> String {
    format!(
        "every branch of a fan-out gets the same input: branch `{first}` takes `{{Self}}`, but branch `{branch}` takes `{{__T}}`"
    )
}

pub(crate) fn items_mismatch(from: &str, step: &str) -> String {
    format!(
        "step `{from}` outputs `{{Self}}`, but `each {step}` needs a collection of `{{__T}}`, what `{step}` takes"
    )
}

pub(crate) const ITEMS_LABEL: &str = "this edge needs `IntoIterator<Item = …>`";

pub(crate) fn child_retry(name: &str, child: &str) -> String {
    format!(
        "step `{name}` runs the workflow `{child}`, which is not retried as a whole; remove `retry` here and give the steps of `{child}` their own `#[step(retry = N)]`"
    )
}

pub(crate) fn child_pause(name: &str) -> String {
    format!(
        "step `{name}` runs another workflow, which cannot be marked `pause`; its own pauses are this workflow's pauses: remove `pause` here"
    )
}

/// `x.into()` as a route's argument, where `x` does not convert into what the route passes on.
pub(crate) const ROUTE_INTO: &str =
    "`.into()` here must convert `{Self}` into `{T}`, the type this route passes on, and it does not";

/// The workflow's type is not `Send + Sync`.
pub(crate) const NOT_SYNC: &str = "a workflow must be `Send + Sync`, and `{Self}` is not";

#[cfg(test)]
mod tests {
    use super::{did_you_mean, edit_distance};

    #[test]
    fn distances() {
        assert_eq!(edit_distance("parse", "parse"), 0);
        assert_eq!(edit_distance("prase", "parse"), 1);
        assert_eq!(edit_distance("reveiw", "review"), 1);
        assert_eq!(edit_distance("draft", "drafts"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        let steps = ["draft", "critique", "revise"];
        assert_eq!(did_you_mean("critque", steps), Some("critique"));
        assert_eq!(did_you_mean("revies", steps), Some("revise"));
        assert_eq!(did_you_mean("publish", steps), None);
        assert_eq!(did_you_mean("x", steps), None);
    }
}
