//! Money is integer euro cents everywhere; these convert to and from what people type and read.

/// Parses "300", "300,00", "1.234,56", "1234.5" or "€ 400" into cents. Italian decimal comma
/// and thousands dots are accepted, as is a plain decimal point.
pub fn parse_euros(raw: &str) -> Option<i64> {
    let s: String = raw.trim().trim_start_matches('€').trim().chars().filter(|c| !c.is_whitespace()).collect();
    if s.is_empty() || s.starts_with('-') {
        return None;
    }
    // The last comma or dot followed by one or two digits is the decimal separator.
    let (int_part, frac_part) = match s.rfind([',', '.']) {
        Some(i) if s.len() - i - 1 <= 2 && s.len() - i > 1 => (&s[..i], &s[i + 1..]),
        _ => (s.as_str(), ""),
    };
    let int_digits: String = int_part.chars().filter(|c| *c != '.' && *c != ',').collect();
    if int_digits.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_digits.chars().all(|c| c.is_ascii_digit()) || !frac_part.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let euros: i64 = if int_digits.is_empty() { 0 } else { int_digits.parse().ok()? };
    let cents: i64 = match frac_part.len() {
        0 => 0,
        1 => frac_part.parse::<i64>().ok()? * 10,
        _ => frac_part.parse().ok()?,
    };
    euros.checked_mul(100)?.checked_add(cents)
}

/// "€ 1.234,56" — how amounts are shown in the Italian interface and exports.
pub fn format_euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let euros = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in euros.chars().enumerate() {
        if i > 0 && (euros.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    format!("{sign}€ {grouped},{:02}", c % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_people_type() {
        assert_eq!(parse_euros("300"), Some(30_000));
        assert_eq!(parse_euros("300,00"), Some(30_000));
        assert_eq!(parse_euros("€ 400,5"), Some(40_050));
        assert_eq!(parse_euros("1.234,56"), Some(123_456));
        assert_eq!(parse_euros("1234.56"), Some(123_456));
        assert_eq!(parse_euros("12.000"), Some(1_200_000), "a dot followed by three digits groups thousands");
        assert_eq!(parse_euros("-5"), None);
        assert_eq!(parse_euros("abc"), None);
        assert_eq!(parse_euros(""), None);
    }

    #[test]
    fn formats_for_reading() {
        assert_eq!(format_euros(30_000), "€ 300,00");
        assert_eq!(format_euros(123_456_789), "€ 1.234.567,89");
        assert_eq!(format_euros(5), "€ 0,05");
        assert_eq!(format_euros(-150), "-€ 1,50");
    }
}
