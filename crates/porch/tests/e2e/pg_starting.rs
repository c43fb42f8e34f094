//! A node started beside its PostgreSQL (a compose file, a machine's boot): PostgreSQL opens its
//! port before it takes sessions, and answers `FATAL 57P03` meanwhile. A node waits for it
//! (`POSTGRES_STARTING_WAIT_MS`) rather than exiting; found as a flaky start of the TLS test.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::backing_tls::{
    Killed, as_postgres, chown_all, free_port, initdb, postgres_user, wait_listening,
};

/// A standby with `hot_standby=off` refuses every session with 57P03 ("not accepting
/// connections") until it is promoted: the starting-up window, held open as long as the test
/// needs, on a real PostgreSQL.
#[tokio::test]
async fn a_node_waits_for_a_postgresql_that_is_still_starting() {
    let user = postgres_user();
    let dir = std::env::temp_dir().join(format!("porch-pg-{}", porch_core::ids::new_id("tst")));
    let data = dir.join("pgdata");
    std::fs::create_dir_all(&dir).unwrap();
    chown_all(&dir, user);
    initdb(&data, user);
    let as_user = |command: &mut Command| as_postgres(command, user);
    std::fs::write(data.join("standby.signal"), "").unwrap();
    chown_all(&data, user);
    let port = free_port();
    let mut postgres = Command::new("postgres");
    postgres.arg("-D").arg(&data).args(["-p", &port.to_string()]);
    postgres.args(["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="]);
    postgres.args(["-c", "fsync=off", "-c", "hot_standby=off"]);
    postgres.stdout(Stdio::null()).stderr(Stdio::null());
    as_user(&mut postgres);
    let mut child = postgres.spawn().expect("postgres starts");
    wait_listening(format!("127.0.0.1:{port}").parse().unwrap(), &mut child, "PostgreSQL");
    let _postgres = Killed(child);

    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let options =
        porch_store::PostgresOptions { url, schema: Some("starting".into()), pool_size: 2 };
    let connecting = tokio::spawn(porch_store::PostgresStore::connect(options));
    // Refused at once before the fix: the node exited with "the database system is not
    // accepting connections".
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(!connecting.is_finished(), "the node gave up on a PostgreSQL still starting");

    let mut promote = Command::new("pg_ctl");
    promote.arg("promote").arg("-D").arg(&data).stdout(Stdio::null()).stderr(Stdio::null());
    as_user(&mut promote);
    assert!(promote.status().expect("pg_ctl is installed").success(), "pg_ctl promote");
    let store = tokio::time::timeout(Duration::from_secs(30), connecting)
        .await
        .expect("the node connects once PostgreSQL takes sessions")
        .unwrap()
        .expect("connects, migrates and serves");
    assert!(porch_core::store::Store::deployments(&store).await.unwrap().is_empty());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
