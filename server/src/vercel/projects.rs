//! Who is installing, and every project they can see (all pages, not just the first).

use serde::Deserialize;

use super::{Installation, VercelError};

#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub framework: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    projects: Vec<Project>,
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct Pagination {
    /// A timestamp today; documented as possibly an opaque string later, so kept as either.
    next: Option<serde_json::Value>,
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

/// More pages than any real account has: a cursor that never ends must not loop forever.
const MAX_PAGES: usize = 200;

impl Installation {
    /// The display name of the installing scope: the team's, or the user's.
    pub async fn scope_name(&self) -> Result<String, VercelError> {
        let named = match &self.team_id {
            Some(team) => self.get::<Named>(&format!("/v2/teams/{team}"), &[]).await?,
            None => self.get::<UserEnvelope>("/v2/user", &[]).await?.user,
        };
        Ok(named.name.or(named.slug).or(named.username).unwrap_or_else(|| "your account".into()))
    }

    pub async fn all_projects(&self) -> Result<Vec<Project>, VercelError> {
        let mut projects = Vec::new();
        let mut until: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("limit", "100".to_string())];
            if let Some(cursor) = &until {
                query.push(("until", cursor.clone()));
            }
            let page: Page = self.get("/v10/projects", &query).await?;
            projects.extend(page.projects);
            until = match page.pagination.and_then(|p| p.next) {
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
                _ => return Ok(projects),
            };
        }
        Err(VercelError::Decode("project pagination did not end".into()))
    }
}

impl Installation {
    /// One project, which also proves this installation may see it.
    pub async fn project(&self, id: &str) -> Result<Project, VercelError> {
        self.get(&format!("/v9/projects/{id}"), &[]).await
    }
}
