//! The pseudonymous code: a keyed hash (HMAC-SHA256 with the installation's secret) of the
//! normalised surname, name, birth date and sex. The same person gets the same code in every
//! organisation of the installation; without the key the code reveals nothing.

use crate::codes::Sex;
use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Reduces a name to upper-case A–Z so that accents, apostrophes, spaces and case do not
/// produce different codes ("D'Àngelo" and "DANGELO" are the same surname).
pub fn normalise_name(raw: &str) -> String {
    raw.chars()
        .filter_map(|c| {
            let base = match c {
                'à' | 'á' | 'â' | 'ä' | 'À' | 'Á' | 'Â' | 'Ä' => 'A',
                'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'E',
                'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
                'ò' | 'ó' | 'ô' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Ö' => 'O',
                'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
                'ç' | 'Ç' => 'C',
                'ñ' | 'Ñ' => 'N',
                c => c.to_ascii_uppercase(),
            };
            base.is_ascii_uppercase().then_some(base)
        })
        .collect()
}

/// Computes the pseudonymous code, formatted as four groups of four Crockford base-32 characters.
pub fn code(key: &[u8], surname: &str, name: &str, birth: NaiveDate, sex: Sex) -> String {
    let input =
        format!("{}|{}|{}|{}", normalise_name(surname), normalise_name(name), birth.format("%Y-%m-%d"), sex.code());
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(input.as_bytes());
    format_code(&mac.finalize().into_bytes()[..10])
}

/// A code for a person who gives no identifying data at all: random, linkable to nothing.
pub fn random_code(random_bytes: &[u8; 10]) -> String {
    format_code(random_bytes)
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn format_code(bytes: &[u8]) -> String {
    // 80 bits → 16 base-32 characters.
    let mut acc: u128 = 0;
    for &b in bytes {
        acc = (acc << 8) | b as u128;
    }
    let chars: Vec<u8> = (0..16).rev().map(|i| CROCKFORD[((acc >> (i * 5)) & 31) as usize]).collect();
    chars.chunks(4).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect::<Vec<_>>().join("-")
}

/// Whether a string has the shape of a pseudonymous code (used to validate API/CLI input).
pub fn is_code(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 4 && parts.iter().all(|p| p.len() == 4 && p.bytes().all(|b| CROCKFORD.contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn same_person_same_code_despite_spelling() {
        let a = code(b"k1", "D'Àngelo", "Maria Luisa", d(1980, 5, 1), Sex::Female);
        let b = code(b"k1", "dangelo", "MARIALUISA", d(1980, 5, 1), Sex::Female);
        assert_eq!(a, b);
        assert!(is_code(&a), "{a}");
    }

    #[test]
    fn any_input_or_key_change_changes_the_code() {
        let base = code(b"k1", "Rossi", "Mario", d(1985, 12, 10), Sex::Male);
        assert_ne!(base, code(b"k2", "Rossi", "Mario", d(1985, 12, 10), Sex::Male));
        assert_ne!(base, code(b"k1", "Rossi", "Mario", d(1985, 12, 11), Sex::Male));
        assert_ne!(base, code(b"k1", "Rossi", "Mario", d(1985, 12, 10), Sex::Female));
        assert_ne!(base, code(b"k1", "Rosi", "Mario", d(1985, 12, 10), Sex::Male));
    }

    #[test]
    fn code_shape() {
        assert_eq!(random_code(&[0; 10]), "0000-0000-0000-0000");
        assert_eq!(random_code(&[255; 10]), "ZZZZ-ZZZZ-ZZZZ-ZZZZ");
        assert!(!is_code("0000-0000-0000-000I"));
        assert!(!is_code("0000-0000-0000"));
    }
}
