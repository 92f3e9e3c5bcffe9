//! Who is installing, and every project they can see (all pages, not just the first).

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::{scopes::Scope, Installation, VercelError};

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub framework: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    projects: Vec<Project>,
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct Pagination {
    /// A timestamp, or an opaque continuation token: both are documented.
    next: Option<Value>,
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

/// The installing scope as the popup names it.
pub struct ScopeName {
    pub name: String,
    /// Set when Vercel refused to say (the integration lacks the `team` or `user` scope): the
    /// popup still works, and says which scope would show the name.
    pub missing_scope: Option<&'static Scope>,
}

/// How a request asks for the page after `next`. The current reference documents only `from`
/// on `/v10`; older code pages `/v9` with `until`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cursor {
    From,
    Until,
}

impl Cursor {
    fn endpoint(self) -> (&'static [&'static str], &'static str, &'static str) {
        match self {
            Cursor::From => (&["v10", "projects"], "from", "GET /v10/projects"),
            Cursor::Until => (&["v9", "projects"], "until", "GET /v9/projects"),
        }
    }
}

fn cursor_text(next: Option<Value>) -> Option<String> {
    match next? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

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

    /// Every project, following the continuation cursor. A page whose projects were all seen
    /// already means the cursor had no effect: Tether switches to the other documented form
    /// once, and gives up with an error naming the endpoint if that repeats too, so a server
    /// that ignores the cursor costs two wasted requests, not two hundred.
    pub async fn all_projects(&self) -> Result<Vec<Project>, VercelError> {
        let mut projects = Vec::new();
        let mut seen = HashSet::new();
        let mut style = Cursor::From;
        let mut cursor: Option<String> = None;
        let mut wasted = 0;
        for _ in 0..MAX_PAGES {
            let (segments, param, endpoint) = style.endpoint();
            let mut query = vec![("limit", "100".to_string())];
            if let Some(cursor) = &cursor {
                query.push((param, cursor.clone()));
            }
            let page: Page = self.get(segments, &query).await?;
            let size = page.projects.len();
            let before = projects.len();
            projects.extend(page.projects.into_iter().filter(|p| seen.insert(p.id.clone())));
            let next = cursor_text(page.pagination.and_then(|p| p.next));
            if cursor.is_some() && size > 0 && projects.len() == before {
                wasted += 1;
                tracing::warn!(endpoint, wasted, "a project page repeated: the cursor had no effect");
                if wasted >= 2 {
                    return Err(VercelError::Pagination { endpoint });
                }
                style = match style {
                    Cursor::From => Cursor::Until,
                    Cursor::Until => Cursor::From,
                };
                continue;
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(projects),
            }
        }
        Err(VercelError::Pagination { endpoint: style.endpoint().2 })
    }

    /// One project, which also proves this installation may see it.
    pub async fn project(&self, id: &str) -> Result<Project, VercelError> {
        self.get(&["v9", "projects", id], &[]).await
    }
}
