package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/kubenames"
)

// Label and annotation keys, label values and namespace names come from
// internal/kubenames, shared with promote's CronJobs.

// maxJobName keeps a Job name usable as the value of the job-name label
// the Job controller puts on its pods (63) with room to spare.
const maxJobName = 52

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// JobName is the deterministic name of the Job that runs one attempt:
// "<execution>-<node>-<attempt>". A restarted runway computes the same
// name, so creating it again fails with AlreadyExists and the runner
// adopts the running Job. Long or unusual node IDs are shortened and
// suffixed with a hash of the full ID, so two nodes never share a name.
func JobName(executionID, nodeID string, attempt int) string {
	node := strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(nodeID), "-"), "-")
	tail := "-" + strconv.Itoa(attempt)
	room := maxJobName - len(executionID) - 1 - len(tail)
	if node != nodeID || len(node) > room {
		sum := sha256.Sum256([]byte(nodeID))
		h := hex.EncodeToString(sum[:])[:8]
		if keep := room - len(h) - 1; len(node) > keep {
			node = strings.TrimRight(node[:max(keep, 0)], "-")
		}
		if node == "" {
			node = h
		} else {
			node += "-" + h
		}
	}
	return executionID + "-" + node + tail
}

// attemptLabels are the labels of an attempt's Job and pod.
func attemptLabels(a executor.Attempt) map[string]string {
	return map[string]string{
		kubenames.LabelManagedBy: kubenames.ManagedByValue,
		kubenames.LabelProject:   kubenames.LabelValue(a.Project),
		kubenames.LabelDomain:    kubenames.LabelValue(a.Domain),
		kubenames.LabelKind:      "task",
		kubenames.LabelEntity:    kubenames.LabelValue(a.TaskRef.Name),
		kubenames.LabelVersion:   kubenames.LabelValue(a.TaskRef.Version),
		kubenames.LabelExecution: kubenames.LabelValue(a.ExecutionID),
		kubenames.LabelNode:      kubenames.LabelValue(a.NodeID),
		kubenames.LabelAttempt:   strconv.Itoa(a.Number),
	}
}
