//! The seeds of the fuzzer: every `#[workflow]` impl block of the pass cases, the examples and
//! the facade's tests, read from their files, plus the samples of `tests.rs`.

use std::path::Path;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

/// One `#[workflow]` use: its arguments and its impl block without the attribute.
#[derive(Clone)]
pub(super) struct Seed {
    pub(super) origin: String,
    pub(super) args: TokenStream,
    pub(super) item: TokenStream,
}

/// Every `#[workflow]` impl block in the Rust files of `dirs`, relative to the workspace.
fn seeds(dirs: &[&str]) -> Vec<Seed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seeds = Vec::new();
    for dir in dirs {
        // A folder moved away would leave the corpus without its cases: say so.
        let entries = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|error| panic!("the corpus folder `{dir}`: {error}"));
        let mut paths: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        paths.sort();
        for path in paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        {
            let text = std::fs::read_to_string(path).expect("readable");
            let file = syn::parse_file(&text).expect("a Rust file");
            let origin = format!("{dir}/{}", path.file_name().unwrap_or_default().display());
            collect(&file.items, &origin, &mut seeds);
        }
    }
    seeds
}

fn collect(items: &[syn::Item], origin: &str, seeds: &mut Vec<Seed>) {
    for item in items {
        match item {
            syn::Item::Impl(item) => {
                let mut item = item.clone();
                let position = item.attrs.iter().position(|attr| {
                    attr.path()
                        .segments
                        .last()
                        .is_some_and(|last| last.ident == "workflow")
                });
                let Some(position) = position else { continue };
                let attr = item.attrs.remove(position);
                let args = match attr.meta {
                    syn::Meta::List(list) => list.tokens,
                    _ => TokenStream::new(),
                };
                seeds.push(Seed {
                    origin: origin.to_owned(),
                    args,
                    item: item.to_token_stream(),
                });
            }
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    collect(items, origin, seeds);
                }
            }
            syn::Item::Fn(function) => {
                // Workflows declared inside a test function.
                let items: Vec<syn::Item> = function
                    .block
                    .stmts
                    .iter()
                    .filter_map(|stmt| match stmt {
                        syn::Stmt::Item(item) => Some(item.clone()),
                        _ => None,
                    })
                    .collect();
                collect(&items, origin, seeds);
            }
            _ => {}
        }
    }
}

/// Every leaf token of `stream`, at any depth, and every small group.
pub(super) fn leaves(stream: TokenStream, out: &mut Vec<TokenTree>) {
    for tree in stream {
        if let TokenTree::Group(group) = &tree {
            if group.stream().into_iter().count() <= 6 {
                out.push(tree.clone());
            }
            leaves(group.stream(), out);
        } else {
            out.push(tree);
        }
    }
}

/// The samples of `tests.rs` and every `#[workflow]` of the pass cases, the examples and the
/// facade's tests.
pub(super) fn corpus() -> Vec<Seed> {
    let mut seeds = vec![
        Seed {
            origin: "tests.rs sample".to_owned(),
            args: TokenStream::new(),
            item: crate::tests::sample(),
        },
        Seed {
            origin: "tests.rs parallel sample".to_owned(),
            args: TokenStream::new(),
            item: crate::tests::parallel_sample(),
        },
    ];
    seeds.extend(self::seeds(&["ui/tests/ui/pass", "examples", "tests"]));
    seeds
}
