package translator

import (
	"bytes"
	"os"
	"testing"

	"github.com/backplane-dev/backplane/schema"
)

// FuzzTranslate feeds arbitrary schema files through Decode, Translate and
// Files. Nothing may panic; a schema Translate accepts must render (that is
// the promise behind `validate` exit 0), and render the same bytes twice.
func FuzzTranslate(f *testing.F) {
	for _, dir := range goldenDirs(f) {
		if _, err := os.Stat(dir + "/kinds"); err == nil {
			continue // needs user kinds; covered by the golden test
		}
		data, err := os.ReadFile(dir + "/backplane.yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
		f.Add(data, true)
	}
	f.Add([]byte("version: 1\nproject: p\nelements: [{id: a, kind: lb.nginx, port: 80}]\n"), false)
	f.Add([]byte("{\"version\":1,\"project\":\"p\",\"elements\":[{\"id\":\"a\",\"kind\":\"worker\",\"command\":\"{{\"}]}"), true)
	reg := testRegistry(f)
	f.Fuzz(func(t *testing.T, data []byte, vault bool) {
		s, err := schema.Decode("fuzz.yaml", data)
		if err != nil {
			return
		}
		opts := Options{Credentials: vault, LokiURL: "http://127.0.0.1:3100"}
		b, err := Translate(s, reg, opts)
		if err != nil {
			return
		}
		files, err := b.Files()
		if err != nil {
			t.Fatalf("Translate accepted the schema but Files failed: %v", err)
		}
		b2, err := Translate(s, reg, opts)
		if err != nil {
			t.Fatalf("second Translate failed: %v", err)
		}
		files2, err := b2.Files()
		if err != nil || len(files2) != len(files) {
			t.Fatalf("second render differs: %v", err)
		}
		for i := range files {
			if files[i].Path != files2[i].Path || !bytes.Equal(files[i].Data, files2[i].Data) {
				t.Fatalf("%s: not deterministic", files[i].Path)
			}
		}
	})
}
