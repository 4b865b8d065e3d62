//! `formwork serve` and `formwork migrate`.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use server::app::{AppState, app};
use server::config::{Config, Database};

pub async fn serve(config: Config) -> Result<(), String> {
    init_tracing();
    let db = server::db::open(&config.database).await.map_err(|e| format!("database: {e}"))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let where_data = match &config.database {
        Database::Sqlite { path } => format!("SQLite at {}", path.display()),
        Database::Postgres { .. } => "PostgreSQL".to_owned(),
    };
    let first_admin = server::identity::bootstrap::ensure_admin(&db, config.admin_password.as_deref()).await?;
    println!("Formwork is listening on http://{address} ({where_data})");
    if let Some(admin) = first_admin {
        match admin.generated_password {
            Some(password) => {
                println!(
                    "First start: log in as `{}` with password `{password}` (shown only this once)",
                    admin.username
                )
            }
            None => println!("First start: log in as `{}` with the password you gave", admin.username),
        }
    }
    let demo = config.demo;
    let state = AppState::new(db, config);
    if demo {
        let admin = server::db::entities::user::Entity::find()
            .filter(server::db::entities::user::Column::IsAdmin.eq(true))
            .order_by_asc(server::db::entities::user::Column::CreatedAt)
            .one(&state.db)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no administrator to own the demo workspace")?;
        match server::demo::ensure(&state, &admin.id).await.map_err(|e| format!("demo: {}", e.message))? {
            Some(demo) => println!(
                "Demo workspace `{}` created with {} sample records; demo users {} log in with password `{}`",
                server::demo::SLUG,
                demo.records,
                server::demo::usernames().join(", "),
                demo.password
            ),
            None => println!("Demo workspace `{}` exists; left as it is", server::demo::SLUG),
        }
    }
    // Timers and the outbox run beside the API; several processes may share one PostgreSQL.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = format!("{}-{}", std::process::id(), &server::identity::new_id()[24..]);
    state.start_workers(&worker, stopped);
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown_signal()).await.map_err(|e| e.to_string())?;
    let _ = stop.send(true);
    println!("Formwork stopped");
    Ok(())
}

pub async fn migrate(config: Config) -> Result<(), String> {
    init_tracing();
    server::db::open(&config.database).await.map_err(|e| format!("database: {e}"))?;
    println!("migrations applied");
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests then finish before the server exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
