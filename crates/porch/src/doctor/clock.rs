//! Two clocks: this machine's and the server's, read from the `Date` header of a response.
//!
//! Token times are judged by the server's clock, not the integrator's. A token that "expired
//! 40 s ago" here may be valid there, and the reverse, so the doctor shows both and says when
//! they disagree by more than the server's default leeway.

use porch_core::time::now_ms;

/// Skew beyond which the clocks are flagged: the server's default `token_leeway_secs`.
pub const SKEW_SECS_MAX: i64 = porch_core::limits::TOKEN_LEEWAY_SECS as i64;

/// This machine's clock and, when the server sent a `Date`, how far ahead the server is.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clocks {
    /// Server time minus local time, in seconds (±1 s: `Date` has whole seconds).
    pub skew_secs: Option<i64>,
}

impl Clocks {
    /// Compares an HTTP `Date` header value with the local clock, now.
    pub fn from_date_header(date: Option<&str>) -> Clocks {
        let server = date.and_then(parse_http_date);
        Clocks { skew_secs: server.map(|s| s - local_secs()) }
    }

    pub fn server_secs(&self) -> Option<i64> {
        self.skew_secs.map(|skew| local_secs() + skew)
    }

    /// True when the clocks disagree by more than the server tolerates.
    pub fn skewed(&self) -> bool {
        self.skew_secs.is_some_and(|s| s.abs() > SKEW_SECS_MAX)
    }

    /// `expires in 597s (local clock), in 598s (server clock)`: the verb is repeated only
    /// when the two clocks disagree on whether `at` is past.
    pub fn describe(&self, at: i64, future: &str, past: &str) -> String {
        let now = local_secs();
        let local = relative(at, now, future, past);
        match self.server_secs() {
            Some(server) if (at > now) == (at > server) => {
                let bare = relative(at, server, "", "");
                format!("{local} (local clock), {} (server clock)", bare.trim_start())
            }
            Some(server) => format!(
                "{local} (local clock), {} (server clock)",
                relative(at, server, future, past)
            ),
            None => format!("{local} (local clock; server clock unknown)"),
        }
    }
}

pub fn local_secs() -> i64 {
    now_ms() / 1000
}

/// `at` relative to `now`: "expires in 30s" / "expired 30s ago" (with the words given).
fn relative(at: i64, now: i64, future: &str, past: &str) -> String {
    if at > now {
        format!("{future} in {}s", at - now)
    } else {
        format!("{past} {}s ago", now - at)
    }
}

/// Parses an IMF-fixdate (RFC 9110 §5.6.7), `Wed, 26 Nov 2026 12:00:03 GMT`, into seconds
/// since the epoch. The obsolete formats are not accepted: no current server sends them.
pub fn parse_http_date(value: &str) -> Option<i64> {
    let mut fields = value.split_whitespace().skip(1);
    let day: i64 = fields.next()?.parse().ok()?;
    let month_name = fields.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? as i64 + 1;
    let year: i64 = fields.next()?.parse().ok()?;
    let mut hms = fields.next()?.split(':').map(|f| f.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    (fields.next() == Some("GMT"))
        .then(|| days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Howard Hinnant's `days_from_civil`: days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use porch_core::time::rfc3339;

    #[test]
    fn doctor_reads_http_dates() {
        let secs = parse_http_date("Thu, 26 Nov 2026 12:00:03 GMT").unwrap();
        assert_eq!(rfc3339(secs), "2026-11-26T12:00:03Z");
        assert_eq!(
            rfc3339(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT").unwrap()),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(parse_http_date("Thu, 26 Nov 2026 12:00:03 CET"), None);
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn doctor_says_in_and_ago() {
        assert_eq!(relative(130, 100, "expires", "expired"), "expires in 30s");
        assert_eq!(relative(70, 100, "expires", "expired"), "expired 30s ago");
    }
}
