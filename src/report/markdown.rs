//! Renders a [`Document`] as Markdown (GitHub flavour): the same tables, each chart as an
//! image link to `charts/<name>.svg` written beside the report.

use std::fmt::Write;

use super::document::{Block, Document, TextTable};

pub const CHARTS_DIR: &str = "charts";

pub fn render_markdown(doc: &Document) -> String {
    let mut out = format!("# {}\n\n", doc.title);
    for block in &doc.blocks {
        match block {
            Block::Heading(t) => {
                let _ = writeln!(out, "## {t}\n");
            }
            Block::Subheading(t) => {
                let _ = writeln!(out, "### {t}\n");
            }
            Block::Paragraph(t) => {
                let _ = writeln!(out, "{t}\n");
            }
            Block::Bullets(items) => {
                for item in items {
                    let _ = writeln!(out, "- {item}");
                }
                out.push('\n');
            }
            Block::Verdicts(lines) => {
                for v in lines {
                    let _ = writeln!(out, "- **{}** {}", v.label, v.text);
                }
                out.push('\n');
            }
            Block::Table(t) => table(&mut out, t),
            Block::Chart(c) => {
                let _ = writeln!(
                    out,
                    "![{}]({CHARTS_DIR}/{}.svg)\n\n*{}*\n",
                    c.title, c.name, c.caption
                );
            }
            Block::Code { language, text } => {
                let _ = writeln!(out, "```{language}\n{}\n```\n", text.trim_end());
            }
        }
    }
    out
}

fn table(out: &mut String, t: &TextTable) {
    let cell = |s: &str| s.replace('|', "\\|");
    let _ = writeln!(
        out,
        "| {} |",
        t.header
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let rule: Vec<&str> = (0..t.header.len())
        .map(|i| {
            if t.numeric.get(i).copied().unwrap_or(false) {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    let _ = writeln!(out, "| {} |", rule.join(" | "));
    for row in &t.rows {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    out.push('\n');
}
