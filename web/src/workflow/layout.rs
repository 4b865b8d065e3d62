//! Where each node of a workflow graph is drawn: columns by distance from the start (the
//! shortest path, so loops back to earlier nodes do not push them right), rows in definition
//! order. Definitions carry no coordinates; the layout is recomputed from the graph.

use std::collections::{HashMap, VecDeque};

use serde_json::Value;

pub const NODE_W: f64 = 150.0;
pub const NODE_H: f64 = 52.0;
const COLUMN: f64 = 200.0;
const ROW: f64 = 88.0;
const MARGIN: f64 = 24.0;

/// Top-left corner of each node (by index), and the drawing's size.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub at: Vec<(f64, f64)>,
    pub width: f64,
    pub height: f64,
}

pub fn layout(definition: &Value) -> Layout {
    let nodes = definition["nodes"].as_array().map(Vec::as_slice).unwrap_or_default();
    let edges = definition["edges"].as_array().map(Vec::as_slice).unwrap_or_default();
    let index: HashMap<&str, usize> =
        nodes.iter().enumerate().filter_map(|(i, n)| Some((n["id"].as_str()?, i))).collect();
    let mut depth: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut queue = VecDeque::new();
    for (i, node) in nodes.iter().enumerate() {
        if node["kind"] == "start" {
            depth[i] = Some(0);
            queue.push_back(i);
        }
    }
    while let Some(i) = queue.pop_front() {
        let id = nodes[i]["id"].as_str().unwrap_or_default();
        for edge in edges.iter().filter(|e| e["from"].as_str() == Some(id)) {
            if let Some(&j) = edge["to"].as_str().and_then(|to| index.get(to))
                && depth[j].is_none()
            {
                depth[j] = Some(depth[i].unwrap_or(0) + 1);
                queue.push_back(j);
            }
        }
    }
    // Nodes no path reaches yet (being drawn) go in a column after the others.
    let last = depth.iter().flatten().max().map_or(0, |d| d + 1);
    let mut rows: HashMap<usize, usize> = HashMap::new();
    let mut at = Vec::with_capacity(nodes.len());
    for d in &depth {
        let column = d.unwrap_or(last);
        let row = rows.entry(column).or_insert(0);
        at.push((MARGIN + COLUMN * column as f64, MARGIN + ROW * *row as f64));
        *row += 1;
    }
    let columns = at.iter().map(|(x, _)| *x).fold(0.0, f64::max);
    let bottom = at.iter().map(|(_, y)| *y).fold(0.0, f64::max);
    Layout { at, width: columns + NODE_W + MARGIN * 2.0, height: bottom + NODE_H + MARGIN * 2.0 + 30.0 }
}

/// The node or edge an issue's pointer names: (`nodes`|`edges`, index).
pub fn issue_target(path: &str) -> Option<(&'static str, usize)> {
    let mut parts = path.trim_start_matches('/').split('/');
    let kind = match parts.next()? {
        "nodes" => "nodes",
        "edges" => "edges",
        _ => return None,
    };
    Some((kind, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_follow_the_shortest_path_and_loops_do_not_push() {
        let def = json!({
            "nodes": [
                {"id": "start", "kind": "start"}, {"id": "a", "kind": "approval"}, {"id": "b", "kind": "approval"},
                {"id": "c", "kind": "condition"}, {"id": "end", "kind": "end"}, {"id": "loose", "kind": "action"}
            ],
            "edges": [
                {"from": "start", "to": "a"}, {"from": "a", "to": "c"}, {"from": "c", "to": "b"},
                {"from": "c", "to": "end"}, {"from": "b", "to": "a"}
            ]
        });
        let l = layout(&def);
        let column = |i: usize| ((l.at[i].0 - MARGIN) / COLUMN) as usize;
        assert_eq!((0..6).map(column).collect::<Vec<_>>(), [0, 1, 3, 2, 3, 4]);
        assert_ne!(l.at[2].1, l.at[4].1, "two nodes of one column get their own rows");
        assert!(l.width >= l.at[5].0 + NODE_W);
        assert_eq!(issue_target("/nodes/3/assignees"), Some(("nodes", 3)));
        assert_eq!(issue_target("/edges/0/when"), Some(("edges", 0)));
        assert_eq!(issue_target("/trigger"), None);
    }
}
