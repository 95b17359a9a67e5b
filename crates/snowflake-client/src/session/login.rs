//! Authentication: the login request (password or key-pair JWT) that opens a session,
//! and the renewal of an expired session token with the master token.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{Value, json};

use super::transport::Request;
use super::{Auth, ConnectOptions, RETRY_BUDGET, Session, Tokens, uuid4};
use crate::error::describe_http_error;
use crate::keypair::PrivateKey;
use crate::wire::{Envelope, LoginData, RenewData};
use crate::{Error, Secret};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The login request's `data`: who logs in, from where, with which credentials.
fn login_data(options: &ConnectOptions, endpoint: &str) -> Result<Value, Error> {
    let account_name = options.account.split('.').next().unwrap_or_default().to_owned();
    let mut data = json!({
        "CLIENT_APP_ID": "pitwall-snowflake",
        "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
        "ACCOUNT_NAME": account_name,
        "LOGIN_NAME": options.user,
        "CLIENT_ENVIRONMENT": {
            "APPLICATION": "pitwall",
            "OS": std::env::consts::OS,
            "LOGIN_TIMEOUT": options.login_timeout.as_secs(),
        },
        "SESSION_PARAMETERS": {},
    });
    match &options.auth {
        Auth::Password(password) => data["PASSWORD"] = Value::String(password.expose().to_owned()),
        Auth::KeyPair { private_key_pem, passphrase } => {
            let key = PrivateKey::from_pem(private_key_pem, passphrase.as_ref())
                .map_err(|e| Error::PrivateKey { endpoint: endpoint.to_owned(), reason: e.to_string() })?;
            let issued_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
            let jwt = key
                .jwt(&options.account, &options.user, issued_at)
                .map_err(|e| Error::PrivateKey { endpoint: endpoint.to_owned(), reason: e.to_string() })?;
            data["AUTHENTICATOR"] = Value::String("SNOWFLAKE_JWT".into());
            data["TOKEN"] = Value::String(jwt);
        }
    }
    Ok(data)
}

/// The login request's path: the session's database, schema, warehouse and role.
fn login_path(options: &ConnectOptions) -> String {
    let mut path = format!("/session/v1/login-request?requestId={}", uuid4());
    for (name, value) in [
        ("databaseName", &options.database),
        ("schemaName", &options.schema),
        ("warehouse", &options.warehouse),
        ("roleName", &options.role),
    ] {
        if let Some(value) = value {
            path.push_str(&format!("&{name}={}", encode(value)));
        }
    }
    path
}

