//! Chinese resident identity numbers (GB 11643-1999), second-generation disability
//! certificate numbers (第二代残疾人证), disability categories and grades.
//!
//! Both numbers are sensitive personal data: their `Debug` and `Display` print only the
//! masked form, and `expose()` is the single way to read the clear value.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Weights of the first 17 digits in the ISO 7064 MOD 11-2 check.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check characters indexed by the weighted sum modulo 11.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Earliest birth year accepted in an identity number.
const MIN_BIRTH_YEAR: i32 = 1900;

/// Sex recorded in the 17th character of a resident identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    /// Odd 17th digit.
    Male,
    /// Even 17th digit.
    Female,
}

impl Gender {
    /// The lowercase English word: "male" or "female".
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
}

impl fmt::Display for Gender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Disability category, numbered as in the 19th digit of the certificate number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisabilityCategory {
    /// 视力残疾.
    Vision = 1,
    /// 听力残疾.
    Hearing = 2,
    /// 言语残疾.
    Speech = 3,
    /// 肢体残疾.
    Physical = 4,
    /// 智力残疾.
    Intellectual = 5,
    /// 精神残疾.
    Mental = 6,
    /// 多重残疾.
    Multiple = 7,
}

impl DisabilityCategory {
    /// Every category, in digit order.
    pub const ALL: [Self; 7] = [
        Self::Vision,
        Self::Hearing,
        Self::Speech,
        Self::Physical,
        Self::Intellectual,
        Self::Mental,
        Self::Multiple,
    ];

    /// The English word, as serialized: "vision", "hearing", ….
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vision => "vision",
            Self::Hearing => "hearing",
            Self::Speech => "speech",
            Self::Physical => "physical",
            Self::Intellectual => "intellectual",
            Self::Mental => "mental",
            Self::Multiple => "multiple",
        }
    }

    /// The category digit 1–7.
    pub fn digit(self) -> u8 {
        self as u8
    }

    /// The category of digit 1–7, `None` for any other value.
    pub fn from_digit(d: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.digit() == d)
    }

    /// The category of the exact (lowercase) English word, as serialized.
    pub fn parse_word(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Parses the English word (any case), a digit "1".."7", or the Chinese name with or without "残疾".
    pub fn parse_any(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if let Some(c) = Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
        {
            return Some(c);
        }
        if let Ok(d) = s.parse::<u8>() {
            // Only the bare digit, not "+4" or "04".
            if s.len() == 1 {
                return Self::from_digit(d);
            }
            return None;
        }
        let short = s.strip_suffix("残疾").unwrap_or(s);
        Self::ALL.into_iter().find(|c| c.chinese_short() == short)
    }

    /// The Chinese name, e.g. "视力残疾".
    pub fn chinese(self) -> &'static str {
        match self {
            Self::Vision => "视力残疾",
            Self::Hearing => "听力残疾",
            Self::Speech => "言语残疾",
            Self::Physical => "肢体残疾",
            Self::Intellectual => "智力残疾",
            Self::Mental => "精神残疾",
            Self::Multiple => "多重残疾",
        }
    }

    /// The Chinese name without the "残疾" suffix, e.g. "视力".
    fn chinese_short(self) -> &'static str {
        match self {
            Self::Vision => "视力",
            Self::Hearing => "听力",
            Self::Speech => "言语",
            Self::Physical => "肢体",
            Self::Intellectual => "智力",
            Self::Mental => "精神",
            Self::Multiple => "多重",
        }
    }
}

impl fmt::Display for DisabilityCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a valid resident identity number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not exactly 18 characters after trimming.
    #[error("must be 18 characters")]
    Length,
    /// Not 17 ASCII digits followed by a digit or X.
    #[error("must be 17 digits followed by a digit or X")]
    Characters,
    /// The address code starts with 0.
    #[error("invalid region code")]
    Region,
    /// Characters 7–14 are not a real date from 1900 on.
    #[error("contains an invalid birth date")]
    BirthDate,
    /// The birth date is after today.
    #[error("birth date is in the future")]
    FutureBirthDate,
    /// The 18th character is not the ISO 7064 MOD 11-2 check character.
    #[error("check digit does not match")]
    CheckDigit,
}

/// Check character of 17 ASCII digits (the caller guarantees they are digits).
fn check_char_of(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b.wrapping_sub(b'0')) * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// The ISO 7064 MOD 11-2 check character ('0'–'9' or 'X') of exactly 17 ASCII digits, else `None`.
pub fn compute_check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(check_char_of(bytes))
}

/// Builds an 18-character number with the right check character (for seeders and tests).
///
/// The result is not validated: a region starting with 0 or a year before 1900 gives a
/// number that `ResidentId::parse` refuses, which tests use on purpose.
///
/// # Panics
/// If `region6` is not 6 ASCII digits, `seq3` is over 999, or the year is not 0–9999.
pub fn make_valid(region6: &str, birth: NaiveDate, seq3: u16) -> String {
    assert!(
        region6.len() == 6 && region6.bytes().all(|b| b.is_ascii_digit()),
        "region6 must be 6 ASCII digits"
    );
    assert!(seq3 <= 999, "seq3 must be 0..=999");
    assert!(
        (0..=9999).contains(&birth.year()),
        "birth year must have 4 digits"
    );
    let mut s = format!("{region6}{}{seq3:03}", birth.format("%Y%m%d"));
    s.push(check_char_of(s.as_bytes()));
    s
}

