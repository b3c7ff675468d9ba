//! What an `ask` step accepts, and how a patient's answer becomes a slot value.
//!
//! Tolerant of format, never of value: "03/14/1962", "14 de marzo de 1962" and "1962年3月14日" are the
//! same date; "ABC 123-456" and "abc123456" the same member id. A wrong value is simply not accepted.

use crate::lang::Lang;
use crate::text::normalize;
use chrono::NaiveDate;
use regex::Regex;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub enum Expect {
    /// Any non-empty free text (at most 1,000 characters).
    Text,
    /// A person's name: letters, at least two of them.
    Name,
    /// A member id in the format `careline.yaml` declares; spaces and dashes are ignored.
    MemberId,
    /// A calendar date, typed any common way; stored as YYYY-MM-DD.
    Date,
    /// A US phone number; stored as +1 and ten digits.
    Phone,
    /// Matches the analyst's regular expression.
    Pattern(Regex),
    /// One of a few answers, each with words per language.
    Choice(Vec<Choice>),
    /// A language, named in any language ("español", "Spanish", "中文"); stored as its code.
    Language,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub value: String,
    /// Normalised words or phrases that pick this choice, per language.
    pub words: BTreeMap<Lang, Vec<String>>,
}

impl Expect {
    /// The canonical slot value for `answer`, or `None` if the answer does not fit.
    pub fn accept(&self, answer: &str, lang: Lang, member_id: &Regex) -> Option<String> {
        let answer = answer.trim();
        if answer.is_empty() {
            return None;
        }
        match self {
            Expect::Text => (answer.chars().count() <= 1000).then(|| answer.to_string()),
            Expect::Name => {
                let letters = answer.chars().filter(|c| c.is_alphabetic()).count();
                let clean = answer.chars().all(|c| c.is_alphabetic() || " -'.,".contains(c));
                (letters >= 2 && clean && answer.chars().count() <= 100).then(|| answer.split_whitespace().collect::<Vec<_>>().join(" "))
            }
            Expect::MemberId => {
                let compact: String = answer
                    .chars()
                    .filter(|c| !c.is_whitespace() && *c != '-')
                    .collect::<String>()
                    .to_uppercase();
                member_id.is_match(&compact).then_some(compact)
            }
            Expect::Date => parse_date(answer, lang).map(|d| d.format("%Y-%m-%d").to_string()),
            Expect::Phone => {
                let digits: String = answer.chars().filter(|c| c.is_ascii_digit()).collect();
                let national = match digits.len() {
                    10 => digits,
                    11 if digits.starts_with('1') => digits[1..].to_string(),
                    _ => return None,
                };
                let junk = answer.chars().any(|c| c.is_alphabetic());
                (!junk && !national.starts_with(['0', '1'])).then(|| format!("+1{national}"))
            }
            Expect::Pattern(re) => re.is_match(answer).then(|| answer.to_string()),
            Expect::Choice(choices) => pick_choice(choices, answer, lang),
            Expect::Language => parse_language(answer).map(|l| l.code().to_string()),
        }
    }
}

fn pick_choice(choices: &[Choice], answer: &str, lang: Lang) -> Option<String> {
    let norm = normalize(answer);
    // A number picks the n-th choice, as menus are often answered.
    if let Ok(n) = norm.trim().parse::<usize>() {
        return choices.get(n.checked_sub(1)?).map(|c| c.value.clone());
    }
    let hits: Vec<&Choice> = choices
        .iter()
        .filter(|c| {
            let own = normalize(&c.value.replace('_', " "));
            norm.contains(&own) || c.words.get(&lang).into_iter().flatten().any(|w| contains_phrase(&norm, w))
        })
        .collect();
    // Two choices named at once ("yes... no wait") is not an answer.
    match hits.as_slice() {
        [one] => Some(one.value.clone()),
        _ => None,
    }
}

/// Whether normalised `text` holds normalised `phrase` on word boundaries (anywhere, for CJK).
pub fn contains_phrase(text: &str, phrase: &str) -> bool {
    if crate::text::is_unspaced(phrase) {
        text.contains(phrase.trim())
    } else {
        text.contains(phrase)
    }
}

