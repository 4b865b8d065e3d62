//! Login, sessions, CSRF, rate limiting, the first administrator.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::json;

use crate::on_both;
use crate::support::{TestApp, json_request};

const PASSWORD: &str = "correct horse battery";

on_both!(login_sets_an_http_only_session_and_me_answers, |app: TestApp| async move {
    app.create_user("zhang.wei", PASSWORD, false).await;
    let response = app
        .raw(json_request("POST", "/api/v1/auth/login", &json!({"username": "zhang.wei", "password": PASSWORD})))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("formwork_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    let session = app.login("zhang.wei", PASSWORD).await;
    let (status, me) = app.send(session.request("GET", "/api/v1/me", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["username"], json!("zhang.wei"));
    assert_eq!(me["user"]["is_admin"], json!(false));
    assert_eq!(me["workspaces"], json!([]));
    // The stored session id is a hash, not the cookie value.
    let secret = session.cookie.split_once('=').unwrap().1.to_owned();
    let stored = server::db::entities::session::Entity::find_by_id(secret.clone()).one(&app.db).await.unwrap();
    assert!(stored.is_none());
});

on_both!(wrong_and_unknown_logins_look_the_same, |app: TestApp| async move {
    app.create_user("li.na", PASSWORD, false).await;
    let wrong = app
        .send(json_request("POST", "/api/v1/auth/login", &json!({"username": "li.na", "password": "nope nope nope"})))
        .await;
    let unknown = app
        .send(json_request("POST", "/api/v1/auth/login", &json!({"username": "ghost", "password": "nope nope nope"})))
        .await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.1, json!({"code": "unauthorized", "message": "wrong username or password"}));
});

on_both!(repeated_failures_lock_the_username, |app: TestApp| async move {
    app.create_user("wang.fang", PASSWORD, false).await;
    for _ in 0..server::auth::MAX_FAILURES {
        let (status, _) = app
            .send(json_request(
                "POST",
                "/api/v1/auth/login",
                &json!({"username": "wang.fang", "password": "guess guess guess"}),
            ))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now, with the time to wait.
    let (status, body) = app
        .send(json_request("POST", "/api/v1/auth/login", &json!({"username": "Wang.Fang", "password": PASSWORD})))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["code"], json!("rate_limited"));
    assert!(body["details"]["retry_after_seconds"].as_u64().unwrap() > 0);
});

on_both!(writes_with_a_cookie_need_the_csrf_token, |app: TestApp| async move {
    app.create_user("zhao.lei", PASSWORD, false).await;
    let session = app.login("zhao.lei", PASSWORD).await;
    let forged = Request::post("/api/v1/auth/logout").header("cookie", &session.cookie).body(Body::empty()).unwrap();
    let (status, body) = app.send(forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], json!("csrf_failed"));
    let mut wrong = session.clone();
    wrong.csrf = "0".repeat(64);
    assert_eq!(app.send(wrong.request("POST", "/api/v1/auth/logout", None)).await.0, StatusCode::FORBIDDEN);
    // The session survived the forged attempts; a real logout ends it.
    assert_eq!(app.send(session.request("GET", "/api/v1/me", None)).await.0, StatusCode::OK);
    assert_eq!(app.send(session.request("POST", "/api/v1/auth/logout", None)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.send(session.request("GET", "/api/v1/me", None)).await.0, StatusCode::UNAUTHORIZED);
});

on_both!(missing_forged_and_expired_sessions_are_refused, |app: TestApp| async move {
    app.create_user("chen.jie", PASSWORD, false).await;
    let (status, body) = app.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], json!("unauthorized"));
    let forged =
        Request::get("/api/v1/me").header("cookie", "formwork_session=abc; other=1").body(Body::empty()).unwrap();
    assert_eq!(app.send(forged).await.0, StatusCode::UNAUTHORIZED);
    let session = app.login("chen.jie", PASSWORD).await;
    let secret = session.cookie.split_once('=').unwrap().1;
    let stored = server::db::entities::session::Entity::find_by_id(server::identity::secret_hash(secret))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut expired = stored.into_active_model();
    expired.expires_at = Set(server::identity::now_ms() - 1);
    expired.update(&app.db).await.unwrap();
    assert_eq!(app.send(session.request("GET", "/api/v1/me", None)).await.0, StatusCode::UNAUTHORIZED);
});

on_both!(login_bodies_are_checked, |app: TestApp| async move {
    let post = |body: &'static str, content_type: &'static str| {
        Request::post("/api/v1/auth/login").header("content-type", content_type).body(Body::from(body)).unwrap()
    };
    let (status, body) = app.send(post("{\"username\": ", "application/json")).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("malformed_json")));
    let (status, body) = app.send(post("{\"username\": \"a\", \"password\": \"b\"}", "text/plain")).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, json!("unsupported_media_type")));
    let (status, body) =
        app.send(post("{\"username\": \"a\", \"password\": \"b\", \"admin\": true}", "application/json")).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_body")));
    let (status, body) = app.send(post("{\"username\": 1, \"password\": \"b\"}", "application/json")).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_body")));
    let huge = format!("{{\"username\": \"{}\", \"password\": \"x\"}}", "a".repeat(100 * 1024));
    let request =
        Request::post("/api/v1/auth/login").header("content-type", "application/json").body(Body::from(huge)).unwrap();
    let (status, body) = app.send(request).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::PAYLOAD_TOO_LARGE, json!("payload_too_large")));
    let invalid_utf8 = Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}']))
        .unwrap();
    let (status, body) = app.send(invalid_utf8).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("malformed_json")));
});

on_both!(the_first_start_creates_one_administrator, |app: TestApp| async move {
    let first = server::identity::bootstrap::ensure_admin(&app.db, None).await.unwrap().expect("created");
    let password = first.generated_password.expect("generated");
    assert_eq!(first.username, "admin");
    assert!(password.len() >= 16);
    assert!(server::identity::bootstrap::ensure_admin(&app.db, None).await.unwrap().is_none());
    let session = app.login("admin", &password).await;
    let (_, me) = app.send(session.request("GET", "/api/v1/me", None)).await;
    assert_eq!(me["user"]["is_admin"], json!(true));
    let users = server::db::entities::user::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(users.len(), 1);
});
