//! Writing a project's env vars: one batched upsert per project. A 2xx can still carry failures
//! per key, so the outcome keeps both halves.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{pages::Paging, Installation, VercelError};
use crate::{params::ConfigurationId, settings::Target};

/// Vercel's types of env var. Tether writes `plain`, `encrypted` and `sensitive`; `secret` and
/// `system` are Vercel's own, and may be listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvKind {
    Plain,
    Encrypted,
    Sensitive,
    Secret,
    System,
}

impl EnvKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvKind::Plain => "plain",
            EnvKind::Encrypted => "encrypted",
            EnvKind::Sensitive => "sensitive",
            EnvKind::Secret => "secret",
            EnvKind::System => "system",
        }
    }

    /// Vercel's word for a type; `None` for one this version does not know.
    pub fn parse(word: &str) -> Option<Self> {
        [Self::Plain, Self::Encrypted, Self::Sensitive, Self::Secret, Self::System]
            .into_iter()
            .find(|k| k.as_str() == word)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EnvVarInput {
    pub key: String,
    pub value: String,
    #[serde(rename = "type")]
    pub kind: EnvKind,
    pub target: Vec<Target>,
    /// Shown beside the key in the project's settings at Vercel: what the variable is for.
    pub comment: String,
}

impl EnvVarInput {
    /// Vercel's rules: secrets are `sensitive` where they can be (production, preview) and
    /// `encrypted` on development, which `sensitive` cannot target; others are `plain` everywhere.
    pub fn for_value(key: &str, value: &str, secret: bool, targets: &[Target], comment: &str) -> Vec<Self> {
        let one = |kind, target: Vec<Target>| Self {
            key: key.to_owned(),
            value: value.to_owned(),
            kind,
            target,
            comment: comment.to_owned(),
        };
        let pick = |wanted: &[Target]| -> Vec<Target> {
            [Target::Production, Target::Preview, Target::Development]
                .into_iter()
                .filter(|t| wanted.contains(t) && targets.contains(t))
                .collect()
        };
        let vars = if secret {
            vec![
                one(EnvKind::Sensitive, pick(&[Target::Production, Target::Preview])),
                one(EnvKind::Encrypted, pick(&[Target::Development])),
            ]
        } else {
            vec![one(EnvKind::Plain, pick(&[Target::Production, Target::Preview, Target::Development]))]
        };
        vars.into_iter().filter(|v| !v.target.is_empty()).collect()
    }
}

impl std::fmt::Display for EnvVarInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let targets: Vec<_> = self.target.iter().map(|t| t.as_str()).collect();
        write!(f, "{} ({}, {})", self.key, self.kind.as_str(), targets.join("+"))
    }
}

/// One variable as Vercel describes it, in a list or in a create answer. Every field but `key`
/// is optional in Vercel's schema, and `target` is an array or a single string; one Tether wrote
/// and knows the id of is a [`WrittenEnv`].
#[derive(Debug, Clone, Deserialize)]
pub struct VercelEnv {
    #[serde(default)]
    pub id: Option<String>,
    pub key: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub target: Vec<String>,
    /// Set on variables an integration created; absent or null on hand-made ones.
    #[serde(default, rename = "configurationId")]
    pub configuration_id: Option<String>,
}

/// A variable Tether wrote, with the id Vercel gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenEnv {
    pub id: String,
    pub key: String,
    pub kind: EnvKind,
    pub target: Vec<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
        Nothing(()),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
        OneOrMany::Nothing(()) => Vec::new(),
    })
}

/// Vercel's list of targets and the ones Tether sent are the same set.
fn same_targets(listed: &[String], sent: &[Target]) -> bool {
    listed.len() == sent.len() && sent.iter().all(|t| listed.iter().any(|x| x == t.as_str()))
}

