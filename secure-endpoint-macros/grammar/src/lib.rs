//! The grammar of the values the attributes and the settings of
//! [`secure-endpoint`](https://docs.rs/secure-endpoint) share, in one place: the
//! attributes parse their strings with it at compile time (`rate = "10/10s"`,
//! `timeout = "5s"`), the runtime parses settings with it at start
//! (`failed_auth_limit("20/m")`), so both accept and refuse exactly the same texts.
//!
//! ```
//! use secure_endpoint_grammar::{parse_duration, parse_rate};
//!
//! assert_eq!(parse_rate("10/10s"), Ok((10, 10_000)));
//! assert_eq!(parse_rate("100/m"), Ok((100, 60_000)));
//! assert_eq!(parse_duration("250ms"), Ok(250));
//! assert!(parse_rate("10/w").is_err());
//! ```

#![deny(missing_docs)]

const FORMAT: &str = "write COUNT/PERIOD with PERIOD one of ms, s, m, h, d, optionally preceded by a number, e.g. \"10/10s\" or \"100/m\"";

const DURATION_FORMAT: &str =
    "write a whole number and a unit, one of ms, s, m, h, d, e.g. \"5s\" or \"250ms\"";

/// Parses `COUNT/PERIOD` into the count and the period in milliseconds. PERIOD is an
/// optional whole number and a unit (`ms`, `s`, `m`, `h`, `d`); the count is at least 1
/// and the period longer than zero, short enough to count in nanoseconds in a `u64`
/// (about 584 years). The error says what is wrong and how to write it.
pub fn parse_rate(text: &str) -> Result<(u32, u64), String> {
    let (count, period) = text
        .split_once('/')
        .ok_or_else(|| format!("no `/`; {FORMAT}"))?;
    let count: u32 = count.trim().parse().map_err(|_| {
        format!(
            "`{}` is not a whole number up to 4294967295; {FORMAT}",
            count.trim()
        )
    })?;
    if count == 0 {
        return Err("the count must be at least 1".into());
    }
    let period_ms = period_ms(period.trim(), true).map_err(|why| match why {
        Unit::Missing => format!("the period has no unit; {FORMAT}"),
        Unit::Unknown(unit) => format!("unknown unit `{unit}`; {FORMAT}"),
        Unit::Invalid(why) => why,
    })?;
    Ok((count, period_ms))
}

/// Parses a duration, a whole number and a unit (`"5s"`, `"250ms"`, `"2m"`), into
/// milliseconds; zero is refused.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    period_ms(text.trim(), false).map_err(|why| match why {
        Unit::Missing => format!("the duration has no unit; {DURATION_FORMAT}"),
        Unit::Unknown(unit) => format!("unknown unit `{unit}`; {DURATION_FORMAT}"),
        Unit::Invalid(why) => why,
    })
}

enum Unit {
    Missing,
    Unknown(String),
    Invalid(String),
}

/// `[NUMBER]UNIT` in milliseconds; the number may be left out only where `implicit_one`.
fn period_ms(text: &str, implicit_one: bool) -> Result<u64, Unit> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: u64 = if number.is_empty() {
        if !implicit_one {
            return Err(Unit::Invalid(format!(
                "`{text}` has no number; {DURATION_FORMAT}"
            )));
        }
        1
    } else {
        number
            .parse()
            .map_err(|_| Unit::Invalid(format!("`{number}` is too large")))?
    };
    if number == 0 {
        return Err(Unit::Invalid(if implicit_one {
            "the period must be longer than zero".into()
        } else {
            "the duration must be longer than zero".into()
        }));
    }
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "" => return Err(Unit::Missing),
        other => return Err(Unit::Unknown(other.to_owned())),
    };
    // Limits count in nanoseconds: a period must fit in a u64 of them.
    number
        .checked_mul(unit_ms)
        .filter(|ms| ms.checked_mul(1_000_000).is_some())
        .ok_or_else(|| {
            Unit::Invalid(if implicit_one {
                "the period is too long".into()
            } else {
                "the duration is too long".into()
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_to_count_and_milliseconds() {
        assert_eq!(parse_rate("10/10s"), Ok((10, 10_000)));
        assert_eq!(parse_rate("100/m"), Ok((100, 60_000)));
        assert_eq!(parse_rate("5/1h"), Ok((5, 3_600_000)));
        assert_eq!(parse_rate("1/250ms"), Ok((1, 250)));
        assert_eq!(parse_rate("3/2d"), Ok((3, 172_800_000)));
        assert_eq!(parse_rate(" 20 / m "), Ok((20, 60_000)));
    }

    #[test]
    fn malformed_rates_are_refused() {
        for bad in [
            "",
            "10",
            "0/s",
            "10/0s",
            "10/",
            "x/s",
            "10/10",
            "10/10w",
            "-1/s",
            "5",
            "10/99999999999999999999s",
            "10/999999999999d",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn durations_need_a_number_and_a_unit() {
        assert_eq!(parse_duration("5s"), Ok(5_000));
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert_eq!(parse_duration("2m"), Ok(120_000));
        for bad in ["", "s", "0s", "5", "5w", "-5s", "99999999999999999999s"] {
            assert!(parse_duration(bad).is_err(), "{bad} was accepted");
        }
    }
}
