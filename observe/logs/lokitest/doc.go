// Package lokitest is a fake Loki for tests: it keeps pushed lines in
// memory and answers query_range and the tail websocket for the LogQL that
// observe/logs builds (a stream selector and line filters), the way Loki
// reads it. It records every request, so tests can check the tenant, the
// credentials and the query that reached it.
//
// It is a stand-in, not a Loki: the real one runs in the test/ suites.
// This package must not import web or store.
package lokitest
