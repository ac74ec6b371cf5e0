// Package testkit gathers the helpers integration tests across the Hub share:
//
//   - pgtest: a fresh PostgreSQL database per test, on the server named by
//     TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
//     dropped when the test ends;
//   - natstest: an in-process nats-server with JetStream on a random port;
//   - redistest: a private redis-server child process on a free port;
//   - ldaptest: a private OpenLDAP slapd (TLS, memberof) with a small
//     directory of users and nested groups;
//   - hydratest: a private Ory Hydra OpenID provider with a test login app;
//   - freeport: loopback ports, never the same one twice in a process.
//
// A dependency that is missing makes the test fail with a message that says
// how to provide it; nothing is ever skipped silently. Helpers never read or
// set EXEKRA_* variables, which config.Load would refuse as unknown keys.
package testkit