/// Masks an 18-character ASCII identity number: first 6, eight '*', last 4.
fn mask18(s: &str) -> String {
    let head = s.get(..6).unwrap_or("");
    let tail = s.get(s.len().saturating_sub(4)..).unwrap_or("");
    format!("{head}********{tail}")
}

/// A valid 18-character Chinese resident identity number (GB 11643-1999).
///
/// `Debug` and `Display` print only the masked form; use `expose()` for the clear value.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct ResidentId {
    value: String,
    birth: NaiveDate,
}

impl ResidentId {
    /// Parses and validates against today's UTC date (see `parse_at`).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Self::parse_at(s, Utc::now().date_naive())
    }

    /// Parses and validates, refusing a birth date after `today`.
    pub fn parse_at(s: &str, today: NaiveDate) -> Result<Self, IdError> {
        let s = s.trim();
        if s.chars().count() != 18 {
            return Err(IdError::Length);
        }
        let mut value = s.to_owned();
        if value.ends_with('x') {
            value.pop();
            value.push('X');
        }
        let bytes = value.as_bytes();
        // 18 chars of which the first 17 are ASCII digits and the last is a digit or X:
        // the string is then 18 ASCII bytes and byte slicing below is safe.
        let well_formed = bytes.len() == 18
            && bytes[..17].iter().all(u8::is_ascii_digit)
            && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
        if !well_formed {
            return Err(IdError::Characters);
        }
        if bytes[0] == b'0' {
            return Err(IdError::Region);
        }
        let birth = birth_date_of(&value[6..14]).ok_or(IdError::BirthDate)?;
        if birth > today {
            return Err(IdError::FutureBirthDate);
        }
        if char::from(bytes[17]) != check_char_of(&bytes[..17]) {
            return Err(IdError::CheckDigit);
        }
        Ok(Self { value, birth })
    }

    /// The clear 18-character number (uppercase X); the only way to read it.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The birth date in characters 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth
    }

    /// The sex from the 17th digit: odd is male, even is female.
    pub fn gender(&self) -> Gender {
        let d = self.value.as_bytes()[16].wrapping_sub(b'0');
        if d % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// The 6-digit administrative region (address) code.
    pub fn region_code(&self) -> &str {
        &self.value[..6]
    }

    /// First 6 characters, eight '*', last 4, e.g. `370883********123X`.
    pub fn masked(&self) -> String {
        mask18(&self.value)
    }
}

