//! Language identification of chat messages.
//!
//! `whatlang`, restricted to the languages Careline serves, is reliable on scripts (Hangul, Han,
//! Cyrillic, Arabic) and on longer Latin-script sentences. On short messages it is not: its answer
//! comes with a confidence, and callers keep the chat's current language when confidence is low.

use crate::lang::Lang;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub lang: Lang,
    /// 0..1; above `RELIABLE` a chat may switch language on this message alone.
    pub confidence: f32,
}

impl Detection {
    pub const RELIABLE: f32 = 0.5;

    pub fn is_reliable(&self) -> bool {
        self.confidence >= Self::RELIABLE
    }
}

pub struct Detector {
    inner: whatlang::Detector,
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

impl Detector {
    pub fn new() -> Detector {
        use whatlang::Lang as W;
        Detector {
            inner: whatlang::Detector::with_allowlist(vec![W::Eng, W::Spa, W::Cmn, W::Vie, W::Kor, W::Tgl, W::Rus, W::Ara, W::Fra, W::Por]),
        }
    }

    pub fn detect(&self, text: &str) -> Option<Detection> {
        use whatlang::Lang as W;
        if !text.chars().any(char::is_alphabetic) {
            return None;
        }
        let info = self.inner.detect(text)?;
        let lang = match info.lang() {
            W::Eng => Lang::En,
            W::Spa => Lang::Es,
            W::Cmn => Lang::Zh,
            W::Vie => Lang::Vi,
            W::Kor => Lang::Ko,
            W::Tgl => Lang::Tl,
            W::Rus => Lang::Ru,
            W::Ara => Lang::Ar,
            W::Fra => Lang::Fr,
            W::Por => Lang::Pt,
            _ => return None,
        };
        let words = text.split_whitespace().count();
        // whatlang's confidence on one or two Latin-script words is noise; scripts are not.
        let script_decides = matches!(lang, Lang::Zh | Lang::Ko | Lang::Ru | Lang::Ar);
        let confidence = if script_decides {
            1.0
        } else if words < 3 {
            (info.confidence() as f32).min(0.3)
        } else {
            info.confidence() as f32
        };
        Some(Detection { lang, confidence })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_certain_and_short_latin_text_is_not() {
        let d = Detector::new();
        assert_eq!(
            d.detect("我想知道我的药好了没有").map(|x| (x.lang, x.is_reliable())),
            Some((Lang::Zh, true))
        );
        assert_eq!(d.detect("Quiero saber si mi receta está lista").map(|x| x.lang), Some(Lang::Es));
        assert!(!d.detect("hola").is_some_and(|x| x.is_reliable()));
        assert_eq!(d.detect("12345 !!"), None);
    }
}
