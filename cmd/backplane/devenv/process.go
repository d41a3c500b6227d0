package devenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one running peer, in a process group of its own so that a
// Ctrl-C at the terminal reaches Backplane alone, which then stops the
// peers in order.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
	stopSig syscall.Signal
	once    sync.Once
}

// startProcess runs bin with args in dir (its working directory, so that
// what it starts can be found by it), its output appended to dir/output.log.
func startProcess(name, dir, bin string, stopSig syscall.Signal, args ...string) (*process, error) {
	logPath := filepath.Join(dir, "output.log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = childEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logFile: f, done: make(chan struct{}), stopSig: stopSig}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to end with its stop signal, waits up to grace,
// then kills its whole process group, and waits for it.
func (p *process) stop(grace time.Duration) {
	p.once.Do(func() {
		if !p.exited() {
			_ = p.cmd.Process.Signal(p.stopSig)
			select {
			case <-p.done:
			case <-time.After(grace):
			}
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		p.logFile.Close()
	})
}

// tail is the end of the process's output, for error messages.
func (p *process) tail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return strings.TrimSpace(string(data))
}

// systemPath are the folders a peer's helpers come from: Nomad's disk
// fingerprint runs df, and raw_exec tasks inherit the agent's PATH.
var systemPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// childEnv is the environment with the system folders appended to PATH
// where missing. Peers are found on the user's PATH; what they run in turn
// is found on this one.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
			continue
		}
		out = append(out, kv)
	}
	have := map[string]bool{}
	parts := filepath.SplitList(path)
	for _, p := range parts {
		have[p] = true
	}
	for _, p := range systemPath {
		if !have[p] {
			parts = append(parts, p)
		}
	}
	return append(out, "PATH="+strings.Join(parts, string(os.PathListSeparator)))
}

// descendants lists the PIDs whose parent chain leads to pid.
func descendants(pid int) []int {
	parent := map[int]int{}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		id, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		if pp := ppid(id); pp > 0 {
			parent[id] = pp
		}
	}
	var out []int
	for id := range parent {
		for q, hops := parent[id], 0; q > 0 && hops < 64; q, hops = parent[q], hops+1 {
			if q == pid {
				out = append(out, id)
				break
			}
		}
	}
	return out
}

// ppid reads a process's parent from /proc/<pid>/stat.
func ppid(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// killUnder kills what a Nomad client leaves behind when it stops: tasks
// whose working directory is under dir, and the executor and logmon
// processes whose command line or working directory names it.
func killUnder(dir string) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, _ := os.Readlink(p + "/cwd")
		cmdline, _ := os.ReadFile(p + "/cmdline")
		if cwd == dir || strings.HasPrefix(cwd, dir+"/") || bytes.Contains(cmdline, []byte(dir+"/")) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder detaches every mount below dir (the secrets tmpfs a Nomad
// client makes in each task folder), deepest first.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			mounts = append(mounts, f[1])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
