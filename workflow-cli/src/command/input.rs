//! JSON from the command line: an argument, or a file (`-`: standard input).

use std::io::Read as _;

use crate::fail::Fail;

/// The JSON `what` (`answer`, `message`) given as `text`, or read from the file `file` names
/// (`-`: standard input): a usage error if it cannot be read or is not JSON.
pub(crate) fn json(
    text: Option<&str>,
    file: Option<&str>,
    what: &str,
) -> Result<serde_json::Value, Fail> {
    let text = match (text, file) {
        (Some(text), None) => text.to_owned(),
        (None, Some("-")) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|error| Fail::usage(format!("cannot read the {what}: {error}")))?;
            text
        }
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|error| {
            Fail::usage(format!("cannot read the {what} from `{path}`: {error}"))
        })?,
        _ => {
            return Err(Fail::usage(format!(
                "give the {what} as JSON, or --file PATH"
            )))
        }
    };
    serde_json::from_str(&text).map_err(|error| {
        Fail::usage(format!(
            "the {what} is not JSON ({error}); a string is written with its quotes: '\"yes\"'"
        ))
    })
}
