//! The API scopes Tether asks for in the Integration Console, and which call needs which: a 403
//! from Vercel does not name the missing scope, so Tether names it from the endpoint.

use reqwest::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    ReadWrite,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Scope {
    /// The scope's id in the Integration Console and in an installation's `scopes`.
    pub id: &'static str,
    pub access: Access,
    /// Why Tether needs it, for the README and `server check-config`.
    pub why: &'static str,
}

impl Scope {
    /// The id with its access, as an installation lists it: `read:project`.
    pub fn token(&self) -> String {
        let access = match self.access {
            Access::Read => "read",
            Access::ReadWrite => "read-write",
        };
        format!("{access}:{}", self.id)
    }

    /// The console setting, as a user can act on it.
    pub fn console_setting(&self) -> String {
        let level = match self.access {
            Access::Read => "Read",
            Access::ReadWrite => "Read/Write",
        };
        format!("`{}` set to {level}", self.id)
    }

    /// What to tell a user whose call this scope's absence refused.
    pub fn fix(&self) -> String {
        format!(
            "The integration lacks the `{}` scope. Its owner must set {} under API Scopes in Vercel's \
             Integration Console; the installation then asks to confirm the new scope.",
            self.token(),
            self.console_setting()
        )
    }
}

pub const PROJECT: Scope =
    Scope { id: "project", access: Access::Read, why: "list the projects the user can connect, and check each one" };
pub const PROJECT_ENV_VARS: Scope = Scope {
    id: "project-env-vars",
    access: Access::ReadWrite,
    why: "write the resource's variables into each connected project, and remove exactly them on disconnect",
};
pub const TEAM: Scope = Scope { id: "team", access: Access::Read, why: "show the team's name in the popup" };
pub const USER: Scope = Scope { id: "user", access: Access::Read, why: "show the user's name for a personal account" };
pub const INTEGRATION_CONFIGURATION: Scope = Scope {
    id: "integration-configuration",
    access: Access::ReadWrite,
    why: "read which projects the user gave the installation, and uninstall from the Configure page (Vercel then \
          removes the variables the installation created)",
};

/// Every scope Tether asks for, in the console's order of importance.
pub const REQUIRED: [&Scope; 5] = [&PROJECT, &PROJECT_ENV_VARS, &TEAM, &USER, &INTEGRATION_CONFIGURATION];

/// The scope a call needs, from its path (`/v10/projects/prj_1/env` needs project-env-vars).
pub fn for_call(_method: &Method, path: &str) -> Option<&'static Scope> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [_, "user"] => Some(&USER),
        [_, "teams", ..] => Some(&TEAM),
        [_, "projects", _, "env", ..] => Some(&PROJECT_ENV_VARS),
        [_, "projects", ..] => Some(&PROJECT),
        [_, "integrations", "configuration", ..] => Some(&INTEGRATION_CONFIGURATION),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_endpoint_names_its_scope() {
        let cases = [
            ("/v2/user", "read:user"),
            ("/v2/teams/team_1", "read:team"),
            ("/v10/projects", "read:project"),
            ("/v9/projects/QmXGTs7mvAMMC7WW5ebrM33qKG32QK3h4vmQ", "read:project"),
            ("/v10/projects/prj_1/env", "read-write:project-env-vars"),
            ("/v9/projects/prj_1/env/env_1", "read-write:project-env-vars"),
            ("/v1/integrations/configuration/icfg_1", "read-write:integration-configuration"),
        ];
        for (path, scope) in cases {
            assert_eq!(for_call(&Method::GET, path).map(Scope::token).as_deref(), Some(scope), "{path}");
        }
        assert_eq!(for_call(&Method::POST, "/v2/oauth/access_token"), None);
    }
}
