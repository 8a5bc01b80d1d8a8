//! Italian fiscal code (codice fiscale): format, check character, and the birth date and sex
//! it encodes, including "omocodia" substitutions of digits by letters.

use crate::codes::Sex;
use chrono::{Datelike, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiscalCodeError {
    /// Not 16 characters of the right letter/digit shape.
    Format,
    /// The 16th character does not match the other fifteen.
    Checksum,
}

/// Upper-cases and strips spaces; validation works on this normal form.
pub fn normalise(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

/// Validates a normalised code.
pub fn validate(code: &str) -> Result<(), FiscalCodeError> {
    let b = code.as_bytes();
    if b.len() != 16 || !b.iter().all(u8::is_ascii_alphanumeric) {
        return Err(FiscalCodeError::Format);
    }
    let letters = [0, 1, 2, 3, 4, 5, 8, 11];
    let digits_or_omocodia = [6, 7, 9, 10, 12, 13, 14];
    if !letters.iter().all(|&i| b[i].is_ascii_uppercase())
        || !digits_or_omocodia.iter().all(|&i| b[i].is_ascii_digit() || OMOCODIA.contains(&b[i]))
        || !b"ABCDEHLMPRST".contains(&b[8])
        || !b[15].is_ascii_uppercase()
    {
        return Err(FiscalCodeError::Format);
    }
    if check_char(&b[..15]) != b[15] {
        return Err(FiscalCodeError::Checksum);
    }
    Ok(())
}

/// Letters that replace digits 0–9 when two people would otherwise get the same code.
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";

fn check_char(first15: &[u8]) -> u8 {
    const ODD: [u32; 26] =
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
    let sum: u32 = first15
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let v = if c.is_ascii_digit() { (c - b'0') as usize } else { (c - b'A') as usize };
            // Positions are counted from 1 in the standard, so index 0 is "odd".
            if i % 2 == 0 {
                ODD[v]
            } else {
                v as u32
            }
        })
        .sum();
    b'A' + (sum % 26) as u8
}

fn digit(c: u8) -> u32 {
    if c.is_ascii_digit() {
        (c - b'0') as u32
    } else {
        OMOCODIA.iter().position(|&o| o == c).unwrap_or(0) as u32
    }
}

/// The birth day/month, two-digit year and sex encoded in a valid code.
pub fn encoded_birth(code: &str) -> Option<(u32, u32, u32, Sex)> {
    validate(code).ok()?;
    let b = code.as_bytes();
    let yy = digit(b[6]) * 10 + digit(b[7]);
    let month = b"ABCDEHLMPRST".iter().position(|&m| m == b[8])? as u32 + 1;
    let dd = digit(b[9]) * 10 + digit(b[10]);
    let (day, sex) = if dd > 40 { (dd - 40, Sex::Female) } else { (dd, Sex::Male) };
    Some((day, month, yy, sex))
}

/// Whether a valid code agrees with the declared birth date and sex.
pub fn matches(code: &str, birth: NaiveDate, sex: Sex) -> bool {
    match encoded_birth(code) {
        Some((d, m, yy, s)) => d == birth.day() && m == birth.month() && yy == (birth.year() % 100) as u32 && s == sex,
        None => false,
    }
}

/// Computes the code of a person born in Italy, from the municipality's cadastral code (e.g.
/// `F023` for Massa). Used for demo and test data; omocodia cases are not generated.
pub fn compute(surname: &str, name: &str, birth: NaiveDate, sex: Sex, municipality: &str) -> String {
    fn split(s: &str) -> (Vec<char>, Vec<char>) {
        let up = crate::pseudonym::normalise_name(s);
        up.chars().partition(|c| !"AEIOU".contains(*c))
    }
    fn three(mut letters: Vec<char>) -> String {
        letters.extend(['X', 'X', 'X']);
        letters[..3].iter().collect()
    }
    let (sc, sv) = split(surname);
    let (nc, nv) = split(name);
    let sur = three(sc.into_iter().chain(sv).collect());
    let nam =
        if nc.len() >= 4 { [nc[0], nc[2], nc[3]].iter().collect() } else { three(nc.into_iter().chain(nv).collect()) };
    let month = b"ABCDEHLMPRST"[birth.month0() as usize] as char;
    let day = birth.day() + if sex == Sex::Female { 40 } else { 0 };
    let first15 = format!("{sur}{nam}{:02}{month}{day:02}{}", birth.year() % 100, municipality.to_uppercase());
    let check = check_char(first15.as_bytes()) as char;
    format!("{first15}{check}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_valid_code() {
        assert_eq!(validate("RSSMRA85T10A562S"), Ok(()));
        assert_eq!(normalise(" rssmra85t10a562s "), "RSSMRA85T10A562S");
    }

    #[test]
    fn computes_known_codes() {
        let d = NaiveDate::from_ymd_opt(1985, 12, 10).unwrap();
        assert_eq!(compute("Rossi", "Mario", d, Sex::Male, "A562"), "RSSMRA85T10A562S");
        let c = compute("Fo", "Giovanni", NaiveDate::from_ymd_opt(1990, 1, 5).unwrap(), Sex::Female, "F023");
        assert!(c.starts_with("FOXGNN90A45F023"), "{c}");
        assert_eq!(validate(&c), Ok(()));
    }

    #[test]
    fn rejects_wrong_check_character() {
        assert_eq!(validate("RSSMRA85T10A562T"), Err(FiscalCodeError::Checksum));
    }

    #[test]
    fn rejects_bad_shape() {
        assert_eq!(validate("RSSMRA85T10A562"), Err(FiscalCodeError::Format));
        assert_eq!(validate("RSSMRA85Z10A562S"), Err(FiscalCodeError::Format));
        assert_eq!(validate("1SSMRA85T10A562S"), Err(FiscalCodeError::Format));
    }

    #[test]
    fn decodes_birth_and_sex_for_women_and_omocodia() {
        let d = NaiveDate::from_ymd_opt(1985, 12, 10).unwrap();
        assert!(matches("RSSMRA85T10A562S", d, Sex::Male));
        assert!(!matches("RSSMRA85T10A562S", d, Sex::Female));
        // Same person with the last digit of the day replaced (omocodia): checksum recomputed.
        let mut omo = b"RSSMRA85T1LA562".to_vec();
        omo.push(check_char(&omo));
        let omo = String::from_utf8(omo).unwrap();
        assert_eq!(validate(&omo), Ok(()));
        assert!(matches(&omo, d, Sex::Male));
        let mut woman = b"BNCLRA90A41H501".to_vec();
        woman.push(check_char(&woman));
        let woman = String::from_utf8(woman).unwrap();
        assert_eq!(encoded_birth(&woman), Some((1, 1, 90, Sex::Female)));
    }
}
