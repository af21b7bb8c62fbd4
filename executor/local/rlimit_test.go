package local_test

import (
	"context"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/local"
	"github.com/runway-ci/runway/registrar"
)

// rlimitYAML's tasks run under the setrlimit fallback.
const rlimitYAML = `project: rlimits
tasks:
  - name: report
    command: ["sh", "-c", "ulimit -v > $RUNWAY_OUTPUTS/as; ulimit -t > $RUNWAY_OUTPUTS/cpu"]
    outputs: {as: string, cpu: string}
    resources: {limits: {memory: 256Mi, cpu: 500m}}
    timeout: 20s
  - name: hog
    command: ["python3", "-c", "b = bytearray(512 * 1024 * 1024); print(len(b))"]
    resources: {limits: {memory: 128Mi}}
  - name: spinner
    command: ["sh", "-c", "while :; do :; done"]
    resources: {limits: {cpu: 100m}}
    timeout: 10s
  - name: bigbss
    command: ["./bigbss"]
    resources: {limits: {memory: 64Mi}}
`

// TestRLimitFallbackStopsTasksOverTheLimit runs tasks with the setrlimit
// fallback: the limits are in force when the task's program starts, and a
// task over its memory or CPU limit is stopped.
func TestRLimitFallbackStopsTasksOverTheLimit(t *testing.T) {
	if raceEnabled {
		// The limits bind the trampoline, which is this test binary; under
		// -race it is ThreadSanitizer that runs out of address space, not
		// the task. The plain tier runs this test in full.
		t.Skip("address-space limits and the race detector cannot be tested together")
	}
	files := map[string]string{"runway.yaml": rlimitYAML}
	if runtime.GOARCH == "amd64" {
		files["bigbss"] = string(bigBSSELF(256 << 20))
	}
	f := newFixture(t, "", files, fixtureOpt{runnerOpts: []local.Option{local.WithLimits(local.LimitRLimit)}})
	if f.runner.Limiter() != "setrlimit" {
		t.Fatalf("limiter %s", f.runner.Limiter())
	}
	ctx := context.Background()

	t.Run("limits seen by the task", func(t *testing.T) {
		ex := f.run(ctx, registrar.KindTask, "report", nil)
		if ex.Status != executor.StatusSucceeded {
			t.Fatalf("%s: %s", ex.Status, ex.Error)
		}
		out := onlyNode(t, ex).Outputs
		// ulimit -v is in KiB; CPU is 0.5 x the 20 s timeout.
		if as, cpu := out["as"].Text(), out["cpu"].Text(); as != "262144" || cpu != "10" {
			t.Errorf("the task saw address space %q KiB and CPU %q s, want 262144 and 10", as, cpu)
		}
	})
	for _, tc := range []struct {
		task, says string
		exit       int
	}{
		{"hog", "MemoryError", 1},
		{"spinner", "signal CPU time limit exceeded (code 152) (its CPU time limit of 1 s", 152},
	} {
		t.Run(tc.task, func(t *testing.T) {
			ex := f.run(ctx, registrar.KindTask, tc.task, nil)
			n := onlyNode(t, ex)
			if n.Failure == nil || n.Failure.Kind != executor.UserFailure || n.Failure.ExitCode != tc.exit || !strings.Contains(n.Failure.Message, tc.says) {
				t.Fatalf("status %s, failure %+v; want a user failure, exit %d, saying %q", n.Status, n.Failure, tc.exit, tc.says)
			}
		})
	}
	// A program whose image alone is larger than the limit (a 256 MiB
	// zero-filled segment) must not start. Limits set on the process
	// after it started (prlimit after cmd.Start) let it run: the mapping
	// already exists, and this program allocates nothing more.
	t.Run("image over the limit", func(t *testing.T) {
		if runtime.GOARCH != "amd64" {
			t.Skip("the hand-made ELF is x86-64")
		}
		ex := f.run(ctx, registrar.KindTask, "bigbss", nil)
		n := onlyNode(t, ex)
		if ex.Status != executor.StatusFailed || n.Failure == nil || n.Failure.Kind != executor.UserFailure {
			t.Fatalf("a program larger than its memory limit ran: status %s, failure %+v", ex.Status, n.Failure)
		}
		if !strings.Contains(n.Failure.Message, "likely its memory limit") {
			t.Errorf("the failure does not point at the memory limit: %s", n.Failure.Message)
		}
		t.Logf("stopped: %s", n.Failure.Message)
	})
}

// bigBSSELF returns a static x86-64 Linux executable that writes "ok\n"
// and exits 0, with one loadable segment of memsz bytes (all but its first
// page zero-filled at exec). It calls nothing that maps memory, so once it
// is loaded, limits set afterwards cannot stop it.
func bigBSSELF(memsz uint64) []byte {
	const base = 0x400000
	code := []byte{
		0xb8, 0x01, 0, 0, 0, // mov eax, 1 (write)
		0xbf, 0x01, 0, 0, 0, // mov edi, 1
		0x48, 0x8d, 0x35, 0x10, 0, 0, 0, // lea rsi, [rip+16] (msg)
		0xba, 0x03, 0, 0, 0, // mov edx, 3
		0x0f, 0x05, // syscall
		0xb8, 0x3c, 0, 0, 0, // mov eax, 60 (exit)
		0x31, 0xff, // xor edi, edi
		0x0f, 0x05, // syscall
		'o', 'k', '\n',
	}
	const ehsize, phsize = 64, 56
	b := make([]byte, ehsize+phsize, ehsize+phsize+len(code))
	le := binary.LittleEndian
	copy(b, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0})
	le.PutUint16(b[16:], 2)    // ET_EXEC
	le.PutUint16(b[18:], 0x3e) // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], base+ehsize+phsize) // entry
	le.PutUint64(b[32:], ehsize)             // phoff
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[54:], phsize)
	le.PutUint16(b[56:], 1) // phnum
	p := b[ehsize:]
	le.PutUint32(p[0:], 1) // PT_LOAD
	le.PutUint32(p[4:], 7) // RWX
	le.PutUint64(p[16:], base)
	le.PutUint64(p[24:], base)
	le.PutUint64(p[32:], uint64(ehsize+phsize+len(code))) // filesz
	le.PutUint64(p[40:], memsz)
	le.PutUint64(p[48:], 0x1000)
	return append(b, code...)
}
