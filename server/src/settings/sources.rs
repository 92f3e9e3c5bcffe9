//! Where a setting's text comes from: a flag or the environment, else the settings file, else
//! the default its declaration gives. Every lookup goes through a declaration in
//! [`super::catalog`], so no name, key or default is written twice.

use std::collections::HashMap;

use serde::Deserialize;

use super::{
    catalog::{About, Fallback, Setting, SETTINGS},
    EnvTemplate,
};

/// Where a setting's value came from, as `server check-config` tells the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A flag or an environment variable (`main` lays the flags over the environment).
    Environment,
    File,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Environment => "flag or environment",
            Origin::File => "settings file",
        }
    }
}

/// A setting someone gave, as check-config may show it: a secret's text is never kept.
#[derive(Debug, Clone)]
pub struct GivenSetting {
    pub env: &'static str,
    /// The value, or "(secret)".
    pub shown: String,
    pub origin: Origin,
}

/// The parts of `[provider]` that are not single settings: what the built-in provider offers.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderFile {
    pub name: String,
    pub region: String,
    /// `{id}` is replaced with the resource id.
    pub resource_url: String,
    pub env: Vec<EnvTemplate>,
}

impl Default for ProviderFile {
    fn default() -> Self {
        let template = |key: &str, value: &str, secret: bool, what: &str| EnvTemplate {
            key: key.into(),
            value: value.into(),
            secret,
            targets: super::all_targets(),
            comment: Some(format!("Acme DB: the {what} of the database connected to this project.")),
        };
        Self {
            name: "Acme DB".into(),
            region: "iad1".into(),
            resource_url: "https://{id}.db.acme.example".into(),
            env: vec![
                template("ACME_URL", "{url}", false, "URL"),
                template("ACME_API_KEY", "{api_key}", true, "API key"),
            ],
        }
    }
}

/// `[native]`: the products a native installation offers (see `products`).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NativeFile {
    pub products: Vec<super::products::Product>,
}

/// What the settings file holds beside the declared settings.
#[derive(Debug, Default)]
pub struct FileParts {
    pub provider: ProviderFile,
    pub native: NativeFile,
}

/// The sections of the settings file whose every key is a declared setting.
const SETTING_SECTIONS: [&str; 3] = ["server", "vercel", "sandbox"];

pub struct Sources<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file: HashMap<(&'static str, &'static str), String>,
}

impl<'a> Sources<'a> {
    /// Reads the settings file: the declared keys become texts like the environment's, the rest
    /// of `[provider]` its templates. An unknown key is an error: a typo must not fall back.
    pub fn read(file: Option<&str>, env: &'a dyn Fn(&str) -> Option<String>) -> Result<(Self, FileParts), Vec<String>> {
        let mut table: toml::Table = match file.map(str::parse).transpose() {
            Ok(table) => table.unwrap_or_default(),
            Err(error) => return Err(vec![format!("Leptos.toml: {error}")]),
        };
        let mut problems = Vec::new();
        let mut values = HashMap::new();
        for (section, key) in SETTINGS.iter().filter_map(|about| about.file) {
            let Some(value) = table.get_mut(section).and_then(toml::Value::as_table_mut).and_then(|t| t.remove(key))
            else {
                continue;
            };
            let text = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(number) => number.to_string(),
                toml::Value::Boolean(yes) => yes.to_string(),
                _ => {
                    problems.push(format!("Leptos.toml: [{section}] {key} must be a string, a number or true/false"));
                    continue;
                }
            };
            if !text.is_empty() {
                values.insert((section, key), text);
            }
        }
        let mut parts = FileParts::default();
        for (section, value) in table {
            match (section.as_str(), value) {
                ("provider", value) => match value.try_into::<ProviderFile>() {
                    Ok(parsed) => parts.provider = parsed,
                    Err(error) => problems.push(format!("Leptos.toml: [provider]: {error}")),
                },
                ("native", value) => match value.try_into::<NativeFile>() {
                    Ok(parsed) => parts.native = parsed,
                    Err(error) => problems.push(format!("Leptos.toml: [native]: {error}")),
                },
                (name, toml::Value::Table(rest)) if SETTING_SECTIONS.contains(&name) => {
                    for key in rest.keys() {
                        problems.push(format!("Leptos.toml: unknown key `{key}` in [{name}]"));
                    }
                }
                (name, _) => problems.push(format!(
                    "Leptos.toml: unknown section [{name}]; the sections are [{}], [provider] and [native]",
                    SETTING_SECTIONS.join("], [")
                )),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok((Self { env, file: values }, parts))
    }

    /// The text someone gave for a setting, if anyone did. An empty variable is unset unless the
    /// declaration says otherwise.
    pub fn given(&self, about: &About) -> Option<(String, Origin)> {
        let from_env = (self.env)(about.env).filter(|text| about.empty_is_given || !text.is_empty());
        if let Some(text) = from_env {
            return Some((text, Origin::Environment));
        }
        let from_file = about.file.and_then(|key| self.file.get(&key));
        from_file.map(|text| (text.clone(), Origin::File))
    }

    /// The setting's value: given, else its default with `fills` put in (`{addr}` and the like);
    /// `None` when it is unset without a default or when its text is refused, which adds a
    /// problem naming the setting (and the text, unless it is a secret).
    pub fn value<T>(&self, setting: &Setting<T>, fills: &[(&str, &str)], problems: &mut Vec<String>) -> Option<T> {
        let text = match (self.given(setting), setting.default) {
            (Some((text, _)), _) => text,
            (None, Fallback::Value(default)) => {
                fills.iter().fold(default.to_owned(), |text, (name, value)| text.replace(name, value))
            }
            (None, Fallback::Unset(_)) => return None,
        };
        match (setting.parse)(&text) {
            Ok(value) => Some(value),
            Err(why) if setting.secret => {
                problems.push(format!("{} {why}", setting.env));
                None
            }
            Err(why) => {
                problems.push(format!("{} {why}, got `{text}`", setting.env));
                None
            }
        }
    }

    /// The text a setting has (given or default), unparsed: for the defaults of others.
    pub fn text(&self, about: &About) -> String {
        match (self.given(about), about.default) {
            (Some((text, _)), _) => text,
            (None, fallback) => fallback.shown(),
        }
    }

    /// Every setting someone gave, in the catalog's order.
    pub fn given_settings(&self) -> Vec<GivenSetting> {
        let given = |about: &&About| {
            let (text, origin) = self.given(about)?;
            let shown = if about.secret { "(secret)".to_owned() } else { text };
            Some(GivenSetting { env: about.env, shown, origin })
        };
        SETTINGS.iter().filter_map(given).collect()
    }
}
