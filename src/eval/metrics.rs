//! Precision, recall, F1, confusion matrices and per-language accuracy: the arithmetic of an
//! evaluation, kept apart from how rows are classified.

use crate::lang::Lang;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Display;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LabelScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Rows whose true label this is.
    pub support: usize,
    /// Rows predicted as this label.
    pub predicted: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LangScores {
    pub n: usize,
    pub accuracy: f64,
}

/// Outcomes of classifying labelled rows: `(truth, prediction, language)` per row.
pub struct Outcomes<L> {
    pub pairs: Vec<(L, L, Option<Lang>)>,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

impl<L: Copy + Eq + Ord> Outcomes<L> {
    pub fn n(&self) -> usize {
        self.pairs.len()
    }

    pub fn accuracy(&self) -> f64 {
        ratio(self.pairs.iter().filter(|(t, p, _)| t == p).count(), self.n())
    }

    pub fn scores(&self, label: L) -> LabelScores {
        let tp = self.pairs.iter().filter(|(t, p, _)| *t == label && *p == label).count();
        let support = self.pairs.iter().filter(|(t, _, _)| *t == label).count();
        let predicted = self.pairs.iter().filter(|(_, p, _)| *p == label).count();
        let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        LabelScores {
            precision,
            recall,
            f1,
            support,
            predicted,
        }
    }

    /// `matrix[truth][prediction]` counts.
    pub fn confusion(&self) -> BTreeMap<L, BTreeMap<L, usize>> {
        let mut m: BTreeMap<L, BTreeMap<L, usize>> = BTreeMap::new();
        for (t, p, _) in &self.pairs {
            *m.entry(*t).or_default().entry(*p).or_default() += 1;
        }
        m
    }

    pub fn per_lang(&self) -> BTreeMap<Lang, LangScores> {
        let mut counts: BTreeMap<Lang, (usize, usize)> = BTreeMap::new();
        for (t, p, lang) in &self.pairs {
            if let Some(lang) = lang {
                let c = counts.entry(*lang).or_default();
                c.0 += 1;
                c.1 += usize::from(t == p);
            }
        }
        counts
            .into_iter()
            .map(|(lang, (n, ok))| (lang, LangScores { n, accuracy: ratio(ok, n) }))
            .collect()
    }
}

/// A confusion matrix as aligned text, truths down, predictions across.
pub fn confusion_table<L: Copy + Ord + Display>(labels: &[L], matrix: &BTreeMap<L, BTreeMap<L, usize>>) -> String {
    let width = labels.iter().map(|l| l.to_string().len()).max().unwrap_or(4).max(5) + 1;
    let mut out = format!("{:>width$}", "true\\got");
    for l in labels {
        out.push_str(&format!("{:>width$}", l.to_string()));
    }
    out.push('\n');
    for t in labels {
        out.push_str(&format!("{:>width$}", t.to_string()));
        for p in labels {
            let n = matrix.get(t).and_then(|r| r.get(p)).copied().unwrap_or(0);
            out.push_str(&format!("{n:>width$}"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_recall_and_f1_by_hand() {
        // truth a,a,a,b ; predicted a,a,b,a
        let o = Outcomes {
            pairs: vec![
                (1, 1, Some(Lang::En)),
                (1, 1, Some(Lang::En)),
                (1, 2, Some(Lang::Es)),
                (2, 1, Some(Lang::Es)),
            ],
        };
        let a = o.scores(1);
        assert_eq!((a.precision, a.support, a.predicted), (2.0 / 3.0, 3, 3));
        assert!((a.recall - 2.0 / 3.0).abs() < 1e-12 && (a.f1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(o.scores(2).f1, 0.0);
        assert_eq!(o.accuracy(), 0.5);
        assert_eq!(o.per_lang()[&Lang::En].accuracy, 1.0);
        assert_eq!(o.per_lang()[&Lang::Es].accuracy, 0.0);
        assert_eq!(o.confusion()[&1][&2], 1);
    }
}
