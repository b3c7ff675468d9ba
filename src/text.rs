//! Text normalisation shared by intent matching and triage.
//!
//! Patients type fast on phones: no accents, shouting, stretched letters ("pleeease"), stray
//! punctuation. Every matcher compares *normalised* text with *normalised* patterns, so a phrase an
//! analyst writes as "¿Dónde está?" matches "donde esta" and "DONDE ESTAAA". Normalisation must be
//! applied to both sides, never to one: that is why it lives in one function.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lower-cases, folds compatibility forms (full-width letters, ligatures), strips accents, drops
/// apostrophes, turns other punctuation into spaces, collapses runs of a repeated letter to one, and pads the result with one
/// space at each end so that `" word "` matches whole words only.
pub fn normalize(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + 2);
    out.push(' ');
    let mut last: Option<char> = Some(' ');
    for c in input.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        let c = fold_char(c);
        // Apostrophes join: "don't" is "dont", "j'ai" is "jai", as patients also type them.
        if c == '\'' {
            continue;
        }
        for c in c.to_lowercase() {
            let c = if c.is_alphanumeric() || is_cjk(c) { c } else { ' ' };
            if Some(c) == last && (c == ' ' || c.is_alphabetic()) {
                continue;
            }
            out.push(c);
            last = Some(c);
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// Characters that NFKD leaves whole but patients type plainly.
fn fold_char(c: char) -> char {
    match c {
        'đ' | 'Đ' => 'd',
        'ø' | 'Ø' => 'o',
        'ł' | 'Ł' => 'l',
        'ß' => 's',
        '\u{2019}' | '\u{2018}' | '`' => '\'',
        _ => c,
    }
}

/// Scripts written without spaces between words: matched as substrings, not whole words.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF   // kana
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xF900..=0xFAFF // compatibility ideographs
        | 0xAC00..=0xD7AF // Hangul syllables (Korean does use spaces, but particles attach to words)
        | 0x1100..=0x11FF)
}

/// Whether a normalised phrase should match anywhere (CJK) rather than on word boundaries.
pub fn is_unspaced(phrase: &str) -> bool {
    phrase.chars().any(is_cjk)
}

/// Tokens for similarity: words for spaced scripts, character bigrams for unspaced ones.
pub fn tokens(normalized: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in normalized.split_whitespace() {
        if is_unspaced(word) {
            let chars: Vec<char> = word.chars().collect();
            if chars.len() == 1 {
                out.push(chars[0].to_string());
            }
            for pair in chars.windows(2) {
                out.push(pair.iter().collect());
            }
        } else {
            out.push(word.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_case_punctuation_and_stretching_fold_away() {
        assert_eq!(normalize("¿Dónde está?"), " donde esta ");
        assert_eq!(normalize("PLEEEASE help!!!"), " please help ");
        assert_eq!(normalize("Tôi muốn nói chuyện"), " toi muon noi chuyen ");
        assert_eq!(normalize("ＡＧＥＮＴ"), " agent ");
        assert_eq!(normalize("Đặt lịch"), " dat lich ");
    }

    #[test]
    fn stretched_and_plain_spellings_normalise_alike() {
        assert_eq!(normalize("pleeeease"), normalize("please"));
        assert_eq!(normalize("too"), normalize("tooo"));
    }

    #[test]
    fn cjk_is_kept_and_tokenised_in_bigrams() {
        assert_eq!(normalize("我想续药。"), " 我想续药 ");
        assert_eq!(tokens(&normalize("续药")), vec!["续药".to_string()]);
        assert_eq!(tokens(&normalize("refill my meds")), vec!["refil", "my", "meds"]);
    }

    #[test]
    fn empty_and_symbol_only_input_normalise_to_a_blank() {
        assert_eq!(normalize("").trim(), "");
        assert_eq!(normalize("?!…").trim(), "");
    }
}
