//! `genai`'s errors as [`ProviderError`]s of the kind a retry policy needs.

use ::genai::resolver;
use ::genai::webc;
use ::genai::Error as GenaiError;
use genai_reqwest::header::HeaderMap;

use crate::provider::http::Caller;
use crate::provider::{ProviderError, ProviderErrorKind};

/// The error `error` means, its message scrubbed of the caller's secrets. The kind comes from
/// the HTTP status when there was a response (429 rate limited, 5xx server, 401
/// unauthorized, …, as for the built-in providers), from the transport when there was none,
/// and from what `genai` could not do otherwise. `genai`'s own messages are not passed on
/// whole: some quote the request.
pub(super) fn provider_error(caller: &Caller, error: &GenaiError) -> ProviderError {
    use ProviderErrorKind as Kind;
    if let Some((status, headers, body)) = failed_status(error) {
        return caller.status_error(
            status,
            headers.unwrap_or(&HeaderMap::new()),
            body.as_bytes(),
        );
    }
    match error {
        GenaiError::WebModelCall { webc_error, .. }
        | GenaiError::WebAdapterCall { webc_error, .. } => match webc_error {
            webc::Error::Reqwest(error) => transport_error(caller, error),
            webc::Error::ResponseFailedNotJson { content_type, .. } => {
                let message = format!("the response is not JSON but `{content_type}`");
                caller.error(Kind::MalformedResponse, &message)
            }
            webc::Error::ResponseFailedInvalidJson { cause, .. } => {
                let message = format!("the response is not valid JSON: {cause}");
                caller.error(Kind::MalformedResponse, &message)
            }
            other => caller.error(Kind::MalformedResponse, &other.to_string()),
        },
        GenaiError::WebStream { error, cause, .. } => {
            if let Some(inner) = error.downcast_ref::<GenaiError>() {
                return provider_error(caller, inner);
            }
            if let Some(inner) = error.downcast_ref::<genai_reqwest::Error>() {
                return transport_error(caller, inner);
            }
            caller.error(Kind::Stream, cause)
        }
        GenaiError::ChatResponseGeneration { cause, .. } => {
            let message = format!("the response could not be read: {cause}");
            caller.error(Kind::MalformedResponse, &message)
        }
        GenaiError::NoChatResponse { .. } => {
            caller.error(Kind::MalformedResponse, "the response holds no answer")
        }
        GenaiError::InvalidJsonResponseElement { info } => {
            let message = format!("the response could not be read: {info}");
            caller.error(Kind::MalformedResponse, &message)
        }
        GenaiError::StreamParse { serde_error, .. } => {
            let message = format!("a streamed event could not be read: {serde_error}");
            caller.error(Kind::MalformedResponse, &message)
        }
        GenaiError::JsonValueExt(error) => {
            caller.error(Kind::MalformedResponse, &error.to_string())
        }
        GenaiError::SerdeJson(error) => caller.error(Kind::MalformedResponse, &error.to_string()),
        GenaiError::ChatResponse { body, .. } => caller.payload_error(body, Kind::Stream),
        GenaiError::RequiresApiKey { .. }
        | GenaiError::NoAuthResolver { .. }
        | GenaiError::NoAuthData { .. } => caller.error(
            Kind::Config,
            "no api key: set the provider's key variable (such as GEMINI_API_KEY) or give one",
        ),
        GenaiError::Resolver { resolver_error, .. } => match resolver_error {
            resolver::Error::ApiKeyEnvNotFound { env_name } => {
                let message = format!("no api key: set {env_name}, or give a key to the builder");
                caller.error(Kind::Config, &message)
            }
            other => caller.error(Kind::Config, &format!("{other}")),
        },
        GenaiError::ModelMapperFailed { .. }
        | GenaiError::ClientBuildFail { .. }
        | GenaiError::AdapterKindMismatch { .. } => caller.error(Kind::Config, &error.to_string()),
        GenaiError::ChatReqHasNoMessages { .. }
        | GenaiError::LastChatMessageIsNotUser { .. }
        | GenaiError::MessageRoleNotSupported { .. }
        | GenaiError::MessageContentTypeNotSupported { .. }
        | GenaiError::JsonModeWithoutInstruction
        | GenaiError::AdapterNotSupported { .. }
        | GenaiError::CacheBreakpointNoEligibleContent { .. } => {
            caller.error(Kind::BadRequest, &error.to_string())
        }
        other => caller.error(Kind::Other, &other.to_string()),
    }
}

/// The status, headers and body of a response that failed with an HTTP status, if `error` is
/// one, wherever `genai` put it.
fn failed_status(error: &GenaiError) -> Option<(u16, Option<&HeaderMap>, &str)> {
    let body = match error {
        GenaiError::HttpError { body, .. } => body.as_str(),
        GenaiError::WebModelCall { webc_error, .. }
        | GenaiError::WebAdapterCall { webc_error, .. } => match webc_error {
            webc::Error::ResponseFailedStatus { body, .. } => body.as_str(),
            _ => "",
        },
        _ => return None,
    };
    Some((error.status()?.as_u16(), error.headers(), body))
}

/// The error of a request that got no response, or whose body broke off.
fn transport_error(caller: &Caller, error: &genai_reqwest::Error) -> ProviderError {
    use ProviderErrorKind as Kind;
    let (kind, message) = if error.is_timeout() {
        (Kind::Timeout, "no response in time")
    } else if error.is_connect() {
        (Kind::Connection, "could not connect")
    } else if error.is_builder() {
        (Kind::Config, "could not build the request")
    } else if error.is_decode() {
        (Kind::MalformedResponse, "the response could not be decoded")
    } else if error.is_body() {
        (Kind::Connection, "the response body broke off")
    } else {
        (Kind::Connection, "the request failed")
    };
    caller.error(kind, message)
}
