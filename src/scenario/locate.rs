//! Finding where in a scenario file a problem is, so errors can say "line 12".
//!
//! The TOML parser reports byte offsets for syntax and type errors. Problems found later, by
//! validation, only know the key path (`timestamps.granularity`, `strategy[2].lag`); for those
//! the file is scanned for the section header and then the key. This is a line scan, not a TOML
//! parser: when it cannot find the key it answers `None` and the error simply has no line.

/// 1-based line number of a byte offset.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Splits a serde message into the key it names (if any) and the message itself.
pub fn split_toml_message(message: &str) -> (Option<String>, String) {
    for prefix in [
        "unknown field `",
        "missing field `",
        "duplicate key `",
        "duplicate field `",
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some(end) = rest.find('`') {
                return (Some(rest[..end].to_string()), message.trim().to_string());
            }
        }
    }
    (None, message.trim().to_string())
}

/// The dotted key path of the `key = value` line holding byte `offset`, prefixed with the
/// section it sits in (`table.rows`), when the line has that shape.
pub fn key_at_offset(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[line_start..line_end].trim();
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') || key.contains(' ') {
        return None;
    }
    let section = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match section {
        Some(section) => format!("{section}.{key}"),
        None => key.to_string(),
    })
}

/// Line of a validated key path: `key`, `section.key`, `section[n].key` (n is 1-based, counting
/// `[[section]]` entries) or `section.sub.key` (a key inside an inline table is found by `sub`).
pub fn line_of_key(text: &str, path: &str) -> Option<usize> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let key = parts.pop()?;
    let (section, index) = match parts.first() {
        None => (None, 1),
        Some(first) => match first.split_once('[') {
            Some((name, rest)) => (
                Some(name),
                rest.trim_end_matches(']').parse::<usize>().ok()?,
            ),
            None => (Some(*first), 1),
        },
    };
    // A deeper path (`writers.step.at`) is looked up by its second part, which is the key that
    // holds the inline table in the section.
    let key = if parts.len() >= 2 { parts[1] } else { key };

    let mut in_section = section.is_none();
    let mut seen = 0usize;
    let mut section_line = None;
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            let name = line.trim_matches(|c| c == '[' || c == ']').trim();
            if in_section && section_line.is_some() {
                break; // left the section without finding the key
            }
            in_section = false;
            if section.is_none() {
                break; // top-level keys come before any section
            }
            if Some(name) == section {
                seen += 1;
                if seen == index {
                    in_section = true;
                    section_line = Some(number + 1);
                }
            }
            continue;
        }
        if in_section {
            if let Some((name, _)) = line.split_once('=') {
                if name.trim().trim_matches('"') == key {
                    return Some(number + 1);
                }
            }
        }
    }
    section_line
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"x\"\n[schedule]\nruns = 0\n[[strategy]]\nkind = \"full\"\n[[strategy]]\nkind = \"updated_at\"\nlag = \"-1s\"\n";

    #[test]
    fn finds_top_level_and_section_keys() {
        assert_eq!(line_of_key(TEXT, "name"), Some(1));
        assert_eq!(line_of_key(TEXT, "schedule.runs"), Some(3));
    }

    #[test]
    fn counts_array_of_tables_entries_from_one() {
        assert_eq!(line_of_key(TEXT, "strategy[2].lag"), Some(8));
        assert_eq!(line_of_key(TEXT, "strategy[1].kind"), Some(5));
    }

    #[test]
    fn names_the_key_on_the_line_of_an_offset() {
        let offset = TEXT.find("0\n[[").unwrap();
        assert_eq!(
            key_at_offset(TEXT, offset).as_deref(),
            Some("schedule.runs")
        );
        assert_eq!(key_at_offset(TEXT, 2).as_deref(), Some("name"));
    }

    #[test]
    fn falls_back_to_the_section_header() {
        assert_eq!(line_of_key(TEXT, "strategy[1].lag"), Some(4));
        assert_eq!(line_of_key(TEXT, "table.rows"), None);
    }
}
