//! A YAML tree that remembers where every node came from, and a reader that reports every problem.
//!
//! `serde_yaml` stops at the first error and cannot say on which line a key that parsed fine but means
//! nothing stands. Analysts need every problem in one pass, each with a line, so flow files are parsed
//! with `yaml-rust2`'s marked event stream into [`Node`]s and decoded by hand through [`MapReader`],
//! which flags unknown keys (with a "did you mean") and wrong types without stopping.

use crate::diagnostic::Diagnostics;
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// 1-based line of the node's first character.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    /// A scalar's text; `quoted` scalars are never read as null or booleans.
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A document that is not YAML at all; reported with the parser's own position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// Parses one YAML document. An empty document is `Null`.
pub fn parse(source: &str) -> Result<Node, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(source);
    parser.load(&mut builder, false).map_err(|e| SyntaxError {
        line: e.marker().line(),
        message: e.info().to_string(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.root.unwrap_or(Node {
        kind: NodeKind::Null,
        line: 1,
    }))
}

#[derive(Default)]
struct Builder {
    /// Open collections: the node being built and, for maps, a key waiting for its value.
    stack: Vec<(Node, Option<Node>)>,
    anchors: HashMap<usize, Node>,
    /// Anchor ids of the open collections, recorded when they close.
    anchor_stack: Vec<usize>,
    root: Option<Node>,
    error: Option<SyntaxError>,
}

impl Builder {
    fn insert(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some((parent, pending_key)) => match &mut parent.kind {
                NodeKind::Seq(items) => items.push(node),
                NodeKind::Map(entries) => match pending_key.take() {
                    None => *pending_key = Some(node),
                    Some(key) => entries.push((key, node)),
                },
                _ => unreachable!("only collections are pushed on the stack"),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line().max(1);
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let quoted = style != TScalarStyle::Plain;
                let kind = if !quoted && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") {
                    NodeKind::Null
                } else {
                    NodeKind::Scalar { text, quoted }
                };
                let node = Node { kind, line };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.insert(node);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push((
                    Node {
                        kind: NodeKind::Seq(Vec::new()),
                        line,
                    },
                    None,
                ));
                self.anchor_stack.push(anchor);
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push((
                    Node {
                        kind: NodeKind::Map(Vec::new()),
                        line,
                    },
                    None,
                ));
                self.anchor_stack.push(anchor);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _)) = self.stack.pop() {
                    let anchor = self.anchor_stack.pop().unwrap_or(0);
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.insert(node);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.insert(node),
                None => {
                    self.error.get_or_insert(SyntaxError {
                        line,
                        message: "alias to an unknown anchor".into(),
                    });
                }
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// What the node is, in an analyst's words, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "nothing",
            NodeKind::Scalar { .. } => "a single value",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a set of `key: value` lines",
        }
    }

    /// Reads a string, reporting anything else.
    pub fn string(&self, what: &str, diags: &mut Diagnostics) -> Option<String> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text.clone()),
            _ => {
                diags.push(
                    self.line,
                    format!("{what} should be a single value, found {}", self.describe()),
                    format!("write {what} as one value on the same line, e.g. `{what}: ...`"),
                );
                None
            }
        }
    }

    /// Reads `true`/`false` (and the YAML 1.1 spellings analysts use: yes/no, on/off).
    pub fn boolean(&self, what: &str, diags: &mut Diagnostics) -> Option<bool> {
        match &self.kind {
            NodeKind::Scalar { text, quoted: false } => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => Some(true),
                "false" | "no" | "off" => Some(false),
                _ => {
                    diags.push(
                        self.line,
                        format!("{what} should be true or false, found `{text}`"),
                        "write `true` or `false`",
                    );
                    None
                }
            },
            _ => {
                diags.push(
                    self.line,
                    format!("{what} should be true or false, found {}", self.describe()),
                    "write `true` or `false`",
                );
                None
            }
        }
    }

    /// Reads a non-negative integer.
    pub fn number(&self, what: &str, diags: &mut Diagnostics) -> Option<u64> {
        let parsed = self.as_str().and_then(|t| t.trim().parse::<u64>().ok());
        if parsed.is_none() {
            diags.push(
                self.line,
                format!("{what} should be a whole number, found {}", self.describe()),
                format!("write a number, e.g. `{what}: 2`"),
            );
        }
        parsed
    }

    /// Reads a list; a single value is accepted as a list of one, as analysts often write.
    pub fn list(&self, what: &str, diags: &mut Diagnostics) -> Vec<Node> {
        match &self.kind {
            NodeKind::Seq(items) => items.clone(),
            NodeKind::Scalar { .. } => vec![self.clone()],
            NodeKind::Null => Vec::new(),
            NodeKind::Map(_) => {
                diags.push(
                    self.line,
                    format!("{what} should be a list, found {}", self.describe()),
                    "start each item on its own line with `- `",
                );
                Vec::new()
            }
        }
    }

    /// Reads a list of strings.
    pub fn strings(&self, what: &str, diags: &mut Diagnostics) -> Vec<String> {
        self.list(what, diags).iter().filter_map(|n| n.string(what, diags)).collect()
    }

    /// The entries of a mapping, in file order; reports anything else.
    pub fn entries(&self, what: &str, diags: &mut Diagnostics) -> Vec<(String, Node, usize)> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .filter_map(|(k, v)| k.string("a key", diags).map(|key| (key, v.clone(), k.line)))
                .collect(),
            _ => {
                diags.push(
                    self.line,
                    format!("{what} should be a set of `key: value` lines, found {}", self.describe()),
                    "indent `key: value` lines under it",
                );
                Vec::new()
            }
        }
    }
}

