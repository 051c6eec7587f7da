//! What the status page shows of recent calls: per registered connection and in total, calls admitted and
//! refused by the quota in each of the last 60 minutes, the quota left after the latest call, and the latest
//! error answer. Recorded where the quota decides (`edge::auth`).
//!
//! Bounded: only registered connections get a record of their own (a maker's bearer token names a connection
//! the caller chose, which would let anyone grow it), and the page drops records of connections a reload
//! removed. Minutes come from the gateway's clock, so tests move time instead of waiting.

use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use rustc_hash::FxHashMap as HashMap;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::domain::ConnectionId;

/// Minutes kept: the page's last hour.
pub const MINUTES: usize = 60;

/// Calls in one minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Minute {
    pub admitted: u64,
    pub refused: u64,
}

/// One minute's counts as kept, stamped with the minute they count (minutes since the epoch), so a slot of
/// an older hour reads as empty without anything having to clear it. 32-bit: twelve bytes a minute, where
/// the counts of one connection or one shard in a minute stay far below 2³².
#[derive(Debug, Clone, Copy)]
struct Slot {
    minute: i32,
    admitted: u32,
    refused: u32,
}

impl Slot {
    const EMPTY: Slot = Slot {
        minute: i32::MIN,
        admitted: 0,
        refused: 0,
    };
}

/// The last hour, a slot a minute. The current minute is kept apart, in front, and goes into the ring only
/// when the next minute begins: a call writes that one slot, which sits beside the record's other fields
/// (see [`Record`]), instead of a slot anywhere in the ring's 720 bytes.
#[derive(Debug, Clone)]
#[repr(C)]
struct Ring {
    current: Slot,
    past: [Slot; MINUTES],
}

impl Default for Ring {
    fn default() -> Self {
        Self {
            current: Slot::EMPTY,
            past: [Slot::EMPTY; MINUTES],
        }
    }
}

impl Ring {
    fn slot(minute: i32) -> usize {
        usize::try_from(minute.rem_euclid(MINUTES as i32)).unwrap_or(0)
    }

    fn count(&mut self, minute: i32, admitted: bool) {
        let slot = match minute.cmp(&self.current.minute) {
            std::cmp::Ordering::Equal => &mut self.current,
            std::cmp::Ordering::Greater => {
                if self.current.minute != i32::MIN {
                    self.past[Self::slot(self.current.minute)] = self.current;
                }
                self.current = Slot {
                    minute,
                    ..Slot::EMPTY
                };
                &mut self.current
            }
            // A call stamped before the current minute (another worker took the next minute's lock first, or
            // the clock stepped back) counts in its own minute's slot, so neither minute loses its counts.
            std::cmp::Ordering::Less if self.current.minute - minute < MINUTES as i32 => {
                let slot = &mut self.past[Self::slot(minute)];
                if slot.minute != minute {
                    *slot = Slot {
                        minute,
                        ..Slot::EMPTY
                    };
                }
                slot
            }
            // Older than the hour the page shows.
            std::cmp::Ordering::Less => return,
        };
        if admitted {
            slot.admitted = slot.admitted.saturating_add(1);
        } else {
            slot.refused = slot.refused.saturating_add(1);
        }
    }

    /// The last hour, oldest minute first, ending with the current one.
    fn last_hour(&self, now: i32) -> Vec<Minute> {
        (now - MINUTES as i32 + 1..=now)
            .map(|minute| {
                let slot = match self.current.minute == minute {
                    true => self.current,
                    false => self.past[Self::slot(minute)],
                };
                match slot.minute == minute {
                    true => Minute {
                        admitted: slot.admitted.into(),
                        refused: slot.refused.into(),
                    },
                    false => Minute::default(),
                }
            })
            .collect()
    }
}