/// The date of 8 ASCII digits YYYYMMDD, from year 1900 on; `None` if not a real date.
fn birth_date_of(yyyymmdd: &str) -> Option<NaiveDate> {
    let year: i32 = yyyymmdd.get(0..4)?.parse().ok()?;
    let month: u32 = yyyymmdd.get(4..6)?.parse().ok()?;
    let day: u32 = yyyymmdd.get(6..8)?.parse().ok()?;
    if year < MIN_BIRTH_YEAR {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl FromStr for ResidentId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ResidentId {
    type Error = IdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

/// Why a string is not a valid disability certificate number, or disagrees with the record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Not exactly 20 characters after trimming.
    #[error("must be 20 characters")]
    Length,
    /// The first 18 characters are not a valid identity number.
    #[error("first 18 characters are not a valid id number: {0}")]
    Id(IdError),
    /// The 19th character is not 1–7.
    #[error("19th character must be a category digit 1-7")]
    Category,
    /// The 20th character is not 1–4.
    #[error("20th character must be a grade digit 1-4")]
    Grade,
    /// The embedded identity number differs from the holder's.
    #[error("does not match id_number")]
    IdMismatch,
    /// The category digit differs from the recorded category.
    #[error("category digit does not match disability_category")]
    CategoryMismatch,
    /// The grade digit differs from the recorded grade.
    #[error("grade digit does not match disability_grade")]
    GradeMismatch,
}

/// A second-generation disability certificate number (第二代残疾人证号): ID + category + grade.
///
/// `Debug` and `Display` print only the masked form; use `expose()` for the clear value.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct DisabilityCertNumber {
    value: String,
    id: ResidentId,
    category: DisabilityCategory,
    grade: u8,
}

impl DisabilityCertNumber {
    /// Parses and validates against today's UTC date (see `parse_at`).
    pub fn parse(s: &str) -> Result<Self, CertError> {
        Self::parse_at(s, Utc::now().date_naive())
    }

    /// Parses and validates; the embedded ID is checked with `ResidentId::parse_at(_, today)`.
    pub fn parse_at(s: &str, today: NaiveDate) -> Result<Self, CertError> {
        let chars: Vec<char> = s.trim().chars().collect();
        if chars.len() != 20 {
            return Err(CertError::Length);
        }
        let first18: String = chars[..18].iter().collect();
        let id = ResidentId::parse_at(&first18, today).map_err(CertError::Id)?;
        let category = chars[18]
            .to_digit(10)
            .and_then(|d| u8::try_from(d).ok())
            .and_then(DisabilityCategory::from_digit)
            .ok_or(CertError::Category)?;
        let grade = chars[19]
            .to_digit(10)
            .and_then(|d| parse_grade(i64::from(d)))
            .ok_or(CertError::Grade)?;
        Ok(Self::assemble(id, category, grade))
    }

    /// Builds the number of `id`, `cat` and `grade`.
    ///
    /// # Panics
    /// If `grade` is not 1–4; use `try_build` for unchecked input.
    pub fn build(id: &ResidentId, cat: DisabilityCategory, grade: u8) -> DisabilityCertNumber {
        assert!((1..=4).contains(&grade), "disability grade must be 1-4");
        Self::assemble(id.clone(), cat, grade)
    }

    /// Builds the number of `id`, `cat` and `grade`, refusing a grade outside 1–4.
    pub fn try_build(
        id: &ResidentId,
        cat: DisabilityCategory,
        grade: u8,
    ) -> Result<DisabilityCertNumber, CertError> {
        if !(1..=4).contains(&grade) {
            return Err(CertError::Grade);
        }
        Ok(Self::assemble(id.clone(), cat, grade))
    }

    /// Joins already-valid parts.
    fn assemble(id: ResidentId, category: DisabilityCategory, grade: u8) -> Self {
        let value = format!("{}{}{}", id.expose(), category.digit(), grade);
        Self {
            value,
            id,
            category,
            grade,
        }
    }

    /// The holder's identity number (the first 18 characters).
    pub fn resident_id(&self) -> ResidentId {
        self.id.clone()
    }

    /// The disability category (19th character).
    pub fn category(&self) -> DisabilityCategory {
        self.category
    }

    /// The disability grade 1–4 (20th character).
    pub fn grade(&self) -> u8 {
        self.grade
    }

    /// The masked ID followed by the two digits, e.g. `370883********123X41`.
    pub fn masked(&self) -> String {
        format!(
            "{}{}{}",
            self.id.masked(),
            self.category.digit(),
            self.grade
        )
    }

    /// The clear 20-character number; the only way to read it.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Checks the number against the holder's ID, recorded category and recorded grade.
    pub fn check_agrees(
        &self,
        id: &ResidentId,
        cat: DisabilityCategory,
        grade: u8,
    ) -> Result<(), CertError> {
        if self.id != *id {
            return Err(CertError::IdMismatch);
        }
        if self.category != cat {
            return Err(CertError::CategoryMismatch);
        }
        if self.grade != grade {
            return Err(CertError::GradeMismatch);
        }
        Ok(())
    }
}

impl fmt::Debug for DisabilityCertNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DisabilityCertNumber({})", self.masked())
    }
}

