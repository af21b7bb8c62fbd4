package store

// OCI annotation keys: every key runway writes or reads on a manifest, a
// layer or an index entry is named here, once. runway's own keys share one
// prefix, "dev.runway." (the reverse of the runway.dev domain its
// Kubernetes labels use); the standard org.opencontainers.* keys runway
// sets are named here too, so a reader finds every key in one place.

// Standard OCI keys.
const (
	// AnnotationCreated is when a manifest was written (RFC 3339): the
	// registration time of an entity, the time of a record.
	AnnotationCreated = "org.opencontainers.image.created"
	// AnnotationRevision is the source commit of a dependency image.
	AnnotationRevision = "org.opencontainers.image.revision"
	// AnnotationSource is the source repository URL of a dependency image.
	AnnotationSource = "org.opencontainers.image.source"
	// AnnotationBaseDigest and AnnotationBaseName name an image's base image.
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	// AnnotationRefName is an OCI image layout index entry's "repo:tag".
	AnnotationRefName = "org.opencontainers.image.ref.name"
)

// Entity manifests (registrar writes them; promote reads them back).
const (
	AnnotationKind    = "dev.runway.kind"
	AnnotationName    = "dev.runway.name"
	AnnotationVersion = "dev.runway.version"
	// AnnotationEntityDigest is the sha256 of the entity's canonical JSON.
	AnnotationEntityDigest = "dev.runway.entityDigest"
)

// Code bundle manifests (fastreg writes them; plan reads them through the
// tree alias tag).
const (
	// AnnotationBundleDigest is "sha256:<hex>" of the uncompressed tar, the
	// bundle's identity.
	AnnotationBundleDigest = "dev.runway.bundle.digest"
	// AnnotationBundleSize is the uncompressed tar's size in bytes.
	AnnotationBundleSize = "dev.runway.bundle.size"
	// AnnotationBundleFiles is the number of tar entries.
	AnnotationBundleFiles = "dev.runway.bundle.files"
)

// AnnotationLayer names the role of a layer runway added to a dependency
// image, on its layer descriptor.
const AnnotationLayer = "dev.runway.layer"

// Cache entries (executor).
const (
	AnnotationTask      = "dev.runway.task"
	AnnotationExecution = "dev.runway.execution"
)

// Records attached to entities (promote): promotion, activation and
// registration records, as referrers of the entity manifest.
const (
	// AnnotationRecord holds the record itself (JSON).
	AnnotationRecord = "dev.runway.record"
	// AnnotationRecordType is the record's type (promotion, activation, ...).
	AnnotationRecordType = "dev.runway.record.type"
)

// Schedule state manifests (promote's scheduler, in ScheduleRepo).
const (
	// AnnotationScheduleLast is the last fire time (RFC 3339).
	AnnotationScheduleLast = "dev.runway.schedule.last"
	// AnnotationScheduleSpec is the cron expression the state was kept for.
	AnnotationScheduleSpec = "dev.runway.schedule.spec"
	// AnnotationScheduleVersion is the launch plan version that last fired.
	AnnotationScheduleVersion = "dev.runway.schedule.version"
)

// The on-disk store's index.json entries (package layout).
const (
	// AnnotationRepo is the repository a manifest belongs to.
	AnnotationRepo = "dev.runway.repo"
	// AnnotationSubject is a referrer's subject digest.
	AnnotationSubject = "dev.runway.subject"
)

// Registration records (registrar): the registration time of an entity
// manifest, whose own org.opencontainers.image.created is the commit time
// so that identical content gives identical bytes.
const AnnotationRegistered = "dev.runway.registered"

// AnnotationRunwayVersion is the version of the runway (internal/version)
// that wrote something: on a registration record, the runway that
// registered the entity; as an image config label, the runway that built
// the image.
const AnnotationRunwayVersion = "dev.runway.runwayVersion"

// AnnotationPlanRecord holds a plan record's JSON (flow): the plan
// decision of a version, in the manifest itself, so writing one uploads no
// blob bytes.
const AnnotationPlanRecord = "dev.runway.plan"

// Lock claims of the registry claim protocol (package lock).
const (
	AnnotationLockKey    = "dev.runway.lock.key"
	AnnotationLockHolder = "dev.runway.lock.holder"
	AnnotationLockSeq    = "dev.runway.lock.seq"
	AnnotationLockTTL    = "dev.runway.lock.ttl"
)

// Provenance attestations (internal/provenance): an attestation manifest
// is a referrer of its subject and carries one DSSE envelope layer.
const (
	// AnnotationSignedBy lists the key IDs that signed the attestation
	// (comma-separated), so a listing needs no blob read.
	AnnotationSignedBy = "dev.runway.provenance.signedBy"
	// AnnotationCosignSignature and AnnotationPredicateType are the layer
	// annotations cosign's attestation images carry (an attestation's
	// signature lives in its envelope, so the first is empty); runway
	// writes them so `cosign verify-attestation` reads its attestations.
	AnnotationCosignSignature = "dev.cosignproject.cosign/signature"
	AnnotationPredicateType   = "predicateType"
)
