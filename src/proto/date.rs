//! HTTP dates: the IMF-fixdate format (RFC 9110 §5.6.7) from seconds since the Unix epoch,
//! by calendar arithmetic. No clock is read here: the caller says what time it is.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// `Sun, 06 Nov 1994 08:49:37 GMT` is always this long.
const LEN: usize = 29;

const SECS_PER_DAY: u64 = 86_400;

/// Day 0, 1970-01-01, was a Thursday.
const WEEKDAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// A second formatted as an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110
/// §5.6.7): the value of a `Date` field, or of `Last-Modified`, `Expires`...
///
/// It is made from a time you have ([`from_system_time`](Self::from_system_time),
/// [`from_unix_secs`](Self::from_unix_secs)): the core reads no clock. Give one to
/// [`ServerConn::set_date`](super::ServerConn::set_date) and the core adds it to the
/// responses that have no `Date`.
///
/// ```
/// use pollhttp::proto::HttpDate;
///
/// assert_eq!(HttpDate::from_unix_secs(784_111_777).as_str(), "Sun, 06 Nov 1994 08:49:37 GMT");
/// assert_eq!(HttpDate::from_unix_secs(0).to_string(), "Thu, 01 Jan 1970 00:00:00 GMT");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpDate {
    secs: u64,
    text: [u8; LEN],
}

impl HttpDate {
    /// The last second a four-digit year can show, 9999-12-31 23:59:59 UTC: later times
    /// are held to it.
    pub const MAX_UNIX_SECS: u64 = 253_402_300_799;

    /// The date of `secs` seconds after 1970-01-01 00:00:00 UTC (leap seconds do not
    /// count, as in Unix time), held to [`MAX_UNIX_SECS`](Self::MAX_UNIX_SECS).
    pub fn from_unix_secs(secs: u64) -> Self {
        let secs = secs.min(Self::MAX_UNIX_SECS);
        let days = secs / SECS_PER_DAY;
        let in_day = secs % SECS_PER_DAY;
        let (year, month, day) = civil_from_days(days);
        let mut text = [0u8; LEN];
        text[..3].copy_from_slice(WEEKDAYS[(days % 7) as usize]);
        text[3..5].copy_from_slice(b", ");
        two_digits(&mut text[5..7], u64::from(day));
        text[7] = b' ';
        text[8..11].copy_from_slice(MONTHS[usize::from(month - 1)]);
        text[11] = b' ';
        two_digits(&mut text[12..14], year / 100);
        two_digits(&mut text[14..16], year % 100);
        text[16] = b' ';
        two_digits(&mut text[17..19], in_day / 3600);
        text[19] = b':';
        two_digits(&mut text[20..22], in_day / 60 % 60);
        text[22] = b':';
        two_digits(&mut text[23..25], in_day % 60);
        text[25..].copy_from_slice(b" GMT");
        Self { secs, text }
    }

    /// The date of `time`, to the second (the fraction is dropped; a time before 1970 is
    /// held to 1970-01-01 00:00:00).
    pub fn from_system_time(time: SystemTime) -> Self {
        let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Self::from_unix_secs(secs)
    }

    /// Seconds since 1970-01-01 00:00:00 UTC.
    pub fn unix_secs(&self) -> u64 {
        self.secs
    }

    /// The text, 29 ASCII characters.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written into `text`.
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// The text as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// The length of a date's text.
    pub(crate) const LEN: usize = LEN;

    /// The text, as an array (copied without a length check).
    pub(crate) fn text(&self) -> &[u8; LEN] {
        &self.text
    }
}

impl From<SystemTime> for HttpDate {
    fn from(time: SystemTime) -> Self {
        Self::from_system_time(time)
    }
}

impl From<HttpDate> for http::HeaderValue {
    fn from(date: HttpDate) -> Self {
        Self::from_bytes(date.as_bytes()).expect("an IMF-fixdate is a valid field value")
    }
}

impl fmt::Display for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpDate({:?})", self.as_str())
    }
}

/// `n` (below 100) as two digits.
fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// Days since 1970-01-01 from 0000-03-01, in the proleptic Gregorian calendar.
const EPOCH_FROM_MARCH_0000: u64 = 719_468;
/// Days in 400 Gregorian years (97 of them leap years), after which the calendar repeats.
const DAYS_PER_ERA: u64 = 146_097;

