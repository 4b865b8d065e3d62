//! Graph walks for definition checks: reachability, and the join each parallel split's
//! branches all reach first.

use std::collections::{BTreeSet, HashMap};

use super::model::{NodeKind, WorkflowDefinition};

pub(super) fn reach(from: usize, next: impl Fn(usize) -> Vec<usize>) -> BTreeSet<usize> {
    let mut seen = BTreeSet::from([from]);
    let mut stack = vec![from];
    while let Some(node) = stack.pop() {
        for n in next(node) {
            if seen.insert(n) {
                stack.push(n);
            }
        }
    }
    seen
}

/// The join every branch of the parallel split `split` reaches first (nested splits are
/// stepped over through their own joins). A branch that ends, or branches that reach
/// different joins, make the split unmatched.
pub(super) fn join_of(
    def: &WorkflowDefinition,
    outgoing: &[Vec<(usize, usize)>],
    split: usize,
    memo: &mut HashMap<usize, Result<usize, String>>,
    active: &mut Vec<usize>,
) -> Result<usize, String> {
    if let Some(known) = memo.get(&split) {
        return known.clone();
    }
    if active.contains(&split) {
        return Err("the split is inside its own branches".into());
    }
    active.push(split);
    let mut found: Option<usize> = None;
    let mut result = Ok(());
    'branches: for (_, first) in &outgoing[split] {
        let mut seen = BTreeSet::new();
        let mut stack = vec![*first];
        let mut branch_join = None;
        while let Some(node) = stack.pop() {
            if !seen.insert(node) {
                continue;
            }
            match def.nodes[node].kind {
                NodeKind::Join => {
                    if branch_join.is_some_and(|j| j != node) {
                        result = Err(format!(
                            "a branch reaches two joins, “{}” and “{}”",
                            def.nodes[branch_join.unwrap_or(node)].id,
                            def.nodes[node].id
                        ));
                        break 'branches;
                    }
                    branch_join = Some(node);
                }
                NodeKind::End { .. } => {
                    result = Err(format!("a branch reaches the end “{}” before joining", def.nodes[node].id));
                    break 'branches;
                }
                NodeKind::Parallel => match join_of(def, outgoing, node, memo, active) {
                    Ok(inner) => stack.extend(outgoing[inner].iter().map(|(_, to)| *to)),
                    Err(error) => {
                        result = Err(error);
                        break 'branches;
                    }
                },
                _ => stack.extend(outgoing[node].iter().map(|(_, to)| *to)),
            }
        }
        match (branch_join, found) {
            (None, _) => {
                result = Err("a branch never reaches a join".into());
                break;
            }
            (Some(j), Some(f)) if j != f => {
                result =
                    Err(format!("branches reach different joins, “{}” and “{}”", def.nodes[f].id, def.nodes[j].id));
                break;
            }
            (Some(j), _) => found = Some(j),
        }
    }
    active.pop();
    let answer = result.and_then(|_| found.ok_or_else(|| "no branches".to_owned()));
    memo.insert(split, answer.clone());
    answer
}
