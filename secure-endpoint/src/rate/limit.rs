//! What a policy declares: a rate (`COUNT/PERIOD`), what it counts on, what it counts,
//! and the group whose routes share its counter. Counting is the stores' business.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// A limit: `count` requests per `period`, GCRA-shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rate {
    count: u32,
    period_ms: u64,
}

impl Rate {
    #[doc(hidden)]
    pub const fn new(count: u32, period_ms: u64) -> Self {
        Rate { count, period_ms }
    }

    /// The burst: how many requests are admitted at once.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// The window in which `count` requests replenish.
    pub const fn period(&self) -> Duration {
        Duration::from_millis(self.period_ms)
    }

    /// Parses `COUNT/PERIOD` (`"20/m"`, `"10/10s"`) with the grammar of the attribute's
    /// `rate`: the same texts are accepted and refused in both places.
    ///
    /// ```
    /// use secure_endpoint::Rate;
    ///
    /// assert_eq!(Rate::parse("10/10s")?.to_string(), "10/10s");
    /// assert_eq!(Rate::parse("100/m")?.count(), 100);
    /// assert!(Rate::parse("10/w").is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn parse(text: &str) -> Result<Rate, String> {
        secure_endpoint_grammar::parse_rate(text)
            .map(|(count, period_ms)| Rate::new(count, period_ms))
            .map_err(|why| format!("{text:?}: {why}"))
    }

    /// Time between two sustained requests: `period / count`.
    pub fn emission_interval(&self) -> Duration {
        Duration::from_nanos(
            (u128::from(self.period_ms) * 1_000_000 / u128::from(self.count)).max(1) as u64,
        )
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.period_ms;
        let (n, unit) = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ]
        .into_iter()
        .find(|(unit_ms, _)| ms.is_multiple_of(*unit_ms))
        .map_or((ms, "ms"), |(unit_ms, unit)| (ms / unit_ms, unit));
        if n == 1 {
            write!(f, "{}/{unit}", self.count)
        } else {
            write!(f, "{}/{n}{unit}", self.count)
        }
    }
}

/// What a limit is counted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RateKey {
    /// The client address (IPv6 by /64).
    Ip,
    /// The verified principal.
    User,
    /// The verified principal when the request has one, else the client address: the
    /// default on `#[public(optional_auth)]` routes.
    Caller,
    /// A string field of the validated body, as the attribute names it
    /// (`"input.username"`): trimmed, Unicode-normalised (NFKC) and lower-cased, so
    /// that `Alice`, ` alice ` and `ａｌｉｃｅ` count as one.
    Input(&'static str),
}

impl RateKey {
    /// The keyword of the key in a limit's name: `ip`, `user`, `caller`, or the field.
    fn keyword(&self) -> &'static str {
        match self {
            RateKey::Ip => "ip",
            RateKey::User => "user",
            RateKey::Caller => "caller",
            RateKey::Input(field) => field,
        }
    }
}

impl fmt::Display for RateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RateKey::Ip => "ip",
            RateKey::User => "user",
            RateKey::Caller => "user or ip",
            RateKey::Input(field) => field,
        })
    }
}

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Counts {
    /// Every request it admits (`on = "any"`, the default).
    Any,
    /// Only the requests the handler answers 401 or 403 (`on = "failure"`): each takes
    /// its slot before the handler runs and gives it back when the answer is not a
    /// failure, so attempts in flight together cannot pass the limit. While the limit
    /// refuses, the handler is not called.
    Failure,
}

/// One limit of a route: `rate = "10/10s"`, one of `rate = ["10/s", "1000/d"]`, or a
/// `limit(rate = …, key = …, on = …, group = …)`.
///
/// ```
/// use secure_endpoint::{Counts, RateKey, SecureHandler, public};
///
/// #[derive(serde::Deserialize, validator::Validate)]
/// struct Login {
///     username: String,
///     password: String,
/// }
///
/// #[public(
///     validate = Login,
///     rate = "5/60s",
///     limit(rate = "5/15m", key = "input.username", on = "failure"),
/// )]
/// async fn login(input: Login) -> &'static str {
///     "welcome"
/// }
///
/// let limits = <login as SecureHandler>::POLICY.limits();
/// assert_eq!(limits.len(), 2);
/// assert_eq!(limits[1].key(), RateKey::Input("input.username"));
/// assert_eq!(limits[1].counts(), Counts::Failure);
/// assert_eq!(limits[1].name(), "5/15m-input.username-failures");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limit {
    rate: Rate,
    key: RateKey,
    counts: Counts,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'static str>,
    /// `except = "device"`: attempts from a device that logged in as the name count on
    /// that device's own budget.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    except_device: bool,
    /// `mode = "report"`: counted as usual, never refused.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    report: bool,
}