#[derive(Debug, Clone)]
pub struct EnvFailure {
    pub key: Option<String>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct UpsertOutcome {
    pub created: Vec<WrittenEnv>,
    pub failed: Vec<EnvFailure>,
}

/// `created` is one object or an array; `failed` may be absent.
fn created_items(raw: &Value) -> Result<Vec<VercelEnv>, VercelError> {
    let items = match &raw["created"] {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    };
    Ok(items.into_iter().map(serde_json::from_value).collect::<Result<_, _>>()?)
}

fn failed_items(raw: &Value) -> Vec<EnvFailure> {
    raw["failed"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|f| EnvFailure {
                    // Vercel names the key `key` or, in newer answers, `envVarKey`.
                    key: f["error"]["key"].as_str().or_else(|| f["error"]["envVarKey"].as_str()).map(str::to_owned),
                    code: f["error"]["code"].as_str().unwrap_or("unknown").to_owned(),
                    message: f["error"]["message"].as_str().unwrap_or("rejected").to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Installation {
    /// One batched upsert. When Vercel's answer leaves out ids, they are found by listing the
    /// project's variables (key and targets as sent), so Disconnect can still remove exactly
    /// what Tether wrote.
    pub async fn upsert_env(
        &self,
        configuration_id: &ConfigurationId,
        project_id: &str,
        vars: &[EnvVarInput],
    ) -> Result<UpsertOutcome, VercelError> {
        let body = serde_json::to_value(vars)?;
        let raw: Value = self
            .call(Method::POST, &["v10", "projects", project_id, "env"], &[("upsert", "true".into())], Some(&body))
            .await?;
        let created = created_items(&raw)?;
        let failed = failed_items(&raw);
        let refused = |key: &str| failed.iter().any(|f| f.key.as_deref() == Some(key));
        let accepted: Vec<&EnvVarInput> = vars.iter().filter(|v| !refused(&v.key)).collect();
        let complete = created.iter().all(|c| c.id.is_some()) && created.len() >= accepted.len();
        let created = if complete {
            created
                .into_iter()
                .filter_map(|c| {
                    // Vercel's word for what it made, else what Tether sent under that key.
                    let sent = accepted.iter().find(|v| v.key == c.key && same_targets(&c.target, &v.target));
                    let sent = sent.or_else(|| accepted.iter().find(|v| v.key == c.key)).map(|v| v.kind);
                    let kind = c.kind.as_deref().and_then(EnvKind::parse).or(sent).unwrap_or(EnvKind::Plain);
                    Some(WrittenEnv { id: c.id?, key: c.key, kind, target: c.target })
                })
                .collect()
        } else {
            tracing::info!(project_id, "Vercel's answer left out env ids: looking them up");
            let listed = self.list_env(project_id).await?;
            let mut written = Vec::new();
            for var in accepted {
                let found = listed.iter().find(|l| {
                    l.key == var.key
                        && same_targets(&l.target, &var.target)
                        && l.configuration_id.as_deref().is_none_or(|c| c == configuration_id.as_str())
                });
                match found.and_then(|l| l.id.clone()) {
                    Some(id) => written.push(WrittenEnv {
                        id,
                        key: var.key.clone(),
                        kind: var.kind,
                        target: var.target.iter().map(|t| t.as_str().to_owned()).collect(),
                    }),
                    // A failure that named no key may be this one: it is reported with the rest.
                    None if !failed.is_empty() => {}
                    None => {
                        return Err(VercelError::Decode(format!(
                            "{} was written but Vercel lists no id for it",
                            var.key
                        )))
                    }
                }
            }
            written
        };
        Ok(UpsertOutcome { created, failed })
    }

    /// Every variable of a project (`GET /v10/projects/{id}/env`), on every page: the clash
    /// check and the id lookup must not miss one. The answer is `{envs, pagination}` or `{}`
    /// when there are none; the reference names no cursor parameter, so `next` goes back as
    /// `until` (as Vercel's other timestamp-paged lists take it) or else as `from`.
    pub async fn list_env(&self, project_id: &str) -> Result<Vec<VercelEnv>, VercelError> {
        let segments = ["v10", "projects", project_id, "env"];
        let name = "GET /v10/projects/{id}/env";
        let until = Paging { segments: &segments, cursor: "until", name };
        let from = Paging { cursor: "from", ..until };
        let items = self.all_pages(until, from, "envs", &[]).await?;
        Ok(items.into_iter().filter_map(|item| serde_json::from_value(item).ok()).collect())
    }
}

impl Installation {
    /// Removes one env var Tether created. One already gone counts as removed.
    pub async fn delete_env(&self, project_id: &str, env_id: &str) -> Result<(), VercelError> {
        let segments = ["v9", "projects", project_id, "env", env_id];
        match self.call::<serde::de::IgnoredAny>(Method::DELETE, &segments, &[], None).await {
            Ok(_) | Err(VercelError::Api { status: 404, .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::all_targets;

    #[test]
    fn secrets_are_sensitive_except_on_development() {
        let vars = EnvVarInput::for_value("API_KEY", "k", true, &all_targets(), "c");
        assert_eq!(vars.len(), 2);
        let (production, preview, development) = (Target::Production, Target::Preview, Target::Development);
        assert_eq!((vars[0].kind, vars[0].target.as_slice()), (EnvKind::Sensitive, &[production, preview][..]));
        assert_eq!((vars[1].kind, vars[1].target.as_slice()), (EnvKind::Encrypted, &[development][..]));
        assert!(vars.iter().all(|v| !(v.kind == EnvKind::Sensitive && v.target.contains(&development))));
    }

    #[test]
    fn plain_values_cover_every_target() {
        let vars = EnvVarInput::for_value("URL", "https://x", false, &all_targets(), "c");
        assert_eq!(vars.len(), 1);
        assert_eq!(vars[0].kind, EnvKind::Plain);
        assert_eq!(vars[0].target, [Target::Production, Target::Preview, Target::Development]);
    }

    #[test]
    fn narrowed_targets_are_respected() {
        let vars = EnvVarInput::for_value("K", "v", true, &[Target::Production], "c");
        assert_eq!(vars.len(), 1);
        assert_eq!((vars[0].kind, vars[0].target.as_slice()), (EnvKind::Sensitive, &[Target::Production][..]));
        let vars = EnvVarInput::for_value("K", "v", false, &[Target::Development, Target::Preview], "c");
        assert_eq!(vars[0].target, [Target::Preview, Target::Development]);
    }

    #[test]
    fn created_answers_in_every_documented_shape() {
        let one = serde_json::json!({"created": {"id": "env_1", "key": "K", "type": "plain", "target": "production"}});
        let items = created_items(&one).unwrap();
        assert_eq!(
            (items[0].id.as_deref(), items[0].target.as_slice()),
            (Some("env_1"), &["production".to_string()][..])
        );
        let many = serde_json::json!({"created": [{"key": "K", "target": ["preview", "production"]}, {"key": "L"}]});
        let items = created_items(&many).unwrap();
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|i| i.id.is_none()));
        assert!(same_targets(&items[0].target, &[Target::Production, Target::Preview]));
        assert!(items[1].target.is_empty());
        assert!(created_items(&serde_json::json!({"failed": []})).unwrap().is_empty());
    }

    #[test]
    fn serialises_as_vercel_expects() {
        let json =
            serde_json::to_value(EnvVarInput::for_value("K", "v", false, &all_targets(), "What K is for.")).unwrap();
        assert_eq!(json[0]["type"], "plain");
        assert_eq!(json[0]["comment"], "What K is for.");
        assert_eq!(json[0]["key"], "K");
    }
}
