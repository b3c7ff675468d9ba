//! Evaluation of triage and language identification against labelled TSV files: the figures the
//! project's targets are stated in (`docs/evaluation.md`). Pure: the CLI reads files and prints.

pub mod metrics;
pub mod public;

use crate::lang::Lang;
use std::fmt;

/// One labelled line of an evaluation file, with its line number for the misclassified list.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<L> {
    pub line: usize,
    pub label: L,
    pub lang: Option<Lang>,
    pub text: String,
}

/// Triage labels: what a human should do with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    Crisis,
    Distress,
    Clinical,
    Routine,
}

impl Label {
    pub const ALL: [Label; 4] = [Label::Crisis, Label::Distress, Label::Clinical, Label::Routine];

    pub fn name(self) -> &'static str {
        match self {
            Label::Crisis => "crisis",
            Label::Distress => "distress",
            Label::Clinical => "clinical",
            Label::Routine => "routine",
        }
    }

    pub fn parse(s: &str) -> Option<Label> {
        Label::ALL.into_iter().find(|l| l.name() == s)
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A line the reader cannot use: named with its line and what it should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub problem: String,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// Lines that carry data: not blank, not `#` comments.
fn data_lines(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
}

fn parse_lang(line: usize, code: &str) -> Result<Lang, BadLine> {
    Lang::from_code(code).ok_or_else(|| BadLine {
        line,
        problem: format!("unknown language `{code}`; use one of {}", Lang::ALL.map(|l| l.code()).join(" ")),
    })
}

/// Reads `label<TAB>lang<TAB>text` lines.
pub fn read_triage(source: &str) -> Result<Vec<Row<Label>>, BadLine> {
    data_lines(source)
        .map(|(line, l)| {
            let mut parts = l.splitn(3, '\t');
            let (Some(label), Some(lang), Some(text)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(BadLine {
                    line,
                    problem: "expected `label<TAB>lang<TAB>text`".into(),
                });
            };
            let label = Label::parse(label.trim()).ok_or_else(|| BadLine {
                line,
                problem: format!("unknown label `{label}`; use crisis, distress, clinical or routine"),
            })?;
            Ok(Row {
                line,
                label,
                lang: Some(parse_lang(line, lang.trim())?),
                text: text.to_string(),
            })
        })
        .collect()
}

/// Reads `lang<TAB>text` lines.
pub fn read_langid(source: &str) -> Result<Vec<Row<Lang>>, BadLine> {
    data_lines(source)
        .map(|(line, l)| {
            let Some((lang, text)) = l.split_once('\t') else {
                return Err(BadLine {
                    line,
                    problem: "expected `lang<TAB>text`".into(),
                });
            };
            let lang = parse_lang(line, lang.trim())?;
            Ok(Row {
                line,
                label: lang,
                lang: Some(lang),
                text: text.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_names_bad_lines() {
        let rows = read_triage("# comment\ncrisis\ten\tI want to die\n\nroutine\tes\thola\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[0].label, rows[1].lang), (2, Label::Crisis, Some(Lang::Es)));
        assert_eq!(read_triage("crisis\ten\n").unwrap_err().line, 1);
        assert!(read_triage("urgent\ten\thi\n").unwrap_err().problem.contains("unknown label"));
        assert!(read_langid("xx\thello\n").unwrap_err().problem.contains("unknown language"));
        assert_eq!(read_langid("ht\tmwen malad\n").unwrap()[0].label, Lang::Ht);
    }
}
