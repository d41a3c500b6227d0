// Package sinks gives the real-delivery suites somewhere for Alertmanager
// to deliver to: an HTTP sink (Slack incoming webhooks and Alertmanager's
// webhook receiver) and an SMTP sink (email receivers), each on a free
// 127.0.0.1 port, stopped in t.Cleanup. Each records what it received, and
// Wait returns the first message a predicate accepts, failing the test with
// what did arrive when none does in time.
//
// It is imported by test packages only, and imports nothing of Backplane.
package sinks