/// A connection's record. Every call writes the quota left and the current minute's counts: laid out first
/// and aligned to a cache line, they share one line, so with many connections a call misses the cache once
/// for its record rather than once for each.
#[derive(Debug, Clone, Default)]
#[repr(C, align(64))]
struct Record {
    /// The quota left after the latest call, and when that was.
    remaining: Option<(u32, OffsetDateTime)>,
    ring: Ring,
    /// The latest answer with an error status, and when.
    last_error: Option<(u16, OffsetDateTime)>,
}

/// A connection's last hour, as the page shows it.
#[derive(Debug, Clone)]
pub struct Summary {
    pub minutes: Vec<Minute>,
    pub remaining: Option<(u32, OffsetDateTime)>,
    pub last_error: Option<(u16, OffsetDateTime)>,
}

impl Summary {
    pub fn admitted(&self) -> u64 {
        self.minutes.iter().map(|m| m.admitted).sum()
    }

    pub fn refused(&self) -> u64 {
        self.minutes.iter().map(|m| m.refused).sum()
    }
}

/// One shard of the records: its connections', and the total of the calls counted in it.
#[derive(Default)]
struct Shard {
    total: Ring,
    /// Boxed, so the table stays a few words an entry (a record is 832 bytes) and a look-up among many
    /// connections touches the table and the one record, not a table of records.
    connections: HashMap<ConnectionId, Box<Record>>,
}

/// Shards of the records, by connection, so that the serving workers, counting every call, do not meet at one
/// lock; the total is each shard's summed when read.
const SHARDS: usize = 16;

pub struct Activity {
    clock: Clock,
    shards: [Mutex<Shard>; SHARDS],
}

/// Minutes since the epoch: an `i32` until the year 6053.
fn minute(at: OffsetDateTime) -> i32 {
    i32::try_from(at.unix_timestamp().div_euclid(60)).unwrap_or(i32::MAX)
}

