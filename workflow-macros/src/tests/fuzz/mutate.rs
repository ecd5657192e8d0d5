//! The mutations of the fuzzer: delete, repeat, swap, replace or wrap tokens at any depth,
//! unwrap groups, insert literals, names and snippets of `flow!` syntax, drop arrows and
//! separators, and rename an identifier everywhere.

use proc_macro2::{Delimiter, Group, Ident, Literal, Spacing, Span, TokenStream, TokenTree};
use quote::quote;

use super::corpus::leaves;
use super::Rng;

/// Tokens and snippets that matter to the macro, to insert anywhere.
pub(super) fn snippets() -> Vec<TokenStream> {
    vec![
        quote!(->),
        quote!(;),
        quote!(,),
        quote!(=>),
        quote!([max 3]),
        quote!([max 0]),
        quote!([max 4294967296]),
        quote!([max 2 else end]),
        quote!([max 1 else end(x)]),
        quote!([collect]),
        quote!([concurrency 0]),
        quote!([concurrency 2, collect]),
        quote!(pause),
        quote!(each),
        quote!(match),
        quote!(match {}),
        quote!(start),
        quote!(end),
        quote!(end(x)),
        quote!(else),
        quote!(r#end),
        quote!(r#start),
        quote!(_),
        quote!(_1),
        quote!(__),
        quote!(self_),
        quote!(end_),
        quote!(r#match),
        quote!((a, b)),
        quote!(()),
        quote!(
            type Output = String;
        ),
        quote!(type Output = ;),
        quote!(start -> end;),
        quote!(flow! {}),
        quote!(
            async fn _1(&self, x: u8) -> u8 {
                x
            }
        ),
        quote!(
            async fn end_(&self) {}
        ),
        quote!(#[step(retry = 3)]),
        quote!(#[step]),
        quote!(version = 1),
        quote!(crate = ::workflow),
        quote!(state = S),
        quote!(impl),
        quote!(&self),
        quote!(self),
        quote!(Result<u8>),
        quote!(Result),
        quote!(Result<u8, E>),
        quote!(impl Trait),
        quote!('a),
        quote!(<T>),
        quote!(where T: Clone),
    ]
}

fn literal(rng: &mut Rng) -> TokenTree {
    let literal = match rng.below(10) {
        0 => Literal::u32_unsuffixed(0),
        1 => Literal::u64_unsuffixed(u64::MAX),
        2 => Literal::string(""),
        3 => Literal::string("30s"),
        4 => Literal::string("99999999999999999999h"),
        5 => Literal::f64_unsuffixed(1.5),
        6 => Literal::character('x'),
        7 => Literal::u8_suffixed(3),
        8 => Literal::i32_unsuffixed(-1),
        _ => Literal::u32_unsuffixed(rng.next().to_le_bytes()[0].into()),
    };
    TokenTree::Literal(literal)
}

fn ident(rng: &mut Rng) -> TokenTree {
    let names = [
        "a",
        "b",
        "end",
        "start",
        "_1",
        "__",
        "self_",
        "end_",
        "r#match",
        "r#Flow",
        "each",
        "pause",
        "max",
        "collect",
        "concurrency",
        "Output",
        "Result",
        "Self",
        "join",
        "fork",
    ];
    let name = rng.pick(&names);
    let ident = match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    };
    TokenTree::Ident(ident)
}

pub(super) struct Mutator<'a> {
    pub(super) rng: Rng,
    pub(super) pool: &'a [TokenTree],
    pub(super) snippets: &'a [TokenStream],
}

impl Mutator<'_> {
    /// `stream` with every occurrence of one of its identifiers renamed, so that a valid
    /// workflow often stays valid under a new name (`draft` everywhere becomes `_1`).
    pub(super) fn rename(&mut self, stream: TokenStream) -> TokenStream {
        let mut names = Vec::new();
        leaves(stream.clone(), &mut names);
        names.retain(|tree| matches!(tree, TokenTree::Ident(_)));
        if names.is_empty() {
            return stream;
        }
        let from = self.rng.pick(&names).to_string();
        let to = ident(&mut self.rng);
        replace_ident(stream, &from, &to)
    }

    /// `stream` with one mutation, at a random depth.
    pub(super) fn mutate(&mut self, stream: TokenStream) -> TokenStream {
        let mut trees: Vec<TokenTree> = stream.into_iter().collect();
        let index = self.rng.below(trees.len() + 1);
        if let Some(TokenTree::Group(group)) = trees.get(index) {
            if self.rng.below(3) > 0 {
                let mut inner = Group::new(group.delimiter(), self.mutate(group.stream()));
                inner.set_span(group.span());
                trees[index] = TokenTree::Group(inner);
                return trees.into_iter().collect();
            }
        }
        self.mutate_here(&mut trees, index);
        trees.into_iter().collect()
    }

    fn mutate_here(&mut self, trees: &mut Vec<TokenTree>, index: usize) {
        let at = index.min(trees.len().saturating_sub(1));
        match self.rng.below(12) {
            0 | 1 if !trees.is_empty() => {
                trees.remove(at);
            }
            2 if !trees.is_empty() => {
                let tree = trees[at].clone();
                trees.insert(at, tree);
            }
            3 if trees.len() > 1 => {
                let other = self.rng.below(trees.len());
                trees.swap(at, other);
            }
            4 | 5 if !trees.is_empty() => trees[at] = self.rng.pick(self.pool).clone(),
            6 if !trees.is_empty() => {
                // Wrap a run of tokens in a group.
                let end = (at + 1 + self.rng.below(4)).min(trees.len());
                let delimiter = *self.rng.pick(&[
                    Delimiter::Parenthesis,
                    Delimiter::Bracket,
                    Delimiter::Brace,
                    Delimiter::None,
                ]);
                let inner: TokenStream = trees.drain(at..end).collect();
                trees.insert(at, TokenTree::Group(Group::new(delimiter, inner)));
            }
            7 if !trees.is_empty() => {
                // A group's contents, without the group.
                if let TokenTree::Group(group) = trees.remove(at) {
                    for (offset, tree) in group.stream().into_iter().enumerate() {
                        trees.insert(at + offset, tree);
                    }
                }
            }
            8 => trees.insert(index, literal(&mut self.rng)),
            9 => trees.insert(index, ident(&mut self.rng)),
            10 => self.remove_arrow_or_separator(trees),
            _ => {
                let snippet = self.rng.pick(self.snippets).clone();
                for (offset, tree) in snippet.into_iter().enumerate() {
                    trees.insert(index + offset, tree);
                }
            }
        }
    }

    /// Removes one of `->`, `=>`, `;` or `,` at this level, if there is one.
    fn remove_arrow_or_separator(&mut self, trees: &mut Vec<TokenTree>) {
        let marks: Vec<usize> = (0..trees.len())
            .filter(|&i| matches!(&trees[i], TokenTree::Punct(p) if matches!(p.as_char(), ';' | ',' | '>' )))
            .collect();
        if marks.is_empty() {
            return;
        }
        let at = *self.rng.pick(&marks);
        let arrow = at > 0
            && matches!(&trees[at], TokenTree::Punct(p) if p.as_char() == '>')
            && matches!(&trees[at - 1], TokenTree::Punct(p) if matches!(p.as_char(), '-' | '=') && p.spacing() == Spacing::Joint);
        trees.remove(at);
        if arrow {
            trees.remove(at - 1);
        }
    }
}

/// `stream` with every identifier `from` replaced by `to`.
fn replace_ident(stream: TokenStream, from: &str, to: &TokenTree) -> TokenStream {
    stream
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) if ident == from => to.clone(),
            TokenTree::Group(group) => {
                let mut inner =
                    Group::new(group.delimiter(), replace_ident(group.stream(), from, to));
                inner.set_span(group.span());
                TokenTree::Group(inner)
            }
            other => other,
        })
        .collect()
}
