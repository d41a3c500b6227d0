package compose

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/backplane-dev/backplane/schema"
)

// FuzzImport feeds arbitrary bytes to Import as a docker-compose.yml.
// Nothing may panic, and a schema that comes out must validate and read
// back from its YAML.
//
//	go test ./schema/compose -run '^$' -fuzz FuzzImport -fuzztime 60s
func FuzzImport(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if data, err := os.ReadFile(filepath.Join("testdata", e.Name(), "docker-compose.yml")); err == nil {
			f.Add(data)
		}
	}
	for _, seed := range []string{
		"",
		"services: {}",
		"services:\n  a: {image: postgres}\n  b: {image: nginx, depends_on: [a], ports: ['80:80']}\n",
		"services:\n  a:\n    image: x\n    environment: {U: 'http://a:1', V: 'b:2', W: ~}\n  b: {image: y, expose: ['2']}\n",
		"services:\n  A_b.c: {image: 'x:1', deploy: {replicas: -1, resources: {limits: {cpus: '0.0001', memory: 1}}}}\n",
		"services:\n  a: {build: 'https://github.com/a/b.git#x:y', command: node}\n",
		"services:\n  a: {image: x, healthcheck: {test: ['CMD', 'curl', 'http://localhost:0/'], interval: 1ns}}\n",
		"services:\n  a: {image: x, links: ['a:a', 'b'], ports: ['1-3:1-3/udp']}\n",
		"x-a: &a {image: x}\nservices:\n  a: *a\n  b: {<<: *a, extends: a}\n",
		"services:\n  a:\n    image: ${X:?required}\n",
		"- 1\n",
		"services:\n  a: {image: x, ports: ['80'], deploy: {resources: {limits: {cpus: 'NaN', memory: 9223372036854775807}}}}\n",
		"services:\n  a: {image: x, ports: ['80'], command: \"a\\0b\", environment: {\"A\\0\": \"\\0\"}}\n",
		"services:\n  a: {build: 'git://#:', command: node, expose: ['1']}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, _, err := Import(ctx, Options{WorkDir: dir, Files: []string{"docker-compose.yml"}, Project: "fuzz"})
		if err != nil {
			return
		}
		out, err := s.EncodeYAML()
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		back, err := schema.Decode("out.yaml", out)
		if err != nil {
			t.Fatalf("the output does not read back: %v\n%s", err, out)
		}
		if errs := schema.Validate(back); len(errs) > 0 {
			t.Fatalf("the output does not validate: %v\n%s", errs, out)
		}
	})
}
