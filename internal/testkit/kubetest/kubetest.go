// Package kubetest starts a real Kubernetes control plane for tests: Debian's
// etcd, kube-apiserver and kube-controller-manager built from the Go module
// proxy by .ci/kube.sh, on loopback, in temporary directories.
//
// The apiserver runs with token authentication, RBAC, and the admission
// plugins a production cluster has on (ServiceAccount, LimitRanger,
// ResourceQuota, PodSecurity among the defaults). The controller manager
// runs the controllers a Job's life needs and nothing that would need a
// node: job, garbage collector, resource quota, namespace and service
// account controllers. No kubelet and no scheduler run, so pods stay
// Pending until a test binds them and writes their status.
//
// Start is meant for TestMain: one control plane per test binary, each
// test in its own namespace. Stop ends every process Start started. When
// a binary is missing, Start returns an error that says how to get it;
// tests fail on it, they never skip.
package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// EnvBin names the directory that holds kube-apiserver and
// kube-controller-manager (`export RUNWAY_KUBE_BIN="$(bash .ci/kube.sh)"`).
const EnvBin = "RUNWAY_KUBE_BIN"

// ControlPlane is a running etcd + kube-apiserver + kube-controller-manager.
type ControlPlane struct {
	// Config authenticates as a cluster admin (system:masters).
	Config *rest.Config
	// Kubeconfig is a file with the same credentials, for kubectl.
	Kubeconfig string
	// Dir holds the data, certificates and each process's log.
	Dir string

	procs []*proc
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and was reaped
}

// Controllers run by the controller manager.
const Controllers = "job-controller,garbage-collector-controller,resourcequota-controller,namespace-controller,serviceaccount-controller"

// Option configures Start.
type Option func(*options)

type options struct {
	controllers string
}

// WithControllers sets the controller manager's --controllers list
// (default Controllers). A real node (kubenode) wants NodeControllers.
func WithControllers(list string) Option {
	return func(o *options) { o.controllers = list }
}

// NodeControllers adds to Controllers what a control plane with a real
// kubelet uses: CronJobs, finished-Job clean-up and pod garbage collection.
// The node-lifecycle controller stays off: it would mark a node that stops
// heartbeating (the kubelet stand-in never does) NotReady and evict its pods.
//
// root-ca-certificate-publisher-controller writes the kube-root-ca.crt
// ConfigMap that every pod mounting a service account token needs (a
// CronJob's pod does).
const NodeControllers = Controllers + ",cronjob-controller,ttl-after-finished-controller,pod-garbage-collector-controller,root-ca-certificate-publisher-controller"

