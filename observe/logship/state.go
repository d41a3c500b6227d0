package logship

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// position is a place in a stream's chain of files: the file index and the
// byte offset in it.
type position struct {
	Index  int   `json:"index"`
	Offset int64 `json:"offset"`
}

func (p position) before(q position) bool {
	return p.Index < q.Index || (p.Index == q.Index && p.Offset < q.Offset)
}

// streamKey names one task's stdout or stderr.
type streamKey struct {
	Task   string
	Stream string // "stdout" or "stderr"
}

func (k streamKey) String() string { return k.Task + "." + k.Stream }

// stateFile is what the state file holds: for each stream, the position
// after the last line Loki acknowledged.
type stateFile struct {
	Version int                 `json:"version"`
	Streams map[string]position `json:"streams"`
}

const stateVersion = 1

// errCorruptState is a state file that cannot be read as offsets.
var errCorruptState = errors.New("not a logship state file")

// loadState reads the offsets; a missing file is an empty state.
func loadState(path string) (map[streamKey]position, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[streamKey]position{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return nil, fmt.Errorf("read state %s: %w: %v", path, errCorruptState, err)
	}
	if sf.Version != stateVersion {
		return nil, fmt.Errorf("read state %s: %w: version %d, want %d", path, errCorruptState, sf.Version, stateVersion)
	}
	out := make(map[streamKey]position, len(sf.Streams))
	for name, p := range sf.Streams {
		k, ok := parseStreamName(name)
		if !ok || p.Index < 0 || p.Offset < 0 {
			return nil, fmt.Errorf("read state %s: %w: bad entry %q", path, errCorruptState, name)
		}
		out[k] = p
	}
	return out, nil
}

// parseStreamName reads "<task>.stdout" or "<task>.stderr".
func parseStreamName(name string) (streamKey, bool) {
	for _, s := range []string{"stdout", "stderr"} {
		if len(name) > len(s)+1 && name[len(name)-len(s)-1:] == "."+s {
			return streamKey{Task: name[:len(name)-len(s)-1], Stream: s}, true
		}
	}
	return streamKey{}, false
}

// saveState writes the offsets to a temporary file beside path and renames
// it over path, so a reader sees the old state or the new one, never a mix.
func saveState(path string, st map[streamKey]position) error {
	sf := stateFile{Version: stateVersion, Streams: make(map[string]position, len(st))}
	for k, p := range st {
		sf.Streams[k.String()] = p
	}
	data, err := json.Marshal(sf)
	if err != nil {
		return fmt.Errorf("write state %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write state %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write state %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write state %s: %w", path, werr)
	}
	return nil
}
