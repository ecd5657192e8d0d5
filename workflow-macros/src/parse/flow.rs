//! Reads the body of `flow! { … }` into a syntax tree, one statement at a time, so that one bad
//! statement does not hide the errors of the others.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{braced, bracketed, parenthesized, token, Expr, Ident, Lit, LitInt, Pat, Token, Type};

use crate::diag::{self, Errors};

/// The statements of a `flow!` block.
pub(crate) struct Flow {
    /// Where `flow!` was written, for errors about the graph as a whole.
    pub(crate) span: Span,
    pub(crate) outputs: Vec<Type>,
    pub(crate) chains: Vec<Chain>,
    /// Whether a statement could not be read: the graph is then missing edges, and only the
    /// rules that do not need the whole graph are checked.
    pub(crate) incomplete: bool,
}

/// `head -> target -> target …`, or `head? -> handler -> target …` (an error route).
pub(crate) struct Chain {
    pub(crate) head: Ident,
    /// `head?`: the first link is where `head`'s error goes, not its output.
    pub(crate) error: Option<Span>,
    pub(crate) links: Vec<Target>,
}

#[allow(clippy::large_enum_variant)] // one per link of a chain, read once
pub(crate) enum Target {
    Route(Route),
    Match {
        token: Token![match],
        arms: Vec<Arm>,
    },
    Fork(Fork),
}

/// `(b, c, d)` (a static fan-out) or `each b` (a map over a collection), with options
/// `[collect]` and, for `each`, `[concurrency N]`.
pub(crate) struct Fork {
    /// The parentheses, or `each`.
    pub(crate) span: Span,
    /// The last token of the fork as written.
    pub(crate) last: Span,
    /// `each b`: one step, run once per element.
    pub(crate) map: bool,
    pub(crate) branches: Vec<Ident>,
    pub(crate) concurrency: Option<u32>,
    /// `[collect]`: the join gets every branch's `Result`.
    pub(crate) collect: bool,
}

/// `step`, `step(expr)`, `end` or `end(expr)`, with an optional bound, maybe after `pause`,
/// `receive` or `sleep "1h" ->`.
pub(crate) struct Route {
    /// `sleep "1h" -> step`: the run sleeps before `step` runs.
    pub(crate) sleep: Option<Box<Sleep>>,
    /// `pause step`: the run waits for a value from outside before `step` runs.
    pub(crate) pause: Option<Span>,
    /// `receive step`: the run waits for a message of a signal before `step` runs.
    pub(crate) receive: Option<Span>,
    pub(crate) name: Ident,
    pub(crate) arg: Option<Expr>,
    pub(crate) bound: Option<Bound>,
    /// The last token of the route as written, its bound included.
    pub(crate) end: Span,
}

/// `sleep "1h" ->` before a route: a durable timer.
#[derive(Clone)]
pub(crate) struct Sleep {
    /// The keyword `sleep`.
    pub(crate) span: Span,
    /// The duration as written.
    pub(crate) text: String,
    pub(crate) millis: u64,
}

/// `[max N]` or `[max N else route]`.
pub(crate) struct Bound {
    pub(crate) span: Span,
    /// The closing bracket.
    pub(crate) end: Span,
    pub(crate) max: u32,
    pub(crate) fallback: Option<Box<Route>>,
}

pub(crate) struct Arm {
    pub(crate) pat: Pat,
    pub(crate) guard: Option<Expr>,
    /// Where the arm leads; for an arm that fans out, a route named `fork` at the fork, with
    /// the fork's argument.
    pub(crate) route: Route,
    /// `Pattern => (b, c) -> join` or `Pattern => each b -> join`: the fork, and its join.
    pub(crate) fork: Option<(Fork, Route)>,
}

/// Parses the body of `flow!`, reporting each bad statement and keeping the good ones.
pub(crate) fn parse(span: Span, body: TokenStream, errors: &mut Errors) -> Flow {
    let mut flow = Flow {
        span,
        outputs: Vec::new(),
        chains: Vec::new(),
        incomplete: false,
    };
    for statement in statements(body) {
        let result = Parser::parse2(
            |input: ParseStream<'_>| statement_into(input, &mut flow, errors),
            statement,
        );
        if let Err(error) = result {
            errors.add(error);
            flow.incomplete = true;
        }
    }
    flow
}

/// Splits a token stream at its top-level semicolons.
fn statements(body: TokenStream) -> Vec<TokenStream> {
    let mut statements = Vec::new();
    let mut current = Vec::new();
    for token in body {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == ';' => {
                statements.push(current.drain(..).collect());
            }
            _ => current.push(token),
        }
    }
    if !current.is_empty() {
        statements.push(current.into_iter().collect());
    }
    statements
}

