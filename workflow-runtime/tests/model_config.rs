//! `ModelConfig::from_lookup`: the chat model the environment configures, read through a lookup
//! function so that no test touches the process environment.

#![cfg(feature = "http")]

use std::collections::HashMap;
use std::error::Error as _;

use workflow_runtime::provider::{
    Anthropic, ApiKey, ConfigError, ModelConfig, ProviderErrorKind, StructuredOutput,
};
use workflow_runtime::Error;

/// The configuration of the variables in `vars`.
fn config(vars: &[(&str, &str)]) -> Result<ModelConfig, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    ModelConfig::from_lookup(|name| vars.get(name).cloned())
}

/// An OpenAI-compatible configuration's fields.
fn openai(config: &ModelConfig) -> (&str, &str, Option<&ApiKey>, StructuredOutput, bool) {
    match config {
        ModelConfig::OpenAi {
            base_url,
            model,
            api_key,
            structured_output,
            max_completion_tokens,
            ..
        } => (
            base_url,
            model,
            api_key.as_ref(),
            *structured_output,
            *max_completion_tokens,
        ),
        other => panic!("expected an OpenAI-compatible config, got {other:?}"),
    }
}

#[test]
fn nothing_set_says_in_one_line_what_to_set() {
    for vars in [
        &[][..],
        &[("OPENAI_API_KEY", " "), ("ANTHROPIC_API_KEY", "")],
        &[("OPENAI_MODEL", "gpt-4.1"), ("ANTHROPIC_MODEL", "claude")],
    ] {
        let error = config(vars).expect_err("nothing configured");
        assert_eq!(error, ConfigError::NotConfigured, "{vars:?}");
        let message = error.to_string();
        assert!(!message.contains('\n'), "one line: {message}");
        for var in [
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "OPENAI_BASE_URL",
            "OPENAI_MODEL",
        ] {
            assert!(message.contains(var), "names {var}: {message}");
        }
    }
}

#[test]
fn an_openai_key_alone_is_openai_with_max_completion_tokens() {
    let config = config(&[("OPENAI_API_KEY", " sk-canary \n")]).expect("configured");
    let (base_url, model, key, dialect, max_completion_tokens) = openai(&config);
    assert_eq!(base_url, "https://api.openai.com/v1");
    assert_eq!(model, ModelConfig::OPENAI_MODEL);
    assert_eq!(key.map(ApiKey::expose_secret), Some("sk-canary"), "trimmed");
    assert_eq!(dialect, StructuredOutput::JsonSchema);
    assert!(max_completion_tokens, "OpenAI accepts it for every model");
    assert!(!format!("{config:?} {config}").contains("sk-canary"));
    config.build().expect("builds");
}

#[test]
fn a_local_server_needs_no_key_but_a_model() {
    let local = [
        ("OPENAI_BASE_URL", "http://127.0.0.1:8089/v1"),
        ("OPENAI_MODEL", "smollm2-135m-instruct"),
        ("OPENAI_STRUCTURED_OUTPUT", "json_object_schema"),
    ];
    let config = config(&local).expect("configured");
    assert_eq!(
        config,
        ModelConfig::llama_cpp("http://127.0.0.1:8089/v1", "smollm2-135m-instruct")
    );
    let (_, _, key, dialect, max_completion_tokens) = openai(&config);
    assert_eq!(
        (key, dialect, max_completion_tokens),
        (None, StructuredOutput::JsonObjectSchema, false)
    );
    assert_eq!(config.model(), "smollm2-135m-instruct");
    config.build().expect("builds");

    let error = refused(&local[..1]);
    assert_eq!(
        error,
        ConfigError::Missing {
            var: "OPENAI_MODEL",
            help: "set it to a model the server at OPENAI_BASE_URL serves",
        }
    );
    assert_eq!(
        error.to_string(),
        "OPENAI_MODEL is not set; set it to a model the server at OPENAI_BASE_URL serves"
    );
}

/// The error of the variables in `vars`, which must not configure a model.
fn refused(vars: &[(&str, &str)]) -> ConfigError {
    config(vars).expect_err("not configured")
}

#[test]
fn openai_endpoint_without_a_key_and_bad_values_are_refused() {
    let error = refused(&[("OPENAI_BASE_URL", "https://api.openai.com/v1/")]);
    assert!(
        matches!(
            error,
            ConfigError::Missing {
                var: "OPENAI_API_KEY",
                ..
            }
        ),
        "{error:?}"
    );
    let error = refused(&[
        ("OPENAI_API_KEY", "sk-canary"),
        ("OPENAI_STRUCTURED_OUTPUT", "json"),
    ]);
    assert_eq!(
        error.to_string(),
        "OPENAI_STRUCTURED_OUTPUT is `json`; set it to `json_schema` (the default) or \
         `json_object_schema` (llama-cpp-python)"
    );
    assert!(!format!("{error} {error:?}").contains("sk-canary"));
}

