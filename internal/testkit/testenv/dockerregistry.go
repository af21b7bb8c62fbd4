package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// DockerRegistry is a running Debian docker-registry (CNCF distribution).
type DockerRegistry struct {
	// Host is "127.0.0.1:PORT".
	Host string
	// Root is the storage.filesystem.rootdirectory.
	Root string
	// Log is the server's log, access log included.
	Log string
}

var accessRE = regexp.MustCompile(`"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3}) `)

// Requests counts the requests the registry's own access log records
// whose method is method ("" = any) and whose path contains part: counts
// made at the registry, not by the client. Blob data reaches distribution
// only in PATCH and PUT requests under /blobs/uploads/ (a cross-repository
// mount is a bodiless POST), so Requests("PATCH", "/blobs/uploads/") +
// Requests("PUT", "/blobs/uploads/") == 0 means no blob bytes arrived.
func (r *DockerRegistry) Requests(tb testing.TB, method, part string) int {
	tb.Helper()
	b, err := os.ReadFile(r.Log)
	if err != nil {
		tb.Fatalf("reading docker-registry's log: %v", err)
	}
	n := 0
	for _, m := range accessRE.FindAllStringSubmatch(string(b), -1) {
		if (method == "" || m[1] == method) && strings.Contains(m[2], part) {
			n++
		}
	}
	return n
}

// RegistryOption configures StartDockerRegistry.
type RegistryOption func(*registryOptions)

type registryOptions struct {
	user, password string
	root           string
}

// WithBasicAuth makes the registry require HTTP basic authentication as
// user with password (distribution's htpasswd auth, a bcrypt entry): every
// request without them is refused with 401.
func WithBasicAuth(user, password string) RegistryOption {
	return func(o *registryOptions) { o.user, o.password = user, password }
}

// WithStorage makes the registry serve the storage directory root (for
// example a copy of another test registry's Root) instead of an empty one
// under the test's temp dir.
func WithStorage(root string) RegistryOption {
	return func(o *registryOptions) { o.root = root }
}

// StartDockerRegistry starts `docker-registry serve` on a free port of
// 127.0.0.1 with its storage under the test's temp dir, waits until /v2/
// answers, and stops it when the test ends. It fails the test if the
// program is missing (apt-get install -y docker-registry) or does not come
// up within 20 seconds; the server's log is in the failure message.
func StartDockerRegistry(tb testing.TB, opts ...RegistryOption) *DockerRegistry {
	tb.Helper()
	bin := RequireProgram(tb, "docker-registry", "docker-registry")
	var o registryOptions
	for _, opt := range opts {
		opt(&o)
	}
	var lastErr error
	// A free port can be taken between probing and listening; try a few.
	for attempt := 0; attempt < 3; attempt++ {
		r, err := startDockerRegistry(tb, bin, o)
		if err == nil {
			return r
		}
		lastErr = err
	}
	tb.Fatalf("starting docker-registry: %v", lastErr)
	return nil
}

func startDockerRegistry(tb testing.TB, bin string, o registryOptions) (*DockerRegistry, error) {
	dir := tb.TempDir()
	root := filepath.Join(dir, "storage")
	if o.root != "" {
		root = o.root
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	host := "127.0.0.1:" + strconv.Itoa(port)
	auth := ""
	if o.user != "" {
		// The lowest cost bcrypt allows: the registry checks the password
		// on every request.
		hash, err := bcrypt.GenerateFromPassword([]byte(o.password), bcrypt.MinCost)
		if err != nil {
			return nil, fmt.Errorf("hashing the registry password: %w", err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(o.user+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("writing htpasswd: %w", err)
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: runway-test\n    path: %s\n", htpasswd)
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
%s`, root, host, auth)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return nil, fmt.Errorf("writing config: %w", err)
	}
	logPath := filepath.Join(dir, "registry.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating log file: %w", err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("running %s serve: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/v2/", nil)
		if o.user != "" {
			req.SetBasicAuth(o.user, o.password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				tb.Cleanup(stop)
				return &DockerRegistry{Host: host, Root: root, Log: logPath}, nil
			}
		}
		select {
		case werr := <-exited:
			exited <- werr
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("docker-registry exited before answering /v2/ (%w); log:\n%s", werr, b)
		case <-ctx.Done():
			stop()
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("docker-registry did not answer http://%s/v2/ within 20s; log:\n%s", host, b)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
