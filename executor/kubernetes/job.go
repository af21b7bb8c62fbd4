package kubernetes

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/exectask"
	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/platform"
)

// Paths inside the task container. The root filesystem is read-only;
// each of these is a volume.
const (
	containerName    = "task"
	specDir          = "/runway/spec"
	specFile         = specDir + "/spec.json"
	workDir          = "/runway/work"
	checkpointDir    = "/runway/checkpoint"
	dockerConfigDir  = "/runway/docker"
	terminationLog   = "/dev/termination-log"
	maxSpecBytes     = 128 << 10 // well under the 256 KiB annotation budget
	defaultRunAsUser = 65532
)

var pinned = regexp.MustCompile(`^[^@\s]+@sha256:[0-9a-f]{64}$`)

// jobConfig is what the runner's options contribute to every Job.
type jobConfig struct {
	storeRef       string
	execTask       []string
	defaultImage   string
	serviceAccount string
	registrySecret string
	runAsUser      int64
	ttl            time.Duration
	deadlineSlack  time.Duration
	// storeInsecure: the registry speaks plain HTTP (platform
	// registry.insecure); exec-task learns it from RUNWAY_STORE_INSECURE.
	storeInsecure bool
	// hostNetwork: pods share the node's network (platform
	// executor.hostNetwork), for single-node development clusters whose
	// registry listens on the node's loopback.
	hostNetwork bool
}

// renderError is a Job that cannot be rendered for this attempt; it is
// permanent (the same attempt renders the same way every time).
func renderError(kind executor.FailureKind, format string, a ...any) *executor.TaskError {
	return &executor.TaskError{Kind: kind, Reason: executor.ReasonStart, Message: fmt.Sprintf(format, a...), Permanent: true}
}

// renderJob builds the Job that runs one attempt in namespace ns. It is a
// pure function of its arguments, so golden files pin its output.
func renderJob(a executor.Attempt, ns string, dom *platform.Domain, c jobConfig) (*batchv1.Job, error) {
	image := a.Task.Image
	if image == "" {
		image = c.defaultImage
	}
	switch {
	case image == "":
		return nil, renderError(executor.UserFailure, "task %s has no image and the runner has no default image: the Kubernetes executor runs every task in an image", a.TaskRef)
	case !pinned.MatchString(image):
		return nil, renderError(executor.SystemFailure, "image %q is not pinned by digest (want repo@sha256:<64 hex>)", image)
	}
	res, err := containerResources(a, dom)
	if err != nil {
		return nil, renderError(executor.UserFailure, "resources of task %s in domain %s: %v", a.TaskRef, a.Domain, err)
	}
	sp := &exectask.Spec{
		Store: c.storeRef, Project: a.Project, Domain: a.Domain,
		Execution: a.ExecutionID, Node: a.NodeID, Attempt: a.Number,
		BundleProject: a.TaskRef.Project, Task: a.Task, Inputs: a.Inputs, Outputs: a.Outputs,
		DataRepo: a.DataRepo, Timeout: a.Timeout, WorkDir: workDir,
		CheckpointDir: checkpointDir, ResultFile: terminationLog,
		Provenance: a.Provenance,
	}
	specJSON, err := json.Marshal(sp)
	if err != nil {
		return nil, renderError(executor.SystemFailure, "encoding the exec-task spec: %v", err)
	}
	if len(specJSON) > maxSpecBytes {
		return nil, renderError(executor.UserFailure, "the exec-task spec is %d bytes, above the %d a pod annotation may carry: pass large values as file inputs", len(specJSON), maxSpecBytes)
	}

	labels := attemptLabels(a)
	env := []corev1.EnvVar{
		{Name: "TMPDIR", Value: workDir + "/tmp"},
		{Name: "HOME", Value: workDir + "/tmp"},
	}
	if c.storeInsecure {
		env = append(env, corev1.EnvVar{Name: "RUNWAY_STORE_INSECURE", Value: "1"})
	}
	mounts := []corev1.VolumeMount{
		{Name: "spec", MountPath: specDir, ReadOnly: true},
		{Name: "work", MountPath: workDir},
		{Name: "inputs", MountPath: workDir + "/inputs"},
		{Name: "outputs", MountPath: workDir + "/outputs"},
		{Name: "tmp", MountPath: workDir + "/tmp"},
		{Name: "tmp", MountPath: "/tmp"},
		{Name: "checkpoint", MountPath: checkpointDir},
	}
	emptyDir := func(name string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	}
	volumes := []corev1.Volume{
		{Name: "spec", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
			Items: []corev1.DownwardAPIVolumeFile{{
				Path:     "spec.json",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.annotations['" + kubenames.AnnotationSpec + "']"},
			}},
		}}},
		emptyDir("work"), emptyDir("inputs"), emptyDir("outputs"), emptyDir("tmp"), emptyDir("checkpoint"),
	}
	var pullSecrets []corev1.LocalObjectReference
	if c.registrySecret != "" {
		// The secret is referenced by name only: its bytes never enter
		// the Job. exec-task's registry client reads $DOCKER_CONFIG.
		pullSecrets = []corev1.LocalObjectReference{{Name: c.registrySecret}}
		volumes = append(volumes, corev1.Volume{Name: "registry-auth", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName:  c.registrySecret,
			Items:       []corev1.KeyToPath{{Key: corev1.DockerConfigJsonKey, Path: "config.json"}},
			DefaultMode: ptr.To[int32](0o440),
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "registry-auth", MountPath: dockerConfigDir, ReadOnly: true})
		env = append(env, corev1.EnvVar{Name: "DOCKER_CONFIG", Value: dockerConfigDir})
	}

	restricted := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        JobName(a.ExecutionID, a.NodeID, a.Number),
			Namespace:   ns,
			Labels:      labels,
			Annotations: map[string]string{kubenames.AnnotationTask: a.TaskRef.String()},
		},
		Spec: batchv1.JobSpec{
			Parallelism:             ptr.To[int32](1),
			Completions:             ptr.To[int32](1),
			BackoffLimit:            ptr.To[int32](0),
			TTLSecondsAfterFinished: ptr.To(int32(c.ttl / time.Second)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels,
					Annotations: map[string]string{kubenames.AnnotationTask: a.TaskRef.String(), kubenames.AnnotationSpec: string(specJSON)},
				},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ServiceAccountName:           c.serviceAccount,
					AutomountServiceAccountToken: ptr.To(false),
					EnableServiceLinks:           ptr.To(false),
					HostNetwork:                  c.hostNetwork,
					ImagePullSecrets:             pullSecrets,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To(c.runAsUser),
						RunAsGroup:     ptr.To(c.runAsUser),
						FSGroup:        ptr.To(c.runAsUser),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:                     containerName,
						Image:                    image,
						ImagePullPolicy:          corev1.PullIfNotPresent,
						Command:                  append(append([]string{}, c.execTask...), "--spec", specFile),
						Env:                      env,
						Resources:                res,
						VolumeMounts:             mounts,
						SecurityContext:          restricted,
						TerminationMessagePath:   terminationLog,
						TerminationMessagePolicy: corev1.TerminationMessageReadFile,
					}},
					Volumes: volumes,
				},
			},
		},
	}
	if a.Timeout > 0 {
		// exec-task enforces the task's timeout itself and reports it
		// cleanly; the deadline is the backstop that also bounds image
		// pull, bundle fetch and output upload.
		secs := int64(math.Ceil((a.Timeout + c.deadlineSlack).Seconds()))
		job.Spec.ActiveDeadlineSeconds = ptr.To(secs)
	}
	return job, nil
}
