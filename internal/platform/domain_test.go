package platform

import (
	"errors"
	"testing"
)

func TestCheckDomain(t *testing.T) {
	c := Default()
	if err := c.CheckDomain("staging"); err != nil {
		t.Fatal(err)
	}
	err := c.CheckDomain("prod")
	if !errors.Is(err, ErrUnknownDomain) || err.Error() != `unknown domain "prod": the platform has development, staging, production` {
		t.Fatalf("got %v", err)
	}
}
