package platform

import (
	"strings"
	"testing"
)

func TestLockConfig(t *testing.T) {
	c, err := Parse("p.yaml", []byte("lock: {kind: registry, ttl: 20s}\n"))
	if err != nil || c.Lock.Kind != LockRegistry || c.Lock.TTL != "20s" {
		t.Fatalf("%+v %v", c, err)
	}
	for body, want := range map[string]string{
		"lock: {kind: etcd}\n":             `lock.kind: "etcd" is not one of`,
		"lock: {kind: registry, ttl: 5}\n": `lock.ttl: "5" is not a duration`,
		"lock: {ttl: 100ms}\n":             `lock.ttl: "100ms" is not a duration of at least 1s`,
		"lock: {kind: file, wait: true}\n": `unknown field "wait" in lock`,
	} {
		_, err := Parse("p.yaml", []byte(body))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "p.yaml") {
			t.Errorf("%q: want an error naming the file and %q, got %v", body, want, err)
		}
	}
}
