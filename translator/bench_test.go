package translator

import (
	"fmt"
	"testing"

	"github.com/backplane-dev/backplane/schema"
)

// benchSchema is n app.command elements with ports, each connected to the
// next two: about 2n connections, as the benchmark asks.
func benchSchema(n int) *schema.Schema {
	s := &schema.Schema{Version: 1, Project: "bench", Defaults: schema.Defaults{Driver: "raw_exec"}}
	for i := 0; i < n; i++ {
		s.Elements = append(s.Elements, schema.Element{
			ID: fmt.Sprintf("e%04d", i), Kind: "app.command", Port: 8000,
			Command: "python3 -m http.server $PORT",
			Env:     map[string]string{"MODE": "bench", "INDEX": fmt.Sprint(i)},
		})
	}
	for i := 0; i < n; i++ {
		for _, d := range []int{1, 2} {
			if j := (i + d) % n; j != i && (n > 2 || d == 1) {
				s.Connections = append(s.Connections, schema.Connection{From: s.Elements[i].ID, To: s.Elements[j].ID})
			}
		}
	}
	return s
}

func BenchmarkTranslate(b *testing.B) {
	reg := testRegistry(b)
	for _, n := range []int{10, 100, 1000} {
		s := benchSchema(n)
		if _, err := Translate(s, reg, Options{}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("elements=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Translate(s, reg, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRender is Translate plus rendering every file (JSON and HCL).
func BenchmarkRender(b *testing.B) {
	reg := testRegistry(b)
	for _, n := range []int{10, 100, 1000} {
		s := benchSchema(n)
		b.Run(fmt.Sprintf("elements=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bundle, err := Translate(s, reg, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := bundle.Files(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
