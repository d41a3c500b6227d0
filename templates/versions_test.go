package templates

import (
	"strings"
	"testing"

	"github.com/backplane-dev/backplane/schema"
)

func TestResolveVersion(t *testing.T) {
	cases := []struct {
		name     string
		versions []string
		asked    string
		want     string
		listed   bool
	}{
		{"default", []string{"7.4", "7.2"}, "", "7.4", true},
		{"no versions", nil, "", "", false},
		{"exact", []string{"7.4", "7.2"}, "7.2", "7.2", true},
		{"major to newest minor", []string{"7.2", "7.4"}, "7", "7.4", true},
		{"minor numbers compare as numbers", []string{"3.9", "3.13"}, "3", "3.13", true},
		{"rabbitmq 3", []string{"4.0", "3.13"}, "3", "3.13", true},
		{"prefix of a patch version", []string{"1.27.3", "1.27.10", "1.26.1"}, "1.27", "1.27.10", true},
		{"major to deeper versions", []string{"1.27.3", "1.26.1"}, "1", "1.27.3", true},
		{"not a prefix on a dot boundary", []string{"17", "16"}, "1", "1", false},
		{"unlisted major", []string{"7.4", "7.2"}, "6", "6", false},
		{"unlisted minor", []string{"7.4", "7.2"}, "7.0", "7.0", false},
		{"unlisted tag", []string{"7.4", "7.2"}, "latest", "latest", false},
		{"unlisted on a kind without versions", nil, "2", "2", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, listed := ResolveVersion(tc.versions, tc.asked)
			if got != tc.want || listed != tc.listed {
				t.Fatalf("ResolveVersion(%q, %q) = %q, %v; want %q, %v", tc.versions, tc.asked, got, listed, tc.want, tc.listed)
			}
		})
	}
}

func TestValidImageTag(t *testing.T) {
	for _, v := range []string{"7", "7.4", "3.13", "latest", "v1.2.3-rc.1", "2024_05", strings.Repeat("a", 128)} {
		if !ValidImageTag(v) {
			t.Errorf("%q is a valid tag", v)
		}
	}
	for _, v := range []string{"", "7 alpine", " 7", ".7", "-7", "7:alpine", "7/x", "7@sha256", "é", strings.Repeat("a", 129)} {
		if ValidImageTag(v) {
			t.Errorf("%q is not a valid tag", v)
		}
	}
}