impl Limit {
    #[doc(hidden)]
    pub const fn new(
        count: u32,
        period_ms: u64,
        key: RateKey,
        counts: Counts,
        group: Option<&'static str>,
    ) -> Self {
        Limit {
            rate: Rate::new(count, period_ms),
            key,
            counts,
            group,
            except_device: false,
            report: false,
        }
    }

    /// The limit with `mode = "report"`.
    #[doc(hidden)]
    pub const fn report_only(mut self) -> Self {
        self.report = true;
        self
    }

    /// Whether the limit only reports (`mode = "report"`): counted as usual, a request
    /// over it passes, logged and counted as `would_refuse`.
    pub const fn reports(&self) -> bool {
        self.report
    }

    /// The limit with `except = "device"`.
    #[doc(hidden)]
    pub const fn except_devices(mut self) -> Self {
        self.except_device = true;
        self
    }

    /// Whether an attempt from a device that logged in as the name counts on that
    /// device's own budget (`except = "device"`) rather than the name's.
    pub const fn excepts_devices(&self) -> bool {
        self.except_device
    }

    /// The limit of failed authentications per client address
    /// ([`failed_auth_limit`](crate::SecurityBuilder::failed_auth_limit)), named
    /// `failed-auth` in the headers.
    pub(crate) fn failed_authentications(rate: Rate) -> Limit {
        Limit {
            rate,
            key: RateKey::Ip,
            counts: Counts::Failure,
            group: Some("failed-auth"),
            except_device: false,
            report: false,
        }
    }

    /// How many requests per period.
    pub const fn rate(&self) -> Rate {
        self.rate
    }

    /// What it is counted on.
    pub const fn key(&self) -> RateKey {
        self.key
    }

    /// Whether every request counts, or only failures.
    pub const fn counts(&self) -> Counts {
        self.counts
    }

    /// The group whose routes share this limit's counter per key (`group = "writes"`).
    pub const fn group(&self) -> Option<&'static str> {
        self.group
    }

    /// The limit's name in the `RateLimit-Policy` and `RateLimit` headers: the group's
    /// name, else its rate and key (`"10/10s-ip"`), with `-failures` for a limit that
    /// counts only failures.
    pub fn name(&self) -> String {
        match self.group {
            Some(group) => group.to_owned(),
            None => {
                let failures = match self.counts {
                    Counts::Any => "",
                    Counts::Failure => "-failures",
                };
                format!("{}-{}{failures}", self.rate, self.key.keyword())
            }
        }
    }
}

/// The compact form of the inventory: `rate 10/10s per ip`, `rate 5/15m per
/// input.username on failure`, `rate 100/m per user in group writes`.
impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate {} per {}", self.rate, self.key)?;
        if self.counts == Counts::Failure {
            f.write_str(" on failure")?;
        }
        if self.except_device {
            f.write_str(" except device")?;
        }
        if self.report {
            f.write_str(" report only")?;
        }
        if let Some(group) = self.group {
            write!(f, " in group {group}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        assert_eq!(Rate::parse("20/m").unwrap(), Rate::new(20, 60_000));
        assert_eq!(Rate::parse("10/10s").unwrap().to_string(), "10/10s");
        assert_eq!(Rate::parse("5/90s").unwrap().to_string(), "5/90s");
        assert_eq!(
            Rate::new(10, 10_000).emission_interval(),
            Duration::from_secs(1)
        );
        for bad in ["", "0/s", "5/0s", "5/w", "x/s", "5"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::Rate;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// Any text is answered; what is accepted prints back as the same rate.
        #[test]
        fn any_rate_text_is_answered_and_round_trips(text in "[0-9]{0,12}/?[0-9]{0,14}(ms|s|m|h|d|w|)| ?.{0,12}") {
            if let Ok(rate) = Rate::parse(&text) {
                prop_assert!(rate.count() >= 1);
                prop_assert!(!rate.period().is_zero());
                prop_assert_eq!(Rate::parse(&rate.to_string()), Ok(rate));
            }
        }

        /// Every count and period in range is accepted as written.
        #[test]
        fn every_rate_in_range_is_accepted(count in 1u32.., number in 1u64..100_000, unit in 0usize..5) {
            let (suffix, ms) = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)][unit];
            let rate = Rate::parse(&format!("{count}/{number}{suffix}")).unwrap();
            prop_assert_eq!(rate.count(), count);
            prop_assert_eq!(rate.period().as_millis() as u64, number * ms);
        }
    }
}