/// Reads the keys of one mapping; on `finish`, every key that was never asked for is reported as unknown.
pub struct MapReader {
    pub line: usize,
    entries: Vec<(String, Node, usize, bool)>,
    what: String,
}

impl MapReader {
    pub fn new(node: &Node, what: &str, diags: &mut Diagnostics) -> MapReader {
        let mut seen: Vec<String> = Vec::new();
        let mut entries = Vec::new();
        for (key, value, line) in node.entries(what, diags) {
            if seen.contains(&key) {
                diags.push(
                    line,
                    format!("key `{key}` appears twice in {what}"),
                    "keep one of them; the second would silently replace the first",
                );
                continue;
            }
            seen.push(key.clone());
            entries.push((key, value, line, false));
        }
        MapReader {
            line: node.line,
            entries,
            what: what.to_string(),
        }
    }

    /// The value under `key`, if present. A block (a list or mapping on the lines below its key)
    /// takes its key's line: that is where an analyst looks for "the `say` of this step".
    pub fn get(&mut self, key: &str) -> Option<Node> {
        self.entries.iter_mut().find(|e| e.0 == key).map(|e| {
            e.3 = true;
            let mut node = e.1.clone();
            if matches!(node.kind, NodeKind::Map(_) | NodeKind::Seq(_)) {
                node.line = node.line.min(e.2);
            }
            node
        })
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|e| e.0 == key)
    }

    /// The value under `key`, reporting its absence.
    pub fn require(&mut self, key: &str, diags: &mut Diagnostics) -> Option<Node> {
        let node = self.get(key);
        if node.is_none() {
            diags.push(
                self.line,
                format!("{} has no `{key}`", self.what),
                format!("add `{key}: ...` to it"),
            );
        }
        node
    }

    pub fn string(&mut self, key: &str, diags: &mut Diagnostics) -> Option<String> {
        self.get(key).and_then(|n| n.string(&format!("`{key}`"), diags))
    }

    pub fn require_string(&mut self, key: &str, diags: &mut Diagnostics) -> Option<String> {
        self.require(key, diags).and_then(|n| n.string(&format!("`{key}`"), diags))
    }

    pub fn boolean(&mut self, key: &str, diags: &mut Diagnostics) -> Option<bool> {
        self.get(key).and_then(|n| n.boolean(&format!("`{key}`"), diags))
    }

    /// Reports every key that was not read, with the closest known key as a suggestion.
    pub fn finish(self, known: &[&str], diags: &mut Diagnostics) {
        for (key, _, line, used) in self.entries {
            if used {
                continue;
            }
            let closest = closest(&key, known);
            let fix = match closest {
                Some(k) => format!("did you mean `{k}`?"),
                None => format!("remove it; {} takes: {}", self.what, known.join(", ")),
            };
            diags.push(line, format!("unknown key `{key}` in {}", self.what), fix);
        }
    }
}

/// The known name a typo most likely meant: within two edits (or a third of its length).
pub fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(k, name), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_their_lines() {
        let node = parse("id: refill\nsteps:\n  - id: a\n    say: hi\n").unwrap();
        let NodeKind::Map(entries) = &node.kind else {
            panic!("map expected")
        };
        assert_eq!(entries[1].0.line, 2);
        let NodeKind::Seq(steps) = &entries[1].1.kind else {
            panic!("seq expected")
        };
        assert_eq!(steps[0].line, 3);
        let NodeKind::Map(step) = &steps[0].kind else {
            panic!("map expected")
        };
        assert_eq!(step[1].0.line, 4);
    }

    #[test]
    fn syntax_errors_name_a_line() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.line >= 1, "{err:?}");
    }

    #[test]
    fn unknown_keys_are_reported_with_a_suggestion() {
        let node = parse("id: x\nnxt: y\nwhatever: 1\n").unwrap();
        let mut diags = Diagnostics::new("f.yaml");
        let mut map = MapReader::new(&node, "a step", &mut diags);
        map.string("id", &mut diags);
        map.finish(&["id", "next", "say"], &mut diags);
        assert_eq!(diags.list.len(), 2);
        assert_eq!(diags.list[0].line, 2);
        assert!(diags.list[0].fix.contains("`next`"), "{:?}", diags.list[0]);
        assert!(diags.list[1].fix.contains("remove it"));
    }

    #[test]
    fn aliases_resolve_to_their_anchor() {
        let node = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        let NodeKind::Map(entries) = &node.kind else { panic!() };
        assert_eq!(entries[0].1.kind, entries[1].1.kind);
    }
}
