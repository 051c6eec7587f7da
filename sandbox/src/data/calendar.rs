//! Just enough calendar arithmetic for plausible subscription and invoice dates.

/// A calendar date as days since 1970-01-01 (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Date(pub(super) i64);

impl Date {
    /// Howard Hinnant's days_from_civil.
    pub(super) const fn ymd(year: i64, month: u32, day: u32) -> Self {
        let y = if month <= 2 { year - 1 } else { year };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = month as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Self(era * 146_097 + doe - 719_468)
    }

    /// Howard Hinnant's civil_from_days.
    pub(super) fn civil(self) -> (i64, u32, u32) {
        let z = self.0 + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        (year, month, day)
    }

    pub(super) fn add_days(self, days: i64) -> Self {
        Self(self.0 + days)
    }

    /// Calendar months, clamping the day to the target month's length.
    pub(super) fn add_months(self, months: i64) -> Self {
        let (year, month, day) = self.civil();
        let index = year * 12 + i64::from(month) - 1 + months;
        let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
        let last_day = Self::ymd(year + i64::from(month == 12), month % 12 + 1, 1)
            .add_days(-1)
            .civil()
            .2;
        Self::ymd(year, month, day.min(last_day))
    }

    pub(super) fn iso(self) -> String {
        let (year, month, day) = self.civil();
        format!("{year:04}-{month:02}-{day:02}")
    }

    pub(super) fn midnight(self) -> String {
        format!("{}T00:00:00Z", self.iso())
    }

    pub(super) fn end_of_day(self) -> String {
        format!("{}T23:59:59Z", self.iso())
    }

    pub(super) fn at(self, second_of_day: u64, ticks: u64) -> String {
        let (h, m, s) = (
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60,
        );
        format!("{}T{h:02}:{m:02}:{s:02}.{ticks:07}Z", self.iso())
    }
}
