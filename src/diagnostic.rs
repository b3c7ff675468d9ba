//! Problems found in analyst-written files, reported all at once.
//!
//! A diagnostic always says where (file and line), what is wrong and what to do about it: it is read
//! by analysts who are not programmers, so the fix is part of the message, not an afterthought.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    /// The flow step (or test, or section) the problem sits in, when there is one.
    pub step: Option<String>,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(step) = &self.step {
            write!(f, "step `{step}`: ")?;
        }
        write!(f, "{}\n    fix: {}", self.problem, self.fix)
    }
}

/// Collects diagnostics for one file; `step` is the context new diagnostics are tagged with.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub file: String,
    pub step: Option<String>,
    pub list: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(file: impl Into<String>) -> Self {
        Diagnostics {
            file: file.into(),
            step: None,
            list: Vec::new(),
        }
    }

    pub fn push(&mut self, line: usize, problem: impl Into<String>, fix: impl Into<String>) {
        self.list.push(Diagnostic {
            file: self.file.clone(),
            line,
            step: self.step.clone(),
            problem: problem.into(),
            fix: fix.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
