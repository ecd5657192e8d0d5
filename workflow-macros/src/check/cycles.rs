//! Rules on loops: every cycle has a bound, and every step can still reach `end`.

use crate::diag::{self, Errors};
use crate::model::{Edge, Model, Node};

/// Rule: every cycle of the graph has at least one bounded edge (`[max N]`). Equivalently, the
/// graph without its bounded edges has no cycle. Reported once per cycle, at the edge that
/// closes it.
pub(crate) fn every_cycle_bounded(model: &Model, errors: &mut Errors) {
    let unbounded = |edge: &Edge| edge.bound.is_none();
    for component in components(model, unbounded) {
        let first = component[0];
        let is_cycle =
            component.len() > 1 || successors(model, first, unbounded).any(|next| next == first);
        if !is_cycle {
            continue;
        }
        let path = cycle_path(model, &component, unbounded);
        let closing = model
            .successors(*path.last().unwrap_or(&first))
            .into_iter()
            .find(|edge| unbounded(edge) && edge.to == Node::Step(first));
        let names: Vec<String> = path
            .iter()
            .chain(Some(&first))
            .map(|index| model.step_name(*index))
            .collect();
        let span = closing.map_or_else(
            || model.steps[first].sig.ident.span(),
            |edge| edge.name.span(),
        );
        errors.push(span, diag::unbounded_cycle(&names.join(" -> ")));
    }
}

/// Rule: from every reachable step some path leads to `end`. Reported once per group of steps
/// that loop among themselves with no way out.
pub(crate) fn every_step_ends(model: &Model, reachable: &[bool], errors: &mut Errors) {
    let mut ends = vec![false; model.steps.len()];
    loop {
        let mut changed = false;
        for index in 0..model.steps.len() {
            if ends[index] {
                continue;
            }
            let leads_out = model
                .successors(index)
                .into_iter()
                .any(|edge| match edge.to {
                    Node::End | Node::Unknown => true,
                    Node::Step(next) => ends[next],
                    // `Model::successors` sees through forks.
                    Node::Fork(_) => false,
                });
            if leads_out {
                ends[index] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for component in components(model, |_| true) {
        let first = component[0];
        // A group with an edge out is explained by the group it leads to.
        let sink = component.iter().all(|member| {
            successors(model, *member, |_| true).all(|next| component.contains(&next))
        });
        if reachable[first] && !ends[first] && sink {
            let step = &model.steps[first];
            let span = step
                .mentions
                .first()
                .copied()
                .unwrap_or_else(|| step.sig.ident.span());
            errors.push(span, diag::never_ends(&model.step_name(first)));
        }
    }
}

fn successors<'a>(
    model: &'a Model,
    index: usize,
    keep: impl Fn(&Edge) -> bool + 'a,
) -> impl Iterator<Item = usize> + 'a {
    model
        .successors(index)
        .into_iter()
        .filter(move |edge| keep(edge))
        .filter_map(|edge| match edge.to {
            Node::Step(next) => Some(next),
            Node::End | Node::Unknown | Node::Fork(_) => None,
        })
}

/// The strongly connected components of the steps over the edges `keep` accepts, each sorted,
/// in order of their first step (Tarjan's algorithm).
fn components(model: &Model, keep: impl Fn(&Edge) -> bool + Copy) -> Vec<Vec<usize>> {
    struct Tarjan {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        components: Vec<Vec<usize>>,
    }
    fn visit(model: &Model, keep: impl Fn(&Edge) -> bool + Copy, t: &mut Tarjan, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on_stack[v] = true;
        for w in successors(model, v, keep) {
            match t.index[w] {
                None => {
                    visit(model, keep, t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(index) if t.on_stack[w] => t.low[v] = t.low[v].min(index),
                Some(_) => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut component = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            component.sort_unstable();
            t.components.push(component);
        }
    }
    let count = model.steps.len();
    let mut t = Tarjan {
        index: vec![None; count],
        low: vec![0; count],
        on_stack: vec![false; count],
        stack: Vec::new(),
        next: 0,
        components: Vec::new(),
    };
    for v in 0..count {
        if t.index[v].is_none() {
            visit(model, keep, &mut t, v);
        }
    }
    t.components.sort_by_key(|component| component[0]);
    t.components
}

/// A path through `component` from its first step that returns to it: the steps in order,
/// without repeating the first at the end.
fn cycle_path(
    model: &Model,
    component: &[usize],
    keep: impl Fn(&Edge) -> bool + Copy,
) -> Vec<usize> {
    let first = component[0];
    let mut path = vec![first];
    let mut seen = vec![false; model.steps.len()];
    seen[first] = true;
    while let Some(&last) = path.last() {
        if successors(model, last, keep).any(|next| next == first) {
            return path;
        }
        match successors(model, last, keep).find(|next| component.contains(next) && !seen[*next]) {
            Some(next) => {
                seen[next] = true;
                path.push(next);
            }
            None => {
                path.pop();
            }
        }
    }
    vec![first]
}

#[cfg(test)]
mod tests;
