//! Container events for `cnm system events`, in Docker's words and order:
//! `create`, `start`, `die` (with `exitCode`), `stop`, `destroy`.

use super::{ContainerRecord, Containers};

impl Containers {
    /// Emits `action` for `record`, with its name and rootfs (as Docker's
    /// `image`) and any `extra` attributes.
    pub(super) fn emit(
        &self,
        action: &'static str,
        record: &ContainerRecord,
        extra: &[(&str, &str)],
    ) {
        let image = record.config.rootfs.display().to_string();
        let mut attributes = vec![("image", image.as_str()), ("name", record.name.as_str())];
        attributes.extend_from_slice(extra);
        self.core.emit("container", action, &record.id, &attributes);
    }
}