impl fmt::Display for DisabilityCertNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl FromStr for DisabilityCertNumber {
    type Err = CertError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for DisabilityCertNumber {
    type Error = CertError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

/// The disability grade 1–4 (一级 to 四级), `None` for any other value.
pub fn parse_grade(n: i64) -> Option<u8> {
    if (1..=4).contains(&n) {
        u8::try_from(n).ok()
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A fixed "today" so the tests never depend on the clock.
    fn today() -> NaiveDate {
        date(2024, 6, 15)
    }

    fn id(s: &str) -> ResidentId {
        ResidentId::parse_at(s, today()).unwrap()
    }

    fn id_err(s: &str) -> IdError {
        ResidentId::parse_at(s, today()).unwrap_err()
    }

    fn cert(s: &str) -> DisabilityCertNumber {
        DisabilityCertNumber::parse_at(s, today()).unwrap()
    }

    fn cert_err(s: &str) -> CertError {
        DisabilityCertNumber::parse_at(s, today()).unwrap_err()
    }

    /// Widely cited example; check character X.
    const CITED: &str = "11010519491231002X";
    /// Valid number ending in a digit, male.
    const DIGIT_END: &str = "440308199001010017";
    /// Valid number whose masked form is the documented example.
    const MASK_EXAMPLE: &str = "37088319800104123X";

    // ---- check character -------------------------------------------------------------

    #[test]
    fn cited_example_check_char_hand_verified() {
        // 1*7 + 1*9 + 0*10 + 1*5 + 0*8 + 5*4 + 1*2 + 9*1 + 4*6 + 9*3
        //   + 1*7 + 2*9 + 3*10 + 1*5 + 0*8 + 0*4 + 2*2 = 167; 167 % 11 = 2 -> 'X'
        let digits = CITED.as_bytes()[..17].iter().map(|b| u32::from(b - b'0'));
        let sum: u32 = digits.zip(WEIGHTS).map(|(d, w)| d * w).sum();
        assert_eq!(sum, 167);
        assert_eq!(sum % 11, 2);
        assert_eq!(CHECK_CHARS[2], 'X');
        assert_eq!(compute_check_char(&CITED[..17]), Some('X'));
    }

    #[test]
    fn digit_end_example_check_char_hand_verified() {
        // 4*7+4*9+0+3*5+0+8*4+1*2+9*1+9*6+0+0+1*9+0+1*5+0+0+1*2 = 192; 192 % 11 = 5 -> '7'
        assert_eq!(compute_check_char(&DIGIT_END[..17]), Some('7'));
    }

    #[test]
    fn check_char_table_matches_spec_string() {
        let spec: Vec<char> = "10X98765432".chars().collect();
        assert_eq!(CHECK_CHARS.to_vec(), spec);
    }

    #[test]
    fn compute_check_char_refuses_bad_input() {
        assert_eq!(compute_check_char(""), None);
        assert_eq!(compute_check_char("1101051949123100"), None); // 16
        assert_eq!(compute_check_char("110105194912310021"), None); // 18
        assert_eq!(compute_check_char("1101051949123100A"), None);
        assert_eq!(compute_check_char("1101051949123100２"), None); // full-width digit
        assert_eq!(compute_check_char(" 1101051949123100"), None);
    }

    #[test]
    fn every_check_value_is_reachable() {
        // Varying the sequence number reaches all 11 check characters.
        let mut seen = std::collections::BTreeSet::new();
        for seq in 0..=999u16 {
            let s = make_valid("110105", date(1990, 1, 1), seq);
            seen.insert(s.chars().last().unwrap());
        }
        assert_eq!(seen.len(), 11);
    }

    // ---- valid numbers -------------------------------------------------------------------

    #[test]
    fn cited_example_parses() {
        let r = id(CITED);
        assert_eq!(r.expose(), CITED);
        assert_eq!(r.birth_date(), date(1949, 12, 31));
        assert_eq!(r.gender(), Gender::Female);
        assert_eq!(r.region_code(), "110105");
    }

    #[test]
    fn cited_example_parses_against_real_clock() {
        assert!(ResidentId::parse(CITED).is_ok());
        assert!(CITED.parse::<ResidentId>().is_ok());
    }

    #[test]
    fn number_ending_in_digit_parses() {
        let r = id(DIGIT_END);
        assert_eq!(r.expose(), DIGIT_END);
        assert_eq!(r.birth_date(), date(1990, 1, 1));
        assert_eq!(r.gender(), Gender::Male);
        assert_eq!(r.region_code(), "440308");
    }

    #[test]
    fn lowercase_x_is_accepted_and_uppercased() {
        let r = id("11010519491231002x");
        assert_eq!(r.expose(), CITED);
        assert_eq!(r, id(CITED));
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        assert_eq!(id("  11010519491231002X\n").expose(), CITED);
        assert_eq!(id("\t11010519491231002x ").expose(), CITED);
    }

    #[test]
    fn gender_follows_parity_of_17th_digit() {
        for seq in [0u16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 998, 999] {
            let s = make_valid("320102", date(1975, 7, 4), seq);
            let expected = if seq % 2 == 1 {
                Gender::Male
            } else {
                Gender::Female
            };
            assert_eq!(id(&s).gender(), expected, "{s}");
        }
    }

    #[test]
    fn make_valid_builds_parseable_numbers() {
        let s = make_valid("370883", date(1980, 1, 4), 123);
        assert_eq!(s, MASK_EXAMPLE);
        let s = make_valid("110105", date(1949, 12, 31), 2);
        assert_eq!(s, CITED);
        let s = make_valid("650102", date(2001, 2, 3), 0);
        assert_eq!(&s[14..17], "000");
        assert_eq!(s.len(), 18);
        assert_eq!(id(&s).birth_date(), date(2001, 2, 3));
    }

    #[test]
    #[should_panic(expected = "region6")]
    fn make_valid_panics_on_short_region() {
        let _ = make_valid("11010", date(1990, 1, 1), 1);
    }

    #[test]
    #[should_panic(expected = "seq3")]
    fn make_valid_panics_on_large_seq() {
        let _ = make_valid("110105", date(1990, 1, 1), 1000);
    }

    #[test]
    fn boundary_years_and_today() {
        assert_eq!(
            id(&make_valid("110105", date(1900, 1, 1), 5)).birth_date(),
            date(1900, 1, 1)
        );
        // Born today is fine.
        assert_eq!(id(&make_valid("110105", today(), 5)).birth_date(), today());
    }

    // ---- refused numbers -----------------------------------------------------------------

    #[test]
    fn wrong_check_digit_refused() {
        assert_eq!(id_err("110105194912310021"), IdError::CheckDigit);
        assert_eq!(id_err("110105194912310020"), IdError::CheckDigit);
        assert_eq!(id_err("440308199001010018"), IdError::CheckDigit);
        assert_eq!(id_err("44030819900101001X"), IdError::CheckDigit);
        assert_eq!(id_err("44030819900101001x"), IdError::CheckDigit);
    }

    #[test]
    fn every_wrong_check_char_refused() {
        for c in "0123456789X".chars() {
            let s = format!("{}{c}", &DIGIT_END[..17]);
            if c == '7' {
                assert!(ResidentId::parse_at(&s, today()).is_ok());
            } else {
                assert_eq!(id_err(&s), IdError::CheckDigit, "{s}");
            }
        }
    }

    #[test]
    fn any_single_digit_change_is_refused() {
        for base in [CITED, DIGIT_END, MASK_EXAMPLE] {
            for pos in 0..17 {
                for d in b'0'..=b'9' {
                    let mut bytes = base.as_bytes().to_vec();
                    if bytes[pos] == d {
                        continue;
                    }
                    bytes[pos] = d;
                    let s = String::from_utf8(bytes).unwrap();
                    assert!(ResidentId::parse_at(&s, today()).is_err(), "{s}");
                }
            }
        }
    }

    #[test]
    fn any_adjacent_transposition_is_refused() {
        for base in [CITED, DIGIT_END, MASK_EXAMPLE] {
            for pos in 0..16 {
                let mut bytes = base.as_bytes().to_vec();
                if bytes[pos] == bytes[pos + 1] {
                    continue;
                }
                bytes.swap(pos, pos + 1);
                let s = String::from_utf8(bytes).unwrap();
                assert!(ResidentId::parse_at(&s, today()).is_err(), "{s}");
            }
        }
    }

    #[test]
    fn wrong_length_refused() {
        assert_eq!(id_err(""), IdError::Length);
        assert_eq!(id_err("   "), IdError::Length);
        assert_eq!(id_err(&CITED[..17]), IdError::Length);
        assert_eq!(id_err(&format!("{CITED}0")), IdError::Length);
        assert_eq!(id_err("110105491231002"), IdError::Length); // old 15-digit form
        assert_eq!(id_err("1101051949 1231002X"), IdError::Length);
    }

    #[test]
    fn bad_characters_refused() {
        assert_eq!(id_err("1101051949A231002X"), IdError::Characters);
        assert_eq!(id_err("11010519491231002Y"), IdError::Characters);
        assert_eq!(id_err("X10105194912310021"), IdError::Characters);
        assert_eq!(id_err("1101051949123100X2"), IdError::Characters);
        assert_eq!(id_err("110105-9491231002X"), IdError::Characters);
        assert_eq!(id_err("110105 9491231002X"), IdError::Characters);
        // Full-width digit: 18 characters but not ASCII.
        assert_eq!(id_err("1101051949123１002X"), IdError::Characters);
        assert_eq!(id_err("11010519491231002残"), IdError::Characters);
    }

    #[test]
    fn region_starting_with_zero_refused() {
        let s = make_valid("010105", date(1990, 1, 1), 1);
        assert_eq!(id_err(&s), IdError::Region);
        let s = make_valid("000000", date(1990, 1, 1), 1);
        assert_eq!(id_err(&s), IdError::Region);
    }

    /// Builds an 18-character number with a correct check character over raw birth digits.
    fn with_birth(yyyymmdd: &str) -> String {
        let first17 = format!("110105{yyyymmdd}001");
        format!("{first17}{}", compute_check_char(&first17).unwrap())
    }

    #[test]
    fn leap_days() {
        assert_eq!(id(&with_birth("20000229")).birth_date(), date(2000, 2, 29));
        assert_eq!(id(&with_birth("19960229")).birth_date(), date(1996, 2, 29));
        assert_eq!(id_err(&with_birth("19000229")), IdError::BirthDate);
        assert_eq!(id_err(&with_birth("20230229")), IdError::BirthDate);
        assert_eq!(id_err(&with_birth("20000230")), IdError::BirthDate);
    }

    #[test]
    fn impossible_dates_refused() {
        for d in [
            "19901301", "19900001", "19900100", "19900132", "19900431", "19901131", "19909999",
            "00000000",
        ] {
            assert_eq!(id_err(&with_birth(d)), IdError::BirthDate, "{d}");
        }
        assert_eq!(id(&with_birth("19901231")).birth_date(), date(1990, 12, 31));
    }

    #[test]
    fn years_before_1900_refused() {
        assert_eq!(id_err(&with_birth("18991231")), IdError::BirthDate);
        assert_eq!(id_err(&with_birth("18000101")), IdError::BirthDate);
    }

    #[test]
    fn future_birth_date_refused() {
        assert_eq!(
            id_err(&make_valid("110105", date(2024, 6, 16), 1)),
            IdError::FutureBirthDate
        );
        assert_eq!(
            id_err(&make_valid("110105", date(2099, 1, 1), 1)),
            IdError::FutureBirthDate
        );
        // Same number is fine once that day has come.
        let s = make_valid("110105", date(2024, 6, 16), 1);
        assert!(ResidentId::parse_at(&s, date(2024, 6, 16)).is_ok());
        // A far-future year is refused by the real clock as well.
        assert_eq!(
            ResidentId::parse(&make_valid("110105", date(9999, 1, 1), 1)).unwrap_err(),
            IdError::FutureBirthDate
        );
    }

    #[test]
    fn checks_run_in_documented_order() {
        // Bad region and bad date and bad check: region reported first.
        assert_eq!(id_err("012345199013010010"), IdError::Region);
        // Bad date and bad check: date reported first.
        assert_eq!(id_err("110105199013010010"), IdError::BirthDate);
    }

    #[test]
    fn error_messages() {
        assert_eq!(IdError::Length.to_string(), "must be 18 characters");
        assert_eq!(
            IdError::Characters.to_string(),
            "must be 17 digits followed by a digit or X"
        );
        assert_eq!(IdError::Region.to_string(), "invalid region code");
        assert_eq!(
            IdError::BirthDate.to_string(),
            "contains an invalid birth date"
        );
        assert_eq!(
            IdError::FutureBirthDate.to_string(),
            "birth date is in the future"
        );
        assert_eq!(
            IdError::CheckDigit.to_string(),
            "check digit does not match"
        );
        assert_eq!(CertError::Length.to_string(), "must be 20 characters");
        assert_eq!(
            CertError::Category.to_string(),
            "19th character must be a category digit 1-7"
        );
        assert_eq!(
            CertError::Grade.to_string(),
            "20th character must be a grade digit 1-4"
        );
        assert_eq!(
            CertError::IdMismatch.to_string(),
            "does not match id_number"
        );
        assert_eq!(
            CertError::CategoryMismatch.to_string(),
            "category digit does not match disability_category"
        );
        assert_eq!(
            CertError::GradeMismatch.to_string(),
            "grade digit does not match disability_grade"
        );
        assert!(CertError::Id(IdError::CheckDigit)
            .to_string()
            .ends_with("check digit does not match"));
    }

    // ---- masking ---------------------------------------------------------------------------

    #[test]
    fn masked_format_exact() {
        assert_eq!(id(MASK_EXAMPLE).masked(), "370883********123X");
        assert_eq!(id(CITED).masked(), "110105********002X");
        assert_eq!(id(DIGIT_END).masked(), "440308********0017");
        assert_eq!(id(MASK_EXAMPLE).masked().chars().count(), 18);
    }

    #[test]
    fn debug_and_display_do_not_leak() {
        let r = id(MASK_EXAMPLE);
        let dbg = format!("{r:?}");
        let pretty = format!("{r:#?}");
        let disp = format!("{r}");
        assert_eq!(dbg, "ResidentId(370883********123X)");
        assert_eq!(disp, "370883********123X");
        for out in [&dbg, &pretty, &disp] {
            assert!(!out.contains(MASK_EXAMPLE), "{out}");
            assert!(!out.contains("19800104"), "{out}");
        }
        // Inside other structures too.
        let wrapped = format!("{:?}", Some(vec![r]));
        assert!(!wrapped.contains(MASK_EXAMPLE));
    }

    #[test]
    fn deserialize_validates() {
        let r: ResidentId = serde_json::from_str("\"11010519491231002x\"").unwrap();
        assert_eq!(r.expose(), CITED);
        assert!(serde_json::from_str::<ResidentId>("\"110105194912310021\"").is_err());
        assert!(serde_json::from_str::<ResidentId>("123").is_err());
        let err = serde_json::from_str::<ResidentId>("\"1101\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be 18 characters"), "{err}");
    }

    // ---- certificate numbers ---------------------------------------------------------------

    #[test]
    fn cert_build_and_parse_round_trip() {
        let r = id(MASK_EXAMPLE);
        let c = DisabilityCertNumber::build(&r, DisabilityCategory::Physical, 1);
        assert_eq!(c.expose(), "37088319800104123X41");
        assert_eq!(c.masked(), "370883********123X41");
        let p = cert("37088319800104123X41");
        assert_eq!(p, c);
        assert_eq!(p.resident_id(), r);
        assert_eq!(p.category(), DisabilityCategory::Physical);
        assert_eq!(p.grade(), 1);
    }

    #[test]
    fn cert_every_category_and_grade() {
        let r = id(CITED);
        for cat in DisabilityCategory::ALL {
            for grade in 1..=4u8 {
                let c = DisabilityCertNumber::build(&r, cat, grade);
                let s = format!("{CITED}{}{grade}", cat.digit());
                assert_eq!(c.expose(), s);
                let p = cert(&s);
                assert_eq!(p.category(), cat);
                assert_eq!(p.grade(), grade);
                assert_eq!(p.resident_id(), r);
                assert!(p.check_agrees(&r, cat, grade).is_ok());
            }
        }
    }

    #[test]
    fn cert_lowercase_x_and_whitespace() {
        let c = cert("  11010519491231002x73 ");
        assert_eq!(c.expose(), "11010519491231002X73");
        assert_eq!(c.category(), DisabilityCategory::Multiple);
        assert_eq!(c.grade(), 3);
        assert!(DisabilityCertNumber::parse("11010519491231002X73").is_ok());
        assert!("11010519491231002X73"
            .parse::<DisabilityCertNumber>()
            .is_ok());
    }

    #[test]
    fn cert_wrong_length() {
        assert_eq!(cert_err(""), CertError::Length);
        assert_eq!(cert_err(CITED), CertError::Length);
        assert_eq!(cert_err("11010519491231002X4"), CertError::Length);
        assert_eq!(cert_err("11010519491231002X412"), CertError::Length);
    }

    #[test]
    fn cert_bad_embedded_id() {
        assert_eq!(
            cert_err("11010519491231002141"),
            CertError::Id(IdError::CheckDigit)
        );
        assert_eq!(
            cert_err("1101051949A231002X41"),
            CertError::Id(IdError::Characters)
        );
        assert_eq!(
            cert_err(&format!("{}41", with_birth("20230229"))),
            CertError::Id(IdError::BirthDate)
        );
        assert_eq!(
            cert_err(&format!("{}41", make_valid("010105", date(1990, 1, 1), 1))),
            CertError::Id(IdError::Region)
        );
        assert_eq!(
            cert_err(&format!("{}41", make_valid("110105", date(2030, 1, 1), 1))),
            CertError::Id(IdError::FutureBirthDate)
        );
        // The check char X is only allowed in position 18, not 19 or 20.
        assert_eq!(cert_err("11010519491231002X4X"), CertError::Grade);
        assert_eq!(cert_err("11010519491231002XX1"), CertError::Category);
        // An X moved out of position 18 makes the embedded id fail.
        assert_eq!(
            cert_err("110105194912310024X1"),
            CertError::Id(IdError::CheckDigit)
        );
        assert_eq!(
            cert_err("1101051949123100X241"),
            CertError::Id(IdError::Characters)
        );
        // Non-ASCII characters never cause a panic.
        assert_eq!(
            cert_err("残11010519491231002X4"),
            CertError::Id(IdError::Characters)
        );
    }

    #[test]
    fn cert_bad_category_digit() {
        for c in ["0", "8", "9", "X", "a", "-", "残"] {
            assert_eq!(
                cert_err(&format!("{CITED}{c}1")),
                CertError::Category,
                "{c}"
            );
        }
    }

    #[test]
    fn cert_bad_grade_digit() {
        for g in ["0", "5", "9", "X", "a", "-", "级"] {
            assert_eq!(cert_err(&format!("{CITED}1{g}")), CertError::Grade, "{g}");
        }
    }

    #[test]
    fn cert_agreement_mismatches() {
        let r = id(MASK_EXAMPLE);
        let other = id(CITED);
        let c = DisabilityCertNumber::build(&r, DisabilityCategory::Mental, 2);
        assert_eq!(c.check_agrees(&r, DisabilityCategory::Mental, 2), Ok(()));
        assert_eq!(
            c.check_agrees(&other, DisabilityCategory::Mental, 2),
            Err(CertError::IdMismatch)
        );
        assert_eq!(
            c.check_agrees(&r, DisabilityCategory::Intellectual, 2),
            Err(CertError::CategoryMismatch)
        );
        assert_eq!(
            c.check_agrees(&r, DisabilityCategory::Mental, 3),
            Err(CertError::GradeMismatch)
        );
        // Id is checked first, then category, then grade.
        assert_eq!(
            c.check_agrees(&other, DisabilityCategory::Vision, 4),
            Err(CertError::IdMismatch)
        );
        assert_eq!(
            c.check_agrees(&r, DisabilityCategory::Vision, 4),
            Err(CertError::CategoryMismatch)
        );
        // The same holder typed with a lowercase x agrees.
        let lower = id("37088319800104123x");
        assert_eq!(
            c.check_agrees(&lower, DisabilityCategory::Mental, 2),
            Ok(())
        );
    }

    #[test]
    fn cert_try_build_refuses_bad_grade() {
        let r = id(CITED);
        for g in [0u8, 5, 9, 255] {
            assert_eq!(
                DisabilityCertNumber::try_build(&r, DisabilityCategory::Vision, g),
                Err(CertError::Grade)
            );
        }
        let c = DisabilityCertNumber::try_build(&r, DisabilityCategory::Vision, 4).unwrap();
        assert_eq!(c.expose(), "11010519491231002X14");
    }

    #[test]
    #[should_panic(expected = "grade")]
    fn cert_build_panics_on_bad_grade() {
        let _ = DisabilityCertNumber::build(&id(CITED), DisabilityCategory::Vision, 0);
    }

    #[test]
    fn cert_debug_and_display_do_not_leak() {
        let c = cert("37088319800104123X41");
        let dbg = format!("{c:?}");
        assert_eq!(dbg, "DisabilityCertNumber(370883********123X41)");
        assert_eq!(format!("{c}"), "370883********123X41");
        for out in [dbg, format!("{c:#?}"), format!("{c}")] {
            assert!(!out.contains(MASK_EXAMPLE), "{out}");
            assert!(!out.contains("19800104"), "{out}");
        }
    }

    #[test]
    fn cert_deserialize_validates() {
        let c: DisabilityCertNumber = serde_json::from_str("\"37088319800104123x41\"").unwrap();
        assert_eq!(c.expose(), "37088319800104123X41");
        assert!(serde_json::from_str::<DisabilityCertNumber>("\"37088319800104123X81\"").is_err());
    }

    // ---- grade -----------------------------------------------------------------------------

    #[test]
    fn grade_range() {
        assert_eq!(parse_grade(1), Some(1));
        assert_eq!(parse_grade(2), Some(2));
        assert_eq!(parse_grade(3), Some(3));
        assert_eq!(parse_grade(4), Some(4));
        for n in [0, 5, -1, 256, 257, i64::MIN, i64::MAX] {
            assert_eq!(parse_grade(n), None, "{n}");
        }
    }

    // ---- gender ----------------------------------------------------------------------------

    #[test]
    fn gender_strings_and_serde() {
        assert_eq!(Gender::Male.as_str(), "male");
        assert_eq!(Gender::Female.as_str(), "female");
        assert_eq!(serde_json::to_string(&Gender::Male).unwrap(), "\"male\"");
        assert_eq!(
            serde_json::to_string(&Gender::Female).unwrap(),
            "\"female\""
        );
        assert_eq!(
            serde_json::from_str::<Gender>("\"female\"").unwrap(),
            Gender::Female
        );
        assert!(serde_json::from_str::<Gender>("\"Male\"").is_err());
    }

    // ---- categories ------------------------------------------------------------------------

    #[test]
    fn category_digits_round_trip() {
        for (i, c) in DisabilityCategory::ALL.into_iter().enumerate() {
            let d = u8::try_from(i + 1).unwrap();
            assert_eq!(c.digit(), d);
            assert_eq!(DisabilityCategory::from_digit(d), Some(c));
        }
        assert_eq!(DisabilityCategory::from_digit(0), None);
        assert_eq!(DisabilityCategory::from_digit(8), None);
        assert_eq!(DisabilityCategory::from_digit(255), None);
    }

    #[test]
    fn category_words_and_serde_agree() {
        let words = [
            "vision",
            "hearing",
            "speech",
            "physical",
            "intellectual",
            "mental",
            "multiple",
        ];
        for (c, w) in DisabilityCategory::ALL.into_iter().zip(words) {
            assert_eq!(c.as_str(), w);
            assert_eq!(c.to_string(), w);
            assert_eq!(DisabilityCategory::parse_word(w), Some(c));
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{w}\""));
            let back: DisabilityCategory = serde_json::from_str(&format!("\"{w}\"")).unwrap();
            assert_eq!(back, c);
        }
        assert_eq!(DisabilityCategory::parse_word("Physical"), None);
        assert_eq!(DisabilityCategory::parse_word(" physical"), None);
        assert_eq!(DisabilityCategory::parse_word("4"), None);
        assert_eq!(DisabilityCategory::parse_word("肢体残疾"), None);
    }

