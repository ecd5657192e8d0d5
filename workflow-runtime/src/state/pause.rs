//! The state of a step that waits at a pause for a value from outside.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, SeqAccess, VariantAccess, Visitor,
};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};

use super::data::StepData;
use crate::error::Error;

/// What a pause step waits for: nothing yet, or the value it was given.
///
/// Serialized as `"waiting"` or `{"given": value}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PauseValue<V> {
    /// The run is suspended until it is given a value.
    Waiting,
    /// The value was given: the step runs with it.
    Given(V),
}

/// A pause step in the state: its input, and the value it waits for.
///
/// Serialized as the tuple `[input, value]`, `value` as [`PauseValue`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseState<I, V> {
    /// The step's input, which the pause shows.
    pub input: I,
    /// The value from outside.
    pub value: PauseValue<V>,
}

impl<I, V> PauseState<I, V> {
    /// A pause step about to wait for its value, with `input`.
    pub fn waiting(input: I) -> Self {
        PauseState {
            input,
            value: PauseValue::Waiting,
        }
    }

    /// Whether the step still waits for its value.
    pub fn is_waiting(&self) -> bool {
        matches!(self.value, PauseValue::Waiting)
    }

    /// The same step, given `value`.
    pub fn give(self, value: V) -> Self {
        PauseState {
            input: self.input,
            value: PauseValue::Given(value),
        }
    }
}

/// The payload of a pause: its input as JSON (`null` if it does not serialize, which the
/// checkpoint of the same state would have reported first).
pub fn pause_payload<I: StepData>(input: &I) -> serde_json::Value {
    serde_json::to_value(Data(input)).unwrap_or(serde_json::Value::Null)
}

/// Reads the value a pause before step `step` of workflow `workflow` waits for, from JSON.
///
/// # Errors
///
/// [`Error::AnswerValue`] if `value` is not a `V`.
pub fn pause_answer<V: StepData>(
    workflow: &'static str,
    step: &'static str,
    value: serde_json::Value,
) -> Result<V, Error> {
    V::deserialize_value(value).map_err(|source| Error::AnswerValue {
        workflow,
        step,
        expected: std::any::type_name::<V>(),
        source,
    })
}

/// A [`StepData`] value, serialized as itself.
pub(super) struct Data<'a, T>(pub(super) &'a T);

impl<T: StepData> Serialize for Data<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_value(serializer)
    }
}

/// Deserializes a [`StepData`] value.
pub(super) struct DataSeed<T>(pub(super) PhantomData<T>);

impl<'de, T: StepData> DeserializeSeed<'de> for DataSeed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::deserialize_value(deserializer)
    }
}

const VALUE_VARIANTS: &[&str] = &["waiting", "given"];

impl<V: StepData> Serialize for PauseValue<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PauseValue::Waiting => serializer.serialize_unit_variant("PauseValue", 0, "waiting"),
            PauseValue::Given(value) => {
                serializer.serialize_newtype_variant("PauseValue", 1, "given", &Data(value))
            }
        }
    }
}

impl<'de, V: StepData> Deserialize<'de> for PauseValue<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_enum("PauseValue", VALUE_VARIANTS, ValueVisitor(PhantomData))
    }
}

struct ValueVisitor<V>(PhantomData<V>);

impl<'de, V: StepData> Visitor<'de> for ValueVisitor<V> {
    type Value = PauseValue<V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"waiting\" or {\"given\": value}")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        let (name, variant): (String, _) = data.variant()?;
        match name.as_str() {
            "waiting" => variant.unit_variant().map(|()| PauseValue::Waiting),
            "given" => variant
                .newtype_variant_seed(DataSeed(PhantomData))
                .map(PauseValue::Given),
            other => Err(de::Error::unknown_variant(other, VALUE_VARIANTS)),
        }
    }
}

impl<I: StepData, V: StepData> Serialize for PauseState<I, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&Data(&self.input))?;
        tuple.serialize_element(&self.value)?;
        tuple.end()
    }
}

impl<'de, I: StepData, V: StepData> Deserialize<'de> for PauseState<I, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_tuple(2, StateVisitor(PhantomData))
    }
}

struct StateVisitor<I, V>(PhantomData<(I, V)>);

impl<'de, I: StepData, V: StepData> Visitor<'de> for StateVisitor<I, V> {
    type Value = PauseState<I, V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a pause step: [input, \"waiting\" or {\"given\": value}]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let input = seq
            .next_element_seed(DataSeed(PhantomData))?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let value = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok(PauseState { input, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let waiting: PauseState<String, u32> = PauseState::waiting("draft".into());
        let json = serde_json::to_value(&waiting).expect("serializes");
        assert_eq!(json, serde_json::json!(["draft", "waiting"]));
        let given = waiting.give(7);
        let json = serde_json::to_value(&given).expect("serializes");
        assert_eq!(json, serde_json::json!(["draft", { "given": 7 }]));
        let back: PauseState<String, u32> = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, given);
        for bad in [
            serde_json::json!(["draft"]),
            serde_json::json!(["draft", "given"]),
            serde_json::json!(["draft", { "given": "seven" }]),
            serde_json::json!(["draft", "started"]),
            serde_json::json!(["draft", "waiting", 1]),
        ] {
            assert!(
                serde_json::from_value::<PauseState<String, u32>>(bad.clone()).is_err(),
                "accepted {bad}"
            );
        }
    }
}
