//! Fuzzing of the whole macro: the `#[workflow]` impl blocks of the pass cases, the examples
//! and the facade's tests, mutated at random, must never make it panic, and what it emits
//! without errors must be valid Rust syntax.
//!
//! Deterministic: case `n` of a run uses seed `WORKFLOW_FUZZ_SEED + n`. `WORKFLOW_FUZZ_CASES`
//! sets how many cases run (20,000 by default); a failure prints the seed of its case, which
//! `WORKFLOW_FUZZ_SEED=<seed> WORKFLOW_FUZZ_CASES=1` replays.

mod corpus;
mod mutate;

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};

use proc_macro2::TokenStream;

use crate::workflow_impl;
use corpus::{corpus, leaves};
use mutate::{snippets, Mutator};

const DEFAULT_CASES: u64 = 20_000;
const DEFAULT_SEED: u64 = 0x5eed_f00d;

/// xorshift64*: enough randomness for mutations, and no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Mix the seed so that neighbouring seeds start far apart; never zero.
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        for _ in 0..4 {
            rng.next();
        }
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound`; 0 if `bound` is 0.
    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        let bound = u64::try_from(bound).unwrap_or(u64::MAX);
        usize::try_from(self.next() % bound).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// What went wrong with one mutant.
struct Failure {
    seed: u64,
    origin: String,
    what: String,
    args: String,
    item: String,
}

/// Runs the macro on `args` and `item`: `Err` if it panics, or if it reports no error but
/// emits something that is not Rust (checked if `syntax`: parsing takes most of the time);
/// else whether it reported no error.
fn run(args: TokenStream, item: &TokenStream, syntax: bool) -> Result<bool, String> {
    let output = catch_unwind(AssertUnwindSafe(|| workflow_impl(args, item))).map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        format!("panicked: {message}")
    })?;
    if has_errors(output.clone()) {
        return Ok(false);
    }
    if !syntax {
        return Ok(true);
    }
    syn::parse2::<syn::File>(output).map_err(|error| format!("emitted invalid Rust: {error}"))?;
    Ok(true)
}

/// Whether `output` reports an error: it calls `compile_error!`.
fn has_errors(output: TokenStream) -> bool {
    output.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => ident == "compile_error",
        proc_macro2::TokenTree::Group(group) => has_errors(group.stream()),
        _ => false,
    })
}

#[test]
fn mutants_never_make_the_macro_panic() {
    let corpus = corpus();
    assert!(corpus.len() > 40, "only {} workflows found", corpus.len());
    for seed in &corpus {
        let result = run(seed.args.clone(), &seed.item, true);
        assert_eq!(result, Ok(true), "{} as written", seed.origin);
    }
    let mut pool = Vec::new();
    for seed in &corpus {
        leaves(seed.item.clone(), &mut pool);
    }
    let snippets = snippets();
    let cases = env_u64("WORKFLOW_FUZZ_CASES").unwrap_or(DEFAULT_CASES);
    let base = env_u64("WORKFLOW_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let mut failures: Vec<Failure> = Vec::new();
    let (mut valid, mut checked) = (0_u64, 0_u64);
    // Distinct mutants (by the hash of their text), for the summary only.
    let (mut distinct, mut distinct_valid) = (HashSet::new(), HashSet::new());
    for case in 0..cases {
        let seed = base.wrapping_add(case);
        let mut mutator = Mutator {
            rng: Rng::new(seed),
            pool: &pool,
            snippets: &snippets,
        };
        let original = &corpus[mutator.rng.below(corpus.len())];
        let (mut args, mut item) = (original.args.clone(), original.item.clone());
        // The syntax of the output is checked after a renaming, which makes new generated
        // names, and in one case out of four otherwise.
        let mut syntax = seed % 4 == 0;
        for _ in 0..=mutator.rng.below(3) {
            match mutator.rng.below(10) {
                0 => args = mutator.mutate(args),
                1 | 2 => {
                    item = mutator.rename(item);
                    syntax = true;
                }
                _ => item = mutator.mutate(item),
            }
        }
        let mut hasher = DefaultHasher::new();
        (args.to_string(), item.to_string()).hash(&mut hasher);
        let text = hasher.finish();
        distinct.insert(text);
        match run(args.clone(), &item, syntax) {
            Ok(true) => {
                valid += 1;
                distinct_valid.insert(text);
                checked += u64::from(syntax);
            }
            Ok(false) => {}
            Err(what) => failures.push(Failure {
                seed,
                origin: original.origin.clone(),
                what,
                args: args.to_string(),
                item: item.to_string(),
            }),
        }
    }
    println!(
        "{cases} mutants of {} workflows: {valid} expanded without errors \
         ({checked} of them parsed back), {} failed",
        corpus.len(),
        failures.len()
    );
    eprintln!(
        "{} distinct mutants, {} of them expanded without errors",
        distinct.len(),
        distinct_valid.len()
    );
    let report: Vec<String> = failures
        .iter()
        .take(5)
        .map(|f| {
            format!(
                "seed {:#x} (from {}): {}\nargs: {}\nitem: {}",
                f.seed, f.origin, f.what, f.args, f.item
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {cases} mutants failed; the first:\n\n{}",
        failures.len(),
        report.join("\n\n")
    );
}