// TestBuildVersions: a major version runs the newest listed minor of it and
// says which in the task's meta; a version the kind does not list runs as
// written, with a warning that names the image. Before, `redis 7` and
// `rabbitmq 3` were refused outright.
func TestBuildVersions(t *testing.T) {
	cases := []struct {
		name    string
		e       schema.Element
		driver  string
		image   string
		meta    string // backplane.version; "" for none
		warning string // part of the one warning on elements[x].version; "" for none
	}{
		{name: "redis major", e: schema.Element{ID: "x", Kind: "cache.redis", Version: "7"},
			image: "redis:7.4-alpine", meta: "7.4"},
		{name: "rabbitmq major", e: schema.Element{ID: "x", Kind: "mq.rabbitmq", Version: "3"},
			image: "rabbitmq:3.13-management-alpine", meta: "3.13"},
		{name: "mysql major", e: schema.Element{ID: "x", Kind: "db.mysql", Version: "8"},
			image: "mysql:8.4", meta: "8.4"},
		{name: "python major", e: schema.Element{ID: "x", Kind: "app.python", Version: "3", Source: &schema.Source{Repo: "https://g.example/a.git", Start: "x"}},
			image: "python:3.13-slim-bookworm", meta: "3.13"},
		{name: "go major", e: schema.Element{ID: "x", Kind: "app.go", Version: "1", Source: &schema.Source{Repo: "https://g.example/a.git", Start: "x"}},
			image: "golang:1.25-bookworm", meta: "1.25"},
		{name: "lb major", e: schema.Element{ID: "x", Kind: "lb.nginx", Port: 80, Version: "1"},
			image: "nginx:1.27-alpine", meta: "1.27"},
		{name: "user kind major", e: schema.Element{ID: "x", Kind: "queue.nats", Version: "2", Params: map[string]string{"token": "t"}},
			image: "nats:2.10", meta: "2.10"},
		{name: "exact", e: schema.Element{ID: "x", Kind: "cache.redis", Version: "7.2"},
			image: "redis:7.2-alpine", meta: "7.2"},
		{name: "default", e: schema.Element{ID: "x", Kind: "db.postgres"},
			image: "postgres:17", meta: "17"},
		{name: "unlisted", e: schema.Element{ID: "x", Kind: "db.postgres", Version: "18"},
			image: "postgres:18", meta: "18",
			warning: `PostgreSQL version "18" is not one Backplane lists (17, 16, 15); it runs the image postgres:18 as written`},
		{name: "unlisted minor", e: schema.Element{ID: "x", Kind: "cache.redis", Version: "7.0"},
			image: "redis:7.0-alpine", meta: "7.0", warning: "it runs the image redis:7.0-alpine as written"},
		{name: "unlisted lb", e: schema.Element{ID: "x", Kind: "lb.nginx", Port: 80, Version: "1.25"},
			image: "nginx:1.25-alpine", meta: "1.25", warning: "it runs the image nginx:1.25-alpine as written"},
		{name: "unlisted user kind", e: schema.Element{ID: "x", Kind: "queue.nats", Version: "2.11", Params: map[string]string{"token": "t"}},
			image: "nats:2.11", meta: "2.11", warning: `NATS version "2.11" is not one Backplane lists (2.10, 2.9)`},
		// Without docker no image is pulled: nothing to record or warn about.
		{name: "unlisted under exec", e: schema.Element{ID: "x", Kind: "app.nodejs", Version: "21", Source: &schema.Source{Repo: "https://g.example/a.git", Start: "x"}},
			driver: "exec"},
		{name: "lb under raw_exec", e: schema.Element{ID: "x", Kind: "lb.nginx", Port: 80, Version: "1.25"},
			driver: "raw_exec"},
		// An image of the element's own has no version to resolve.
		{name: "own image", e: schema.Element{ID: "x", Kind: "app.docker", Image: "redis:7"},
			image: "redis:7"},
	}
	r := registryWithNats(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			driver := tc.driver
			if driver == "" {
				driver = "docker"
			}
			res := buildOne(t, r, tc.e, driver, Options{Credentials: true})
			if got, _ := res.Task.Config["image"].(string); got != tc.image {
				t.Errorf("image %q, want %q", got, tc.image)
			}
			if got := res.Task.Meta[MetaVersion]; got != tc.meta {
				t.Errorf("meta %s = %q, want %q (meta %v)", MetaVersion, got, tc.meta, res.Task.Meta)
			}
			var warnings []string
			for _, w := range res.Warnings {
				if w.Path == "elements[x].version" {
					warnings = append(warnings, w.Msg)
				}
			}
			switch {
			case tc.warning == "" && len(warnings) > 0:
				t.Errorf("unexpected version warnings %q", warnings)
			case tc.warning != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tc.warning)):
				t.Errorf("version warnings %q, want one containing %q", warnings, tc.warning)
			}
		})
	}
}

// Every kind with versions, built-in or user, resolves the major of each
// version it lists to the newest listed version of that major, with the
// image the palette shows for it and no warning.
func TestEveryVersionedKindTakesMajors(t *testing.T) {
	r := registryWithNats(t)
	n := 0
	for _, info := range r.Infos() {
		for _, v := range info.Versions {
			major, _, _ := strings.Cut(v, ".")
			want, _ := ResolveVersion(info.Versions, major)
			if !strings.HasPrefix(want, major) || compareVersions(want, v) < 0 {
				t.Errorf("%s: %q resolves to %q, older than the listed %q", info.Name, major, want, v)
			}
			if errs := checkVersion(info, &schema.Element{ID: "x", Version: major}, schema.ElementPath("x")); len(errs) > 0 {
				t.Errorf("%s: version %q refused: %v", info.Name, major, errs)
			}
			if info.Defaults.Images[want] == "" {
				t.Errorf("%s: %q resolves to %q, which has no image", info.Name, major, want)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no kind lists versions")
	}
}