// Start starts the control plane under dir (created) and waits until the
// apiserver is ready. On error everything already started is stopped.
func Start(ctx context.Context, dir string, opts ...Option) (_ *ControlPlane, err error) {
	o := options{controllers: Controllers}
	for _, opt := range opts {
		opt(&o)
	}
	bin := os.Getenv(EnvBin)
	if bin == "" {
		return nil, fmt.Errorf("%s is not set: build the control plane with `export %s=\"$(bash .ci/kube.sh)\"` (about 12 minutes the first time, cached after)", EnvBin, EnvBin)
	}
	apiserver, kcm := filepath.Join(bin, "kube-apiserver"), filepath.Join(bin, "kube-controller-manager")
	for _, p := range []string{apiserver, kcm} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s=%s holds no %s: run .ci/kube.sh (%w)", EnvBin, bin, filepath.Base(p), err)
		}
	}
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		return nil, fmt.Errorf("etcd is required and is not installed: apt-get install -y etcd-server (%w)", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cp := &ControlPlane{Dir: dir}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()

	ports, err := FreePorts(4)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort, kcmPort := ports[0], ports[1], ports[2], ports[3]
	if err := cp.start(ctx, "etcd", etcd,
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", "http://127.0.0.1:"+etcdClient,
		"--advertise-client-urls", "http://127.0.0.1:"+etcdClient,
		"--listen-peer-urls", "http://127.0.0.1:"+etcdPeer,
		"--initial-advertise-peer-urls", "http://127.0.0.1:"+etcdPeer,
		"--initial-cluster", "default=http://127.0.0.1:"+etcdPeer,
		"--unsafe-no-fsync", "--log-level", "warn",
	); err != nil {
		return nil, err
	}

	token := randomHex(16)
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return nil, err
	}
	saKey := filepath.Join(dir, "sa.key")
	if err := writeRSAKey(saKey); err != nil {
		return nil, err
	}
	if err := cp.start(ctx, "kube-apiserver", apiserver,
		"--etcd-servers", "http://127.0.0.1:"+etcdClient,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", apiPort,
		"--cert-dir", filepath.Join(dir, "apiserver-certs"),
		"--token-auth-file", tokens,
		"--authorization-mode", "RBAC",
		"--enable-admission-plugins", "NamespaceLifecycle,ServiceAccount,LimitRanger,ResourceQuota,PodSecurity",
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", saKey,
		"--service-account-signing-key-file", saKey,
		"--endpoint-reconciler-type", "none", // loopback cannot be an endpoint of the kubernetes Service
		// A real kubelet (kubenode) registers as "localhost": dial it by
		// that name for logs and exec, not by an address it cannot have.
		"--kubelet-preferred-address-types", "Hostname",
		"--profiling=false",
	); err != nil {
		return nil, err
	}
	apiDone := cp.procs[len(cp.procs)-1].done
	host := "https://127.0.0.1:" + apiPort
	cp.Config = &rest.Config{Host: host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, QPS: 200, Burst: 400}
	cp.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, []byte(kubeconfig(host, token)), 0o600); err != nil {
		return nil, err
	}
	if err := waitReady(ctx, host, token, 90*time.Second, apiDone); err != nil {
		return nil, fmt.Errorf("kube-apiserver did not become ready (log %s): %w", filepath.Join(dir, "kube-apiserver.log"), err)
	}
	if err := cp.start(ctx, "kube-controller-manager", kcm,
		"--kubeconfig", cp.Kubeconfig,
		"--controllers", o.controllers,
		// The apiserver's self-signed serving certificate: the CA pods
		// trust (root-ca-certificate-publisher-controller publishes it).
		"--root-ca-file", filepath.Join(dir, "apiserver-certs", "apiserver.crt"),
		"--leader-elect=false",
		"--bind-address", "127.0.0.1", "--secure-port", kcmPort,
		"--kube-api-qps", "100", "--kube-api-burst", "200",
		"--concurrent-job-syncs", "20",
		"--profiling=false",
	); err != nil {
		return nil, err
	}
	return cp, nil
}

// Client returns an admin clientset.
func (cp *ControlPlane) Client() (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(cp.Config)
}

// Impersonate returns a config that acts as user (for example
// "system:serviceaccount:NS:NAME") through the admin's impersonation
// right, so the user's RBAC decides what it may do.
func (cp *ControlPlane) Impersonate(user string, groups ...string) *rest.Config {
	c := rest.CopyConfig(cp.Config)
	c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return c
}

// Stop stops every process Start started, newest first: SIGTERM, then
// SIGKILL after ten seconds.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		p := cp.procs[i]
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	cp.procs = nil
}

// Log returns the tail of a component's log, for failure messages.
func (cp *ControlPlane) Log(component string) string {
	b, _ := os.ReadFile(filepath.Join(cp.Dir, component+".log"))
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

func (cp *ControlPlane) start(ctx context.Context, name, path string, args ...string) error {
	logf, err := os.Create(filepath.Join(cp.Dir, name+".log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	c := exec.Command(path, args...)
	c.Stdout, c.Stderr = logf, logf
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{cmd: c, done: make(chan struct{})}
	go func() { _ = c.Wait(); close(p.done) }()
	// A process that exits at once (bad flag, port taken) is reported
	// here rather than as a readiness timeout.
	select {
	case <-p.done:
		b, _ := os.ReadFile(logf.Name())
		return fmt.Errorf("%s exited at start:\n%s", name, Tail(b, 3000))
	case <-time.After(500 * time.Millisecond):
	case <-ctx.Done():
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-p.done
		return ctx.Err()
	}
	cp.procs = append(cp.procs, p)
	return nil
}

// Tail returns the last n bytes of b, for log excerpts in failures.
func Tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func waitReady(ctx context.Context, host, token string, limit time.Duration, exited <-chan struct{}) error {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // #nosec: loopback test server with a self-signed certificate
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err == nil {
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(buf.String()))
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("it exited")
		case <-time.After(250 * time.Millisecond):
		}
	}
	return errors.New("last answer: " + last)
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1.
func FreePorts(n int) ([]string, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return out, nil
}

func writeRSAKey(path string) error {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	return os.WriteFile(path, b, 0o600)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func kubeconfig(host, token string) string {
	return `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ` + host + `
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: ` + token + `
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
`
}
