//! The state of a step that waits for a time before it runs: a durable timer.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};

use super::data::StepData;
use super::pause::{Data, DataSeed};

/// A step that sleeps before it runs (`a -> sleep "1h" -> b` in `flow!`): its input, and the
/// time it wakes at.
///
/// The wake-up time is absolute, set when the run enters the state, and saved with it: a
/// durable run that sleeps is put aside in its store until then (no worker holds it), and any
/// worker picks it up once the time has come, even after every worker restarted. A run in
/// memory waits with `tokio::time::sleep`.
///
/// Serialized as the tuple `[input, wake-up time in milliseconds since the Unix epoch]`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use workflow_runtime::state::SleepState;
///
/// let before = SystemTime::now();
/// let sleeping = SleepState::after("draft".to_string(), Duration::from_secs(3600));
/// assert!(sleeping.wakes_at() > before + Duration::from_secs(3599)); // to the millisecond
/// assert!(!sleeping.is_due(before));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SleepState<I> {
    /// The input of the step that runs once the time has come.
    pub input: I,
    /// Milliseconds since the Unix epoch.
    until: u64,
}

impl<I> SleepState<I> {
    /// The step with `input`, sleeping for `duration` from now (at least: the wake-up time is
    /// rounded up to the millisecond).
    pub fn after(input: I, duration: Duration) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        SleepState {
            input,
            until: millis_up(now.saturating_add(duration)),
        }
    }

    /// The step with `input`, sleeping until `time` (rounded up to the millisecond).
    pub fn until(input: I, time: SystemTime) -> Self {
        let until = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        SleepState {
            input,
            until: millis_up(until),
        }
    }

    /// When the step may run.
    pub fn wakes_at(&self) -> SystemTime {
        UNIX_EPOCH
            .checked_add(Duration::from_millis(self.until))
            .unwrap_or(UNIX_EPOCH + Duration::from_secs(u32::MAX.into()))
    }

    /// Whether the time has come at `now`.
    pub fn is_due(&self, now: SystemTime) -> bool {
        self.wakes_at() <= now
    }
}

impl<I: StepData> Serialize for SleepState<I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&Data(&self.input))?;
        tuple.serialize_element(&self.until)?;
        tuple.end()
    }
}

impl<'de, I: StepData> Deserialize<'de> for SleepState<I> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_tuple(2, SleepVisitor(PhantomData))
    }
}

/// `since_epoch` in whole milliseconds, rounded up: rounded down, a step woke up to a
/// millisecond before its time.
fn millis_up(since_epoch: Duration) -> u64 {
    let part = !since_epoch.subsec_nanos().is_multiple_of(1_000_000);
    let millis = since_epoch.as_millis() + u128::from(part);
    u64::try_from(millis).unwrap_or(u64::MAX)
}

struct SleepVisitor<I>(PhantomData<I>);

impl<'de, I: StepData> Visitor<'de> for SleepVisitor<I> {
    type Value = SleepState<I>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sleeping step: [input, wake-up time in milliseconds]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let input = seq
            .next_element_seed(DataSeed(PhantomData))?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let until = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok(SleepState { input, until })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let time = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let sleeping = SleepState::until("draft".to_string(), time);
        let json = serde_json::to_value(&sleeping).expect("serializes");
        assert_eq!(json, serde_json::json!(["draft", 1_700_000_000_123u64]));
        let back: SleepState<String> = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back.wakes_at(), time);
        assert!(back.is_due(time) && !back.is_due(time - Duration::from_millis(1)));
        for bad in [
            serde_json::json!(["draft"]),
            serde_json::json!(["draft", "soon"]),
            serde_json::json!(["draft", -1]),
            serde_json::json!(["draft", 1, 2]),
        ] {
            assert!(
                serde_json::from_value::<SleepState<String>>(bad.clone()).is_err(),
                "accepted {bad}"
            );
        }
    }

    #[test]
    fn a_step_never_wakes_before_its_time() {
        let time = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_001);
        let sleeping = SleepState::until((), time);
        assert_eq!(
            sleeping.wakes_at(),
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_124)
        );
        for _ in 0..100 {
            let before = SystemTime::now();
            let sleeping = SleepState::after((), Duration::from_millis(300));
            assert!(sleeping.wakes_at() >= before + Duration::from_millis(300));
        }
    }

    #[test]
    fn a_huge_duration_saturates() {
        let sleeping = SleepState::after((), Duration::MAX);
        assert!(sleeping.wakes_at() > SystemTime::now() + Duration::from_secs(1 << 30));
    }
}