    #[test]
    fn category_chinese_names() {
        let names = [
            "视力残疾",
            "听力残疾",
            "言语残疾",
            "肢体残疾",
            "智力残疾",
            "精神残疾",
            "多重残疾",
        ];
        for (c, n) in DisabilityCategory::ALL.into_iter().zip(names) {
            assert_eq!(c.chinese(), n);
        }
    }

    #[test]
    fn category_parse_any_all_forms() {
        for c in DisabilityCategory::ALL {
            let short = c.chinese().strip_suffix("残疾").unwrap();
            let upper = c.as_str().to_uppercase();
            let digit = c.digit().to_string();
            for form in [
                c.as_str(),
                upper.as_str(),
                c.chinese(),
                short,
                digit.as_str(),
            ] {
                assert_eq!(DisabilityCategory::parse_any(form), Some(c), "{form}");
                let padded = format!("  {form}\t");
                assert_eq!(DisabilityCategory::parse_any(&padded), Some(c), "{padded}");
            }
        }
        use DisabilityCategory::*;
        assert_eq!(DisabilityCategory::parse_any("肢体残疾"), Some(Physical));
        assert_eq!(DisabilityCategory::parse_any("肢体"), Some(Physical));
        assert_eq!(DisabilityCategory::parse_any("4"), Some(Physical));
        assert_eq!(DisabilityCategory::parse_any("Physical"), Some(Physical));
        assert_eq!(DisabilityCategory::parse_any("PHYSICAL"), Some(Physical));
        assert_eq!(DisabilityCategory::parse_any("视力残疾"), Some(Vision));
        assert_eq!(DisabilityCategory::parse_any("听力"), Some(Hearing));
        assert_eq!(DisabilityCategory::parse_any("言语残疾"), Some(Speech));
        assert_eq!(DisabilityCategory::parse_any("智力"), Some(Intellectual));
        assert_eq!(DisabilityCategory::parse_any("精神残疾"), Some(Mental));
        assert_eq!(DisabilityCategory::parse_any("多重"), Some(Multiple));
        assert_eq!(
            DisabilityCategory::parse_any("Intellectual"),
            Some(Intellectual)
        );
    }

    #[test]
    fn category_parse_any_refuses_unknown() {
        for s in [
            "",
            "   ",
            "0",
            "8",
            "9",
            "10",
            "04",
            "+4",
            "-4",
            "４",
            "blind",
            "deaf",
            "vis",
            "visionary",
            "physical disability",
            "残疾",
            "肢体残",
            "肢体残疾人",
            "视力 残疾",
            "其他",
            "x",
        ] {
            assert_eq!(DisabilityCategory::parse_any(s), None, "{s:?}");
        }
    }
}
