//! Operator output: the [`OutputFormat`] every operator command takes (`--format table|json`)
//! and [`render`], the one text-table renderer they share.
//!
//! Widths are counted in characters, the unit Rust's `{:<width$}` padding uses, so a name with
//! accents or non-Latin letters stays aligned (a byte count would pad it short).

use std::fmt::Write as _;
use std::str::FromStr;

/// How an operator command prints its result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned text columns.
    #[default]
    Table,
    /// Pretty-printed JSON.
    Json,
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Self::Table),
            "json" => Ok(Self::Json),
            other => Err(format!("unknown format `{other}`: use table or json")),
        }
    }
}

/// Left-aligned columns separated by two spaces, a header line first; trailing spaces trimmed.
/// A row shorter than the header leaves its last columns empty; cells past the header's width
/// are printed unpadded.
pub fn render<S: AsRef<str>>(headers: &[&str], rows: &[Vec<S>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.as_ref().chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            let _ = write!(text, "{cell:<width$}  ");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(AsRef::as_ref));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_the_widest_cell() {
        let text = render(&["A", "BB"], &[vec!["xxx", "y"], vec!["z", "wwww"]]);
        assert_eq!(text, "A    BB\nxxx  y\nz    wwww\n");
    }

    #[test]
    fn non_ascii_names_stay_aligned() {
        let text = render(
            &["NAME", "STAGE"],
            &[vec!["Café-API", "prod"], vec!["x", "dev"]],
        );
        let lines: Vec<&str> = text.lines().collect();
        // The character column where `word` starts on `line`.
        let column = |line: &str, word: &str| line.find(word).map(|b| line[..b].chars().count());
        assert_eq!(column(lines[1], "prod"), column(lines[2], "dev"));
        assert_eq!(column(lines[0], "STAGE"), column(lines[1], "prod"));
    }

    #[test]
    fn format_parses_either_case_and_names_a_bad_one() {
        assert_eq!("JSON".parse::<OutputFormat>(), Ok(OutputFormat::Json));
        assert_eq!("table".parse::<OutputFormat>(), Ok(OutputFormat::Table));
        let error = "yaml".parse::<OutputFormat>().unwrap_err();
        assert!(error.contains("yaml"), "{error}");
    }
}
