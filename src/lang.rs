//! The languages Careline knows. Triage covers all of them; flows may cover fewer.
//! A `Lang` is a closed set on purpose: adding a language is a code review, not a typo in YAML.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The eleven languages US health plans serve most, by ISO 639-1 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Es,
    Zh,
    Vi,
    Ko,
    Tl,
    Ru,
    Ar,
    Fr,
    Ht,
    Pt,
}

impl Lang {
    pub const ALL: [Lang; 11] = [
        Lang::En,
        Lang::Es,
        Lang::Zh,
        Lang::Vi,
        Lang::Ko,
        Lang::Tl,
        Lang::Ru,
        Lang::Ar,
        Lang::Fr,
        Lang::Ht,
        Lang::Pt,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Zh => "zh",
            Lang::Vi => "vi",
            Lang::Ko => "ko",
            Lang::Tl => "tl",
            Lang::Ru => "ru",
            Lang::Ar => "ar",
            Lang::Fr => "fr",
            Lang::Ht => "ht",
            Lang::Pt => "pt",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        // Accept region tags such as `es-MX` or `zh_Hans`, as an Accept-Language header sends them.
        let primary = code.split(['-', '_']).next().unwrap_or("");
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The language's name in itself, as a language picker shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
            Lang::Zh => "中文",
            Lang::Vi => "Tiếng Việt",
            Lang::Ko => "한국어",
            Lang::Tl => "Tagalog",
            Lang::Ru => "Русский",
            Lang::Ar => "العربية",
            Lang::Fr => "Français",
            Lang::Ht => "Kreyòl ayisyen",
            Lang::Pt => "Português",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_region_tags_are_accepted() {
        for l in Lang::ALL {
            assert_eq!(Lang::from_code(l.code()), Some(l));
        }
        assert_eq!(Lang::from_code("es-MX"), Some(Lang::Es));
        assert_eq!(Lang::from_code("zh_Hant"), Some(Lang::Zh));
        assert_eq!(Lang::from_code("de"), None);
    }
}
