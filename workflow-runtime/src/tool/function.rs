//! [`from_fn`]: a typed [`Tool`] made of an async function.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use schemars::{JsonSchema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{Tool, ToolError};
use crate::future::BoxFuture;
use crate::provider;

/// A tool named `name` that calls `function` with its arguments read as an `A`, and answers
/// with what it returns, as JSON.
///
/// The schema the model sees is the JSON schema [`schemars`] derives from `A`, which must be a
/// struct (tools take an object). Arguments that do not deserialize into an `A` are not passed
/// to `function`: the model is told what was wrong, and may call again.
///
/// # Example
///
/// ```
/// use serde::Deserialize;
/// use serde_json::json;
/// use workflow_runtime::schemars::{self, JsonSchema};
/// use workflow_runtime::tool::{self, Tool, ToolError};
///
/// /// The city to look up.
/// #[derive(Deserialize, JsonSchema)]
/// struct City {
///     /// Its name, in English.
///     name: String,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let weather = tool::from_fn("weather", "The weather of a city now.", |city: City| async move {
///     match city.name.as_str() {
///         "Paris" => Ok(json!({"sky": "sunny", "celsius": 21})),
///         other => Err(ToolError::new(format!("no weather station in {other}"))),
///     }
/// });
///
/// let definition = weather.definition();
/// assert_eq!(definition.name, "weather");
/// assert_eq!(definition.parameters["required"], json!(["name"]));
///
/// let sunny = weather.call(json!({"name": "Paris"})).await.unwrap();
/// assert_eq!(sunny["sky"], "sunny");
/// let error = weather.call(json!({"city": "Paris"})).await.unwrap_err();
/// assert!(error.message().starts_with("the arguments do not fit the schema"), "{error}");
/// # }
/// ```
pub fn from_fn<A, R, F, Fut>(
    name: impl Into<String>,
    description: impl Into<String>,
    function: F,
) -> FnTool<A, F>
where
    A: DeserializeOwned + JsonSchema + Send + 'static,
    R: Serialize + 'static,
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
{
    let schema = SchemaGenerator::default().into_root_schema_for::<A>();
    let mut parameters = schema.to_value();
    if let Value::Object(schema) = &mut parameters {
        // Providers want the schema of the arguments, not a document about it.
        schema.remove("$schema");
        schema.remove("title");
    }
    FnTool {
        definition: provider::Tool::new(name, description, parameters),
        function,
        arguments: PhantomData,
    }
}

/// A [`Tool`] made of an async function by [`from_fn`].
pub struct FnTool<A, F> {
    definition: provider::Tool,
    function: F,
    arguments: PhantomData<fn(A)>,
}

impl<A, R, F, Fut> Tool for FnTool<A, F>
where
    A: DeserializeOwned + JsonSchema + Send + 'static,
    R: Serialize + 'static,
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
{
    fn definition(&self) -> provider::Tool {
        self.definition.clone()
    }

    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<Value, ToolError>> {
        let arguments = serde_json::from_value::<A>(arguments).map_err(|error| {
            ToolError::new(format!(
                "the arguments do not fit the schema of `{}`: {error}; call it again with \
                 arguments that do",
                self.definition.name
            ))
        });
        Box::pin(async move {
            let result = (self.function)(arguments?).await?;
            serde_json::to_value(result).map_err(|error| {
                ToolError::new(format!("the tool's result could not be encoded: {error}"))
            })
        })
    }
}

impl<A, F> fmt::Debug for FnTool<A, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnTool")
            .field("name", &self.definition.name)
            .finish_non_exhaustive()
    }
}
