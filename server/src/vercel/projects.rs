//! Who is installing, and every project they can see (all pages, not just the first).

use super::{pages::Paging, scopes::Scope, Installation, VercelError};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub framework: Option<String>,
    /// When the project last changed (ms): the popup chooses the most recent one for the user.
    #[serde(default, rename = "updatedAt", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

#[derive(Deserialize)]
struct UserEnvelope {
    user: Named,
}

#[derive(Deserialize)]
struct Named {
    name: Option<String>,
    username: Option<String>,
    slug: Option<String>,
}

/// The installing scope as the popup names it.
pub struct ScopeName {
    pub name: String,
    /// Set when Vercel refused to say (the integration lacks the `team` or `user` scope): the
    /// popup still works, and says which scope would show the name.
    pub missing_scope: Option<&'static Scope>,
}

/// The current reference documents `from` on `/v10`; older code pages `/v9` with `until`.
const PROJECT_PAGES: [Paging<'static>; 2] = [
    Paging { segments: &["v10", "projects"], cursor: "from", name: "GET /v10/projects" },
    Paging { segments: &["v9", "projects"], cursor: "until", name: "GET /v9/projects" },
];

impl Installation {
    /// The display name of the installing scope: the team's, or the user's. Without the scope
    /// that reads it, the id stands in.
    pub async fn scope_name(&self) -> Result<ScopeName, VercelError> {
        let named = match &self.team_id {
            Some(team) => self.get::<Named>(&["v2", "teams", team], &[]).await,
            None => self.get::<UserEnvelope>(&["v2", "user"], &[]).await.map(|e| e.user),
        };
        match named {
            Ok(named) => Ok(ScopeName {
                name: named.name.or(named.slug).or(named.username).unwrap_or_else(|| "your account".into()),
                missing_scope: None,
            }),
            Err(VercelError::MissingScope(scope)) => Ok(ScopeName {
                name: self.team_id.clone().unwrap_or_else(|| "your personal account".into()),
                missing_scope: Some(scope),
            }),
            Err(error) => Err(error),
        }
    }

    /// Every project, on every page (see [`Installation::all_pages`]).
    pub async fn all_projects(&self) -> Result<Vec<Project>, VercelError> {
        let [first, second] = PROJECT_PAGES;
        let items = self.all_pages(first, second, "projects", &[("limit", "100".to_string())]).await?;
        Ok(items.into_iter().map(serde_json::from_value).collect::<Result<_, _>>()?)
    }

    /// One project, which also proves this installation may see it.
    pub async fn project(&self, id: &str) -> Result<Project, VercelError> {
        self.get(&["v9", "projects", id], &[]).await
    }
}
