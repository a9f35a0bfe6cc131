//! A report as a plain tree of blocks, written once and rendered twice: as one self-contained
//! HTML page and as Markdown with the charts beside it (the ripgrep `Sink` shape: one producer,
//! several writers).

use super::charts::Chart;

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(String),
    Subheading(String),
    Paragraph(String),
    Bullets(Vec<String>),
    /// One line per strategy saying whether it is safe; HTML tags each with the strategy's
    /// label and verdict so a reader (or a test) can find them.
    Verdicts(Vec<VerdictLine>),
    Table(TextTable),
    Chart(Chart),
    Code {
        language: String,
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct VerdictLine {
    pub label: String,
    /// `exact`, `heals` or `loses data`.
    pub verdict: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns aligned right (numbers).
    pub numeric: Vec<bool>,
}

impl TextTable {
    pub fn new(header: &[&str], numeric: &[bool]) -> Self {
        TextTable {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            numeric: numeric.to_vec(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }
}

impl Document {
    pub fn charts(&self) -> impl Iterator<Item = &Chart> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Chart(c) => Some(c),
            _ => None,
        })
    }
}
