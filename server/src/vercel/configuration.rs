//! The installation itself, as Vercel holds it: reading it proves which installation a token
//! belongs to, and deleting it is the vendor-side uninstall.

use reqwest::Method;
use serde::Deserialize;

use super::{Installation, VercelError};
use crate::params::ConfigurationId;

/// What Tether reads of `GET /v1/integrations/configuration/{id}`; Vercel sends much more.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    pub id: String,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// `all`, or `selected`: the user gave the installation only `projects`.
    #[serde(default)]
    pub project_selection: Option<String>,
    /// Project ids, as strings or as objects with an `id`.
    #[serde(default)]
    pub projects: serde_json::Value,
}

/// Project ids from a list Vercel sends as strings or as objects with an `id` (the
/// installation's `projects`, and a `permission-upgraded` event's added and removed).
pub fn project_ids(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items.iter().filter_map(|item| item.as_str().or_else(|| item["id"].as_str())).map(str::to_owned).collect()
        })
        .unwrap_or_default()
}

/// Which projects the user gave the installation when they installed it at Vercel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectAccess {
    All,
    Only(Vec<String>),
}

impl ProjectAccess {
    pub fn allows(&self, project_id: &str) -> bool {
        match self {
            ProjectAccess::All => true,
            ProjectAccess::Only(ids) => ids.iter().any(|id| id == project_id),
        }
    }
}

impl Configuration {
    pub fn access(&self) -> ProjectAccess {
        match self.project_selection.as_deref() {
            Some("selected") => ProjectAccess::Only(project_ids(&self.projects)),
            _ => ProjectAccess::All,
        }
    }
}

impl Installation {
    /// The installation this token may read under this id. Vercel answers 404 (or 403) for an id
    /// that is not the token's own, so an answer naming `configuration_id` proves the token is
    /// that installation's.
    pub async fn configuration(&self, configuration_id: &ConfigurationId) -> Result<Configuration, VercelError> {
        self.get(&["v1", "integrations", "configuration", configuration_id.as_str()], &[]).await
    }

    /// Which projects the installation may use. Without the scope that reads it, Vercel's own
    /// refusals are all there is to go by: every listed project counts.
    pub async fn project_access(&self, configuration_id: &ConfigurationId) -> Result<ProjectAccess, VercelError> {
        match self.configuration(configuration_id).await {
            Ok(configuration) => Ok(configuration.access()),
            Err(VercelError::MissingScope(_)) => Ok(ProjectAccess::All),
            Err(error) => Err(error),
        }
    }

    /// Uninstalls the integration from the vendor's side; Vercel removes the env vars it created.
    pub async fn uninstall(&self, configuration_id: &ConfigurationId) -> Result<(), VercelError> {
        let segments = ["v1", "integrations", "configuration", configuration_id.as_str()];
        match self.call::<serde::de::IgnoredAny>(Method::DELETE, &segments, &[], None).await {
            Ok(_) | Err(VercelError::Api { status: 404, .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_access_reads_ids_as_strings_or_objects() {
        let parse = |json: serde_json::Value| serde_json::from_value::<Configuration>(json).unwrap().access();
        assert_eq!(
            parse(serde_json::json!({"id": "icfg_1", "projectSelection": "all", "projects": []})),
            ProjectAccess::All
        );
        assert_eq!(parse(serde_json::json!({"id": "icfg_1"})), ProjectAccess::All);
        let only = parse(
            serde_json::json!({"id": "icfg_1", "projectSelection": "selected", "projects": ["prj_a", {"id": "prj_b"}]}),
        );
        assert_eq!(only, ProjectAccess::Only(vec!["prj_a".into(), "prj_b".into()]));
        assert!(only.allows("prj_b") && !only.allows("prj_c"));
    }
}