impl Activity {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            shards: Default::default(),
        }
    }

    fn shard(&self, index: usize) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[index % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn shard_of(id: &ConnectionId) -> usize {
        // The registered connections' IDs, the administrator's own names: no caller chooses them, so a fast
        // hasher with no defence against collisions is fine here.
        let mut hasher = rustc_hash::FxHasher::default();
        id.hash(&mut hasher);
        hasher.finish() as usize
    }

    /// One quota decision; `registered` is the connection's ID when the administrator registered it, and
    /// `remaining` the quota left after the call.
    pub fn count(&self, registered: Option<&ConnectionId>, admitted: bool, remaining: u32) {
        let now = self.clock.now_utc();
        let this_minute = minute(now);
        // A pass-through call counts in its worker's shard, so that those too spread over the shards.
        let index = registered.map_or_else(crate::worker::current, Self::shard_of);
        let mut shard = self.shard(index);
        shard.total.count(this_minute, admitted);
        if let Some(id) = registered {
            let record = match shard.connections.get_mut(id) {
                Some(record) => record,
                None => shard.connections.entry(id.clone()).or_default(),
            };
            record.ring.count(this_minute, admitted);
            record.remaining = Some((remaining, now));
        }
    }

    /// An admitted call of a registered connection was answered with `status`, an error.
    pub fn error(&self, registered: &ConnectionId, status: u16) {
        let now = self.clock.now_utc();
        if let Some(record) = self
            .shard(Self::shard_of(registered))
            .connections
            .get_mut(registered)
        {
            record.last_error = Some((status, now));
        }
    }

    /// The last hour of every call, oldest minute first.
    pub fn total(&self) -> Vec<Minute> {
        let now = minute(self.clock.now_utc());
        let mut total = vec![Minute::default(); MINUTES];
        for index in 0..SHARDS {
            for (sum, minute) in total.iter_mut().zip(self.shard(index).total.last_hour(now)) {
                sum.admitted += minute.admitted;
                sum.refused += minute.refused;
            }
        }
        total
    }

    /// The last hour of `connection`.
    pub fn of(&self, connection: &ConnectionId) -> Summary {
        let now = minute(self.clock.now_utc());
        let shard = self.shard(Self::shard_of(connection));
        match shard.connections.get(connection) {
            Some(record) => Summary {
                minutes: record.ring.last_hour(now),
                remaining: record.remaining,
                last_error: record.last_error,
            },
            None => Summary {
                minutes: vec![Minute::default(); MINUTES],
                remaining: None,
                last_error: None,
            },
        }
    }

    /// Forgets connections no longer registered.
    pub fn retain(&self, registered: impl Fn(&ConnectionId) -> bool) {
        for index in 0..SHARDS {
            self.shard(index).connections.retain(|id, _| registered(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn what_every_call_writes_shares_the_records_first_cache_line() {
        let current = std::mem::offset_of!(Record, ring) + std::mem::offset_of!(Ring, current);
        assert!(current + std::mem::size_of::<Slot>() <= 64, "{current}");
        let remaining = std::mem::offset_of!(Record, remaining);
        assert!(remaining + std::mem::size_of::<Option<(u32, OffsetDateTime)>>() <= 64);
        assert_eq!(std::mem::align_of::<Record>(), 64);
    }

    #[test]
    fn a_minute_moved_into_the_ring_still_counts_and_an_hour_old_one_does_not() {
        let clock = Clock::manual();
        let activity = Activity::new(clock.clone());
        let id = ConnectionId::parse("contoso").unwrap();
        for _ in 0..3 {
            activity.count(Some(&id), true, 4);
        }
        clock.advance(Duration::from_secs(60));
        activity.count(Some(&id), false, 0);
        let minutes = activity.of(&id).minutes;
        assert_eq!(
            minutes[MINUTES - 2..],
            [
                Minute {
                    admitted: 3,
                    refused: 0
                },
                Minute {
                    admitted: 0,
                    refused: 1
                }
            ]
        );
        // Sixty minutes after the second, its slot is read from the ring under its stamp, and the first
        // minute's, out of the hour, is not read at all.
        clock.advance(Duration::from_secs(59 * 60));
        activity.count(Some(&id), true, 4);
        let summary = activity.of(&id);
        assert_eq!((summary.admitted(), summary.refused()), (1, 1));
        clock.advance(Duration::from_secs(60));
        let summary = activity.of(&id);
        assert_eq!((summary.admitted(), summary.refused()), (1, 0));
        assert_eq!(activity.total().iter().map(|m| m.admitted).sum::<u64>(), 1);
    }

    #[test]
    fn a_call_stamped_before_the_current_minute_counts_in_its_own() {
        let mut ring = Ring::default();
        ring.count(101, true);
        ring.count(100, false);
        ring.count(101, true);
        ring.count(30, true);
        let hour = ring.last_hour(101);
        assert_eq!(
            hour[MINUTES - 2..],
            [
                Minute {
                    admitted: 0,
                    refused: 1
                },
                Minute {
                    admitted: 2,
                    refused: 0
                }
            ]
        );
        assert_eq!(hour.iter().map(|m| m.admitted + m.refused).sum::<u64>(), 3);
    }

    #[test]
    fn counts_fall_out_of_the_hour_as_the_clock_moves() {
        let clock = Clock::manual();
        let activity = Activity::new(clock.clone());
        let id = ConnectionId::parse("contoso").unwrap();
        activity.count(Some(&id), true, 4);
        activity.count(Some(&id), false, 0);
        activity.count(None, true, 9);
        assert_eq!(
            (activity.of(&id).admitted(), activity.of(&id).refused()),
            (1, 1)
        );
        assert_eq!(activity.total().iter().map(|m| m.admitted).sum::<u64>(), 2);
        clock.advance(Duration::from_secs(61 * 60));
        assert_eq!(
            (activity.of(&id).admitted(), activity.of(&id).refused()),
            (0, 0)
        );
        assert_eq!(activity.of(&id).remaining.map(|r| r.0), Some(0));
    }
}
