package testenv

import (
	"os"
)

// EnvRunwayBinary is packager.EnvRunwayBinary, repeated here because test
// kits sit below every layer and import none of them.
const EnvRunwayBinary = "RUNWAY_BINARY"

// UseStaticRunwayBinary is for the TestMain of packages whose tests build
// dependency images through the flow. The packager embeds the running
// executable unless $RUNWAY_BINARY names another, and refuses a
// dynamically linked one (a test binary built with cgo is one); this builds
// the tiny static version program once and names it, unless the
// environment already names a binary. Call the returned function when the
// tests are done.
func UseStaticRunwayBinary() (func(), error) {
	if os.Getenv(EnvRunwayBinary) != "" {
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", "runway-static-")
	if err != nil {
		return nil, err
	}
	p, err := BuildVersionProgram(dir, "test")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	os.Setenv(EnvRunwayBinary, p)
	return func() { os.Unsetenv(EnvRunwayBinary); os.RemoveAll(dir) }, nil
}