/// Reads one statement; a missing `;` before the next one is reported, and the next one read.
fn statement_into(input: ParseStream<'_>, flow: &mut Flow, errors: &mut Errors) -> syn::Result<()> {
    if input.peek(Token![type]) {
        input.parse::<Token![type]>()?;
        let name: Ident = input.parse()?;
        if name != "Output" {
            return Err(syn::Error::new(
                name.span(),
                diag::unknown_type_item(&name.to_string()),
            ));
        }
        input.parse::<Token![=]>()?;
        flow.outputs.push(input.parse()?);
        return Ok(());
    }
    if !input.peek(syn::Ident) {
        return Err(input.error(diag::EXPECTED_STATEMENT));
    }
    loop {
        let (chain, end) = chain(input)?;
        flow.chains.push(chain);
        if input.is_empty() {
            return Ok(());
        }
        // `chain` stops early only before the start of another edge.
        let next: Ident = input.fork().parse()?;
        errors.push(end, diag::missing_semicolon(&next.to_string()));
    }
}

/// Whether the input goes on with the start of another edge, `name ->`: after a complete
/// edge, a missing `;`.
fn starts_edge(input: ParseStream<'_>) -> bool {
    input.peek(syn::Ident) && input.peek2(Token![->])
}

/// An edge, and its last token. Stops before the start of another edge (a missing `;`).
fn chain(input: ParseStream<'_>) -> syn::Result<(Chain, Span)> {
    let head: Ident = input.parse()?;
    if head == "end" {
        return Err(syn::Error::new(head.span(), diag::END_NOT_LAST));
    }
    let mut links: Vec<Target> = Vec::new();
    let mut end = head.span();
    let error = error_route(input, &head)?;
    if error.is_some() {
        let route = route(input)?;
        if let Some(arg) = &route.arg {
            return Err(syn::Error::new(arg.span(), diag::ROUTE_ARG_ON_SEQUENCE));
        }
        end = route.end;
        links.push(Target::Route(route));
    }
    while !input.is_empty() {
        if !links.is_empty() && starts_edge(input) {
            break;
        }
        let arrow: Token![->] = input
            .parse()
            .map_err(|error| syn::Error::new(error.span(), diag::expected_arrow(&links, &head)))?;
        if let Some(last) = links.last() {
            match last {
                Target::Match { .. } => {
                    return Err(syn::Error::new(arrow.span(), diag::MATCH_NOT_LAST))
                }
                Target::Route(route) if route.name == "end" => {
                    return Err(syn::Error::new(arrow.span(), diag::END_NOT_LAST))
                }
                Target::Route(_) => {}
                Target::Fork(_) if input.peek(token::Paren) || is_each(input) => {
                    return Err(input.error(diag::FORK_AFTER_FORK));
                }
                Target::Fork(_) if input.peek(Token![match]) => {
                    return Err(input.error(diag::MATCH_AFTER_FORK));
                }
                Target::Fork(_) => {}
            }
        }
        let target = if input.peek(Token![match]) {
            if head == "start" && links.is_empty() {
                return Err(input.error(diag::MATCH_AFTER_START));
            }
            let (target, close) = match_target(input)?;
            end = close;
            target
        } else if input.peek(token::Paren) || is_each(input) {
            let fork = if input.peek(token::Paren) {
                fan_out(input)?
            } else {
                each(input)?
            };
            end = fork.last;
            Target::Fork(fork)
        } else {
            let route = route(input)?;
            if let Some(arg) = &route.arg {
                return Err(syn::Error::new(arg.span(), diag::ROUTE_ARG_ON_SEQUENCE));
            }
            end = route.end;
            Target::Route(route)
        };
        links.push(target);
    }
    match links.last() {
        None => return Err(syn::Error::new(head.span(), diag::CHAIN_TOO_SHORT)),
        Some(Target::Fork(fork)) => return Err(syn::Error::new(fork.last, diag::FORK_NOT_JOINED)),
        Some(_) => {}
    }
    Ok((Chain { head, error, links }, end))
}

/// `head? ->`, the start of an error route, if there: the `?`. What follows is one step.
fn error_route(input: ParseStream<'_>, head: &Ident) -> syn::Result<Option<Span>> {
    if !input.peek(Token![?]) {
        return Ok(None);
    }
    let mark: Token![?] = input.parse()?;
    if head == "start" {
        return Err(syn::Error::new(mark.span, diag::ERROR_ROUTE_FROM_START));
    }
    input
        .parse::<Token![->]>()
        .map_err(|error| syn::Error::new(error.span(), diag::ERROR_ROUTE_SHAPE))?;
    if input.peek(Token![match]) || input.peek(token::Paren) || is_each(input) {
        return Err(input.error(diag::ERROR_ROUTE_SHAPE));
    }
    Ok(Some(mark.span))
}

