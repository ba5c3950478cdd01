//! Maps field paths to places in the scenario text and back, so that every
//! diagnostic can say where its value is written.

use toml_edit::{Item, Value};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Renders a path as `suppliers[2].support`.
pub fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A parsed document with spans, for locating paths in the original text.
pub struct Locator<'t> {
    text: &'t str,
    doc: Option<toml_edit::Document<&'t str>>,
}

enum Node<'a> {
    Item(&'a Item),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn span(&self) -> Option<std::ops::Range<usize>> {
        match self {
            Node::Item(Item::Value(v)) => v.span(),
            Node::Value(v) => v.span(),
            Node::Item(Item::Table(t)) => t.span(),
            Node::Item(Item::ArrayOfTables(a)) => a.span(),
            Node::Item(Item::None) => None,
        }
    }

    fn child(&self, seg: &Seg) -> Option<(Node<'a>, Option<std::ops::Range<usize>>)> {
        match (self, seg) {
            (Node::Item(item), Seg::Key(k)) => {
                let table = item.as_table_like()?;
                let (key, item) = table.get_key_value(k)?;
                Some((Node::Item(item), key.span()))
            }
            (Node::Value(Value::InlineTable(t)), Seg::Key(k)) => {
                let (key, item) = t.get_key_value(k)?;
                Some((Node::Item(item), key.span()))
            }
            (Node::Item(Item::Value(Value::Array(a))), Seg::Index(i)) => {
                a.get(*i).map(|v| (Node::Value(v), None))
            }
            (Node::Value(Value::Array(a)), Seg::Index(i)) => {
                a.get(*i).map(|v| (Node::Value(v), None))
            }
            _ => None,
        }
    }
}

impl<'t> Locator<'t> {
    /// Parses `text` for locating; a text that does not parse locates nothing.
    pub fn new(text: &'t str) -> Self {
        Locator {
            text,
            doc: toml_edit::Document::parse(text).ok(),
        }
    }

    /// A diagnostic of the value at `path` in `file` (this locator's text),
    /// placed at its line and column where it is written.
    pub fn diagnostic(
        &self,
        file: &str,
        path: &[Seg],
        found: impl Into<String>,
        expected: impl Into<String>,
        note: Option<String>,
    ) -> super::Diagnostic {
        let (line, column) = self.position(path).unzip();
        super::Diagnostic {
            file: file.to_string(),
            line,
            column,
            field: render(path),
            found: found.into(),
            expected: expected.into(),
            note,
        }
    }

    /// The byte span where `path` is written: its value, or failing that the
    /// nearest enclosing element that is written.
    pub fn span_of(&self, path: &[Seg]) -> Option<std::ops::Range<usize>> {
        let doc = self.doc.as_ref()?;
        let mut best = None;
        let mut node = Node::Item(doc.as_item());
        let mut rest = path;
        while let Some((seg, tail)) = rest.split_first() {
            // Array-of-tables entries: step into the table directly.
            if let (Node::Item(Item::ArrayOfTables(a)), Seg::Index(i)) = (&node, seg) {
                let Some(table) = a.get(*i) else { break };
                best = table.span().or(best);
                return self.span_in_table(table, tail).or(best);
            }
            let Some((child, key_span)) = node.child(seg) else {
                break;
            };
            best = child.span().or(key_span).or(best);
            node = child;
            rest = tail;
        }
        best
    }

    fn span_in_table(
        &self,
        table: &toml_edit::Table,
        path: &[Seg],
    ) -> Option<std::ops::Range<usize>> {
        let (first, tail) = path.split_first()?;
        let Seg::Key(k) = first else { return None };
        let (key, item) = table.get_key_value(k)?;
        let here = Node::Item(item).span().or(key.span());
        let mut node = Node::Item(item);
        let mut best = here;
        for seg in tail {
            let Some((child, key_span)) = node.child(seg) else {
                break;
            };
            best = child.span().or(key_span).or(best);
            node = child;
        }
        best
    }

    /// 1-based line and column of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// Line and column where `path` is written, if it is.
    pub fn position(&self, path: &[Seg]) -> Option<(usize, usize)> {
        self.span_of(path).map(|s| self.line_col(s.start))
    }

    /// The path of the deepest element written at byte `offset` (for errors
    /// that know where, but not which field).
    pub fn path_at(&self, offset: usize) -> Vec<Seg> {
        let mut path = Vec::new();
        if let Some(doc) = &self.doc {
            descend_table_like(doc.as_table(), offset, &mut path);
        }
        path
    }
}

fn contains(span: Option<std::ops::Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

fn descend_table_like(
    table: &dyn toml_edit::TableLike,
    offset: usize,
    path: &mut Vec<Seg>,
) -> bool {
    for (key, item) in table.iter() {
        let key_span = table.key(key).and_then(|k| k.span());
        if contains(key_span.clone(), offset) {
            path.push(Seg::Key(key.to_string()));
            return true;
        }
        path.push(Seg::Key(key.to_string()));
        if descend_item(item, offset, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn descend_item(item: &Item, offset: usize, path: &mut Vec<Seg>) -> bool {
    match item {
        Item::Value(v) => descend_value(v, offset, path),
        Item::Table(t) => descend_table_like(t, offset, path) || contains(t.span(), offset),
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                if descend_table_like(t, offset, path) || contains(t.span(), offset) {
                    return true;
                }
                path.pop();
            }
            false
        }
        Item::None => false,
    }
}

fn descend_value(value: &Value, offset: usize, path: &mut Vec<Seg>) -> bool {
    match value {
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                if descend_value(v, offset, path) {
                    return true;
                }
                path.pop();
            }
            contains(a.span(), offset)
        }
        Value::InlineTable(t) => descend_table_like(t, offset, path) || contains(t.span(), offset),
        v => contains(v.span(), offset),
    }
}