#[test]
fn anthropic_when_no_openai_variable_is_set() {
    let config = config(&[("ANTHROPIC_API_KEY", "sk-ant-canary")]).expect("configured");
    let ModelConfig::Anthropic {
        base_url,
        model,
        api_key,
        ..
    } = &config
    else {
        panic!("expected Anthropic, got {config:?}");
    };
    assert_eq!(base_url, Anthropic::DEFAULT_BASE_URL);
    assert_eq!(model, ModelConfig::ANTHROPIC_MODEL);
    assert_eq!(api_key.expose_secret(), "sk-ant-canary");
    assert_eq!(config.to_string(), "claude-haiku-4-5 (anthropic)");
    config.build().expect("builds");

    let proxied = self::config(&[
        ("ANTHROPIC_API_KEY", "sk-ant-canary"),
        ("ANTHROPIC_MODEL", "claude-sonnet-4-5"),
        ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/"),
    ])
    .expect("configured");
    assert_eq!(
        proxied.to_string(),
        "claude-sonnet-4-5 at http://127.0.0.1:9/"
    );

    // An OpenAI variable takes precedence; an empty one counts as unset.
    let both = [("ANTHROPIC_API_KEY", "sk-ant"), ("OPENAI_API_KEY", "sk-oa")];
    assert!(matches!(
        self::config(&both),
        Ok(ModelConfig::OpenAi { .. })
    ));
    let both = [("ANTHROPIC_API_KEY", "sk-ant"), ("OPENAI_API_KEY", "")];
    assert!(matches!(
        self::config(&both),
        Ok(ModelConfig::Anthropic { .. })
    ));
}

#[test]
fn as_an_error_it_is_a_config_provider_error_with_the_same_line() {
    let error: Error = ConfigError::NotConfigured.into();
    let Error::Provider(provider_error) = &error else {
        panic!("expected a provider error, got {error:?}");
    };
    assert_eq!(provider_error.kind(), ProviderErrorKind::Config);
    assert!(!error.is_transient());
    let message = ConfigError::NotConfigured.to_string();
    assert_eq!(error.to_string(), format!("env: misconfigured: {message}"));
    let source = error.source().expect("the config error");
    assert_eq!(
        source.downcast_ref::<ConfigError>(),
        Some(&ConfigError::NotConfigured)
    );
}

#[test]
fn a_bad_base_url_fails_to_build_not_to_read() {
    let config = config(&[("OPENAI_BASE_URL", "not a url"), ("OPENAI_MODEL", "m")]).expect("read");
    let error = config.build().err().expect("not a url");
    assert!(matches!(&error, Error::Provider(e) if e.kind() == ProviderErrorKind::Config));
}

#[cfg(feature = "genai")]
#[test]
fn genai_model_comes_first_and_builds_a_genai_provider() {
    let vars = [
        ("GENAI_MODEL", " groq::llama-3.1-8b-instant "),
        (
            "GENAI_BASE_URL",
            "https://user:hunter22@proxy.example/openai/v1",
        ),
        ("OPENAI_API_KEY", "sk-ignored"),
    ];
    let config = config(&vars).expect("configured");
    let ModelConfig::Genai {
        model, base_url, ..
    } = &config
    else {
        panic!("expected a genai config, got {config:?}");
    };
    assert_eq!(model, "groq::llama-3.1-8b-instant");
    assert!(base_url.is_some());
    assert_eq!(config.model(), "groq::llama-3.1-8b-instant");
    let shown = format!("{config} {config:?}");
    assert!(!shown.contains("hunter22"), "{shown}");
    assert!(
        shown.contains("groq::llama-3.1-8b-instant (genai) at https://"),
        "{shown}"
    );
    config.build().expect("builds");

    let bad = self::config(&[
        ("GENAI_MODEL", "gemini-2.0-flash"),
        ("GENAI_BASE_URL", "nope"),
    ]);
    let error = bad.expect("read").build().err().expect("not a url");
    assert!(matches!(&error, Error::Provider(e) if e.kind() == ProviderErrorKind::Config));
}

#[cfg(not(feature = "genai"))]
#[test]
fn genai_model_without_the_feature_is_refused() {
    let error = refused(&[
        ("GENAI_MODEL", "gemini-2.0-flash"),
        ("OPENAI_API_KEY", "sk-x"),
    ]);
    let expected = ConfigError::FeatureOff {
        var: "GENAI_MODEL",
        feature: "genai",
    };
    assert_eq!(error, expected);
    assert!(
        error
            .to_string()
            .contains("enable the cargo feature `genai`"),
        "{error}"
    );
}
