//! Renders a [`Document`] as one self-contained HTML page: inline CSS, charts inline as SVG,
//! no scripts and nothing fetched, so the file can be mailed, attached to CI or opened offline.

use std::fmt::Write;

use super::document::{Block, Document, TextTable};

const STYLE: &str = "
body { font-family: system-ui, sans-serif; max-width: 1040px; margin: 2rem auto; padding: 0 1rem; color: #1e1e1e; line-height: 1.5; }
h1 { font-size: 1.7rem; margin-bottom: 0.3rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.2rem 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #555; }
li.verdict-exact::marker { color: #1a7f37; }
li.verdict-heals::marker { color: #b07d00; }
li.verdict-loses-data::marker { color: #c62828; }
.verdict-word { font-weight: 600; }
pre { background: #f6f8fa; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
";

pub fn render_html(doc: &Document) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&doc.title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(out, "<h1>{}</h1>", escape(&doc.title));
    for block in &doc.blocks {
        match block {
            Block::Heading(t) => {
                let _ = writeln!(out, "<h2>{}</h2>", escape(t));
            }
            Block::Subheading(t) => {
                let _ = writeln!(out, "<h3>{}</h3>", escape(t));
            }
            Block::Paragraph(t) => {
                let _ = writeln!(out, "<p>{}</p>", inline(t));
            }
            Block::Bullets(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    let _ = writeln!(out, "<li>{}</li>", inline(item));
                }
                out.push_str("</ul>\n");
            }
            Block::Verdicts(lines) => {
                out.push_str("<ul class=\"verdicts\">\n");
                for v in lines {
                    let _ = writeln!(
                        out,
                        "<li class=\"verdict-{}\" data-strategy=\"{}\" data-verdict=\"{}\"><span class=\"verdict-word\">{}</span> {}</li>",
                        v.verdict.replace(' ', "-"),
                        escape(&v.label),
                        escape(&v.verdict),
                        escape(&v.label),
                        escape(&v.text)
                    );
                }
                out.push_str("</ul>\n");
            }
            Block::Table(t) => table(&mut out, t),
            Block::Chart(c) => {
                let _ = writeln!(
                    out,
                    "<figure class=\"chart\" id=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
                    escape(&c.name),
                    c.svg.trim(),
                    escape(&c.caption)
                );
            }
            Block::Code { language, text } => {
                let _ = writeln!(
                    out,
                    "<pre><code class=\"language-{}\">{}</code></pre>",
                    escape(language),
                    escape(text)
                );
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn table(out: &mut String, t: &TextTable) {
    out.push_str("<table>\n<thead><tr>");
    for h in &t.header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if t.numeric.get(i).copied().unwrap_or(false) {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Escaped text with `backticked` names set as code, as the Markdown rendering shows them.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut parts = text.split('`');
    if let Some(first) = parts.next() {
        out.push_str(&escape(first));
    }
    let rest: Vec<&str> = parts.collect();
    if rest.len().is_multiple_of(2) {
        // Every opening backtick has its closing one.
        for (i, part) in rest.iter().enumerate() {
            if i % 2 == 0 {
                out.push_str(&format!("<code>{}</code>", escape(part)));
            } else {
                out.push_str(&escape(part));
            }
        }
    } else {
        // An unpaired backtick is text.
        for part in rest {
            out.push('`');
            out.push_str(&escape(part));
        }
    }
    out
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticked_names_become_code_and_a_lone_backtick_stays_text() {
        assert_eq!(
            inline("At 1M rows: `cdc` below 2% churn, `full` above"),
            "At 1M rows: <code>cdc</code> below 2% churn, <code>full</code> above"
        );
        assert_eq!(inline("a ` b <c>"), "a ` b &lt;c&gt;");
    }

    #[test]
    fn text_that_looks_like_markup_is_escaped() {
        assert_eq!(
            escape("updated_at>=lag<2s & \"x\""),
            "updated_at&gt;=lag&lt;2s &amp; &quot;x&quot;"
        );
    }
}
