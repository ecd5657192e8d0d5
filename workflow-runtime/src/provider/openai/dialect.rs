//! [`StructuredOutput`]: how an OpenAI-compatible server wants a response schema.

/// How an OpenAI-compatible server wants the JSON schema of a structured answer (a request's
/// [`response_schema`](crate::provider::ChatRequest::response_schema)) in `response_format`.
///
/// Set it with [`OpenAiBuilder::structured_output`](super::OpenAiBuilder::structured_output).
///
/// | dialect | `response_format` | servers |
/// |---|---|---|
/// | [`JsonSchema`](Self::JsonSchema) (default) | `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}` | OpenAI, Ollama, vLLM, llama.cpp's `llama-server`, OpenRouter, Groq |
/// | [`JsonObjectSchema`](Self::JsonObjectSchema) | `{"type": "json_object", "schema": …}` | the server of `llama-cpp-python` |
///
/// ```
/// use workflow_runtime::provider::{OpenAi, StructuredOutput};
///
/// // The server started by `python -m llama_cpp.server`.
/// let model = OpenAi::builder("http://127.0.0.1:8089/v1", "smollm2-135m-instruct")
///     .structured_output(StructuredOutput::JsonObjectSchema)
///     .build()?;
/// # Ok::<(), workflow_runtime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StructuredOutput {
    /// OpenAI's structured outputs: `{"type": "json_schema", "json_schema": {"name": …,
    /// "schema": …, "strict": …}}`.
    #[default]
    JsonSchema,
    /// JSON mode with a schema: `{"type": "json_object", "schema": …}`, what the server of
    /// `llama-cpp-python` wants (it turns the schema into a grammar, and answers a
    /// `json_schema` request with HTTP 500). The schema's name and `strict` are not sent.
    JsonObjectSchema,
}

impl StructuredOutput {
    /// The dialect named `name`, as in `OPENAI_STRUCTURED_OUTPUT`: `json_schema` or
    /// `json_object_schema`.
    ///
    /// ```
    /// use workflow_runtime::provider::StructuredOutput;
    ///
    /// let dialect = StructuredOutput::from_name("json_object_schema");
    /// assert_eq!(dialect, Some(StructuredOutput::JsonObjectSchema));
    /// assert_eq!(StructuredOutput::JsonObjectSchema.name(), "json_object_schema");
    /// assert_eq!(StructuredOutput::from_name("yaml"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "json_schema" => Some(Self::JsonSchema),
            "json_object_schema" => Some(Self::JsonObjectSchema),
            _ => None,
        }
    }

    /// The name [`from_name`](Self::from_name) reads.
    pub fn name(self) -> &'static str {
        match self {
            Self::JsonSchema => "json_schema",
            Self::JsonObjectSchema => "json_object_schema",
        }
    }
}