/// Names of each language in the languages patients use to ask for it.
const LANGUAGE_NAMES: &[(Lang, &[&str])] = &[
    (
        Lang::En,
        &[
            "english",
            "ingles",
            "anh",
            "tieng anh",
            "英文",
            "英语",
            "英語",
            "영어",
            "ingles",
            "anglais",
            "angle",
            "английский",
            "الإنجليزية",
            "انجليزي",
            "inglês",
        ],
    ),
    (
        Lang::Es,
        &[
            "spanish",
            "espanol",
            "castellano",
            "tieng tay ban nha",
            "西班牙语",
            "西班牙文",
            "스페인어",
            "kastila",
            "espagnol",
            "panyol",
            "испанский",
            "الإسبانية",
            "espanhol",
        ],
    ),
    (
        Lang::Zh,
        &[
            "chinese",
            "mandarin",
            "cantonese",
            "chino",
            "tieng trung",
            "tieng hoa",
            "中文",
            "汉语",
            "漢語",
            "普通话",
            "国语",
            "粤语",
            "중국어",
            "intsik",
            "chinois",
            "chinwa",
            "китайский",
            "الصينية",
            "chines",
        ],
    ),
    (
        Lang::Vi,
        &[
            "vietnamese",
            "vietnamita",
            "tieng viet",
            "viet",
            "越南语",
            "越南文",
            "베트남어",
            "vietnamien",
            "vyetnamyen",
            "вьетнамский",
            "الفيتنامية",
            "vietnamita",
        ],
    ),
    (
        Lang::Ko,
        &[
            "korean",
            "coreano",
            "tieng han",
            "韩语",
            "韓語",
            "한국어",
            "한국말",
            "coreen",
            "koreyen",
            "корейский",
            "الكورية",
        ],
    ),
    (
        Lang::Tl,
        &[
            "tagalog",
            "filipino",
            "pilipino",
            "tieng philippines",
            "他加禄语",
            "타갈로그어",
            "tagal",
            "тагальский",
            "التاغالوغية",
        ],
    ),
    (
        Lang::Ru,
        &[
            "russian",
            "ruso",
            "tieng nga",
            "俄语",
            "러시아어",
            "ruse",
            "rus",
            "русский",
            "по русски",
            "الروسية",
            "russo",
        ],
    ),
    (
        Lang::Ar,
        &[
            "arabic",
            "arabe",
            "tieng a rap",
            "阿拉伯语",
            "아랍어",
            "arab",
            "арабский",
            "العربية",
            "عربي",
        ],
    ),
    (
        Lang::Fr,
        &[
            "french",
            "frances",
            "tieng phap",
            "法语",
            "法文",
            "프랑스어",
            "francais",
            "franse",
            "французский",
            "الفرنسية",
            "frances",
        ],
    ),
    (
        Lang::Ht,
        &[
            "haitian",
            "creole",
            "kreyol",
            "haitian creole",
            "kreyol ayisyen",
            "克里奥尔语",
            "아이티 크리올어",
            "criollo haitiano",
            "creole haitien",
            "креольский",
            "الكريولية",
            "crioulo",
        ],
    ),
    (
        Lang::Pt,
        &[
            "portuguese",
            "portugues",
            "tieng bo dao nha",
            "葡萄牙语",
            "포르투갈어",
            "portugais",
            "potige",
            "португальский",
            "البرتغالية",
        ],
    ),
];

