package translator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/hashicorp/nomad/api"
)

// File is one rendered output file, by its path relative to the output
// folder.
type File struct {
	Path string
	Data []byte
}

// Files renders the bundle as the files `backplane render --out` writes,
// sorted by path:
//
//	<region>/<job>.nomad.json   the job as PUT /v1/jobs takes it: {"Job": …}
//	<region>/<job>.nomad.hcl    the same job as an HCL2 jobspec
//	consul/intentions.json      service-intentions config entries (mesh on)
//	vault/<job>.policy.hcl      each element's Vault policy (when it has one)
//	alertmanager.yml            the project's routes and receivers
//	prometheus-rules.yml        the project's alerting rules
func (b *Bundle) Files() ([]File, error) {
	var files []File
	regions := make([]string, 0, len(b.Jobs))
	for r := range b.Jobs {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, region := range regions {
		for _, job := range b.Jobs[region] {
			js, err := JobJSON(job)
			if err != nil {
				return nil, fmt.Errorf("render %s in region %s: %w", *job.ID, region, err)
			}
			hcl, err := JobHCL(job)
			if err != nil {
				return nil, fmt.Errorf("render %s in region %s: %w", *job.ID, region, err)
			}
			files = append(files,
				File{filepath.Join(region, *job.ID+".nomad.json"), js},
				File{filepath.Join(region, *job.ID+".nomad.hcl"), hcl})
		}
	}
	if len(b.Intentions) > 0 {
		data, err := json.MarshalIndent(b.Intentions, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("render consul intentions: %w", err)
		}
		files = append(files, File{filepath.Join("consul", "intentions.json"), append(data, '\n')})
	}
	for _, name := range sortedKeys(b.VaultPolicies) {
		files = append(files, File{filepath.Join("vault", name+".policy.hcl"), []byte(b.VaultPolicies[name])})
	}
	files = append(files,
		File{"alertmanager.yml", []byte(b.Alertmanager)},
		File{"prometheus-rules.yml", []byte(b.PrometheusRules)})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// JobJSON renders a job as the body of PUT /v1/jobs, {"Job": …}, with
// null, false, zero and empty-list values left out. Nomad decodes a missing
// field exactly as it decodes those, so the job is the same and the file
// readable. Empty objects stay: they are pointers to structs whose presence
// means something (an empty sidecar_service turns the sidecar on).
func JobJSON(job *api.Job) ([]byte, error) {
	raw, err := json.Marshal(struct{ Job *api.Job }{job})
	if err != nil {
		return nil, err
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(prune(generic), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// prune drops empty values from decoded JSON. It keeps empty values inside
// free-form maps (task config, env, meta), where a key's presence matters.
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if freeForm[k] {
				if val != nil {
					out[k] = val
				}
				continue
			}
			p := prune(val)
			if !isZeroJSON(p) {
				out[k] = p
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, val := range x {
			out = append(out, prune(val))
		}
		return out
	}
	return v
}

// freeForm names the job fields whose maps are user data, not structs.
var freeForm = map[string]bool{"Config": true, "Env": true, "Meta": true, "GetterOptions": true, "Policy": true}

func isZeroJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case json.Number:
		return x.String() == "0"
	case []any:
		return len(x) == 0
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// JSON renders the whole bundle as one JSON document, for scripts.
func (b *Bundle) JSON() ([]byte, error) {
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
