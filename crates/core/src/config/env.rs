//! dbt's `env_var()` in `pitwall.toml` values, rendered by minijinja (the Jinja engine the
//! project's models use too), with nothing else defined: a project file reads the
//! environment, never the project.

use std::sync::OnceLock;

use minijinja::value::Value;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};

/// dbt's `env_var('NAME')` / `env_var('NAME', 'default')`: the variable's value, else the
/// default; unset without a default is an error naming it. Models use the same function.
pub fn env_var(name: &str, default: Option<Value>) -> Result<Value, minijinja::Error> {
    match std::env::var(name) {
        Ok(value) => Ok(Value::from(value)),
        Err(_) => default.ok_or_else(|| {
            minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("env_var('{name}'): the variable is not set and has no default"),
            )
        }),
    }
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_function("env_var", env_var);
        env
    })
}

/// Why a project-file value does not render; the caller names the file and key.
#[derive(Debug, thiserror::Error)]
pub enum EnvVarError {
    /// The value calls something other than `env_var()`: the project file is wrong.
    #[error("`{text}`: only env_var('NAME') or env_var('NAME', 'default') can be used in pitwall.toml ({detail})")]
    NotEnvVar { text: String, detail: String },
    /// minijinja refused the value: an unset variable without a default (the environment
    /// is wrong), or braces that do not parse (the project file is). Its detail only: the
    /// caller already names the file and key, better than minijinja's own location does.
    #[error("{0}")]
    Render(String),
}

/// Renders `{{ env_var(...) }}` in a project-file value, so secrets and per-machine
/// settings stay out of the file. Anything else in braces is an error saying so.
pub fn render_env_vars(text: &str) -> std::result::Result<String, EnvVarError> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_owned());
    }
    environment().render_str(text, ()).map_err(|e| match e.kind() {
        ErrorKind::UnknownFunction | ErrorKind::UndefinedError => {
            EnvVarError::NotEnvVar { text: text.to_owned(), detail: e.detail().unwrap_or("unknown name").to_owned() }
        }
        _ => EnvVarError::Render(e.detail().map(str::to_owned).unwrap_or_else(|| e.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_renders_dbts_forms_and_nothing_else() {
        assert_eq!(render_env_vars("plain").unwrap(), "plain");
        assert_eq!(render_env_vars("a{{ env_var('PITWALL_CONFIG_TEST_NONE', \"d\") }}b").unwrap(), "adb");
        let path = std::env::var("PATH").unwrap();
        assert_eq!(render_env_vars("{{env_var('PATH')}}").unwrap(), path);
        assert!(render_env_vars("{{ var('x') }}").unwrap_err().to_string().contains("only env_var"));
        let unset = render_env_vars("{{ env_var('PITWALL_CONFIG_TEST_UNSET') }}").unwrap_err().to_string();
        assert!(unset.contains("env_var('PITWALL_CONFIG_TEST_UNSET'): the variable is not set"), "{unset}");
        assert!(render_env_vars("{{ env_var('PATH')").is_err());
    }
}