/// The language a patient names ("quiero español", "中文", "Kreyòl"); `None` if none or several.
pub fn parse_language(answer: &str) -> Option<Lang> {
    let norm = normalize(answer);
    let found: Vec<Lang> = LANGUAGE_NAMES
        .iter()
        .filter(|(_, names)| names.iter().any(|n| contains_phrase(&norm, &normalize(n))))
        .map(|(l, _)| *l)
        .collect();
    match found.as_slice() {
        [one] => Some(*one),
        // "Haitian Creole" also names French-sounding words; a single code is the answer.
        _ => Lang::from_code(norm.trim()),
    }
}

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
    ("enero", 1),
    ("febrero", 2),
    ("marzo", 3),
    ("abril", 4),
    ("mayo", 5),
    ("junio", 6),
    ("julio", 7),
    ("agosto", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("octubre", 10),
    ("noviembre", 11),
    ("diciembre", 12),
    ("janvier", 1),
    ("fevrier", 2),
    ("mars", 3),
    ("avril", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("decembre", 12),
    ("janeiro", 1),
    ("fevereiro", 2),
    ("marco", 3),
    ("maio", 5),
    ("junho", 6),
    ("julho", 7),
    ("setembro", 9),
    ("outubro", 10),
    ("novembro", 11),
    ("dezembro", 12),
    ("pebrero", 2),
    ("marso", 3),
    ("hunyo", 6),
    ("hulyo", 7),
    ("setyembre", 9),
    ("oktubre", 10),
    ("nobyembre", 11),
    ("disyembre", 12),
    ("janvye", 1),
    ("fevriye", 2),
    ("mas", 3),
    ("jen", 6),
    ("jiye", 7),
    ("out", 8),
    ("septanm", 9),
    ("oktob", 10),
    ("novanm", 11),
    ("desanm", 12),
];

/// Words that sit between the parts of a written date and mean nothing by themselves.
const DATE_FILLER: &[&str] = &[
    "de", "del", "of", "the", "ngay", "thang", "nam", "th", "st", "nd", "rd", "le", "em", "ng", "born", "dob",
];

/// Parses a date written the way patients write them. Numeric dates are month-first in English and
/// day-first elsewhere, unless a part over 12 settles it.
pub fn parse_date(answer: &str, lang: Lang) -> Option<NaiveDate> {
    // 年月日 and Korean 년월일 separate year, month and day in order.
    let spaced: String = answer
        .chars()
        .map(|c| if "年月日년월일号/.-,".contains(c) { ' ' } else { c })
        .collect();
    let norm = normalize(&spaced);
    let mut nums: Vec<&str> = Vec::new();
    let mut month: Option<u32> = None;
    for token in norm.split_whitespace() {
        if token.chars().all(|c| c.is_ascii_digit()) {
            nums.push(token);
        } else if let Some(m) = MONTHS.iter().find(|(name, _)| normalize(name).trim() == token).map(|m| m.1) {
            if month.replace(m).is_some() {
                return None;
            }
        } else if let Some(n) = token
            .strip_suffix("th")
            .or(token.strip_suffix("st"))
            .or(token.strip_suffix("nd"))
            .or(token.strip_suffix("rd"))
            .filter(|n| n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty())
        {
            nums.push(n);
        } else if !DATE_FILLER.contains(&token) {
            return None;
        }
    }
    let n = |s: &str| s.parse::<i64>().ok();
    let (y, m, d) = match (month, nums.as_slice()) {
        (Some(m), [a, b]) => {
            if a.len() == 4 {
                (n(a)?, m as i64, n(b)?)
            } else {
                (n(b)?, m as i64, n(a)?)
            }
        }
        (None, [one]) if one.len() == 8 => {
            let (a, b, c) = (&one[0..2], &one[2..4], &one[4..8]);
            if one.starts_with("19") || one.starts_with("20") {
                (n(&one[0..4])?, n(&one[4..6])?, n(&one[6..8])?)
            } else {
                numeric_order(n(a)?, n(b)?, n(c)?, lang)?
            }
        }
        (None, [a, b, c]) => {
            if a.len() == 4 {
                (n(a)?, n(b)?, n(c)?)
            } else {
                let year = n(c)?;
                let year = if c.len() == 2 { two_digit_year(year) } else { year };
                numeric_order(n(a)?, n(b)?, year, lang)?
            }
        }
        _ => return None,
    };
    let y = if (0..100).contains(&y) { two_digit_year(y) } else { y };
    if !(1900..=2100).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y as i32, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
}

/// `a/b/year`: month-first in English, day-first elsewhere, unless a part over 12 settles it.
fn numeric_order(a: i64, b: i64, year: i64, lang: Lang) -> Option<(i64, i64, i64)> {
    Some(match (a > 12, b > 12) {
        (true, true) => return None,
        (true, false) => (year, b, a),
        (false, true) => (year, a, b),
        (false, false) if lang == Lang::En => (year, a, b),
        (false, false) => (year, b, a),
    })
}

/// Two-digit years are birth years: 25 is 1925 only if 2025 would be in the future... we cannot know
/// today here (the core is pure), so the pivot is fixed: 00-29 -> 2000s, 30-99 -> 1900s.
fn two_digit_year(y: i64) -> i64 {
    if y < 30 { 2000 + y } else { 1900 + y }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str, lang: Lang) -> Option<String> {
        Expect::Date.accept(s, lang, &Regex::new("x").unwrap())
    }

    #[test]
    fn dates_are_read_however_they_are_typed() {
        for (s, lang) in [
            ("03/14/1962", Lang::En),
            ("3-14-62", Lang::En),
            ("1962-03-14", Lang::En),
            ("March 14, 1962", Lang::En),
            ("march 14th 1962", Lang::En),
            ("14 de marzo de 1962", Lang::Es),
            ("14/03/1962", Lang::Es),
            ("14/3/1962", Lang::En),
            ("1962年3月14日", Lang::Zh),
            ("ngày 14 tháng 3 năm 1962", Lang::Vi),
            ("14/03/1962", Lang::Vi),
            ("03141962", Lang::En),
        ] {
            assert_eq!(date(s, lang).as_deref(), Some("1962-03-14"), "{s} ({lang})");
        }
    }

    #[test]
    fn impossible_or_unclear_dates_are_refused() {
        for s in ["02/30/1990", "yesterday", "13/13/1990", "1962", "14 march april 1962", "1800-01-01"] {
            assert_eq!(date(s, Lang::En), None, "{s}");
        }
    }

    #[test]
    fn member_ids_ignore_spacing_but_not_value() {
        let re = Regex::new("^[A-Z]{3}[0-9]{6}$").unwrap();
        assert_eq!(Expect::MemberId.accept("abc 123-456", Lang::En, &re).as_deref(), Some("ABC123456"));
        assert_eq!(Expect::MemberId.accept("ABC12345", Lang::En, &re), None);
    }

    #[test]
    fn phones_are_us_numbers() {
        let re = Regex::new("x").unwrap();
        assert_eq!(
            Expect::Phone.accept("(617) 555-0134", Lang::En, &re).as_deref(),
            Some("+16175550134")
        );
        assert_eq!(
            Expect::Phone.accept("1 617 555 0134", Lang::En, &re).as_deref(),
            Some("+16175550134")
        );
        assert_eq!(Expect::Phone.accept("555-0134", Lang::En, &re), None);
        assert_eq!(Expect::Phone.accept("call me at 617", Lang::En, &re), None);
    }

    #[test]
    fn languages_are_named_in_any_language() {
        assert_eq!(parse_language("quiero español por favor"), Some(Lang::Es));
        assert_eq!(parse_language("中文"), Some(Lang::Zh));
        assert_eq!(parse_language("tiếng Việt"), Some(Lang::Vi));
        assert_eq!(parse_language("Kreyòl"), Some(Lang::Ht));
        assert_eq!(parse_language("in English please"), Some(Lang::En));
        assert_eq!(parse_language("hello"), None);
    }

    #[test]
    fn choices_take_one_answer_or_a_menu_number() {
        let yes = Choice {
            value: "yes".into(),
            words: BTreeMap::from([(Lang::Es, vec![normalize("sí")])]),
        };
        let no = Choice {
            value: "no".into(),
            words: BTreeMap::new(),
        };
        let e = Expect::Choice(vec![yes, no]);
        let re = Regex::new("x").unwrap();
        assert_eq!(e.accept("Sí, claro", Lang::Es, &re).as_deref(), Some("yes"));
        assert_eq!(e.accept("2", Lang::En, &re).as_deref(), Some("no"));
        assert_eq!(e.accept("yes no", Lang::En, &re), None);
        assert_eq!(e.accept("maybe", Lang::En, &re), None);
    }
}
