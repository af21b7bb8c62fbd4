package promote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/registrar"
)

// CronJobs keeps one Kubernetes CronJob per active scheduled launch plan
// (the Kubernetes executor's ScheduleSync). The CronJob runs
// `runway run launchplan NAME --version V` in the runway image, in the
// project-domain namespace.
type CronJobs struct {
	Client kubernetes.Interface
	// Namespace is the namespace template ("" = kubenames.DefaultNamespaceTemplate).
	Namespace string
	// Image is the runway image the CronJob runs.
	Image string
	// Store is the --store the pod passes to runway.
	Store string
	// ServiceAccount is the pod's service account ("" = the namespace default).
	ServiceAccount string
}

// CronJobName is the CronJob name of a launch plan: "lp-<name>", or, when
// that exceeds the 52 characters Kubernetes allows a CronJob, a prefix
// plus a hash of the full name.
func CronJobName(name string) string {
	n := "lp-" + name
	if len(n) <= 52 {
		return n
	}
	sum := sha256.Sum256([]byte(name))
	return strings.TrimRight(n[:43], "-") + "-" + hex.EncodeToString(sum[:])[:8]
}

func (c *CronJobs) namespace(project, domain string) (string, error) {
	return kubenames.Namespace(c.Namespace, project, domain)
}

// Render returns the CronJob of an active launch plan in domain. Its labels
// are the ones the Kubernetes executor puts on Jobs (internal/kubenames):
// kind "launchplan", entity the launch plan's name, so one selector finds
// every object runway manages.
//
// Decisions: concurrencyPolicy Forbid (a run still going when the next is
// due skips the next); startingDeadlineSeconds 3600, so that after a
// controller outage the controller starts at most one missed run (the most
// recent) and only within the hour, the same catch-up policy as `runway
// scheduler`; backoffLimit 0 because runway retries tasks itself; the pod
// runs as non-root with no privilege escalation, all capabilities dropped
// and the runtime's seccomp profile (the "restricted" Pod Security level).
func (c *CronJobs) Render(domain string, lp *registrar.Stored) (*batchv1.CronJob, error) {
	if lp == nil || lp.Entity == nil || lp.Entity.LaunchPlan == nil {
		return nil, errors.New("rendering a CronJob: not a launch plan")
	}
	if lp.Entity.LaunchPlan.Schedule == "" {
		return nil, fmt.Errorf("rendering a CronJob for %s: the launch plan has no schedule", lp.ID)
	}
	if c.Image == "" {
		return nil, errors.New("rendering a CronJob: no runway image configured")
	}
	id := lp.ID
	ns, err := c.namespace(id.Project, domain)
	if err != nil {
		return nil, fmt.Errorf("rendering a CronJob for %s: %w", id, err)
	}
	labels := map[string]string{
		kubenames.LabelManagedBy: kubenames.ManagedByValue,
		kubenames.LabelProject:   kubenames.LabelValue(id.Project),
		kubenames.LabelDomain:    kubenames.LabelValue(domain),
		kubenames.LabelKind:      string(registrar.KindLaunchPlan),
		kubenames.LabelEntity:    kubenames.LabelValue(id.Name),
		kubenames.LabelVersion:   kubenames.LabelValue(id.Version),
	}
	args := []string{"run", "launchplan", id.Name, "--project", id.Project, "--domain", domain, "--version", id.Version}
	if c.Store != "" {
		args = append(args, "--store", c.Store)
	}
	yes, no := true, false
	uid := int64(65532)
	deadline := int64(3600)
	zero := int32(0)
	keep := int32(3)
	tz := "Etc/UTC"
	return &batchv1.CronJob{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{
			Name: CronJobName(id.Name), Namespace: ns, Labels: labels,
			Annotations: map[string]string{kubenames.AnnotationEntityDigest: lp.Manifest.Digest.String(), kubenames.AnnotationVersion: id.Version},
		},
		Spec: batchv1.CronJobSpec{
			Schedule: lp.Entity.LaunchPlan.Schedule, TimeZone: &tz,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    &deadline,
			SuccessfulJobsHistoryLimit: &keep, FailedJobsHistoryLimit: &keep,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: batchv1.JobSpec{
					BackoffLimit: &zero,
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec: corev1.PodSpec{
							RestartPolicy:      corev1.RestartPolicyNever,
							Volumes:            []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
							ServiceAccountName: c.ServiceAccount,
							SecurityContext: &corev1.PodSecurityContext{
								RunAsNonRoot: &yes, RunAsUser: &uid,
								SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
							},
							Containers: []corev1.Container{{
								Name: "runway", Image: c.Image, Args: args,
								// The root filesystem is read-only; runway's scratch space is an emptyDir.
								Env:          []corev1.EnvVar{{Name: "RUNWAY_HOME", Value: "/tmp/runway"}, {Name: "TMPDIR", Value: "/tmp"}},
								VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
								Resources: corev1.ResourceRequirements{
									Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
									Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
								},
								SecurityContext: &corev1.SecurityContext{
									AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
									Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
								},
							}},
						},
					},
				},
			},
		},
	}, nil
}

// Sync implements ScheduleSync: it creates or updates the CronJob of a
// scheduled launch plan, and removes it when the active version has no
// schedule.
func (c *CronJobs) Sync(ctx context.Context, domain string, lp *registrar.Stored) error {
	if lp.Entity.LaunchPlan == nil || lp.Entity.LaunchPlan.Schedule == "" {
		return c.Remove(ctx, lp.ID.Project, domain, lp.ID.Name)
	}
	want, err := c.Render(domain, lp)
	if err != nil {
		return err
	}
	api := c.Client.BatchV1().CronJobs(want.Namespace)
	got, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := api.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating CronJob %s/%s: %w", want.Namespace, want.Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading CronJob %s/%s: %w", want.Namespace, want.Name, err)
	}
	if got.Labels[kubenames.LabelManagedBy] != kubenames.ManagedByValue {
		return fmt.Errorf("CronJob %s/%s exists and is not managed by runway; remove or rename it", want.Namespace, want.Name)
	}
	want.ResourceVersion = got.ResourceVersion
	if _, err := api.Update(ctx, want, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating CronJob %s/%s: %w", want.Namespace, want.Name, err)
	}
	return nil
}

// Remove implements ScheduleSync: it deletes the launch plan's CronJob (and,
// in the background, its Jobs); a CronJob that is not there is fine.
func (c *CronJobs) Remove(ctx context.Context, project, domain, name string) error {
	ns, err := c.namespace(project, domain)
	if err != nil {
		return fmt.Errorf("removing the CronJob of %s: %w", name, err)
	}
	n := CronJobName(name)
	api := c.Client.BatchV1().CronJobs(ns)
	got, err := api.Get(ctx, n, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading CronJob %s/%s: %w", ns, n, err)
	}
	if got.Labels[kubenames.LabelManagedBy] != kubenames.ManagedByValue {
		return fmt.Errorf("CronJob %s/%s is not managed by runway; not deleting it", ns, n)
	}
	bg := metav1.DeletePropagationBackground
	if err := api.Delete(ctx, n, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting CronJob %s/%s: %w", ns, n, err)
	}
	return nil
}