/// Whether the input goes on with `each step`.
fn is_each(input: ParseStream<'_>) -> bool {
    input
        .fork()
        .parse::<Ident>()
        .is_ok_and(|ident| ident == "each")
        && input.peek2(syn::Ident)
}

/// `(b, c, d)` with its options.
fn fan_out(input: ParseStream<'_>) -> syn::Result<Fork> {
    let content;
    let paren = parenthesized!(content in input);
    let names = content.parse_terminated(
        |input: ParseStream<'_>| {
            input
                .parse::<Ident>()
                .map_err(|error| syn::Error::new(error.span(), diag::BAD_BRANCH))
        },
        Token![,],
    )?;
    let span = paren.span.join();
    if names.len() < 2 {
        return Err(syn::Error::new(span, diag::ONE_BRANCH));
    }
    let mut fork = Fork {
        span,
        last: paren.span.close(),
        map: false,
        branches: names.into_iter().collect(),
        concurrency: None,
        collect: false,
    };
    fork_options(input, &mut fork)?;
    Ok(fork)
}

/// `each b` with its options.
fn each(input: ParseStream<'_>) -> syn::Result<Fork> {
    let each: Ident = input.parse()?;
    let step: Ident = input.parse()?;
    let mut fork = Fork {
        span: each.span(),
        last: step.span(),
        map: true,
        branches: vec![step],
        concurrency: None,
        collect: false,
    };
    fork_options(input, &mut fork)?;
    Ok(fork)
}

