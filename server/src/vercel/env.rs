//! Writing a project's env vars: one batched upsert per project. A 2xx can still carry failures
//! per key, so the outcome keeps both halves.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Installation, VercelError};
use crate::config::Target;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EnvVarInput {
    pub key: String,
    pub value: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub target: Vec<&'static str>,
}

impl EnvVarInput {
    /// Vercel's rules: secrets are `sensitive` where they can be (production, preview) and
    /// `encrypted` on development, which `sensitive` cannot target; others are `plain` everywhere.
    pub fn for_value(key: &str, value: &str, secret: bool, targets: &[Target]) -> Vec<Self> {
        let one = |kind, target: Vec<&'static str>| Self { key: key.to_owned(), value: value.to_owned(), kind, target };
        let pick = |wanted: &[Target]| -> Vec<&'static str> {
            [Target::Production, Target::Preview, Target::Development]
                .into_iter()
                .filter(|t| wanted.contains(t) && targets.contains(t))
                .map(Target::as_str)
                .collect()
        };
        let vars = if secret {
            vec![
                one("sensitive", pick(&[Target::Production, Target::Preview])),
                one("encrypted", pick(&[Target::Development])),
            ]
        } else {
            vec![one("plain", pick(&[Target::Production, Target::Preview, Target::Development]))]
        };
        vars.into_iter().filter(|v| !v.target.is_empty()).collect()
    }
}

impl std::fmt::Display for EnvVarInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {})", self.key, self.kind, self.target.join("+"))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CreatedEnv {
    pub id: String,
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub target: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct EnvFailure {
    pub key: Option<String>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct UpsertOutcome {
    pub created: Vec<CreatedEnv>,
    pub failed: Vec<EnvFailure>,
}

impl Installation {
    pub async fn upsert_env(&self, project_id: &str, vars: &[EnvVarInput]) -> Result<UpsertOutcome, VercelError> {
        let body = serde_json::to_value(vars).map_err(|e| VercelError::Decode(e.to_string()))?;
        let raw: Value = self
            .call(Method::POST, &format!("/v10/projects/{project_id}/env"), &[("upsert", "true".into())], Some(&body))
            .await?;
        let created = match &raw["created"] {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            one => vec![one.clone()],
        };
        let created = created
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<Vec<CreatedEnv>, _>>()
            .map_err(|e| VercelError::Decode(e.to_string()))?;
        let failed = raw["failed"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|f| EnvFailure {
                        key: f["error"]["key"].as_str().map(str::to_owned),
                        code: f["error"]["code"].as_str().unwrap_or("unknown").to_owned(),
                        message: f["error"]["message"].as_str().unwrap_or("rejected").to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(UpsertOutcome { created, failed })
    }
}

impl Installation {
    /// Removes one env var Tether created. One already gone counts as removed.
    pub async fn delete_env(&self, project_id: &str, env_id: &str) -> Result<(), VercelError> {
        let path = format!("/v9/projects/{project_id}/env/{env_id}");
        match self.call::<serde::de::IgnoredAny>(Method::DELETE, &path, &[], None).await {
            Ok(_) | Err(VercelError::Api { status: 404, .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Uninstalls the integration from the vendor's side; Vercel removes the env vars it created.
    pub async fn uninstall(&self, configuration_id: &str) -> Result<(), VercelError> {
        let path = format!("/v1/integrations/configuration/{configuration_id}");
        match self.call::<serde::de::IgnoredAny>(Method::DELETE, &path, &[], None).await {
            Ok(_) | Err(VercelError::Api { status: 404, .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::all_targets;

    #[test]
    fn secrets_are_sensitive_except_on_development() {
        let vars = EnvVarInput::for_value("API_KEY", "k", true, &all_targets());
        assert_eq!(vars.len(), 2);
        assert_eq!((vars[0].kind, vars[0].target.as_slice()), ("sensitive", &["production", "preview"][..]));
        assert_eq!((vars[1].kind, vars[1].target.as_slice()), ("encrypted", &["development"][..]));
        assert!(vars.iter().all(|v| !(v.kind == "sensitive" && v.target.contains(&"development"))));
    }

    #[test]
    fn plain_values_cover_every_target() {
        let vars = EnvVarInput::for_value("URL", "https://x", false, &all_targets());
        assert_eq!(vars.len(), 1);
        assert_eq!(vars[0].kind, "plain");
        assert_eq!(vars[0].target, ["production", "preview", "development"]);
    }

    #[test]
    fn narrowed_targets_are_respected() {
        let vars = EnvVarInput::for_value("K", "v", true, &[Target::Production]);
        assert_eq!(vars.len(), 1);
        assert_eq!((vars[0].kind, vars[0].target.as_slice()), ("sensitive", &["production"][..]));
        let vars = EnvVarInput::for_value("K", "v", false, &[Target::Development, Target::Preview]);
        assert_eq!(vars[0].target, ["preview", "development"]);
    }

    #[test]
    fn serialises_as_vercel_expects() {
        let json = serde_json::to_value(EnvVarInput::for_value("K", "v", false, &all_targets())).unwrap();
        assert_eq!(json[0]["type"], "plain");
        assert_eq!(json[0]["key"], "K");
    }
}