impl Session {
    /// Logs in with a password or a key-pair JWT.
    pub async fn login(options: &ConnectOptions) -> Result<Session, Error> {
        let endpoint = options.endpoint()?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(options.login_timeout))
            .build()
            .map_err(|e| Error::Options { endpoint: endpoint.clone(), reason: describe_http_error(e) })?;
        let body = json!({ "data": login_data(options, &endpoint)? });
        let path = login_path(options);
        let mut session = Session {
            endpoint,
            http,
            tokens: Mutex::new(Tokens { session: Secret::new(""), master: None }),
            sequence: AtomicU64::new(0),
            server_version: None,
            parameters: Vec::new(),
        };
        let response: Envelope<LoginData> = session
            .send(Request {
                what: "login",
                method: Method::POST,
                path,
                body: Some(&body),
                token: None,
                accept: "application/snowflake",
                retry_params: false,
                budget: options.login_timeout,
                timeout: None,
            })
            .await?;
        session.logged_in(options, response)?;
        Ok(session)
    }

    /// Takes the session token, server version and parameters from the login's response,
    /// or says why the login was refused.
    fn logged_in(&mut self, options: &ConnectOptions, response: Envelope<LoginData>) -> Result<(), Error> {
        let refused = |code: Option<String>, message: Option<String>| Error::Login {
            endpoint: self.endpoint.clone(),
            user: options.user.clone(),
            code,
            message: message.unwrap_or_else(|| "no reason given".into()),
        };
        if !response.success {
            return Err(refused(response.code, response.message));
        }
        let data = response.data.ok_or_else(|| refused(None, Some("the response has no session".into())))?;
        let token = data.token.ok_or_else(|| refused(None, Some("the response has no session token".into())))?;
        self.tokens = Mutex::new(Tokens { session: Secret::new(token), master: data.master_token.map(Secret::new) });
        self.server_version = data.server_version;
        self.parameters = data.parameters.into_iter().map(|p| (p.name, p.value)).collect();
        Ok(())
    }

    /// Renews the session token with the master token (`/session/token-request`).
    pub(super) async fn renew(&self) -> Result<(), Error> {
        let (old, master) = {
            let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
            (tokens.session.clone(), tokens.master.clone())
        };
        let master = master.unwrap_or_else(|| Secret::new(""));
        let body = json!({ "oldSessionToken": old.expose(), "requestType": "RENEW" });
        let response: Envelope<RenewData> = self
            .send(Request {
                what: "renewing the session",
                method: Method::POST,
                path: format!("/session/token-request?requestId={}", uuid4()),
                body: Some(&body),
                token: Some(&master),
                accept: "application/json",
                retry_params: false,
                budget: RETRY_BUDGET,
                timeout: Some(Duration::from_secs(60)),
            })
            .await?;
        let renewed = response.data.filter(|_| response.success).and_then(|d| Some((d.session_token?, d.master_token)));
        match renewed {
            Some((session, master)) => {
                let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
                tokens.session = Secret::new(session);
                if let Some(master) = master {
                    tokens.master = Some(Secret::new(master));
                }
                Ok(())
            }
            None => Err(Error::SessionRenewal {
                endpoint: self.endpoint.clone(),
                code: response.code,
                message: response.message.unwrap_or_else(|| "no new session token".into()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::mock;
    use super::*;

    const TEST_KEY: &str = include_str!("../../tests/fixtures/test_rsa_key.p8");

    #[tokio::test]
    async fn a_refused_login_is_a_login_error_with_code_and_no_password() {
        let mock = mock::start().await;
        mock.push(200, r#"{"data":null,"code":"390100","message":"Incorrect username or password was specified.","success":false}"#);
        let error = Session::login(&mock::options(&mock.endpoint)).await.unwrap_err();
        assert!(matches!(error, Error::Login { .. }));
        assert_eq!(error.code(), Some("390100"));
        let text = format!("{error} {error:?}");
        assert!(text.contains("Incorrect username") && !text.contains("pw-secret"), "{text}");
    }

    /// A key-pair login sends the JWT as `TOKEN`, no password; an unusable key is a
    /// `PrivateKey` error that shows neither the key nor the passphrase.
    #[test]
    fn key_pair_login_data_carries_the_jwt() {
        let auth = Auth::KeyPair { private_key_pem: TEST_KEY.into(), passphrase: None };
        let options = ConnectOptions { database: Some("a b".into()), ..ConnectOptions::new("xy12345.eu", "u", auth) };
        let data = login_data(&options, "https://ep").unwrap();
        assert_eq!(data["AUTHENTICATOR"], "SNOWFLAKE_JWT");
        assert_eq!(data["ACCOUNT_NAME"], "xy12345");
        assert_eq!(data["TOKEN"].as_str().unwrap().split('.').count(), 3);
        assert!(data.get("PASSWORD").is_none());
        assert!(login_path(&options).ends_with("&databaseName=a+b"), "{}", login_path(&options));
        let bad = Auth::KeyPair { private_key_pem: "garbage-key".into(), passphrase: Some("pass-123".into()) };
        let error = login_data(&ConnectOptions::new("xy12345", "u", bad), "https://ep").unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(matches!(error, Error::PrivateKey { .. }), "{text}");
        assert!(!text.contains("garbage-key") && !text.contains("pass-123"), "{text}");
    }
}
