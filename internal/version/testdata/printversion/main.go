// Command printversion prints version.Get() as JSON and the User-Agent; the
// version package's test builds it with the release ldflags.
package main

import (
	"encoding/json"
	"os"

	"github.com/runway-ci/runway/internal/version"
)

func main() {
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"info": version.Get(), "userAgent": version.UserAgent()})
}
