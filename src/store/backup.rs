//! Online backup of a SQLite database: `VACUUM INTO` reads one consistent snapshot (a read
//! transaction, so writers go on in WAL mode) into a new, compact file. The copy is written
//! beside its destination under a temporary name, synced, and renamed into place, so a file at
//! the destination is always a whole backup.

use super::{Backend, Db};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backups of a PostgreSQL database are taken with pg_dump (see the README's Operations section)")]
    Postgres,
    #[error("{0} already exists; choose a new file")]
    Exists(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database could not be copied: {0}")]
    Database(#[from] sqlx::Error),
}

/// Copies the live database to `to` (which must not exist); returns the copy's size in bytes.
pub async fn to_file(db: &Db, to: &Path) -> Result<u64, BackupError> {
    if db.backend == Backend::Postgres {
        return Err(BackupError::Postgres);
    }
    if to.exists() {
        return Err(BackupError::Exists(to.to_owned()));
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io { path, source }
    };
    let dir = match to.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_owned(),
        None => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    let partial = dir.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_file(&partial);
    // An empty file, readable by its owner only (the copy holds password and key hashes),
    // which `VACUUM INTO` fills.
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)
            .map_err(io(&partial))?;
    }
    let result = sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&db.pool)
        .await;
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(e.into());
    }
    let file = std::fs::File::open(&partial).map_err(io(&partial))?;
    file.sync_all().map_err(io(&partial))?;
    let size = file.metadata().map_err(io(&partial))?.len();
    std::fs::rename(&partial, to).map_err(io(to))?;
    // The rename itself survives a power loss once the folder is synced.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(size)
}
