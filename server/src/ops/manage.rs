//! Changes to an installation after the popup: disconnecting a project, rotating a resource's
//! credentials, uninstalling.

use app::AppError;

use super::{known_project, provision::inputs_of, Authorized};
use crate::{
    provider::outbox::{self, Outbound},
    store::{
        links::{self, LinkStatus},
        StoreError,
    },
};

impl Authorized<'_> {
    pub async fn unlink(&self, project_id: &str) -> Result<(), AppError> {
        let project_id = known_project(project_id)?;
        let project_id = project_id.as_str();
        let configuration_id = self.id();
        // Exactly Tether's variables: a hand-made one with the same key stays.
        let (ours, _) = self.variables_at_vercel(project_id).await?;
        for env_id in &ours {
            self.vercel.delete_env(project_id, env_id).await?;
            self.app.store.forget_env_var(project_id, env_id).await?;
        }
        let released = self.end_link(project_id).await?;
        tracing::info!(%configuration_id, project_id, removed = ours.len(), released, "project unlinked");
        Ok(())
    }

    /// The link goes with what the vendor must hear of it, in one transaction: whether its
    /// resource is to be released.
    async fn end_link(&self, project_id: &str) -> Result<bool, StoreError> {
        let configuration_id = self.id();
        let mut tx = self.app.store.begin().await?;
        let resource = links::remove_link(&mut tx, configuration_id, project_id).await?;
        let mut released = false;
        if let Some((resource_id, origin)) = &resource {
            let account = self.owner();
            let notice = Outbound {
                cause: &format!("disconnect-{}", crate::store::now_ms()),
                installation_id: configuration_id,
                kind: "project.disconnected",
                project_id: Some(project_id),
                to_account: None,
                resource: Some((resource_id, *origin)),
                member: None,
                team: None,
            };
            notice.write(&mut tx, account).await?;
            let policy = self.app.settings.provider.on_uninstall;
            released = outbox::link_ended(&mut tx, policy, configuration_id, account, resource_id, *origin).await?;
        }
        tx.commit().await?;
        Ok(released)
    }

    /// Two phases, so no project is left with revoked credentials: new credentials are issued
    /// beside the old ones and written to every linked project; only when all have them are the
    /// old ones revoked. A failure leaves both working and the resource marked as rotating;
    /// rotating again resumes with the same new credentials.
    pub async fn rotate(&self, resource_id: &str) -> Result<(), AppError> {
        let configuration_id = self.id();
        let owner = self.owner();
        let values = self.app.provider.begin_rotation(owner, resource_id).await?;
        let vars = inputs_of(&values);
        let projects: Vec<_> = self
            .app
            .store
            .links_of(configuration_id)
            .await?
            .into_iter()
            .filter(|l| l.status == LinkStatus::Linked && l.resource_id.as_deref() == Some(resource_id))
            .collect();
        let mut missed = Vec::new();
        for link in &projects {
            if let Err(error) = self.rewrite_env(&link.project_id, &vars).await {
                tracing::warn!(%configuration_id, resource_id, project_id = %link.project_id, %error, "rotation not written");
                missed.push(link.project_name.clone());
            }
        }
        if !missed.is_empty() {
            return Err(AppError::Vercel(format!(
                "the new credentials reached {} of {} projects (not {}); the old ones still work. Rotate again to finish.",
                projects.len() - missed.len(),
                projects.len(),
                missed.join(", ")
            )));
        }
        self.app.provider.finish_rotation(owner, resource_id).await?;
        tracing::info!(
            %configuration_id,
            resource_id,
            projects = projects.len(),
            "credentials rotated; the old ones revoked"
        );
        Ok(())
    }

    pub async fn uninstall(&self) -> Result<(), AppError> {
        let configuration_id = self.id();
        self.vercel.uninstall(configuration_id).await?;
        self.app.store.mark_uninstalled(configuration_id).await?;
        tracing::info!(%configuration_id, "uninstalled from the Configure page");
        Ok(())
    }
}
