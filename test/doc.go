// Package test holds Backplane's end-to-end and acceptance suites, which run
// against real agents. The harness that starts them is package test/agent.
//
// A suite whose agent binary (nomad, consul, vault or bao, loki) is not on
// PATH skips with a message naming the binary. REQUIRE_AGENTS=1 turns those
// skips into failures, so a machine that has the binaries cannot silently
// skip. Agents bind to 127.0.0.1 on free ports and stop in t.Cleanup.
package test