/// `[collect]`, `[concurrency N]` or both, comma-separated, after a fork.
fn fork_options(input: ParseStream<'_>, fork: &mut Fork) -> syn::Result<()> {
    if !input.peek(token::Bracket) {
        return Ok(());
    }
    let content;
    let bracket = bracketed!(content in input);
    fork.last = bracket.span.close();
    let mut seen: Vec<String> = Vec::new();
    while !content.is_empty() {
        let option: Ident = content
            .parse()
            .map_err(|error| syn::Error::new(error.span(), diag::fork_options(fork.map)))?;
        let name = option.to_string();
        if seen.contains(&name) {
            return Err(syn::Error::new(option.span(), diag::duplicate_arg(&name)));
        }
        match name.as_str() {
            "collect" => fork.collect = true,
            "concurrency" if fork.map => {
                let max: LitInt = content
                    .parse()
                    .map_err(|error| syn::Error::new(error.span(), diag::BAD_CONCURRENCY))?;
                let value: u32 = max
                    .base10_parse()
                    .ok()
                    .filter(|value| *value > 0)
                    .ok_or_else(|| syn::Error::new(max.span(), diag::BAD_CONCURRENCY))?;
                fork.concurrency = Some(value);
            }
            "concurrency" => {
                return Err(syn::Error::new(option.span(), diag::CONCURRENCY_ON_FAN_OUT))
            }
            "max" => return Err(syn::Error::new(option.span(), diag::BOUND_ON_FORK)),
            _ => {
                return Err(syn::Error::new(
                    option.span(),
                    diag::unknown_fork_option(&name, fork.map),
                ))
            }
        }
        seen.push(name);
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(())
}

/// `match { … }`, and its closing brace.
fn match_target(input: ParseStream<'_>) -> syn::Result<(Target, Span)> {
    let token: Token![match] = input.parse()?;
    let content;
    let close = braced!(content in input).span.close();
    let mut arms = Vec::new();
    while !content.is_empty() {
        let pat = Pat::parse_multi_with_leading_vert(&content)?;
        let guard = if content.peek(Token![if]) {
            content.parse::<Token![if]>()?;
            Some(content.parse()?)
        } else {
            None
        };
        content.parse::<Token![=>]>()?;
        if content.peek(token::Paren) || is_each(&content) {
            let (route, fork) = arm_fork(&content)?;
            arms.push(Arm {
                pat,
                guard,
                route,
                fork: Some(fork),
            });
        } else {
            let route = route(&content)?;
            arms.push(Arm {
                pat,
                guard,
                route,
                fork: None,
            });
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok((Target::Match { token, arms }, close))
}

/// The fork of a `match` arm, `(b, c) [options] (arg) -> join` or
/// `each b [options] (arg) -> join`: the arm's route (named `fork`, with the argument), the
/// fork and its join.
fn arm_fork(input: ParseStream<'_>) -> syn::Result<(Route, (Fork, Route))> {
    let fork = if input.peek(token::Paren) {
        fan_out(input)?
    } else {
        each(input)?
    };
    let arg = if input.peek(token::Paren) {
        let content;
        parenthesized!(content in input);
        Some(content.parse()?)
    } else {
        None
    };
    input
        .parse::<Token![->]>()
        .map_err(|_| syn::Error::new(fork.span, diag::FORK_IN_ARM))?;
    let join = route(input)?;
    if let Some(arg) = &join.arg {
        return Err(syn::Error::new(arg.span(), diag::ROUTE_ARG_ON_SEQUENCE));
    }
    let route = Route {
        sleep: None,
        pause: None,
        receive: None,
        name: Ident::new("fork", fork.span),
        arg,
        bound: None,
        end: join.end,
    };
    Ok((route, (fork, join)))
}

fn route(input: ParseStream<'_>) -> syn::Result<Route> {
    let route = bare_route(input)?;
    let bound = if input.peek(token::Bracket) {
        Some(bound(input)?)
    } else {
        None
    };
    let end = bound.as_ref().map_or(route.end, |bound| bound.end);
    Ok(Route {
        bound,
        end,
        ..route
    })
}

fn bare_route(input: ParseStream<'_>) -> syn::Result<Route> {
    let sleep = sleep(input)?;
    let keyword = if input.peek(syn::Ident) && input.peek2(syn::Ident) {
        let keyword: Ident = input.fork().parse()?;
        (keyword == "pause" || keyword == "receive").then_some(keyword)
    } else {
        None
    };
    if keyword.is_some() {
        input.parse::<Ident>()?;
    }
    let (pause, receive) = match &keyword {
        Some(keyword) if keyword == "pause" => (Some(keyword.span()), None),
        Some(keyword) => (None, Some(keyword.span())),
        None => (None, None),
    };
    let name: Ident = input
        .parse()
        .map_err(|error| syn::Error::new(error.span(), diag::EXPECTED_STATEMENT))?;
    if name == "start" {
        return Err(syn::Error::new(name.span(), diag::START_NOT_FIRST));
    }
    let mut end = name.span();
    let arg = if input.peek(token::Paren) {
        let content;
        end = parenthesized!(content in input).span.close();
        Some(content.parse()?)
    } else {
        None
    };
    Ok(Route {
        sleep,
        pause,
        receive,
        name,
        arg,
        bound: None,
        end,
    })
}

/// `sleep "1h" ->` before a route, if there: `sleep` followed by a literal (a step named
/// `sleep` is followed by `->`, `(`, `[`, `;` or nothing).
fn sleep(input: ParseStream<'_>) -> syn::Result<Option<Box<Sleep>>> {
    let keyword = input.fork().parse::<Ident>();
    if !keyword.is_ok_and(|keyword| keyword == "sleep") || !input.peek2(Lit) {
        return Ok(None);
    }
    let keyword: Ident = input.parse()?;
    let literal: Lit = input.parse()?;
    let text = match &literal {
        Lit::Str(text) => text.value(),
        _ => String::new(),
    };
    let millis = super::step::parse_duration(&text)
        .and_then(|duration| u64::try_from(duration.as_millis()).ok())
        .ok_or_else(|| syn::Error::new(literal.span(), diag::bad_sleep(&literal)))?;
    let span = keyword.span();
    input
        .parse::<Token![->]>()
        .map_err(|error| syn::Error::new(error.span(), diag::SLEEP_BEFORE_STEP))?;
    if !input.peek(syn::Ident) {
        return Err(input.error(diag::SLEEP_BEFORE_STEP));
    }
    Ok(Some(Box::new(Sleep { span, text, millis })))
}

fn bound(input: ParseStream<'_>) -> syn::Result<Bound> {
    let content;
    let bracket = bracketed!(content in input);
    let span = bracket.span.join();
    let keyword: Ident = content
        .parse()
        .map_err(|error| syn::Error::new(error.span(), diag::BAD_BOUND))?;
    if keyword != "max" {
        return Err(syn::Error::new(keyword.span(), diag::BAD_BOUND));
    }
    let max: LitInt = content
        .parse()
        .map_err(|error| syn::Error::new(error.span(), diag::BAD_BOUND))?;
    let value: u32 = max
        .base10_parse()
        .map_err(|_| syn::Error::new(max.span(), diag::BAD_BOUND))?;
    if value == 0 {
        return Err(syn::Error::new(max.span(), diag::ZERO_BOUND));
    }
    let fallback = if content.peek(Token![else]) {
        content.parse::<Token![else]>()?;
        let fallback = bare_route(&content)?;
        if content.peek(token::Bracket) {
            return Err(content.error(diag::BOUND_ON_ELSE));
        }
        Some(Box::new(fallback))
    } else {
        None
    };
    if !content.is_empty() {
        return Err(content.error(diag::BAD_BOUND));
    }
    Ok(Bound {
        span,
        end: bracket.span.close(),
        max: value,
        fallback,
    })
}