/// The year, month (1 to 12) and day of the month (1 to 31) of the `days`-th day after
/// 1970-01-01.
///
/// Counted from 1 March of year 0, a year ends with February, so the leap day is the
/// last day of its year and never shifts the months before it. The days then fall into
/// 400-year eras of equal length; within an era, the year is found by removing the leap
/// days before it (one per 4 years, less one per 100, plus one per 400) and dividing by
/// 365; within the year, the months from March have the lengths 31 30 31 30 31 31 30 31 30
/// 31 31 28/29, whose starts `(153 m + 2) / 5` gives for m = 0 (March) to 11 (February).
fn civil_from_days(days: u64) -> (u64, u8, u8) {
    let from_march = days + EPOCH_FROM_MARCH_0000;
    let era = from_march / DAYS_PER_ERA;
    // Day of the era, 0 to 146,096.
    let day_of_era = from_march % DAYS_PER_ERA;
    // The era's last day (day 146,096, the 400th year's leap day) takes the 1,460 / 36,524
    // corrections one step too far: the 146,096 term brings it back.
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    // Day of the year that starts on 1 March, 0 to 365.
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Month counted from March, 0 to 11.
    let m = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * m + 2) / 5 + 1;
    let month = if m < 10 { m + 3 } else { m - 9 };
    // January and February belong to the next calendar year.
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month as u8, day as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(secs: u64) -> String {
        HttpDate::from_unix_secs(secs).to_string()
    }

    fn is_leap(year: u64) -> bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    fn month_len(year: u64, month: u8) -> u8 {
        match month {
            4 | 6 | 9 | 11 => 30,
            2 if is_leap(year) => 29,
            2 => 28,
            _ => 31,
        }
    }

    /// Every day from 1970-01-01 to 9999-12-31, against a calendar that counts one day at
    /// a time.
    #[test]
    fn civil_from_days_agrees_with_counting_every_day() {
        let (mut year, mut month, mut day) = (1970u64, 1u8, 1u8);
        let last = HttpDate::MAX_UNIX_SECS / SECS_PER_DAY;
        for days in 0..=last {
            assert_eq!(civil_from_days(days), (year, month, day), "day {days}");
            day += 1;
            if day > month_len(year, month) {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
        assert_eq!((year, month, day), (10_000, 1, 1));
    }

    /// Each value worked out by hand: days since 1970 from whole years (365 each, plus
    /// the leap days between), then months, then the weekday from Thursday 1970-01-01.
    #[test]
    fn known_dates() {
        let cases: &[(u64, &str)] = &[
            // The epoch: a Thursday.
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (59, "Thu, 01 Jan 1970 00:00:59 GMT"),
            (86_399, "Thu, 01 Jan 1970 23:59:59 GMT"),
            (86_400, "Fri, 02 Jan 1970 00:00:00 GMT"),
            // RFC 9110's example: 9,075 days (24 years, 6 leap days, to 1994-01-01;
            // then 304 days to 6 November) and 31,777 s.
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            // End of a year: 1999-12-31 is day 10,956, a Friday.
            (946_684_799, "Fri, 31 Dec 1999 23:59:59 GMT"),
            (946_684_800, "Sat, 01 Jan 2000 00:00:00 GMT"),
            // 2000 is a leap year (divisible by 400): 2000-02-29 is day 11,016.
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (951_868_799, "Tue, 29 Feb 2000 23:59:59 GMT"),
            (951_868_800, "Wed, 01 Mar 2000 00:00:00 GMT"),
            // An ordinary leap year: 2024-02-29, day 19,782.
            (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
            (1_709_251_200, "Fri, 01 Mar 2024 00:00:00 GMT"),
            // Not a leap year: 2023-02-28 is followed by 1 March.
            (1_677_628_799, "Tue, 28 Feb 2023 23:59:59 GMT"),
            (1_677_628_800, "Wed, 01 Mar 2023 00:00:00 GMT"),
            // The last second of a 31-bit time_t, and the one after.
            (2_147_483_647, "Tue, 19 Jan 2038 03:14:07 GMT"),
            (2_147_483_648, "Tue, 19 Jan 2038 03:14:08 GMT"),
            // The last second of a 32-bit unsigned time.
            (4_294_967_295, "Sun, 07 Feb 2106 06:28:15 GMT"),
            // 2100 is not a leap year (divisible by 100, not 400).
            (4_107_542_399, "Sun, 28 Feb 2100 23:59:59 GMT"),
            (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),
            // 2400 is.
            (13_574_563_200, "Tue, 29 Feb 2400 00:00:00 GMT"),
            // End of a leap year: 2024-12-31 is the 366th day of 2024.
            (1_735_689_599, "Tue, 31 Dec 2024 23:59:59 GMT"),
            (1_735_689_600, "Wed, 01 Jan 2025 00:00:00 GMT"),
            // The last second shown with four digits; later ones are held to it.
            (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
            (253_402_300_800, "Fri, 31 Dec 9999 23:59:59 GMT"),
            (u64::MAX, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ];
        for &(secs, want) in cases {
            assert_eq!(date(secs), want, "{secs}");
            assert_eq!(date(secs).len(), LEN);
        }
    }

    #[test]
    fn weekdays_cycle_from_thursday() {
        let week: Vec<String> = (0..8)
            .map(|d| date(d * SECS_PER_DAY)[..3].to_owned())
            .collect();
        assert_eq!(
            week,
            ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed", "Thu"]
        );
    }

    #[test]
    fn from_system_time_drops_the_fraction_and_holds_to_the_epoch() {
        use std::time::Duration;
        let t = UNIX_EPOCH + Duration::from_millis(784_111_777_999);
        assert_eq!(
            HttpDate::from_system_time(t).as_str(),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(HttpDate::from(t).unix_secs(), 784_111_777);
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(
            HttpDate::from_system_time(before),
            HttpDate::from_unix_secs(0)
        );
    }

    #[test]
    fn header_value_and_debug() {
        let d = HttpDate::from_unix_secs(784_111_777);
        let v = http::HeaderValue::from(d);
        assert_eq!(v, "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(d.as_bytes(), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            format!("{d:?}"),
            "HttpDate(\"Sun, 06 Nov 1994 08:49:37 GMT\")"
        );
        assert!(HttpDate::from_unix_secs(1) < HttpDate::from_unix_secs(2));
    }
}
