//! Reading the message of a signal, which the state of a step that receives it holds as a
//! pause step holds its value ([`PauseState`](super::PauseState)).

use super::data::StepData;
use crate::error::Error;

/// Reads a message of signal `signal` of workflow `workflow`, of type `V`, from JSON.
///
/// # Errors
///
/// [`Error::SignalValue`] if `value` is not a `V`.
pub fn signal_value<V: StepData>(
    workflow: &'static str,
    signal: &str,
    value: serde_json::Value,
) -> Result<V, Error> {
    V::deserialize_value(value).map_err(|source| mismatch::<V>(workflow, signal, source))
}

/// Checks that `value` reads as a message of signal `signal`, of type `V`.
///
/// # Errors
///
/// [`Error::SignalValue`] if `value` is not a `V`.
pub fn check_signal_value<V: StepData>(
    workflow: &'static str,
    signal: &str,
    value: &serde_json::Value,
) -> Result<(), Error> {
    V::deserialize_value(value)
        .map(drop)
        .map_err(|source| mismatch::<V>(workflow, signal, source))
}

/// [`Error::UnknownSignal`]: workflow `workflow`, which receives `known`, receives no
/// `signal`.
///
/// # Errors
///
/// Always.
pub fn unknown_signal(workflow: &'static str, signal: &str, known: &str) -> Result<(), Error> {
    Err(Error::UnknownSignal {
        workflow,
        signal: signal.chars().take(200).collect(),
        known: known.to_owned(),
    })
}

fn mismatch<V>(workflow: &'static str, signal: &str, source: serde_json::Error) -> Error {
    Error::SignalValue {
        workflow,
        signal: signal.to_owned(),
        expected: std::any::type_name::<V>(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_checked() {
        let ok: u32 = signal_value("W", "u32", serde_json::json!(7)).expect("reads");
        assert_eq!(ok, 7);
        let bad = check_signal_value::<u32>("W", "u32", &serde_json::json!("seven"));
        assert!(matches!(bad, Err(Error::SignalValue { ref signal, .. }) if signal == "u32"));
        let unknown = unknown_signal("W", "Other", "`u32`");
        assert!(matches!(unknown, Err(Error::UnknownSignal { ref known, .. }) if known == "`u32`"));
    }
}
