//! The signed date headers, in each scheme's UTC form. Done by hand on the proleptic Gregorian
//! calendar: the two fixed formats need no date library.

use super::Scheme;

/// `2026-11-23T20:43:50Z` (ACS3) or `20261123T204350Z` (Huawei) as Unix seconds.
pub(super) fn parse_date(scheme: Scheme, text: &str) -> Option<i64> {
    let digits: String = match scheme {
        Scheme::Acs3 => {
            let b = text.as_bytes();
            let shaped = b.len() == 20
                && b[4] == b'-'
                && b[7] == b'-'
                && b[10] == b'T'
                && b[13] == b':'
                && b[16] == b':'
                && b[19] == b'Z';
            shaped.then(|| text.chars().filter(char::is_ascii_digit).collect())?
        }
        Scheme::SdkHmac => {
            let b = text.as_bytes();
            let shaped = b.len() == 16 && b[8] == b'T' && b[15] == b'Z';
            shaped.then(|| text.chars().filter(char::is_ascii_digit).collect())?
        }
    };
    if digits.len() != 14 {
        return None;
    }
    let field = |from: usize, to: usize| digits[from..to].parse::<i64>().ok();
    let (year, month, day) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    let (hour, minute, second) = (field(8, 10)?, field(10, 12)?, field(12, 14)?);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Unix seconds (from 1970 on) as the date header `scheme` signs: the inverse of `parse_date`.
/// The service only reads these; its own clients (the tests, the fuzzer) write them.
pub fn format_date(scheme: Scheme, unix: i64) -> String {
    let (mut days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let mut year = 1970;
    while days >= days_in_year(year) {
        days -= days_in_year(year);
        year += 1;
    }
    let mut month = 1;
    while days >= days_in_month(year, month) {
        days -= days_in_month(year, month);
        month += 1;
    }
    let (day, hour, minute, second) = (days + 1, secs / 3600, secs % 3600 / 60, secs % 60);
    match scheme {
        Scheme::Acs3 => {
            format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
        }
        Scheme::SdkHmac => format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z"),
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_year(year: i64) -> i64 {
    if is_leap(year) { 366 } else { 365 }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar (year ≥ 1970).
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let whole_years: i64 = (1970..year).map(days_in_year).sum();
    let whole_months: i64 = (1..month).map(|m| days_in_month(year, m)).sum();
    whole_years + whole_months + day - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_as_each_scheme_signs_them_and_parse_back() {
        assert_eq!(format_date(Scheme::Acs3, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_date(Scheme::Acs3, 1_795_466_630),
            "2026-11-23T20:43:50Z"
        );
        assert_eq!(
            format_date(Scheme::SdkHmac, 1_709_164_800),
            "20240229T000000Z"
        );
        // Year, month and leap-day edges, both ways.
        for unix in [
            59,
            86_399,
            951_782_399,
            951_782_400,
            1_709_251_199,
            4_102_444_800,
        ] {
            for scheme in [Scheme::Acs3, Scheme::SdkHmac] {
                assert_eq!(parse_date(scheme, &format_date(scheme, unix)), Some(unix));
            }
        }
    }

    #[test]
    fn dates_of_both_schemes_parse_to_unix_seconds() {
        assert_eq!(parse_date(Scheme::Acs3, "1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_date(Scheme::Acs3, "2026-11-23T20:43:50Z"),
            Some(1_795_466_630)
        );
        assert_eq!(
            parse_date(Scheme::SdkHmac, "20261123T204350Z"),
            Some(1_795_466_630)
        );
        assert_eq!(
            parse_date(Scheme::SdkHmac, "20240229T000000Z"),
            Some(1_709_164_800)
        );
        for bad in [
            "2026-11-23 20:43:50Z",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T20:43:50",
            "",
        ] {
            assert_eq!(parse_date(Scheme::Acs3, bad), None, "{bad}");
        }
        assert_eq!(parse_date(Scheme::SdkHmac, "2026-11-23T20:43:50Z"), None);
        assert_eq!(parse_date(Scheme::SdkHmac, "20261123T2043+0Z"), None);
    }
}
